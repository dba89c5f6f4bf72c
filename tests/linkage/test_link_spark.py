"""The link stage on Splink's Spark backend (real Spark, local mode) gives the DuckDB path's answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import yaml
from linkage_fixtures import known_answer_tables

from iom_config import ParamsError
from linkage.model import SQL_FUNCTIONS, _duckdb_jaro_winkler, register_spark_functions
from linkage.standardise import clean_name
from pipelines import link as stage

_PAIRS = pd.DataFrame(
    {
        # names as linkage_keys cleans them; "|"-joined formal names; dates as dates
        "a": ["martha", "dwayne", "dixon", "aadms", "ashbradwick", None, "bill", "x", "chris"],
        "b": ["marhta", "duane", "dicksonx", "ashbradwick", "aadms", "smith", None, "xavier", "christopher"],
        "alts_a": ["william", "christian|christine|christopher", "a|b", None, "sam", "x", "y", "z", "w"],
        "alts_b": ["william|x", "christopher", "c", "d", None, "x", "y|z", "q", "w|v"],
        "d_a": pd.to_datetime(
            [
                "1990-03-07",
                "1990-03-07",
                "2000-01-01",
                None,
                "1980-02-29",
                "1985-12-31",
                "1970-01-01",
                "1999-06-30",
                "2001-01-01",
            ]
        ).astype("datetime64[ms]"),
        "d_b": pd.to_datetime(
            [
                "1990-07-03",
                "1991-03-08",
                "2000-01-01",
                "1990-01-01",
                "1981-02-28",
                "1985-01-01",
                None,
                "1998-06-30",
                "2003-01-02",
            ]
        ).astype("datetime64[ms]"),
    }
)
_ARGS = {
    "names_overlap": ("alts_a", "alts_b"),
    "jaro_winkler": ("a", "b"),
    "initial": ("a", "b"),
    "days_apart": ("d_a", "d_b"),
}


@pytest.mark.slow
@pytest.mark.parametrize("function", sorted(SQL_FUNCTIONS["duckdb"]))
def test_every_engine_specific_function_gives_duckdbs_values_on_spark(spark: Any, function: str) -> None:
    assert set(SQL_FUNCTIONS["spark"]) == set(SQL_FUNCTIONS["duckdb"])
    register_spark_functions(spark)
    left, right = _ARGS[function]
    frame = _PAIRS.assign(i=np.arange(len(_PAIRS)))
    con = duckdb.connect()
    con.register("pairs", frame)
    sql = SQL_FUNCTIONS["duckdb"][function].format(l=left, r=right)
    expected = con.sql(f"SELECT i, {sql} AS v FROM pairs ORDER BY i").df()["v"]
    # An Arrow table, as the link model registers its tables (dates stay dates).
    on_spark = spark.createDataFrame(pa.Table.from_pandas(frame, preserve_index=False)).selectExpr(
        "i", f"{SQL_FUNCTIONS['spark'][function].format(l=left, r=right)} AS v"
    )
    got = on_spark.toPandas().sort_values("i")["v"]
    assert got.isna().tolist() == expected.isna().tolist()
    present = expected.notna().to_numpy()
    # Exactly equal, not close: a level is decided by ">= 0.92" on these values.
    assert got.to_numpy()[present].tolist() == expected.to_numpy()[present].tolist()


def _name_pairs(n: int = 4000, seed: int = 5) -> pd.DataFrame:
    """Name pairs as the link compares them: cleaned names of a synthetic extract, each
    against a random name and against a typo of itself (letters swapped, dropped or
    doubled), plus one-letter and very long names and nulls."""
    tables, _ = known_answer_tables(n_nominals=600, seed=seed)
    nominals = tables["police_nominals"]
    names = pd.concat([clean_name(nominals["forename"], first_token=True), clean_name(nominals["surname"])])
    names = names.dropna().drop_duplicates().to_numpy()
    rng = np.random.default_rng(seed)
    a = names[rng.integers(0, len(names), n)]
    b = names[rng.integers(0, len(names), n)]
    typos = []
    for name, kind, at in zip(a, rng.integers(0, 3, n), rng.random(n), strict=True):
        k = int(at * (len(name) - 1))
        typos.append(
            [
                name[:k] + name[k + 1 : k + 2] + name[k] + name[k + 2 :],
                name[:k] + name[k + 1 :],
                name[:k] + name[k] + name[k:],
            ][kind]
            or None
        )
    extra = [
        ("a", "a"),
        ("a", "b"),
        ("ab", "a"),
        ("abc", "bca"),
        ("x" * 70 + "ab", "x" * 70 + "ba"),
        (None, "a"),
        ("a", None),
    ]
    left = [*a, *a, *(e[0] for e in extra)]
    right = [*b, *typos, *(e[1] for e in extra)]
    return pd.DataFrame({"i": np.arange(len(left)), "l": left, "r": right})


def _duckdb_values(pairs: pd.DataFrame) -> np.ndarray:
    con = duckdb.connect()
    con.register("pairs", pairs)
    return con.sql("SELECT jaro_winkler_similarity(l, r) AS v FROM pairs ORDER BY i").df()["v"].to_numpy()


def _assert_same_values(got: np.ndarray, expected: np.ndarray) -> None:
    assert np.isnan(got).tolist() == np.isnan(expected).tolist()
    present = ~np.isnan(expected)
    # Exactly equal, not close: a level is decided by ">= 0.92" on these values.
    assert got[present].tolist() == expected[present].tolist()


@pytest.mark.parametrize("string_type", [pa.string(), pa.large_string()])
def test_the_arrow_jaro_winkler_gives_duckdbs_values_batch_after_batch(string_type: pa.DataType) -> None:
    pairs = _name_pairs(1000)
    expected = _duckdb_values(pairs)
    got = []
    # Several batches through the one cached connection, as a Spark Python worker runs them.
    for start in range(0, len(pairs), 300):
        batch = pairs.iloc[start : start + 300]
        out = _duckdb_jaro_winkler(pa.array(batch["l"], string_type), pa.array(batch["r"], string_type))
        assert isinstance(out, pa.Array) and out.type == pa.float64() and len(out) == len(batch)
        got.append(out.to_numpy(zero_copy_only=False))
    _assert_same_values(np.concatenate(got).astype("float64"), expected)
    assert (expected[~np.isnan(expected)] >= 0.85).sum() > 500, "the typos must reach the Jaro-Winkler levels"


@pytest.mark.slow
def test_jaro_winkler_on_spark_gives_duckdbs_values_for_thousands_of_name_pairs(spark: Any) -> None:
    register_spark_functions(spark)
    pairs = _name_pairs()
    expected = _duckdb_values(pairs)
    frame = spark.createDataFrame(pa.Table.from_pandas(pairs, preserve_index=False)).repartition(3)
    previous = spark.conf.get("spark.sql.execution.arrow.maxRecordsPerBatch")
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", "257")  # many batches per worker
    try:
        got = frame.selectExpr("i", "iom_jaro_winkler(l, r) AS v").toPandas().sort_values("i")["v"]
    finally:
        spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", previous)
    _assert_same_values(got.to_numpy(dtype="float64", na_value=np.nan), expected)


def _layout(tmp_path: Path, engine: dict[str, Any]) -> tuple[Path, Path]:
    tables, truth = known_answer_tables(n_nominals=800, seed=11)
    extract = tmp_path / "extract"
    (extract / "_truth").mkdir(parents=True)
    truth.to_parquet(extract / "_truth" / "identities.parquet")
    validated = tmp_path / "validated"
    validated.mkdir()
    for name, frame in tables.items():
        frame.to_parquet(validated / f"{name}.parquet")
    (validated / "manifest.json").write_text(json.dumps({"area": "Testshire", "extract_date": "2026-10-31"}))
    params = {
        **engine,
        "validate": {"extract": str(extract)},
        "link": {"allow_dev_key": True, "max_pairs": 200_000},
    }
    params_path = tmp_path / "params.yaml"
    params_path.write_text(yaml.safe_dump(params))
    return validated, params_path


def _run(tmp_path: Path, engine: dict[str, Any]) -> Path:
    validated, params_path = _layout(tmp_path, engine)
    stage.run(
        validated,
        out=tmp_path / "linked",
        reid=tmp_path / "reid",
        metrics=tmp_path / "metrics" / "linkage.json",
        reports=tmp_path / "reports",
        params_path=params_path,
        decisions=tmp_path / "clerical",
    )
    return tmp_path


@pytest.fixture(scope="module")
def both_engines(tmp_path_factory: pytest.TempPathFactory, spark: Any) -> tuple[Path, Path]:
    local = _run(tmp_path_factory.mktemp("link_local"), {"engine": "local"})
    folder = tmp_path_factory.mktemp("link_spark")
    checkpoints = str(folder / "checkpoints")
    spark_params = {"master": "local[2]", "shuffle_partitions": 2, "checkpoint_dir": checkpoints}
    return local, _run(folder, {"engine": "spark", "spark": spark_params})


@pytest.mark.slow
def test_spark_writes_the_same_linked_tables_byte_for_byte(both_engines: tuple[Path, Path]) -> None:
    local, on_spark = both_engines
    names = sorted(p.name for p in (local / "linked").glob("*.parquet"))
    assert names == sorted(p.name for p in (on_spark / "linked").glob("*.parquet"))
    assert "persons.parquet" in names
    for name in names:
        assert (local / "linked" / name).read_bytes() == (on_spark / "linked" / name).read_bytes(), name


@pytest.mark.slow
def test_spark_links_the_same_pairs_to_the_same_pseudo_ids(both_engines: tuple[Path, Path]) -> None:
    local, on_spark = both_engines
    a = pd.read_parquet(local / "reid" / "person_index.parquet")
    b = pd.read_parquet(on_spark / "reid" / "person_index.parquet")
    assert len(a) > 1000 and (a["method"] == "splink").sum() > 100
    pd.testing.assert_frame_equal(a.drop(columns="match_probability"), b.drop(columns="match_probability"))
    # EM sums floats in another order on Spark: the probabilities agree to the last bits only.
    np.testing.assert_allclose(b["match_probability"], a["match_probability"], rtol=0, atol=1e-9)


@pytest.mark.slow
def test_spark_sends_the_same_pairs_to_clerical_review(both_engines: tuple[Path, Path]) -> None:
    local, on_spark = both_engines
    a, b = (
        pd.read_csv(
            p / "reid" / stage.CLERICAL_REVIEW, dtype="str", keep_default_na=False, encoding="utf-8-sig"
        )
        for p in both_engines
    )
    assert len(a) > 0
    numeric = ["match_probability", "match_weight"]
    pd.testing.assert_frame_equal(a.drop(columns=numeric), b.drop(columns=numeric))
    for col in numeric:
        np.testing.assert_allclose(b[col].astype(float), a[col].astype(float), rtol=0, atol=2e-6)
    metrics_a = json.loads((local / "metrics" / "linkage.json").read_text())
    assert metrics_a == json.loads((on_spark / "metrics" / "linkage.json").read_text())


@pytest.mark.slow
def test_splinks_intermediate_tables_are_removed_from_the_checkpoint_folder(
    both_engines: tuple[Path, Path],
) -> None:
    _, on_spark = both_engines
    folders = list((on_spark / "checkpoints").iterdir())
    assert folders, "the stage set its own checkpoint folder"
    assert not list((on_spark / "checkpoints").rglob("__splink__*"))
    assert not list((on_spark / "checkpoints").rglob("iom_input_*"))


def test_a_wrong_spark_master_is_one_message_before_spark_starts(tmp_path: Path) -> None:
    with pytest.raises(ParamsError, match=r"(?s)\[spark\].*master: .*'locl\[2\]' is not a Spark master URL"):
        _run(tmp_path, {"engine": "spark", "spark": {"master": "locl[2]"}})
