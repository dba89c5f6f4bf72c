"""At what person sample do the risk model's results stop changing? (``train.sample_persons``)

Fits the train stage's model (``models.risk_train.train_and_evaluate``, the ``train:``
params of ``--params``) on nested, seeded samples of people of one features build, with
no bootstrap refits (the interval does not move the estimate, the ranking or the
metrics), and compares each with the largest sample: out-of-time AUC, Brier and
calibration error, and on the panel date the rank correlation of the risks, the share of
the red tier (top ``--red``) and of red + amber (top ``--red-amber``) that is the same
people, and the largest change in a person's risk. Writes
``benchmarks/results/train_sample.md`` (and ``.json``)::

    python benchmarks/bench_train_sample.py --run benchmarks/runs/n1000000 \
        --sizes 12500 25000 50000 100000 200000
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from features import FeatureParams
from features.partitions import read_features
from iom_config import load_params
from models.risk_params import TrainParams
from models.risk_train import train_and_evaluate
from pipelines.train import read_truth

ROOT = Path(__file__).resolve().parent.parent
RESULT = ROOT / "benchmarks" / "results" / "train_sample.md"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--run", type=Path, required=True, help="a pipeline folder (data/features, data/linked ...)"
    )
    ap.add_argument(
        "--sizes", type=int, nargs="+", required=True, help="people; the largest is the reference"
    )
    ap.add_argument("--red", type=int, default=100)
    ap.add_argument("--red-amber", type=int, default=300)
    ap.add_argument("--out", type=Path, default=RESULT, help="the Markdown table (and .json beside it)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    run = args.run
    params_path = run / "params.yaml"
    base = load_params("train", TrainParams, params_path)
    fp = load_params("features", FeatureParams, params_path)
    frame = read_features(run / "data" / "features")
    people = pd.read_parquet(run / "data/linked/persons.parquet", columns=["pseudo_id", "sex", "ethnicity"])
    p_true = read_truth(frame, run / "data/extract/_truth", run / "data/reid")
    rows = []
    panels: dict[int, pd.Series] = {}
    for n in sorted(args.sizes):
        params = base.model_copy(update={"sample_persons": n, "n_bootstrap": 0})
        load, t, cpu = os.getloadavg()[0], time.perf_counter(), time.process_time()
        result = train_and_evaluate(frame, people, params, p_true, fp.history_months, fp.evidence)
        wall, cpu = time.perf_counter() - t, time.process_time() - cpu
        m = result.metrics["test"]["risk_model"]
        s = result.metrics["model"]["sample"]
        rows.append(
            {
                "sample_persons": n,
                "persons_used": s["persons_used"],
                "persons": s["persons"],
                "person_dates_used": s["person_dates_used"],
                "n_trees": result.metrics["model"]["n_trees"],
                "auc": m["auc"],
                "brier": m["brier"],
                "ece": m["ece"],
                "gap_to_oracle": result.metrics["goals"].get("auc_gap_to_oracle"),
                "fit_s": round(wall, 1),
                "cpu_s": round(cpu, 1),
                "load": round(load, 2),
            }
        )
        panels[n] = result.scores.set_index("pseudo_id")["risk_12m"]
        print(json.dumps(rows[-1]), flush=True)
    ref_n = max(panels)
    ref = panels[ref_n]
    for r in rows:
        cur = panels[r["sample_persons"]].reindex(ref.index)
        r["spearman_vs_ref"] = float(spearmanr(cur, ref).statistic)
        for k, name in ((args.red, "red_same"), (args.red_amber, "red_amber_same")):
            r[name] = len(set(cur.nlargest(k).index) & set(ref.nlargest(k).index)) / k
        r["max_abs_risk_change"] = float(np.abs(cur - ref).max())
    out = args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    head = (
        "| people sampled | people used / of | person-dates used | trees | test AUC | Brier | ECE | "
        f"AUC gap to oracle | panel Spearman vs {ref_n:,} | red same | red+amber same | "
        "max risk change | fit s wall / CPU (load) |"
    )
    lines = [
        "# Risk model results against the person sample (`train.sample_persons`)",
        "",
        f"Features of `{run}` (all as-of dates), the `train:` params "
        "of its params.yaml with `n_bootstrap: 0` (the interval does not move the estimate), "
        "nested seeded samples of people (the trees grow on the training and validation dates "
        "of the sampled people; calibration, test and panel use everyone). Panel columns compare "
        f"with the largest sample ({ref_n:,}): rank correlation of the panel risks, the share of "
        f"the top {args.red} (red) and top {args.red_amber} (red + amber) that are the same people, "
        "and the largest change in one person's risk (probability). Written by "
        f"`python benchmarks/bench_train_sample.py --run {run} --sizes {' '.join(map(str, args.sizes))}`.",
        "",
        head,
        "|" + "---|" * (head.count("|") - 1),
    ]
    for r in rows:
        gap = "-" if r["gap_to_oracle"] is None else f"{r['gap_to_oracle']:.4f}"
        lines.append(
            f"| {r['sample_persons']:,} | {r['persons_used']:,} / {r['persons']:,} "
            f"| {r['person_dates_used']:,} "
            f"| {r['n_trees']} | {r['auc']:.4f} | {r['brier']:.4f} | {r['ece']:.4f} | {gap} "
            f"| {r['spearman_vs_ref']:.4f} | {r['red_same']:.2f} | {r['red_amber_same']:.2f} "
            f"| {r['max_abs_risk_change']:.3f} | {r['fit_s']:,.0f} / {r['cpu_s']:,.0f} ({r['load']}) |"
        )
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(out)


if __name__ == "__main__":
    main()
