"""`iom score` with a registered model reproduces the scores of the run that registered it."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

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
