"""Simulated panel decisions: reproducible, mostly accepting, overriding towards the truth."""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulator.panel import REASONS, decide_panel


def _listed(n: int, tier: str = "amber", risk: float = 0.4) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "pseudo_id": [f"P{i:05d}" for i in range(n)],
            "panel_date": pd.Timestamp("2026-10-31"),
            "suggested_tier": tier,
            "risk_12m": risk,
        }
    )


def test_reproducible_and_contract_shaped() -> None:
    listed = _listed(500)
    a = decide_panel(listed, None, np.random.default_rng(1))
    b = decide_panel(listed, None, np.random.default_rng(1))
    pd.testing.assert_frame_equal(a, b)
    assert list(a.columns) == ["pseudo_id", "panel_date", "suggested_tier", "decided_tier", "reason"]
    assert set(a["decided_tier"]) <= {"red", "amber", "green"}
    # Without truth: base rates, 5% each way.
    changed = (a["decided_tier"] != a["suggested_tier"]).mean()
    assert 0.04 < changed < 0.17
    assert a.loc[a["decided_tier"] == a["suggested_tier"], "reason"].isna().all()
    assert set(a.loc[a["decided_tier"] == "red", "reason"]) == {REASONS["up"]}


def test_overrides_follow_true_risk() -> None:
    listed = _listed(4000)
    high = decide_panel(listed, pd.Series(0.8, index=listed.index), np.random.default_rng(2))
    low = decide_panel(listed, pd.Series(0.0, index=listed.index), np.random.default_rng(2))
    # gap +0.4: P(up) = min(0.05 + 0.2, 0.35) = 0.25, P(down) = 0.01.
    assert abs((high["decided_tier"] == "red").mean() - 0.25) < 0.03
    assert (high["decided_tier"] == "green").mean() < 0.03
    # gap -0.4: P(down) = 0.25, P(up) = 0.01.
    assert abs((low["decided_tier"] == "green").mean() - 0.25) < 0.03
    assert (low["decided_tier"] == "red").mean() < 0.03


def test_edges_red_cannot_rise_green_falls_to_not_adopted() -> None:
    red = decide_panel(_listed(1000, "red", 0.2), pd.Series(0.9, index=range(1000)), np.random.default_rng(3))
    assert set(red["decided_tier"]) <= {"red", "amber"}
    green = decide_panel(
        _listed(1000, "green", 0.6), pd.Series(0.0, index=range(1000)), np.random.default_rng(3)
    )
    assert "not_adopted" in set(green["decided_tier"])
    assert set(green["decided_tier"]) <= {"green", "not_adopted", "amber"}
    assert set(green.loc[green["decided_tier"] == "not_adopted", "reason"]) == {REASONS["not_adopted"]}
