"""The validate stage on Spark gives the pandas engine's answers (real GE on real Spark, local mode).

Each full validation on Spark runs a few hundred small Spark jobs (GE asks for several
metrics per expectation), so the tests that run one are marked slow.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa
import pytest
from validation_extracts import EXPECTED_REJECTS, dirty_tables, valid_tables, write_extract

from pipelines.validate import failure_summary, run
from validation import ExtractError, ValidationResult, read_extract
from validation.outputs import metrics_for_file
from validation.reading import TEXT
from validation.spark_core import StagedRows

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

MakeExtract = Callable[..., Path]


def _assert_same(local: ValidationResult, spark: ValidationResult) -> None:
    assert list(spark.accepted) == list(local.accepted)
    for name, frame in local.accepted.items():
        staged = spark.accepted[name]
        # The Spark engine's accepted rows stay in the executors' Parquet parts.
        assert isinstance(frame, pd.DataFrame) and isinstance(staged, StagedRows)
        assert len(staged) == len(frame)
        pd.testing.assert_frame_equal(staged.to_pandas(), frame, obj=f"accepted {name}")
        pd.testing.assert_frame_equal(spark.rejects[name], local.rejects[name], obj=f"rejects {name}")
    assert metrics_for_file(spark.metrics) == metrics_for_file(local.metrics)
    assert spark.examples == local.examples
    pd.testing.assert_frame_equal(failure_summary(spark), failure_summary(local))
    assert spark.manifest == local.manifest and spark.extract_date == local.extract_date


@pytest.mark.slow
def test_clean_extract_same_answers_on_both_engines(
    clean: ValidationResult, clean_spark: ValidationResult
) -> None:
    _assert_same(clean, clean_spark)
    assert clean_spark.metrics["totals"]["rejected"] == 0


@pytest.mark.slow
def test_dirty_extract_same_answers_on_both_engines(
    dirty: ValidationResult, dirty_spark: ValidationResult
) -> None:
    _assert_same(dirty, dirty_spark)
    found = [
        (name, int(row.source_row), row.rule, row.rules)
        for name, frame in dirty_spark.rejects.items()
        for row in frame.itertuples()
    ]
    assert sorted(found) == sorted(EXPECTED_REJECTS)
    for name, m in dirty_spark.metrics["tables"].items():
        assert m["rows_in_file"] == m["accepted"] + m["rejected"] == m["manifest_count"], name


# --- table-level problems: the same checks, the same message -----------------------------


def _error(extract: Path, spark: SparkSession | None = None) -> ExtractError:
    with pytest.raises(ExtractError) as info:
        if spark is None:
            read_extract(extract)
        else:
            from validation.spark_reading import spark_table_reader

            read_extract(extract, spark_table_reader(spark))
    return info.value


def test_table_level_problems_give_the_same_message(make_extract: MakeExtract, spark: SparkSession) -> None:
    tables = valid_tables()
    tables["police_offences"] = tables["police_offences"].drop(columns=["gravity"])
    extract = make_extract(tables, manifest={"contract": "v0"})
    (extract / "housing_events.csv").unlink()
    manifest = json.loads((extract / "manifest.json").read_text(encoding="utf-8"))
    manifest["row_counts"]["custody_episodes"] += 2
    (extract / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    local, on_spark = _error(extract), _error(extract, spark)
    assert str(on_spark) == str(local)
    assert [p.rule for p in on_spark.problems] == [
        "contract_version",
        "column_missing",
        "row_count_mismatch",
        "file_missing",
    ]


def test_spark_reads_the_same_text_as_pandas(make_extract: MakeExtract, spark: SparkSession) -> None:
    """Quoted commas, doubled quotes, line breaks in values, a byte-order mark, CRLF, empty
    cells quoted or not, extra columns and a Parquet table: the same text, row for row."""
    from validation.spark_reading import spark_table_reader

    tables = dirty_tables()
    health = tables["health_episodes"]
    health.loc[0, "forename"] = 'Amy "the" O,Neil'
    health.loc[1, "surname"] = "line\nbreak"
    health.loc[2, "postcode_district"] = " "
    extract = make_extract(tables, fmt={"panel_decisions": "parquet"})
    offences = extract / "police_offences.csv"
    text = offences.read_text(encoding="utf-8").replace("\n", "\r\n").replace(",,", ',"",')
    offences.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    nominals = pd.read_csv(extract / "police_nominals.csv", dtype=str, keep_default_na=False)
    nominals.insert(1, "notes.x", "a, b")
    nominals.to_csv(extract / "police_nominals.csv", index=False)

    _, local = read_extract(extract)
    _, on_spark = read_extract(extract, spark_table_reader(spark))
    for name, raw in local.items():
        got = on_spark[name].frame.orderBy("_row").toArrow().to_pandas(types_mapper={pa.string(): TEXT}.get)
        assert got["_row"].tolist() == list(range(1, raw.n_rows + 1)), name
        pd.testing.assert_frame_equal(got.drop(columns="_row"), raw.frame.reset_index(drop=True), obj=name)
        assert on_spark[name].extra_columns == raw.extra_columns


def test_ragged_row_and_bytes_that_are_not_utf8_are_unreadable(
    make_extract: MakeExtract, spark: SparkSession
) -> None:
    tables = valid_tables()
    # Long enough that the bad byte is past what reading the header row decodes.
    tables["housing_events"] = pd.concat([tables["housing_events"]] * 400, ignore_index=True)
    extract = make_extract(tables)
    contacts = extract / "probation_contacts.csv"
    contacts.write_text(contacts.read_text(encoding="utf-8") + "X123456,2021-07-09\n", encoding="utf-8")
    manifest = json.loads((extract / "manifest.json").read_text(encoding="utf-8"))
    manifest["row_counts"]["probation_contacts"] += 1
    (extract / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    housing = extract / "housing_events.csv"
    data = housing.read_bytes()
    cut = data.rindex(b"Smith")
    housing.write_bytes(data[:cut] + b"Sm\xefth" + data[cut + 5 :])
    err = _error(extract, spark)
    assert [(p.file, p.column, p.rule, p.count) for p in err.problems] == [
        ("probation_contacts.csv", "", "file_unreadable", 1),
        ("housing_events.csv", "surname", "file_unreadable", 1),
    ]
    text = str(err)
    assert "Malformed CSV record" in text and "UTF-8" in text
    assert "Traceback" not in text and " at org.apache" not in text and len(text.splitlines()) == 3


@pytest.mark.slow
def test_stage_on_spark_writes_the_same_files(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """``engine: spark`` in params.yaml: the stage's Parquet files, manifest and metrics are
    byte-identical to the pandas engine's, and the log says the same."""
    extract = write_extract(tmp_path / "extract", dirty_tables())
    logs: dict[str, list[str]] = {}
    for engine in ("local", "spark"):
        params = tmp_path / f"{engine}.yaml"
        params.write_text(
            f"engine: {engine}\nspark:\n  master: local[2]\n  shuffle_partitions: 2\n"
            f"  checkpoint_dir: {tmp_path / 'ckpt'}\nvalidate:\n  extract: {extract}\n",
            encoding="utf-8",
        )
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="pipelines.validate"):
            out = tmp_path / engine
            run(None, out / "out", out / "m.json", out / "docs", params)
        # The last line carries the elapsed time.
        logs[engine] = [
            r.getMessage().replace(str(out), "OUT") for r in caplog.records if r.name == "pipelines.validate"
        ][1:-1]
    assert logs["spark"] == logs["local"] and any("gravity" in line for line in logs["spark"])
    local = tmp_path / "local"
    compared = sorted(p.relative_to(local) for p in local.rglob("*") if p.suffix in (".parquet", ".json"))
    assert len(compared) >= 20
    for rel in compared:
        assert (tmp_path / "spark" / rel).read_bytes() == (tmp_path / "local" / rel).read_bytes(), rel
    assert not list((tmp_path / "ckpt").glob("iom-validated-*"))  # the staged parts are gone


def _outputs(root: Path) -> list[str]:
    return ["--out", str(root / "o"), "--metrics", str(root / "m.json"), "--docs", str(root / "d")]


@pytest.mark.slow
def test_spark_that_cannot_start_is_one_message(tmp_path: Path) -> None:
    extract = write_extract(tmp_path / "extract")
    params = tmp_path / "params.yaml"
    params.write_text(
        f"engine: spark\nspark:\n  master: nowhere://x\nvalidate:\n  extract: {extract}\n", encoding="utf-8"
    )
    done = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "validate", "--params", str(params), *_outputs(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "'nowhere://x' is not a Spark master URL" in done.stderr + done.stdout
    assert "Traceback" not in done.stderr + done.stdout


def test_staged_rows_join_into_the_pandas_engines_file(tmp_path: Path) -> None:
    """Parts as the executors write them (Spark's types: dates as date32, long, string), more
    rows than a row group: joined a row group at a time, the pandas engine's file byte for byte."""
    import itertools

    import numpy as np
    import pyarrow.parquet as pq

    from iom_io import write_parquet
    from validation.spark_core import ROW_GROUP

    n = ROW_GROUP + 300_001
    rng = np.random.default_rng(3)
    days = rng.integers(0, 20_000, n).astype("int32")
    codes = rng.integers(0, 5_000, n)
    text = pa.array(np.char.add("id-", codes.astype(str)).astype(object), type=pa.string())
    part = pa.table(
        {
            "event_date": pa.array(days, type=pa.date32()),
            "code": pa.array(np.where(codes % 7 == 0, None, codes), type=pa.int64()),
            "label": text,
            "source_row": pa.array(np.arange(1, n + 1), type=pa.int64()),
        }
    )
    folder = tmp_path / "parts"
    folder.mkdir()
    cuts = [0, 7, 400_000, 1_000_000, n]  # uneven parts, as range partitions are
    for i, (a, b) in enumerate(itertools.pairwise(cuts)):
        pq.write_table(part.slice(a, b - a), folder / f"part-{i:05d}-x.snappy.parquet")
    dtypes = pd.Series(
        {"event_date": "datetime64[ms]", "code": "Int64", "label": TEXT, "source_row": "int64"}, dtype=object
    )
    staged = StagedRows(folder, dtypes, n)
    frame = staged.to_pandas()
    assert len(frame) == n and frame["source_row"].is_monotonic_increasing
    write_parquet(frame, tmp_path / "pandas.parquet")
    staged.write_parquet(tmp_path / "joined.parquet")
    assert pq.ParquetFile(tmp_path / "joined.parquet").metadata.num_row_groups == 2
    assert (tmp_path / "joined.parquet").read_bytes() == (tmp_path / "pandas.parquet").read_bytes()
    staged.remove()
    assert not folder.exists()
