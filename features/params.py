"""Parameters of the features stage (the ``features:`` section of params.yaml)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from pydantic import Field, field_validator, model_validator

from features.catalogue import DEFAULT_EVIDENCE, DEFAULT_HISTORY_MONTHS, DEFAULT_WINDOWS, Evidence
from iom_config import StageParams


class FeatureParams(StageParams):
    """The ``features:`` section of params.yaml.

    Attributes
    ----------
    train_start
        First training as-of date; must be a quarter end (31 Mar, 30 Jun, 30 Sep, 31 Dec).
    panel_date
        The as-of date of the list the panel will see; null means the extract date.
    min_age
        Cohort rule: aged at least this many completed years at the as-of date.
    proven_window_months
        Cohort rule: at least one proven offence dated in this many months up to the
        as-of date.
    release_window_days
        People in custody whose planned release falls within this many days after the
        as-of date are listed, flagged ``release_due``.
    windows
        Look-back windows in months for windowed features (the whole history window is
        added where it makes sense, as the ``_all`` columns).
    history_months
        The longest look-back of any feature: "career" features (``..._all``, first
        offence, Copas rate, days since release, agencies known ...) see only records
        dated in the ``history_months`` up to the as-of date. Extracts hold a limited
        number of years (local systems are truncated), so an uncapped "ever" would grow
        with the calendar date for everyone and read as rising risk; a fixed span makes
        every as-of date comparable. Every training as-of date needs this much record
        history before it (the stage refuses otherwise).
    evidence
        What the risk model may count as offending: ``proven`` (default) reads only
        features that count no offence unproven at the as-of date (convicted or
        cautioned, the outcome dated on or before it); ``recorded`` also reads the counts
        of offences recorded by the police whatever the outcome. Declared per feature in
        the catalogue (``FeatureSpec.evidence``). The features stage writes every column
        either way (the typology and the RFG comparator read recorded counts); the train
        stage selects the columns, and the model card says which setting was used.
    """

    train_start: dt.date = dt.date(2019, 3, 31)
    panel_date: dt.date | None = None
    min_age: int = Field(default=18, ge=10, le=100)
    proven_window_months: int = Field(default=24, ge=1, le=240)
    release_window_days: int = Field(default=56, ge=0, le=3650)
    windows: tuple[int, ...] = DEFAULT_WINDOWS
    history_months: int = Field(default=DEFAULT_HISTORY_MONTHS, ge=12, le=600)
    evidence: Evidence = DEFAULT_EVIDENCE

    @field_validator("train_start")
    @classmethod
    def _quarter_end(cls, v: dt.date) -> dt.date:
        if not pd.Timestamp(v).is_quarter_end:
            raise ValueError("must be a quarter end (e.g. 2019-03-31, 2019-06-30, 2019-09-30, 2019-12-31)")
        return v

    @field_validator("windows")
    @classmethod
    def _windows(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if not v:
            raise ValueError("give at least one window (months)")
        if any(w < 1 or w > 240 for w in v):
            raise ValueError("each window must be between 1 and 240 months")
        if list(v) != sorted(set(v)):
            raise ValueError("windows must be strictly increasing, e.g. [3, 12, 36]")
        return v

    @model_validator(mode="after")
    def _within_history(self) -> FeatureParams:
        longest = max(*self.windows, self.proven_window_months)
        if longest > self.history_months:
            raise ValueError(
                f"history_months ({self.history_months}) must be at least every look-back window "
                f"(windows {list(self.windows)}, proven_window_months {self.proven_window_months})"
            )
        return self
