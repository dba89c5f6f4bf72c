"""benchmarks/proctree.py: the CPU of a process tree counts live and reaped children."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

SPEC = importlib.util.spec_from_file_location(
    "proctree", Path(__file__).resolve().parents[1] / "benchmarks" / "proctree.py"
)
assert SPEC is not None and SPEC.loader is not None
proctree = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(proctree)

# A child that spends 0.5 s of CPU, says so, then waits (alive, like a joblib worker).
BUSY = (
    "import sys, time\n"
    "while time.process_time() < 0.5:\n    pass\n"
    "print('done', flush=True)\n"
    "sys.stdin.read()\n"
)


# Measured from a fresh process whose only descendant is that child: the test process's own
# tree (a session's Spark JVM, an MLflow server, their workers coming and going) would move
# the readings on its own.
MEASURE = (
    "import os, subprocess, sys\n"
    "sys.path.insert(0, sys.argv[1])\n"
    "import proctree\n"
    "before = proctree.tree_cpu(os.getpid())\n"
    "child = subprocess.Popen([sys.executable, '-c', sys.argv[2]], stdin=subprocess.PIPE,"
    " stdout=subprocess.PIPE, text=True)\n"
    "assert child.stdout.readline().strip() == 'done'\n"
    "alive = proctree.tree_cpu(os.getpid()) - before\n"
    "assert child.communicate(input='') == ('', None)\n"
    "reaped = proctree.tree_cpu(os.getpid()) - before\n"
    "print(alive, reaped)\n"
)


def test_tree_cpu_counts_a_live_child_then_the_reaped_one() -> None:
    benchmarks = Path(__file__).resolve().parents[1] / "benchmarks"
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, str(benchmarks), BUSY], capture_output=True, text=True, check=True
    ).stdout
    alive, reaped = (float(x) for x in out.split())
    assert alive >= 0.45, alive  # the child's own 0.5 s (ticks of 10 ms)
    assert reaped >= 0.45, reaped
    assert proctree.tree_cpu(2**22 + 1) == 0.0  # no such process
