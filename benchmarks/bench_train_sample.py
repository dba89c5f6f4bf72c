"""At what person sample do the risk model's results stop changing? (``train.sample_persons``)

Fits the train stage's model (``models.risk_train.train_and_evaluate``, the ``train:``
params of the run's params.yaml) on nested, seeded samples of people of one features
build, with no bootstrap refits (the interval does not move the estimate, the ranking or
the metrics), and compares each with the reference: the largest size with the params'
seed. Out-of-time AUC, Brier and calibration error; on the panel date the rank
correlation of the risks, the share of the red tier (top ``--red``) and of red + amber
(top ``--red-amber``) that is the same people, and the change in a person's risk
(largest, 99th percentile, mean).

**The seed floor.** Two fits on the same people that differ only in ``train.seed`` (its
early-stopping hold-out and the trees' row and column subsamples) do not give the same
top of the list either. ``--seeds`` refits the sizes in ``--seed-sizes`` (default: the
reference) with each further seed. At the reference size that measures the churn no
sample can remove; a size has *stopped changing* when its churn against the reference
is no larger than that floor on every panel column (red same, red + amber same, 99th
percentile of the risk change). The verdict is written under the table.

Each fit's panel risks and row are kept in ``--cache`` (one Parquet and JSON per size
and seed), so a run that stops part way resumes where it stopped, and the tables are
rewritten after every fit (partial results as they come)::

    python benchmarks/bench_train_sample.py --run benchmarks/runs/n200000 \
        --sizes 10000 20000 40000 60000 100000 --seeds 1 --seed-sizes 100000 20000 \
        --cache /tmp/ts200k --out /tmp/ts200k/train_sample.md
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sample_plan import (  # benchmarks/sample_plan.py
    add_sample_arguments,
    fit_order,
    keep_fit,
    read_fit,
    write_results,
)
from scipy.stats import spearmanr

from features import FeatureParams
from features.partitions import read_features
from iom_config import load_params
from models.risk_params import TrainParams
from models.risk_train import train_and_evaluate
from pipelines.train import read_truth

ROOT = Path(__file__).resolve().parent.parent
RESULT = ROOT / "benchmarks" / "results" / "train_sample.md"
PANEL_COLUMNS = ("red_same", "red_amber_same", "p99_abs_risk_change")


def compare_panels(cur: pd.Series, ref: pd.Series, red: int, red_amber: int) -> dict[str, float]:
    """How far one fit's panel risks are from another's (both indexed by ``pseudo_id``).

    Rank correlation, the share of the top ``red`` and top ``red_amber`` that is the same
    people, and the absolute change in a person's risk: largest, 99th percentile, mean.
    A person missing from ``cur`` counts as a change of ``nan`` (none are: every fit
    scores the same panel).
    """
    cur = cur.reindex(ref.index)
    change = np.abs(cur.to_numpy() - ref.to_numpy())
    out: dict[str, float] = {"spearman_vs_ref": float(spearmanr(cur, ref, nan_policy="omit").statistic)}
    for k, name in ((red, "red_same"), (red_amber, "red_amber_same")):
        out[name] = len(set(cur.nlargest(k).index) & set(ref.nlargest(k).index)) / k
    out["max_abs_risk_change"] = float(np.nanmax(change))
    out["p99_abs_risk_change"] = float(np.nanquantile(change, 0.99))
    out["mean_abs_risk_change"] = float(np.nanmean(change))
    return out


def within_floor(row: dict[str, Any], floors: list[dict[str, Any]]) -> bool:
    """True when ``row``'s churn against the reference is no larger than the seed's: at
    least the worst floor's red and red + amber overlap, at most its 99th-percentile
    risk change."""
    return (
        row["red_same"] >= min(f["red_same"] for f in floors)
        and row["red_amber_same"] >= min(f["red_amber_same"] for f in floors)
        and row["p99_abs_risk_change"] <= max(f["p99_abs_risk_change"] for f in floors)
    )


def fit_one(
    n: int, seed: int, base: TrainParams, inputs: tuple[Any, ...], cache: Path | None
) -> tuple[dict[str, Any], pd.Series]:
    """One fit's metrics row and panel risks; read from ``cache`` when it holds them."""
    stem = f"n{n}_s{seed}"
    kept = read_fit(cache, stem)
    if kept is not None:
        return kept[0], kept[1]["risk_12m"]
    frame, people, p_true, history_months, evidence = inputs
    params = base.model_copy(update={"sample_persons": n, "n_bootstrap": 0, "seed": seed})
    load, t, cpu = os.getloadavg()[0], time.perf_counter(), time.process_time()
    result = train_and_evaluate(frame, people, params, p_true, history_months, evidence)
    wall, cpu = time.perf_counter() - t, time.process_time() - cpu
    m = result.metrics["test"]["risk_model"]
    s = result.metrics["model"]["sample"]
    row = {
        "sample_persons": n,
        "seed": seed,
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
    risk = result.scores.set_index("pseudo_id")["risk_12m"]
    keep_fit(cache, stem, row, risk.to_frame())
    return row, risk


def render(
    rows: list[dict[str, Any]],
    pairs: list[dict[str, Any]],
    ref_key: tuple[int, int],
    args: argparse.Namespace,
    command: str,
) -> str:
    """The Markdown: one row per fit against the reference, the same-size seed pairs, the verdict."""
    ref_n, ref_seed = ref_key
    head = (
        "| people sampled | seed | people used / of | person-dates used | trees | test AUC | Brier | ECE | "
        "AUC gap to oracle | panel Spearman vs ref | red same | red+amber same | "
        "risk change max / p99 / mean | fit s wall / CPU (load) |"
    )
    lines = [
        "# Risk model results against the person sample (`train.sample_persons`)",
        "",
        f"Features of `{args.run}` (all as-of dates), the `train:` params of its params.yaml with "
        "`n_bootstrap: 0`, nested seeded samples of people (the trees grow on the training and "
        "validation dates of the sampled people; calibration, test and panel use everyone). Panel "
        f"columns compare with the reference ({ref_n:,} people, seed {ref_seed}): rank correlation of "
        f"the panel risks, the share of the top {args.red} (red) and top {args.red_amber} (red + amber) "
        "that are the same people, and the change in one person's risk (probability). "
        f"Written by `{command}`.",
        "",
        head,
        "|" + "---|" * (head.count("|") - 1),
    ]
    for r in sorted(rows, key=lambda r: (r["seed"] != ref_seed, r["sample_persons"], r["seed"])):
        gap = "-" if r["gap_to_oracle"] is None else f"{r['gap_to_oracle']:.4f}"
        lines.append(
            f"| {r['sample_persons']:,} | {r['seed']} | {r['persons_used']:,} / {r['persons']:,} "
            f"| {r['person_dates_used']:,} "
            f"| {r['n_trees']} | {r['auc']:.4f} | {r['brier']:.4f} | {r['ece']:.4f} | {gap} "
            f"| {r['spearman_vs_ref']:.4f} | {r['red_same']:.2f} | {r['red_amber_same']:.2f} "
            f"| {r['max_abs_risk_change']:.3f} / {r['p99_abs_risk_change']:.4f} / "
            f"{r['mean_abs_risk_change']:.4f} | {r['fit_s']:,.0f} / {r['cpu_s']:,.0f} ({r['load']}) |"
        )
    if pairs:
        lines += [
            "",
            "Same size, other seed (a different sample of people where the size is below everyone, "
            "and a different early-stopping hold-out and subsampling):",
            "",
            "| people sampled | seeds | panel Spearman | red same | red+amber same | "
            "risk change max / p99 / mean |",
            "|---|---|---|---|---|---|",
        ]
        for p in pairs:
            lines.append(
                f"| {p['sample_persons']:,} | {p['seed']} vs {ref_seed} | {p['spearman_vs_ref']:.4f} "
                f"| {p['red_same']:.2f} | {p['red_amber_same']:.2f} | {p['max_abs_risk_change']:.3f} / "
                f"{p['p99_abs_risk_change']:.4f} / {p['mean_abs_risk_change']:.4f} |"
            )
    floors = [r for r in rows if r["sample_persons"] == ref_n and r["seed"] != ref_seed]
    if floors:
        sampled = sorted(
            (r for r in rows if r["seed"] == ref_seed and r["sample_persons"] != ref_n),
            key=lambda r: r["sample_persons"],
        )
        ok = [r["sample_persons"] for r in sampled if within_floor(r, floors)]
        worst = {
            "red_same": min(f["red_same"] for f in floors),
            "red_amber_same": min(f["red_amber_same"] for f in floors),
            "p99": max(f["p99_abs_risk_change"] for f in floors),
        }
        verdict = (
            f"the smallest size measured whose churn is within it is **{min(ok):,}**"
            if ok
            else "**no smaller size measured is within it**"
        )
        lines += [
            "",
            f"Seed floor (reference size, other seed): red same {worst['red_same']:.2f}, red + amber same "
            f"{worst['red_amber_same']:.2f}, 99th percentile risk change {worst['p99']:.4f}; {verdict}.",
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_sample_arguments(ap, "train.seed", RESULT)
    ap.add_argument("--red", type=int, default=100)
    ap.add_argument("--red-amber", type=int, default=300)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    command = "python benchmarks/bench_train_sample.py " + " ".join(sys.argv[1:])
    run = args.run
    params_path = run / "params.yaml"
    base = load_params("train", TrainParams, params_path)
    fp = load_params("features", FeatureParams, params_path)
    frame = read_features(run / "data" / "features")
    people = pd.read_parquet(run / "data/linked/persons.parquet", columns=["pseudo_id", "sex", "ethnicity"])
    p_true = read_truth(frame, run / "data/extract/_truth", run / "data/reid")
    inputs = (frame, people, p_true, fp.history_months, fp.evidence)

    ref_key, order = fit_order(args.sizes, args.seeds, args.seed_sizes, base.seed)
    done: dict[tuple[int, int], tuple[dict[str, Any], pd.Series]] = {}
    for key in order:
        done[key] = fit_one(key[0], key[1], base, inputs, args.cache)
        print(json.dumps(done[key][0]), flush=True)
        ref = done[ref_key][1]
        rows, pairs = [], []
        for (n, s), (row, risk) in done.items():
            rows.append({**row, **compare_panels(risk, ref, args.red, args.red_amber)})
            if s != base.seed and n != ref_key[0] and (n, base.seed) in done:
                same = compare_panels(risk, done[(n, base.seed)][1], args.red, args.red_amber)
                pairs.append({"sample_persons": n, "seed": s, **same})
        write_results(args.out, rows, pairs, render(rows, pairs, ref_key, args, command))
    print(args.out)


if __name__ == "__main__":
    main()
