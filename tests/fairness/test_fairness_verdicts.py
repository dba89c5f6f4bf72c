"""Known-answer tests of the verdicts: each of the three, the edge cases, calibration, the file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fairness import audit_fairness, read_verdicts
from fairness.verdicts import (
    DISPARITY,
    NO_DISPARITY,
    NOT_ENOUGH,
    VerdictsError,
    audit_verdicts,
    decide,
    empty_verdicts,
    interval_position,
    write_verdicts,
)

BAND = (0.8, 1.25)


def _rows(*ratios: tuple[str, str, float, float, float]) -> pd.DataFrame:
    """Disparity rows (group, measure, ratio, ci_low, ci_high) against reference R at red."""
    return pd.DataFrame(
        [
            {
                "group": g, "reference": "R", "decision": "red", "measure": m,
                "name": f"{m}_ratio.red.eth.{g}", "ratio": r, "ci_low": lo, "ci_high": hi,
            }
            for g, m, r, lo, hi in ratios
        ]
    )  # fmt: skip


def test_disparity_found_when_a_whole_interval_lies_outside_the_band() -> None:
    rows = _rows(("A", "fpr", 4.3, 3.1, 5.9), ("A", "fnr", 1.0, 0.9, 1.1), ("B", "fpr", 0.5, 0.2, 1.3))
    out = decide(rows, BAND)
    assert out["verdict"] == DISPARITY
    [m] = out["deciding_measures"]  # only the ratio wholly outside decides it
    assert (m["name"], m["group"], m["ratio"], m["ci_low"], m["ci_high"]) == ("fpr_ratio", "A", 4.3, 3.1, 5.9)
    assert m["metric"] == "fpr_ratio.red.eth.A" and "intrusion" in m["why"]
    below = decide(_rows(("A", "fnr", 0.5, 0.3, 0.7)), BAND)
    assert below["verdict"] == DISPARITY and "missed less often" in below["deciding_measures"][0]["why"]


def test_no_disparity_only_when_every_interval_lies_inside_the_band() -> None:
    rows = _rows(("A", "fpr", 1.0, 0.9, 1.1), ("A", "fnr", 1.05, 0.82, 1.2), ("B", "fpr", 0.95, 0.85, 1.05))
    out = decide(rows, BAND)
    assert out["verdict"] == NO_DISPARITY
    # The deciding measure is the one nearest an edge: A's fnr (0.82 is 2.5% from 0.8).
    assert [m["group"] for m in out["deciding_measures"]] == ["A"]
    assert out["deciding_measures"][0]["name"] == "fnr_ratio"


@pytest.mark.parametrize(
    "lo, hi",
    [
        (0.7, 1.1),  # reaches across the lower edge
        (1.1, 1.4),  # reaches across the upper edge
        (0.5, 2.0),  # wider than the band on both sides
        (0.0, 3.6),  # a ratio of 0 on a handful of events
        (np.nan, np.nan),  # no interval could be estimated
    ],
)
def test_not_enough_data_when_an_interval_reaches_across_the_band(lo: float, hi: float) -> None:
    rows = _rows(("A", "fpr", 1.0, 0.9, 1.1), ("B", "fpr", 1.0, lo, hi))
    out = decide(rows, BAND)
    assert out["verdict"] == NOT_ENOUGH
    assert [m["group"] for m in out["deciding_measures"]] == ["B"]


def test_interval_position_edges() -> None:
    assert interval_position(0.8, 1.25, BAND) == "inside"  # the band's edges belong to it
    assert interval_position(0.5, 0.79, BAND) == "outside"
    assert interval_position(0.5, 0.8, BAND) == "across"
    assert decide(_rows(("A", "fpr", 1, 1, 1)).iloc[:0], BAND)["verdict"] == NOT_ENOUGH  # nobody to compare


def _calibration_audit():  # type: ignore[no-untyped-def]
    # A: 3000 rows, predicted .5, half reoffend (observed/expected 1.0). B: 3000 rows, predicted .5,
    # one in five reoffends (observed/expected 0.4): the model over-predicts B by 60%. C: 10 rows.
    # Red: 3 blocks of 10 rows in every 10 (each block holds whole outcome patterns), so 30% of
    # reoffenders and 30% of the others in both groups: every error-rate ratio is exactly 1.
    n = 3000
    y = np.r_[np.tile([1, 0], n // 2), np.tile([1, 0, 0, 0, 0], n // 5), np.ones(10)]
    p = np.full(len(y), 0.5)
    red = (np.arange(len(y)) // 10) % 10 < 3
    g = pd.Series(["A"] * n + ["B"] * n + ["C"] * 10, name="ethnicity")
    return audit_fairness(
        y, p, sensitive_features=g, selected={"red": red, "red_or_amber": red}, n_bootstrap=100
    )


def test_calibration_disparity_and_the_characteristic_sentence() -> None:
    audit = _calibration_audit()
    v = audit_verdicts(audit, ["fpr", "fnr"], as_of_dates=["2025-03-31"], panel_date="2026-10-31")
    eth = v["characteristics"]["ethnicity"]
    cal = eth["calibration"]
    assert cal["verdict"] == DISPARITY
    [m] = cal["deciding_measures"]
    assert m["group"] == "B" and m["ratio"] == pytest.approx(0.4) and m["ci_high"] < 0.8
    assert "over-predicts" in m["why"] and cal["sentence"].startswith(
        "By ethnicity, calibration: disparity found"
    )
    # Error rates are equal and the groups large: every interval lies inside the band.
    assert eth["decisions"]["red"]["verdict"] == NO_DISPARITY
    assert eth["not_assessed"] == ["C"]
    s = eth["summary_sentence"]
    assert s.startswith("By ethnicity:") and "disparity found in calibration" in s and "C" in s
    # The base-rate comparison is made in words (B reoffends 0.4 times as often as A).
    assert "reoffended less often than A: B 0.40×" in eth["base_rate_sentence"]
    assert v["audit_date_scope"] == {"as_of_dates": ["2025-03-31"], "panel_date": "2026-10-31"}


def test_verdicts_file_round_trips_and_a_broken_one_is_refused(tmp_path: Path) -> None:
    v = audit_verdicts(
        _calibration_audit(), ["fpr", "fnr"], as_of_dates=["2025-03-31"], panel_date="2026-10-31"
    )
    path = write_verdicts(v, tmp_path / "verdicts.json")
    assert read_verdicts(path) == json.loads(json.dumps(v))
    assert set(v["characteristics"]["ethnicity"]["decisions"]) == {"red", "red_or_amber"}
    broken = json.loads(path.read_text())
    broken["characteristics"]["ethnicity"]["decisions"]["red"]["verdict"] = "pass"
    (tmp_path / "bad.json").write_text(json.dumps(broken))
    with pytest.raises(VerdictsError, match=r"bad\.json: ethnicity\.red: verdict 'pass'"):
        read_verdicts(tmp_path / "bad.json")
    with pytest.raises(VerdictsError, match="not found"):
        read_verdicts(tmp_path / "missing.json")
    empty = empty_verdicts(["sex"], BAND, ["fpr", "fnr"], panel_date="2026-10-31")
    assert (
        read_verdicts(write_verdicts(empty, tmp_path / "e.json"))["characteristics"]["sex"]["decisions"][
            "red"
        ]["verdict"]
        == NOT_ENOUGH
    )
