"""As-of dates, label completeness and windows (features.asof)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from features import FeatureParams, TemporalWindowError, as_of_dates, is_label_complete
from features.asof import (
    all_as_of_dates,
    check_as_of,
    check_history,
    last_complete_date,
    records_start,
    window_start,
)
from features.catalogue import DEFAULT_HISTORY_MONTHS
from iom_config import ParamsError, parse_params


def test_training_dates_are_quarter_ends_up_to_last_complete_label():
    params = FeatureParams(train_start=dt.date(2023, 3, 31))
    train, panel = as_of_dates(params, pd.Timestamp("2026-10-31"))
    # 2026-10-31 - 548 days = 2025-05-01: the last complete quarter end is 2025-03-31.
    assert last_complete_date(pd.Timestamp("2026-10-31")) == pd.Timestamp("2025-05-01")
    assert [d.date().isoformat() for d in train] == [
        "2023-03-31",
        "2023-06-30",
        "2023-09-30",
        "2023-12-31",
        "2024-03-31",
        "2024-06-30",
        "2024-09-30",
        "2024-12-31",
        "2025-03-31",
    ]
    assert panel == pd.Timestamp("2026-10-31")


def test_quarter_end_exactly_on_last_complete_date_is_included():
    # 2025-03-31 + 548 days = 2026-09-30.
    params = FeatureParams(train_start=dt.date(2025, 3, 31))
    train, _ = as_of_dates(params, pd.Timestamp("2026-09-30"))
    assert train == [pd.Timestamp("2025-03-31")]
    with pytest.raises(TemporalWindowError, match="train_start"):
        as_of_dates(params, pd.Timestamp("2026-09-29"))


def test_train_start_after_last_complete_date_raises():
    with pytest.raises(TemporalWindowError, match="move train_start earlier"):
        as_of_dates(FeatureParams(train_start=dt.date(2026, 3, 31)), pd.Timestamp("2026-10-31"))


def test_panel_date_after_extract_raises():
    params = FeatureParams(train_start=dt.date(2019, 3, 31), panel_date=dt.date(2026, 11, 1))
    with pytest.raises(TemporalWindowError, match="panel_date"):
        as_of_dates(params, pd.Timestamp("2026-10-31"))


def test_panel_date_given_is_used_and_merged_with_training_dates():
    params = FeatureParams(train_start=dt.date(2024, 12, 31), panel_date=dt.date(2025, 3, 31))
    train, panel = as_of_dates(params, pd.Timestamp("2026-10-31"))
    assert panel == pd.Timestamp("2025-03-31")
    assert all_as_of_dates(train, panel) == [pd.Timestamp("2024-12-31"), pd.Timestamp("2025-03-31")]


def test_as_of_after_extract_raises():
    with pytest.raises(TemporalWindowError):
        check_as_of(pd.Timestamp("2026-11-01"), pd.Timestamp("2026-10-31"))
    check_as_of(pd.Timestamp("2026-10-31"), pd.Timestamp("2026-10-31"))


def test_label_completeness_boundary():
    t = pd.Timestamp("2024-03-31")
    assert is_label_complete(t, pd.Timestamp("2025-09-30"))  # t + 365 + 183 days
    assert not is_label_complete(t, pd.Timestamp("2025-09-29"))


def test_window_start_is_exclusive_month_arithmetic():
    assert window_start(pd.Timestamp("2024-03-31"), 12) == pd.Timestamp("2023-03-31")
    assert window_start(pd.Timestamp("2024-02-29"), 24) == pd.Timestamp("2022-02-28")
    with pytest.raises(TemporalWindowError):
        window_start(pd.Timestamp("2024-03-31"), 0)


def test_params_reject_bad_values():
    with pytest.raises(ParamsError, match="quarter end"):
        parse_params({"train_start": "2019-03-30"}, FeatureParams)
    with pytest.raises(ParamsError, match="increasing"):
        parse_params({"windows": [12, 3]}, FeatureParams)
    with pytest.raises(ParamsError, match=r"unknown_key|Extra inputs"):
        parse_params({"unknown_key": 1}, FeatureParams)
    with pytest.raises(ParamsError, match="history_months"):
        parse_params({"windows": [3, 12, 36], "history_months": 24}, FeatureParams)
    p = parse_params({"panel_date": None, "windows": [3, 12]}, FeatureParams)
    assert p.windows == (3, 12) and p.min_age == 18 and p.release_window_days == 56
    assert p.history_months == DEFAULT_HISTORY_MONTHS


def test_dates_without_a_full_history_window_are_refused_by_name():
    # Records from 2014-05-01, 60 months: the earliest as-of date with a full window is
    # 2019-05-01, so 2018-12-31 and 2019-03-31 are refused and 2019-06-30 is allowed.
    start = pd.Timestamp("2014-05-01")
    with pytest.raises(TemporalWindowError, match=r"2 as-of date\(s\) \(2018-12-31, 2019-03-31\)") as err:
        check_history([pd.Timestamp(d) for d in ("2018-12-31", "2019-03-31", "2019-06-30")], 60, start)
    assert "2019-05-01" in str(err.value) and "train_start to 2019-06-30" in str(err.value)
    check_history([pd.Timestamp("2019-06-30")], 60, start)
    check_history([pd.Timestamp("2019-05-01")], 60, start)  # exactly 60 months of records


def test_as_of_dates_checks_history_when_records_start_is_known():
    p = FeatureParams(train_start=dt.date(2019, 3, 31), history_months=60)
    extract = pd.Timestamp("2026-10-31")
    train, _ = as_of_dates(p, extract, pd.Timestamp("2014-03-31"))
    assert train[0] == pd.Timestamp("2019-03-31")
    with pytest.raises(TemporalWindowError, match="2019-03-31, 2019-06-30"):
        as_of_dates(p, extract, pd.Timestamp("2016-11-01"))
    with pytest.raises(TemporalWindowError, match="history_months=60"):
        as_of_dates(p, extract, pd.Timestamp("2016-11-01"), "the manifest's records_start")


def test_records_start_is_the_earliest_offence():
    offences = pd.DataFrame({"offence_date": pd.to_datetime(["2017-01-05", None, "2016-11-01"])})
    custody = pd.DataFrame({"reception_date": pd.to_datetime(["2015-01-01"])})  # already inside
    assert records_start({"offences": offences, "custody": custody}) == pd.Timestamp("2016-11-01")
    assert records_start({"offences": offences.iloc[1:2]}) is None
    assert records_start({}) is None


def test_dates_before_the_panel_are_the_stages_dates_before_it():
    """What `iom score` pools a typology over: the features stage's own dates, cut at the panel."""
    from features import as_of_dates_before_panel, default_as_of_dates

    extract = pd.Timestamp("2026-10-31")
    params = FeatureParams(train_start=dt.date(2023, 3, 31))
    stage = default_as_of_dates(params, extract)
    assert as_of_dates_before_panel(params, extract) == stage[:-1]  # all training dates, not the panel
    past = params.model_copy(update={"panel_date": dt.date(2024, 1, 15)})
    assert [d.date().isoformat() for d in as_of_dates_before_panel(past, extract)] == [
        "2023-03-31",
        "2023-06-30",
        "2023-09-30",
        "2023-12-31",
    ]
    on_quarter_end = params.model_copy(update={"panel_date": dt.date(2023, 12, 31)})
    assert as_of_dates_before_panel(on_quarter_end, extract)[-1] == pd.Timestamp("2023-09-30")
