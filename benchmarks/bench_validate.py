"""Benchmark validation: seconds and peak memory to validate a simulated extract.

Simulates an extract of each size (untimed here; see bench_simulate.py), then validates
it in a fresh process so peak RSS is validation's alone.

    python benchmarks/bench_validate.py --sizes 20000 1000000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SIMULATE = """
import sys
from pathlib import Path
from simulator import SimulateParams, simulate_extract
simulate_extract(SimulateParams(nominals=int(sys.argv[1])), Path(sys.argv[2]), show_progress=False)
"""

VALIDATE = """
import json, resource, sys, time
from pathlib import Path
from validation import ValidateParams, validate_extract
extract = Path(sys.argv[1])
t = time.perf_counter()
result = validate_extract(extract, ValidateParams(extract=str(extract)))
elapsed = time.perf_counter() - t
rows = sum(len(df) for df in result.accepted.values()) + sum(len(df) for df in result.rejects.values())
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
print(json.dumps({"seconds": elapsed, "rows": rows, "peak_gib": peak}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[20_000])
    ap.add_argument("--extract", type=Path, help="validate this existing extract instead of simulating")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/validate.json"))
    args = ap.parse_args()
    results = []
    for n in [0] if args.extract else args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            extract = args.extract or Path(tmp) / "extract"
            if not args.extract:
                subprocess.run([sys.executable, "-c", SIMULATE, str(n), str(extract)], check=True)
            res = subprocess.run(
                [sys.executable, "-c", VALIDATE, str(extract)], check=True, capture_output=True, text=True
            )
        if args.extract:
            n = json.loads((extract / "manifest.json").read_text())["row_counts"]["police_nominals"]
        r = {"nominals": n, **json.loads(res.stdout.strip().splitlines()[-1])}
        r["rows_per_second"] = r["rows"] / r["seconds"]
        results.append(r)
        print(
            f"{n:>9,} nominals: {r['rows']:>11,} rows validated in {r['seconds']:6.1f} s "
            f"({r['rows_per_second']:,.0f} rows/s), peak {r['peak_gib']:.2f} GiB",
            flush=True,
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps({"when": time.strftime("%Y-%m-%d %H:%M"), "results": results}, indent=2) + "\n"
    )


if __name__ == "__main__":
    main()
