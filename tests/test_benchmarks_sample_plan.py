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


def test_a_kept_fit_is_read_back_and_an_unkept_one_is_none(tmp_path: Path) -> None:
    import json

    import pandas as pd

    frame = pd.DataFrame({"risk_12m": [0.1, 0.25]}, index=pd.Index(["a", "b"], name="pseudo_id"))
    assert sample_plan.read_fit(tmp_path / "cache", "n10_s1") is None
    assert sample_plan.read_fit(None, "n10_s1") is None
    sample_plan.keep_fit(None, "n10_s1", {"auc": 0.7}, frame)  # no cache: nothing written
    sample_plan.keep_fit(tmp_path / "cache", "n10_s1", {"auc": 0.7}, frame)
    row, back = sample_plan.read_fit(tmp_path / "cache", "n10_s1")
    assert row == {"auc": 0.7}
    pd.testing.assert_frame_equal(back, frame)
    sample_plan.write_results(tmp_path / "out" / "t.md", [row], [], "| table |\n")
    assert (tmp_path / "out" / "t.md").read_text() == "| table |\n"
    assert json.loads((tmp_path / "out" / "t.json").read_text()) == {
        "rows": [row],
        "same_size_seed_pairs": [],
    }
