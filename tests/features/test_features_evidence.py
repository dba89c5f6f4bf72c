"""The evidence setting: with ``proven``, no model input counts an offence unproven at t.

An offence is proven at t when it was convicted or cautioned *and* its outcome is dated
on or before t (an offence proven later was not known to be proven at t).
"""

from __future__ import annotations

import pandas as pd
import pytest
from features_testkit import T, build, linked

from features import FeatureParams
from features.catalogue import EVIDENCE, evidence_columns, feature_specs
from iom_contract import PROVEN_OUTCOMES
from models.risk_params import TrainParams
from models.risk_train import model_matrix

PEOPLE = ["a", "b", "c"]


def _off(pid: str, date: str, group: str, outcome: str, outcome_date: str | None, gravity: int = 3) -> dict:
    return {
        "pseudo_id": pid,
        "offence_date": date,
        "offence_group": group,
        "outcome": outcome,
        "outcome_date": outcome_date,
        "gravity": gravity,
        "domestic_abuse": group == "violence_with_injury",
    }


# Only offences proven by t = 2024-03-31.
PROVEN = [
    _off("a", "2015-02-01", "theft", "convicted", "2015-04-01", 2),
    _off("a", "2023-11-02", "burglary", "convicted", "2024-02-20", 4),
    _off("b", "2022-06-10", "violence_with_injury", "caution", "2022-06-10", 5),
    _off("b", "2024-01-05", "drugs", "convicted", "2024-03-01", 3),
    _off("c", "2023-09-01", "criminal_damage", "convicted", "2023-12-01", 2),
]
# Planted: never proven, not yet decided, and proven only after t.
UNPROVEN = [
    _off("a", "2024-03-10", "robbery", "no_further_action", "2024-03-20", 6),
    _off("b", "2024-02-01", "theft", "pending", None, 3),
    _off("c", "2024-01-15", "violence_with_injury", "convicted", "2024-05-01", 6),
    _off("c", "2018-05-01", "drugs", "community_resolution", "2018-09-01", 4),
]

TRAIN = TrainParams(train_end="2022-06-30", valid_end="2023-06-30", calib_end="2024-06-30")


def _features(offences: list[dict]) -> pd.DataFrame:
    tables = linked(
        persons=[{"pseudo_id": p, "birth_month": "1990-06-01"} for p in PEOPLE], offences=offences
    )
    return build(tables).copy().set_index("pseudo_id").loc[PEOPLE]  # copy: one block


@pytest.fixture(scope="module")
def clean() -> pd.DataFrame:
    return _features(PROVEN)


@pytest.fixture(scope="module")
def planted() -> pd.DataFrame:
    return _features(PROVEN + UNPROVEN)


def _persons() -> pd.DataFrame:
    return pd.DataFrame({"pseudo_id": PEOPLE, "sex": ["M", "F", "M"], "ethnicity": ["White"] * 3})


def test_planted_offences_are_unproven_at_t() -> None:
    for o in UNPROVEN:
        proven = o["outcome"] in PROVEN_OUTCOMES and o["outcome_date"] is not None
        assert not (proven and pd.Timestamp(o["outcome_date"]) <= T)


def test_a_planted_unproven_offence_moves_no_proven_feature(
    clean: pd.DataFrame, planted: pd.DataFrame
) -> None:
    proven_cols = evidence_columns(clean.columns, "proven")
    assert len(proven_cols) > 100
    pd.testing.assert_frame_equal(planted[proven_cols], clean[proven_cols])
    # ... while the recorded features do move (the test can fail).
    recorded = [c for c in evidence_columns(clean.columns, "recorded") if c not in proven_cols]
    moved = [c for c in recorded if not planted[c].equals(clean[c])]
    assert {"n_recorded_offences_all", "n_outstanding_offences", "days_since_last_offence"} <= set(moved)


def test_proven_model_inputs_ignore_unproven_offences(clean: pd.DataFrame, planted: pd.DataFrame) -> None:
    a = model_matrix(clean.reset_index(), _persons(), TRAIN, "proven")
    b = model_matrix(planted.reset_index(), _persons(), TRAIN, "proven")
    pd.testing.assert_frame_equal(a, b)
    recorded = {s.name for s in feature_specs() if s.evidence == "recorded"}
    assert not recorded & set(a.columns)
    assert recorded <= set(model_matrix(clean.reset_index(), _persons(), TRAIN, "recorded").columns)


def test_without_unproven_offences_the_setting_changes_no_feature(clean: pd.DataFrame) -> None:
    """All offences proven by t: every recorded count equals its proven twin."""
    for w in ("3m", "12m", "36m", "all"):
        assert clean[f"n_recorded_offences_{w}"].equals(clean[f"n_proven_offences_{w}"])
    assert clean["n_domestic_abuse_recorded_all"].equals(clean["n_domestic_abuse_proven_all"])
    assert (clean["n_outstanding_offences"] == 0).all()
    assert clean["days_since_last_offence"].equals(clean["days_since_last_proven_offence"])
    assert clean["career_years"].equals(clean["proven_career_years"])
    a = model_matrix(clean.reset_index(), _persons(), TRAIN, "proven")
    b = model_matrix(clean.reset_index(), _persons(), TRAIN, "recorded")
    pd.testing.assert_frame_equal(a, b[a.columns])


def test_new_proven_features_known_answers(clean: pd.DataFrame) -> None:
    a, b = clean.loc["a"], clean.loc["b"]
    assert a["n_proven_offence_groups_all"] == 2 and b["n_proven_offence_groups_all"] == 2
    # By outcome date: a's burglary (offence 2023-11-02) was convicted on 2024-02-20.
    assert a["n_sanctions_3m"] == 1 and a["n_proven_offences_3m"] == 0
    assert a["days_since_last_sanction"] == (T - pd.Timestamp("2024-02-20")).days
    assert b["days_since_last_sanction"] == (T - pd.Timestamp("2024-03-01")).days
    assert a["proven_career_years"] == pytest.approx((T - pd.Timestamp("2015-02-01")).days / 365.25)


def test_evidence_is_declared_once_and_validated() -> None:
    assert FeatureParams().evidence == "proven"
    assert set(EVIDENCE) == {"proven", "recorded"}
    with pytest.raises(ValueError, match="evidence"):
        FeatureParams(evidence="arrests")
    with pytest.raises(ValueError, match="unknown evidence"):
        evidence_columns(["age"], "arrests")  # type: ignore[arg-type]


def test_every_recorded_count_is_declared_recorded() -> None:
    """A guard on the declaration: any feature named for recorded offences is ``recorded``."""
    for spec in feature_specs():
        if "recorded" in spec.name or "recorded" in spec.label:
            assert spec.evidence == "recorded", spec.name
    assert {s.name for s in feature_specs() if s.evidence == "recorded"} >= {
        "n_outstanding_offences",
        "days_since_last_offence",
        "career_years",
    }
