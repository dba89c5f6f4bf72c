"""Stage ``card``: the model card and the registered version's description, after the audit.

The version is registered by ``train``, but its fairness verdicts come from ``audit``,
which runs after it; so this stage runs last of the three. It renders the card
(:mod:`models.card`) from the train stage's ``evaluation.json`` and charts, the audit's
``verdicts.json`` and the drift stage's ``drift.json``, writes it to ``reports/card/``
and, when the model is registered, updates the version in MLflow
(:func:`models.risk_mlflow.describe_version`): the description becomes the card's
headline with links to the audit run, the train run and the fairness report; the card
goes to the top of the model's artifacts; tags ``audit_run_id`` and
``fairness_verdicts`` name the audit.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from models.card import CardInputs, render_description, write_model_card

logger = logging.getLogger(__name__)

REPORT = "fairness_report.html"


def read_json(path: Path | None) -> dict[str, Any] | None:
    """A JSON file's content, or None when the file is absent."""
    if path is None or not Path(path).exists():
        return None
    return dict(json.loads(Path(path).read_text(encoding="utf-8")))


def run(
    model_dir: Path,
    model_reports: Path,
    verdicts: Path | None,
    drift: Path | None,
    out: Path,
    track: bool = True,
) -> dict[str, Any]:
    """Render the card to ``out``; describe the registered version in MLflow; return what was done."""
    evaluation = read_json(Path(model_reports) / "evaluation.json")
    if evaluation is None:
        raise FileNotFoundError(f"{model_reports}/evaluation.json not found: run `iom train` first")
    registration = read_json(Path(model_dir) / "registration.json") or {}
    name = str(registration.get("name") or evaluation["params"]["register_name"])
    version = str(registration.get("version") or "unregistered")
    inputs = CardInputs(
        evaluation=evaluation,
        verdicts=read_json(verdicts),
        drift=read_json(drift),
        version=version,
        report=f"[{REPORT}](../fairness/{REPORT})",
        # Markdown sections the train stage adds to the Limits (e.g. an evidence comparison).
        limits_extra=[str(x) for x in evaluation.get("limits_extra", [])],
    )
    registered = track and version not in ("unregistered", "unknown")
    audit_run = train_run = None
    if registered:
        import mlflow

        from models.risk_mlflow import find_audit_run, run_link
        from pipelines.tracking import tracking_uri

        mlflow.set_tracking_uri(tracking_uri())  # the runs are found by id, whatever their experiment

        audit_run = find_audit_run(name, version)
        if registration.get("run_id"):
            train_run = mlflow.MlflowClient().get_run(str(registration["run_id"]))
        links = []
        if audit_run is not None:
            links += [
                ("fairness report", run_link(audit_run, REPORT)),
                ("audit run", run_link(audit_run)),
            ]
            inputs.report = f"the audit run's artifact `{REPORT}` (MLflow run `{audit_run.info.run_id}`)"
        if train_run is not None:
            links += [
                ("train run", run_link(train_run)),
                ("model card", run_link(train_run, "model_card.html")),
            ]
        inputs.links = links
    files = write_model_card(inputs, Path(model_reports), Path(out))
    done: dict[str, Any] = {"name": name, "version": version, "card": [str(f) for f in files]}
    if registered:
        from models.risk_mlflow import describe_version

        tags = {"fairness_verdicts": "present" if inputs.verdicts else "pending"}
        if audit_run is not None:
            tags["audit_run_id"] = str(audit_run.info.run_id)
        if train_run is not None:
            tags["train_run_id"] = str(train_run.info.run_id)
        description = render_description(inputs)
        describe_version(name, version, description, files, tags)
        done["description"] = description
        logger.info("described %s v%s in MLflow (audit run %s)", name, version, tags.get("audit_run_id"))
    return done
