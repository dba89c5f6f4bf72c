"""Benchmark the simulator: nominals per second and peak memory, at several sizes.

Each size runs in its own process so peak RSS is that run's alone. Compare ratios
within one run (the machines are shared and noisy).

    python benchmarks/bench_simulate.py --sizes 20000 100000 1000000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
import json, resource, sys, time
from pathlib import Path
from simulator import SimulateParams, simulate_extract
n, out, fmt = int(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
t = time.perf_counter()
summary = simulate_extract(SimulateParams(nominals=n, format=fmt), out, show_progress=False)
elapsed = time.perf_counter() - t
rows = sum(summary["row_counts"].values())
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
print(json.dumps({"nominals": n, "format": fmt, "seconds": elapsed, "rows": rows, "peak_gib": peak}))
"""


def run_one(n: int, fmt: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        res = subprocess.run(
            [sys.executable, "-c", CHILD, str(n), str(Path(tmp) / "extract"), fmt],
            check=True,
            capture_output=True,
            text=True,
        )
    out = json.loads(res.stdout.strip().splitlines()[-1])
    out["nominals_per_second"] = n / out["seconds"]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[20_000, 100_000])
    ap.add_argument("--format", default="csv", choices=["csv", "parquet"])
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/simulate.json"))
    args = ap.parse_args()
    results = []
    for n in args.sizes:
        r = run_one(n, args.format)
        results.append(r)
        print(
            f"{n:>9,} nominals: {r['seconds']:7.1f} s, {r['nominals_per_second']:8.0f} nominals/s, "
            f"{r['rows']:>11,} rows, peak {r['peak_gib']:.2f} GiB",
            flush=True,
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps({"when": time.strftime("%Y-%m-%d %H:%M"), "results": results}, indent=2) + "\n"
    )


if __name__ == "__main__":
    main()
