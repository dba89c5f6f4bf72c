"""The validator against the simulator: clean extracts pass, injected violations are caught.

``simulator.simulate_extract --dirty`` records every violation it injects in
``_truth/dirty.parquet`` (table, source_row, kind, column); the validator must
quarantine each of those rows with ``kind`` among its rules, and quarantine no other
row except through a quarantined parent.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from validation import ValidateParams, ValidationResult, validate_extract

simulator = pytest.importorskip("simulator")
if not hasattr(simulator, "simulate_extract"):  # pragma: no cover - depends on the simulator's progress
    pytest.skip("simulator.simulate_extract is not available yet", allow_module_level=True)

pytestmark = pytest.mark.slow


def _simulate(root: Path, nominals: int, dirty_rate: float, fmt: str) -> tuple[Path, ValidationResult]:
    params = simulator.SimulateParams(
        nominals=nominals, history_years=3, future_years=1, dirty_rate=dirty_rate, format=fmt, seed=7
    )
    simulator.simulate_extract(params, root, show_progress=False)
    return root, validate_extract(root, ValidateParams(extract=str(root)))


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ValidationResult]:
    return _simulate(tmp_path_factory.mktemp("sim_clean"), 100, 0.0, "parquet")


@pytest.fixture(scope="module")
def dirty(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ValidationResult]:
    return _simulate(tmp_path_factory.mktemp("sim_dirty"), 150, 0.1, "csv")


def _rejects(result: ValidationResult) -> pd.DataFrame:
    return pd.concat(
        [f[["source_row", "rule", "rules"]].assign(table=name) for name, f in result.rejects.items()],
        ignore_index=True,
    )


def test_clean_simulated_extract_has_no_rejects(clean: tuple[Path, ValidationResult]) -> None:
    _, result = clean
    assert result.metrics["totals"]["rejected"] == 0
    assert result.metrics["totals"]["reconciled"]
    assert result.metrics["totals"]["accepted"] > 500


def test_every_injected_violation_is_quarantined_with_its_kind(dirty: tuple[Path, ValidationResult]) -> None:
    root, result = dirty
    truth = pd.read_parquet(root / "_truth" / "dirty.parquet")
    assert len(truth) > 50
    assert {"not_null", "type", "in_set", "date_order", "orphan", "parent_rejected"} <= set(truth["kind"])
    found = truth.merge(_rejects(result), on=["table", "source_row"], how="left")
    missed = found[found["rule"].isna()]
    assert missed.empty, missed.head(10).to_string()
    wrong = found[[k not in r.split(";") for k, r in zip(found["kind"], found["rules"], strict=True)]]
    assert wrong.empty, wrong.head(10).to_string()


def test_no_clean_row_is_quarantined_except_through_its_parent(dirty: tuple[Path, ValidationResult]) -> None:
    root, result = dirty
    truth = pd.read_parquet(root / "_truth" / "dirty.parquet")[["table", "source_row"]].drop_duplicates()
    extra = _rejects(result).merge(truth, on=["table", "source_row"], how="left", indicator=True)
    extra = extra[extra["_merge"] == "left_only"]
    assert (extra["rules"] == "parent_rejected").all(), extra.head(10).to_string()
    assert result.metrics["totals"]["reconciled"]
