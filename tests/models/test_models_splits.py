"""Temporal split: blocks by date, embargo, impossible windows raise."""

from __future__ import annotations

import pandas as pd
import pytest

from models.splits import SplitError, make_temporal_split

QUARTERS = pd.date_range("2020-03-31", periods=8, freq="QE")  # 2020-03-31 .. 2021-12-31


def test_blocks_are_consecutive_and_test_is_the_rest() -> None:
    s = make_temporal_split(QUARTERS, "2020-09-30", "2020-12-31", "2021-06-30")
    assert [d.date().isoformat() for d in s.train] == ["2020-03-31", "2020-06-30", "2020-09-30"]
    assert [d.date().isoformat() for d in s.valid] == ["2020-12-31"]
    assert [d.date().isoformat() for d in s.calib] == ["2021-03-31", "2021-06-30"]
    assert [d.date().isoformat() for d in s.test] == ["2021-09-30", "2021-12-31"]
    assert max(s.train) < min(s.valid) <= max(s.valid) < min(s.calib) <= max(s.calib) < min(s.test)


def test_embargo_drops_dates_just_after_each_block_end() -> None:
    s = make_temporal_split(QUARTERS, "2020-06-30", "2020-12-31", "2021-06-30", embargo_days=92)
    assert [d.date().isoformat() for d in s.dropped] == ["2020-09-30", "2021-03-31", "2021-09-30"]
    assert [d.date().isoformat() for d in s.test] == ["2021-12-31"]


def test_block_of_maps_rows() -> None:
    s = make_temporal_split(QUARTERS, "2020-09-30", "2020-12-31", "2021-06-30")
    rows = pd.Series(pd.to_datetime(["2020-03-31", "2021-12-31", "2021-03-31"]))
    assert s.block_of(rows).tolist() == ["train", "test", "calib"]


@pytest.mark.parametrize(
    ("ends", "match"),
    [
        (("2020-12-31", "2020-09-30", "2021-06-30"), "strictly increasing"),
        (("2020-09-30", "2020-12-31", "2021-12-31"), "test"),  # nothing left to test on
        (("2019-12-31", "2020-12-31", "2021-06-30"), "train"),  # training before the data
    ],
)
def test_impossible_windows_raise(ends: tuple[str, str, str], match: str) -> None:
    with pytest.raises(SplitError, match=match):
        make_temporal_split(QUARTERS, *ends)


def test_embargo_that_empties_a_block_raises() -> None:
    with pytest.raises(SplitError, match="valid"):
        make_temporal_split(QUARTERS, "2020-09-30", "2020-12-31", "2021-06-30", embargo_days=100)
