"""Tests for simulator.dirty: every injected row breaks exactly its recorded rule, counts are exact.

The rules are re-read here, row by row in plain Python, independently of the
injector's own vectorised checks, so a shared misreading of the contract is less likely
to pass unnoticed.
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd
import pytest
from test_assemble import EXTRACT_DATE, make_world

from iom_contract import DIRTY_KINDS, TABLES, Table, table
from simulator.assemble import assemble_extract
from simulator.dirty import applicable_kinds, inject_dirty
from simulator.identity import IdentityNoise
from simulator.writer import format_table

EXTRACT = EXTRACT_DATE.date()
EARLIEST = dt.date(1900, 1, 1)
DOB_BOUND = EXTRACT.replace(year=EXTRACT.year - 10)

# The contract's NullWhen conditions, read by hand. A new condition in the contract
# makes test_every_null_when_condition_is_read_here fail until it is added.
CONDITIONS = {
    'outcome == "pending"': lambda row: row["outcome"] == "pending",
    "release_date.isna()": lambda row: row["release_date"] == "",
    "release_date.notna()": lambda row: row["release_date"] != "",
    "discharge_date.isna()": lambda row: row["discharge_date"] == "",
}


def parse_date(v: str) -> dt.date | None:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", v):
        return None
    try:
        return dt.date.fromisoformat(v)
    except ValueError:
        return None


def row_rules(row: dict[str, str], tbl: Table) -> set[str]:
    """Row-level rules one row breaks."""
    broken: set[str] = set()
    for col in tbl.columns:
        v = row[col.name]
        if v == "":
            if not col.nullable:
                broken.add("not_null")
            continue
        if col.kind == "date":
            d = parse_date(v)
            if d is None:
                broken.add("type")
                continue
            if d < EARLIEST or (col.name == "date_of_birth" and d > DOB_BOUND):
                broken.add("date_range")
            if col.name != "date_of_birth" and not col.planned and d > EXTRACT:
                broken.add("future_date")
        elif col.kind == "int":
            if not re.fullmatch(r"[+-]?\d+", v):
                broken.add("type")
            elif (col.min_value is not None and int(v) < col.min_value) or (
                col.max_value is not None and int(v) > col.max_value
            ):
                broken.add("range")
        elif col.kind == "bool" and v.lower() not in ("true", "false"):
            broken.add("type")
        if col.values is not None and v not in col.values:
            broken.add("in_set")
        if col.pattern is not None and not re.match(col.pattern, v):
            broken.add("pattern")
    for order in tbl.date_orders:
        a, b = parse_date(row[order.earlier]), parse_date(row[order.later])
        if a is not None and b is not None and b < a:
            broken.add("date_order")
    for rule in tbl.null_when:
        cond = CONDITIONS[rule.condition](row)
        empty = row[rule.column] == ""
        if (cond and not empty) or (rule.required_otherwise and not cond and empty):
            broken.add("null_when")
    return broken


def expected_rejections(tables: dict[str, pd.DataFrame]) -> dict[tuple[str, int], set[str]]:
    """(table, 1-based source_row) -> every rule the row breaks, for rows that break any."""
    out: dict[tuple[str, int], set[str]] = {}
    rejected_rows: dict[str, list[bool]] = {}
    for tbl in TABLES:
        if tbl.name not in tables:
            continue
        records = tables[tbl.name].to_dict("records")
        seen: set[str] = set()
        key = next((c.name for c in tbl.columns if c.unique), None)
        flags = []
        for i, row in enumerate(records, start=1):
            rules = row_rules(row, tbl)
            if key is not None and row[key] != "":
                if row[key] in seen:
                    rules.add("unique")
                seen.add(row[key])
            for fk in tbl.foreign_keys:
                v = row[fk.column]
                if v == "" or fk.parent not in tables:
                    continue
                parent = tables[fk.parent]
                hits = [j for j, pv in enumerate(parent[fk.parent_column]) if pv == v]
                if not hits:
                    rules.add("orphan")
                elif all(rejected_rows[fk.parent][j] for j in hits):
                    rules.add("parent_rejected")
            flags.append(bool(rules))
            if rules:
                out[(tbl.name, i)] = rules
        rejected_rows[tbl.name] = flags
    return out


def _string_tables(n: int = 300, seed: int = 0) -> dict[str, pd.DataFrame]:
    world = make_world(n, seed)
    tables, _ = assemble_extract(
        world, IdentityNoise(), np.random.default_rng(seed), "North Staffordshire", 40
    )
    return {name: format_table(df, name) for name, df in tables.items()}


@pytest.fixture(scope="module")
def clean() -> dict[str, pd.DataFrame]:
    return _string_tables()


@pytest.fixture(scope="module")
def dirty(clean):
    return inject_dirty(clean, 0.08, EXTRACT_DATE, np.random.default_rng(11))


# ---------------------------------------------------------------------------------------
# The test's own rule reader can fail
# ---------------------------------------------------------------------------------------


def test_every_null_when_condition_is_read_here():
    assert {r.condition for t in TABLES for r in t.null_when} <= set(CONDITIONS)


@pytest.mark.parametrize(
    ("changes", "rules"),
    [
        ({}, set()),
        ({"offence_date": "2021-13-45"}, {"type"}),
        ({"offence_date": "2024-11-01", "outcome_date": ""}, {"future_date", "null_when"}),
        ({"gravity": "7"}, {"range"}),
        ({"gravity": "two"}, {"type"}),
        ({"domestic_abuse": "yes"}, {"type"}),
        ({"offence_group": "arson"}, {"in_set"}),
        ({"pnc_id": "09/123456"}, {"pattern"}),
        ({"outcome_date": "2019-12-31"}, {"date_order"}),
        ({"outcome": "pending"}, {"null_when"}),
        ({"offence_id": ""}, {"not_null"}),
        ({"offence_date": "1899-12-31"}, {"date_range"}),
    ],
)
def test_row_rules_known_answers(changes, rules):
    row = {
        "offence_id": "CR1",
        "pnc_id": "09/123456C",
        "offence_date": "2020-01-01",
        "offence_group": "burglary",
        "domestic_abuse": "false",
        "gravity": "3",
        "outcome": "convicted",
        "outcome_date": "2020-02-01",
    }
    assert row_rules({**row, **changes}, table("police_offences")) == rules


def test_dob_rule_known_answers():
    row = {
        "pnc_id": "09/123456C",
        "forename": "A",
        "surname": "B",
        "date_of_birth": "2015-01-01",
        "sex": "M",
        "ethnicity": "White",
        "postcode_district": "",
    }
    tbl = table("police_nominals")
    assert row_rules(row, tbl) == {"date_range"}
    assert row_rules({**row, "date_of_birth": "2030-01-01"}, tbl) == {"date_range"}
    assert row_rules({**row, "date_of_birth": "1990-01-01"}, tbl) == set()


# ---------------------------------------------------------------------------------------
# The injector
# ---------------------------------------------------------------------------------------


def test_clean_input_breaks_no_rule(clean):
    assert expected_rejections(clean) == {}


def test_each_recorded_row_breaks_exactly_its_kind_and_nothing_else_is_broken(dirty):
    tables, truth = dirty
    assert list(truth.columns) == ["table", "source_row", "kind", "column"]
    assert not truth.duplicated(["table", "source_row"]).any(), "one violation per row"
    recorded = {
        (t, int(r)): {k} for t, r, k in truth[["table", "source_row", "kind"]].itertuples(index=False)
    }
    assert expected_rejections(tables) == recorded


def test_every_applicable_kind_is_injected_in_every_table(dirty, clean):
    _, truth = dirty
    for name in clean:
        got = set(truth.loc[truth["table"] == name, "kind"])
        assert set(applicable_kinds(name)) <= got, (name, set(applicable_kinds(name)) - got)
    assert set(truth["kind"]) <= {*DIRTY_KINDS, "parent_rejected"}


def _cascade_orphans(name: str, clean: dict[str, pd.DataFrame], tables: dict[str, pd.DataFrame]) -> int:
    """Child rows whose parent key existed in the clean parent but was changed away."""
    n = 0
    for fk in table(name).foreign_keys:
        values = tables[name][fk.column]
        was = values.isin(clean[fk.parent][fk.parent_column])
        now = values.isin(tables[fk.parent][fk.parent_column])
        n += int((was & ~now).sum())
    return n


def test_injected_counts_follow_the_rate(dirty, clean):
    tables, truth = dirty
    for name, df in clean.items():
        want = max(round(0.08 * len(df)), len(applicable_kinds(name)))
        rows = truth[(truth["table"] == name) & (truth["kind"] != "parent_rejected")]
        assert len(rows) == want + _cascade_orphans(name, clean, tables), name


def test_each_corrupted_row_differs_from_its_original_only_in_the_recorded_column(dirty, clean):
    tables, truth = dirty
    for name, df in clean.items():
        t = truth[truth["table"] == name]
        dup_rows = np.sort(t.loc[t["kind"] == "unique", "source_row"].to_numpy())
        # Dropping the inserted duplicates restores the original row order.
        kept = np.setdiff1d(np.arange(1, len(tables[name]) + 1), dup_rows)
        undup = tables[name].iloc[kept - 1].reset_index(drop=True)
        assert len(undup) == len(df)
        differs = undup.ne(df)
        changed_rows = set(np.flatnonzero(differs.any(axis=1).to_numpy()))
        injected = t[~t["kind"].isin(["unique", "parent_rejected"])]
        position = (
            injected["source_row"].to_numpy()
            - 1
            - np.searchsorted(dup_rows, injected["source_row"].to_numpy())
        )
        assert changed_rows <= set(position.tolist()), name
        for pos, col, kind in zip(position, injected["column"], injected["kind"], strict=True):
            cols = set(differs.columns[differs.iloc[pos].to_numpy()])
            # A cascaded orphan is an unchanged child row: its parent's key changed.
            assert cols == {col} or (kind == "orphan" and not cols), (name, pos, col, cols)


def test_duplicates_are_exact_copies_after_their_original(dirty, clean):
    tables, truth = dirty
    dups = truth[truth["kind"] == "unique"]
    assert len(dups) > 0
    for name, group in dups.groupby("table"):
        df = tables[name]
        assert len(df) == len(clean[name]) + len(group)
        key = group["column"].iloc[0]
        for r in group["source_row"]:
            row = df.iloc[r - 1]
            earlier = df.iloc[: r - 1]
            first = earlier[earlier[key] == row[key]]
            assert len(first) == 1, (name, r)
            assert first.iloc[0].tolist() == row.tolist()
    untouched = [n for n in clean if n not in set(dups["table"])]
    for name in untouched:
        assert len(tables[name]) == len(clean[name])


def test_cascade_is_recorded_for_children_of_rejected_parents(dirty):
    tables, truth = dirty
    cascade = truth[truth["kind"] == "parent_rejected"]
    assert set(cascade["table"]) <= {"police_offences", "probation_assessments", "probation_contacts"}
    assert len(cascade) > 0
    # Every parent_rejected offence points at a nominal row that was itself recorded.
    bad_nominals = truth[(truth["table"] == "police_nominals") & (truth["kind"] != "unique")]
    bad_pncs = set(tables["police_nominals"].iloc[bad_nominals["source_row"] - 1]["pnc_id"])
    offences = cascade[cascade["table"] == "police_offences"]
    assert set(tables["police_offences"].iloc[offences["source_row"] - 1]["pnc_id"]) <= bad_pncs


def test_rate_zero_changes_nothing(clean):
    tables, truth = inject_dirty(clean, 0.0, EXTRACT_DATE, np.random.default_rng(0))
    assert truth.empty
    for name in clean:
        pd.testing.assert_frame_equal(tables[name], clean[name])


def test_injection_is_deterministic_and_leaves_input_alone(clean):
    before = {k: v.copy() for k, v in clean.items()}
    a_tables, a_truth = inject_dirty(clean, 0.05, EXTRACT_DATE, np.random.default_rng(3))
    b_tables, b_truth = inject_dirty(clean, 0.05, EXTRACT_DATE, np.random.default_rng(3))
    pd.testing.assert_frame_equal(a_truth, b_truth)
    for name in clean:
        pd.testing.assert_frame_equal(a_tables[name], b_tables[name])
        pd.testing.assert_frame_equal(clean[name], before[name])


def test_a_single_table_without_its_parent_gets_no_orphans():
    contacts = _string_tables(80, 2)["probation_contacts"]
    tables, truth = inject_dirty(
        {"probation_contacts": contacts}, 0.1, EXTRACT_DATE, np.random.default_rng(0)
    )
    assert set(truth["kind"]) == set(applicable_kinds("probation_contacts", ("probation_contacts",)))
    assert "orphan" not in set(truth["kind"])
    assert expected_rejections(tables) == {
        (t, int(r)): {k} for t, r, k in truth[["table", "source_row", "kind"]].itertuples(index=False)
    }


def test_bad_rate_is_refused(clean):
    with pytest.raises(ValueError, match="rate"):
        inject_dirty(clean, 1.5, EXTRACT_DATE, np.random.default_rng(0))
