"""The GE suites are generated from the contract declaration, one expectation per rule."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pandas as pd
import pytest

from iom_contract import DIRTY_KINDS, ROW_RULES, TABLES, TABLES_BY_NAME
from validation.suites import DateBounds, build_suite, null_when_conditions

BOUNDS = DateBounds.build("1900-01-01", pd.Timestamp("2026-10-31"), 10)


def _meta(expectation: Any) -> dict[str, str]:
    return dict(expectation.meta or {})


def _checks(name: str) -> Counter[tuple[str, str, str]]:
    suite = build_suite(TABLES_BY_NAME[name], BOUNDS)
    return Counter((e.expectation_type, _meta(e)["rule"], _meta(e)["column"]) for e in suite.expectations)


def test_latest_birth_date_is_extract_date_minus_minimum_age() -> None:
    assert BOUNDS.latest_birth == pd.Timestamp("2016-10-31")
    leap = DateBounds.build("1900-01-01", pd.Timestamp("2028-02-29"), 10)
    assert leap.latest_birth == pd.Timestamp("2018-02-28")


def test_every_row_rule_is_expressed_somewhere_and_only_rule_names_are_used() -> None:
    used = {_meta(e)["rule"] for t in TABLES for e in build_suite(t, BOUNDS).expectations}
    assert used == set(ROW_RULES)
    assert set(DIRTY_KINDS) < used


def test_police_offences_suite_known_answer() -> None:
    checks = _checks("police_offences")
    assert checks == Counter(
        {
            ("expect_column_values_to_not_be_null", "not_null", c): 1
            for c in (
                "offence_id",
                "pnc_id",
                "offence_date",
                "offence_group",
                "domestic_abuse",
                "gravity",
                "outcome",
            )
        }
        | {
            ("expect_column_values_to_be_null", "type", c): 1
            for c in ("offence_date", "domestic_abuse", "gravity", "outcome_date")
        }
        | {
            ("expect_column_values_to_be_in_set", "in_set", "offence_group"): 1,
            ("expect_column_values_to_be_in_set", "in_set", "outcome"): 1,
            ("expect_column_values_to_match_regex", "pattern", "pnc_id"): 1,
            ("expect_column_values_to_be_between", "range", "gravity"): 1,
            ("expect_column_values_to_be_between", "date_range", "offence_date"): 1,
            ("expect_column_values_to_be_between", "date_range", "outcome_date"): 1,
            ("expect_column_values_to_be_between", "future_date", "offence_date"): 1,
            ("expect_column_values_to_be_between", "future_date", "outcome_date"): 1,
            ("expect_column_values_to_be_null", "unique", "offence_id"): 1,
            ("expect_column_pair_values_a_to_be_greater_than_b", "date_order", "outcome_date"): 1,
            ("expect_column_values_to_be_null", "null_when", "outcome_date"): 1,
            ("expect_column_values_to_not_be_null", "null_when", "outcome_date"): 1,
            ("expect_column_values_to_be_null", "orphan", "pnc_id"): 1,
            ("expect_column_values_to_be_null", "parent_rejected", "pnc_id"): 1,
        }
    )


def test_planned_dates_and_dates_of_birth_have_no_future_date_check() -> None:
    custody = _checks("custody_episodes")
    assert ("expect_column_values_to_be_between", "future_date", "expected_release_date") not in custody
    assert ("expect_column_values_to_be_between", "future_date", "release_date") in custody
    orders = _checks("probation_orders")
    assert ("expect_column_values_to_be_between", "future_date", "end_date") not in orders
    assert ("expect_column_values_to_be_between", "future_date", "date_of_birth") not in orders
    dob: list[Any] = [
        e
        for e in build_suite(TABLES_BY_NAME["police_nominals"], BOUNDS).expectations
        if _meta(e)["column"] == "date_of_birth" and _meta(e)["rule"] == "date_range"
    ]
    assert len(dob) == 1
    assert dob[0].min_value == pd.Timestamp("1900-01-01")
    assert dob[0].max_value == pd.Timestamp("2016-10-31")


def test_optional_needs_scores_are_range_checked_but_may_be_empty() -> None:
    checks = _checks("probation_assessments")
    assert ("expect_column_values_to_be_between", "range", "drugs") in checks
    assert ("expect_column_values_to_not_be_null", "not_null", "drugs") not in checks


@pytest.mark.parametrize("table", [t for t in TABLES if t.null_when], ids=lambda t: t.name)
def test_every_contract_null_when_condition_translates(table) -> None:  # type: ignore[no-untyped-def]
    for rule in table.null_when:
        when, otherwise = null_when_conditions(rule, table)
        assert repr(when) != repr(otherwise)
    described = {
        (_meta(e)["column"], repr(getattr(e, "row_condition", None)))
        for e in build_suite(table, BOUNDS).expectations
        if _meta(e)["rule"] == "null_when"
    }
    assert len(described) == sum(2 if r.required_otherwise else 1 for r in table.null_when)


def test_null_when_conditions_judge_presence_on_the_text_as_sent() -> None:
    custody = TABLES_BY_NAME["custody_episodes"]
    when, otherwise = null_when_conditions(custody.null_when[0], custody)
    assert repr(when) == "release_date__text IS NULL"
    assert repr(otherwise) == "release_date__text IS NOT NULL"
    offences = TABLES_BY_NAME["police_offences"]
    when, otherwise = null_when_conditions(offences.null_when[0], offences)
    assert repr(when) == "outcome == pending"
    assert repr(otherwise) == "(outcome != pending AND outcome IS NOT NULL)"
