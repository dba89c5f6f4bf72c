"""Fixtures of the validation tests."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from validation_extracts import dirty_tables, write_extract

from validation import ValidateParams, ValidationResult, validate_extract


@pytest.fixture
def make_extract(tmp_path: Path) -> Callable[..., Path]:
    """Write an extract under tmp_path; see ``write_extract`` for the arguments."""
    counter = iter(range(1_000_000))

    def make(tables: Mapping[str, pd.DataFrame] | None = None, **kwargs: Any) -> Path:
        return write_extract(tmp_path / f"extract{next(counter)}", tables, **kwargs)

    return make


def _validate(extract: Path) -> ValidationResult:
    return validate_extract(extract, ValidateParams(extract=str(extract)))


@pytest.fixture(scope="session")
def clean(tmp_path_factory: pytest.TempPathFactory) -> ValidationResult:
    """``valid_tables()`` as CSV, validated (each full GE run costs seconds: shared)."""
    return _validate(write_extract(tmp_path_factory.mktemp("clean")))


@pytest.fixture(scope="session")
def dirty(tmp_path_factory: pytest.TempPathFactory) -> ValidationResult:
    """``dirty_tables()`` (every rule broken on a known row) as CSV, validated."""
    return _validate(write_extract(tmp_path_factory.mktemp("dirty"), dirty_tables()))
