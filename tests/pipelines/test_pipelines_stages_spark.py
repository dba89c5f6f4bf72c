"""``engine: spark`` in the typology and train stages: the typology of every person-date and the
panel's scores and reasons are computed per partition of people on Spark (real Spark in local
mode), and the stages write the local engine's files."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from pipelines import train, typology

# mlflow.pyfunc warns on import about its own type hints (mlflow.types.responses): not ours.
pytestmark = pytest.mark.filterwarnings("ignore:.*Any type hint is inferred as AnyType:UserWarning")


def _run_typology(small_pipeline: dict[str, Path], root: Path, params: Path) -> Path:
    typology.run(
        small_pipeline["features"],
        root / "typology",
        root / "metrics" / "typology.json",
        root / "reports",
        params,
        truth_dir=small_pipeline["truth"],
        reid=small_pipeline["reid"],
    )
    return root


@pytest.fixture(scope="module")
def typologies(
    small_pipeline: dict[str, Path],
    spark_params: Callable[[Path, Path], Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Path]:
    """The typology stage on both engines, from the same features and params."""
    root = tmp_path_factory.mktemp("typology_engines")
    params = small_pipeline["params"]
    return {
        "local": _run_typology(small_pipeline, root / "local", params),
        "spark": _run_typology(small_pipeline, root / "spark", spark_params(params, root / "spark.yaml")),
    }


def test_typology_stage_on_spark_assigns_everyone_as_local(typologies: dict[str, Path]) -> None:
    local = pd.read_parquet(typologies["local"] / "typology" / "typology.parquet")
    on_spark = pd.read_parquet(typologies["spark"] / "typology" / "typology.parquet")
    assert local["as_of_date"].nunique() > 10 and len(local) > 5_000  # every person-date, not the panel
    assert local["cluster"].nunique() > 1  # (this small area shows no typology: all are `unassigned`)
    # Names, clusters and markers exactly; the probabilities to 1e-12 (a partition of another
    # size may round their last bits differently: 8 of 1.1 million by up to 4e-15 at 200,000).
    pd.testing.assert_frame_equal(on_spark, local, check_exact=False, rtol=0, atol=1e-12)
    exact = [c for c in local.columns if c != "membership_probability"]
    pd.testing.assert_frame_equal(on_spark[exact], local[exact], check_exact=True)


TYPOLOGY_FILES = (
    "typology/model.json",
    "typology/structure.json",
    "metrics/typology.json",
    "reports/typology.json",
    "reports/profiles.csv",
)
# The model and the headline metrics are the same files. The scores and predictions are
# compared as frames (to 1e-9, below): the linear start's dot products may round the last
# bit of a risk differently in a partition of another size (one row in 7,574 here, by 3e-17).
TRAIN_FILES = ("model/risk_model.ubj", "model/risk_model.json", "metrics/model.json")


@pytest.mark.parametrize("name", TYPOLOGY_FILES)
def test_typology_stage_on_spark_writes_the_local_engines_files(
    typologies: dict[str, Path], name: str
) -> None:
    assert (typologies["spark"] / name).read_bytes() == (typologies["local"] / name).read_bytes()


@pytest.fixture(scope="module")
def trained_on_spark(
    small_pipeline: dict[str, Path],
    small_model: dict[str, Path],
    spark_params: Callable[[Path, Path], Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Path]:
    """The session's small model trained again with ``engine: spark`` (same params otherwise)."""
    root = tmp_path_factory.mktemp("train_spark")
    params = spark_params(small_model["params"], root / "params.yaml")
    paths = {"out": root / "model", "metrics": root / "metrics" / "model.json", "reports": root / "reports"}
    train.run(
        small_pipeline["features"],
        small_pipeline["linked"] / "persons.parquet",
        paths["out"],
        paths["metrics"],
        paths["reports"],
        params,
        truth_dir=small_pipeline["truth"],
        reid=small_pipeline["reid"],
    )
    return paths


def test_train_stage_on_spark_scores_and_explains_the_panel_as_local(
    small_model: dict[str, Path], trained_on_spark: dict[str, Path]
) -> None:
    local = pd.read_parquet(small_model["out"] / "scores.parquet")
    on_spark = pd.read_parquet(trained_on_spark["out"] / "scores.parquet")
    assert len(local) > 100 and (local["reasons_up"] != "").any()
    assert local.columns.str.startswith("points__").any()  # the reasons' contributions, compared too
    pd.testing.assert_frame_equal(on_spark, local, check_exact=False, rtol=0, atol=1e-9)
    # The text of the reasons and the ranks are exactly the local engine's.
    text = [c for c in local.columns if local[c].dtype == object or pd.api.types.is_string_dtype(local[c])]
    pd.testing.assert_frame_equal(on_spark[[*text, "rank"]], local[[*text, "rank"]], check_exact=True)


@pytest.mark.parametrize("name", TRAIN_FILES)
def test_train_stage_on_spark_writes_the_local_engines_files(
    small_model: dict[str, Path], trained_on_spark: dict[str, Path], name: str
) -> None:
    local = small_model["root"] / "a" / name
    on_spark = trained_on_spark["out"].parent / name
    assert on_spark.read_bytes() == local.read_bytes()


def test_train_stage_on_spark_predicts_every_labelled_row_as_local(
    small_model: dict[str, Path], trained_on_spark: dict[str, Path]
) -> None:
    local = pd.read_parquet(small_model["out"] / "predictions.parquet")
    on_spark = pd.read_parquet(trained_on_spark["out"] / "predictions.parquet")
    assert local["block"].eq("test").any() and len(local) > 5_000
    pd.testing.assert_frame_equal(on_spark, local, check_exact=False, rtol=0, atol=1e-9)
    others = [c for c in local.columns if c != "risk_model"]
    pd.testing.assert_frame_equal(on_spark[others], local[others], check_exact=True)


def test_train_stage_on_spark_registers_the_same_model(
    small_model: dict[str, Path], trained_on_spark: dict[str, Path]
) -> None:
    local = json.loads((small_model["out"] / "registration.json").read_text())
    on_spark = json.loads((trained_on_spark["out"] / "registration.json").read_text())
    assert on_spark["fingerprint"] == local["fingerprint"]
    assert on_spark["version"] == local["version"]
