"""Fixtures of the validation tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pytest
from validation_extracts import dirty_tables, write_extract

from validation import ValidateParams, ValidationResult, validate_extract

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


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


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkSession]:
    """A local Spark session (master local[2]) shared by the validation tests on Spark."""
    from iom_spark import SparkParams, spark_session, stop_spark

    params = SparkParams(
        master="local[2]", shuffle_partitions=2, checkpoint_dir=str(tmp_path_factory.mktemp("spark-ckpt"))
    )
    session = spark_session(params)
    session.sparkContext.setLogLevel("ERROR")
    yield session
    stop_spark()


def _validate_spark(extract: Path, spark: SparkSession) -> ValidationResult:
    from validation.spark_core import validate_extract_spark

    return validate_extract_spark(extract, ValidateParams(extract=str(extract)), spark)


@pytest.fixture(scope="session")
def clean_spark(tmp_path_factory: pytest.TempPathFactory, spark: SparkSession) -> ValidationResult:
    """``valid_tables()`` as CSV, validated on Spark."""
    return _validate_spark(write_extract(tmp_path_factory.mktemp("clean-spark")), spark)


@pytest.fixture(scope="session")
def dirty_spark(tmp_path_factory: pytest.TempPathFactory, spark: SparkSession) -> ValidationResult:
    """``dirty_tables()`` as CSV, validated on Spark."""
    return _validate_spark(write_extract(tmp_path_factory.mktemp("dirty-spark"), dirty_tables()), spark)
