"""The ``validate`` stage: extract -> accepted tables, quarantine, metrics, Data Docs.

Reads the extract named on the command line (default: ``validate.extract`` in
params.yaml), validates it against the data contract with Great Expectations and
writes ``data/validated/``, ``metrics/validation.json`` and ``reports/validation/``.
A table-level failure (missing file or column, wrong row count, bad manifest) is
logged as one message for the analyst and exits with status 2.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table as RichTable

from pipelines.config import DEFAULT_PARAMS, load_params
from validation import (
    ExtractError,
    ValidateParams,
    ValidationResult,
    validate_extract,
    write_validation_outputs,
)

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


def _render(table: RichTable) -> str:
    console = Console(file=io.StringIO(), width=140, record=True, color_system=None)
    console.print(table)
    return console.export_text()


def log_summary(result: ValidationResult) -> None:
    """Log per-table reconciliation and the row-level failures as two tables."""
    counts = RichTable(title="Validation: rows in, accepted, quarantined")
    for header in ("table", "in file", "manifest", "accepted", "quarantined", "reconciled"):
        counts.add_column(header, justify="left" if header == "table" else "right")
    for name, m in result.metrics["tables"].items():
        counts.add_row(
            name,
            f"{m['rows_in_file']:,}",
            f"{m['manifest_count']:,}",
            f"{m['accepted']:,}",
            f"{m['rejected']:,}",
            "yes" if m["reconciled"] else "NO",
        )
    logger.info("\n%s", _render(counts))
    summary = failure_summary(result)
    if summary.empty:
        logger.info("No row failed a contract rule.")
    else:
        failures = RichTable(title="Quarantined rows by table, column and first failed rule")
        for header in ("table", "column", "rule", "rows", "example"):
            failures.add_column(header, justify="right" if header == "rows" else "left")
        for record in summary.to_dict(orient="records"):
            failures.add_row(
                str(record["table"]),
                str(record["column"]),
                str(record["rule"]),
                f"{int(record['count']):,}",
                str(record["example"]),
            )
        logger.warning("\n%s", _render(failures))
    totals = result.metrics["totals"]
    logger.info(
        "validated %s rows in %.1f s: %s accepted, %s quarantined",
        f"{totals['rows_in_file']:,}",
        result.metrics["elapsed_seconds"],
        f"{totals['accepted']:,}",
        f"{totals['rejected']:,}",
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
    """
    params = load_params("validate", ValidateParams, params_path)
    extract_dir = Path(extract) if extract is not None else Path(params.extract)
    logger.info("validating %s", extract_dir)
    try:
        result = validate_extract(extract_dir, params)
    except ExtractError as err:
        logger.error("%s", err)
        raise SystemExit(EXIT_EXTRACT_ERROR) from None
    write_validation_outputs(result, out, metrics, docs)
    log_summary(result)
