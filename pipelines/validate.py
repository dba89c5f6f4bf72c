"""The ``validate`` stage: extract -> accepted tables, quarantine, metrics, Data Docs.

Reads the extract named on the command line (default: ``validate.extract`` in
params.yaml), validates it against the data contract with Great Expectations and
writes ``data/validated/``, ``metrics/validation.json`` and ``reports/validation/``.
With ``engine: spark`` in params.yaml the rows are read, checked and split on Spark
(``spark:`` settings), with the same outputs.
A table-level failure (missing file or column, wrong row count, bad manifest) is
logged as one message for the analyst and exits with status 2.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from iom_config import DEFAULT_PARAMS, load_params
from iom_spark import load_engine
from validation import (
    ExtractError,
    ValidateParams,
    ValidationResult,
    validate_extract,
    write_validation_outputs,
)
from validation.outputs import REJECTS_DIR

logger = logging.getLogger(__name__)

EXIT_EXTRACT_ERROR = 2


def failure_summary(result: ValidationResult) -> pd.DataFrame:
    """Quarantined rows per table, column and (first) rule, with the first example.

    Columns: table, column, rule, count, example (``row <n>: "<value as sent>"``).
    """
    parts = []
    for name, rejects in result.rejects.items():
        if rejects.empty:
            continue
        # The value of each row's failing column, as sent.
        columns = rejects["column"].to_numpy()
        values = pd.Series([None] * len(rejects), index=rejects.index, dtype="string")
        for col in pd.unique(columns):
            mask = columns == col
            values[mask] = rejects.loc[mask, col].astype("string")
        example = (
            "row " + rejects["source_row"].astype("string") + ": " + ('"' + values + '"').fillna("empty")
        )
        grouped = (
            pd.DataFrame({"column": rejects["column"], "rule": rejects["rule"], "example": example})
            .groupby(["column", "rule"], sort=True)
            .agg(count=("example", "size"), example=("example", "first"))
            .reset_index()
        )
        parts.append(grouped.assign(table=name))
    if not parts:
        return pd.DataFrame(columns=["table", "column", "rule", "count", "example"])
    return pd.concat(parts, ignore_index=True)[["table", "column", "rule", "count", "example"]]


def log_summary(result: ValidationResult, rejects_dir: Path) -> None:
    """Log one line per (table, column, first rule) that quarantined rows, then totals.

    Per-table counts are logged by ``validate_extract`` as each table finishes. One
    short line per fact reads the same in a terminal, a DVC log or a CI log.
    """
    summary = failure_summary(result)
    if summary.empty:
        logger.info("no row failed a contract rule")
    else:
        logger.warning(
            "%s rows quarantined (each row and its reasons are in %s); by table.column, first failed rule:",
            f"{int(summary['count'].sum()):,}",
            rejects_dir,
        )
        for record in summary.to_dict(orient="records"):
            logger.warning(
                "  %s.%s  %s: %s rows, e.g. %s",
                record["table"],
                record["column"],
                record["rule"],
                f"{int(record['count']):,}",
                record["example"],
            )
    totals = result.metrics["totals"]
    unreconciled = [n for n, m in result.metrics["tables"].items() if not m["reconciled"]]
    logger.info(
        "validated %s rows in %.1f s: %s accepted + %s quarantined = manifest %s (%s)",
        f"{totals['rows_in_file']:,}",
        result.metrics["elapsed_seconds"],
        f"{totals['accepted']:,}",
        f"{totals['rejected']:,}",
        f"{totals['manifest_count']:,}",
        "every table reconciles" if not unreconciled else "NOT RECONCILED: " + ", ".join(unreconciled),
    )


def run(
    extract: Path | None,
    out: Path,
    metrics: Path,
    docs: Path,
    params_path: Path = DEFAULT_PARAMS,
) -> None:
    """Validate ``extract`` and write the stage outputs.

    Parameters
    ----------
    extract
        Extract directory; None means ``validate.extract`` from params.yaml.
    out
        Accepted tables, ``rejects/`` and ``manifest.json`` go here.
    metrics
        Reconciliation metrics JSON.
    docs
        Great Expectations Data Docs folder.
    params_path
        The params file; its ``validate:`` section is read.

    Raises
    ------
    SystemExit
        With status 2 when the extract fails a table-level check (the reason is logged).
    SparkEngineError
        With ``engine: spark``, when Spark cannot be started (one message, no traceback).
    """
    params = load_params("validate", ValidateParams, params_path)
    engine = load_engine(params_path)
    extract_dir = Path(extract) if extract is not None else Path(params.extract)
    logger.info("validating %s (engine: %s)", extract_dir, engine.name)
    try:
        if engine.is_spark:
            from iom_spark import open_spark
            from validation.spark_core import validate_extract_spark

            session = open_spark(engine.spark)
            # Spark Connect: the server's executors write the accepted rows where this process
            # reads them, under spark.checkpoint_dir (shared storage on a cluster).
            staging = Path(engine.spark.checkpoint_dir) if engine.spark.remote else None
            result = validate_extract_spark(extract_dir, params, session, staging)
        else:
            result = validate_extract(extract_dir, params)
    except ExtractError as err:
        logger.error("%s", err)
        raise SystemExit(EXIT_EXTRACT_ERROR) from None
    write_validation_outputs(result, out, metrics, docs)
    log_summary(result, Path(out) / REJECTS_DIR)
