"""Stage ``score``: a new extract -> panel-date risk scores from a *registered* model.

Panels meet monthly and the model is retrained rarely, so scoring does not retrain: it
validates and links the new extract with the same stage code as the pipeline
(:mod:`pipelines.validate`, :mod:`pipelines.link`), builds the features of the panel date
only, fetches a registered ``iom-risk`` version from MLflow (its trees, calibrator and
bootstrap refits) and writes, in ``out``:

- ``scores.parquet``: as ``iom train`` writes it (risk, interval, rank, reasons);
- ``registration.json``: the version used (same shape as ``iom train``'s);
- ``typology.parquet``: the panel date's typologies from the saved typology model
  (skipped, with a warning, when that model is not there). When that model pools each
  person's history (``typology.pool_history``), the earlier as-of dates the features
  stage builds are built too, so each person is judged on the same dates as in the
  typology stage and gets the same typology.

The validated/linked/features tables go to ``work`` (a temporary folder when not given).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from features import FeatureParams, as_of_dates_before_panel
from features.partitions import write_partition
from iom_config import DEFAULT_PARAMS, load_params
from iom_io import write_parquet
from iom_spark import load_engine
from models.risk import RiskModel
from models.risk_params import TrainParams
from models.spark import score_people
from pipelines import link, validate
from pipelines import typology as typology_stage
from pipelines.features import build_linked_features, extract_records_start, open_linked, read_extract_date
from pipelines.train import AREA

logger = logging.getLogger(__name__)


def panel_features(
    linked: Path, manifest: Path, panel_date: dt.date | None, params_path: Path
) -> pd.DataFrame:
    """The cohort's features at the panel date only (default: ``features.panel_date`` or the extract date)."""
    params = load_params("features", FeatureParams, params_path)
    if panel_date is not None:
        params = params.model_copy(update={"panel_date": panel_date.isoformat()})
    extract_date = read_extract_date(manifest)
    panel = pd.Timestamp(params.panel_date) if params.panel_date else extract_date
    engine = load_engine(params_path)
    frame = build_linked_features(open_linked(linked, engine), [panel], params, extract_date, engine)
    logger.info("score: %d people at the panel date %s", len(frame), panel.date())
    return frame


def check_history_window(model: RiskModel, history_months: int, record: dict[str, Any]) -> None:
    """Refuse features built with another history window than the model was trained on.

    "Offences in the last 10 years" and "in the last 5 years" are different features
    under the same column name; scoring one with a model trained on the other would be
    silently wrong.
    """
    if int(model.history_months) != int(history_months):
        raise ValueError(
            f"model {record.get('name')} version {record.get('version')} was trained on features "
            f"looking back {model.history_months} months, but params.yaml features.history_months "
            f"is {history_months}: set features.history_months to {model.history_months} to score "
            "with this version, or retrain (dvc repro) and score with the new version"
        )


def features_before_panel(
    linked: Path, manifest: Path, panel: pd.Timestamp, params_path: Path
) -> pd.DataFrame:
    """The cohort's features at every as-of date the features stage builds before ``panel``.

    The same dates as the features stage (:func:`features.as_of_dates_before_panel`, from
    the same records start), so a typology pooled over a person's history
    (``typology.pool_history``) sees the same history here as in the typology stage.
    """
    params = load_params("features", FeatureParams, params_path)
    params = params.model_copy(update={"panel_date": panel.date().isoformat()})
    extract_date = read_extract_date(manifest)
    engine = load_engine(params_path)
    tables = open_linked(linked, engine)
    start, source = extract_records_start(manifest, tables)
    dates = as_of_dates_before_panel(params, extract_date, start, source)
    logger.info("score: building %d earlier as-of dates for the typology's history", len(dates))
    return build_linked_features(tables, dates, params, extract_date, engine)


def assign_typologies(
    frame: pd.DataFrame, typology_model: Path, linked: Path, manifest: Path, params_path: Path
) -> pd.DataFrame | None:
    """Typology per person at the panel date from the saved typology model, or None when it is missing.

    ``frame`` is the panel date's features; with a model that pools history, the earlier
    dates are built from ``linked`` (:func:`features_before_panel`) and pooled with it.
    """
    if not Path(typology_model).exists():
        logger.warning("no typology model at %s: typology.parquet not written", typology_model)
        return None
    from models.typology import assign_typology_at, load_model

    model = load_model(typology_model)
    panel = pd.Timestamp(frame["as_of_date"].iloc[0]) if len(frame) else pd.Timestamp(0)
    rows = frame
    if model.pool_history and len(frame):
        rows = pd.concat(
            [features_before_panel(linked, manifest, panel, params_path), frame], ignore_index=True
        )
    engine = load_engine(params_path)
    if engine.is_spark:
        from features.spark import to_spark
        from iom_spark import open_spark
        from models.spark import assign_typology_spark, n_partitions_for

        spark = open_spark(engine.spark)
        n = n_partitions_for(len(rows), engine.spark)
        assigned = assign_typology_spark(model, to_spark(spark, rows), rows.iloc[:0], n, at=panel)
    else:
        assigned = assign_typology_at(model, rows, panel)
    return assigned.loc[:, list(typology_stage.OUTPUT_COLUMNS)]


def run(
    extract: Path,
    panel_date: dt.date | None,
    model_version: str | None,
    out: Path,
    params_path: Path = DEFAULT_PARAMS,
    typology_model: Path = Path("data/typology/model.json"),
    work: Path | None = None,
) -> dict[str, Any]:
    """Score ``extract`` at ``panel_date`` with a registered model version; return its record.

    Parameters
    ----------
    extract
        A partner-record extract folder (contract shape).
    panel_date
        The panel's as-of date; None: ``features.panel_date`` or the extract date.
    model_version
        Version of ``train.register_name`` in the MLflow registry; None: the latest.
    out
        Folder for ``scores.parquet``, ``registration.json`` and ``typology.parquet``.
    params_path
        The params file (``validate``, ``link``, ``features`` and ``train`` sections).
    typology_model
        ``model.json`` written by ``iom typology``.
    work
        Folder for the intermediate tables; a temporary folder (removed) when None.
    """
    if work is None:
        with tempfile.TemporaryDirectory(prefix="iom-score-") as tmp:
            return run(extract, panel_date, model_version, out, params_path, typology_model, Path(tmp))
    from models.risk_mlflow import fetch_model
    from pipelines.tracking import configure_mlflow

    work = Path(work)
    train_params = load_params("train", TrainParams, params_path)
    validate.run(
        Path(extract), work / "validated", work / "metrics" / "validation.json", work / "docs", params_path
    )
    link.run(
        work / "validated",
        work / "linked",
        work / "reid",
        work / "metrics" / "linkage.json",
        work / "linkage",
        params_path,
    )
    frame = panel_features(work / "linked", work / "validated" / "manifest.json", panel_date, params_path)
    write_partition(
        frame, work / "features", pd.Timestamp(frame["as_of_date"].iloc[0]) if len(frame) else pd.Timestamp(0)
    )

    configure_mlflow(AREA)
    model, record = fetch_model(train_params.register_name, model_version, work / "model")
    check_history_window(model, load_params("features", FeatureParams, params_path).history_months, record)
    persons = pd.read_parquet(work / "linked" / "persons.parquet", columns=["pseudo_id", "sex", "ethnicity"])
    scores = score_people(model, frame, persons, load_engine(params_path))

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_parquet(scores, out / "scores.parquet")
    # The model files beside the scores (as in the train stage's folder): the panel pack
    # reads how the interval was made from risk_model.json.
    model.save(out)
    (out / "registration.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    typologies = assign_typologies(
        frame, Path(typology_model), work / "linked", work / "validated" / "manifest.json", params_path
    )
    if typologies is not None:
        write_parquet(typologies, out / "typology.parquet")
    logger.info("scored %d people with %s v%s", len(scores), record["name"], record["version"])
    return record
