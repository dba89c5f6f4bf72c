"""CPU seconds per part of the audit stage, on a run folder (process time per function).

Runs ``pipelines.audit.run`` with dvc.yaml's paths from the current directory (a run
folder such as a hard-linked copy of ``benchmarks/runs/n1000000``: the stage writes
``reports/fairness``, ``metrics/fairness.json`` and an MLflow run there) and prints the
process CPU seconds spent in the audit's parts, accumulated over their calls (nested
parts are inside their callers' figures)::

    cd RUN_COPY && python /path/to/benchmarks/profile_audit.py
"""

from __future__ import annotations

import collections
import functools
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import fairness.audit as fa
import pipelines.audit as pa

SPENT: dict[str, float] = collections.defaultdict(float)
CALLS: collections.Counter[str] = collections.Counter()


def _timed(module: ModuleType, name: str) -> None:
    fn: Callable[..., Any] = getattr(module, name)
    key = f"{module.__name__}.{name}"

    @functools.wraps(fn)
    def inner(*args: Any, **kwargs: Any) -> Any:
        start = time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            SPENT[key] += time.process_time() - start
            CALLS[key] += 1

    setattr(module, name, inner)


def main() -> None:
    for name in (
        "_prepare",
        "_plan_grouping",
        "_bootstrap",
        "_point_estimates",
        "_intervals",
        "_overall_rows",
    ):
        _timed(fa, name)
    for name in ("_metric_frame", "_decision_frame", "_calibration_rows"):
        _timed(fa, name)
    for name in ("read_ages", "audit_test_block", "audit_panel_list", "audit_typology", "log_audit_run"):
        _timed(pa, name)
    start = time.process_time()
    pa.run(
        Path("data/model"),
        Path("data/features"),
        Path("data/linked/persons.parquet"),
        Path("data/typology"),
        Path("data/linked"),
        Path("reports/fairness"),
        Path("metrics/fairness.json"),
        Path("params.yaml"),
    )
    print(f"total run {time.process_time() - start:.1f} s CPU")
    for key, seconds in sorted(SPENT.items(), key=lambda kv: -kv[1]):
        print(f"{seconds:8.1f} s  {CALLS[key]:4d} calls  {key}")


if __name__ == "__main__":
    main()
