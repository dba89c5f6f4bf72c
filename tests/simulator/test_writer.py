"""Tests for simulator.writer: formatting, CSV quoting, manifest, truth, round trips, byte determinism."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_assemble import EXTRACT_DATE, make_world

from iom_contract import CONTRACT_VERSION, REQUIRED_TABLES, table
from simulator.assemble import assemble_extract, contract_frame
from simulator.identity import IdentityNoise
from simulator.writer import csv_bytes, format_table, write_extract

AREA = "North Staffordshire"


@pytest.fixture(scope="module")
def extract():
    world = make_world(120, 4)
    return assemble_extract(world, IdentityNoise(), np.random.default_rng(4), AREA, 30)


def _write(out: Path, extract, **kwargs) -> dict:
    tables, truth = extract
    return write_extract(out, tables, truth, area=AREA, extract_date=EXTRACT_DATE, **kwargs)


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)


# ---------------------------------------------------------------------------------------
# format_table and csv_bytes
# ---------------------------------------------------------------------------------------


def test_format_table_known_answer():
    df = pd.DataFrame(
        {
            "extra": ["dropped"] * 2,
            "outcome_date": pd.to_datetime(["2020-02-01", None]).astype("datetime64[ms]"),
            "offence_id": ["CR1", "CR2"],
            "pnc_id": ["09/123456C", "09/123456C"],
            "offence_date": pd.to_datetime(["2020-01-01", "2021-03-04"]).astype("datetime64[ms]"),
            "offence_group": ["burglary", "theft"],
            "domestic_abuse": [True, False],
            "gravity": pd.array([3, 6], dtype="int64"),
            "outcome": ["convicted", "pending"],
        }
    )
    out = format_table(df, "police_offences")
    assert list(out.columns) == list(table("police_offences").column_names)
    assert out.to_dict("records") == [
        {
            "offence_id": "CR1",
            "pnc_id": "09/123456C",
            "offence_date": "2020-01-01",
            "offence_group": "burglary",
            "domestic_abuse": "true",
            "gravity": "3",
            "outcome": "convicted",
            "outcome_date": "2020-02-01",
        },
        {
            "offence_id": "CR2",
            "pnc_id": "09/123456C",
            "offence_date": "2021-03-04",
            "offence_group": "theft",
            "domestic_abuse": "false",
            "gravity": "6",
            "outcome": "pending",
            "outcome_date": "",
        },
    ]
    assert all(str(t) == "str" for t in out.dtypes)


def test_format_table_nullable_ints_and_strings():
    df = pd.DataFrame({"crn": ["X000001", "X000002"], "assessment_date": pd.to_datetime(["2020-01-01"] * 2)})
    for i, need in enumerate(table("probation_assessments").column_names[2:]):
        df[need] = pd.array([i % 3, None], dtype="Int64")
    out = format_table(df, "probation_assessments")
    assert out.iloc[0, 2:].tolist() == [str(i % 3) for i in range(10)]
    assert out.iloc[1, 2:].tolist() == [""] * 10
    with pytest.raises(ValueError, match="missing column"):
        format_table(df.drop(columns="crn"), "probation_assessments")


def test_csv_quoting_matches_the_csv_module():
    values = ["plain", "x,y", 'say "hi"', "", " padded ", "two\nlines", "O'Brien"]
    df = pd.DataFrame({"a": values, "b,c": ["1"] * len(values)}, dtype="str")
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(df.columns)
    writer.writerows(df.to_numpy().tolist())
    assert csv_bytes(df) == buf.getvalue().encode("utf-8")


def test_carriage_returns_are_quoted_and_round_trip():
    df = pd.DataFrame({"a": ["x\ry", "z"], "b": ["1", "2"]}, dtype="str")
    data = csv_bytes(df)
    assert data == b'a,b\n"x\ry",1\nz,2\n'
    assert list(csv.reader(io.StringIO(data.decode("utf-8"), newline=""))) == [
        ["a", "b"],
        ["x\ry", "1"],
        ["z", "2"],
    ]


def test_csv_of_an_empty_table_is_its_header():
    assert (
        csv_bytes(pd.DataFrame({"a": pd.Series([], dtype="str"), "b": pd.Series([], dtype="str")}))
        == b"a,b\n"
    )


# ---------------------------------------------------------------------------------------
# write_extract
# ---------------------------------------------------------------------------------------


def test_csv_extract_layout_manifest_and_round_trip(tmp_path, extract):
    tables, truth = extract
    manifest = _write(tmp_path, extract)
    written = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert written == manifest
    assert list(written) == sorted(written)
    assert written["contract"] == CONTRACT_VERSION
    assert written["area"] == AREA and written["extract_date"] == "2024-10-31"
    assert written["row_counts"] == {name: len(tables[name]) for name in sorted(REQUIRED_TABLES)}
    for name in REQUIRED_TABLES:
        raw = (tmp_path / f"{name}.csv").read_bytes()
        assert not raw.startswith(b"\xef\xbb\xbf")
        assert b"\r\n" not in raw and raw.endswith(b"\n")
        assert raw.split(b"\n", 1)[0].decode() == ",".join(table(name).column_names)
        back = _read_csv(tmp_path / f"{name}.csv")
        pd.testing.assert_frame_equal(back, format_table(tables[name], name), check_dtype=False)
        # Parsing the strings back with contract types gives the typed table again.
        typed = back.replace("", None)
        for col in table(name).columns:
            if col.kind == "bool":
                typed[col.name] = typed[col.name].map({"true": True, "false": False})
            elif col.kind == "int":
                typed[col.name] = pd.to_numeric(typed[col.name])
        pd.testing.assert_frame_equal(contract_frame(typed, name), tables[name])
    assert sorted(p.name for p in (tmp_path / "_truth").iterdir()) == [
        "dirty.parquet",
        "identities.parquet",
        "persons.parquet",
    ]
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "_truth" / "persons.parquet"), truth["persons"])
    assert pd.read_parquet(tmp_path / "_truth" / "dirty.parquet").empty


def test_clean_parquet_is_typed_and_round_trips(tmp_path, extract):
    tables, _ = extract
    _write(tmp_path, extract, fmt="parquet")
    for name in REQUIRED_TABLES:
        arrow = pq.read_table(tmp_path / f"{name}.parquet")
        for col in table(name).columns:
            want = {"date": pa.timestamp("ms"), "int": pa.int64(), "bool": pa.bool_()}.get(
                col.kind, pa.string()
            )
            assert arrow.schema.field(col.name).type == want, (name, col.name)
        pd.testing.assert_frame_equal(contract_frame(arrow.to_pandas(), name), tables[name])


def test_dirty_parquet_is_all_strings_and_counts_duplicates(tmp_path, extract):
    manifest = _write(tmp_path, extract, fmt="parquet", dirty_rate=0.1, rng=np.random.default_rng(1))
    dirty = pd.read_parquet(tmp_path / "_truth" / "dirty.parquet")
    assert len(dirty) > 0
    n_dups = dirty[dirty["kind"] == "unique"].groupby("table").size()
    tables, _ = extract
    for name in REQUIRED_TABLES:
        arrow = pq.read_table(tmp_path / f"{name}.parquet")
        assert all(f.type == pa.string() for f in arrow.schema), name
        assert arrow.num_rows == manifest["row_counts"][name] == len(tables[name]) + n_dups.get(name, 0)


def test_dirty_csv_truth_points_at_the_corrupted_rows(tmp_path, extract):
    _write(tmp_path, extract, dirty_rate=0.1, rng=np.random.default_rng(2))
    dirty = pd.read_parquet(tmp_path / "_truth" / "dirty.parquet")
    for name, group in dirty[dirty["kind"].isin(["type", "not_null"])].groupby("table"):
        df = _read_csv(tmp_path / f"{name}.csv")
        for row, kind, col in group[["source_row", "kind", "column"]].itertuples(index=False):
            value = df.iloc[row - 1][col]
            if kind == "not_null":
                assert value == "", (name, row, col)
            else:
                assert value not in ("", "true", "false") and not value.isdigit(), (name, row, col, value)


def test_writing_is_byte_deterministic(tmp_path, extract):
    for fmt in ("csv", "parquet"):
        for rate in (0.0, 0.05):
            a, b = tmp_path / f"a_{fmt}_{rate}", tmp_path / f"b_{fmt}_{rate}"
            kwargs = {"fmt": fmt, "dirty_rate": rate, "extra_truth_files": {"world.json": {"seed": 1}}}
            _write(a, extract, rng=np.random.default_rng(9), **kwargs)
            _write(b, extract, rng=np.random.default_rng(9), **kwargs)
            assert _files(a) == _files(b), (fmt, rate)


def test_rewriting_in_another_format_leaves_no_stale_files(tmp_path, extract):
    _write(tmp_path, extract, fmt="csv", extra_truth_files={"old.json": "{}"})
    _write(tmp_path, extract, fmt="parquet", extra_truth_files={"world.json": b'{"seed": 2}\n'})
    names = {p.name for p in tmp_path.iterdir() if p.is_file()}
    assert not any(n.endswith(".csv") for n in names)
    assert {f"{n}.parquet" for n in REQUIRED_TABLES} <= names
    truth_files = {p.name for p in (tmp_path / "_truth").iterdir()}
    assert "old.json" not in truth_files
    assert (tmp_path / "_truth" / "world.json").read_bytes() == b'{"seed": 2}\n'


def test_write_extract_refuses_bad_arguments(tmp_path, extract):
    tables, truth = extract
    with pytest.raises(ValueError, match="rng"):
        write_extract(tmp_path, tables, truth, area=AREA, extract_date=EXTRACT_DATE, dirty_rate=0.1)
    with pytest.raises(ValueError, match="fmt"):
        write_extract(tmp_path, tables, truth, area=AREA, extract_date=EXTRACT_DATE, fmt="xlsx")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not contract tables"):
        write_extract(
            tmp_path, {"people": tables["police_nominals"]}, truth, area=AREA, extract_date=EXTRACT_DATE
        )
