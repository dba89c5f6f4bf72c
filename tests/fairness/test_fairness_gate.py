"""The publish gate: blocks only in block mode, when flagged, without a covering sign-off."""

from __future__ import annotations

from typing import Any

import pytest

from fairness.gate import GateBlocked, enforce, uncovered_measures
from fairness.params import FairnessParams

FLAGGED: dict[str, Any] = {
    "model_version": "3",
    "gate": {
        "mode": "block",
        "status": "flagged",
        "flagged": ["fpr_ratio.red.ethnicity.Black", "fnr_ratio.red.sex.F"],
        "summary": "2 of 40 gated measures have their 95% interval wholly outside 0.8-1.25.",
    },
}
PASSED = {"model_version": "3", "gate": {"mode": "block", "status": "pass", "flagged": [], "summary": "ok"}}
FULL_SIGN_OFF = {
    "by": "A. Analyst, IOM lead",
    "date": "2026-11-01",
    "measures": ["fpr_ratio.red.ethnicity.Black", "fnr_ratio.red.sex.F"],
    "reason": "Reviewed with the panel; red list capped and reviewed by hand.",
}


def test_report_mode_never_blocks() -> None:
    enforce(FLAGGED, {"gate": "report", "sign_off": None})


def test_block_mode_passes_when_nothing_flagged() -> None:
    enforce(PASSED, {"gate": "block", "sign_off": None})


def test_block_mode_without_sign_off_blocks_and_says_how_to_sign_off() -> None:
    with pytest.raises(GateBlocked) as err:
        enforce(FLAGGED, {"gate": "block", "sign_off": None})
    message = str(err.value)
    assert "fpr_ratio.red.ethnicity.Black" in message
    assert "fnr_ratio.red.sex.F" in message
    assert "sign_off:" in message and "reason:" in message
    assert "no sign-off" in message


def test_sign_off_naming_every_flagged_measure_lets_publish_go_ahead() -> None:
    enforce(FLAGGED, {"gate": "block", "sign_off": FULL_SIGN_OFF})


def test_sign_off_missing_a_measure_blocks_and_names_it() -> None:
    partial = {**FULL_SIGN_OFF, "measures": ["fpr_ratio.red.ethnicity.Black"]}
    with pytest.raises(GateBlocked, match=r"does not name: fnr_ratio\.red\.sex\.F"):
        enforce(FLAGGED, {"gate": "block", "sign_off": partial})
    assert uncovered_measures(FLAGGED, {"sign_off": partial}) == ["fnr_ratio.red.sex.F"]


@pytest.mark.parametrize("missing", ["by", "date", "reason", "measures"])
def test_incomplete_sign_off_blocks(missing: str) -> None:
    sign_off = {**FULL_SIGN_OFF, missing: "" if missing != "measures" else []}
    with pytest.raises(GateBlocked, match=f"incomplete: it lacks {missing}"):
        enforce(FLAGGED, {"gate": "block", "sign_off": sign_off})


def test_params_mode_wins_over_the_mode_recorded_in_metrics() -> None:
    report_metrics = {**FLAGGED, "gate": {**FLAGGED["gate"], "mode": "report"}}
    with pytest.raises(GateBlocked):
        enforce(report_metrics, {"gate": "block"})
    enforce(FLAGGED, {"gate": "report"})


def test_missing_gate_block_blocks() -> None:
    with pytest.raises(GateBlocked, match="no 'gate' block"):
        enforce({"model_version": "3"}, {"gate": "report"})


def test_accepts_the_params_model() -> None:
    params = FairnessParams.model_validate({"gate": "block", "sign_off": FULL_SIGN_OFF})
    enforce(FLAGGED, params)  # type: ignore[arg-type]
    with pytest.raises(GateBlocked):
        enforce(FLAGGED, FairnessParams.model_validate({"gate": "block"}))  # type: ignore[arg-type]


def test_params_model_rejects_bad_band_and_unknown_reference_grouping() -> None:
    with pytest.raises(ValueError, match="band"):
        FairnessParams.model_validate({"band": [1.2, 0.8]})
    with pytest.raises(ValueError, match="reference_groups"):
        FairnessParams.model_validate({"groups": ["sex"], "reference_groups": {"ethnicity": "White"}})
