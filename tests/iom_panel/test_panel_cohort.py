"""The cohort list on tiny hand-built frames: ranks, tiers, joins and the CSV's exact form."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from iom_panel.cohort import COHORT_COLUMNS, build_cohort_list, format_cohort_csv, summarise_cohort
from iom_panel.decisions import previous_panel
from models.tiering import TieringRule

T = pd.Timestamp("2026-10-31")


def _scores() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "pseudo_id": ["Pd", "Pb", "Pa", "Pc", "Pe"],
            "as_of_date": [T] * 5,
            "in_custody": [False, False, True, False, True],
            "release_due": pd.to_datetime([None, None, "2026-11-20", None, None]),
            "risk_12m": [0.2, 0.5, 0.5, 0.9, 0.1],
            "risk_12m_low": [0.1, 0.4, 0.4, 0.8, 0.05],
            "risk_12m_high": [0.3, 0.6, 0.6, 0.95, 0.2],
            "rank": [4, 2, 3, 1, 5],
            "reasons_up": ["a (+1 pts)", "b", "c", "d", None],
            "reasons_down": ["", "", "", "", ""],
        }
    )


def _persons() -> pd.DataFrame:
    ids = ["Pa", "Pb", "Pc", "Pd", "Pe"]
    return pd.DataFrame(
        {
            "pseudo_id": ids,
            "sources_linked": [
                "police;prison",
                "police",
                "police;probation",
                "police;health",
                "police;prison",
            ],
            "in_police": [True] * 5,
            "in_prison": [True, False, False, False, True],
            "in_probation": [False, False, True, False, False],
            "in_health": [False, False, False, True, False],
            "in_housing": [False] * 5,
            "sex": ["M"] * 5,
            "ethnicity": ["White"] * 5,
        }
    )


def _custody() -> pd.DataFrame:
    # Pe is in custody with no release_due in the scores: the open episode supplies it.
    return pd.DataFrame(
        {
            "pseudo_id": ["Pe", "Pe"],
            "episode_id": ["E1", "E2"],
            "reception_date": pd.to_datetime(["2020-01-01", "2026-09-01"]),
            "release_date": pd.to_datetime(["2020-06-01", None]),
            "expected_release_date": pd.to_datetime([None, "2026-12-01"]),
            "release_type": ["licence", None],
        }
    )


def _typology() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "pseudo_id": ["Pa", "Pb", "Pc", "Pa"],
            "as_of_date": [T, T, T, pd.Timestamp("2026-06-30")],
            "typology": ["vulnerable", "general", "older_prison", "general"],
            "membership_probability": [0.9, 0.8, 0.7, 0.6],
            "cluster": [1, 2, 3, 2],
        }
    )


def _build(previous: pd.DataFrame | None = None, rule: TieringRule | None = None) -> pd.DataFrame:
    return build_cohort_list(
        _scores(),
        _typology(),
        _persons(),
        _custody(),
        previous if previous is not None else previous_panel(None, T),
        rule or TieringRule.model_validate({"method": "capacity", "red": 1, "amber": 2}),
        "7",
    )


def test_ranks_follow_risk_ties_by_pseudo_id_and_tiers_by_capacity() -> None:
    got = _build()
    assert list(got.columns[: len(COHORT_COLUMNS)]) == list(COHORT_COLUMNS)
    assert got["pseudo_id"].tolist() == ["Pc", "Pa", "Pb", "Pd", "Pe"]  # Pa before Pb: the tie
    assert got["rank"].tolist() == [1, 2, 3, 4, 5]
    assert got["suggested_tier"].astype("str").tolist() == ["red", "amber", "amber", "green", "green"]


def test_cutpoints_rule() -> None:
    got = _build(rule=TieringRule.model_validate({"method": "cutpoints", "red_cut": 0.8, "amber_cut": 0.5}))
    assert got["suggested_tier"].astype("str").tolist() == ["red", "amber", "amber", "green", "green"]


def test_joins_typology_sources_release() -> None:
    got = _build().set_index("pseudo_id")
    assert got.loc["Pa", "typology"] == "vulnerable"  # the panel date's row, not June's
    assert got.loc["Pd", "typology"] == "unassigned"  # no typology row at all
    assert got.loc["Pc", "sources_linked"] == "police;probation"
    assert got.loc["Pa", "release_due"] == pd.Timestamp("2026-11-20")  # from the scores
    assert got.loc["Pe", "release_due"] == pd.Timestamp("2026-12-01")  # from the open custody episode
    assert got["release_due"].notna().sum() == 2
    assert (got["model_version"] == "7").all()
    assert got.loc["Pe", "reasons_up"] == ""


def test_csv_exact_form() -> None:
    prev = pd.DataFrame(
        {
            "pseudo_id": ["Pc"],
            "panel_date": [pd.Timestamp("2026-07-31")],
            "suggested_tier": ["amber"],
            "decided_tier": ["amber"],
            "reason": [None],
        }
    )
    text = format_cohort_csv(_build(previous=prev))
    lines = text.splitlines()
    assert lines[0] == ",".join(COHORT_COLUMNS)
    assert (
        lines[1]
        == "Pc,2026-10-31,1,0.900000,0.800000,0.950000,red,older_prison,d,,,false,amber,up,police;probation,"
        "7,false,,,0.700000"
    )
    assert lines[2] == (
        "Pa,2026-10-31,2,0.500000,0.400000,0.600000,amber,vulnerable,c,,2026-11-20,true,,new,police;prison,7,"
        "false,,,0.900000"
    )
    back = pd.read_csv(io.StringIO(text), keep_default_na=False)
    assert back["new_to_list"].tolist() == [False, True, True, True, True]
    assert not {"sex", "ethnicity"} & set(back.columns)


def test_summary_counts() -> None:
    got = _build()
    s = summarise_cohort(got, _persons())
    assert s["tier_counts"] == {"red": 1, "amber": 2, "green": 2}
    assert s["n_release_due"] == 2
    assert s["coverage_by_agency"]["prison"] == {"n": 2, "share": 0.4}
    assert s["movement_counts"] == {"up": 0, "down": 0, "same": 0, "new": 5}
    assert s["typology_counts"]["unassigned"] == 2


def test_bad_risk_refused() -> None:
    scores = _scores().assign(risk_12m=[0.2, 1.5, 0.5, 0.9, np.nan])
    with pytest.raises(ValueError, match=r"outside 0\.\.1"):
        build_cohort_list(
            scores, None, _persons(), None, previous_panel(None, T), TieringRule.model_validate({}), "7"
        )


def test_borderline_when_the_interval_crosses_a_tier_boundary() -> None:
    from iom_panel.cohort import borderline, tier_boundaries

    frame = pd.DataFrame(
        {
            "risk_12m": [0.80, 0.711, 0.710, 0.60, 0.30],
            "risk_12m_low": [0.75, 0.667, 0.656, 0.50, 0.20],
            "risk_12m_high": [0.85, 0.747, 0.766, 0.65, 0.72],
            "suggested_tier": ["red", "red", "amber", "amber", "green"],
        }
    )
    rule = TieringRule.model_validate({"red": 2, "amber": 2})
    b = tier_boundaries(frame, rule)
    assert b == pytest.approx({"red": 0.7105, "amber": 0.45})
    # Rank 2 and 3 straddle the red boundary; the green's upper bound reaches above red.
    assert borderline(frame, b).tolist() == [False, True, True, False, True]
    cut = TieringRule.model_validate({"method": "cutpoints", "red_cut": 0.7, "amber_cut": 0.4})
    assert tier_boundaries(frame, cut) == {"red": 0.7, "amber": 0.4}


def test_previous_rank_and_risk_from_the_previous_published_list() -> None:
    prev = pd.DataFrame({"pseudo_id": ["Pc", "Pz"], "rank": [3, 1], "risk_12m": [0.61, 0.9]})
    got = build_cohort_list(
        _scores(),
        None,
        _persons(),
        None,
        previous_panel(None, T),
        TieringRule.model_validate({"red": 1, "amber": 2}),
        "7",
        previous_list=prev,
    ).set_index("pseudo_id")
    assert got.loc["Pc", "previous_rank"] == 3 and got.loc["Pc", "previous_risk_12m"] == 0.61
    assert pd.isna(got.loc["Pa", "previous_rank"]) and np.isnan(got.loc["Pa", "previous_risk_12m"])
    line = format_cohort_csv(got.reset_index()).splitlines()[1]
    assert line.endswith(",false,3,0.610000,")
