"""Stage ``features``: linked tables -> cohort features and labels per as-of date.

Reads ``data/linked/*.parquet`` and the extract date from the validated manifest,
builds each as-of date with :func:`features.iter_features` (``engine: spark``: the same
function per partition of people, :mod:`features.spark`), and writes one Parquet
partition per date (``as_of_date=YYYY-MM-DD/part-0.parquet``, rows sorted by
``pseudo_id``) plus ``metrics/features.json``.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from rich.progress import track

from features import FeatureParams, build_features, default_as_of_dates, feature_names, iter_features
from features.asof import records_start
from features.encode import linked_files
from features.partitions import PARTITION_PREFIX, write_partition
from iom_config import DEFAULT_PARAMS, load_params
from iom_spark import EngineChoice, load_engine

logger = logging.getLogger(__name__)

DETAIL_FILE = "features.json"  # every figure, beside the partitions; metrics/features.json is the headline


def headline(result: dict[str, Any]) -> dict[str, Any]:
    """The figures ``metrics/features.json`` keeps for ``dvc metrics show``: as-of dates,
    rows over all of them, and the cohort at the panel date. Per-date figures are in
    ``<out>/features.json``."""
    panel = result["dates"].get(result["panel_date"], {})
    return {
        "n_as_of_dates": result["n_as_of_dates"],
        "rows_total": result["rows_total"],
        "panel_cohort": panel.get("cohort_size"),
    }


def read_linked(linked: Path) -> dict[str, pd.DataFrame]:
    """Read the linked tables the features need (only the columns used)."""
    return {
        name: pd.read_parquet(path, columns=list(columns)) for name, path, columns in linked_files(linked)
    }


def read_extract_date(manifest: Path) -> pd.Timestamp:
    """The ``extract_date`` of the validated extract's manifest."""
    try:
        value = json.loads(Path(manifest).read_text(encoding="utf-8"))["extract_date"]
    except KeyError:
        raise ValueError(f"{manifest}: no extract_date") from None
    return pd.Timestamp(value).normalize()


def read_records_start(manifest: Path) -> pd.Timestamp | None:
    """The manifest's ``records_start`` (when the agencies' records begin), if it has one."""
    value = json.loads(Path(manifest).read_text(encoding="utf-8")).get("records_start")
    return None if value is None else pd.Timestamp(value).normalize()


def extract_records_start(manifest: Path, tables: Mapping[str, Any]) -> tuple[pd.Timestamp | None, str]:
    """When the extract's records start, and where that comes from (for error messages).

    The manifest's own ``records_start`` if it states one, else the earliest police
    offence (:func:`features.asof.records_start`; on Spark frames, computed on Spark over
    the whole extract). The features stage's as-of dates, and the earlier dates ``iom
    score`` builds for the typology, both start from it.
    """
    start = read_records_start(manifest)
    if start is not None:
        return start, "the manifest's records_start"
    if not isinstance(tables["offences"], pd.DataFrame):
        from features.spark import records_start_spark

        return records_start_spark(tables), "the earliest offence in the extract"
    return records_start(tables), "the earliest offence in the extract"


def open_linked(linked: Path, engine: EngineChoice) -> dict[str, Any]:
    """The linked tables on ``engine``: pandas frames (``local``) or Spark frames (``spark``)."""
    if not engine.is_spark:
        return read_linked(linked)
    from features.spark import read_linked_spark
    from iom_spark import open_spark

    return read_linked_spark(open_spark(engine.spark), linked)


def iter_linked_features(
    tables: Mapping[str, Any],
    dates: list[pd.Timestamp],
    params: FeatureParams,
    extract_date: pd.Timestamp,
    engine: EngineChoice,
) -> Iterator[tuple[pd.Timestamp, pd.DataFrame]]:
    """:func:`features.iter_features` on ``engine`` (tables from :func:`open_linked`); the same frames."""
    if engine.is_spark:
        from features.spark import iter_features_spark

        return iter_features_spark(tables, dates, params, extract_date, engine.spark)
    return iter_features(tables, dates, params, extract_date)


def build_linked_features(
    tables: Mapping[str, Any],
    dates: list[pd.Timestamp],
    params: FeatureParams,
    extract_date: pd.Timestamp,
    engine: EngineChoice,
) -> pd.DataFrame:
    """:func:`features.build_features` on ``engine`` (tables from :func:`open_linked`); the same frame."""
    if not engine.is_spark:
        return build_features(tables, dates, params, extract_date)
    from features.spark import features_template

    frames = [frame for _, frame in iter_linked_features(tables, dates, params, extract_date, engine)]
    return pd.concat(frames, ignore_index=True) if frames else features_template(params, extract_date)


def _date_metrics(frame: pd.DataFrame) -> dict[str, Any]:
    n_due = int(frame["release_due"].notna().sum())
    complete = bool(frame["label_complete"].all()) if len(frame) else None
    label_rate = float(frame["label"].mean()) if len(frame) and complete else None
    return {
        "rows": len(frame),
        "cohort_size": len(frame) - n_due,
        "n_release_due": n_due,
        "label_complete": complete,
        "label_rate": None if label_rate is None else round(label_rate, 6),
    }


def run(
    linked: Path,
    manifest: Path,
    out: Path,
    metrics: Path,
    params_path: Path = DEFAULT_PARAMS,
) -> dict[str, Any]:
    """Build and write the features of every as-of date; return the metrics written.

    Parameters
    ----------
    linked
        Folder of linked tables (``persons.parquet`` ...).
    manifest
        ``data/validated/manifest.json``, for the extract date.
    out
        Folder for the ``as_of_date=...`` partitions; earlier partitions are removed.
    metrics
        Path of the metrics JSON.
    params_path
        params.yaml holding the ``features:`` section.
    """
    params = load_params("features", FeatureParams, params_path)
    engine = load_engine(params_path)
    extract_date = read_extract_date(manifest)
    tables = open_linked(linked, engine)
    # Dates without history_months of records before the records start are refused, not
    # dropped: the train stage's split dates are fixed, a silently shorter training span
    # would hide the problem, and moving train_start (visible in params.yaml) is the
    # analyst's call.
    start, source = extract_records_start(manifest, tables)
    dates = default_as_of_dates(params, extract_date, start, source)
    panel = pd.Timestamp(params.panel_date or extract_date)
    logger.info(
        "features: %d as-of dates %s..%s, extract %s",
        len(dates),
        dates[0].date(),
        dates[-1].date(),
        extract_date.date(),
    )

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob(f"{PARTITION_PREFIX}*"):
        shutil.rmtree(stale)
    per_date: dict[str, dict[str, Any]] = {}
    stream = iter_linked_features(tables, dates, params, extract_date, engine)
    for as_of, frame in track(stream, total=len(dates), description="features", transient=True):
        write_partition(frame, out, as_of)
        per_date[as_of.date().isoformat()] = _date_metrics(frame)
        logger.info("as of %s: %d rows", as_of.date(), len(frame))

    result: dict[str, Any] = {
        "extract_date": extract_date.date().isoformat(),
        "records_start": None if start is None else start.date().isoformat(),
        "history_months": params.history_months,
        "panel_date": panel.date().isoformat(),
        "n_as_of_dates": len(dates),
        "n_features": len(feature_names(params.windows)),
        "rows_total": sum(m["rows"] for m in per_date.values()),
        "dates": per_date,
    }
    (out / DETAIL_FILE).write_text(json.dumps(result, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    metrics = Path(metrics)
    metrics.parent.mkdir(parents=True, exist_ok=True)
    metrics.write_text(json.dumps(headline(result), indent=2) + "\n", encoding="utf-8")
    return result
