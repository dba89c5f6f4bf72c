"""Temporal validation: which as-of dates train, tune, calibrate and test the risk model.

Every model in this package is judged out of time: it is fitted on earlier as-of dates
and reported on later ones, as it would be used (fitted on the past, applied to the next
panel). Four consecutive blocks of the labelled as-of dates:

- ``train``: dates <= ``train_end``: the trees are grown here;
- ``valid``: ``train_end`` < date <= ``valid_end``: early stopping (the number of trees);
- ``calib``: ``valid_end`` < date <= ``calib_end``: the probability calibrator;
- ``test``: every labelled date after ``calib_end``: the out-of-time report.

A label looks 12 months ahead (plus 6 months for the outcome to be recorded), so the
label of a training date overlaps the features of the next few dates. ``embargo_days``
drops the dates within that many days after each block end, e.g. with
``train_end=2021-12-31`` and ``embargo_days=90`` the 2022-03-31 date is used by no block.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from iom_config import IomError

Block = Literal["train", "valid", "calib", "test"]
BLOCKS: tuple[Block, ...] = ("train", "valid", "calib", "test")


class SplitError(IomError, ValueError):
    """The declared split windows cannot be drawn from the available as-of dates."""


@dataclass(frozen=True)
class TemporalSplit:
    """As-of dates per block (each sorted ascending); ``dropped`` are embargoed dates."""

    train: tuple[pd.Timestamp, ...]
    valid: tuple[pd.Timestamp, ...]
    calib: tuple[pd.Timestamp, ...]
    test: tuple[pd.Timestamp, ...]
    dropped: tuple[pd.Timestamp, ...] = ()

    def dates(self, block: Block) -> tuple[pd.Timestamp, ...]:
        """The as-of dates of one block."""
        return tuple(getattr(self, block))

    def block_of(self, as_of: pd.Series) -> pd.Series:
        """Block name per row of an as-of date column (``<NA>`` when in no block)."""
        lookup = {d: b for b in BLOCKS for d in self.dates(b)}
        keys = pd.to_datetime(as_of).astype("datetime64[ms]")
        return keys.map(lookup).astype("string")

    def to_dict(self) -> dict[str, list[str]]:
        """ISO dates per block, for metrics and the model card."""
        out: dict[str, list[str]] = {b: [d.date().isoformat() for d in self.dates(b)] for b in BLOCKS}
        out["dropped"] = [d.date().isoformat() for d in self.dropped]
        return out


def _ts(value: dt.date | str | pd.Timestamp) -> pd.Timestamp:
    return pd.Timestamp(value).normalize().as_unit("ms")


def make_temporal_split(
    labelled_dates: Iterable[dt.date | str | pd.Timestamp],
    train_end: dt.date | str | pd.Timestamp,
    valid_end: dt.date | str | pd.Timestamp,
    calib_end: dt.date | str | pd.Timestamp,
    embargo_days: int = 0,
) -> TemporalSplit:
    """Cut the labelled as-of dates into train / valid / calib / test blocks.

    Parameters
    ----------
    labelled_dates
        As-of dates whose labels are complete (the panel date is never one).
    train_end, valid_end, calib_end
        Inclusive ends of the first three blocks; the test block is every later date.
    embargo_days
        Dates within this many days after a block end belong to no block.

    Raises
    ------
    SplitError
        When the ends are not strictly increasing, or a block would hold no date.

    Examples
    --------
    >>> s = make_temporal_split(
    ...     ["2020-03-31", "2020-06-30", "2020-09-30", "2020-12-31", "2021-03-31"],
    ...     "2020-06-30", "2020-09-30", "2020-12-31")
    >>> [len(s.dates(b)) for b in BLOCKS]
    [2, 1, 1, 1]
    """
    if embargo_days < 0:
        raise SplitError(f"embargo_days must be >= 0, got {embargo_days}")
    ends = [_ts(train_end), _ts(valid_end), _ts(calib_end)]
    if not (ends[0] < ends[1] < ends[2]):
        raise SplitError(
            "split ends must be strictly increasing: "
            f"train_end {ends[0].date()} < valid_end {ends[1].date()} < calib_end {ends[2].date()}"
        )
    dates = sorted({_ts(d) for d in labelled_dates})
    if not dates:
        raise SplitError("no labelled as-of dates to split")
    lows = [pd.Timestamp.min.as_unit("ms"), *ends]
    highs = [*ends, pd.Timestamp.max.as_unit("ms")]
    embargo = pd.Timedelta(days=embargo_days)
    blocks: dict[str, list[pd.Timestamp]] = {b: [] for b in BLOCKS}
    dropped: list[pd.Timestamp] = []
    for d in dates:
        for block, lo, hi in zip(BLOCKS, lows, highs, strict=True):
            if lo < d <= hi:
                # The first block has no earlier end to embargo from.
                if block != "train" and d <= lo + embargo:
                    dropped.append(d)
                else:
                    blocks[block].append(d)
                break
    empty = [b for b in BLOCKS if not blocks[b]]
    if empty:
        raise SplitError(
            f"no labelled as-of date falls in block(s) {', '.join(empty)} "
            f"(labelled dates {dates[0].date()}..{dates[-1].date()}; "
            f"ends {', '.join(str(e.date()) for e in ends)}; embargo {embargo_days} days)"
        )
    return TemporalSplit(
        train=tuple(blocks["train"]),
        valid=tuple(blocks["valid"]),
        calib=tuple(blocks["calib"]),
        test=tuple(blocks["test"]),
        dropped=tuple(dropped),
    )


def plot_split(split: TemporalSplit, path: Path, rows_per_date: pd.Series | None = None) -> Path:
    """Draw the split as a timeline (one bar per as-of date, coloured by block) to ``path``.

    Parameters
    ----------
    split
        The split to draw.
    path
        PNG file to write.
    rows_per_date
        Optional rows per as-of date (index: dates), drawn as the bar height.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = {"train": "#1f77b4", "valid": "#ff7f0e", "calib": "#2ca02c", "test": "#d62728"}
    fig, ax = plt.subplots(figsize=(10, 3))
    for block in BLOCKS:
        ds = split.dates(block)
        if rows_per_date is not None:
            heights = np.array([float(rows_per_date.get(d, 0)) for d in ds])
        else:
            heights = np.ones(len(ds))
        ax.bar(list(ds), heights, width=60, color=colours[block], label=f"{block} ({len(ds)} dates)")
    if split.dropped:
        ax.bar(
            list(split.dropped), 0.2 if rows_per_date is None else 1, width=60, color="grey", label="embargo"
        )
    ax.set_ylabel("rows" if rows_per_date is not None else "")
    ax.set_title("Temporal split of labelled as-of dates")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
