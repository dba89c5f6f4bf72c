"""Evidence setting and proven-offence feature ablation on the pipeline's own outputs.

Reads the features stage's output and the simulator's truth (after ``dvc repro train``),
refits the risk model on the temporal split of params.yaml's ``train:`` section (no
bootstrap refits, no MLflow) for each variant, and prints the out-of-time test metrics:

- ``recorded``: every catalogue feature (``features.evidence: recorded``);
- ``proven``: the features that count no offence unproven at the as-of date (default);
- ``proven - <family>``: the proven set less one family of the proven-offence features
  added with the evidence setting, and less all of them.

Run: ``.venv/bin/python benchmarks/bench_evidence_ablation.py [--params params.yaml] [--json out.json]``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from features import FeatureParams
from features.catalogue import Evidence, feature_specs
from features.partitions import read_features
from iom_config import load_params
from models.risk_params import TrainParams
from models.risk_train import train_and_evaluate
from pipelines.train import read_truth

NEW_PROVEN = {
    "sanctions by outcome date": ["n_sanctions_"],
    "days since last sanction": ["days_since_last_sanction"],
    "versatility": ["n_proven_offence_groups_all"],
    "proven career length": ["proven_career_years"],
}


def _matching(columns: list[str], prefixes: list[str]) -> list[str]:
    return [c for c in columns if any(c.startswith(p) for p in prefixes)]


def run(
    params_path: Path, features: Path, truth: Path, reid: Path, persons: Path, only: list[str] | None = None
) -> pd.DataFrame:
    train = load_params("train", TrainParams, params_path).model_copy(
        update={"n_bootstrap": 0}  # train_and_evaluate only: nothing is registered
    )
    fp = load_params("features", FeatureParams, params_path)
    frame = read_features(features)
    people = pd.read_parquet(persons, columns=["pseudo_id", "sex", "ethnicity"])
    p_true = read_truth(frame, truth, reid)
    names = [s.name for s in feature_specs(fp.windows, fp.history_months)]
    every_new = [p for ps in NEW_PROVEN.values() for p in ps]
    variants: dict[str, tuple[Evidence, list[str]]] = {
        "recorded": ("recorded", []),
        "proven": ("proven", []),
        **{f"proven - {k}": ("proven", _matching(names, v)) for k, v in NEW_PROVEN.items()},
        "proven - all new proven features": ("proven", _matching(names, every_new)),
    }
    rows = []
    for name, (evidence, drop) in variants.items():
        if only and name not in only:
            continue
        params = train.model_copy(update={"drop_features": drop})
        result = train_and_evaluate(frame, people, params, p_true, fp.history_months, evidence)
        test = result.metrics["test"]
        m = test["risk_model"]
        rows.append(
            {
                "variant": name,
                "n_features": result.metrics["model"]["n_features"],
                "auc": m["auc"],
                "brier": m["brier"],
                "ece": m["ece"],
                f"precision_at_{train.capacity}": m[f"precision_at_{train.capacity}"],
                "auc_gap_to_oracle": test["oracle"]["auc"] - m["auc"] if "oracle" in test else float("nan"),
            }
        )
        print(rows[-1], flush=True)
    return pd.DataFrame(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--params", type=Path, default=Path("params.yaml"))
    ap.add_argument("--features", type=Path, default=Path("data/features"))
    ap.add_argument("--truth", type=Path, default=Path("data/extract/_truth"))
    ap.add_argument("--reid", type=Path, default=Path("data/reid"))
    ap.add_argument("--persons", type=Path, default=Path("data/linked/persons.parquet"))
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--variant", action="append", default=None, help="run only these variants (repeatable)")
    args = ap.parse_args()
    table = run(args.params, args.features, args.truth, args.reid, args.persons, args.variant)
    print(table.round(4).to_markdown(index=False))
    if args.json is not None:
        args.json.write_text(json.dumps(table.round(5).to_dict("records"), indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
