"""Benchmark the typology model at scale: fit and assignment seconds, peak RSS.

Usage (from the repository root, after ``make repro`` wrote ``data/features``)::

    .venv/bin/python benchmarks/bench_typology.py
    .venv/bin/python benchmarks/bench_typology.py --people 20000 200000 1000000

Each size resamples the default extract's training rows (one per person) with
replacement, so the people are realistic and only the count changes. For each size a
child process fits one latent class model with the params' settings at a fixed ``k``
(the chosen ``k`` of ``metrics/typology.json``; the stage fits ``k_max - k_min + 1``
such models plus ``n_bootstrap`` refits each, so its time is that multiple of this
one) and assigns every person, and reports seconds and its own peak RSS. Sizes above
``typology.fit_sample`` are fitted on that sample, as the stage does.
"""

from __future__ import annotations

import argparse
import json
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
from models.typology import TypologyParams, sample_for_fit, select_training_rows, typology_inputs

RESULTS = Path(__file__).resolve().parent / "results" / "typology.json"


def child(rows_path: Path, k: int, params_path: Path) -> dict[str, float]:
    """Fit at ``k`` and assign everyone; seconds and peak RSS of this process."""
    params = load_params("typology", TypologyParams, params_path)
    rows = pd.read_parquet(rows_path)
    model = params.estimator()
    t0 = time.perf_counter()
    inputs = typology_inputs(rows)
    fit_rows = sample_for_fit(inputs, params.fit_sample, params.seed)
    mixture = model._mixture(k, params.seed).fit(fit_rows)
    fit_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    proba = mixture.predict_proba(inputs)
    assign_s = time.perf_counter() - t1
    return {
        "people": len(rows),
        "fitted_on": len(fit_rows),
        "k": k,
        "em_iterations": mixture.n_iter_,
        "fit_seconds": round(fit_s, 2),
        "assign_seconds": round(assign_s, 2),
        "assign_per_100k_seconds": round(assign_s / len(rows) * 1e5, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "classes_used": int((np.bincount(proba.argmax(axis=1), minlength=k) > 0).sum()),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--people", type=int, nargs="+", default=[20_000, 200_000, 1_000_000])
    ap.add_argument("--features", type=Path, default=Path("data/features"))
    ap.add_argument("--params", type=Path, default=Path("params.yaml"))
    ap.add_argument("--metrics", type=Path, default=Path("metrics/typology.json"))
    ap.add_argument("--child", nargs=2, metavar=("ROWS", "K"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(Path(args.child[0]), int(args.child[1]), args.params)))
        return
    k = int(json.loads(args.metrics.read_text())["n_clusters"])
    base = select_training_rows(read_features(args.features))
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.people:
            idx = np.random.default_rng(n).integers(0, len(base), n)
            path = Path(tmp) / f"rows_{n}.parquet"
            base.iloc[idx].reset_index(drop=True).to_parquet(path)
            out = subprocess.run(
                [sys.executable, __file__, "--params", str(args.params), "--child", str(path), str(k)],
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
