"""``engine: spark`` in the features stage gives the local engine's partitions (real Spark, local mode)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from features.partitions import PARTITION_PREFIX, read_features
from features.spark import PEOPLE_PER_BUCKET, n_buckets_for, restore_dtypes, split_tables
from iom_spark import SparkParams
from pipelines import features


@pytest.fixture(scope="module")
def both_engines(
    small_pipeline: dict[str, Path],
    spark_params: Callable[[Path, Path], Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Path]:
    """The small area's features built again on Spark (the local build is ``small_pipeline``'s)."""
    root = tmp_path_factory.mktemp("features_spark")
    params = spark_params(small_pipeline["params"], root / "params.yaml")
    features.run(
        small_pipeline["linked"],
        small_pipeline["validated"] / "manifest.json",
        root / "features",
        root / "metrics" / "features.json",
        params,
    )
    return {"local": small_pipeline["features"], "spark": root / "features", "root": root}


def test_spark_features_equal_the_local_engine(both_engines: dict[str, Path]) -> None:
    local = read_features(both_engines["local"])
    spark = read_features(both_engines["spark"])
    assert len(local) > 1000 and local["as_of_date"].nunique() > 10
    pd.testing.assert_frame_equal(spark, local, check_exact=False, rtol=0, atol=1e-9)
    assert spark.dtypes.to_dict() == local.dtypes.to_dict()


def test_spark_partitions_are_the_same_files(both_engines: dict[str, Path]) -> None:
    local = sorted(p.relative_to(both_engines["local"]) for p in both_engines["local"].rglob("*.parquet"))
    spark = sorted(p.relative_to(both_engines["spark"]) for p in both_engines["spark"].rglob("*.parquet"))
    assert spark == local and all(str(p).startswith(PARTITION_PREFIX) for p in local)
    differ = [
        p
        for p in local
        if (both_engines["spark"] / p).read_bytes() != (both_engines["local"] / p).read_bytes()
    ]
    assert not differ, f"{len(differ)} partitions differ in bytes, e.g. {differ[:3]}"


def test_spark_metrics_equal_the_local_engine(
    small_pipeline: dict[str, Path], both_engines: dict[str, Path]
) -> None:
    local = json.loads((small_pipeline["root"] / "metrics" / "features.json").read_text())
    spark = json.loads((both_engines["root"] / "metrics" / "features.json").read_text())
    assert spark == local
    detail = "features.json"
    assert json.loads((both_engines["spark"] / detail).read_text()) == json.loads(
        (both_engines["local"] / detail).read_text()
    )


def test_buckets_grow_with_the_population() -> None:
    params = SparkParams(shuffle_partitions=8)
    assert n_buckets_for(1_500, params) == 8
    assert n_buckets_for(10_000_000, params) == 10_000_000 // PEOPLE_PER_BUCKET


def test_a_bucket_splits_back_into_its_tables() -> None:
    bucket = pd.DataFrame(
        {
            "_table": ["persons", "offences", "persons"],
            "pseudo_id": ["a", "a", "b"],
            "persons__birth_month": pd.to_datetime(["1990-01-01", None, "1985-02-01"]),
            "offences__offence_date": pd.to_datetime([None, "2020-01-01", None]),
        }
    )
    tables = split_tables(bucket.reindex(columns=[*bucket.columns]), ["persons"])
    assert tables["persons"]["pseudo_id"].tolist() == ["a", "b"]
    assert list(tables["persons"].columns) == ["pseudo_id", "birth_month"]


def test_restore_dtypes_sorts_by_person_and_restores_nullable_types() -> None:
    template = pd.DataFrame(
        {
            "pseudo_id": pd.Series([], dtype="str"),
            "n": pd.Series([], dtype="Int64"),
            "f": pd.Series([], dtype="boolean"),
        }
    )
    got = restore_dtypes(
        pd.DataFrame({"pseudo_id": ["b", "a"], "n": [1.0, float("nan")], "f": [True, None]}), template
    )
    assert got["pseudo_id"].tolist() == ["a", "b"]
    assert got.dtypes.to_dict() == template.dtypes.to_dict()
    assert got["n"].isna().tolist() == [True, False]


def _cli(
    params: Path, small: dict[str, Path], out: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pipelines.cli",
            "features",
            "--linked",
            str(small["linked"]),
            "--manifest",
            str(small["validated"] / "manifest.json"),
            "--out",
            str(out / "features"),
            "--metrics",
            str(out / "metrics.json"),
            "--params",
            str(params),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=Path(__file__).parents[2],
    )


def _spark_yaml(small: dict[str, Path], tmp_path: Path, **spark: Any) -> Path:
    raw = yaml.safe_load(small["params"].read_text())
    raw["engine"] = "spark"
    raw["spark"] = {"checkpoint_dir": str(tmp_path / "ckpt"), **spark}
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


@pytest.mark.slow
@pytest.mark.parametrize("case", ["bad_master", "no_java"])
def test_a_spark_that_cannot_start_is_one_message(
    small_pipeline: dict[str, Path], tmp_path: Path, case: str
) -> None:
    env = dict(os.environ)
    if case == "bad_master":
        params = _spark_yaml(small_pipeline, tmp_path, master="nowhere://spark")
    else:
        params = _spark_yaml(small_pipeline, tmp_path)
        env["JAVA_HOME"] = str(tmp_path / "no-java")
        env["PATH"] = str(Path(sys.executable).parent)
    proc = _cli(params, small_pipeline, tmp_path, env)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1
    if case == "bad_master":  # a params error: the line names the section, the next the key
        assert "[spark]" in lines[0] and "'nowhere://spark' is not a Spark master URL" in proc.stderr
    else:
        assert "needs Java 17" in lines[0]
