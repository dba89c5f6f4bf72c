"""The engine switch: params are read and checked; the Spark session is real (local mode)."""

from __future__ import annotations

from pathlib import Path

import pytest

from iom_config import ParamsError
from iom_spark import SparkParams, load_engine


def _params(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "params.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_engine_defaults_to_local_when_absent(tmp_path: Path) -> None:
    choice = load_engine(_params(tmp_path, "simulate: {}\n"))
    assert choice.name == "local" and not choice.is_spark
    assert choice.spark == SparkParams()


def test_the_repository_default_is_local() -> None:
    assert load_engine(Path(__file__).parents[2] / "params.yaml").name == "local"


def test_unknown_engine_is_refused_with_a_suggestion(tmp_path: Path) -> None:
    with pytest.raises(ParamsError, match=r"engine.*'sprak'.*did you mean 'spark'"):
        load_engine(_params(tmp_path, "engine: sprak\n"))


def test_unknown_spark_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ParamsError, match=r"(?s)\[spark\].*mastr: unknown key \(did you mean 'master'\?\)"):
        load_engine(_params(tmp_path, "engine: spark\nspark:\n  mastr: local[1]\n"))


@pytest.mark.slow
def test_spark_session_runs_python_workers_on_this_interpreter(tmp_path: Path) -> None:
    import pandas as pd

    from iom_spark import spark_session

    params = SparkParams(master="local[1]", checkpoint_dir=str(tmp_path / "ckpt"), shuffle_partitions=2)
    spark = spark_session(params)
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"
    assert "scala-udf-similarity" in spark.conf.get("spark.jars")
    frame = spark.createDataFrame(pd.DataFrame({"a": [1, 2, 3]}))

    def double(parts):  # type: ignore[no-untyped-def]
        for part in parts:
            yield part.assign(b=part["a"] * 2.0)

    out = frame.mapInPandas(double, "a long, b double").toPandas().sort_values("a")
    assert out["b"].tolist() == [2.0, 4.0, 6.0]
    assert (tmp_path / "ckpt").is_dir()


@pytest.mark.parametrize("master", ["local", "local[2]", "local[*]", "local[4,2]", "spark://h:7077", "yarn"])
def test_spark_master_urls_are_accepted(master: str) -> None:
    assert SparkParams(master=master).master == master


def test_a_wrong_master_is_a_params_error_before_any_jvm(tmp_path: Path) -> None:
    with pytest.raises(ParamsError, match=r"(?s)\[spark\].*'locl\[2\]' is not a Spark master URL"):
        load_engine(_params(tmp_path, "engine: spark\nspark:\n  master: locl[2]\n"))
