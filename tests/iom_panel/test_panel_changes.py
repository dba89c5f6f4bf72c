"""Since the last panel: previous lists, who left and why, what moved people, data freshness;
the typology contradiction check and the fairness sentences."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from iom_panel.changes import archive_list, data_freshness, left_list, read_previous_list, what_changed
from iom_panel.fairness_words import audit_covers, fairness_sentences
from iom_panel.typology_check import contradicted_typology

T = pd.Timestamp("2026-10-31")
D = pd.Timestamp


def test_archive_and_read_the_latest_earlier_list(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    head = "pseudo_id,rank,risk_12m,suggested_tier\n"
    archive_list(head + "Pa,1,0.9,red\n", tmp_path, "2026-07-31")
    archive_list(head + "Pa,2,0.8,red\nPb,1,0.95,red\n", tmp_path, "2026-09-30")
    archive_list(head + "Pa,1,0.7,red\n", tmp_path, "2026-10-31")  # this panel's own: not "previous"
    (tmp_path / "notes").mkdir()
    prev, day = read_previous_list(tmp_path, T)
    assert day == "2026-09-30"
    assert prev is not None and prev.set_index("pseudo_id")["rank"].to_dict() == {"Pa": 2, "Pb": 1}
    assert "notes: not a panel date" in caplog.text
    assert read_previous_list(tmp_path / "missing", T) == (None, None)


def test_who_left_and_why() -> None:
    prev = pd.DataFrame(
        {
            "pseudo_id": ["Pa", "Pb", "Pc", "Pd"],
            "rank": [1, 2, 3, 4],
            "risk_12m": [0.9, 0.8, 0.7, 0.6],
            "suggested_tier": ["red", "red", "amber", "amber"],
        }
    )
    cohort = pd.DataFrame({"pseudo_id": ["Pa"]})
    persons = pd.DataFrame({"pseudo_id": ["Pa", "Pb", "Pc"]})
    custody = pd.DataFrame(
        {"pseudo_id": ["Pb"], "reception_date": [D("2026-09-01")], "release_date": [pd.NaT]}
    )
    left = left_list(prev, cohort, persons, custody, T).set_index("pseudo_id")
    assert left["reason"].to_dict() == {
        "Pb": "in custody beyond the release window",
        "Pc": "no proven offence in the cohort window",
        "Pd": "no longer in the area's records",
    }


def test_what_changed_between_panels() -> None:
    cohort = pd.DataFrame({"pseudo_id": ["Pa", "Pb"]})
    linked = {
        "offences": pd.DataFrame(
            {
                "pseudo_id": ["Pa", "Pa", "Pa"],
                "offence_date": [D("2026-08-01"), D("2026-10-01"), D("2026-06-01")],
                "outcome": ["convicted", "pending", "convicted"],
                "outcome_date": [D("2026-09-15"), pd.NaT, D("2026-07-01")],
            }
        ),
        "custody": pd.DataFrame(
            {"pseudo_id": ["Pb"], "reception_date": [D("2026-01-01")], "release_date": [D("2026-09-02")]}
        ),
        "assessments": pd.DataFrame({"pseudo_id": ["Pb"], "assessment_date": [D("2026-10-30")]}),
    }
    got = what_changed(cohort, linked, "2026-07-31", T).tolist()
    assert got == [
        "1 new proven offence; 2 new recorded offences",
        "released from prison; new needs assessment",
    ]
    assert what_changed(cohort, linked, None, T).tolist() == ["", ""]


def test_data_freshness_warns_on_an_agency_that_stops_early() -> None:
    linked = {
        "offences": pd.DataFrame({"offence_date": [D("2026-10-30")], "outcome_date": [pd.NaT]}),
        "housing": pd.DataFrame({"event_date": [D("2026-07-01"), D("2027-01-01")]}),  # future: ignored
    }
    got = {f["agency"]: f for f in data_freshness(linked, T, 60)}
    assert got["police"] == {
        "agency": "police",
        "latest_record": "2026-10-30",
        "days_before_panel": 1,
        "stale": False,
    }
    assert got["housing"]["latest_record"] == "2026-07-01" and got["housing"]["stale"]
    assert got["health"]["latest_record"] is None and got["health"]["stale"]


def test_typology_contradicted_by_the_persons_record() -> None:
    ids = ["Pa", "Pb", "Pc", "Pd", "Pe"]
    cohort = pd.DataFrame({"pseudo_id": ids, "typology": ["young_last_chance"] * 3 + ["older_prison"] * 2})
    born = ["2004-01-01", "2004-01-01", "1990-01-01", "1980-01-01", "2000-01-01"]
    persons = pd.DataFrame({"pseudo_id": ids, "birth_month": [D(b) for b in born]})
    # Pa: 971 days inside (over two years); Pb: 244 days (a short spell does not contradict
    # "last chance before custody"); Pc: aged 36; Pd: no prison in the window (a long record
    # may lie before it); Pe: aged 26, so not "older".
    custody = pd.DataFrame(
        {
            "pseudo_id": ["Pa", "Pa", "Pb"],
            "reception_date": [D("2020-01-01"), D("2023-01-01"), D("2024-01-01")],
            "release_date": [D("2021-06-30"), D("2024-03-01"), D("2024-09-01")],
        }
    )
    got = contradicted_typology(cohort, persons, custody, T, 120).tolist()
    assert got == ["971 days in prison in the last 10 years", "", "aged 30 or over", "", "aged under 30"]


def test_fairness_sentences_derived_from_the_audit_and_coverage() -> None:
    audit = {
        "panel": {
            "dates": ["2026-10-31"],
            "suppressed": {"sex": ["X"]},
            "disparities": {
                "panel.selection_rate_ratio.red.age_band.50plus": {"status": "flag", "gated": True},
                "panel.selection_rate_ratio.red.sex.F": {"status": "uncertain", "gated": True},
                "panel.selection_rate_ratio.red.ethnicity.Black": {"status": "pass", "gated": True},
                "panel.selection_rate_ratio.red.ethnicity_x_sex.Black_x_F": {"status": "flag", "gated": True},
            },
        }
    }
    got = {s["characteristic"]: s for s in fairness_sentences(audit, None)}
    assert got["ethnicity"]["verdict"] == "no disparity found"  # the combined group counts apart
    assert got["age_band"]["verdict"] == "disparity found" and "50plus" in got["age_band"]["sentence"]
    assert (
        got["sex"]["verdict"] == "not enough data"
        and "Too few people to assess: X." in got["sex"]["sentence"]
    )
    assert got["ethnicity_x_sex"]["verdict"] == "disparity found"
    assert all("ratio" not in s["sentence"] for s in got.values())
    assert audit_covers(audit, "2026-10-31") == (True, ["2026-10-31"])
    assert audit_covers(audit, "2026-11-30")[0] is False
