"""How well could *any* model recover the simulator's typologies from the features?

The typology goals (ARI >= 0.75 against the truth, precision >= 0.8 per seed typology)
are judged on each person's training row. This script measures the supervised ceiling:
a gradient-boosted classifier trained ON the true typology (5-fold cross-validation,
person-level folds), first on the typology model's own inputs, then on all features.
An unsupervised model cannot beat what a classifier that sees the answers reaches, so
if the ceiling is below a goal, the goal is out of reach for a reason in the data.
It also prints the evidence for why: which true typologies are confused, and what the
confused ones look like at their training dates.

Run from the repository root on a simulated extract's outputs::

    python benchmarks/typology_ceiling.py --features data/features \\
        --truth data/extract/_truth --reid data/reid
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import adjusted_rand_score, precision_recall_fscore_support
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from features import feature_names
from features.partitions import read_features
from models.typology import select_training_rows, typology_inputs
from models.typology_naming import SEED_TYPOLOGIES
from pipelines.typology import truth_by_pseudo_id

NOT_FEATURES = ("pseudo_id", "as_of_date", "label", "label_complete", "is_panel_date", "release_due")


def ceiling(X: pd.DataFrame, y: np.ndarray, seed: int) -> tuple[np.ndarray, dict[str, object]]:
    """Cross-validated predictions of a classifier trained on the truth, and their scores."""
    clf = HistGradientBoostingClassifier(max_iter=300, learning_rate=0.05, random_state=seed)
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    pred = cross_val_predict(clf, X, y, cv=folds)
    p, r, _, _ = precision_recall_fscore_support(y, pred, labels=list(SEED_TYPOLOGIES), zero_division=0)
    per = {
        t: {"precision": round(float(a), 3), "recall": round(float(b), 3)}
        for t, a, b in zip(SEED_TYPOLOGIES, p, r, strict=True)
    }
    return pred, {"ari": round(float(adjusted_rand_score(y, pred)), 4), "seed_typologies": per}


def evidence(rows: pd.DataFrame) -> pd.DataFrame:
    """What each true typology looks like at its training row (the signal available)."""
    f = rows
    out = pd.DataFrame(
        {
            "truth": f["true_typology"],
            "age": f["age"].astype(float),
            "recorded_12m": f["n_recorded_offences_12m"].astype(float),
            "custody_receptions": f["n_custody_episodes_all"].astype(float),
            "needs_assessed": f["need_total"].notna().astype(float),
            "attitudes_need": (f["need_attitudes"].astype("Float64").fillna(0) >= 1).astype(float),
            "mental_health_need": (f["need_emotional_wellbeing"].astype("Float64").fillna(0) >= 1).astype(
                float
            ),
        }
    )
    table = out.groupby("truth").mean().round(2)
    table.insert(0, "n", out.groupby("truth").size())
    return table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--features", type=Path, default=Path("data/features"))
    ap.add_argument("--truth", type=Path, default=Path("data/extract/_truth"))
    ap.add_argument("--reid", type=Path, default=Path("data/reid"))
    ap.add_argument(
        "--train-end", default=None, help="as params typology.train_end (default: last labelled date)"
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None, help="optional JSON of the results")
    args = ap.parse_args()

    frame = read_features(args.features)
    rows = select_training_rows(frame, pd.Timestamp(args.train_end) if args.train_end else None)
    rows = rows.merge(truth_by_pseudo_id(args.truth, args.reid), on="pseudo_id", how="inner")
    y = rows["true_typology"].astype(str).to_numpy()
    print(f"{len(rows):,} people, one training row each; true shares:")
    print(pd.Series(y).value_counts(normalize=True).round(3).to_string())

    results: dict[str, object] = {"n_people": len(rows)}
    inputs = typology_inputs(rows)
    _, results["typology_inputs"] = ceiling(inputs, y, args.seed)
    cols = [c for c in feature_names() if c in rows.columns and c not in NOT_FEATURES]
    every = rows[cols].apply(lambda s: s.astype("Float64").astype(float) if s.dtype != float else s)
    pred_all, results["all_features"] = ceiling(every, y, args.seed)
    print(
        f"\nSupervised ceiling, {len(inputs.columns)} typology inputs:",
        json.dumps(results["typology_inputs"]),
    )
    print(f"Supervised ceiling, all {len(cols)} features:", json.dumps(results["all_features"]))

    confusion = pd.crosstab(pd.Series(y, name="truth"), pd.Series(pred_all, name="predicted (all features)"))
    print("\nConfusion of the all-features classifier (rows: truth):")
    print(confusion.to_string())
    table = evidence(rows)
    print("\nWhat each true typology looks like at its training row (means):")
    print(table.to_string())
    results["confusion_all_features"] = {
        str(r): {str(c): int(v) for c, v in row.items()} for r, row in confusion.iterrows()
    }
    results["evidence"] = table.reset_index().to_dict(orient="records")
    if args.out:
        args.out.write_text(json.dumps(results, indent=2, default=float) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
