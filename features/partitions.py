"""The features stage's partition layout: one Parquet file per as-of date, known here only.

``data/features/as_of_date=YYYY-MM-DD/part-0.parquet``, rows sorted by ``pseudo_id``.
The typology, train and audit stages read the features through :func:`read_features`.

The as-of date is in the folder name only, not inside the files (Hive partitioning), so
an analyst can open the whole folder directly::

    pd.read_parquet("data/features")   # as_of_date comes back as a category of date strings
    duckdb.sql("select * from read_parquet('data/features/*/*.parquet', hive_partitioning = true)")

(DuckDB reads ``as_of_date`` as a DATE.) :func:`read_features` puts it back as
``datetime64[ms]``, second column after ``pseudo_id``, as the features stage built it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from iom_io import write_parquet

PARTITION_COLUMN = "as_of_date"
PARTITION_PREFIX = f"{PARTITION_COLUMN}="
PART_FILE = "part-0.parquet"
# The frame's key columns, in order: the date is restored after pseudo_id on reading.
KEY_COLUMNS = ("pseudo_id", PARTITION_COLUMN)
_FOLDER = re.compile(rf"^{re.escape(PARTITION_PREFIX)}(\d{{4}}-\d{{2}}-\d{{2}})$")


def partition_path(out: Path, as_of: pd.Timestamp) -> Path:
    """``out/as_of_date=YYYY-MM-DD/part-0.parquet``."""
    return Path(out) / f"{PARTITION_PREFIX}{pd.Timestamp(as_of).date().isoformat()}" / PART_FILE


def write_partition(frame: pd.DataFrame, out: Path, as_of: pd.Timestamp) -> Path:
    """Write one as-of date's features to its partition, the date in the folder name only.

    ``frame`` starts with ``pseudo_id, as_of_date`` and every row is at ``as_of``.
    """
    if tuple(frame.columns[:2]) != KEY_COLUMNS:
        raise ValueError(f"a features frame starts with {KEY_COLUMNS}, got {tuple(frame.columns[:2])}")
    as_of = pd.Timestamp(as_of)
    if not (frame[PARTITION_COLUMN] == as_of).all():
        raise ValueError(f"rows of another as-of date in the partition for {as_of.date()}")
    path = partition_path(out, as_of)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_parquet(frame.drop(columns=PARTITION_COLUMN), path)
    return path


def _read_partition(path: Path, columns: list[str] | None) -> pd.DataFrame:
    match = _FOLDER.match(path.parent.name)
    if match is None:  # pragma: no cover - the glob only finds partition folders
        raise ValueError(f"{path.parent}: not a features partition folder")
    file_columns = None if columns is None else [c for c in columns if c != PARTITION_COLUMN]
    # A file written before the date moved to the folder name still holds it: the folder wins.
    frame = pd.read_parquet(path, columns=file_columns).drop(columns=PARTITION_COLUMN, errors="ignore")
    as_of = pd.Series(pd.Timestamp(match.group(1)), index=frame.index).astype("datetime64[ms]")
    if columns is None:
        frame.insert(KEY_COLUMNS.index(PARTITION_COLUMN), PARTITION_COLUMN, as_of)
        return frame
    return frame.assign(**{PARTITION_COLUMN: as_of})[columns]


def read_features(
    features: Path, columns: list[str] | None = None, dates: list[pd.Timestamp] | None = None
) -> pd.DataFrame:
    """The features stage's partitions, in date order: all dates, or only ``dates``.

    Downstream stages (typology, train, audit) read the features through this one
    function, so the partition layout is known in this module only. ``as_of_date`` is
    ``datetime64[ms]``.
    """
    every = sorted(Path(features).glob(f"{PARTITION_PREFIX}*/{PART_FILE}"))
    if not every:
        raise FileNotFoundError(
            f"{features}: no {PARTITION_PREFIX}*/{PART_FILE}; run the features stage first"
        )
    parts = every
    if dates is not None:
        wanted = {partition_path(Path(features), pd.Timestamp(d)) for d in dates}
        parts = [p for p in every if p in wanted]
    if not parts:  # none of the dates asked for: an empty frame with the partitions' columns
        return _read_partition(every[0], columns).iloc[:0]
    return pd.concat([_read_partition(p, columns) for p in parts], ignore_index=True)
