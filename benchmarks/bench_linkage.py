"""Benchmark the link stage core on a scaled synthetic identity set: rows/s, seconds, peak RSS.

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_linkage.py --nominals 20000
    .venv/bin/python benchmarks/bench_linkage.py --nominals 200000 --health-housing-rows 1000000

The identity set (``linkage.synthetic``) has nominals, prison and probation records
(some without a PNC ID) and health and housing records, half of whose ids belong to
people who are not nominals (a fifth of those relatives of a nominal), with typos,
nicknames, day/month swaps, maiden names, missing values and moved postcodes. Its
noise is harsher than the simulator's default, so precision and recall here are a
floor. ``link_extract`` runs in a child process, so peak RSS excludes the generator.
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

from linkage.synthetic import synthetic_extract

ROWS_PER_ID = 2.5
OUTSIDER_RATIO = 1.0


def generate(nominals: int, health_housing_rows: int | None, seed: int, folder: Path) -> dict[str, int]:
    """Write a scaled synthetic identity set as Parquet into ``folder``; return row counts."""
    shares = {"health_share": 0.3, "housing_share": 0.25}
    if health_housing_rows is not None:
        # rows = (health + housing shares) x nominals x (1 + outsiders) x rows per id
        per_source = health_housing_rows / (2 * nominals * (1 + OUTSIDER_RATIO) * ROWS_PER_ID)
        if per_source > 1:
            raise SystemExit(
                f"need more nominals for {health_housing_rows:,} rows (at most 1 id per nominal)"
            )
        shares = {"health_share": per_source, "housing_share": per_source}
    tables, truth = synthetic_extract(
        nominals,
        np.random.default_rng(seed),
        outsider_ratio=OUTSIDER_RATIO,
        rows_per_id=ROWS_PER_ID,
        **shares,
    )
    for name, frame in tables.items():
        frame.to_parquet(folder / f"{name}.parquet")
    truth.to_parquet(folder / "truth.parquet")
    return {name: len(frame) for name, frame in tables.items()}


def link_child(folder: Path) -> None:
    """Child process: link the tables in ``folder``, print timings and peak RSS as JSON."""
    from linkage import LinkParams, link_extract

    tables = {p.stem: pd.read_parquet(p) for p in folder.glob("*.parquet") if p.stem != "truth"}
    truth = pd.read_parquet(folder / "truth.parquet")
    started = time.perf_counter()
    result = link_extract(tables, LinkParams(), b"benchmark-key-0123456789", truth)
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rows = len(tables["health_episodes"]) + len(tables["housing_events"])
    print(
        json.dumps(
            {
                "seconds": round(seconds, 1),
                "health_housing_rows": rows,
                "rows_per_second": round(rows / seconds),
                "peak_rss_mib": round(peak_kib / 1024),
                "blocked_pairs": result.metrics["splink"]["blocked_pairs"],
                "clerical_review_pairs": result.metrics["clerical_review"]["pairs"],
                "truth": {
                    s: {k: result.metrics["truth"][s][k] for k in ("precision", "recall")}
                    for s in ("probation", "health", "housing")
                },
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--nominals", type=int, default=20_000)
    parser.add_argument("--health-housing-rows", type=int, default=None, help="scale health+housing to this")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        link_child(args.child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        counts = generate(args.nominals, args.health_housing_rows, args.seed, folder)
        print(f"generated in {time.perf_counter() - started:.1f} s: {counts}", file=sys.stderr)
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(folder)], check=True, capture_output=True, text=True
        )
        print(out.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
