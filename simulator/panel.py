"""Plausible tiering-panel decisions on a published cohort list.

A panel mostly accepts the suggested tier. It overrides when it knows something the list
does not: in the simulated world, that is the person's true risk. The further the true
risk lies above the listed estimate, the likelier an override up (one tier); the further
below, the likelier an override down (one tier; green down means ``not_adopted``).
Red cannot go up. With no true risk known, overrides happen at the base rates.

Worked example with the defaults: listed risk 0.30, true risk 0.50 (gap +0.20) gives
P(up) = 0.05 + 0.5 * 0.20 = 0.15 and P(down) = max(0.05 - 0.10, 0.01) = 0.01.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from iom_contract import DECIDED_TIERS

# Index into DECIDED_TIERS (red, amber, green, not_adopted): up = -1, down = +1.
_LEVEL = {t: i for i, t in enumerate(DECIDED_TIERS)}
REASONS = {
    "up": "override up: partner information suggests higher risk",
    "down": "override down: engaging well with support",
    "not_adopted": "not adopted: below the unit's threshold",
}


def decide_panel(
    listed: pd.DataFrame,
    true_risk: pd.Series | None,
    rng: np.random.Generator,
    base_rate: float = 0.05,
    sensitivity: float = 0.5,
    max_rate: float = 0.35,
) -> pd.DataFrame:
    """The panel's decisions on a cohort list (the contract's ``panel_decisions`` columns).

    Parameters
    ----------
    listed
        The cohort list: ``pseudo_id``, ``panel_date``, ``suggested_tier``, ``risk_12m``.
    true_risk
        The true probability per row of ``listed`` (same index; NaN where unknown), or None.
    rng
        Random generator (decisions are reproducible from its seed).
    base_rate
        Chance of an override each way when the listed risk is right.
    sensitivity
        How much each probability point of error moves the override chance.
    max_rate
        Cap on either override chance.
    """
    n = len(listed)
    gap = np.zeros(n)
    if true_risk is not None:
        known = true_risk.to_numpy(dtype="float64", na_value=np.nan)
        gap = np.nan_to_num(known - listed["risk_12m"].to_numpy(dtype="float64"), nan=0.0)
    suggested = listed["suggested_tier"].astype("str").to_numpy()
    level = pd.Series(suggested).map(_LEVEL).to_numpy(dtype=np.int64)
    p_up = np.clip(base_rate + sensitivity * gap, 0.01, max_rate) * (level > 0)
    p_down = np.clip(base_rate - sensitivity * gap, 0.01, max_rate)
    u = rng.uniform(size=n)
    move = np.where(u < p_up, -1, np.where(u > 1 - p_down, 1, 0))
    decided = np.asarray(DECIDED_TIERS, dtype=object)[level + move]
    reason = np.full(n, None, dtype=object)
    reason[move < 0] = REASONS["up"]
    reason[(move > 0) & (decided != "not_adopted")] = REASONS["down"]
    reason[(move > 0) & (decided == "not_adopted")] = REASONS["not_adopted"]
    return pd.DataFrame(
        {
            "pseudo_id": listed["pseudo_id"].astype("str").to_numpy(),
            "panel_date": pd.to_datetime(listed["panel_date"]).astype("datetime64[ms]").to_numpy(),
            "suggested_tier": suggested,
            "decided_tier": decided.astype("str"),
            "reason": pd.array(reason, dtype="str"),
        }
    )
