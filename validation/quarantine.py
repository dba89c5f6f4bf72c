"""Split a validated table into accepted and quarantined rows from GE's results.

GE reports, for every failed expectation, the ``_row`` ids of the rows that failed
it; those (row, rule, column) failures decide everything here. A row with any
failure is quarantined with its first rule (in ``ROW_RULES`` order), all its rules,
and a sentence an analyst can read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from great_expectations.core import ExpectationSuiteValidationResult

from iom_contract import ROW_RULES, Table
from validation.parsing import KIND_WORDS, arrow_text
from validation.suites import BIRTH_DATE_COLUMN, ROW_ID, DateBounds

SOURCE_ROW = "source_row"
REJECT_COLUMNS = (SOURCE_ROW, "rule", "rules", "column", "detail")
RULE_ORDER = {rule: i for i, rule in enumerate(ROW_RULES)}
FAILURE_COLUMNS = (SOURCE_ROW, "rule", "column", "check")


class GXEvaluationError(RuntimeError):
    """GE raised while evaluating an expectation: a bug here, not a data problem."""


def _raised(exception_info: Mapping[str, Any] | None) -> str | None:
    if not exception_info:
        return None
    if "raised_exception" in exception_info:
        return str(exception_info.get("exception_message")) if exception_info["raised_exception"] else None
    for info in exception_info.values():
        if isinstance(info, Mapping) and info.get("raised_exception"):
            return str(info.get("exception_message"))
    return None


def failures_from_results(
    results: ExpectationSuiteValidationResult,
) -> tuple[pd.DataFrame, list[dict[str, str]]]:
    """Every (source_row, rule, column) that GE found unexpected.

    Returns
    -------
    failures
        Columns ``source_row`` (int64), ``rule``, ``column``, ``check`` (position in
        ``checks``).
    checks
        The ``meta`` of each failed expectation (rule, column and what the detail
        sentence needs).
    """
    parts: list[pd.DataFrame] = []
    checks: list[dict[str, str]] = []
    for res in results.results:
        config = res.expectation_config
        assert config is not None
        meta = dict(config.meta or {})
        message = _raised(res.exception_info)
        if message is not None:
            raise GXEvaluationError(
                f"Great Expectations could not evaluate {config.type} {config.kwargs}: {message}"
            )
        if res.success:
            continue
        index_list = res.result.get("unexpected_index_list") or []
        rows = np.asarray(index_list[0][ROW_ID] if index_list else [], dtype=np.int64)
        if len(rows) != res.result.get("unexpected_count"):
            raise GXEvaluationError(
                f"{config.type} on {meta.get('column')}: GE counted {res.result.get('unexpected_count')} "
                f"unexpected rows but listed {len(rows)}"
            )
        checks.append(meta)
        parts.append(
            pd.DataFrame(
                {
                    SOURCE_ROW: rows,
                    "rule": meta["rule"],
                    "column": meta["column"],
                    "check": len(checks) - 1,
                }
            )
        )
    if not parts:
        return pd.DataFrame(
            {c: pd.Series(dtype="int64" if c in (SOURCE_ROW, "check") else "object") for c in FAILURE_COLUMNS}
        ), checks
    return pd.concat(parts, ignore_index=True), checks


def _join(*parts: pa.Array | str) -> pa.Array:
    """Concatenate text arrays and literals element-wise (no separator)."""
    return pc.binary_join_element_wise(*parts, "")


def quoted(values: pa.Array) -> pa.Array:
    """``"value"`` as sent, or ``empty`` for a null."""
    return pc.if_else(pc.is_null(values), "empty", _join('"', pc.fill_null(values, ""), '"'))


def _first_rows(values: pa.Array) -> np.ndarray:
    """For each row, the 1-based data row where its value first appears."""
    encoded = pc.dictionary_encode(values)
    # Nulls get a code of their own (never reported: a null is not a repeat).
    codes = pc.fill_null(encoded.indices, len(encoded.dictionary)).to_numpy(zero_copy_only=False)
    _, first = np.unique(codes, return_index=True)
    first_by_code = np.zeros(int(codes.max(initial=0)) + 1, dtype=np.int64)
    first_by_code[codes[first]] = first + 1
    return first_by_code[codes]


def row_positions(source_rows: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
    """Positions of data rows ``source_rows`` in a frame holding all rows in file order
    (``rows`` None) or only the data rows numbered ``rows`` (ascending)."""
    if rows is None:
        return np.asarray(source_rows, dtype=np.int64) - 1
    pos = np.searchsorted(rows, source_rows)
    if len(pos) and (pos.max() >= len(rows) or not np.array_equal(rows[pos], source_rows)):
        raise RuntimeError("bug: a failing row is missing from the rows gathered to describe it")
    return pos


FirstRows = Callable[[str, np.ndarray], np.ndarray]
"""``(column, positions) -> data row where each position's value first appears``."""


def _sentence(
    meta: dict[str, str],
    value: pa.Array,
    column: Callable[[str], pa.Array],
    pos: np.ndarray,
    table: Table,
    bounds: DateBounds,
    first_rows: FirstRows,
) -> pa.Array:
    """The detail sentence of one failed check, for the failing rows at ``pos``."""
    rule, name = meta["rule"], meta["column"]
    col = table.column(name)
    shown = quoted(value)
    earliest = bounds.earliest.date().isoformat()
    extract = bounds.extract_date.date().isoformat()
    if rule == "not_null":
        return _join(pa.repeat(f"{name} is empty but the contract requires a value.", len(value)))
    if rule == "type":
        return _join(f"{name} ", shown, f" cannot be read as a {KIND_WORDS[col.kind]}.")
    if rule == "in_set":
        return _join(f"{name} ", shown, f" is not one of the allowed values ({', '.join(col.values or ())}).")
    if rule == "pattern":
        return _join(f"{name} ", shown, f" does not have the required format {col.pattern}.")
    if rule == "range":
        return _join(f"{name} ", shown, f" is outside the allowed range {col.min_value} to {col.max_value}.")
    if rule == "date_range" and name == BIRTH_DATE_COLUMN:
        latest = bounds.latest_birth.date().isoformat()
        return _join(
            f"{name} ",
            shown,
            f" is implausible: a date of birth must be between {earliest} and {latest} "
            f"(the minimum age before the extract date {extract}).",
        )
    if rule == "date_range":
        return _join(f"{name} ", shown, f" is before {earliest}, which is implausible.")
    if rule == "future_date":
        return _join(f"{name} ", shown, f" is after the extract date {extract}.")
    if rule == "date_order":
        earlier = meta["earlier"]
        other = quoted(pc.take(column(earlier), pa.array(pos)))
        return _join(f"{name} ", shown, f" is before {earlier} ", other, ".")
    if rule == "null_when":
        return _join(f"{meta['description']}; here {name} is ", shown, ".")
    if rule == "unique":
        seen = pa.array(first_rows(name, pos)).cast(pa.string())
        return _join(f"{name} ", shown, " repeats data row ", seen, "; the first occurrence is kept.")
    if rule == "orphan":
        parent = meta["parent"]
        return _join(
            f"{name} ", shown, f" is not in {parent}: no such record in the {parent.split('.')[0]} file."
        )
    if rule == "parent_rejected":
        parent_table = meta["parent"].split(".")[0]
        return _join(
            f"{name} ",
            shown,
            f" is in {parent_table}, but every {parent_table} row with it was quarantined, "
            "so this row cannot be linked.",
        )
    return _join(pa.repeat(f"{name}: {ROW_RULES.get(rule, rule)}.", len(value)))


def describe_failures(
    failures: pd.DataFrame,
    checks: list[dict[str, str]],
    raw: pd.DataFrame,
    table: Table,
    bounds: DateBounds,
    rows: np.ndarray | None = None,
    first_rows: FirstRows | None = None,
) -> pd.Series:
    """A readable sentence per failure (aligned with ``failures``), built per check.

    ``raw`` holds the data rows in file order (``rows`` None) or only the data rows
    numbered ``rows`` (ascending, every failing row among them); ``first_rows`` then
    says where a repeated value first appears (by default it is found in ``raw``).
    """
    cache: dict[str, pa.Array] = {}

    def column(name: str) -> pa.Array:
        if name not in cache:
            cache[name] = arrow_text(raw[name])
        return cache[name]

    def first_in_raw(name: str, pos: np.ndarray) -> np.ndarray:
        return _first_rows(column(name))[pos]

    out = np.empty(len(failures), dtype=object)
    check_ids = failures["check"].to_numpy()
    source_rows = failures[SOURCE_ROW].to_numpy()
    for check_id in np.unique(check_ids):
        at = np.flatnonzero(check_ids == check_id)
        meta = checks[int(check_id)]
        pos = row_positions(source_rows[at], rows)
        value = pc.take(column(meta["column"]), pa.array(pos))
        out[at] = _sentence(meta, value, column, pos, table, bounds, first_rows or first_in_raw).to_numpy(
            zero_copy_only=False
        )
    return pd.Series(out, index=failures.index, dtype="string")


def empty_rejects(table: Table) -> pd.DataFrame:
    """A rejects frame with no rows and the right columns and dtypes."""
    frame = pd.DataFrame({c: pd.Series(dtype="string") for c in table.column_names})
    frame[SOURCE_ROW] = pd.Series(dtype="int64")
    for c in REJECT_COLUMNS[1:]:
        frame[c] = pd.Series(dtype="string")
    return frame


REASON_COLUMNS = ("rule", "rules", "column", "detail")


def quarantine_reasons(failures: pd.DataFrame, details: pd.Series, table: Table) -> pd.DataFrame:
    """One row per failing data row, ascending: ``source_row``, its first rule (in
    ``ROW_RULES`` order, then contract column order), all its rules (``;``-joined),
    the first rule's column and a readable ``detail``."""
    col_order = {c: i for i, c in enumerate(table.column_names)}
    rule_rank = failures["rule"].map(RULE_ORDER).to_numpy(dtype=np.int64)
    ranked = failures.assign(
        _rule_rank=rule_rank,
        _col_rank=failures["column"].map(col_order).to_numpy(dtype=np.int64),
        detail=details,
    ).sort_values([SOURCE_ROW, "_rule_rank", "_col_rank"], kind="stable")
    first = ranked.drop_duplicates(SOURCE_ROW, keep="first").set_index(SOURCE_ROW)
    rejected_rows = first.index.to_numpy(dtype=np.int64)

    # Which rules each rejected row failed (rows x ROW_RULES), then the ';'-joined
    # names in ROW_RULES order: one vectorised pass per rule, not per row.
    at = np.searchsorted(rejected_rows, failures[SOURCE_ROW].to_numpy())
    has = np.zeros((len(rejected_rows), len(ROW_RULES)), dtype=bool)
    has[at, rule_rank] = True
    rules = np.full(len(rejected_rows), "", dtype=object)
    for j, rule in enumerate(ROW_RULES):
        rules = rules + np.where(has[:, j], rule + ";", "")
    rules = pd.Series(rules, dtype="string").str.rstrip(";")

    more = np.bincount(at, minlength=len(rejected_rows)) - 1
    also = np.where(more > 0, " (" + more.astype(str) + " more failed check(s); see rules.)", "")
    detail = first["detail"].to_numpy(dtype=object) + also.astype(object)
    reasons = pd.DataFrame(
        {
            SOURCE_ROW: rejected_rows,
            "rule": first["rule"].astype("string").to_numpy(),
            "rules": rules.to_numpy(),
            "column": first["column"].astype("string").to_numpy(),
            "detail": detail,
        }
    )
    return reasons.astype(dict.fromkeys(REASON_COLUMNS, "string"))


def attach_reasons(rejected_raw: pd.DataFrame, reasons: pd.DataFrame) -> pd.DataFrame:
    """The quarantine frame: the rejected rows as sent (in ``reasons`` order), then the reasons."""
    rejects = rejected_raw.reset_index(drop=True)
    rejects[SOURCE_ROW] = reasons[SOURCE_ROW].to_numpy()
    for c in REASON_COLUMNS:
        rejects[c] = reasons[c].to_numpy()
    return rejects.astype(dict.fromkeys(REASON_COLUMNS, "string"))


def split_rows(
    raw: pd.DataFrame,
    typed: pd.DataFrame,
    failures: pd.DataFrame,
    details: pd.Series,
    table: Table,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Accepted (typed + ``source_row``) and rejected (text + reasons) rows of one table.

    ``raw`` and ``typed`` are in file order with data row ``i`` (1-based) at position
    ``i - 1``.
    """
    n = len(raw)
    source_row = np.arange(1, n + 1, dtype=np.int64)
    if failures.empty:
        accepted = typed.reset_index(drop=True)
        accepted[SOURCE_ROW] = source_row
        return accepted, empty_rejects(table)
    reasons = quarantine_reasons(failures, details, table)
    rejected_rows = reasons[SOURCE_ROW].to_numpy()
    is_rejected = np.zeros(n, dtype=bool)
    is_rejected[rejected_rows - 1] = True
    rejects = attach_reasons(raw.iloc[rejected_rows - 1], reasons)
    accepted = typed.loc[~is_rejected].reset_index(drop=True)
    accepted[SOURCE_ROW] = source_row[~is_rejected]
    return accepted, rejects
