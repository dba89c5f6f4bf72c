"""At what fit sample do the typologies stop changing? (``typology.fit_sample``)

Fits the typology stage's model (``models.typology.fit_typology_model`` with the
``typology:`` params of the run's params.yaml: the k search with its bootstrap refits,
the null fits, the one-cluster fit) on seeded samples of ``--sizes`` people of one
features build (a size at or above everyone in the training window fits on everyone),
assigns every person-date as the stage does (``assign_typology``), and reports what the
stage's metrics report (``pipelines.typology.build_metrics``): the number of clusters
chosen, their bootstrap stability, the contradicted share of the panel, and on a
simulated extract the agreement (ARI) with the true typologies on the fit rows and at
the panel date. Each fit is also compared with the reference (the largest size, the
params' seed): the ARI between the two fits' typologies on the fit rows and at the panel
date, and the share of the panel given the same typology.

**The seed floor.** ``--seeds`` refits the sizes in ``--seed-sizes`` with each further
``typology.seed`` (another sample of people below everyone, other bootstrap refits and
k-means starts); two seeds at the same size show how much a fit changes for no reason
but chance. A size has stopped changing when its agreement with the reference is no
lower than that.

Each fit's assignments and row are kept in ``--cache`` (resumable), and the tables are
rewritten after every fit::

    python benchmarks/bench_typology_sample.py --run benchmarks/runs/n200000 \
        --sizes 10000 25000 50000 1000000 --seeds 7 --seed-sizes 25000 \
        --cache /tmp/typ200k --out /tmp/typ200k/typology_sample.md
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
from proctree import tree_cpu  # benchmarks/proctree.py (scripts run from this folder)
from sample_plan import (  # benchmarks/sample_plan.py
    add_sample_arguments,
    fit_order,
    keep_fit,
    read_fit,
    write_results,
)
from sklearn.metrics import adjusted_rand_score

from features.partitions import read_features
from iom_config import load_params
from models.typology import TypologyParams, assign_typology, fit_typology_model, select_training_rows
from models.typology_naming import SEED_TYPOLOGIES
from pipelines.typology import build_metrics, truth_by_pseudo_id

ROOT = Path(__file__).resolve().parent.parent
RESULT = ROOT / "benchmarks" / "results" / "typology_sample.md"
KEPT = ["typology", "cluster"]


def compare_assignments(cur: pd.DataFrame, ref: pd.DataFrame, at: np.ndarray) -> dict[str, float]:
    """Agreement of two fits' assignments of the same rows (same order) on the rows ``at``:
    ARI of the typology names, ARI of the clusters, and the share with the same name."""
    a, b = cur.loc[at], ref.loc[at]
    names_a, names_b = a["typology"].astype(str).to_numpy(), b["typology"].astype(str).to_numpy()
    return {
        "ari_typology": float(adjusted_rand_score(names_b, names_a)),
        "ari_cluster": float(adjusted_rand_score(b["cluster"].to_numpy(), a["cluster"].to_numpy())),
        "same_typology": float(np.mean(names_a == names_b)),
    }


def fit_one(
    n: int, seed: int, base: TypologyParams, inputs: tuple[Any, ...], cache: Path | None
) -> tuple[dict[str, Any], pd.DataFrame]:
    """One fit's row and its assignments (``KEPT`` columns, the sorted frame's order)."""
    stem = f"n{n}_s{seed}"
    cached = read_fit(cache, stem)
    if cached is not None:
        return cached
    frame, sorted_frame, train_rows, truth = inputs
    params = base.model_copy(update={"fit_sample": n, "seed": seed})
    # CPU of this process and its joblib workers (the k search's refits run there).
    load, t, cpu = os.getloadavg()[0], time.perf_counter(), tree_cpu(os.getpid())
    model = fit_typology_model(frame, params)
    fit_wall, fit_cpu = time.perf_counter() - t, tree_cpu(os.getpid()) - cpu
    assigned = assign_typology(model, frame)
    wall, cpu = time.perf_counter() - t, tree_cpu(os.getpid()) - cpu
    m = build_metrics(model, sorted_frame, assigned, train_rows, truth)
    truth_m = m.get("truth") or {}
    row = {
        "fit_sample": n,
        "seed": seed,
        "n_fit_people": min(n, int(train_rows.sum())),
        "n_train_people": int(train_rows.sum()),
        "structure_found": m["structure_found"],
        "n_clusters": m["n_clusters"],
        "stability": m["stability"],
        "contradicted": m["consistency_panel"]["contradicted_share"],
        "ari_fit_truth": (truth_m.get("fit_rows") or {}).get("ari_typology"),
        "ari_panel_truth": (truth_m.get("panel_date") or {}).get("ari_typology"),
        "shown_names": m["shown_names"],
        "fit_s": round(fit_wall, 1),
        "fit_cpu_s": round(fit_cpu, 1),
        "total_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "load": round(load, 2),
    }
    kept = assigned[KEPT].reset_index(drop=True)
    keep_fit(cache, stem, row, kept)
    return row, kept


def _num(v: float | None, fmt: str = ".4f") -> str:
    return "-" if v is None else format(v, fmt)


def render(
    rows: list[dict[str, Any]],
    pairs: list[dict[str, Any]],
    ref_key: tuple[int, int],
    args: argparse.Namespace,
    command: str,
) -> str:
    """The Markdown: one row per fit against the reference, then the same-size seed pairs."""
    ref_n, ref_seed = ref_key
    n_train = rows[0]["n_train_people"]
    head = (
        "| fit sample | seed | people fitted / of | k | seed typologies shown | stability | contradicted "
        "| ARI truth: fit rows "
        "| ARI truth: panel date | ARI vs ref: fit rows | ARI vs ref: panel | same typology at panel "
        "| fit s wall / CPU | fit + assign s wall / CPU (load) |"
    )
    lines = [
        "# Typologies against the fit sample (`typology.fit_sample`)",
        "",
        f"Features of `{args.run}` (every as-of date), the `typology:` params of its params.yaml with "
        f"`fit_sample` and `seed` varied; {n_train:,} people in the training window (one fit row each). "
        "Each fit assigns every person-date as the stage does. The `vs ref` columns compare with the "
        f"reference fit ({min(ref_n, n_train):,} people, seed {ref_seed}): the ARI between the two fits' "
        "typology names on the fit rows and at the panel date, and the share of the panel given the same "
        f"typology. Written by `{command}`.",
        "",
        head,
        "|" + "---|" * (head.count("|") - 1),
    ]
    for r in sorted(rows, key=lambda r: (r["seed"] != ref_seed, r["fit_sample"], r["seed"])):
        shown = sum(t in r["shown_names"] for t in SEED_TYPOLOGIES)
        lines.append(
            f"| {r['fit_sample']:,} | {r['seed']} | {r['n_fit_people']:,} / {r['n_train_people']:,} "
            f"| {r['n_clusters']} | {shown} of {len(SEED_TYPOLOGIES)} "
            f"| {r['stability']:.3f} | {r['contradicted']:.4f} "
            f"| {_num(r['ari_fit_truth'])} | {_num(r['ari_panel_truth'])} "
            f"| {r['fit']['ari_typology']:.4f} | {r['panel']['ari_typology']:.4f} "
            f"| {r['panel']['same_typology']:.3f} "
            f"| {r['fit_s']:,.0f} / {r['fit_cpu_s']:,.0f} | {r['total_s']:,.0f} / {r['cpu_s']:,.0f} "
            f"({r['load']}) |"
        )
    if pairs:
        lines += [
            "",
            "Same size, other seed (another sample of people below everyone, other bootstrap refits "
            "and k-means starts):",
            "",
            "| fit sample | seeds | k | ARI: fit rows | ARI: panel | same typology at panel |",
            "|---|---|---|---|---|---|",
        ]
        for p in pairs:
            lines.append(
                f"| {p['fit_sample']:,} | {p['seed']} vs {ref_seed} | {p['k']} "
                f"| {p['fit']['ari_typology']:.4f} | {p['panel']['ari_typology']:.4f} "
                f"| {p['panel']['same_typology']:.3f} |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_sample_arguments(ap, "typology.seed", RESULT)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    command = "python benchmarks/bench_typology_sample.py " + " ".join(sys.argv[1:])
    run = args.run
    base = load_params("typology", TypologyParams, run / "params.yaml")
    frame = read_features(run / "data" / "features")
    # As the stage does: the features aligned with the (sorted) assignments, and the fit rows.
    sorted_frame = frame.sort_values(["as_of_date", "pseudo_id"], kind="stable").reset_index(drop=True)
    train_end = pd.Timestamp(base.train_end) if base.train_end else None
    fit_keys = select_training_rows(sorted_frame, train_end)[["pseudo_id", "as_of_date"]].assign(_fit=True)
    train_rows = sorted_frame[["pseudo_id", "as_of_date"]].merge(fit_keys, how="left")["_fit"].notna()
    truth_dir, reid = run / "data/extract/_truth", run / "data/reid"
    truth = truth_by_pseudo_id(truth_dir, reid) if (truth_dir / "persons.parquet").exists() else None
    inputs = (frame, sorted_frame, train_rows, truth)
    at_fit = train_rows.to_numpy(dtype=bool)
    at_panel = sorted_frame["is_panel_date"].astype("boolean").fillna(False).to_numpy(dtype=bool)

    ref_key, order = fit_order(args.sizes, args.seeds, args.seed_sizes, base.seed)
    done: dict[tuple[int, int], tuple[dict[str, Any], pd.DataFrame]] = {}
    for key in order:
        done[key] = fit_one(key[0], key[1], base, inputs, args.cache)
        print(json.dumps(done[key][0]), flush=True)
        ref = done[ref_key][1]
        rows, pairs = [], []
        for (n, s), (row, got) in done.items():
            rows.append(
                {
                    **row,
                    "fit": compare_assignments(got, ref, at_fit),
                    "panel": compare_assignments(got, ref, at_panel),
                }
            )
            if s != base.seed and (n, base.seed) in done and n != ref_key[0]:
                other = done[(n, base.seed)][1]
                pairs.append(
                    {
                        "fit_sample": n,
                        "seed": s,
                        "k": f"{row['n_clusters']} vs {done[(n, base.seed)][0]['n_clusters']}",
                        "fit": compare_assignments(got, other, at_fit),
                        "panel": compare_assignments(got, other, at_panel),
                    }
                )
        write_results(args.out, rows, pairs, render(rows, pairs, ref_key, args, command))
    print(args.out)


if __name__ == "__main__":
    main()
