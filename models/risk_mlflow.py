"""The risk model in the MLflow registry: log, register (content-addressed) and fetch.

A model version is identified by the sha256 of its saved files (trees, calibrator JSON and
bootstrap refits: :func:`models.risk.model_fingerprint`), kept as the version's
``fingerprint`` tag. Registering a model whose fingerprint a version already carries
reuses that version, so a retrain that reproduces the model (same data, params and seed)
leaves the registry and the stage outputs unchanged.

Only model files and aggregate reports go to MLflow, never scores or predictions (row
level).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from models.risk import RiskModel, interval_columns, model_files

logger = logging.getLogger(__name__)

# Inference needs only these: pinning them avoids MLflow inferring the whole environment.
PIP_REQUIREMENTS = ["xgboost-cpu==3.2.*", "pandas>=3", "numpy>=2", "scikit-learn==1.9.*"]
FINGERPRINT_TAG = "fingerprint"
MODEL_ARTIFACTS = "artifacts"  # folder of the logged pyfunc model holding the saved files


def _quiet_env() -> None:
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


def _python_model() -> Any:
    import mlflow.pyfunc

    class RiskPyfunc(mlflow.pyfunc.PythonModel):  # type: ignore[misc,name-defined]
        """``predict`` returns risk_12m and its bootstrap interval."""

        def load_context(self, context: Any) -> None:
            self.model = RiskModel.load(Path(context.artifacts["risk_model.json"]).parent)

        def predict(
            self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
        ) -> pd.DataFrame:
            X = model_input.loc[:, list(self.model.feature_names_in_)]
            out = pd.DataFrame({"risk_12m": self.model.predict_proba(X)[:, 1]}, index=X.index)
            return pd.concat([out, interval_columns(self.model, X)], axis=1)

    return RiskPyfunc()


def registration_record(
    name: str,
    version: str,
    run_id: str | None,
    fingerprint: str,
    trained_on: str,
    registered_at: str | None,
) -> dict[str, Any]:
    """The ``registration.json`` content (docs/interfaces.md)."""
    return {
        "name": name,
        "version": version,
        "run_id": run_id,
        "fingerprint": fingerprint,
        "trained_on": trained_on,
        "registered_at": registered_at,
    }


def find_version(name: str, fingerprint: str) -> Any | None:
    """The lowest version of ``name`` tagged with ``fingerprint``, or None."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient()
    try:
        found = client.search_model_versions(f"name='{name}' and tag.{FINGERPRINT_TAG}='{fingerprint}'")
    except MlflowException:
        return None
    return min(found, key=lambda v: int(v.version)) if found else None


def _version_record(mv: Any, fingerprint: str, trained_on: str) -> dict[str, Any]:
    created = dt.datetime.fromtimestamp(int(mv.creation_timestamp) / 1000, tz=dt.UTC).date()
    return registration_record(
        mv.name, str(mv.version), mv.run_id, fingerprint, trained_on, created.isoformat()
    )


def register_model(
    out: Path,
    model: RiskModel,
    fingerprint: str,
    trained_on: str,
    register_name: str,
    extra_artifacts: list[Path],
    log_run: Any,
) -> dict[str, Any]:
    """Register the model saved in ``out`` unless a version already has its fingerprint.

    Parameters
    ----------
    out
        Folder the model was saved to (:meth:`RiskModel.save`).
    fingerprint
        :func:`models.risk.model_fingerprint` of ``out``.
    trained_on
        Last as-of date of the training block (ISO).
    extra_artifacts
        Files logged inside the model (the model card), aggregates only.
    log_run
        Called with no argument inside the new MLflow run to log params/metrics/plots.

    Returns
    -------
    dict
        :func:`registration_record` of the new or reused version.
    """
    _quiet_env()
    import mlflow
    from mlflow import MlflowClient
    from mlflow.models import infer_signature

    existing = find_version(register_name, fingerprint)
    if existing is not None:
        logger.info(
            "model unchanged (fingerprint %s): reusing %s v%s",
            fingerprint[:12],
            register_name,
            existing.version,
        )
        return _version_record(existing, fingerprint, trained_on)

    features = [str(c) for c in model.feature_names_in_]
    example = pd.DataFrame({c: np.zeros(1, dtype=np.float64) for c in features})
    signature = infer_signature(
        example, pd.DataFrame({"risk_12m": [0.5], "risk_12m_low": [0.4], "risk_12m_high": [0.6]})
    )
    artifacts = {f.name: str(f) for f in [*model_files(out), *extra_artifacts]}
    with mlflow.start_run(run_name="train", tags={"stage": "train", FINGERPRINT_TAG: fingerprint}) as run:
        log_run()
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=_python_model(),
            artifacts=artifacts,
            pip_requirements=PIP_REQUIREMENTS,
            signature=signature,
            input_example=example,
            registered_model_name=register_name,
        )
        run_id = str(run.info.run_id)
    version = str(info.registered_model_version)
    client = MlflowClient()
    client.set_model_version_tag(register_name, version, FINGERPRINT_TAG, fingerprint)
    client.set_model_version_tag(register_name, version, "trained_on", trained_on)
    logger.info("registered %s v%s (run %s)", register_name, version, run_id)
    return _version_record(client.get_model_version(register_name, version), fingerprint, trained_on)


def fetch_model(name: str, version: str | None, dst: Path | None = None) -> tuple[RiskModel, dict[str, Any]]:
    """Download a registered version (default: the latest) and load it, with its record.

    The bootstrap refits are part of the logged files, so intervals reproduce exactly.
    """
    _quiet_env()
    import mlflow
    from mlflow import MlflowClient

    client = MlflowClient()
    if version is None:
        versions = client.search_model_versions(f"name='{name}'")
        if not versions:
            raise LookupError(f"no registered versions of {name!r} at {mlflow.get_tracking_uri()}")
        version = str(max(int(v.version) for v in versions))
    mv = client.get_model_version(name, version)
    folder = Path(dst) if dst is not None else Path(tempfile.mkdtemp(prefix="iom-risk-"))
    local = Path(
        mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{name}/{version}", dst_path=str(folder))
    )
    model = RiskModel.load(local / MODEL_ARTIFACTS)
    fingerprint = mv.tags.get(FINGERPRINT_TAG, "")
    record = _version_record(mv, fingerprint, mv.tags.get("trained_on", ""))
    return model, record


PANEL_ALIAS = "panel"  # the version that scored the latest published cohort list


def set_panel_alias(name: str, version: str, alias: str = PANEL_ALIAS) -> bool:
    """Point ``alias`` at the version that scored the list just published; False if not registered."""
    _quiet_env()
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    if not version or version in ("unregistered", "unknown"):
        return False
    client = MlflowClient()
    try:
        client.set_registered_model_alias(name, alias, str(version))
        described = client.get_model_version(name, str(version)).description or ""
        # The registered model's page (one click from Models) shows the panel version's headline.
        client.update_registered_model(
            name,
            description=(
                f"Alias **`{alias}`** is **version {version}**: the version that scored the latest "
                f"published cohort list. Its card's headline:\n\n{described}"
            ),
        )
        point_experiment_at_version(name, str(version), alias)
    except MlflowException as exc:  # the version lives in another store
        logger.warning("could not set alias %r on %s v%s: %s", alias, name, version, exc)
        return False
    logger.info("alias %r -> %s v%s", alias, name, version)
    return True


ENTRY_MARK = "Auditor, start here:"  # plain: the home page lists descriptions unrendered
NOTE_TAG = "mlflow.note.content"


def point_experiment_at_version(name: str, version: str, alias: str = PANEL_ALIAS) -> None:
    """Open the training run's experiment description with a link to the version's page.

    MLflow 3.17's UI opens an experiment on its GenAI overview unless the reader has
    switched to "Model training" (the experiment's ``mlflow.experimentKind`` tag is not
    read any more), so the experiment's description, shown at the top of either view,
    carries the link: home page -> the area's experiment -> this link -> the version's
    description with the fairness verdicts. The line replaces the previous one.
    """
    from mlflow import MlflowClient

    client = MlflowClient()
    mv = client.get_model_version(name, version)
    if not mv.run_id:
        return
    exp_id = client.get_run(mv.run_id).info.experiment_id
    note = client.get_experiment(exp_id).tags.get(NOTE_TAG, "")
    rest = "\n".join(line for line in note.splitlines() if not line.startswith(ENTRY_MARK)).strip()
    entry = (
        f"{ENTRY_MARK} [{name} version {version}](#/models/{name}/versions/{version}) (alias `{alias}`: "
        "the version that scored the latest published list): its model card headline and the fairness "
        "verdict per characteristic."
    )
    client.set_experiment_tag(exp_id, NOTE_TAG, f"{entry}\n\n{rest}" if rest else entry)


def find_audit_run(name: str, version: str) -> Any | None:
    """The latest ``audit`` run of a registered version (its ``fairness_run_id`` tag, else a search)."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient()
    mv = client.get_model_version(name, version)
    run_id = mv.tags.get("fairness_run_id")
    if run_id:
        try:
            return client.get_run(run_id)
        except MlflowException:
            pass
    runs = client.search_runs(
        experiment_ids=[e.experiment_id for e in client.search_experiments()],
        filter_string=(
            f"tags.stage = 'audit' and tags.model_name = '{name}' and tags.model_version = '{version}'"
        ),
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    return runs[0] if runs else None


def run_link(run: Any, artifact: str | None = None) -> str:
    """The MLflow UI's address of a run (or of one of its artifacts), relative to the UI's root."""
    base = f"#/experiments/{run.info.experiment_id}/runs/{run.info.run_id}"
    return f"{base}/artifacts/{artifact}" if artifact else base


def describe_version(
    name: str, version: str, description: str, card_files: list[Path], tags: dict[str, str]
) -> None:
    """Write the version's description, log the card at the top of its model's artifacts, tag it.

    Called after the audit (stage ``card``): the version was registered by ``train``, its
    verdicts exist only now. The card goes to the logged model's own artifact root, beside
    ``MLmodel``, not into ``artifacts/`` among the bootstrap refits.
    """
    _quiet_env()
    from mlflow import MlflowClient

    client = MlflowClient()
    mv = client.get_model_version(name, version)
    # The logged model behind the version (MLflow 3): its id, or the source "models:/<id>".
    model_id = getattr(mv, "model_id", None) or (
        str(mv.source).removeprefix("models:/") if str(mv.source).startswith("models:/m-") else None
    )
    for path in card_files:
        if model_id:
            client.log_model_artifact(model_id, str(path))
        if mv.run_id:  # and on the training run's page, at its top
            client.log_artifact(mv.run_id, str(path))
    client.update_model_version(name, version, description=description)
    for key, value in tags.items():
        client.set_model_version_tag(name, version, key, value)
