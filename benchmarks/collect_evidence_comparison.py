"""Collect the evidence comparison (proven/recorded x recording bias) for the model card.

Each ``--run`` names one pipeline run's outputs: ``EVIDENCE:FACTOR:MODEL_JSON:FAIRNESS_JSON``
(``metrics/model.json`` and ``metrics/fairness.json`` after ``dvc repro audit`` with
``features.evidence: EVIDENCE`` and ``simulate.recording_bias.factor: FACTOR``). Writes
``benchmarks/evidence_comparison.json``, which the card's evidence section renders, and
prints the Markdown table.

Run: ``.venv/bin/python benchmarks/collect_evidence_comparison.py --run proven:1:m.json:f.json ...``
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from models.card_evidence import COMPARISON_FILE, comparison_markdown, comparison_row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", action="append", required=True, help="EVIDENCE:FACTOR:MODEL_JSON:FAIRNESS_JSON")
    ap.add_argument("--capacity", type=int, default=100)
    ap.add_argument("--out", type=Path, default=COMPARISON_FILE)
    args = ap.parse_args()
    rows = []
    for spec in args.run:
        evidence, factor, model_path, fairness_path = spec.split(":", 3)
        model = json.loads(Path(model_path).read_text(encoding="utf-8"))
        fairness = json.loads(Path(fairness_path).read_text(encoding="utf-8"))
        rows.append(comparison_row(evidence, float(factor), model, fairness, args.capacity))
    args.out.write_text(json.dumps({"rows": rows}, indent=2) + "\n", encoding="utf-8")
    print(comparison_markdown(rows))


if __name__ == "__main__":
    main()
