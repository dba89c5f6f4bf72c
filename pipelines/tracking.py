"""MLflow defaults for the whole project, fixed in one place.

Tracking goes to ``sqlite:///mlflow.db`` at the root of the project being run (the DVC
root above the working directory, ``iom_config.project_root``; never where the code is
installed) unless ``MLFLOW_TRACKING_URI`` is set; artifacts go to ``mlartifacts/`` beside
it; every stage's run goes to the experiment ``iom/<area>`` named after the extract's
``area`` (its manifest), tagged so that MLflow's UI opens it on its runs.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any

from iom_config import StageParams, parse_params, project_root, read_params

DEFAULT_DB_NAME = "mlflow.db"


def default_store() -> Path:
    """The project's own SQLite store: ``mlflow.db`` at the root of the project being run."""
    return project_root() / DEFAULT_DB_NAME


class TrackingParams(StageParams):
    """The ``mlflow:`` section of params.yaml: the project's one MLflow switch."""

    log: bool = True


def mlflow_enabled(params_path: Path) -> bool:
    """Whether stages record runs in MLflow: ``mlflow.log`` in params.yaml (true when absent).

    The one switch for every stage (the stage-run metrics, the typology run, the risk
    model's registration, the fairness audit run).
    """
    section = read_params(params_path).get("mlflow") or {}
    return parse_params(section, TrackingParams, where=f"{params_path} [mlflow]").log


def tracking_uri() -> str:
    """The tracking URI in force: ``MLFLOW_TRACKING_URI`` or the project's SQLite store."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{default_store()}"


def experiment_name(area: str) -> str:
    """Experiment name for an extract's area (one experiment per IOM unit)."""
    return f"iom/{area}"


# The experiment kind MLflow 3's UI reads to choose an experiment's first view: this one
# opens on its runs (the UI's "custom_model_development"), not on the GenAI "Traces" view.
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
EXPERIMENT_KIND = "custom_model_development"
NOTE_TAG = "mlflow.note.content"  # the experiment's description in the UI


def experiment_note(name: str) -> str:
    """The description shown on an area's experiment page."""
    return (
        f"Runs of the IOM pipeline for the area **{name.removeprefix('iom/')}**: one run per stage "
        "(simulate, validate, link, features, typology, train, audit, publish). The risk model is "
        "registered as `iom-risk` (Models); its version page carries the model card's headline, "
        "the fairness verdict per characteristic and links to the train and audit runs."
    )


def area_near(folder: Path, default: str) -> str:
    """The area of the extract whose stage outputs sit beside ``folder`` (``data/linked`` ->
    ``data/validated/manifest.json``), or ``default`` when there is no such manifest."""
    manifest = Path(folder).parent / "validated" / "manifest.json"
    return area_of(manifest) if manifest.exists() else default


def area_of_run(run_id: str | None, default: str) -> str:
    """The area of the experiment holding ``run_id`` (``iom/<area>``), or ``default``."""
    if not run_id:
        return default
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    import mlflow

    mlflow.set_tracking_uri(tracking_uri())
    try:
        client = mlflow.MlflowClient()
        name = client.get_experiment(client.get_run(run_id).info.experiment_id).name
    except Exception:  # the run is in another store
        return default
    return name.removeprefix("iom/")


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
        uri = tracking_uri()
        if uri.startswith("sqlite:///"):
            # Artifacts live beside the SQLite file: mlartifacts/ at the repo root by
            # default, or next to whatever database MLFLOW_TRACKING_URI names.
            location = (Path(uri.removeprefix("sqlite:///")).resolve().parent / "mlartifacts").as_uri()
        exp_id = mlflow.create_experiment(
            name,
            artifact_location=location,
            tags={EXPERIMENT_KIND_TAG: EXPERIMENT_KIND, NOTE_TAG: experiment_note(name)},
        )
    else:
        exp_id = exp.experiment_id
        if exp.tags.get(EXPERIMENT_KIND_TAG) != EXPERIMENT_KIND:  # made before the tag existed
            mlflow.MlflowClient().set_experiment_tag(exp_id, EXPERIMENT_KIND_TAG, EXPERIMENT_KIND)
    mlflow.set_experiment(experiment_id=exp_id)
    return str(exp_id)


def flatten_numbers(tree: Any, prefix: str = "") -> dict[str, float]:
    """Numeric leaves of a nested metrics mapping as ``a/b/c`` keys (booleans as 0/1).

    Examples
    --------
    >>> flatten_numbers({"police": {"accepted": 3, "ok": True}, "note": "x"})
    {'police/accepted': 3.0, 'police/ok': 1.0}
    """
    out: dict[str, float] = {}
    if isinstance(tree, dict):
        for k, v in tree.items():
            out.update(flatten_numbers(v, f"{prefix}{_clean(str(k))}/"))
    elif isinstance(tree, bool | int | float) and not (isinstance(tree, float) and math.isnan(tree)):
        out[prefix.rstrip("/")] = float(tree)
    return out


def _clean(key: str) -> str:
    return re.sub(r"[^0-9A-Za-z_\-. /]", "_", key)


def area_of(manifest: Path) -> str:
    """The extract's area, from its manifest."""
    return str(json.loads(manifest.read_text(encoding="utf-8"))["area"])


def log_stage_run(stage: str, area: str, metrics_file: Path, params: dict[str, Any] | None = None) -> str:
    """Record a stage's aggregate metrics as an MLflow run; return the run id.

    Only aggregates go to MLflow: the metrics file's numbers and the stage's params,
    never row-level data (rejects and Data Docs stay on the analyst's machine).
    """
    configure_mlflow(area)
    import mlflow

    metrics = json.loads(metrics_file.read_text(encoding="utf-8"))
    with mlflow.start_run(run_name=stage, tags={"stage": stage, "area": area}) as run:
        if params:
            flat = {k: str(v)[:500] for k, v in _flatten_any(params).items()}
            mlflow.log_params(flat)
        numbers = flatten_numbers(metrics)
        if numbers:
            mlflow.log_metrics(numbers)
        mlflow.log_artifact(str(metrics_file), artifact_path="metrics")
        return str(run.info.run_id)


def _flatten_any(tree: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(tree, dict):
        out: dict[str, Any] = {}
        for k, v in tree.items():
            out.update(_flatten_any(v, f"{prefix}{_clean(str(k))}."))
        return out
    return {prefix.rstrip("."): tree}
