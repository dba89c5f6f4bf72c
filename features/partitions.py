"""The features stage's partition layout: one Parquet file per as-of date, known here only.

``data/features/as_of_date=YYYY-MM-DD/part-0.parquet``, rows sorted by ``pseudo_id``.
The typology, train and audit stages read the features through :func:`read_features`.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

PARTITION_PREFIX = "as_of_date="


def partition_path(out: Path, as_of: pd.Timestamp) -> Path:
    """``out/as_of_date=YYYY-MM-DD/part-0.parquet``."""
    return Path(out) / f"{PARTITION_PREFIX}{as_of.date().isoformat()}" / "part-0.parquet"


def read_features(
    features: Path, columns: list[str] | None = None, dates: list[pd.Timestamp] | None = None
) -> pd.DataFrame:
    """The features stage's partitions, in date order: all dates, or only ``dates``.

    Downstream stages (typology, train, audit) read the features through this one
    function, so the partition layout is known in this module only.
    """
    every = sorted(Path(features).glob(f"{PARTITION_PREFIX}*/part-0.parquet"))
    if not every:
        raise FileNotFoundError(
            f"{features}: no {PARTITION_PREFIX}*/part-0.parquet; run the features stage first"
        )
    parts = every
    if dates is not None:
        wanted = {partition_path(Path(features), pd.Timestamp(d)) for d in dates}
        parts = [p for p in every if p in wanted]
    if not parts:  # none of the dates asked for: an empty frame with the partitions' columns
        return pd.read_parquet(every[0], columns=columns).iloc[:0]
    return pd.concat([pd.read_parquet(p, columns=columns) for p in parts], ignore_index=True)
