"""The model card's evidence section: which offences the model counted, and what that costs.

Kept apart from the card template so it can move with it: :func:`evidence_markdown`
returns the Markdown, :func:`comparison_row` turns one run's ``metrics/model.json`` and
``metrics/fairness.json`` into a row of the comparison table. The comparison itself (four
runs: proven/recorded evidence x recording bias off/on) is measured offline and kept in
``benchmarks/evidence_comparison.json`` (``benchmarks/collect_evidence_comparison.py``
writes it; outside ``models/`` so that a new measurement reruns only the stages that show
it, train and card, and not every stage that imports the models package).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

COMPARISON_FILE = Path(__file__).resolve().parents[1] / "benchmarks" / "evidence_comparison.json"
BIASED_GROUP = "ethnicity.Black"  # the simulator's recording-bias group (simulate.recording_bias.group)

EVIDENCE_TEXT = {
    "proven": (
        "**Evidence: proven offences only** (`features.evidence: proven`). No model input "
        "counts an offence that was not convicted or cautioned with the outcome dated on or "
        "before the as-of date; offences merely recorded by the police (most end with no "
        "further action) are not evidence here, as in OGRS3/OGRS4."
    ),
    "recorded": (
        "**Evidence: recorded offences** (`features.evidence: recorded`). The model also "
        "counts offences recorded by the police whatever their outcome, most of them never "
        "proven: uneven policing of a group enters its scores directly (see the table)."
    ),
}


def _ratio(fairness: Mapping[str, Any], measure: str) -> dict[str, float | None]:
    d = fairness.get("test", {}).get("disparities", {}).get(f"{measure}.red.{BIASED_GROUP}", {})
    return {"ratio": d.get("ratio"), "ci_low": d.get("ci_low"), "ci_high": d.get("ci_high")}


def comparison_row(
    evidence: str, bias_factor: float, model: Mapping[str, Any], fairness: Mapping[str, Any], capacity: int
) -> dict[str, Any]:
    """One run's row: out-of-time metrics and the red-tier ratios of the biased group."""
    test = model["test"]
    m = test["risk_model"]
    return {
        "evidence": evidence,
        "recording_bias_factor": bias_factor,
        "auc": m["auc"],
        "brier": m["brier"],
        "ece": m["ece"],
        "auc_gap_to_oracle": round(test["oracle"]["auc"] - m["auc"], 5) if "oracle" in test else None,
        "precision_at_capacity": m.get(f"precision_at_{capacity}"),
        "selection_rate_ratio_red": _ratio(fairness, "selection_rate_ratio"),
        "fpr_ratio_red": _ratio(fairness, "fpr_ratio"),
    }


def _fmt_ratio(r: Mapping[str, float | None]) -> str:
    if r.get("ratio") is None:
        return "n/a"
    return f"{r['ratio']:.2f} ({r['ci_low']:.2f}-{r['ci_high']:.2f})"


def comparison_markdown(rows: Sequence[Mapping[str, Any]]) -> str:
    """The comparison as a Markdown table (one row per run)."""
    head = (
        "| evidence | recording bias | AUC | Brier | ECE | AUC gap to oracle | precision at capacity "
        "| red selection ratio, Black (95% CI) | red FPR ratio, Black (95% CI) |\n"
        "|---|---|---|---|---|---|---|---|---|"
    )
    body = [
        f"| {r['evidence']} | x{r['recording_bias_factor']:g} | {r['auc']:.3f} | {r['brier']:.4f} "
        f"| {r['ece']:.4f} | {r['auc_gap_to_oracle']:.3f} | {r['precision_at_capacity']:.3f} "
        f"| {_fmt_ratio(r['selection_rate_ratio_red'])} | {_fmt_ratio(r['fpr_ratio_red'])} |"
        for r in rows
    ]
    return "\n".join([head, *body])


def load_comparison(path: Path = COMPARISON_FILE) -> list[dict[str, Any]]:
    """The measured comparison rows (empty when the file is absent)."""
    if not path.exists():
        return []
    return list(json.loads(path.read_text(encoding="utf-8"))["rows"])


def evidence_markdown(evidence: str, rows: Sequence[Mapping[str, Any]] | None = None) -> str:
    """The card's evidence paragraph, with the measured comparison table when there is one."""
    rows = load_comparison() if rows is None else rows
    text = EVIDENCE_TEXT.get(evidence, f"Evidence setting: {evidence}.")
    if not rows:
        return text
    return (
        f"{text}\n\nMeasured on the simulated extract, out-of-time test; red = the "
        f"capacity's highest risks; ratios are the Black group's over the White group's, with "
        f"bootstrap 95% intervals; recording bias x3 = the police record three times as many "
        f"weak cases for the Black group (simulator):\n\n{comparison_markdown(rows)}"
    )
