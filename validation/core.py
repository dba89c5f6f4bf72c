"""Validate a whole extract: table-level checks, then GE row checks, parents first."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar, overload

import great_expectations as gx
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from great_expectations.core import ExpectationSuiteValidationResult
from great_expectations.data_context.types.base import ProgressBarsConfig

from iom_contract import REQUIRED_TABLES, ROW_RULES, TABLES, TABLES_BY_NAME, Table
from validation.errors import ExtractError, ExtractNotFoundError, Problem
from validation.params import ValidateParams
from validation.parsing import arrow_text, parse_table
from validation.quarantine import (
    SOURCE_ROW,
    describe_failures,
    failures_from_results,
    quoted,
    row_positions,
    split_rows,
)
from validation.reading import (
    Manifest,
    RawTable,
    find_table_file,
    manifest_row_count,
    read_manifest,
    read_raw_table,
)
from validation.suites import (
    ORPHAN_SUFFIX,
    PARENT_REJECTED_SUFFIX,
    REPEAT_SUFFIX,
    ROW_ID,
    DateBounds,
    build_batch_frame,
    build_suite,
)

logger = logging.getLogger(__name__)

# COMPLETE results, with the failing rows named by the ``_row`` index. Unexpected
# values are left out (GE gathers them one row at a time, about 30 times slower, and
# the quarantine keeps the original text of every failing row anyway), and so is the
# pandas query string listing every failing row.
RESULT_FORMAT: dict[str, Any] = {
    "result_format": "COMPLETE",
    "unexpected_index_column_names": [ROW_ID],
    "exclude_unexpected_values": True,
    "return_unexpected_index_query": False,
    "partial_unexpected_count": 20,
}


class AcceptedRows(Protocol):
    """A table's accepted rows kept outside this process (the Spark engine's staged Parquet parts)."""

    def __len__(self) -> int: ...

    def to_pandas(self) -> pd.DataFrame:
        """The rows as the pandas engine's frame (for tests and small tables)."""
        ...

    def write_parquet(self, path: Path) -> None:
        """Write the one Parquet file :func:`iom_io.write_parquet` writes of :meth:`to_pandas`."""
        ...

    def remove(self) -> None:
        """Delete the rows where they are kept (after writing them)."""
        ...


@dataclass(frozen=True)
class ValidationResult:
    """What the validate stage produced for one extract.

    Attributes
    ----------
    accepted
        Per table, rows that passed every rule, typed per the contract, plus
        ``source_row`` (int64, 1-based data-row number in the file): a pandas frame, or
        (Spark engine) :class:`AcceptedRows` written by the executors, not held here.
    rejects
        Per table, quarantined rows: the original values as text, ``source_row``,
        ``rule`` (first failed, in ``ROW_RULES`` order), ``rules`` (all, ``;``-joined),
        ``column`` and ``detail`` (a readable sentence).
    manifest
        ``manifest.json`` as read.
    metrics
        ``tables`` (per table: rows_in_file, accepted, rejected, manifest_count,
        reconciled, rejects_by_rule), ``totals`` and ``elapsed_seconds``.
    suites
        The GE expectation suite run on each table.
    gx_results
        GE's validation result for each table (COMPLETE format, failing rows named
        by ``_row``), used to render Data Docs.
    examples
        Per table and failed expectation (keyed by its position in
        ``gx_results[table].results``): up to ``max_examples`` failing values as sent.
    extract_date
        The manifest's extract date (midnight).
    """

    accepted: dict[str, pd.DataFrame | AcceptedRows]
    rejects: dict[str, pd.DataFrame]
    manifest: dict[str, Any]
    metrics: dict[str, Any]
    suites: dict[str, gx.ExpectationSuite] = field(repr=False)
    gx_results: dict[str, ExpectationSuiteValidationResult] = field(repr=False)
    examples: dict[str, dict[int, list[str]]] = field(repr=False)
    extract_date: pd.Timestamp


def measure_table(
    name: str, n_rows: int, ok: pd.DataFrame, bad: pd.DataFrame, expected: int
) -> dict[str, Any]:
    """A table's reconciliation metrics; raises if a row was lost or counted twice.

    Every data row must be accepted or quarantined exactly once, and the file's row
    count must equal the manifest's (the table-level checks refuse the extract otherwise).
    """
    seen = np.bincount(
        np.concatenate([ok[SOURCE_ROW].to_numpy(), bad[SOURCE_ROW].to_numpy()]).astype(np.int64),
        minlength=n_rows + 1,
    )
    return reconcile_table(name, n_rows, len(ok), bad, expected, bool(seen[0] == 0 and (seen[1:] == 1).all()))


def reconcile_table(
    name: str, n_rows: int, n_ok: int, bad: pd.DataFrame, expected: int, each_row_once: bool
) -> dict[str, Any]:
    """:func:`measure_table` given the count of accepted rows and whether the accepted and
    quarantined rows' ``source_row`` are each of 1..``n_rows`` exactly once (the Spark engine
    checks that on Spark, without bringing the accepted rows here)."""
    n_bad = len(bad)
    if not (n_rows == n_ok + n_bad == expected and each_row_once):
        raise RuntimeError(
            f"bug: {name} does not reconcile: {n_rows} rows in file, {n_ok} accepted + "
            f"{n_bad} rejected, manifest {expected}"
        )
    by_rule = bad["rule"].value_counts()
    return {
        "rows_in_file": n_rows,
        "accepted": n_ok,
        "rejected": n_bad,
        "manifest_count": expected,
        "reconciled": True,
        "rejects_by_rule": {r: int(by_rule[r]) for r in ROW_RULES if r in by_rule.index},
    }


def assemble_result(
    accepted: dict[str, pd.DataFrame],
    rejects: dict[str, pd.DataFrame],
    manifest: Manifest,
    table_metrics: dict[str, dict[str, Any]],
    suites: dict[str, gx.ExpectationSuite],
    gx_results: dict[str, ExpectationSuiteValidationResult],
    examples: dict[str, dict[int, list[str]]],
    bounds: DateBounds,
    start: float,
) -> ValidationResult:
    """The validation result, tables in contract order, with totals and the elapsed time."""
    order = [t.name for t in TABLES if t.name in table_metrics]
    metrics: dict[str, Any] = {
        "tables": {n: table_metrics[n] for n in order},
        "totals": {
            k: sum(table_metrics[n][k] for n in order)
            for k in ("rows_in_file", "accepted", "rejected", "manifest_count")
        }
        | {"reconciled": all(table_metrics[n]["reconciled"] for n in order)},
        "elapsed_seconds": round(time.perf_counter() - start, 3),
    }
    return ValidationResult(
        accepted={n: accepted[n] for n in order},
        rejects={n: rejects[n] for n in order},
        manifest=manifest.raw,
        metrics=metrics,
        suites={n: suites[n] for n in order},
        gx_results={n: gx_results[n] for n in order},
        examples={n: examples[n] for n in order},
        extract_date=bounds.extract_date,
    )


def parents_first(tables: list[Table]) -> list[Table]:
    """Order tables so that every foreign-key parent is validated before its children."""
    done: list[Table] = []
    names = {t.name for t in tables}
    pending = list(tables)
    while pending:
        ready = [
            t
            for t in pending
            if all(fk.parent in {d.name for d in done} or fk.parent not in names for fk in t.foreign_keys)
        ]
        if not ready:
            raise ValueError(f"foreign keys form a cycle among {[t.name for t in pending]}")
        done.extend(ready)
        pending = [t for t in pending if t not in ready]
    return done


class TableRead(Protocol):
    """What the table-level checks need of a table as read, whichever engine read it."""

    @property
    def table(self) -> Table: ...
    @property
    def file(self) -> str: ...
    @property
    def n_rows(self) -> int: ...
    @property
    def extra_columns(self) -> tuple[str, ...]: ...


ReadT = TypeVar("ReadT", bound=TableRead)


@overload
def read_extract(extract_dir: Path) -> tuple[Manifest, dict[str, RawTable]]: ...
@overload
def read_extract(
    extract_dir: Path, read_table: Callable[[Path, Table], tuple[ReadT | None, list[Problem]]]
) -> tuple[Manifest, dict[str, ReadT]]: ...
def read_extract(
    extract_dir: Path,
    read_table: Callable[[Path, Table], tuple[Any, list[Problem]]] = read_raw_table,
) -> tuple[Manifest, dict[str, Any]]:
    """Read the manifest and every table as text; raise ``ExtractError`` with all
    table-level problems found (``ExtractNotFoundError`` when there is no such folder).

    ``read_table`` reads one table file as text (the pandas reader by default; the Spark
    engine passes its own), so both engines apply the same table-level checks.
    """
    extract_dir = Path(extract_dir)
    if not extract_dir.is_dir():
        raise ExtractNotFoundError(extract_dir)
    manifest, raw_manifest, problems = read_manifest(extract_dir)
    tables: dict[str, Any] = {}
    for table in TABLES:
        path, found = find_table_file(extract_dir, table)
        problems.extend(found)
        expected = manifest_row_count(raw_manifest, table.name)
        if path is None:
            if table.optional and not found and expected:
                problems.append(
                    Problem(
                        f"{table.name}.csv",
                        "",
                        "file_missing",
                        1,
                        "",
                        f"manifest.json row_counts says {table.name} has {expected} rows but there is no "
                        f"{table.name}.csv or .parquet file. Add the file, or remove {table.name} from "
                        "row_counts if no decisions were sent.",
                    )
                )
            continue
        raw, found = read_table(path, table)
        problems.extend(found)
        if raw is None:
            continue
        if raw.extra_columns:
            logger.warning(
                "%s: ignoring %d column(s) the contract does not define: %s",
                raw.file,
                len(raw.extra_columns),
                ", ".join(raw.extra_columns),
            )
        if raw_manifest is not None and isinstance(raw_manifest.get("row_counts"), dict):
            if expected is None and table.name not in raw_manifest["row_counts"]:
                problems.append(
                    Problem(
                        "manifest.json",
                        "row_counts",
                        "row_count_missing",
                        raw.n_rows,
                        table.name,
                        f"row_counts has no entry for {table.name} ({raw.file} has {raw.n_rows} data rows). "
                        "Add the count the agency's system reported when exporting, so a loss in "
                        "transfer can be detected.",
                    )
                )
            elif expected is not None and expected != raw.n_rows:
                problems.append(
                    Problem(
                        raw.file,
                        "",
                        "row_count_mismatch",
                        abs(raw.n_rows - expected),
                        f"{raw.n_rows} in file, {expected} in manifest",
                        f"the file has {raw.n_rows} data rows but manifest.json row_counts says {expected}: "
                        f"rows were {'lost' if raw.n_rows < expected else 'duplicated or added'} in "
                        "transfer. "
                        "Re-send the file and the manifest from the same export.",
                    )
                )
        tables[table.name] = raw
    if raw_manifest is not None and isinstance(raw_manifest.get("row_counts"), dict):
        unknown = sorted(set(raw_manifest["row_counts"]) - set(TABLES_BY_NAME))
        if unknown:
            logger.warning(
                "manifest.json row_counts names tables the contract does not define: %s", ", ".join(unknown)
            )
    if problems or manifest is None:
        raise ExtractError(extract_dir, problems)
    missing = [n for n in REQUIRED_TABLES if n not in tables]
    if missing:  # pragma: no cover - every missing table is reported as a problem above
        raise RuntimeError(f"bug: required tables {missing} neither read nor reported")
    return manifest, tables


@dataclass(frozen=True)
class _ParentKeys:
    """Distinct values of a parent column: all in the file, and those on accepted rows."""

    in_file: pa.Array
    accepted: pa.Array


def _distinct(values: pd.Series) -> pa.Array:
    return pc.unique(pc.drop_null(arrow_text(values)))


def _repeats(values: pd.Series) -> np.ndarray:
    """True on every non-null value that already appeared on an earlier row."""
    codes = pc.dictionary_encode(arrow_text(values)).indices.to_numpy(zero_copy_only=False)
    valid = values.notna().to_numpy()
    first = np.zeros(len(values), dtype=bool)
    _, first_pos = np.unique(np.where(valid, codes, -1), return_index=True)
    first[first_pos] = True
    return valid & ~first


def _helpers(
    raw: pd.DataFrame, table: Table, parents: dict[tuple[str, str], _ParentKeys]
) -> dict[str, pd.Series]:
    """Helper columns holding the offending value (null when fine) for unique, orphan
    and parent_rejected."""
    helpers: dict[str, pd.Series] = {}
    for col in table.columns:
        if col.unique:
            values = raw[col.name]
            helpers[col.name + REPEAT_SUFFIX] = values.where(_repeats(values))
    for fk in table.foreign_keys:
        keys = parents[(fk.parent, fk.parent_column)]
        values = raw[fk.column]
        arr = arrow_text(values)
        in_file = pc.fill_null(pc.is_in(arr, value_set=keys.in_file), False).to_numpy(zero_copy_only=False)
        accepted = pc.fill_null(pc.is_in(arr, value_set=keys.accepted), False).to_numpy(zero_copy_only=False)
        orphan = values.notna().to_numpy() & ~in_file
        helpers[fk.column + ORPHAN_SUFFIX] = values.where(orphan)
        helpers[fk.column + PARENT_REJECTED_SUFFIX] = values.where(in_file & ~accepted)
    return helpers


def failure_examples(
    results: ExpectationSuiteValidationResult,
    raw: pd.DataFrame,
    max_examples: int,
    rows: np.ndarray | None = None,
) -> dict[int, list[str]]:
    """Up to ``max_examples`` failing values as sent (``row 12: "2031-01-01"``), per
    failed expectation.

    ``raw`` holds the data rows in file order (``rows`` None) or only the data rows
    numbered ``rows`` (ascending; it must include every failing row).
    """
    out: dict[int, list[str]] = {}
    texts: dict[str, pa.Array] = {}
    for i, res in enumerate(results.results):
        if res.success or res.expectation_config is None:
            continue
        column = str((res.expectation_config.meta or {}).get("column"))
        index_list = res.result.get("unexpected_index_list") or []
        if not index_list or column not in raw.columns:
            continue
        if column not in texts:
            texts[column] = arrow_text(raw[column])
        failing = np.asarray(index_list[0][ROW_ID][:max_examples], dtype=np.int64)
        pos = row_positions(failing, rows)
        values = quoted(pc.take(texts[column], pa.array(pos))).to_pylist()
        out[i] = [f"row {row}: {value}" for row, value in zip(failing.tolist(), values, strict=True)]
    return out


def validate_extract(extract_dir: Path, params: ValidateParams) -> ValidationResult:
    """Validate an extract against the contract with Great Expectations.

    Reads every table (CSV or Parquet) as text, raises ``ExtractError`` listing every
    table-level problem, then for each table (parents before children) parses types,
    runs the table's generated expectation suite, and splits rows into accepted and
    quarantined from GE's unexpected rows. Writes nothing.

    Parameters
    ----------
    extract_dir
        Directory holding ``manifest.json`` and the table files.
    params
        Validate-stage parameters.

    Raises
    ------
    ExtractError
        For table-level failures (manifest, missing or unreadable files, missing
        columns, row counts that differ from the manifest).
    """
    start = time.perf_counter()
    manifest, raw_tables = read_extract(extract_dir)
    bounds = DateBounds.build(params.earliest_date, pd.Timestamp(manifest.extract_date), params.min_age_years)

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_pandas("extract")

    accepted: dict[str, pd.DataFrame] = {}
    rejects: dict[str, pd.DataFrame] = {}
    suites: dict[str, gx.ExpectationSuite] = {}
    gx_results: dict[str, ExpectationSuiteValidationResult] = {}
    examples: dict[str, dict[int, list[str]]] = {}
    parents: dict[tuple[str, str], _ParentKeys] = {}
    table_metrics: dict[str, dict[str, Any]] = {}
    parent_columns = {(fk.parent, fk.parent_column) for t in TABLES for fk in t.foreign_keys}

    for table in parents_first([raw_tables[n].table for n in raw_tables]):
        raw = raw_tables[table.name].frame.reset_index(drop=True)
        n_rows = len(raw)
        source_row = pd.Series(np.arange(1, n_rows + 1, dtype=np.int64))
        typed = parse_table(raw, table)
        batch_frame = build_batch_frame(raw, typed, table, source_row, _helpers(raw, table, parents))
        suite = build_suite(table, bounds)
        batch = (
            source.add_dataframe_asset(name=table.name)
            .add_batch_definition_whole_dataframe("whole_table")
            .get_batch(batch_parameters={"dataframe": batch_frame})
        )
        results = batch.validate(suite, result_format=dict(RESULT_FORMAT))
        failures, checks = failures_from_results(results)
        details = describe_failures(failures, checks, raw, table, bounds)
        ok, bad = split_rows(raw, typed, failures, details, table)

        table_metrics[table.name] = measure_table(
            table.name, n_rows, ok, bad, manifest.row_counts[table.name]
        )
        n_ok, n_bad = len(ok), len(bad)
        for key in parent_columns:
            if key[0] == table.name:
                parents[key] = _ParentKeys(in_file=_distinct(raw[key[1]]), accepted=_distinct(ok[key[1]]))
        accepted[table.name] = ok
        rejects[table.name] = bad
        suites[table.name] = suite
        gx_results[table.name] = results
        examples[table.name] = failure_examples(results, raw, params.max_examples)
        logger.info("%s: %d rows, %d accepted, %d quarantined", table.name, n_rows, n_ok, n_bad)

    return assemble_result(
        accepted, rejects, manifest, table_metrics, suites, gx_results, examples, bounds, start
    )


__all__ = ["SOURCE_ROW", "ValidationResult", "read_extract", "validate_extract"]
