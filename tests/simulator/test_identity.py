"""Tests for simulator.identity and simulator.names: true identities, recording noise, distractors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from iom_config import ParamsError, parse_params
from simulator import names
from simulator.identity import (
    NOISE_BY_AGENCY,
    NOISE_KINDS,
    IdentityNoise,
    _record_identity_with_flags,
    draw_distractors,
    draw_true_identity,
    record_identity,
    typo,
)

N = 20_000
ALL_MALE = {n for pool in names.MALE_FORENAMES.values() for n in pool}
ALL_FEMALE = {n for pool in names.FEMALE_FORENAMES.values() for n in pool}
ALL_SURNAMES = {n for pool in names.SURNAMES.values() for n in pool}
DISTRICTS = set(names.POSTCODE_DISTRICTS[names.DEFAULT_AREA])


def _persons(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "person_id": np.arange(10, 10 + n, dtype=np.int64),
            "sex": pd.array(rng.choice(["M", "F"], n), dtype="str"),
            "date_of_birth": (
                np.datetime64("1960-01-01") + rng.integers(0, 15000, n) * np.timedelta64(1, "D")
            ).astype("datetime64[ms]"),
            "ethnicity": pd.array(
                rng.choice(
                    ["White", "Asian", "Black", "Mixed", "Other", "Not stated"],
                    n,
                    p=[0.8, 0.08, 0.05, 0.03, 0.02, 0.02],
                ),
                dtype="str",
            ),
        }
    )


def _truth(n: int = N, seed: int = 0) -> pd.DataFrame:
    persons = _persons(n, seed)
    drawn = draw_true_identity(persons, np.random.default_rng(seed + 100))
    return persons.merge(drawn, on="person_id", validate="1:1")


@pytest.fixture(scope="module")
def truth() -> pd.DataFrame:
    return _truth()


def damerau_one(a: str, b: str) -> bool:
    """True when b is a one-edit (substitute, delete, insert, swap adjacent) change of a."""
    if a == b:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        return (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        )
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    if len(long_) - len(short) != 1:
        return False
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


# ---------------------------------------------------------------------------------------
# names
# ---------------------------------------------------------------------------------------


def test_embedded_lists_have_the_promised_sizes():
    assert len(ALL_MALE) >= 150
    assert len(ALL_FEMALE) >= 150
    assert len(ALL_SURNAMES) >= 400
    assert len(names.NICKNAMES) >= 60
    assert {f"ST{i}" for i in range(1, 22)} <= DISTRICTS
    # Every nickname key is a forename someone can be given.
    assert set(names.NICKNAMES) <= ALL_MALE | ALL_FEMALE
    for pools in (names.MALE_FORENAMES, names.FEMALE_FORENAMES, names.SURNAMES):
        for pool in pools.values():
            assert len(set(pool)) == len(pool)


def test_pool_weights_are_zipf_and_normalised():
    w = names.pool_weights(("a", "b", "c", "d"), exponent=1.0)
    assert w.sum() == pytest.approx(1.0)
    assert w[0] / w[1] == pytest.approx(2.0)
    assert w[0] / w[3] == pytest.approx(4.0)


def test_unknown_area_falls_back_to_north_staffordshire():
    districts, p = names.postcode_districts("Somewhere Else")
    assert set(districts) == DISTRICTS
    assert p.sum() == pytest.approx(1.0)


# ---------------------------------------------------------------------------------------
# true identities
# ---------------------------------------------------------------------------------------


def test_true_identity_shape_and_values(truth):
    assert list(truth.columns[-3:]) == ["forename", "surname", "postcode_district"]
    assert truth["forename"].notna().all() and truth["surname"].notna().all()
    men = truth["sex"] == "M"
    assert truth.loc[men, "forename"].isin(ALL_MALE).all()
    assert truth.loc[~men, "forename"].isin(ALL_FEMALE).all()
    assert truth["surname"].isin(ALL_SURNAMES).all()
    assert truth["postcode_district"].isin(DISTRICTS).all()
    # Frequencies look like a population: Smith common but not dominant.
    smith = (truth["surname"] == "Smith").mean()
    assert 0.01 < smith < 0.06
    assert truth["surname"].nunique() > 300


def test_names_follow_recorded_ethnicity(truth):
    south_asian = set(names.SURNAMES["south_asian"])
    asian = truth["ethnicity"] == "Asian"
    white = truth["ethnicity"] == "White"
    assert truth.loc[asian, "surname"].isin(south_asian).mean() > 0.6
    assert truth.loc[white, "surname"].isin(south_asian).mean() < 0.05


def test_true_identity_is_deterministic():
    a = draw_true_identity(_persons(50), np.random.default_rng(1))
    b = draw_true_identity(_persons(50), np.random.default_rng(1))
    pd.testing.assert_frame_equal(a, b)


# ---------------------------------------------------------------------------------------
# recorded identities
# ---------------------------------------------------------------------------------------


def _near(observed: float, p: float, n: int) -> bool:
    """Within 4.5 binomial standard errors (plus a hair for p = 0)."""
    return abs(observed - p) <= 4.5 * np.sqrt(max(p * (1 - p), 1e-9) / max(n, 1)) + 1e-9


@pytest.mark.parametrize("agency", ["police", "probation", "health", "housing"])
def test_noise_rates_land_near_their_parameters(truth, agency):
    noise = IdentityNoise(
        typo=0.05,
        nickname=0.2,
        day_month_swap=0.1,
        missing_dob=0.04,
        maiden_name=0.15,
        missing_name=0.03,
        sex_mismatch=0.02,
        ethnicity_mismatch=0.06,
        postcode_moved=0.1,
        missing_postcode=0.05,
    )
    _, flags = _record_identity_with_flags(truth, agency, noise, np.random.default_rng(5))
    dob = truth["date_of_birth"].dt
    eligible = {
        "nickname": truth["forename"].isin(list(names.NICKNAMES)).to_numpy(),
        "maiden_name": (truth["sex"] == "F").to_numpy(),
        "day_month_swap": ((dob.day <= 12) & (dob.day != dob.month)).to_numpy(),
    }
    for kind in NOISE_KINDS:
        mask = eligible.get(kind, np.ones(len(truth), dtype=bool))
        observed = flags.loc[mask, kind].mean()
        expected = getattr(noise, kind) if kind in NOISE_BY_AGENCY[agency] else 0.0
        if kind == "ethnicity_mismatch" and "ethnicity" not in truth:
            expected = 0.0
        assert _near(observed, expected, int(mask.sum())), (agency, kind, observed, expected)
        # Kinds never apply outside their eligible people.
        assert not flags.loc[~mask, kind].any(), (agency, kind)


def test_each_noise_kind_does_what_it_says(truth):
    noise = IdentityNoise(
        typo=0.1,
        nickname=0.3,
        day_month_swap=0.3,
        missing_dob=0.05,
        maiden_name=0.3,
        missing_name=0.05,
        sex_mismatch=0.1,
        postcode_moved=0.2,
        missing_postcode=0.05,
    )
    rec, flags = _record_identity_with_flags(truth, "health", noise, np.random.default_rng(6))
    t = truth
    untouched = ~flags.any(axis=1)
    for col in ("forename", "surname", "date_of_birth", "sex", "postcode_district"):
        assert (rec.loc[untouched, col] == t.loc[untouched, col]).all(), col

    only = lambda kind: flags[kind] & (flags.sum(axis=1) == 1)  # noqa: E731
    nick = only("nickname")
    assert nick.sum() > 100
    assert all(
        r in names.NICKNAMES[f]
        for f, r in zip(t.loc[nick, "forename"], rec.loc[nick, "forename"], strict=True)
    )

    maiden = only("maiden_name")
    assert maiden.sum() > 100
    assert (rec.loc[maiden, "surname"] != t.loc[maiden, "surname"]).all()
    assert rec.loc[maiden, "surname"].isin(ALL_SURNAMES).all()

    ty = only("typo")
    assert ty.sum() > 100
    for cols in zip(
        t.loc[ty, "forename"],
        rec.loc[ty, "forename"],
        t.loc[ty, "surname"],
        rec.loc[ty, "surname"],
        strict=True,
    ):
        tf, rf, ts, rs = cols
        assert (damerau_one(tf, rf) and ts == rs) or (damerau_one(ts, rs) and tf == rf), cols

    swap = only("day_month_swap")
    assert swap.sum() > 100
    td, rd = t.loc[swap, "date_of_birth"].dt, rec.loc[swap, "date_of_birth"].dt
    assert ((rd.day == td.month) & (rd.month == td.day) & (rd.year == td.year)).all()

    assert rec.loc[only("missing_dob"), "date_of_birth"].isna().all()
    missing_name = only("missing_name")
    assert (rec.loc[missing_name, ["forename", "surname"]].isna().sum(axis=1) >= 1).all()
    assert (rec.loc[only("sex_mismatch"), "sex"] != t.loc[only("sex_mismatch"), "sex"]).all()
    moved = only("postcode_moved")
    assert (rec.loc[moved, "postcode_district"] != t.loc[moved, "postcode_district"]).all()
    assert rec.loc[moved, "postcode_district"].isin(DISTRICTS).all()
    assert rec.loc[only("missing_postcode"), "postcode_district"].isna().all()


def test_a_womans_other_surname_is_the_same_in_every_agency(truth):
    noise = IdentityNoise(maiden_name=1.0, typo=0.0, missing_name=0.0)
    women = truth[truth["sex"] == "F"].reset_index(drop=True)
    police = record_identity(women, "police", noise, np.random.default_rng(1))
    health = record_identity(women, "health", noise, np.random.default_rng(2))
    assert (police["surname"] != women["surname"]).all()
    assert (police["surname"] == health["surname"]).all()


def test_required_details_are_never_blanked_for_police_and_probation(truth):
    noise = IdentityNoise(missing_dob=1.0, missing_name=1.0, missing_postcode=0.0)
    for agency in ("police", "probation"):
        rec = record_identity(truth, agency, noise, np.random.default_rng(3))
        assert rec[["forename", "surname", "date_of_birth", "sex"]].notna().all().all(), agency
    health = record_identity(truth, "health", noise, np.random.default_rng(3))
    assert health["date_of_birth"].isna().all()


def test_record_identity_keeps_one_row_per_person_in_order(truth):
    rec = record_identity(truth, "probation", IdentityNoise(), np.random.default_rng(0))
    assert (rec["person_id"].to_numpy() == truth["person_id"].to_numpy()).all()
    assert list(rec.columns) == [
        "person_id",
        "forename",
        "surname",
        "date_of_birth",
        "sex",
        "ethnicity",
        "postcode_district",
    ]
    assert str(rec["date_of_birth"].dtype) == "datetime64[ms]"


def test_police_ethnicity_is_the_reference_probation_may_differ(truth):
    noise = IdentityNoise(ethnicity_mismatch=0.5)
    police = record_identity(truth, "police", noise, np.random.default_rng(0))
    probation = record_identity(truth, "probation", noise, np.random.default_rng(0))
    assert (police["ethnicity"] == truth["ethnicity"]).all()
    changed = probation["ethnicity"] != truth["ethnicity"]
    assert 0.4 < changed.mean() < 0.5  # "Not stated" kept as "Not stated" some of the time
    assert probation["ethnicity"].isin(["Asian", "Black", "Mixed", "White", "Other", "Not stated"]).all()


def test_prison_holds_no_personal_details(truth):
    with pytest.raises(ValueError, match="prison"):
        record_identity(truth.head(3), "prison", IdentityNoise(), np.random.default_rng(0))


def test_record_identity_does_not_mutate_its_input():
    t = _truth(200)
    before = t.copy()
    record_identity(t, "health", IdentityNoise(typo=1.0, missing_name=1.0), np.random.default_rng(0))
    pd.testing.assert_frame_equal(t, before)


def test_typo_changes_exactly_one_thing_and_keeps_the_initial():
    rng = np.random.default_rng(0)
    values = np.array(["Smith", "Bell", "Al", "O'Brien", "McDonald", "Lee", "Anna", "J"] * 200, dtype=object)
    out = typo(values, rng)
    for a, b in zip(values, out, strict=True):
        assert damerau_one(a, b), (a, b)
        if len(a) > 1:
            assert a[0] == b[0], (a, b)


def test_identity_noise_validates_its_fields():
    with pytest.raises(ParamsError, match="typo"):
        parse_params({"typo": 1.5}, IdentityNoise)
    with pytest.raises(ParamsError, match="typos"):
        parse_params({"typos": 0.1}, IdentityNoise)
    assert parse_params({"typo": 0.1}, IdentityNoise).typo == 0.1


# ---------------------------------------------------------------------------------------
# distractors
# ---------------------------------------------------------------------------------------


def test_distractors_include_lookalike_relatives(truth):
    out = draw_distractors(
        2000, np.random.default_rng(4), 0.4, relatives_of=truth, latest_dob=pd.Timestamp("1998-01-01")
    )
    unbounded = draw_distractors(2000, np.random.default_rng(4), 0.4, relatives_of=truth)
    assert len(unbounded) == 2000
    assert unbounded["person_id"].min() == truth["person_id"].max() + 1
    assert unbounded["person_id"].is_unique
    # The bound leaves the too-young out and changes nobody else.
    young = unbounded["date_of_birth"] > pd.Timestamp("1998-01-01")
    assert 0 < young.sum() < 600
    pd.testing.assert_frame_equal(out, unbounded[~young].reset_index(drop=True))
    look = unbounded[unbounded["lookalike_of"].notna()]
    assert _near(len(look) / 2000, 0.4, 2000)
    rel = truth.set_index("person_id").loc[look["lookalike_of"].astype("int64")]
    assert (look["surname"].to_numpy() == rel["surname"].to_numpy()).all()
    assert (look["postcode_district"].to_numpy() == rel["postcode_district"].to_numpy()).all()
    assert (look["forename"].to_numpy() != rel["forename"].to_numpy()).all()
    gap_years = np.abs(
        (look["date_of_birth"].to_numpy() - rel["date_of_birth"].to_numpy()) / np.timedelta64(365, "D")
    )
    assert (gap_years <= 6.5).all()
    assert 0.05 < (gap_years == 0).mean() < 0.16  # twins
    others = unbounded[unbounded["lookalike_of"].isna()]
    assert others["forename"].notna().all() and others["surname"].isin(ALL_SURNAMES).all()


def test_distractors_without_relatives():
    empty = _truth(0)
    out = draw_distractors(5, np.random.default_rng(0), 0.5, relatives_of=empty)
    assert len(out) == 5 and out["lookalike_of"].isna().all()
    with pytest.raises(ValueError, match="lookalike_share"):
        draw_distractors(5, np.random.default_rng(0), 1.5, relatives_of=empty)


# ---------------------------------------------------------------------------------------
# stability: a person's draws do not depend on who else is there
# ---------------------------------------------------------------------------------------


def test_true_and_recorded_identities_are_keyed_by_person(truth):
    some = truth.sample(500, random_state=1).reset_index(drop=True)
    persons = some[["person_id", "sex", "date_of_birth", "ethnicity"]]
    full = draw_true_identity(
        truth[["person_id", "sex", "date_of_birth", "ethnicity"]], np.random.default_rng(8)
    )
    part = draw_true_identity(persons, np.random.default_rng(8))
    pd.testing.assert_frame_equal(part, full.set_index("person_id").loc[some["person_id"]].reset_index())

    noise = IdentityNoise(typo=0.3, nickname=0.3, missing_name=0.2, postcode_moved=0.3)
    rec_full = record_identity(truth, "health", noise, np.random.default_rng(9))
    rec_part = record_identity(some, "health", noise, np.random.default_rng(9))
    pd.testing.assert_frame_equal(
        rec_part, rec_full.set_index("person_id").loc[some["person_id"]].reset_index()
    )
    # A different agency (same seed) makes different errors.
    other = record_identity(truth, "housing", noise, np.random.default_rng(9))
    assert (other["forename"].fillna("") != rec_full["forename"].fillna("")).mean() > 0.1


def test_more_distractors_keep_the_earlier_ones(truth):
    few = draw_distractors(50, np.random.default_rng(2), 0.5, relatives_of=truth)
    many = draw_distractors(200, np.random.default_rng(2), 0.5, relatives_of=truth)
    pd.testing.assert_frame_equal(few, many.iloc[:50])
