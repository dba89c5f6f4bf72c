"""Table-level checks (ExtractError) and the formats and layouts the reader tolerates."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from validation_extracts import to_text, valid_tables

from iom_contract import REQUIRED_TABLES, TABLES
from validation import ExtractError, read_extract

MakeExtract = Callable[..., Path]


def _problems(extract: Path) -> ExtractError:
    with pytest.raises(ExtractError) as info:
        read_extract(extract)
    return info.value


def _rules(err: ExtractError) -> list[tuple[str, str, str]]:
    return [(p.file, p.column, p.rule) for p in err.problems]


def test_valid_extract_reads_every_table_as_text(make_extract: MakeExtract) -> None:
    manifest, tables = read_extract(make_extract())
    assert manifest.area == "Test Borough"
    assert set(tables) == {t.name for t in TABLES}
    for name, raw in tables.items():
        assert (raw.frame.dtypes == "string").all(), name
        assert raw.n_rows == len(valid_tables()[name])


def test_optional_table_may_be_absent(make_extract: MakeExtract) -> None:
    tables = {k: v for k, v in valid_tables().items() if k != "panel_decisions"}
    _, read = read_extract(make_extract(tables))
    assert set(read) == set(REQUIRED_TABLES)


def test_missing_manifest(make_extract: MakeExtract) -> None:
    extract = make_extract()
    (extract / "manifest.json").unlink()
    err = _problems(extract)
    assert _rules(err) == [("manifest.json", "", "manifest_missing")]
    assert "manifest.json" in str(err) and "extract_date" in str(err)


def test_manifest_not_json(make_extract: MakeExtract) -> None:
    extract = make_extract()
    (extract / "manifest.json").write_text("{contract: partner-records/1", encoding="utf-8")
    assert _rules(_problems(extract)) == [("manifest.json", "", "manifest_invalid")]


def test_wrong_contract_version_names_the_version_found(make_extract: MakeExtract) -> None:
    err = _problems(make_extract(manifest={"contract": "partner-records/2"}))
    assert _rules(err) == [("manifest.json", "contract", "contract_version")]
    assert err.problems[0].example == "partner-records/2"
    assert "partner-records/1" in str(err)


def test_missing_area_and_bad_extract_date_are_both_reported(make_extract: MakeExtract) -> None:
    extract = make_extract(manifest={"extract_date": "31/10/2026"})
    manifest = json.loads((extract / "manifest.json").read_text(encoding="utf-8"))
    del manifest["area"]
    (extract / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    err = _problems(extract)
    assert _rules(err) == [
        ("manifest.json", "area", "manifest_field"),
        ("manifest.json", "extract_date", "manifest_field"),
    ]
    assert err.problems[1].example == "31/10/2026"


def test_missing_required_table(make_extract: MakeExtract) -> None:
    extract = make_extract()
    (extract / "probation_contacts.csv").unlink()
    err = _problems(extract)
    assert _rules(err) == [("probation_contacts.csv", "", "file_missing")]
    assert "probation_contacts.csv" in str(err)


def test_optional_table_listed_in_manifest_but_absent(make_extract: MakeExtract) -> None:
    extract = make_extract()
    (extract / "panel_decisions.csv").unlink()
    assert _rules(_problems(extract)) == [("panel_decisions.csv", "", "file_missing")]


def test_csv_and_parquet_of_one_table_is_ambiguous(make_extract: MakeExtract) -> None:
    extract = make_extract()
    valid_tables()["housing_events"].to_parquet(extract / "housing_events.parquet")
    err = _problems(extract)
    assert _rules(err) == [("housing_events.csv / housing_events.parquet", "", "file_ambiguous")]


def test_file_that_is_not_utf8_is_unreadable(make_extract: MakeExtract) -> None:
    extract = make_extract()
    path = extract / "housing_events.csv"
    path.write_bytes(path.read_bytes().replace(b"Smith", b"Sm\xefth"))
    err = _problems(extract)
    assert _rules(err) == [("housing_events.csv", "", "file_unreadable")]
    assert "UTF-8" in str(err)


def test_ragged_csv_is_unreadable(make_extract: MakeExtract) -> None:
    extract = make_extract()
    path = extract / "probation_contacts.csv"
    path.write_text(
        path.read_text(encoding="utf-8") + "X123456,2021-07-09,attended,surplus\n", encoding="utf-8"
    )
    assert _rules(_problems(extract)) == [("probation_contacts.csv", "", "file_unreadable")]


def test_missing_column_names_file_and_column(make_extract: MakeExtract) -> None:
    tables = valid_tables()
    tables["police_offences"] = tables["police_offences"].drop(columns=["gravity"])
    tables["custody_episodes"] = tables["custody_episodes"].rename(columns={"noms_id": "NOMS_ID"})
    err = _problems(make_extract(tables))
    assert _rules(err) == [
        ("police_offences.csv", "gravity", "column_missing"),
        ("custody_episodes.csv", "noms_id", "column_missing"),
    ]
    text = str(err)
    assert 'police_offences.csv, column "gravity"' in text
    assert 'custody_episodes.csv, column "noms_id"' in text and '"NOMS_ID"' in text


def test_row_count_mismatch_names_both_numbers(make_extract: MakeExtract) -> None:
    n = len(valid_tables()["police_offences"])
    extract = make_extract()
    manifest = json.loads((extract / "manifest.json").read_text(encoding="utf-8"))
    manifest["row_counts"]["police_offences"] = n + 2
    (extract / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    err = _problems(extract)
    assert _rules(err) == [("police_offences.csv", "", "row_count_mismatch")]
    assert err.problems[0].count == 2
    assert f"{n} data rows" in str(err) and f"says {n + 2}" in str(err) and "lost" in str(err)


def test_row_count_absent_from_manifest(make_extract: MakeExtract) -> None:
    extract = make_extract()
    manifest = json.loads((extract / "manifest.json").read_text(encoding="utf-8"))
    del manifest["row_counts"]["housing_events"]
    (extract / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert _rules(_problems(extract)) == [("manifest.json", "row_counts", "row_count_missing")]


def test_every_problem_is_collected_into_one_message(make_extract: MakeExtract) -> None:
    tables = valid_tables()
    tables["police_nominals"] = tables["police_nominals"].drop(columns=["sex", "ethnicity"])
    extract = make_extract(tables, manifest={"contract": "v0"})
    (extract / "housing_events.csv").unlink()
    err = _problems(extract)
    assert _rules(err) == [
        ("manifest.json", "contract", "contract_version"),
        ("police_nominals.csv", "sex", "column_missing"),
        ("police_nominals.csv", "ethnicity", "column_missing"),
        ("housing_events.csv", "", "file_missing"),
    ]
    text = str(err)
    assert text.startswith(f"The extract in {extract} cannot be validated: 4 problems")
    assert all(f"  {i}. " in text for i in range(1, 5))


# --- tolerated layouts: the text read must equal that of the plain CSV extract ---


def _frames(extract: Path) -> dict[str, pd.DataFrame]:
    return {name: raw.frame for name, raw in read_extract(extract)[1].items()}


def test_bom_crlf_column_order_and_extra_columns_are_tolerated(
    make_extract: MakeExtract, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    baseline = _frames(make_extract())
    extract = make_extract()
    for name, frame in valid_tables().items():
        text = to_text(frame)
        text = text[list(reversed(text.columns))]
        if name == "police_offences":
            text.insert(2, "notes", "free text, with a comma")
            text["Unnamed: 9"] = None
        text.to_csv(extract / f"{name}.csv", index=False, lineterminator="\r\n", encoding="utf-8-sig")
    with caplog.at_level(logging.WARNING, logger="validation.core"):
        tolerant = _frames(extract)
    for name, frame in baseline.items():
        pd.testing.assert_frame_equal(tolerant[name], frame, check_like=False)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        "police_offences.csv: ignoring 2 column(s) the contract does not define: notes, Unnamed: 9"
    ]


@pytest.mark.parametrize("as_text", [False, True], ids=["typed", "strings"])
def test_parquet_typed_or_string_columns_read_as_the_csv_text(
    make_extract: MakeExtract, as_text: bool
) -> None:
    baseline = _frames(make_extract())
    parquet = _frames(make_extract(fmt="parquet", parquet_as_text=as_text))
    for name, frame in baseline.items():
        pd.testing.assert_frame_equal(parquet[name], frame)


def test_parquet_timestamps_floats_and_categoricals_render_as_csv_text(make_extract: MakeExtract) -> None:
    tables = valid_tables()
    offences = tables["police_offences"].copy()
    offences["gravity"] = offences["gravity"].astype("float64")
    offences["offence_group"] = offences["offence_group"].astype("category")
    offences["offence_date"] = offences["offence_date"].astype("datetime64[ns]")
    offences.loc[0, "offence_date"] = pd.Timestamp("2020-01-01 13:30")
    tables["police_offences"] = offences
    frame = _frames(make_extract(tables, fmt={"police_offences": "parquet"}))["police_offences"]
    assert frame["gravity"].tolist() == ["3", "1", "6", "2"]
    assert frame["offence_group"].tolist() == offences["offence_group"].astype(str).tolist()
    # A time of day is kept, so the value fails the date check instead of being truncated.
    assert frame["offence_date"].str.startswith("2020-01-01T13:30:00").tolist() == [True, False, False, False]
    assert frame["offence_date"].tolist()[1:] == ["2026-10-31", "2024-05-05", "2025-01-01"]
