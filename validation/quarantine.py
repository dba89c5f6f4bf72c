"""Split a validated table into accepted and quarantined rows from GE's results.

GE reports, for every failed expectation, the ``_row`` ids of the rows that failed
it; those (row, rule, column) failures decide everything here. A row with any
failure is quarantined with its first rule (in ``ROW_RULES`` order), all its rules,
and a sentence an analyst can read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import numpy as np
import pandas as pd
from great_expectations.core import ExpectationSuiteValidationResult

from validation.contract import ROW_RULES, Table
from validation.parsing import KIND_WORDS
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


def _quoted(values: pd.Series) -> pd.Series:
    return ('"' + values.astype("string").fillna("") + '"').where(values.notna(), "empty")


def describe_failures(
    failures: pd.DataFrame,
    checks: list[dict[str, str]],
    raw: pd.DataFrame,
    table: Table,
    bounds: DateBounds,
) -> pd.Series:
    """A readable sentence per failure (aligned with ``failures``), built per check."""
    out = pd.Series("", index=failures.index, dtype="string")
    earliest = bounds.earliest.date().isoformat()
    extract = bounds.extract_date.date().isoformat()
    for check_id, group in failures.groupby("check", sort=False):
        meta = checks[cast(int, check_id)]
        rule, name = meta["rule"], meta["column"]
        pos = group[SOURCE_ROW].to_numpy() - 1
        value = raw[name].iloc[pos].reset_index(drop=True)
        shown = _quoted(value)
        col = table.column(name)
        if rule == "not_null":
            text = pd.Series(f"{name} is empty but the contract requires a value.", index=value.index)
        elif rule == "type":
            text = name + " " + shown + f" cannot be read as a {KIND_WORDS[col.kind]}."
        elif rule == "in_set":
            text = name + " " + shown + f" is not one of the allowed values ({', '.join(col.values or ())})."
        elif rule == "pattern":
            text = name + " " + shown + f" does not have the required format {col.pattern}."
        elif rule == "range":
            text = name + " " + shown + f" is outside the allowed range {col.min_value} to {col.max_value}."
        elif rule == "date_range" and name == BIRTH_DATE_COLUMN:
            latest = bounds.latest_birth.date().isoformat()
            text = (
                name + " " + shown + f" is implausible: a date of birth must be between {earliest} and "
                f"{latest} (the minimum age before the extract date {extract})."
            )
        elif rule == "date_range":
            text = name + " " + shown + f" is before {earliest}, which is implausible."
        elif rule == "future_date":
            text = name + " " + shown + f" is after the extract date {extract}."
        elif rule == "date_order":
            earlier = meta["earlier"]
            other = _quoted(raw[earlier].iloc[pos].reset_index(drop=True))
            text = name + " " + shown + f" is before {earlier} " + other + "."
        elif rule == "null_when":
            text = meta["description"] + f"; here {name} is " + shown + "."
        elif rule == "unique":
            first = raw[name].drop_duplicates(keep="first")
            first_row = pd.Series(first.index.to_numpy() + 1, index=first.to_numpy())
            seen = value.map(first_row).astype("Int64").astype("string").fillna("?")
            text = name + " " + shown + " repeats data row " + seen + "; the first occurrence is kept."
        elif rule == "orphan":
            parent = meta["parent"]
            text = (
                name
                + " "
                + shown
                + f" is not in {parent}: no such record in the {parent.split('.')[0]} file."
            )
        elif rule == "parent_rejected":
            parent_table = meta["parent"].split(".")[0]
            text = (
                name + " " + shown + f" is in {parent_table}, but every {parent_table} row with it was "
                "quarantined, so this row cannot be linked."
            )
        else:
            text = pd.Series(f"{name}: {ROW_RULES.get(rule, rule)}.", index=value.index)
        out.loc[group.index] = text.astype("string").to_numpy()
    return out


def empty_rejects(table: Table) -> pd.DataFrame:
    """A rejects frame with no rows and the right columns and dtypes."""
    frame = pd.DataFrame({c: pd.Series(dtype="string") for c in table.column_names})
    frame[SOURCE_ROW] = pd.Series(dtype="int64")
    for c in REJECT_COLUMNS[1:]:
        frame[c] = pd.Series(dtype="string")
    return frame


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
    col_order = {c: i for i, c in enumerate(table.column_names)}
    ranked = failures.assign(
        _rule_rank=failures["rule"].map(RULE_ORDER).astype("int64"),
        _col_rank=failures["column"].map(col_order).astype("int64"),
        detail=details,
    ).sort_values([SOURCE_ROW, "_rule_rank", "_col_rank"], kind="stable")
    first = ranked.drop_duplicates(SOURCE_ROW, keep="first").set_index(SOURCE_ROW)
    n_failed = ranked.groupby(SOURCE_ROW, sort=True).size()

    # All rules a row failed, ';'-joined in ROW_RULES order: one vectorised pass per rule.
    has = pd.crosstab(ranked[SOURCE_ROW], ranked["rule"]).reindex(index=first.index, fill_value=0)
    rules = pd.Series("", index=first.index, dtype="string")
    for rule in ROW_RULES:
        if rule in has.columns:
            rules = rules + np.where(has[rule].to_numpy() > 0, rule + ";", "")
    rules = rules.str.rstrip(";")

    more = n_failed.reindex(first.index).to_numpy() - 1
    detail = first["detail"].astype("string") + pd.Series(
        np.where(more > 0, " (" + more.astype(str) + " more failed check(s); see rules.)", ""),
        index=first.index,
        dtype="string",
    )

    rejected_rows = first.index.to_numpy(dtype=np.int64)
    is_rejected = np.zeros(n, dtype=bool)
    is_rejected[rejected_rows - 1] = True

    rejects = raw.iloc[rejected_rows - 1].reset_index(drop=True)
    rejects[SOURCE_ROW] = rejected_rows
    rejects["rule"] = first["rule"].astype("string").to_numpy()
    rejects["rules"] = rules.to_numpy()
    rejects["column"] = first["column"].astype("string").to_numpy()
    rejects["detail"] = detail.to_numpy()
    rejects = rejects.astype({c: "string" for c in ("rule", "rules", "column", "detail")})

    accepted = typed.loc[~is_rejected].reset_index(drop=True)
    accepted[SOURCE_ROW] = source_row[~is_rejected]
    return accepted, rejects
