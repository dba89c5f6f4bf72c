"""Write a validation's outputs: Parquet tables, quarantine, manifest, metrics, Data Docs."""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path
from typing import Any

import pandas as pd

from iom_contract import TABLES_BY_NAME
from iom_io import write_parquet
from validation.core import ValidationResult
from validation.datadocs import render_data_docs
from validation.quarantine import empty_rejects

logger = logging.getLogger(__name__)

REJECTS_DIR = "rejects"


def metrics_for_file(metrics: dict[str, Any]) -> dict[str, Any]:
    """The metrics without anything that varies between identical runs (timings)."""
    return {k: v for k, v in metrics.items() if k != "elapsed_seconds"}


DETAIL_FILE = "validation.json"


def headline(metrics: dict[str, Any]) -> dict[str, Any]:
    """The figures ``metrics/validation.json`` keeps for ``dvc metrics show``.

    ``dvc metrics show`` puts every metrics file's keys side by side in one table, so the
    tracked file holds only what a person scans: rows accepted, rows rejected, and whether
    every table reconciles. Per-table figures are in ``<docs>/validation.json``.
    """
    totals = metrics["totals"]
    return {
        "accepted": totals["accepted"],
        "rejected": totals["rejected"],
        "reconciled": totals["reconciled"],
    }


def write_validation_outputs(
    result: ValidationResult, out_dir: Path, metrics_path: Path, docs_dir: Path
) -> None:
    """Write everything the validate stage produces.

    Parameters
    ----------
    result
        From ``validate_extract``.
    out_dir
        Receives ``<table>.parquet`` (accepted rows), ``rejects/<table>.parquet``
        (quarantined rows; an empty file with the right columns when there are none)
        and ``manifest.json``.
    metrics_path
        JSON headline metrics file (``headline``), for ``dvc metrics show``.
    docs_dir
        Great Expectations Data Docs site (``index.html``), viewable offline, and
        ``validation.json``: every figure per table (sorted keys, no timings, so identical
        runs give identical files).
    """
    out_dir = Path(out_dir)
    (out_dir / REJECTS_DIR).mkdir(parents=True, exist_ok=True)
    for name, frame in result.accepted.items():
        if isinstance(frame, pd.DataFrame):
            write_parquet(frame, out_dir / f"{name}.parquet")
        else:  # the Spark engine's staged parts, joined into the same file, then deleted
            frame.write_parquet(out_dir / f"{name}.parquet")
            frame.remove()
    for name in result.accepted:
        rejects = result.rejects.get(name)
        if rejects is None:
            rejects = empty_rejects(TABLES_BY_NAME[name])
        write_parquet(rejects, out_dir / REJECTS_DIR / f"{name}.parquet")
    (out_dir / "manifest.json").write_text(
        json.dumps(result.manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    metrics_path = Path(metrics_path)
    metrics_path.parent.mkdir(parents=True, exist_ok=True)
    metrics_path.write_text(json.dumps(headline(result.metrics), indent=2) + "\n", encoding="utf-8")
    run_time = dt.datetime.combine(result.extract_date.date(), dt.time(), tzinfo=dt.UTC)
    render_data_docs(result.suites, result.gx_results, result.examples, run_time, docs_dir)
    (Path(docs_dir) / DETAIL_FILE).write_text(
        json.dumps(metrics_for_file(result.metrics), indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    logger.info("validated tables written to %s, metrics to %s", out_dir, metrics_path)
