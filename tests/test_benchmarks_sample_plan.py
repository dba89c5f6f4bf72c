"""benchmarks/sample_plan.py: the sample-size benchmarks fit the reference first, then its seed floor."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SPEC = importlib.util.spec_from_file_location(
    "sample_plan", Path(__file__).resolve().parents[1] / "benchmarks" / "sample_plan.py"
)
assert SPEC is not None and SPEC.loader is not None
sample_plan = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(sample_plan)


def test_the_reference_and_its_seed_floor_come_first_then_smaller_sizes() -> None:
    ref, order = sample_plan.fit_order([10_000, 100_000, 20_000], [1, 2], [100_000, 20_000], 42)
    assert ref == (100_000, 42)
    assert order == [
        (100_000, 42),
        (100_000, 1),
        (100_000, 2),
        (20_000, 42),
        (10_000, 42),
        (20_000, 1),
        (20_000, 2),
    ]


def test_without_seed_sizes_only_the_reference_is_refitted_per_seed() -> None:
    _, order = sample_plan.fit_order([5_000, 2_000], [7], None, 3)
    assert order == [(5_000, 3), (5_000, 7), (2_000, 3)]
    assert len(set(order)) == len(order)
