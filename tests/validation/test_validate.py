"""Known-answer tests of ``validate_extract``: rules, quarantine, reconciliation, types.

Each GE validation of a whole extract costs seconds of fixed overhead, so the
``clean`` and ``dirty`` extracts (conftest.py) are validated once per session.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from validation_extracts import EXPECTED_REJECTS, dirty_tables, to_text, valid_tables, write_extract

from iom_contract import ROW_RULES, TABLES, TABLES_BY_NAME
from validation import ValidateParams, ValidationResult, validate_extract
from validation.parsing import TYPED_DTYPES
from validation.quarantine import REJECT_COLUMNS


def _validate(extract: Path) -> ValidationResult:
    return validate_extract(extract, ValidateParams(extract=str(extract)))


def _reject_keys(result: ValidationResult) -> list[tuple[str, int, str, str]]:
    return [
        (name, int(row.source_row), str(row.rule), str(row.rules))
        for name, frame in result.rejects.items()
        for row in frame.itertuples()
    ]


def test_clean_extract_has_no_rejects(clean: ValidationResult) -> None:
    assert {n: len(f) for n, f in clean.rejects.items()} == dict.fromkeys(clean.rejects, 0)
    assert {n: len(f) for n, f in clean.accepted.items()} == {n: len(f) for n, f in valid_tables().items()}
    assert clean.metrics["totals"]["rejected"] == 0


def test_accepted_rows_are_typed_per_contract_with_source_row(clean: ValidationResult) -> None:
    for table in TABLES:
        frame = clean.accepted[table.name]
        assert tuple(frame.columns) == (*table.column_names, "source_row")
        for col in table.columns:
            assert str(frame[col.name].dtype) == TYPED_DTYPES[col.kind], (table.name, col.name)
        assert frame["source_row"].dtype == np.int64
        assert frame["source_row"].tolist() == list(range(1, len(frame) + 1))


def test_accepted_values_equal_the_hand_built_frames(clean: ValidationResult) -> None:
    for name, expected in valid_tables().items():
        got = clean.accepted[name].drop(columns="source_row")
        pd.testing.assert_frame_equal(got, expected, check_dtype=False)
        # The text written and the text of the accepted values agree cell for cell.
        pd.testing.assert_frame_equal(to_text(got), to_text(expected))


def test_every_rule_is_caught_on_its_hand_made_row(dirty: ValidationResult) -> None:
    assert sorted(_reject_keys(dirty)) == sorted(EXPECTED_REJECTS)


def test_rejects_by_rule_counts_first_rules_exactly(dirty: ValidationResult) -> None:
    expected: dict[str, dict[str, int]] = {}
    for table, _, rule, _ in EXPECTED_REJECTS:
        expected.setdefault(table, {})
        expected[table][rule] = expected[table].get(rule, 0) + 1
    got = {n: m["rejects_by_rule"] for n, m in dirty.metrics["tables"].items() if m["rejects_by_rule"]}
    assert got == expected
    for counts in got.values():
        assert list(counts) == [r for r in ROW_RULES if r in counts]


def test_every_row_is_accepted_or_rejected_exactly_once(dirty: ValidationResult) -> None:
    written = dirty_tables()
    for name, m in dirty.metrics["tables"].items():
        n = len(written[name])
        rows = np.concatenate([dirty.accepted[name]["source_row"], dirty.rejects[name]["source_row"]])
        assert sorted(rows.tolist()) == list(range(1, n + 1)), name
        assert m["rows_in_file"] == m["manifest_count"] == n == m["accepted"] + m["rejected"]
        assert m["reconciled"] is True
    assert dirty.metrics["totals"]["reconciled"] is True


def test_rejects_keep_the_original_text_and_a_readable_reason(dirty: ValidationResult) -> None:
    written = dirty_tables()
    for name, frame in dirty.rejects.items():
        table = TABLES_BY_NAME[name]
        assert tuple(frame.columns) == (*table.column_names, *REJECT_COLUMNS)
        assert (frame[list(table.column_names)].dtypes == "string").all()
        original = written[name].iloc[frame["source_row"].to_numpy() - 1].reset_index(drop=True)
        pd.testing.assert_frame_equal(
            frame[list(table.column_names)]
            .astype(object)
            .where(frame[list(table.column_names)].notna(), None),
            original.astype(object),
            check_dtype=False,
        )
        assert frame["detail"].str.len().min() > 20


def test_detail_sentences_known_answer(dirty: ValidationResult) -> None:
    def detail(table: str, row: int) -> str:
        frame = dirty.rejects[table]
        return str(frame.loc[frame["source_row"] == row, "detail"].item())

    assert (
        detail("police_nominals", 4)
        == 'pnc_id "09/123456K" repeats data row 1; the first occurrence is kept.'
    )
    assert detail("police_nominals", 7) == (
        'date_of_birth "2016-11-01" is implausible: a date of birth must be between 1900-01-01 and '
        "2016-10-31 (the minimum age before the extract date 2026-10-31)."
    )
    assert detail("police_offences", 6) == 'outcome_date "2019-12-31" is before offence_date "2020-01-01".'
    assert detail("police_offences", 8) == (
        "outcome_date is empty only when the outcome is pending; here outcome_date is empty."
    )
    assert detail("police_offences", 15) == (
        'pnc_id "12/3C" is in police_nominals, but every police_nominals row with it was quarantined, '
        "so this row cannot be linked."
    )
    assert detail("police_offences", 18) == (
        'pnc_id "bad-id" does not have the required format ^\\d{2}/\\d{1,7}[A-Z]$. '
        "(1 more failed check(s); see rules.)"
    )
    assert detail("probation_orders", 4) == 'breached "maybe" cannot be read as a true or false.'


def test_keep_first_uniqueness(dirty: ValidationResult) -> None:
    nominals = dirty.accepted["police_nominals"]
    assert nominals.loc[nominals["pnc_id"] == "09/123456K", "source_row"].tolist() == [1]
    offences = dirty.accepted["police_offences"]
    assert offences.loc[offences["offence_id"] == "O1", "source_row"].tolist() == [1]


def test_orphan_versus_parent_rejected_cascade(dirty: ValidationResult) -> None:
    # Z000009's only order is quarantined: its assessment and contact cascade.
    # X123456 keeps accepted orders although one of its orders is quarantined.
    contacts = dirty.accepted["probation_contacts"]
    assert "Z000009" not in set(contacts["crn"])
    assert (contacts["crn"] == "X123456").sum() == 3
    accepted_pnc = set(dirty.accepted["police_nominals"]["pnc_id"])
    assert set(dirty.accepted["police_offences"]["pnc_id"]) <= accepted_pnc
    accepted_crn = set(dirty.accepted["probation_orders"]["crn"])
    for child in ("probation_assessments", "probation_contacts"):
        assert set(dirty.accepted[child]["crn"]) <= accepted_crn


def test_lenient_boolean_case_and_planned_future_dates_are_accepted(dirty: ValidationResult) -> None:
    offences = dirty.accepted["police_offences"]
    assert offences.loc[offences["offence_id"] == "O12", "domestic_abuse"].tolist() == [True]
    custody = dirty.accepted["custody_episodes"]
    assert pd.Timestamp("2030-01-01") in set(custody["expected_release_date"].dropna())
    orders = dirty.accepted["probation_orders"]
    assert orders.loc[orders["crn"] == "V000001", "end_date"].tolist() == [pd.Timestamp("2030-01-01")]


def test_examples_for_data_docs_show_the_values_as_sent(dirty: ValidationResult) -> None:
    results = dirty.gx_results["police_offences"].results
    metas = [dict(r.expectation_config.meta or {}) if r.expectation_config else {} for r in results]
    examples = sorted(
        (metas[i]["rule"], metas[i]["column"], v) for i, v in dirty.examples["police_offences"].items()
    )
    assert ("range", "gravity", ['row 9: "7"']) in examples
    assert ("type", "offence_date", ['row 17: "2021-02-30"']) in examples
    assert [e[2] for e in examples if e[:2] == ("null_when", "outcome_date")] == [
        ['row 7: "2020-02-01"'],
        ["row 8: empty"],
    ]


def test_gx_results_name_failing_rows_by_source_row(dirty: ValidationResult) -> None:
    failed = {}
    for r in dirty.gx_results["police_offences"].results:
        if not r.success and r.expectation_config is not None:
            meta = dict(r.expectation_config.meta or {})
            failed[(meta["rule"], meta["column"])] = r.result["unexpected_index_list"]
    assert failed[("orphan", "pnc_id")] == [{"_row": [14]}]
    assert failed[("unique", "offence_id")] == [{"_row": [13]}]


def test_params_change_the_date_bounds(tmp_path: Path) -> None:
    extract = write_extract(tmp_path / "e")
    strict = validate_extract(
        extract, ValidateParams(extract=str(extract), min_age_years=40, earliest_date="1960-01-01")
    )
    nominals = strict.rejects["police_nominals"]
    # Born 1990-01-01 and 2016-10-31: under 40 on 2026-10-31; born 1950: before 1960.
    assert nominals["source_row"].tolist() == [1, 2, 3]
    assert set(nominals["rule"]) == {"date_range"}


def test_mixed_formats_and_tolerated_layouts_validate_like_the_plain_csv(
    tmp_path: Path, clean: ValidationResult, caplog: pytest.LogCaptureFixture
) -> None:
    names = [t.name for t in TABLES]
    # Typed Parquet, string Parquet and CSV with BOM, CRLF, reversed columns and an extra column.
    fmt = {n: ("parquet" if i % 3 == 0 else "csv") for i, n in enumerate(names)}
    extract = write_extract(tmp_path / "mixed", fmt=fmt)
    strings = write_extract(tmp_path / "strings", fmt="parquet", parquet_as_text=True)
    for name, frame in valid_tables().items():
        if fmt[name] == "csv":
            text = to_text(frame)
            text = text[list(reversed(text.columns))].assign(comment="ignored")
            text.to_csv(extract / f"{name}.csv", index=False, lineterminator="\r\n", encoding="utf-8-sig")
        (strings / f"{name}.parquet").unlink()
        to_text(frame).astype("string").to_parquet(strings / f"{name}.parquet", index=False)
    for path in (extract, strings):
        with caplog.at_level(logging.WARNING, logger="validation.core"):
            result = _validate(path)
        assert result.metrics["totals"]["rejected"] == 0
        for name, frame in clean.accepted.items():
            pd.testing.assert_frame_equal(result.accepted[name], frame)
    assert sum("comment" in r.getMessage() for r in caplog.records) == sum(v == "csv" for v in fmt.values())


def test_header_only_files_validate_to_empty_typed_tables(tmp_path: Path) -> None:
    empty = {name: frame.iloc[0:0] for name, frame in valid_tables().items()}
    extract = write_extract(tmp_path / "empty", empty, fmt={"police_nominals": "parquet"})
    result = _validate(extract)
    assert result.metrics["totals"] == {
        "rows_in_file": 0,
        "accepted": 0,
        "rejected": 0,
        "manifest_count": 0,
        "reconciled": True,
    }
    for table in TABLES:
        frame = result.accepted[table.name]
        assert frame.empty
        assert [str(frame[c.name].dtype) for c in table.columns] == [
            TYPED_DTYPES[c.kind] for c in table.columns
        ]
