"""Known-answer tests for parsing text into contract types."""

from __future__ import annotations

import pandas as pd
import pytest

from validation.parsing import parse_bools, parse_column, parse_dates, parse_ints


def _text(*values: str | None) -> pd.Series:
    return pd.Series(list(values), dtype="string")


def test_dates_accept_only_real_calendar_dates_written_yyyy_mm_dd() -> None:
    text = _text(
        "2021-02-28", "2020-02-29", "2021-02-29", "2021-02-30", "2021-13-01", "2021-1-01",
        " 2021-01-01", "2021-01-01T00:00", "01/02/2021", None, "0001-01-01", "9999-12-31",
    )  # fmt: skip
    parsed = parse_dates(text)
    assert parsed.dtype == "datetime64[ms]"
    expected = pd.Series(
        [
            "2021-02-28",
            "2020-02-29",
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            "0001-01-01",
            "9999-12-31",
        ],
        dtype="datetime64[ms]",
    )
    pd.testing.assert_series_equal(parsed, expected, check_names=False)


def test_ints_are_whole_numbers_only() -> None:
    parsed = parse_ints(_text("0", "-3", "007", "2.0", "+1", "1e3", " 4", "", None, "9" * 19))
    expected = pd.Series([0, -3, 7, None, None, None, None, None, None, None], dtype="Int64")
    pd.testing.assert_series_equal(parsed, expected, check_names=False)


def test_bools_are_lenient_on_letter_case_only() -> None:
    parsed = parse_bools(_text("true", "FALSE", "True", "yes", "1", " true", None))
    expected = pd.Series([True, False, True, None, None, None, None], dtype="boolean")
    pd.testing.assert_series_equal(parsed, expected, check_names=False)


@pytest.mark.parametrize("kind", ["str", "cat"])
def test_text_kinds_stay_text(kind: str) -> None:
    parsed = parse_column(_text("a", None), kind)  # type: ignore[arg-type]
    assert parsed.dtype == "string"
    assert parsed.isna().tolist() == [False, True]
