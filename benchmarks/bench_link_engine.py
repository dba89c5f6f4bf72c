"""Time the link stage on one engine: wall time, peak RSS of the process tree (the JVM too).

Usage (from the repository root; params as for ``iom link``, with ``engine:`` set)::

    .venv/bin/python benchmarks/bench_link_engine.py --validated data/validated \\
        --params /tmp/params_spark.yaml --work /tmp/link-spark --label "20k spark local[2]"

Runs ``iom link`` under ``/usr/bin/time -v`` (its "Maximum resident set size" is the
largest single process: Python or the JVM) and samples the summed RSS of the whole process
tree every 0.5 s (Python, the Spark JVM and its Python workers together). Prints one JSON
record and appends it to ``benchmarks/results/link_engines.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from proctree import tree_rss  # benchmarks/proctree.py (scripts run from this folder)

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "link_engines.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--validated", type=Path, required=True)
    parser.add_argument("--params", type=Path, required=True)
    parser.add_argument("--work", type=Path, required=True, help="outputs go here (emptied first)")
    parser.add_argument("--label", required=True)
    args = parser.parse_args()

    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    iom = [sys.executable, "-m", "pipelines.cli", "link"]
    cmd = [
        "/usr/bin/time", "-v", *iom,
        "--validated", str(args.validated), "--out", str(args.work / "linked"),
        "--reid", str(args.work / "reid"), "--metrics", str(args.work / "linkage.json"),
        "--reports", str(args.work / "reports"), "--decisions", str(args.work / "clerical"),
        "--params", str(args.params),
    ]  # fmt: skip
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "PYTHONHASHSEED": "0"}
    started = time.perf_counter()
    with (args.work / "stderr.log").open("w") as err:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err)
        peak = 0
        while proc.poll() is None:
            peak = max(peak, tree_rss(proc.pid) // 1024)
            time.sleep(0.5)
    wall = time.perf_counter() - started
    log = (args.work / "stderr.log").read_text(errors="replace")
    largest = re.search(r"Maximum resident set size \(kbytes\): (\d+)", log)
    record = {
        "label": args.label,
        "status": proc.returncode,
        "wall_s": round(wall, 1),
        "peak_rss_tree_gib": round(peak / 2**20, 2),
        "peak_rss_largest_process_gib": round(int(largest.group(1)) / 2**20, 2) if largest else None,
        "metrics": json.loads((args.work / "linkage.json").read_text()) if proc.returncode == 0 else None,
    }
    print(json.dumps(record))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
