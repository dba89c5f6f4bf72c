"""``engine: spark`` in scoring: the registered model, TreeSHAP reasons and typologies per partition
of people give the local engine's outputs (real Spark in local mode, real MLflow registry)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from features.partitions import read_features
from features.spark import to_spark
from iom_spark import SparkEngineError
from models.risk import RiskModel
from models.risk_train import model_inputs, score_panel
from models.spark import assign_typology_spark, score_spark
from models.typology import assign_typology, load_model
from pipelines import score, typology

# mlflow.pyfunc warns on import about its own type hints (mlflow.types.responses): not ours.
pytestmark = pytest.mark.filterwarnings("ignore:.*Any type hint is inferred as AnyType:UserWarning")

# The score stage's outputs; publish reads scores.parquet and typology.parquet from this folder
# (with the linked tables, the re-identification key and the fairness audit, which do not
# depend on the engine), so equal files here mean an equal published list.
OUTPUTS = ("scores.parquet", "typology.parquet", "registration.json", "risk_model.json", "risk_model.ubj")


@pytest.fixture(scope="module")
def scored(
    small_pipeline: dict[str, Path],
    small_model: dict[str, Path],
    spark_params: Callable[[Path, Path], Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Path]:
    """The session model scored by ``iom score`` on both engines, with a typology model fitted."""
    root = tmp_path_factory.mktemp("score_spark")
    params = small_model["params"]
    typology.run(
        small_pipeline["features"], root / "typology", root / "metrics" / "typology.json", root / "rt", params
    )
    version = json.loads((small_model["out"] / "registration.json").read_text())["version"]
    for engine, params_path in (("local", params), ("spark", spark_params(params, root / "spark.yaml"))):
        score.run(
            small_pipeline["extract"],
            None,
            version,
            root / engine,
            params_path,
            typology_model=root / "typology" / "model.json",
            work=root / f"work_{engine}",
        )
    return {"root": root, "local": root / "local", "spark": root / "spark", "typology": root / "typology"}


@pytest.fixture(scope="module")
def scored_connect(
    scored: dict[str, Path],
    small_pipeline: dict[str, Path],
    small_model: dict[str, Path],
    spark_connect_params: Callable[[Path, Path], Path],
) -> Path:
    """``iom score`` with ``spark.remote`` the address of a real Spark Connect server: validate,
    link (Splink), features, scores, reasons and typologies all run through the server.

    The command runs in its own process, as an analyst runs it: a process holds either a
    Spark Connect client or a local Spark session, and this one holds the local ``spark``."""
    root = scored["root"]
    version = json.loads((small_model["out"] / "registration.json").read_text())["version"]
    params = spark_connect_params(small_model["params"], root / "connect.yaml")
    command = [
        *(str(Path(sys.executable).parent / "iom"), "score", "--extract", str(small_pipeline["extract"])),
        *("--model-version", str(version), "--out", str(root / "connect"), "--params", str(params)),
        *("--typology-model", str(root / "typology" / "model.json"), "--work", str(root / "work_connect")),
    ]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return root / "connect"


@pytest.mark.parametrize("engine", ["spark", "connect"], ids=["local_mode", "spark_connect"])
@pytest.mark.parametrize("name", OUTPUTS)
def test_score_on_spark_writes_the_local_engines_files(
    scored: dict[str, Path], name: str, engine: str, request: pytest.FixtureRequest
) -> None:
    folder = scored["spark"] if engine == "spark" else request.getfixturevalue("scored_connect")
    local, spark = scored["local"] / name, folder / name
    assert local.exists()
    if not name.endswith(".parquet"):
        assert spark.read_bytes() == local.read_bytes()
        return
    # Ranks, ids, tiers, reasons, names: exactly. Risks and probabilities to 1e-12, not byte for
    # byte: the linear start's BLAS dot product may round a row's last bit differently in a
    # partition of another size (as in the train stage's predictions, test_pipelines_stages_spark).
    on_spark, here = pd.read_parquet(spark), pd.read_parquet(local)
    pd.testing.assert_frame_equal(on_spark, here, check_exact=False, rtol=0, atol=1e-12)
    exact = [c for c in here.columns if not pd.api.types.is_float_dtype(here[c])]
    assert len(exact) >= 3
    pd.testing.assert_frame_equal(on_spark[exact], here[exact], check_exact=True)


def test_score_on_spark_ranks_the_whole_panel(scored: dict[str, Path]) -> None:
    scores = pd.read_parquet(scored["spark"] / "scores.parquet")
    assert len(scores) > 100
    assert scores["rank"].tolist() == list(range(1, len(scores) + 1))
    assert scores["risk_12m"].is_monotonic_decreasing
    assert (scores["reasons_up"] != "").any()


@pytest.fixture(scope="module")
def every_date(small_pipeline: dict[str, Path]) -> pd.DataFrame:
    return read_features(small_pipeline["features"])


def test_scoring_every_person_date_on_spark_equals_local(
    spark: Any, small_pipeline: dict[str, Path], small_model: dict[str, Path], every_date: pd.DataFrame
) -> None:
    model = RiskModel.load(small_model["out"])
    persons = pd.read_parquet(
        small_pipeline["linked"] / "persons.parquet", columns=["pseudo_id", "sex", "ethnicity"]
    )
    local = score_panel(model, model_inputs(model, every_date, persons), every_date)
    on_spark = score_spark(
        model, to_spark(spark, every_date), to_spark(spark, persons), every_date.iloc[:0], 4
    )
    pd.testing.assert_frame_equal(on_spark, local)


def test_typologies_pooled_over_each_persons_history_on_spark_equal_local(
    spark: Any, scored: dict[str, Path], every_date: pd.DataFrame
) -> None:
    # Every as-of date of a person lands in one partition, so pooling their history holds.
    model = load_model(scored["typology"] / "model.json").set_params(pool_history=True)
    local = assign_typology(model, every_date)
    on_spark = assign_typology_spark(model, to_spark(spark, every_date), every_date.iloc[:0], 4)
    pd.testing.assert_frame_equal(on_spark, local)
    unpooled = assign_typology(model.set_params(pool_history=False), every_date)
    assert (unpooled["cluster"] != local["cluster"]).any()  # pooling matters here, so the test can fail


def test_adapted_priors_are_refused_on_spark(
    spark: Any, scored: dict[str, Path], every_date: pd.DataFrame
) -> None:
    model = load_model(scored["typology"] / "model.json").set_params(adapt_priors=True)
    with pytest.raises(SparkEngineError, match="adapt_priors"):
        assign_typology_spark(model, to_spark(spark, every_date.head(5)), every_date.iloc[:0], 4)
