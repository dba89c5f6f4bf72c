"""Who is in the scoring cohort at an as-of date, and the contract's reoffending label.

Contract (partner-records.md, "The cohort at an as-of date"): a person is in the cohort
at ``t`` when aged ``min_age`` or over, with at least one proven offence in the
``proven_window_months`` up to ``t``, and not in custody at ``t``. People in custody
at ``t`` whose planned release falls within ``release_window_days`` after ``t`` are
listed too, flagged ``release_due``; they must meet the age and proven-offence rules
like everyone else (only the custody rule is relaxed for them).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features import _group as g
from features.encode import FUTURE, Encoded
from iom_contract import LABEL_PROOF_DAYS, LABEL_WINDOW_DAYS


def month_index(days: np.ndarray) -> np.ndarray:
    """``year * 12 + month - 1`` of each day number."""
    return np.asarray(days).astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) + 1970 * 12


def age_at(birth_month: np.ndarray, days: np.ndarray | int) -> np.ndarray:
    """Completed years of age on each day, from the month of birth only.

    The project's one age rule (the cohort's "aged 18 or over", the features, the
    fairness audit's age bands all use it). The contract gives ``birth_month``, the 1st
    of the month of birth, not the day, so the age counted is the one the person has
    certainly completed: a year is complete once the whole birth month has passed.
    Exact at a month end: on 31 March 2024 someone born in March 2006 is 18 whatever
    their birth day, someone born in April 2006 is 17. On any other day it is the age
    at the previous month end, so it never overstates: on 15 March 2024 the person born
    in March 2006 counts as 17 (their birthday may be later in the month; counting
    from the 1st of the month would call them 18 and could list a 17-year-old).

    Parameters
    ----------
    birth_month
        Month index (``year * 12 + month - 1``) of each person's month of birth.
    days
        Day numbers (days since 1970-01-01) to measure the age on.
    """
    d = np.asarray(days, dtype=np.int64)
    month = month_index(d)
    is_month_end = month_index(d + 1) != month
    reference = month - (~is_month_end).astype(np.int64)
    return (reference - birth_month) // 12


def age_on_dates(birth_month: pd.Series, when: pd.Series) -> pd.Series:
    """:func:`age_at` for datetime columns: ``birth_month`` (1st of the month) and the dates.

    Missing birth months or dates give ``<NA>`` (nullable ``Int64``, same index as ``when``).

    Examples
    --------
    >>> born = pd.Series(pd.to_datetime(["2006-03-01", "2006-03-01", "2006-04-01"]))
    >>> age_on_dates(born, pd.Series(pd.to_datetime(["2024-03-31", "2024-03-15", "2024-03-31"]))).tolist()
    [18, 17, 17]
    """
    b = pd.to_datetime(pd.Series(birth_month)).reset_index(drop=True)
    w = pd.to_datetime(pd.Series(when)).reset_index(drop=True)
    known = (b.notna() & w.notna()).to_numpy()
    months = (b.dt.year * 12 + b.dt.month - 1).fillna(0).to_numpy(dtype=np.int64)
    days = w.dt.normalize().fillna(pd.Timestamp(0)).to_numpy(dtype="datetime64[D]").astype(np.int64)
    ages = age_at(months, days)
    out = pd.array(np.where(known, ages, 0), dtype="Int64")
    out[~known] = pd.NA
    return pd.Series(out, index=pd.Series(when).index)


@dataclass(frozen=True)
class CustodyStatus:
    """Custody at one as-of date, per person.

    Attributes
    ----------
    in_custody
        Received on or before ``t`` and not released on or before ``t``.
    release_due_day
        Day number of the planned release when it falls within the release window
        after ``t`` (``FUTURE`` otherwise).
    """

    in_custody: np.ndarray
    release_due_day: np.ndarray

    @property
    def release_due(self) -> np.ndarray:
        return self.release_due_day != FUTURE


def custody_status(enc: Encoded, day: int, release_window_days: int) -> CustodyStatus:
    """Custody state of every person at day number ``day``.

    In custody at ``t``: ``reception_date <= t`` and (``release_date`` is null or
    ``release_date > t``). A release after ``t`` is not yet known at ``t``; only the
    fact that it has not happened by ``t`` is used.

    Release due. The planned release date of a sentenced prisoner is fixed when the
    sentence is passed, so it is knowable at ``t``. The extract holds it as
    ``expected_release_date`` only for people still inside at the extract date; for an
    episode that has since ended, the actual ``release_date`` of a sentenced (not
    ``remand``) episode stands in for the plan. A remand prisoner has no planned
    release, so remand episodes are never ``release_due`` from their release date.

    Worked example (window 56 days), t = 2024-03-31:

    * received 2023-06-01, released 2024-05-10 on licence: in custody at t, planned
      release 2024-05-10 is 40 days after t -> listed, ``release_due`` 2024-05-10;
    * same but released 2024-06-30: 91 days after t -> not listed;
    * received 2024-02-01, released 2024-04-15 from remand -> not listed (no plan);
    * still inside at the extract date with expected release 2024-04-20 -> listed.
    """
    c = enc.tables["custody"]
    code = c["code"]
    inside = (c["day"] <= day) & (c["release_day"] > day)
    in_custody = g.any_(code, inside, enc.n_persons)
    planned = c["planned_day"]
    due = inside & (planned > day) & (planned <= day + release_window_days)
    release_due_day = g.group_min(code, due, planned, enc.n_persons, int(FUTURE))
    return CustodyStatus(in_custody=in_custody, release_due_day=release_due_day)


def recent_proven(enc: Encoded, day: int, window_start_day: int) -> np.ndarray:
    """At least one offence dated in ``(window_start, t]`` whose proven outcome was known by ``t``."""
    o = enc.tables["offences"]
    m = o["proven"] & (o["outcome_day"] <= day) & (o["day"] <= day) & (o["day"] > window_start_day)
    return g.any_(o["code"], m, enc.n_persons)


def cohort_mask(
    enc: Encoded, day: int, window_start_day: int, min_age: int, custody: CustodyStatus
) -> np.ndarray:
    """The contract cohort at ``t`` (see the module docstring)."""
    age = age_at(enc.birth_month, day)
    adult = enc.birth_known & (age >= min_age)
    free_or_due = ~custody.in_custody | custody.release_due
    return adult & recent_proven(enc, day, window_start_day) & free_or_due


def label_at(enc: Encoded, day: int) -> np.ndarray:
    """The contract label at ``t`` per person (meaningful only when the window is complete).

    1 when a proven offence has ``t < offence_date <= t + 365`` and
    ``outcome_date <= offence_date + 183``. Worked example, t = 2024-03-31: an offence
    on 2024-03-31 does not count (it is part of the history at t); one on 2025-03-31
    counts if convicted or cautioned by 2025-09-30 (offence + 183 days) and not if the
    outcome came on 2025-10-01.
    """
    o = enc.tables["offences"]
    d = o["day"]
    m = o["proven"] & (d > day) & (d <= day + LABEL_WINDOW_DAYS) & (o["outcome_day"] <= d + LABEL_PROOF_DAYS)
    return g.any_(o["code"], m, enc.n_persons)
