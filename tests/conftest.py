"""Session-wide test settings: MLflow never writes to the repository's own store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

# Tests that need the small simulated area run through the stages (``small_pipeline``,
# minutes of set-up) are slow: ``make test-fast`` leaves them to ``make test``.
SLOW_FIXTURES = frozenset({"small_pipeline", "small_model"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SLOW_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True, scope="session")
def _isolated_mlflow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    mp = pytest.MonkeyPatch()
    root = tmp_path_factory.mktemp("mlflow")
    mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
    mp.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    yield root
    mp.undo()


@pytest.fixture(scope="session")
def small_pipeline(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A small simulated area (1,500 nominals) run through simulate -> features, once a session.

    Stage tests downstream of features (typology, train, audit, publish, score) start from
    these real outputs rather than hand-built frames. Returns the paths by name: ``root``,
    ``params``, ``extract``, ``truth``, ``validated``, ``linked``, ``reid``, ``features``.
    Tests must not write into these folders (copy first).
    """
    import yaml

    from pipelines import features, link, simulate, validate

    root = tmp_path_factory.mktemp("small_pipeline")
    params = yaml.safe_load((Path(__file__).resolve().parent.parent / "params.yaml").read_text())
    params["simulate"].update({"nominals": 1500, "out": str(root / "extract")})
    params["validate"]["extract"] = str(root / "extract")
    params_path = root / "params.yaml"
    params_path.write_text(yaml.safe_dump(params, sort_keys=False))
    paths = {
        "root": root,
        "params": params_path,
        "extract": root / "extract",
        "truth": root / "extract" / "_truth",
        "validated": root / "validated",
        "linked": root / "linked",
        "reid": root / "reid",
        "features": root / "features",
    }
    metrics = root / "metrics"
    simulate.run(params_path, {}, progress=False, metrics=metrics / "simulation.json")
    validate.run(
        paths["extract"], paths["validated"], metrics / "validation.json", root / "docs", params_path
    )
    link.run(
        paths["validated"],
        paths["linked"],
        paths["reid"],
        metrics / "linkage.json",
        root / "linkage",
        params_path,
    )
    features.run(
        paths["linked"],
        paths["validated"] / "manifest.json",
        paths["features"],
        metrics / "features.json",
        params_path,
    )
    return paths


@pytest.fixture(scope="session")
def small_model(small_pipeline: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The small area's risk model, trained and registered once a session (the session's MLflow store).

    Quicker than the real settings (2 bootstrap refits, at most 300 trees): the same code
    paths. Laid out as ``root/a/{model, metrics/model.json, reports}`` beside the
    ``params.yaml`` it was trained with; tests must not write into ``root/a``.
    """
    import yaml

    from pipelines import train

    root = tmp_path_factory.mktemp("small_model")
    params = yaml.safe_load(small_pipeline["params"].read_text())
    params["train"].update({"n_bootstrap": 2, "n_estimators": 300})
    params["mlflow"] = {"log": True}
    params_path = root / "params.yaml"
    params_path.write_text(yaml.safe_dump(params, sort_keys=False))
    run = root / "a"
    paths = {"out": run / "model", "metrics": run / "metrics" / "model.json", "reports": run / "reports"}
    train.run(
        small_pipeline["features"],
        small_pipeline["linked"] / "persons.parquet",
        paths["out"],
        paths["metrics"],
        paths["reports"],
        params_path,
        truth_dir=small_pipeline["truth"],
        reid=small_pipeline["reid"],
    )
    return {"root": root, "params": params_path, **paths}
