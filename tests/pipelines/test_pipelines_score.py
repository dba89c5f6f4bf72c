"""`iom score` with a registered model reproduces the scores of the run that registered it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from models.typology import assign_typology, load_model
from pipelines import score, typology

# mlflow.pyfunc warns on import about its own type hints (mlflow.types.responses): not ours.
pytestmark = pytest.mark.filterwarnings("ignore:.*Any type hint is inferred as AnyType:UserWarning")


@pytest.fixture(scope="module")
def registered(
    small_pipeline: dict[str, Path], small_model: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """The fixture area's session model (trained and registered once), and its typology model fitted."""
    root = tmp_path_factory.mktemp("score")
    params_path = small_model["params"]
    typology.run(
        small_pipeline["features"],
        root / "typology",
        root / "metrics" / "typology.json",
        root / "reports_typology",
        params_path,
    )
    return {"root": root, "params": params_path, "model": small_model["out"], "typology": root / "typology"}


def test_scoring_the_extract_reproduces_the_registered_runs_scores(
    small_pipeline: dict[str, Path], registered: dict[str, Path]
) -> None:
    reg = json.loads((registered["model"] / "registration.json").read_text())
    out = registered["root"] / "scored"
    record = score.run(
        small_pipeline["extract"],
        None,
        reg["version"],
        out,
        registered["params"],
        typology_model=registered["typology"] / "model.json",
        work=registered["root"] / "work",
    )
    assert record == reg
    assert json.loads((out / "registration.json").read_text()) == reg
    expected = pd.read_parquet(registered["model"] / "scores.parquet")
    got = pd.read_parquet(out / "scores.parquet")
    pd.testing.assert_frame_equal(got, expected)
    assert (out / "scores.parquet").read_bytes() == (registered["model"] / "scores.parquet").read_bytes()

    panel = expected["as_of_date"].iloc[0]
    fitted = pd.read_parquet(registered["typology"] / "typology.parquet")
    fitted = fitted.loc[fitted["as_of_date"].eq(panel)].reset_index(drop=True)
    pd.testing.assert_frame_equal(pd.read_parquet(out / "typology.parquet"), fitted, check_dtype=False)


@pytest.mark.slow
def test_scoring_without_a_typology_model_writes_scores_only(
    small_pipeline: dict[str, Path], registered: dict[str, Path], tmp_path: Path
) -> None:
    record = score.run(
        small_pipeline["extract"],
        None,
        None,
        tmp_path / "out",
        registered["params"],
        typology_model=tmp_path / "missing.json",
        work=None,
    )
    assert record["name"] == "iom-risk"
    assert (tmp_path / "out" / "scores.parquet").exists()
    assert not (tmp_path / "out" / "typology.parquet").exists()


def test_score_pools_the_same_history_as_the_typology_stage(
    small_pipeline: dict[str, Path], tmp_path: Path
) -> None:
    """With ``pool_history`` on, score builds the features stage's earlier as-of dates, so
    its panel-date typologies equal the typology stage's; from the panel date alone they
    would not (the test can fail)."""
    raw = yaml.safe_load(small_pipeline["params"].read_text(encoding="utf-8"))
    raw["typology"] = {**raw["typology"], "pool_history": True, "n_bootstrap": 2, "k_min": 3, "k_max": 6}
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    typology.run(small_pipeline["features"], tmp_path / "t", tmp_path / "m.json", tmp_path / "r", params)
    model_json = tmp_path / "t" / "model.json"
    assert load_model(model_json).pool_history

    manifest = small_pipeline["validated"] / "manifest.json"
    frame = score.panel_features(small_pipeline["linked"], manifest, None, params)
    got = score.assign_typologies(frame, model_json, small_pipeline["linked"], manifest, params)
    assert got is not None
    stage = pd.read_parquet(tmp_path / "t" / "typology.parquet")
    stage = stage.loc[stage["as_of_date"].eq(frame["as_of_date"].iloc[0])].reset_index(drop=True)
    assert len(got) == len(frame) > 0
    pd.testing.assert_frame_equal(got, stage, check_dtype=False)

    alone = assign_typology(load_model(model_json), frame)
    assert not np.allclose(alone["membership_probability"], got["membership_probability"])
