"""``fairness:`` in params.yaml: the audit's groups, band, suppression, bootstrap and gate."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from fairness.measures import BY_NAME, CALIBRATION_MEASURE, DEFAULT_GATED
from iom_config import StageParams

Grouping = Literal["ethnicity", "sex", "age_band", "ethnicity_x_sex"]
GROUPINGS: tuple[Grouping, ...] = ("ethnicity", "sex", "age_band", "ethnicity_x_sex")


class SignOff(BaseModel):
    """A written sign-off of flagged measures (block mode): who, when, which, and why."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    by: str = Field(min_length=1)
    date: dt.date
    measures: list[str] = Field(min_length=1)
    reason: str = Field(min_length=1)


class FairnessParams(StageParams):
    """The ``fairness:`` section."""

    gate: Literal["report", "block"] = "report"
    sign_off: SignOff | None = None
    groups: list[Grouping] = Field(default_factory=lambda: list(GROUPINGS), min_length=1)
    reference_groups: dict[str, str] = Field(default_factory=dict)
    band: tuple[float, float] = (0.8, 1.25)
    min_group_size: int = Field(50, ge=1)
    n_bootstrap: int = Field(200, ge=0)
    seed: int = 7
    gated_measures: list[str] = Field(default_factory=lambda: list(DEFAULT_GATED), min_length=1)
    age_bands: list[int] = Field(default_factory=lambda: [18, 25, 35, 50], min_length=1)
    min_cell_size: int = Field(10, ge=1)

    @property
    def gated(self) -> tuple[str, ...]:
        """The measures whose ratios count for the gate: the gated decision measures and calibration."""
        return (*self.gated_measures, CALIBRATION_MEASURE)

    @model_validator(mode="after")
    def _consistent(self) -> FairnessParams:
        lo, hi = self.band
        if not 0 < lo < 1 < hi:
            raise ValueError(f"band must satisfy 0 < low < 1 < high, got {self.band}")
        decision_measures = sorted(m.name for m in BY_NAME.values() if m.kind == "decision" and m.ratio)
        wrong = [m for m in self.gated_measures if m not in decision_measures]
        if wrong:
            raise ValueError(
                f"gated_measures {wrong} are not decision measures; choose from {decision_measures}"
            )
        if sorted(set(self.age_bands)) != self.age_bands:
            raise ValueError(f"age_bands must be increasing lower bounds in years, got {self.age_bands}")
        unknown = set(self.reference_groups) - set(self.groups)
        if unknown:
            raise ValueError(f"reference_groups names groupings not in groups: {sorted(unknown)}")
        return self
