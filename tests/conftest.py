"""Session-wide test settings: MLflow never writes to the repository's own store."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# Tests that need the small simulated area run through the stages (``small_pipeline``,
# minutes of set-up) are slow: ``make test-fast`` leaves them to ``make test``.
# A Spark session takes ~10-25 s to start: tests using the ``spark`` fixture are slow too.
SLOW_FIXTURES = frozenset({"small_pipeline", "small_model", "spark", "spark_params", "spark_connect"})


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


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One local Spark session for the whole test session (``local[2]``, 4 shuffle partitions).

    The engine's own builder (:func:`iom_spark.spark_session`), so the tests run what the
    stages run. A stage given ``engine: spark`` in the same process reuses this session
    (``getOrCreate``). Stopped at the end of the session.
    """
    from iom_spark import SparkParams, spark_session, stop_spark

    checkpoints = tmp_path_factory.mktemp("spark_checkpoints")
    session = spark_session(
        SparkParams(master="local[2]", shuffle_partitions=4, checkpoint_dir=str(checkpoints))
    )
    yield session
    stop_spark()


@pytest.fixture(scope="session")
def spark_params(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> Callable[[Path, Path], Path]:
    """A function writing a copy of a params file with ``engine: spark`` (local[2], as ``spark``).

    ``spark_params(params, out) -> out``: the stages run in this process reuse the
    session-wide ``spark`` session.
    """
    return _spark_params_writer({"master": "local[2]"}, tmp_path_factory.mktemp("spark_stage_checkpoints"))


def _spark_params_writer(where: dict[str, str], checkpoints: Path) -> Callable[[Path, Path], Path]:
    """``write(params, out) -> out``: a copy of ``params`` with ``engine: spark``, the ``spark:``
    section's ``where`` (master or remote), 4 shuffle partitions and ``checkpoints``."""
    import yaml

    def write(params: Path, out: Path) -> Path:
        raw = yaml.safe_load(Path(params).read_text())
        raw["engine"] = "spark"
        raw["spark"] = {
            **(raw.get("spark") or {}),
            **where,
            "shuffle_partitions": 4,
            "checkpoint_dir": str(checkpoints),
        }
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(yaml.safe_dump(raw, sort_keys=False))
        return out

    return write


@pytest.fixture(scope="session")
def spark_connect(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Spark Connect server on 127.0.0.1 (``local[2]``), started from pyspark's own
    distribution with Splink's jar on ``--jars``, as an operator starts one; yields its address
    ``sc://127.0.0.1:PORT``. Stopped by its process group at the end of the session."""
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time

    from pyspark.find_spark_home import _find_spark_home
    from splink.backends.spark import similarity_jar_location

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    spark_home = _find_spark_home()
    log = tmp_path_factory.mktemp("spark_connect") / "server.log"
    command = [
        f"{spark_home}/bin/spark-submit",
        "--class",
        "org.apache.spark.sql.connect.service.SparkConnectServer",
        "--name",
        "Spark Connect server",
        "--master",
        "local[2]",
        "--jars",
        similarity_jar_location(),
        "--conf",
        "spark.connect.grpc.binding.address=127.0.0.1",
        "--conf",
        f"spark.connect.grpc.binding.port={port}",
        "--conf",
        "spark.ui.enabled=false",
    ]
    env = {
        **os.environ,
        "SPARK_HOME": spark_home,
        "SPARK_CONNECT_MODE": "0",
        "PYSPARK_PYTHON": sys.executable,
    }
    with log.open("wb") as sink:
        server = subprocess.Popen(
            command, stdout=sink, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 180
        while True:
            if server.poll() is not None:
                raise RuntimeError(
                    f"Spark Connect server exited ({server.returncode}):\n{log.read_text()[-3000:]}"
                )
            with socket.socket() as client:
                if client.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"Spark Connect server not listening after 180 s:\n{log.read_text()[-3000:]}"
                )
            time.sleep(1)
        yield f"sc://127.0.0.1:{port}"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


@pytest.fixture(scope="session")
def spark_connect_params(
    spark_connect: str, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[Path, Path], Path]:
    """As :func:`spark_params`, with ``spark.remote`` the address of the ``spark_connect`` server."""
    checkpoints = tmp_path_factory.mktemp("spark_connect_checkpoints")
    return _spark_params_writer({"remote": spark_connect}, checkpoints)
