"""MLflow defaults for the whole project, fixed in one place.

Tracking goes to ``sqlite:///mlflow.db`` at the repository root unless
``MLFLOW_TRACKING_URI`` is set; artifacts go to ``mlartifacts/`` beside it; each
extract's runs go to an experiment named after the extract's ``area``.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = ROOT / "mlflow.db"
DEFAULT_ARTIFACTS = ROOT / "mlartifacts"


def tracking_uri() -> str:
    """The tracking URI in force: ``MLFLOW_TRACKING_URI`` or the repository's SQLite store."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{DEFAULT_DB}"


def experiment_name(area: str) -> str:
    """Experiment name for an extract's area (one experiment per IOM unit)."""
    return f"iom/{area}"


def configure_mlflow(area: str) -> str:
    """Point MLflow at the project store and select the area's experiment; return its id.

    Called by stage entry points only (never on import).
    """
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    import mlflow

    mlflow.set_tracking_uri(tracking_uri())
    name = experiment_name(area)
    exp = mlflow.get_experiment_by_name(name)
    if exp is None:
        location = None
        if tracking_uri().startswith("sqlite:"):
            location = DEFAULT_ARTIFACTS.as_uri()
        exp_id = mlflow.create_experiment(name, artifact_location=location)
    else:
        exp_id = exp.experiment_id
    mlflow.set_experiment(experiment_id=exp_id)
    return str(exp_id)
