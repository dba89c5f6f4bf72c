"""Run every benchmark at its default sizes (`make bench`). Figures land in benchmarks/results/."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHES = [
    "bench_simulate.py",
    "bench_validate.py",
    "bench_linkage.py",
    "bench_features.py",
    "bench_typology.py",
]


def main() -> None:
    for name in BENCHES:
        if (HERE / name).exists():
            print(f"== {name}", flush=True)
            subprocess.run([sys.executable, str(HERE / name)], check=True)


if __name__ == "__main__":
    main()
