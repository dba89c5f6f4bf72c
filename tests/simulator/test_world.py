"""Properties of the simulated world (before identities and files)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simulator.censor import censor_world
from simulator.generate import generate_world, world_months
from simulator.params import SimulateParams
from simulator.summary import cohort_label_rates
from simulator.world import World

N = 4000


@pytest.fixture(scope="module")
def params() -> SimulateParams:
    return SimulateParams(nominals=N, seed=7)


@pytest.fixture(scope="module")
def raw(params: SimulateParams):
    return generate_world(params, show_progress=False)


@pytest.fixture(scope="module")
def world(raw, params: SimulateParams) -> World:
    return censor_world(raw, pd.Timestamp(params.extract_date))


def test_typology_proportions_match_params(world: World, params: SimulateParams) -> None:
    shares = world.persons["typology"].value_counts(normalize=True)
    for name, share in params.typology_shares.items():
        se = np.sqrt(share * (1 - share) / N)
        assert abs(shares.get(name, 0.0) - share) < 4 * se, name


def test_nothing_dated_after_the_extract_except_planned_dates(world: World) -> None:
    e = world.extract_date
    checks = {
        "offences": ["offence_date", "outcome_date"],
        "custody": ["reception_date", "release_date"],
        "orders": ["start_date"],
        "assessments": ["assessment_date"],
        "contacts": ["contact_date"],
        "health": ["referral_date", "discharge_date"],
        "housing": ["event_date"],
    }
    for table, cols in checks.items():
        df = getattr(world, table)
        for c in cols:
            assert (df[c].dropna() <= e).all(), f"{table}.{c}"
    assert (world.custody["expected_release_date"].dropna() > e).all()


def test_no_community_offending_while_in_custody(world: World) -> None:
    off = world.offences[["person_id", "offence_date"]]
    cus = world.custody.assign(
        release=world.custody["release_date"].fillna(world.custody["expected_release_date"])
    )
    m = off.merge(cus, on="person_id")
    inside = (m["offence_date"] >= m["reception_date"]) & (m["offence_date"] < m["release"])
    assert not inside.any(), m[inside].head()


def test_outcomes_follow_offences_and_pending_has_no_date(world: World) -> None:
    off = world.offences
    assert (off["outcome_date"].dropna() >= off.loc[off["outcome_date"].notna(), "offence_date"]).all()
    assert off.loc[off["outcome"] == "pending", "outcome_date"].isna().all()
    assert off.loc[off["outcome"] != "pending", "outcome_date"].notna().all()
    proven = off["outcome"].isin(["convicted", "caution"]).mean()
    assert 0.25 < proven < 0.5, "most recorded offences are not proven"


def test_label_rate_agrees_with_oracle_within_sampling_error(world: World) -> None:
    rates = cohort_label_rates(world)
    assert (rates["oracle_missing"] == 0).all(), "the oracle must cover the whole contract cohort"
    labelled = rates[rates["n"] > 200]
    n = labelled["n"].sum()
    observed = (labelled["label_rate"] * labelled["n"]).sum() / n
    expected = (labelled["oracle_mean"] * labelled["n"]).sum() / n
    # Rows of the same person on different dates are correlated: inflate the binomial
    # error by the number of dates a person appears in (at most the number of dates).
    se = np.sqrt(expected * (1 - expected) / n) * np.sqrt(len(labelled))
    assert abs(observed - expected) < 3 * se
    assert 0.22 < observed < 0.40


def test_same_seed_same_world(params: SimulateParams, raw) -> None:
    again = generate_world(params, show_progress=False)
    pd.testing.assert_frame_equal(raw.offences, again.offences)
    pd.testing.assert_frame_equal(raw.oracle, again.oracle)


def test_a_later_extract_continues_the_same_world(params: SimulateParams, world: World) -> None:
    first, last = world_months(params)
    later = params.model_copy(
        update={
            "extract_date": pd.Timestamp("2027-01-31").date(),
            "world_first_month": first.date(),
            "world_last_month": last.date(),
        }
    )
    w2 = censor_world(generate_world(later, show_progress=False), pd.Timestamp(later.extract_date))
    e = world.extract_date
    a = world.offences[["person_id", "offence_date", "offence_group", "gravity"]]
    b = w2.offences.loc[
        w2.offences["offence_date"] <= e, ["person_id", "offence_date", "offence_group", "gravity"]
    ]
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))
    assert len(w2.offences) > len(world.offences)
    # Cases pending at the first extract may be decided by the second.
    decided = w2.offences.loc[w2.offences["offence_date"] <= e, "outcome"].ne("pending").sum()
    assert decided >= world.offences["outcome"].ne("pending").sum()
