"""The audit's groups: ethnicity, sex, age band and ethnicity x sex, per row audited.

Sex and ethnicity come from the linked persons table and are used here only, in
aggregate; age is the features stage's age at the as-of date (or, for panel decisions,
the age at the panel date from the month of birth).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pandas as pd

MISSING = "(missing)"


def age_band_labels(lower_bounds: Sequence[int]) -> list[str]:
    """Labels of the bands that start at each lower bound, the last open-ended.

    Examples
    --------
    >>> age_band_labels([18, 25, 35, 50])
    ['18-24', '25-34', '35-49', '50+']
    """
    edges = list(lower_bounds)
    return [f"{a}-{b - 1}" for a, b in itertools.pairwise(edges)] + [f"{edges[-1]}+"]


def age_band(age: pd.Series, lower_bounds: Sequence[int]) -> pd.Series:
    """Age band of each age in years (``fairness.age_bands``); below the first bound or unknown: (missing).

    Examples
    --------
    >>> age_band(pd.Series([18, 24, 25, 49, 50, 17, None]), [18, 25, 35, 50]).tolist()
    ['18-24', '18-24', '25-34', '35-49', '50+', '(missing)', '(missing)']
    """
    years = pd.to_numeric(age, errors="coerce").astype("Float64")
    bins = [*lower_bounds, np.inf]
    band = pd.cut(years, bins=bins, right=False, labels=age_band_labels(lower_bounds))
    return band.astype("string").fillna(MISSING).astype(str).rename("age_band")


def build_groups(
    rows: pd.DataFrame,
    persons: pd.DataFrame,
    groupings: Sequence[str],
    age_bands: Sequence[int],
    age: str = "age",
) -> pd.DataFrame:
    """One column per grouping for each row of ``rows`` (same index, same order).

    Parameters
    ----------
    rows
        Needs ``pseudo_id`` and the ``age`` column (when ``age_band`` is asked for).
    persons
        The linked persons: ``pseudo_id``, ``sex``, ``ethnicity``.
    groupings
        Any of ethnicity, sex, age_band, ethnicity_x_sex.
    age_bands
        Lower bounds of the age bands in years (``fairness.age_bands``).
    age
        The column of ``rows`` holding age in years.
    """
    lookup = persons.drop_duplicates("pseudo_id").set_index("pseudo_id")
    ids = rows["pseudo_id"]
    sex = ids.map(lookup["sex"]).astype("string").fillna(MISSING).astype(str)
    ethnicity = ids.map(lookup["ethnicity"]).astype("string").fillna(MISSING).astype(str)
    out = pd.DataFrame(index=rows.index)
    for grouping in groupings:
        if grouping == "ethnicity":
            out[grouping] = ethnicity
        elif grouping == "sex":
            out[grouping] = sex
        elif grouping == "age_band":
            out[grouping] = age_band(rows[age], age_bands)
        elif grouping == "ethnicity_x_sex":
            out[grouping] = ethnicity + " x " + sex
        else:
            raise ValueError(f"unknown grouping {grouping!r}")
    return out
