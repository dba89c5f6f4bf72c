"""The model card and the version description: real Markdown, charts inline, verdicts, drift."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from models.card import CardInputs, render_description, write_model_card


def _model_metrics(auc: float) -> dict[str, float]:
    return {
        "auc": auc,
        "brier": 0.18,
        "log_loss": 0.54,
        "ece": 0.0119,
        "calibration_slope": 1.002,
        "calibration_intercept": -0.02,
        "precision_at_100": 0.79,
        "recall_at_100": 0.05,
    }


EVALUATION: dict[str, Any] = {
    "metrics": {
        "test": {
            "risk_model": _model_metrics(0.7495),
            "ogrs3": _model_metrics(0.725),
            "rfg": _model_metrics(0.646),
            "oracle": _model_metrics(0.7683),
        },
        "goals": {
            "ece_le_0.02": True,
            "slope_0.9_1.1": True,
            "auc_above_ogrs3": True,
            "auc_above_rfg": True,
            "auc_gap_to_oracle": 0.01878,
            "auc_within_0.015_of_oracle": False,
        },
        "model": {"n_trees": 209, "n_features": 125},
        "split": {
            "train": ["2019-03-31", "2022-06-30"],
            "valid": ["2022-09-30"],
            "calib": ["2023-09-30"],
            "test": ["2024-09-30", "2024-12-31", "2025-03-31"],
            "rows": {"train": 54737, "valid": 17559, "calib": 18396, "test": 14499},
        },
    },
    "learned_from_dates": ["2019-03-31", "2022-06-30", "2022-09-30"],
    "params": {
        "register_name": "iom-risk",
        "capacity": 100,
        "max_depth": 3,
        "refit_on_valid": True,
        "calibration": "platt",
        "n_bootstrap": 20,
        "interval": 0.9,
        "protected_features": [],
    },
}


def _decision(verdict: str, why: str = "") -> dict[str, Any]:
    measures = [{"name": "fpr", "group": "Black", "ratio": 1.6, "ci_low": 1.3, "ci_high": 1.9, "why": why}]
    return {"verdict": verdict, "deciding_measures": measures if why else [], "sentence": verdict}


VERDICTS: dict[str, Any] = {
    "audit_date_scope": {"as_of_dates": ["2024-09-30", "2025-03-31"], "panel_date": "2026-09-30"},
    "band": [0.8, 1.25],
    "characteristics": {
        "ethnicity": {
            "decisions": {
                "red": _decision(
                    "disparity found", "false positive rate 1.6x White's for Black (1.3 to 1.9)"
                ),
                "red_or_amber": _decision("no disparity found"),
            },
            "calibration": _decision("no disparity found"),
            "summary_sentence": "By ethnicity: a disparity in red for Black people.",
        },
        "sex": {
            "decisions": {
                "red": _decision("no disparity found"),
                "red_or_amber": _decision("no disparity found"),
            },
            "calibration": _decision("not enough data"),
            "summary_sentence": "By sex: no disparity found.",
        },
    },
}

DRIFT: dict[str, Any] = {
    "threshold": 0.25,
    "train_dates": ["2019-03-31", "2022-09-30"],
    "panel_date": "2026-09-30",
    "n_train_rows": 72296,
    "n_panel_rows": 3100,
    "features": [
        {"name": "age", "label": "age at the as-of date", "psi": 0.41},
        {"name": "n_proven_offences_12m", "label": "proven offences in the last 12 months", "psi": 0.03},
    ],
    "beyond": ["age"],
    "typology_mix": {
        "psi": 0.02,
        "beyond": False,
        "train": {"general": 0.4, "vulnerable": 0.6},
        "panel": {"general": 0.45, "vulnerable": 0.55},
    },
}


def _reports(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    grid = np.linspace(0, 1, 11)
    pd.concat(
        [pd.DataFrame({"fpr": grid, "tpr": np.sqrt(grid), "model": m}) for m in ("risk_model", "ogrs3")]
    ).to_csv(folder / "roc.csv", index=False)
    pd.DataFrame(
        {
            "bin": [1, 2, 9],
            "n": [500, 300, 4],
            "mean_predicted": [0.15, 0.25, 0.91],
            "observed": [0.14, 0.26, 0.0],
            "model": "risk_model",
        }
    ).to_csv(folder / "calibration.csv", index=False)
    return folder


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.orphan_li = 0
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "li" and not {"ul", "ol"} & set(self.stack):
            self.orphan_li += 1
        if tag not in ("img", "meta", "br", "hr"):
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.stack:
            del self.stack[len(self.stack) - 1 - self.stack[::-1].index(tag)]

    def handle_data(self, data: str) -> None:
        if "code" not in self.stack and "style" not in self.stack:
            self.text.append(data)


def test_the_card_is_real_html_with_charts_goals_in_words_verdicts_and_drift(tmp_path: Path) -> None:
    inputs = CardInputs(
        EVALUATION, VERDICTS, DRIFT, version="7", limits_extra=["### Evidence\nA slot for issue 14."]
    )
    md_path, html_path = write_model_card(inputs, _reports(tmp_path / "model"), tmp_path / "card")
    html = html_path.read_text(encoding="utf-8")
    parser = _Tags()
    parser.feed(html)
    text = " ".join(parser.text)
    assert "`" not in text  # inline code is <code>, never a literal backtick
    assert "**" not in text
    assert parser.orphan_li == 0
    assert html.count("<table>") >= 5
    assert html.count('src="data:image/png;base64,') == 2  # ROC and calibration (no SHAP charts given)
    assert "http://" not in html and "https://" not in html  # works offline
    # Goals in words, not raw keys.
    assert "AUC within 0.015 of the oracle" in text and "auc_within_0.015_of_oracle" not in html
    assert re.search(r"AUC within 0.015 of the oracle.*?not met", text, flags=re.S)
    # The verdict per characteristic, and the deciding measure.
    assert "Ethnicity × sex" not in text and "Ethnicity" in text and "Sex" in text
    assert "false positive rate 1.6x White's for Black" in text
    assert "By sex: no disparity found." in text
    # Drift: the threshold and the features beyond it, named.
    assert "1 feature(s) beyond the threshold 0.25" in text and "age at the as-of date" in text
    assert "Evidence" in text and "A slot for issue 14." in text
    # The Markdown file refers to the chart files beside it.
    md = md_path.read_text(encoding="utf-8")
    assert "](roc.png)" in md and "base64" not in md
    assert (tmp_path / "card" / "roc.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_card_is_deterministic(tmp_path: Path) -> None:
    inputs = CardInputs(EVALUATION, VERDICTS, DRIFT, version="7")
    reports = _reports(tmp_path / "model")
    a = write_model_card(inputs, reports, tmp_path / "a")
    b = write_model_card(inputs, reports, tmp_path / "b")
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]


def test_before_the_audit_the_card_says_so(tmp_path: Path) -> None:
    _, html_path = write_model_card(CardInputs(EVALUATION), _reports(tmp_path / "model"), tmp_path / "card")
    html = html_path.read_text(encoding="utf-8")
    assert "The fairness audit has not run for this version yet" in html
    assert "Drift has not been measured" in html


def test_the_version_description_carries_the_headline_and_links() -> None:
    links = [("audit run", "#/experiments/1/runs/abc"), ("train run", "#/experiments/1/runs/def")]
    md = render_description(CardInputs(EVALUATION, VERDICTS, DRIFT, version="7", links=links))
    assert md.startswith("**IOM 12-month reoffending risk**")
    assert "| risk model | 0.750 |" in md and "| OGRS3-style baseline | 0.725 |" in md
    assert "- **Ethnicity**: in red, disparity found: false positive rate 1.6x" in md
    assert (
        "- **Sex**: in red, no disparity found; in red or amber, no disparity found; "
        "calibration, not enough data" in md
    )
    assert "[audit run](#/experiments/1/runs/abc) · [train run](#/experiments/1/runs/def)" in md
    assert "age at the as-of date" in md


def test_the_precision_goal_shows_the_paired_interval_beside_the_point_goal() -> None:
    from models.card import goals_in_words

    test = {"risk_model": {"precision_at_100": 0.70}, "ogrs3": {"precision_at_100": 0.7167}}
    goals = {
        "precision_at_capacity_at_least_ogrs3": False,
        "precision_at_capacity_not_significantly_below_ogrs3": True,
    }
    gap = {"difference": -0.0167, "se": 0.037, "low": -0.09, "high": 0.053, "level": 0.95}
    gap |= {"share_below_zero": 0.66, "n_boot": 2000}
    rows = {g["key"]: g for g in goals_in_words(goals, test, gap)}
    assert rows["precision_at_capacity_at_least_ogrs3"]["met"] is False
    assert rows["precision_at_capacity_at_least_ogrs3"]["figure"] == "0.700 against 0.717"
    figure = rows["precision_at_capacity_not_significantly_below_ogrs3"]["figure"]
    assert "difference -0.017" in figure and "-0.090 to +0.053" in figure and "2,000 replicates" in figure


def test_the_interval_section_states_an_m_out_of_n_bootstrap_only_when_there_was_one(tmp_path: Path) -> None:
    """m < n: the card names m, n and the sqrt(m/n) scale and calls the interval an
    approximation; m = n (every unit-sized extract): the section is as it always was."""
    import copy

    sample = {"bootstrap_persons": 25000, "bootstrap_persons_of": 100000, "bootstrap_scale": 0.5}
    texts = {}
    for m in (25000, 100000):
        evaluation = copy.deepcopy(EVALUATION)
        evaluation["metrics"]["model"]["sample"] = {**sample, "bootstrap_persons_used": m}
        md, _ = write_model_card(CardInputs(evaluation), _reports(tmp_path / f"model{m}"), tmp_path / f"c{m}")
        texts[m] = md.read_text(encoding="utf-8")
    assert "m-out-of-n bootstrap" in texts[25000]
    assert "each refit grew on 25,000 people drawn with replacement" in texts[25000]
    assert "sqrt(m/n) = 0.500" in texts[25000] and "approximation" in texts[25000]
    assert "m-out-of-n" not in texts[100000]
    plain, _ = write_model_card(CardInputs(EVALUATION), _reports(tmp_path / "plain"), tmp_path / "plain_card")
    assert plain.read_text(encoding="utf-8") == texts[100000]
