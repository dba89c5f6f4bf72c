"""Known-answer tests for each feature family at t = 2024-03-31 (features.build)."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest
from features_testkit import EXTRACT, T, build, days, linked, qualifying, row

from features import FeatureParams, build_features, feature_names


def _off(
    date: str,
    group: str = "theft",
    outcome: str = "convicted",
    outcome_date: str | None = None,
    gravity: int = 3,
    da: bool = False,
    pid: str = "a",
) -> dict:
    return {
        "pseudo_id": pid,
        "offence_date": date,
        "offence_group": group,
        "outcome": outcome,
        "outcome_date": outcome_date,
        "gravity": gravity,
        "domestic_abuse": da,
    }


OFFENCES = [
    _off("2010-05-15", "theft", "convicted", "2010-07-01", gravity=2),
    _off("2022-06-10", "burglary", "caution", "2022-06-10", gravity=4),
    _off("2023-12-01", "violence_with_injury", "convicted", "2024-02-01", gravity=5, da=True),
    _off("2024-01-15", "theft", "pending", None, gravity=3),
    _off("2024-02-20", "drugs", "convicted", "2024-05-01", gravity=6),  # proven after t
    _off("2024-03-31", "public_order", "no_further_action", "2024-03-31", gravity=1),  # on t
    _off("2024-04-05", "robbery", "convicted", "2024-05-01", gravity=6),  # after t
]


@pytest.fixture(scope="module")
def offending() -> dict:
    """Offending features with a 20-year history window, so the 2010 offence counts."""
    tables = linked(persons=[{"pseudo_id": "a", "birth_month": "1990-06-01"}], offences=OFFENCES)
    return row(build(tables, history_months=240), "a")


@pytest.fixture(scope="module")
def offending_5y() -> dict:
    """The same history under the default 5-year window (after 2019-03-31): 2010 is out."""
    tables = linked(persons=[{"pseudo_id": "a", "birth_month": "1990-06-01"}], offences=OFFENCES)
    return row(build(tables, history_months=60), "a")


def test_offence_counts_by_window(offending):
    f = offending
    assert [f[f"n_recorded_offences_{w}"] for w in ("3m", "12m", "36m", "all")] == [3, 4, 5, 6]
    assert [f[f"n_proven_offences_{w}"] for w in ("3m", "12m", "36m", "all")] == [0, 1, 2, 3]
    assert [f[f"n_domestic_abuse_recorded_{w}"] for w in ("3m", "12m", "36m", "all")] == [0, 1, 1, 1]
    assert f["n_domestic_abuse_proven_all"] == 1
    assert f["n_outstanding_offences"] == 2  # pending, and convicted only after t


def test_offence_group_counts(offending):
    f = offending
    assert f["n_proven_theft_all"] == 1 and f["n_proven_theft_12m"] == 0
    assert f["n_proven_burglary_all"] == 1 and f["n_proven_burglary_12m"] == 0
    assert f["n_proven_violence_with_injury_12m"] == 1
    assert f["n_proven_drugs_all"] == 0 and f["n_proven_robbery_all"] == 0
    recorded = {
        g: f[f"n_recorded_{g}_12m"] for g in ("theft", "drugs", "public_order", "burglary", "robbery")
    }
    assert recorded == {"theft": 1, "drugs": 1, "public_order": 1, "burglary": 0, "robbery": 0}


def test_gravity(offending):
    assert offending["gravity_max_proven_all"] == 5
    assert offending["gravity_mean_proven_all"] == pytest.approx(11 / 3)
    assert offending["gravity_max_recorded_12m"] == 6


def test_recency_age_and_career(offending):
    f = offending
    assert f["days_since_last_offence"] == 0
    assert f["days_since_last_proven_offence"] == days("2023-12-01") == 121
    assert f["age"] == 33  # born June 1990
    assert f["age_first_proven"] == 19  # May 2010
    assert f["career_years"] == pytest.approx(days("2010-05-15") / 365.25)


def test_copas_rate_counts_sanction_occasions(offending):
    years = days("2010-07-01") / 365.25
    assert offending["n_sanction_occasions"] == 3
    assert offending["copas_rate"] == pytest.approx(math.log(3 / (10 + years)))


def test_history_window_caps_every_career_feature(offending_5y):
    f = offending_5y
    assert [f[f"n_recorded_offences_{w}"] for w in ("3m", "12m", "36m", "all")] == [3, 4, 5, 5]
    assert f["n_proven_offences_all"] == 2 and f["n_proven_theft_all"] == 0
    assert f["gravity_max_proven_all"] == 5 and f["gravity_mean_proven_all"] == pytest.approx(4.5)
    assert f["age_first_proven"] == 31  # the June 2022 caution (born June 1990), not May 2010
    assert f["career_years"] == pytest.approx(days("2022-06-10") / 365.25)
    assert f["n_sanction_occasions"] == 2
    assert f["copas_rate"] == pytest.approx(math.log(2 / (10 + days("2022-06-10") / 365.25)))


def test_history_window_boundary_is_exclusive():
    # 60 months before 2024-03-31 is 2019-03-31: out; the next day is in.
    tables = linked(
        offences=[
            qualifying("a"),
            _off("2019-03-31", outcome="caution", outcome_date="2019-03-31"),
            _off("2019-04-01", outcome="caution", outcome_date="2019-04-01"),
        ],
        custody=[
            {
                "pseudo_id": "a",
                "reception_date": "2019-03-01",
                "release_date": "2019-04-11",
                "release_type": "sentence_expiry",
            }
        ],
        orders=[
            {"pseudo_id": "a", "order_type": "licence", "start_date": "2019-03-31", "end_date": "2019-04-11"},
        ],
    )
    a = row(build(tables, history_months=60), "a")
    assert a["n_recorded_offences_all"] == 2 and a["n_proven_offences_all"] == 2
    # Received before the window: not an episode in it, but its 10 days inside it count.
    assert a["n_custody_episodes_all"] == 0 and a["days_in_custody_all"] == 10
    assert a["days_since_release"] == days("2019-04-11")
    # The licence started on the boundary (out) but ran into the window: known, not counted.
    assert a["n_orders_all"] == 0 and a["known_to_prison"] and a["known_to_probation"]
    assert a["n_agencies_known"] == 3


def test_same_history_gives_same_features_whatever_the_records_start():
    # The drift this window prevents: extra years of old records (an extract holding more
    # years, or a later as-of date in the same extract) must not change the features.
    recent = [qualifying("a"), _off("2021-05-01", outcome_date="2021-06-01")]
    old = [_off(f"{y}-05-01", outcome_date=f"{y}-06-01") for y in range(2005, 2019)]
    short, long = (build(linked(offences=o), history_months=60) for o in (recent, recent + old))
    assert short["n_recorded_offences_all"].iloc[0] == 2
    pd.testing.assert_frame_equal(short, long)


def test_offences_dealt_with_together_are_one_sanction():
    tables = linked(
        offences=[
            _off("2023-01-01", outcome_date="2023-06-01"),
            _off("2023-02-01", outcome_date="2023-06-01"),
            _off("2023-03-01", outcome="caution", outcome_date="2023-08-01"),
        ]
    )
    f = row(build(tables), "a")
    assert f["n_sanction_occasions"] == 2
    assert f["n_proven_offences_all"] == 3
    assert f["copas_rate"] == pytest.approx(math.log(2 / (10 + days("2023-06-01") / 365.25)))


def test_custody_history():
    tables = linked(
        offences=[qualifying("a"), qualifying("due")],
        custody=[
            {
                "pseudo_id": "a",
                "reception_date": "2020-01-01",
                "release_date": "2020-07-01",
                "release_type": "licence",
            },
            {
                "pseudo_id": "a",
                "reception_date": "2023-11-01",
                "release_date": "2024-01-31",
                "release_type": "sentence_expiry",
            },
            {
                "pseudo_id": "a",
                "reception_date": "2024-04-02",
                "release_date": "2024-05-01",
                "release_type": "remand",
            },
            {"pseudo_id": "due", "reception_date": "2024-03-01", "expected_release_date": "2024-04-30"},
        ],
    )
    f = build(tables)
    a = row(f, "a")
    assert [a[f"n_custody_episodes_{w}"] for w in ("3m", "12m", "36m", "all")] == [0, 1, 1, 2]
    # 1-30 Jan 2024 in the 3-month window; Nov 2023 to 30 Jan 2024 = 91 days; 182 days in 2020.
    assert [a[f"days_in_custody_{w}"] for w in ("3m", "12m", "36m", "all")] == [30, 91, 91, 273]
    assert a["days_since_release"] == days("2024-01-31") == 60
    assert not a["in_custody"]
    d = row(f, "due")
    assert d["in_custody"] and d["days_in_custody_3m"] == 31  # 1..31 March, t included
    assert pd.isna(d["days_since_release"])


def test_supervision_orders_and_breaches():
    tables = linked(
        offences=[qualifying("a"), qualifying("b")],
        orders=[
            {
                "pseudo_id": "a",
                "order_type": "community_order",
                "start_date": "2023-06-01",
                "end_date": "2024-06-01",
                "breached": True,
            },  # running at t: breach not yet known
            {
                "pseudo_id": "a",
                "order_type": "licence",
                "start_date": "2021-01-01",
                "end_date": "2022-01-01",
                "breached": True,
            },
            {
                "pseudo_id": "a",
                "order_type": "suspended_sentence",
                "start_date": "2019-01-01",
                "end_date": "2020-01-01",
                "breached": False,
            },
            {"pseudo_id": "a", "order_type": "licence", "start_date": "2024-04-01", "end_date": "2025-01-01"},
            {
                "pseudo_id": "b",
                "order_type": "post_sentence_supervision",
                "start_date": "2023-06-01",
                "end_date": "2024-03-31",
            },  # ends on t: not running at t
            {"pseudo_id": "b", "order_type": "licence", "start_date": "2024-03-31", "end_date": "2024-09-30"},
        ],
    )
    f = build(tables, history_months=60)
    a, b = row(f, "a"), row(f, "b")
    assert a["on_community_order"] and not a["on_licence"]
    assert a["n_orders_all"] == 2  # the 2019-01-01 order started before the 5-year window
    assert [a[f"n_breached_orders_{w}"] for w in ("3m", "12m", "36m", "all")] == [0, 0, 1, 1]
    assert b["on_licence"] and not b["on_community_order"] and b["n_orders_all"] == 2


def test_appointment_compliance():
    def contact(date: str, outcome: str, pid: str = "a") -> dict:
        return {"pseudo_id": pid, "contact_date": date, "outcome": outcome}

    tables = linked(
        offences=[qualifying("a"), qualifying("none")],
        contacts=[
            contact("2024-01-05", "attended"),
            contact("2024-02-05", "attended"),
            contact("2024-03-05", "unacceptable_absence"),
            contact("2024-03-31", "acceptable_absence"),
            contact("2023-06-01", "attended"),
            contact("2023-06-08", "attended"),
            contact("2024-04-01", "unacceptable_absence"),
        ],
    )
    f = build(tables)
    a = row(f, "a")
    assert a["share_contacts_attended_3m"] == pytest.approx(0.5)
    assert a["share_contacts_attended_12m"] == pytest.approx(4 / 6)
    assert a["n_unacceptable_absences_3m"] == 1 and a["n_unacceptable_absences_12m"] == 1
    assert math.isnan(row(f, "none")["share_contacts_attended_12m"])
    assert "share_contacts_attended_all" not in f.columns


def test_latest_needs_and_change():
    needs0 = {"accommodation": 2, "drugs": 1}
    needs1 = {"accommodation": 1, "drugs": 2, "alcohol": None}
    tables = linked(
        offences=[qualifying("a"), qualifying("one")],
        assessments=[
            {"pseudo_id": "a", "assessment_date": "2023-01-10", **needs0},
            {"pseudo_id": "a", "assessment_date": "2024-02-01", **needs1},
            {"pseudo_id": "a", "assessment_date": "2024-05-01", "accommodation": 0, "drugs": 0},
            {"pseudo_id": "one", "assessment_date": "2024-02-01", "finance": 2},
        ],
    )
    f = build(tables)
    a = row(f, "a")
    assert a["need_accommodation"] == 1 and a["need_drugs"] == 2 and pd.isna(a["need_alcohol"])
    assert a["need_accommodation_change"] == -1 and a["need_drugs_change"] == 1
    assert pd.isna(a["need_alcohol_change"]) and a["need_finance_change"] == 0
    assert a["need_total"] == 3 and a["need_total_change"] == 0
    assert a["days_since_assessment"] == days("2024-02-01")
    one = row(f, "one")
    assert one["need_finance"] == 2 and one["need_total"] == 2 and pd.isna(one["need_finance_change"])
    assert f["need_total"].dtype == "Int32"


def test_health_treatment():
    def episode(service: str, ref: str, dis: str | None = None, reason: str | None = None) -> dict:
        return {
            "pseudo_id": "a",
            "service": service,
            "referral_date": ref,
            "discharge_date": dis,
            "discharge_reason": reason,
        }

    tables = linked(
        offences=[qualifying("a")],
        health=[
            episode("drug_treatment", "2024-01-01"),  # open at t
            episode("alcohol_treatment", "2023-06-01", "2024-05-01", "dropped_out"),  # open at t
            episode("mental_health", "2022-01-01", "2022-06-01", "dropped_out"),
            episode("drug_treatment", "2022-01-01", "2023-09-01", "completed"),
            episode("drug_treatment", "2023-06-01", "2023-10-01", "dropped_out"),
            episode("mental_health", "2024-04-01"),  # after t
        ],
    )
    a = row(build(tables), "a")
    assert a["in_drug_treatment"] and a["in_alcohol_treatment"] and not a["in_mental_health"]
    assert a["n_treatment_dropouts_12m"] == 1 and a["n_treatment_dropouts_all"] == 2
    assert a["n_treatment_completed_all"] == 1


def test_housing():
    def event(date: str, kind: str, pid: str = "a") -> dict:
        return {"pseudo_id": pid, "event_date": date, "event_type": kind}

    tables = linked(
        offences=[qualifying(p) for p in ("a", "settled", "none", "same_day")],
        housing=[
            event("2021-06-01", "rough_sleeping"),
            event("2023-05-01", "homeless_application"),
            event("2024-01-10", "temporary_accommodation"),
            event("2024-04-10", "settled_accommodation"),
            event("2023-01-01", "rough_sleeping", "settled"),
            event("2023-02-01", "settled_accommodation", "settled"),
            event("2024-01-01", "settled_accommodation", "same_day"),
            event("2024-01-01", "rough_sleeping", "same_day"),
        ],
    )
    f = build(tables)
    a = row(f, "a")
    assert [a[f"n_homelessness_events_{w}"] for w in ("3m", "12m", "36m")] == [1, 2, 3]
    assert a["n_rough_sleeping_12m"] == 0
    assert a["housing_unstable"]
    assert not row(f, "settled")["housing_unstable"]
    assert not row(f, "none")["housing_unstable"]
    assert row(f, "same_day")["housing_unstable"]


def test_agencies_known_by_t():
    tables = linked(
        offences=[qualifying("a"), qualifying("b")],
        custody=[
            {
                "pseudo_id": "a",
                "reception_date": "2020-01-01",
                "release_date": "2020-02-01",
                "release_type": "other",
            }
        ],
        contacts=[{"pseudo_id": "a", "contact_date": "2023-01-01"}],
        health=[{"pseudo_id": "a", "referral_date": "2024-04-01"}],  # after t
        housing=[{"pseudo_id": "b", "event_date": "2024-03-31"}],
    )
    f = build(tables)
    a, b = row(f, "a"), row(f, "b")
    assert (a["known_to_prison"], a["known_to_probation"], a["known_to_health"], a["known_to_housing"]) == (
        True,
        True,
        False,
        False,
    )
    assert a["n_agencies_known"] == 3
    assert b["known_to_housing"] and b["n_agencies_known"] == 2


def test_build_features_over_dates_and_panel_flag():
    tables = linked(offences=[qualifying("a"), qualifying("b", "2024-06-10", "2024-06-20")])
    params = FeatureParams(train_start=dt.date(2024, 3, 31), panel_date=dt.date(2024, 6, 30))
    dates = [pd.Timestamp("2024-06-30"), T, EXTRACT]
    f = build_features(tables, dates, params, EXTRACT)
    assert list(
        zip(f["as_of_date"].dt.date.astype(str), f["pseudo_id"], f["is_panel_date"], strict=True)
    ) == [
        ("2024-03-31", "a", False),
        ("2024-06-30", "a", True),
        ("2024-06-30", "b", True),
    ]
    assert list(f.columns[2:-4]) == list(feature_names(params.windows))
    # A panel at the extract date: nobody has a proven offence in the 24 months to 2026-10-31.
    assert build_features(tables, [EXTRACT], params, EXTRACT).empty


def test_inputs_are_not_mutated():
    tables = linked(offences=OFFENCES, custody=[{"pseudo_id": "a", "reception_date": "2020-01-01"}])
    before = {k: v.copy() for k, v in tables.items()}
    build(tables)
    for k, v in tables.items():
        pd.testing.assert_frame_equal(v, before[k])
