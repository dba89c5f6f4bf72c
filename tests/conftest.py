"""Session-wide test settings: MLflow never writes to the repository's own store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True, scope="session")
def _isolated_mlflow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    mp = pytest.MonkeyPatch()
    root = tmp_path_factory.mktemp("mlflow")
    mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
    mp.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    yield root
    mp.undo()
