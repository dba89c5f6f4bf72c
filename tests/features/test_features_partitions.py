"""The feature partitions open directly with pandas and DuckDB, and read_features restores the date."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from features.partitions import partition_path, read_features, write_partition

DATES = (pd.Timestamp("2024-03-31"), pd.Timestamp("2024-06-30"))


def _frame(as_of: pd.Timestamp, ids: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "pseudo_id": ids,
            "as_of_date": pd.Series([as_of] * len(ids)).astype("datetime64[ms]"),
            "n_proven_12m": pd.Series(range(len(ids)), dtype="int32"),
            "label": [1.0, None, 0.0][: len(ids)],
        }
    )


@pytest.fixture
def features(tmp_path: Path) -> Path:
    out = tmp_path / "features"
    write_partition(_frame(DATES[0], ["a", "b", "c"]), out, DATES[0])
    write_partition(_frame(DATES[1], ["a", "d"]), out, DATES[1])
    return out


def test_read_features_round_trips_with_the_date_as_datetime(features: Path) -> None:
    frame = read_features(features)
    expected = pd.concat([_frame(DATES[0], ["a", "b", "c"]), _frame(DATES[1], ["a", "d"])], ignore_index=True)
    pd.testing.assert_frame_equal(frame, expected)
    assert frame["as_of_date"].dtype == "datetime64[ms]"
    only = read_features(features, columns=["as_of_date", "pseudo_id"], dates=[DATES[1]])
    assert list(only.columns) == ["as_of_date", "pseudo_id"] and only["pseudo_id"].tolist() == ["a", "d"]
    assert read_features(features, dates=[pd.Timestamp("2020-01-31")]).columns.equals(frame.columns)


def test_the_date_is_in_the_folder_name_only(features: Path) -> None:
    part = pd.read_parquet(partition_path(features, DATES[0]))
    assert "as_of_date" not in part.columns


def test_pandas_opens_the_folder(features: Path) -> None:
    frame = pd.read_parquet(features)
    assert len(frame) == 5
    counts = frame.groupby(frame["as_of_date"].astype(str), observed=True).size().to_dict()
    assert counts == {"2024-03-31": 3, "2024-06-30": 2}


def test_duckdb_opens_the_folder_with_hive_partitioning(features: Path) -> None:
    glob = str(features / "*" / "*.parquet")
    rows = duckdb.execute(
        "select as_of_date, count(*) as n, sum(n_proven_12m) as s "
        "from read_parquet(?, hive_partitioning = true) group by as_of_date order by as_of_date",
        [glob],
    ).fetchall()
    assert rows == [(DATES[0].date(), 3, 3), (DATES[1].date(), 2, 1)]


def test_a_frame_of_another_date_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="another as-of date"):
        write_partition(_frame(DATES[0], ["a"]), tmp_path, DATES[1])


def test_a_file_of_the_earlier_layout_still_reads(tmp_path: Path) -> None:
    """Partitions written before the date moved to the folder name (it was also in the file)."""
    part = partition_path(tmp_path, DATES[0])
    part.parent.mkdir(parents=True)
    _frame(DATES[0], ["a", "b"]).to_parquet(part, index=False)
    pd.testing.assert_frame_equal(read_features(tmp_path), _frame(DATES[0], ["a", "b"]))
