"""The cohort rule and the contract label (features.cohort)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from features_testkit import EXTRACT, T, build, linked, qualifying, row

from features.cohort import age_at
from features.encode import day_number


def _ids(frame: pd.DataFrame) -> list[str]:
    return list(frame["pseudo_id"])


# --- age ---------------------------------------------------------------------------


def test_age_is_exact_at_month_end_and_never_overstated_mid_month():
    born = np.array([2006 * 12 + 2, 2006 * 12 + 3])  # March 2006, April 2006
    assert list(age_at(born, day_number(pd.Timestamp("2024-03-31")))) == [18, 17]
    assert list(age_at(born, day_number(pd.Timestamp("2024-03-15")))) == [17, 17]
    assert list(age_at(born, day_number(pd.Timestamp("2024-04-30")))) == [18, 18]


def test_min_age_boundary_at_month_end():
    tables = linked(
        persons=[
            {"pseudo_id": "march06", "birth_month": "2006-03-01"},  # 18 on 2024-03-31
            {"pseudo_id": "april06", "birth_month": "2006-04-01"},  # 17 on 2024-03-31
        ],
        offences=[qualifying("march06"), qualifying("april06")],
    )
    assert _ids(build(tables)) == ["march06"]
    assert _ids(build(tables, min_age=17)) == ["april06", "march06"]
    # On 2024-03-15 the March 2006 birthday may not have come yet: counted as 17.
    assert _ids(build(tables, t=pd.Timestamp("2024-03-15"))) == []


def test_missing_birth_month_is_not_in_cohort():
    tables = linked(persons=[{"pseudo_id": "x", "birth_month": None}], offences=[qualifying("x")])
    assert _ids(build(tables)) == []


# --- proven offence within 24 months ---------------------------------------------------


def test_proven_window_boundary_is_exclusive_at_24_months():
    tables = linked(
        offences=[
            qualifying("edge", "2022-03-31", "2022-05-01"),  # exactly 24 months before t: outside
            qualifying("inside", "2022-04-01", "2022-05-01"),
        ]
    )
    assert _ids(build(tables)) == ["inside"]
    assert _ids(build(tables, proven_window_months=36)) == ["edge", "inside"]


def test_offence_on_t_with_outcome_on_t_counts():
    tables = linked(offences=[qualifying("a", "2024-03-31", "2024-03-31")])
    assert _ids(build(tables)) == ["a"]


def test_outcome_decided_after_t_is_not_proven_at_t():
    tables = linked(
        offences=[
            qualifying("late", "2024-01-10", "2024-04-01"),
            {"pseudo_id": "pending", "offence_date": "2024-01-10", "outcome": "pending"},
            {
                "pseudo_id": "cr",
                "offence_date": "2024-01-10",
                "outcome": "community_resolution",
                "outcome_date": "2024-01-10",
            },
            {
                "pseudo_id": "caution",
                "offence_date": "2024-01-10",
                "outcome": "caution",
                "outcome_date": "2024-01-12",
            },
        ]
    )
    assert _ids(build(tables)) == ["caution"]


# --- custody and release_due -------------------------------------------------------------


def test_custody_rule_and_release_due_at_the_extract_date():
    t = pd.Timestamp("2026-10-31")
    tables = linked(
        offences=[
            qualifying(p, "2026-01-10", "2026-02-01")
            for p in ("free", "due56", "due57", "inside", "out_on_t", "in_on_t")
        ],
        custody=[
            {"pseudo_id": "due56", "reception_date": "2026-03-01", "expected_release_date": "2026-12-26"},
            {"pseudo_id": "due57", "reception_date": "2026-03-01", "expected_release_date": "2026-12-27"},
            {"pseudo_id": "inside", "reception_date": "2026-03-01"},
            {
                "pseudo_id": "out_on_t",
                "reception_date": "2026-03-01",
                "release_date": "2026-10-31",
                "release_type": "licence",
            },
            {"pseudo_id": "in_on_t", "reception_date": "2026-10-31", "expected_release_date": "2027-06-01"},
        ],
    )
    f = build(tables, t=t, extract=t)
    assert _ids(f) == ["due56", "free", "out_on_t"]
    assert row(f, "due56")["release_due"] == pd.Timestamp("2026-12-26")
    assert row(f, "due56")["in_custody"]
    assert pd.isna(row(f, "free")["release_due"])
    assert not row(f, "out_on_t")["in_custody"]  # released on t: out at t


def test_release_due_at_a_past_date_uses_the_sentenced_release_date():
    # t = 2024-03-31; window to 2024-05-26.
    tables = linked(
        offences=[qualifying(p, "2023-05-01", "2023-06-01") for p in ("licence", "late", "remand", "still")],
        custody=[
            {
                "pseudo_id": "licence",
                "reception_date": "2023-06-01",
                "release_date": "2024-05-10",
                "release_type": "licence",
            },
            {
                "pseudo_id": "late",
                "reception_date": "2023-06-01",
                "release_date": "2024-06-30",
                "release_type": "sentence_expiry",
            },
            {
                "pseudo_id": "remand",
                "reception_date": "2024-02-01",
                "release_date": "2024-04-15",
                "release_type": "remand",
            },
            {"pseudo_id": "still", "reception_date": "2023-06-01", "expected_release_date": "2024-04-20"},
        ],
    )
    f = build(tables)
    assert _ids(f) == ["licence", "still"]
    assert row(f, "licence")["release_due"] == pd.Timestamp("2024-05-10")
    assert row(f, "still")["release_due"] == pd.Timestamp("2024-04-20")
    assert _ids(build(tables, release_window_days=100)) == ["late", "licence", "still"]


def test_release_due_people_still_need_age_and_proven_offence():
    tables = linked(
        persons=[{"pseudo_id": "young", "birth_month": "2007-01-01"}],
        offences=[qualifying("young"), qualifying("old", "2020-01-10", "2020-03-01")],
        custody=[
            {"pseudo_id": "young", "reception_date": "2024-02-01", "expected_release_date": "2024-04-10"},
            {"pseudo_id": "old", "reception_date": "2020-03-01", "expected_release_date": "2024-04-10"},
        ],
    )
    assert _ids(build(tables)) == []


# --- label -------------------------------------------------------------------------------


def _label_case(offence: str, outcome: str | None, kind: str = "convicted") -> dict:
    return {"pseudo_id": "a", "offence_date": offence, "outcome": kind, "outcome_date": outcome}


def _label(*later: dict, extract: pd.Timestamp = EXTRACT) -> object:
    tables = linked(offences=[qualifying("a"), *later])
    return row(build(tables, extract=extract), "a")["label"]


def test_label_window_boundaries():
    assert _label() == 0
    assert _label(_label_case("2024-03-31", "2024-03-31")) == 0  # on t: history, not outcome
    assert _label(_label_case("2024-04-01", "2024-04-02")) == 1
    assert _label(_label_case("2025-03-31", "2025-09-30")) == 1  # t + 365, proven at + 183
    assert _label(_label_case("2025-03-31", "2025-10-01")) == 0  # proven at + 184
    assert _label(_label_case("2025-04-01", "2025-04-02")) == 0  # t + 366
    assert _label(_label_case("2024-06-01", "2024-06-02", "caution")) == 1
    assert _label(_label_case("2024-06-01", "2024-06-02", "no_further_action")) == 0
    assert _label(_label_case("2024-06-01", None, "pending")) == 0


def test_label_is_null_when_window_incomplete():
    later = _label_case("2024-06-01", "2024-06-02")
    assert _label(later, extract=pd.Timestamp("2025-09-30")) == 1
    assert pd.isna(_label(later, extract=pd.Timestamp("2025-09-29")))
    tables = linked(offences=[qualifying("a"), later])
    f = build(tables, extract=pd.Timestamp("2025-09-29"))
    assert f["label"].dtype == "Int64"
    assert not f["label_complete"].any()
    assert build(tables)["label_complete"].all()


def test_output_columns_and_order():
    tables = linked(offences=[qualifying("b"), qualifying("a")])
    f = build(tables)
    assert list(f["pseudo_id"]) == ["a", "b"]
    assert list(f.columns[:2]) == ["pseudo_id", "as_of_date"]
    assert list(f.columns[-4:]) == ["label", "label_complete", "release_due", "is_panel_date"]
    assert (f["as_of_date"] == T).all()
    assert str(f["as_of_date"].dtype) == "datetime64[ms]"
    assert str(f["release_due"].dtype) == "datetime64[ms]"
    assert "sex" not in f.columns and "ethnicity" not in f.columns


def test_age_on_dates_is_the_same_rule_for_datetime_columns():
    """The audit's ages (datetime columns) follow the one rule: 17 until the birth month ends."""
    from features.cohort import age_on_dates

    born = pd.Series(pd.to_datetime(["2006-03-01", "2006-03-01", "2006-04-01", None]))
    when = pd.Series(
        pd.to_datetime(["2024-03-31", "2024-03-15", "2024-03-31", "2024-03-31"]), index=[5, 6, 7, 8]
    )
    ages = age_on_dates(born, when)
    assert ages.index.tolist() == [5, 6, 7, 8]
    assert ages.iloc[:3].tolist() == [18, 17, 17]
    assert ages.isna().tolist() == [False, False, False, True]
