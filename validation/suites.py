"""Great Expectations suites generated from the contract, and the frames they run on.

One ``ExpectationSuite`` per contract table, built from ``iom_contract`` alone:
every row rule of ``ROW_RULES`` that applies to a table becomes one expectation
whose ``meta`` names the rule and column, so a failed row can be traced from GE's
result back to the rule. Rules GE cannot state directly get a vectorised helper
column that holds the offending value (null when the row is fine) and an
``expect_column_values_to_be_null`` on it:

* ``type`` (``<col>__unreadable``: text that was sent but does not parse),
  ``unique`` keep-first (``<col>__repeat``), ``orphan`` (``<col>__orphan``) and
  ``parent_rejected`` (``<col>__parent_rejected``).

For a date, whole-number or true/false column the batch carries the parsed value
(``<col>``, null when unreadable) and the text as sent (``<col>__text``), so that
``not_null`` and ``null_when`` judge whether a value was sent at all, and an
unreadable value counts under ``type`` only.

The batch frame is indexed by ``_row`` (the 1-based data-row number), which GE
returns as ``unexpected_index_list``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import great_expectations as gx
import numpy as np
import pandas as pd
from great_expectations.expectations.row_conditions import (
    AndCondition,
    ComparisonCondition,
    NullityCondition,
)
from great_expectations.expectations.row_conditions import Column as GxColumn

from iom_contract import ROW_RULES, Column, NullWhen, Table

ROW_ID = "_row"
TEXT_SUFFIX = "__text"
UNREADABLE_SUFFIX = "__unreadable"
REPEAT_SUFFIX = "__repeat"
ORPHAN_SUFFIX = "__orphan"
PARENT_REJECTED_SUFFIX = "__parent_rejected"
BIRTH_DATE_COLUMN = "date_of_birth"
PARSED_KINDS = ("date", "int", "bool")

# GE compares dates vectorised only on datetime64[ns], which spans 1677-09-21 to
# 2262-04-11. A date outside that span is pinned to the edge for the checks only: it
# still fails every range check it failed before (the bounds are 1900 and the extract
# date), and the accepted output keeps the exact value at millisecond precision.
_NS_MIN = pd.Timestamp("1677-09-22")
_NS_MAX = pd.Timestamp("2262-04-10")


@dataclass(frozen=True)
class DateBounds:
    """The dates the range rules compare against, fixed per extract.

    Attributes
    ----------
    earliest
        No date may be before this.
    extract_date
        No unplanned date may be after this.
    latest_birth
        No date of birth may be after this (``extract_date`` minus the minimum age):
        with an extract dated 2026-10-31 and a minimum age of 10, a person born on
        2016-10-31 is 10 that day and passes; one born on 2016-11-01 fails.
    """

    earliest: pd.Timestamp
    extract_date: pd.Timestamp
    latest_birth: pd.Timestamp

    @classmethod
    def build(cls, earliest: str, extract_date: pd.Timestamp, min_age_years: int) -> DateBounds:
        extract = pd.Timestamp(extract_date).normalize()
        return cls(
            earliest=pd.Timestamp(earliest),
            extract_date=extract,
            latest_birth=extract - pd.DateOffset(years=min_age_years),
        )


def presence_column(column: Column) -> str:
    """Batch column whose nullness says whether a value was sent at all."""
    return column.name + TEXT_SUFFIX if column.kind in PARSED_KINDS else column.name


_EQUALS = re.compile(r'^\s*(\w+)\s*==\s*"([^"]*)"\s*$')
_ISNA = re.compile(r"^\s*(\w+)\.isna\(\)\s*$")
_NOTNA = re.compile(r"^\s*(\w+)\.notna\(\)\s*$")


GxCondition = ComparisonCondition | NullityCondition | AndCondition


def null_when_conditions(rule: NullWhen, table: Table) -> tuple[GxCondition, GxCondition]:
    """GE row conditions for a ``NullWhen``: (when it holds, when it does not).

    The contract writes conditions as pandas query strings; the three shapes it uses
    are translated to GE ``Condition`` objects (``col == "v"``, ``col.isna()``,
    ``col.notna()``). Nullness is judged on the text as sent, so a release date that
    was sent but is unreadable still counts as "released" (its ``type`` failure is
    reported separately).
    """
    if m := _EQUALS.match(rule.condition):
        col = GxColumn(m.group(1))
        return col == m.group(2), (col != m.group(2)) & col.is_not_null()
    for pattern, is_null in ((_ISNA, True), (_NOTNA, False)):
        if m := pattern.match(rule.condition):
            col = GxColumn(presence_column(table.column(m.group(1))))
            return (col.is_null(), col.is_not_null()) if is_null else (col.is_not_null(), col.is_null())
    raise ValueError(
        f"{table.name}: NullWhen condition {rule.condition!r} is not one of the supported shapes "
        '(col == "value", col.isna(), col.notna()); extend validation.suites.null_when_conditions.'
    )


def _meta(rule: str, column: str, **extra: str) -> dict[str, str]:
    return {"rule": rule, "column": column, **extra}


def build_suite(table: Table, bounds: DateBounds) -> gx.ExpectationSuite:
    """The expectation suite for ``table``, one expectation per applicable rule and column."""
    E = gx.expectations
    exps: list[gx.expectations.Expectation] = []

    def add(exp: gx.expectations.Expectation) -> None:
        exps.append(exp)

    for col in table.columns:
        name = col.name
        present = presence_column(col)
        if not col.nullable:
            add(
                E.ExpectColumnValuesToNotBeNull(
                    column=present, meta=_meta("not_null", name), notes=ROW_RULES["not_null"]
                )
            )
        if col.kind in PARSED_KINDS:
            add(
                E.ExpectColumnValuesToBeNull(
                    column=name + UNREADABLE_SUFFIX, meta=_meta("type", name), notes=ROW_RULES["type"]
                )
            )
        if col.values is not None:
            add(
                E.ExpectColumnValuesToBeInSet(
                    column=name,
                    value_set=list(col.values),
                    meta=_meta("in_set", name),
                    notes=ROW_RULES["in_set"],
                )
            )
        if col.pattern is not None:
            add(
                E.ExpectColumnValuesToMatchRegex(
                    column=name, regex=col.pattern, meta=_meta("pattern", name), notes=ROW_RULES["pattern"]
                )
            )
        if col.kind == "int" and (col.min_value is not None or col.max_value is not None):
            add(
                E.ExpectColumnValuesToBeBetween(
                    column=name,
                    min_value=col.min_value,
                    max_value=col.max_value,
                    meta=_meta("range", name),
                    notes=ROW_RULES["range"],
                )
            )
        if col.kind == "date":
            latest = bounds.latest_birth if name == BIRTH_DATE_COLUMN else None
            add(
                E.ExpectColumnValuesToBeBetween(
                    column=name,
                    min_value=bounds.earliest,
                    max_value=latest,
                    meta=_meta("date_range", name),
                    notes=ROW_RULES["date_range"],
                )
            )
            if not col.planned and name != BIRTH_DATE_COLUMN:
                add(
                    E.ExpectColumnValuesToBeBetween(
                        column=name,
                        max_value=bounds.extract_date,
                        meta=_meta("future_date", name),
                        notes=ROW_RULES["future_date"],
                    )
                )
        if col.unique:
            add(
                E.ExpectColumnValuesToBeNull(
                    column=name + REPEAT_SUFFIX, meta=_meta("unique", name), notes=ROW_RULES["unique"]
                )
            )
    for order in table.date_orders:
        add(
            E.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A=order.later,
                column_B=order.earlier,
                or_equal=True,
                ignore_row_if="either_value_is_missing",
                meta=_meta("date_order", order.later, earlier=order.earlier),
                notes=ROW_RULES["date_order"],
            )
        )
    for rule in table.null_when:
        when, otherwise = null_when_conditions(rule, table)
        target = presence_column(table.column(rule.column))
        add(
            E.ExpectColumnValuesToBeNull(
                column=target,
                row_condition=when,
                meta=_meta("null_when", rule.column, description=rule.description),
                notes=rule.description,
            )
        )
        if rule.required_otherwise:
            add(
                E.ExpectColumnValuesToNotBeNull(
                    column=target,
                    row_condition=otherwise,
                    meta=_meta("null_when", rule.column, description=rule.description),
                    notes=rule.description,
                )
            )
    for fk in table.foreign_keys:
        parent = f"{fk.parent}.{fk.parent_column}"
        add(
            E.ExpectColumnValuesToBeNull(
                column=fk.column + ORPHAN_SUFFIX,
                meta=_meta("orphan", fk.column, parent=parent),
                notes=ROW_RULES["orphan"],
            )
        )
        add(
            E.ExpectColumnValuesToBeNull(
                column=fk.column + PARENT_REJECTED_SUFFIX,
                meta=_meta("parent_rejected", fk.column, parent=parent),
                notes=ROW_RULES["parent_rejected"],
            )
        )
    return gx.ExpectationSuite(
        name=table.name,
        expectations=exps,
        meta={"contract_table": table.name, "generated_by": "validation.suites.build_suite"},
    )


def _for_checks(typed: pd.Series, kind: str) -> pd.Series:
    """The dtype GE evaluates vectorised: datetime64[ns] for dates, float64 for ints."""
    if kind == "date":
        return typed.mask(typed < _NS_MIN, _NS_MIN).mask(typed > _NS_MAX, _NS_MAX).astype("datetime64[ns]")
    if kind == "int":
        return typed.astype("float64")
    return typed


def build_batch_frame(
    raw: pd.DataFrame,
    typed: pd.DataFrame,
    table: Table,
    source_row: pd.Series,
    helpers: dict[str, pd.Series],
) -> pd.DataFrame:
    """The frame GE validates: typed columns, text and unreadable text for parsed kinds,
    helpers.

    Indexed by ``_row`` (``source_row``); ``raw``, ``typed`` and ``helpers`` share one
    positional order.
    """
    cols: dict[str, pd.api.extensions.ExtensionArray | np.ndarray] = {}
    for col in table.columns:
        cols[col.name] = _for_checks(typed[col.name], col.kind).array
        if col.kind in PARSED_KINDS:
            text = raw[col.name]
            cols[col.name + TEXT_SUFFIX] = text.array
            cols[col.name + UNREADABLE_SUFFIX] = text.where(typed[col.name].isna()).array
    for name, values in helpers.items():
        cols[name] = values.array
    return pd.DataFrame(cols, index=pd.Index(source_row.to_numpy(dtype=np.int64), name=ROW_ID))
