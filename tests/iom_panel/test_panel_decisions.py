"""Previous panel, movement and override rates on tiny hand-built decisions."""

from __future__ import annotations

import pandas as pd
import pytest

from iom_panel.decisions import movement, override_history, override_rates, previous_panel


def _decisions() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "pseudo_id": ["A", "B", "C", "D", "A", "B", "E"],
            "panel_date": pd.to_datetime(
                [
                    "2026-04-30",
                    "2026-04-30",
                    "2026-07-31",
                    "2026-07-31",
                    "2026-07-31",
                    "2026-07-31",
                    "2026-10-31",
                ]
            ),
            "suggested_tier": ["red", "amber", "amber", "green", "red", "green", "red"],
            "decided_tier": ["red", "red", "amber", "not_adopted", "amber", "green", "red"],
            "reason": [None, "x", None, "moved", "engaging", None, None],
        }
    )


def test_previous_panel_is_latest_strictly_before() -> None:
    prev = previous_panel(_decisions(), pd.Timestamp("2026-10-31"))
    assert sorted(prev["pseudo_id"]) == ["A", "B", "C", "D"]
    assert set(pd.to_datetime(prev["panel_date"])) == {pd.Timestamp("2026-07-31")}
    # On the panel date itself, the same day's decisions are not "previous".
    assert previous_panel(_decisions(), pd.Timestamp("2026-07-31"))["pseudo_id"].tolist() == ["A", "B"]
    assert previous_panel(_decisions(), pd.Timestamp("2026-01-31")).empty
    assert previous_panel(None, pd.Timestamp("2026-01-31")).empty


def test_movement_against_decided_tier() -> None:
    prev = previous_panel(_decisions(), pd.Timestamp("2026-10-31"))
    listed = pd.DataFrame(
        {"pseudo_id": ["A", "B", "C", "D", "Z"], "suggested_tier": ["red", "red", "amber", "green", "red"]}
    )
    got = movement(listed, prev)
    # A: decided amber -> red = up; B: green -> red = up; C: amber -> amber = same;
    # D: not_adopted -> green = up (not_adopted ranks below green); Z: new.
    assert got["tier_movement"].astype("str").tolist() == ["up", "up", "same", "up", "new"]
    assert got["new_to_list"].tolist() == [False, False, False, False, True]
    assert got["previous_tier"].astype("object").where(got["previous_tier"].notna(), None).tolist() == [
        "amber",
        "green",
        "amber",
        "not_adopted",
        None,
    ]
    down = movement(pd.DataFrame({"pseudo_id": ["A"], "suggested_tier": ["green"]}), prev)
    assert down["tier_movement"].astype("str").tolist() == ["down"]


def test_first_panel_everyone_new() -> None:
    listed = pd.DataFrame({"pseudo_id": ["A", "B"], "suggested_tier": ["red", "green"]})
    got = movement(listed, previous_panel(None, pd.Timestamp("2026-10-31")))
    assert got["new_to_list"].all()
    assert got["tier_movement"].astype("str").tolist() == ["new", "new"]
    assert got["previous_tier"].isna().all()


def test_override_rates_known_answer() -> None:
    prev = previous_panel(_decisions(), pd.Timestamp("2026-10-31"))
    rates = override_rates(prev)
    # A red->amber (down), C amber->amber, D green->not_adopted (down), B green->green.
    assert rates["n_decisions"] == 4
    assert rates["n_overrides"] == 2
    assert rates["override_rate"] == pytest.approx(0.5)
    assert rates["overrides_up"] == 0 and rates["overrides_down"] == 2
    by = rates["by_suggested_tier"]
    assert by == {
        "red": {"n": 1, "n_overrides": 1, "override_rate": 1.0},
        "amber": {"n": 1, "n_overrides": 0, "override_rate": 0.0},
        "green": {"n": 2, "n_overrides": 1, "override_rate": 0.5},
    }
    assert rates["decided_counts"] == {"red": 0, "amber": 2, "green": 1, "not_adopted": 1}


def test_override_history_oldest_first() -> None:
    hist = override_history(_decisions(), pd.Timestamp("2026-10-31"))
    assert [h["panel_date"] for h in hist] == ["2026-04-30", "2026-07-31"]
    assert [h["override_rate"] for h in hist] == [0.5, 0.5]
