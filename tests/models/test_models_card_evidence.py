"""The model card's evidence section names the setting and renders the measured comparison."""

from __future__ import annotations

from models.card_evidence import comparison_markdown, comparison_row, evidence_markdown, load_comparison


def _run(auc: float, ratio: float) -> tuple[dict, dict]:
    model = {
        "test": {
            "risk_model": {"auc": auc, "brier": 0.18, "ece": 0.01, "precision_at_100": 0.7},
            "oracle": {"auc": 0.77},
        }
    }
    fair = {
        "test": {
            "disparities": {
                "selection_rate_ratio.red.ethnicity.Black": {"ratio": ratio, "ci_low": 1.0, "ci_high": 2.0},
                "fpr_ratio.red.ethnicity.Black": {"ratio": 1.1, "ci_low": 0.5, "ci_high": 1.9},
            }
        }
    }
    return model, fair


def test_rows_and_markdown() -> None:
    row = comparison_row("proven", 3.0, *_run(0.75, 1.5), capacity=100)
    assert row["auc_gap_to_oracle"] == 0.02 and row["selection_rate_ratio_red"]["ratio"] == 1.5
    md = comparison_markdown([row])
    assert "| proven | x3 | 0.750 |" in md and "1.50 (1.00-2.00)" in md


def test_the_card_names_the_setting_and_ships_the_measured_table() -> None:
    assert "proven offences only" in evidence_markdown("proven", rows=[])
    assert "recorded offences" in evidence_markdown("recorded", rows=[])
    rows = load_comparison()
    assert {(r["evidence"], r["recording_bias_factor"]) for r in rows} == {
        ("proven", 1.0),
        ("recorded", 1.0),
        ("proven", 3.0),
        ("recorded", 3.0),
    }
    assert "| recorded | x3 |" in evidence_markdown("proven")
