"""Typology labels that agree with the person: a person-level contradiction check.

A typology is named from its cluster's *average* profile, so a member's own record can
contradict the name ("younger, last chance before custody" for someone with a year in
prison). When the typology stage marks such people itself (``atypical`` and
``atypical_reason`` in ``typology.parquet``), that marker is used. Otherwise this module
checks the two rules that a person's record can plainly contradict, from the linked
records at the panel date (a stop-gap for typology files written before the marker; the
rules are those of ``models.typology_naming.DEFAULT_PERSON_RULES``):

- ``young_last_chance``: more than 730 days (two years) in prison in the history window, or aged 30+;
- ``older_prison``: aged under 30 (no prison in the window does not contradict a long
  record: it may lie before the window).

Worked example: panel date 2026-10-31, history 120 months (from 2016-10-31); custody
spells 2020-01-01 to 2021-06-30 and 2023-01-01 to 2024-03-01 (546 + 425 = 971 days)
contradict "last chance before custody".
"""

from __future__ import annotations

import numpy as np
import pandas as pd

MAX_CUSTODY_DAYS = 730  # models.typology_naming.DEFAULT_PERSON_RULES: custody_days_mean max
AGE_SPLIT = 30


def days_in_prison(
    ids: pd.Series, custody: pd.DataFrame | None, panel_date: pd.Timestamp, history_months: int
) -> np.ndarray:
    """Days each person spent in prison in the ``history_months`` up to the panel date (vectorised)."""
    if custody is None or custody.empty:
        return np.zeros(len(ids), dtype=np.int64)
    end = pd.Timestamp(panel_date)
    start = end - pd.DateOffset(months=history_months)
    rec = pd.to_datetime(custody["reception_date"]).clip(lower=start)
    rel = pd.to_datetime(custody["release_date"]).fillna(end).clip(upper=end)
    days = (rel - rec).dt.days.clip(lower=0)
    per = days.groupby(custody["pseudo_id"].to_numpy()).sum()
    return ids.map(per).fillna(0).to_numpy(dtype=np.int64)


def contradicted_typology(
    cohort: pd.DataFrame,
    persons: pd.DataFrame,
    custody: pd.DataFrame | None,
    panel_date: pd.Timestamp,
    history_months: int,
) -> pd.Series:
    """Why each listed person's own record contradicts their typology's rule ('' when it does not)."""
    ids = cohort["pseudo_id"].astype("str")
    typ = cohort["typology"].astype("str").to_numpy()
    prison = days_in_prison(ids, custody, panel_date, history_months)
    if "birth_month" in persons:
        born = ids.map(persons.drop_duplicates("pseudo_id").set_index("pseudo_id")["birth_month"])
        age = ((pd.Timestamp(panel_date) - pd.to_datetime(born)).dt.days / 365.25).to_numpy()
    else:
        age = np.full(len(ids), np.nan)
    years = f"{history_months // 12} years" if history_months % 12 == 0 else f"{history_months} months"
    prison_txt = pd.Series(prison).astype(str).to_numpy(dtype=object)
    young = typ == "young_last_chance"
    older = typ == "older_prison"
    reason = np.select(
        [
            young & (prison > MAX_CUSTODY_DAYS),
            young & (age >= AGE_SPLIT),
            older & (age < AGE_SPLIT),
        ],
        [
            prison_txt + f" days in prison in the last {years}",
            np.full(len(ids), f"aged {AGE_SPLIT} or over", dtype=object),
            np.full(len(ids), f"aged under {AGE_SPLIT}", dtype=object),
        ],
        "",
    )
    return pd.Series(reason, index=cohort.index, dtype="str")
