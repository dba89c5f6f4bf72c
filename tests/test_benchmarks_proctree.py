"""benchmarks/proctree.py: the CPU of a process tree counts live and reaped children."""

from __future__ import annotations

import importlib.util
import os
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


def test_tree_cpu_counts_a_live_child_then_the_reaped_one() -> None:
    before = proctree.tree_cpu(os.getpid())
    child = subprocess.Popen(
        [sys.executable, "-c", BUSY], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "done"
    alive = proctree.tree_cpu(os.getpid()) - before
    assert child.communicate(input="") == ("", None)
    reaped = proctree.tree_cpu(os.getpid()) - before
    assert alive >= 0.45, alive  # the child's own 0.5 s (ticks of 10 ms)
    assert reaped >= 0.45, reaped
    assert proctree.tree_cpu(2**22 + 1) == 0.0  # no such process
