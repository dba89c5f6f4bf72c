"""The tiering rule: from calibrated risk to a suggested tier (red, amber, green).

One rule, used by the publish stage (the list the panel reads) and by the fairness audit
(which audits the panel's operational decisions, "red" and "red or amber", on labelled
dates). Two forms, chosen in params (``publish.tiering``):

- ``capacity``: the unit's caseload limits. Red is the ``red`` highest-risk people at each
  panel date, amber the next ``amber``, everyone else green.
- ``cutpoints``: red when ``risk_12m >= red_cut``, amber when ``>= amber_cut``.

Ranks are 1 for the highest risk, ties broken by ``pseudo_id`` so the order never
depends on row order.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

TIERS = ("red", "amber", "green")


class TieringRule(BaseModel):
    """``publish.tiering`` in params.yaml."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    method: Literal["capacity", "cutpoints"] = "capacity"
    red: int = Field(100, ge=0, description="capacity: people in red at each panel date")
    amber: int = Field(200, ge=0, description="capacity: people in amber after red")
    red_cut: float = Field(0.6, gt=0, le=1, description="cutpoints: red at or above this risk")
    amber_cut: float = Field(0.4, gt=0, le=1, description="cutpoints: amber at or above this risk")

    @model_validator(mode="after")
    def _ordered(self) -> TieringRule:
        if self.method == "cutpoints" and self.amber_cut > self.red_cut:
            raise ValueError(f"amber_cut ({self.amber_cut}) must not exceed red_cut ({self.red_cut})")
        return self

    def describe(self) -> str:
        """The rule in one plain sentence (for the panel pack and the audit report)."""
        if self.method == "capacity":
            return (
                f"by capacity: red = the {self.red} highest estimated risks, "
                f"amber = the next {self.amber}, green = everyone else"
            )
        return (
            f"by cut-points: red at risk {self.red_cut:.0%} or more, "
            f"amber at {self.amber_cut:.0%} or more, green below"
        )


def rank_by_risk(frame: pd.DataFrame, risk: str = "risk_12m", by: str | None = "as_of_date") -> pd.Series:
    """Rank 1 = highest risk within each ``by`` group; ties broken by ``pseudo_id``."""
    order = frame.sort_values(
        [*([by] if by else []), risk, "pseudo_id"],
        ascending=[*([True] if by else []), False, True],
        kind="mergesort",
    )
    if by:
        ranks = order.groupby(by, sort=False, observed=True).cumcount() + 1
    else:
        ranks = pd.Series(np.arange(1, len(order) + 1), index=order.index)
    return ranks.reindex(frame.index).astype("int64").rename("rank")


def assign_tiers(
    frame: pd.DataFrame, rule: TieringRule, risk: str = "risk_12m", by: str | None = "as_of_date"
) -> pd.Series:
    """The suggested tier of every row (a categorical over :data:`TIERS`).

    Parameters
    ----------
    frame
        Needs ``pseudo_id`` and the ``risk`` column, plus ``by`` (one panel per value)
        when the rule is by capacity.
    rule
        The tiering rule.
    risk
        The calibrated probability column.
    by
        The column that separates panel dates (None: one panel).
    """
    p = frame[risk].to_numpy(dtype="float64")
    if rule.method == "capacity":
        rank = rank_by_risk(frame, risk, by).to_numpy()
        tier = np.where(rank <= rule.red, 0, np.where(rank <= rule.red + rule.amber, 1, 2))
    else:
        tier = np.where(p >= rule.red_cut, 0, np.where(p >= rule.amber_cut, 1, 2))
    return pd.Series(
        pd.Categorical.from_codes(tier, categories=list(TIERS)), index=frame.index, name="suggested_tier"
    )
