"""The generative model of offending careers: people, typologies, weekly dynamics."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class World:
    """Everything the simulator generated, keyed by the truth ``person_id`` (int64).

    Event frames carry typed columns named as in the contract, with ``person_id``
    instead of any agency identifier and no personal details; ``simulator.assemble``
    turns them into the contract tables.

    Attributes
    ----------
    persons
        person_id, date_of_birth, sex, ethnicity, typology, frailty, recording_bias,
        plus latent traits (floats) used by the dynamics.
    offences
        person_id, offence_date, offence_group, domestic_abuse, gravity, outcome,
        outcome_date (``pending`` outcomes have a null date).
    custody
        person_id, reception_date, release_date, expected_release_date, release_type.
    orders
        person_id, order_type, start_date, end_date, breached.
    assessments
        person_id, assessment_date, the ten need scores (Int64, nullable).
    contacts
        person_id, contact_date, outcome.
    health
        person_id, service, referral_date, discharge_date, discharge_reason.
    housing
        person_id, event_date, event_type.
    oracle
        person_id, as_of_date, p_true.
    extract_date
        The day the extract is pulled; nothing after it is written.
    """

    persons: pd.DataFrame
    offences: pd.DataFrame
    custody: pd.DataFrame
    orders: pd.DataFrame
    assessments: pd.DataFrame
    contacts: pd.DataFrame
    health: pd.DataFrame
    housing: pd.DataFrame
    oracle: pd.DataFrame
    extract_date: pd.Timestamp


# ---------------------------------------------------------------------------------------
# Time grid. The world moves in steps of about a week: each calendar month is cut into
# steps starting on days 1, 8, 15 and 22, so every month end (and so every quarter end)
# is the last day of a step. States change only between steps; events fall on a uniform
# day inside their step. Example: March 2025 gives steps 1-7, 8-14, 15-21 and 22-31 Mar.
# ---------------------------------------------------------------------------------------

EPOCH = np.datetime64("1970-01-01", "D")


def to_day(ts: pd.Timestamp | dt.date | str) -> int:
    """Days since 1970-01-01."""
    return (pd.Timestamp(ts).normalize() - pd.Timestamp("1970-01-01")).days


def from_days(days: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 to ``datetime64[ms]`` (NaT where days is the null sentinel)."""
    days = np.asarray(days, dtype=np.int64)
    out = (EPOCH + days.astype("timedelta64[D]")).astype("datetime64[ms]")
    out[days == NULL_DAY] = np.datetime64("NaT")
    return out


NULL_DAY = -(10**9)


@dataclass(frozen=True)
class StepGrid:
    """Step start days and lengths from ``first_day`` to ``last_day`` inclusive."""

    start: np.ndarray  # int64 days
    length: np.ndarray  # int64 days

    @property
    def n(self) -> int:
        return int(self.start.size)

    @property
    def end(self) -> np.ndarray:
        """Last day of each step (inclusive)."""
        return self.start + self.length - 1

    def day_of_step(self, step: np.ndarray) -> np.ndarray:
        """First day of ``step``, extrapolating weekly outside the grid."""
        step = np.asarray(step, dtype=np.int64)
        inside = np.clip(step, 0, self.n - 1)
        day = self.start[inside]
        day = np.where(step < 0, self.start[0] + 7 * step, day)
        return np.where(step >= self.n, self.start[-1] + self.length[-1] + 7 * (step - self.n), day)

    def step_of_day(self, day: np.ndarray) -> np.ndarray:
        """Index of the step containing ``day`` (n for days after the grid)."""
        return np.searchsorted(self.start, np.asarray(day, dtype=np.int64), side="right") - 1


def make_grid(first_month: pd.Timestamp, last_month: pd.Timestamp) -> StepGrid:
    """Steps covering whole months from ``first_month`` to ``last_month`` inclusive."""
    months = pd.period_range(first_month.to_period("M"), last_month.to_period("M"), freq="M")
    first = np.array([to_day(m.start_time) for m in months], dtype=np.int64)
    n_days = np.array([m.days_in_month for m in months], dtype=np.int64)
    starts = (first[:, None] + np.array([0, 7, 14, 21])[None, :]).ravel()
    lengths = np.stack([np.full_like(n_days, 7)] * 3 + [n_days - 21], axis=1).ravel()
    return StepGrid(start=starts, length=lengths)
