"""Benchmark the typology stage's fit and assignment at scale: seconds, peak RSS, load.

Usage (from the repository root, after ``make repro`` wrote ``data/features``)::

    .venv/bin/python benchmarks/bench_typology.py
    .venv/bin/python benchmarks/bench_typology.py --people 20000 200000 1000000

Each size resamples the default extract's people with replacement, each draw with all
of that person's as-of dates and a fresh ``pseudo_id``, so the people and their
histories are realistic and only the count changes. For each size a child process
times what the stage does: the whole fit of :class:`models.TypologyModel` with the
params' settings (every candidate ``k`` from ``k_min`` to ``k_max`` with its
``n_bootstrap`` refits, in ``n_jobs`` processes; the null fits; the one-cluster fit;
on a ``fit_sample`` of the people, as the stage does), then the assignment of every
person-date (with ``pool_history`` and ``adapt_priors`` as set). It reports seconds,
its own peak RSS and the largest of its reaped child processes' (``ru_maxrss`` of
``RUSAGE_CHILDREN``: joblib's workers are separate processes), and the machine's load
average, since on a shared machine the seconds mean little without it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

# Run as a script from anywhere: make the repository's packages importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from features.partitions import read_features
from iom_config import load_params
from models.typology import TypologyParams, assign_frame, select_training_rows

RESULTS = Path(__file__).resolve().parent / "results" / "typology.json"


def child(rows_path: Path, params_path: Path) -> dict[str, object]:
    """Fit the stage's model and assign every row; seconds, peak RSS and load."""
    params = load_params("typology", TypologyParams, params_path)
    rows = pd.read_parquet(rows_path)
    train = select_training_rows(rows)
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    model = params.estimator().fit(train)
    fit_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    assigned = assign_frame(model, rows)
    assign_s = time.perf_counter() - t1
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "people_drawn": int(rows["pseudo_id"].nunique()),
        "people_with_a_training_date": len(train),
        "person_dates": len(rows),
        "fitted_on": min(len(train), params.fit_sample or len(train)),
        "k_searched": [params.k_min, params.k_max],
        "n_bootstrap": params.n_bootstrap,
        "n_jobs": params.n_jobs,
        "k_chosen": int(model.n_clusters_),
        "fit_seconds": round(fit_s, 2),
        "assign_seconds": round(assign_s, 2),
        "assign_per_100k_person_dates_seconds": round(assign_s / len(rows) * 1e5, 3),
        "peak_rss_mb": round(own, 1),
        "peak_rss_children_mb": round(workers, 1),
        "load_average_1m_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        "cpus": os.cpu_count(),
        "named_share": round(float((assigned["typology"] != "unassigned").mean()), 4),
    }


def resample(features: pd.DataFrame, n: int) -> pd.DataFrame:
    """``n`` people drawn with replacement, each with all their as-of dates and a new id."""
    people = features["pseudo_id"].unique()
    draw = people[np.random.default_rng(n).integers(0, len(people), n)]
    pick = pd.DataFrame({"pseudo_id": draw, "draw": np.arange(n)})
    rows = pick.merge(features, on="pseudo_id", how="inner", sort=False)
    rows["pseudo_id"] = "b" + rows["draw"].astype(str).str.zfill(8)
    return rows.drop(columns="draw").reset_index(drop=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--people", type=int, nargs="+", default=[20_000, 200_000])
    ap.add_argument("--features", type=Path, default=Path("data/features"))
    ap.add_argument("--params", type=Path, default=Path("params.yaml"))
    ap.add_argument("--child", metavar="ROWS", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(Path(args.child), args.params)))
        return
    features = read_features(args.features)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.people:
            path = Path(tmp) / f"rows_{n}.parquet"
            resample(features, n).to_parquet(path)
            out = subprocess.run(
                [sys.executable, __file__, "--params", str(args.params), "--child", str(path)],
                check=True,
                capture_output=True,
                text=True,
            )
            res = json.loads(out.stdout.strip().splitlines()[-1])
            print(json.dumps(res), flush=True)
            results.append(res)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
