"""Tests for simulator.assemble: contract shape, identifiers, one identity per agency id, truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from iom_contract import (
    CONTACT_OUTCOMES,
    CRN_PATTERN,
    DISCHARGE_REASONS,
    HEALTH_SERVICES,
    HOUSING_EVENTS,
    NEEDS,
    NOMS_PATTERN,
    OFFENCE_GROUPS,
    ORDER_TYPES,
    OUTCOMES,
    PNC_PATTERN,
    RELEASE_TYPES,
    REQUIRED_TABLES,
    table,
)
from simulator.assemble import TRUTH_PERSON_COLUMNS, assemble_extract, contract_frame
from simulator.identity import IdentityNoise
from simulator.world import World

EXTRACT_DATE = pd.Timestamp("2024-10-31")
DAY = np.timedelta64(1, "D")


def _dates(values: np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype="datetime64[ms]")


def _per_person(rng: np.random.Generator, person_ids: np.ndarray, share: float, max_rows: int) -> np.ndarray:
    """person_id repeated 1..max_rows times for a ``share`` of people."""
    chosen = person_ids[rng.random(len(person_ids)) < share]
    return np.repeat(chosen, rng.integers(1, max_rows + 1, size=len(chosen)))


def make_world(n: int = 60, seed: int = 0, extract_date: pd.Timestamp = EXTRACT_DATE) -> World:
    """A small, contract-clean world built directly with numpy (no dynamics)."""
    rng = np.random.default_rng(seed)
    ext = np.datetime64(extract_date, "ms")
    # Non-contiguous ids catch code that assumes person_id == row position.
    pid = 1000 + 7 * np.arange(n, dtype=np.int64)
    dob = _dates(np.datetime64("1960-01-01") + rng.integers(0, 40 * 365, n) * DAY)
    persons = pd.DataFrame(
        {
            "person_id": pid,
            "date_of_birth": dob,
            "sex": pd.array(rng.choice(["M", "F"], n, p=[0.8, 0.2]), dtype="str"),
            "ethnicity": pd.array(
                rng.choice(["White", "Asian", "Black", "Mixed", "Other", "Not stated"], n), dtype="str"
            ),
            "typology": pd.array(rng.choice(["versatile", "acquisitive", "violent"], n), dtype="str"),
            "frailty": rng.gamma(2.0, 0.5, n),
            "recording_bias": rng.random(n) < 0.2,
        }
    )
    dob_of = pd.Series(dob, index=pid)

    def after_16(p: np.ndarray) -> np.ndarray:
        start = dob_of.loc[p].to_numpy() + 16 * 365 * DAY
        span = ((ext - start) / DAY).astype(np.int64)
        return _dates(start + np.floor(rng.random(len(p)) * span).astype(np.int64) * DAY)

    p = _per_person(rng, pid, 1.0, 4)
    off_date = after_16(p)
    outcome = rng.choice(OUTCOMES, len(p))
    out_date = _dates(np.minimum(off_date + rng.integers(0, 200, len(p)) * DAY, ext))
    out_date[outcome == "pending"] = np.datetime64("NaT")
    offences = pd.DataFrame(
        {
            "person_id": p,
            "offence_date": off_date,
            "offence_group": rng.choice(OFFENCE_GROUPS, len(p)),
            "domestic_abuse": rng.random(len(p)) < 0.2,
            "gravity": rng.integers(1, 7, len(p)),
            "outcome": outcome,
            "outcome_date": out_date,
        }
    )

    p = _per_person(rng, pid, 0.4, 2)
    reception = after_16(p)
    released = rng.random(len(p)) < 0.8
    release = _dates(np.minimum(reception + rng.integers(0, 400, len(p)) * DAY, ext))
    release[~released] = np.datetime64("NaT")
    expected = _dates(reception + rng.integers(30, 900, len(p)) * DAY)
    expected[released] = np.datetime64("NaT")
    release_type = pd.Series(rng.choice(RELEASE_TYPES, len(p))).where(released)
    custody = pd.DataFrame(
        {
            "person_id": p,
            "reception_date": reception,
            "release_date": release,
            "expected_release_date": expected,
            "release_type": pd.array(release_type, dtype="str"),
        }
    )

    p = _per_person(rng, pid, 0.5, 2)
    start = after_16(p)
    orders = pd.DataFrame(
        {
            "person_id": p,
            "order_type": rng.choice(ORDER_TYPES, len(p)),
            "start_date": start,
            "end_date": _dates(start + rng.integers(30, 1000, len(p)) * DAY),
            "breached": rng.random(len(p)) < 0.3,
        }
    )
    with_order = np.unique(p)
    p = _per_person(rng, with_order, 0.8, 2)
    assessments = pd.DataFrame({"person_id": p, "assessment_date": after_16(p)})
    for need in NEEDS:
        scores = pd.array(rng.integers(0, 3, len(p)), dtype="Int64")
        scores[rng.random(len(p)) < 0.1] = pd.NA
        assessments[need] = scores
    p = _per_person(rng, with_order, 0.9, 4)
    contacts = pd.DataFrame(
        {"person_id": p, "contact_date": after_16(p), "outcome": rng.choice(CONTACT_OUTCOMES, len(p))}
    )

    p = _per_person(rng, pid, 0.4, 3)
    referral = after_16(p)
    discharged = rng.random(len(p)) < 0.7
    discharge = _dates(np.minimum(referral + rng.integers(0, 300, len(p)) * DAY, ext))
    discharge[~discharged] = np.datetime64("NaT")
    health = pd.DataFrame(
        {
            "person_id": p,
            "service": rng.choice(HEALTH_SERVICES, len(p)),
            "referral_date": referral,
            "discharge_date": discharge,
            "discharge_reason": pd.Series(rng.choice(DISCHARGE_REASONS, len(p)), dtype="str").where(
                discharged
            ),
        }
    )
    p = _per_person(rng, pid, 0.3, 2)
    housing = pd.DataFrame(
        {"person_id": p, "event_date": after_16(p), "event_type": rng.choice(HOUSING_EVENTS, len(p))}
    )
    oracle = pd.DataFrame(
        {
            "person_id": pd.Series([], dtype="int64"),
            "as_of_date": np.array([], dtype="datetime64[ms]"),
            "p_true": pd.Series([], dtype=float),
        }
    )
    return World(
        persons=persons,
        offences=offences,
        custody=custody,
        orders=orders,
        assessments=assessments,
        contacts=contacts,
        health=health,
        housing=housing,
        oracle=oracle,
        extract_date=extract_date,
    )


def assemble(n: int = 60, seed: int = 0, n_distractors: int = 20, noise: IdentityNoise | None = None):
    world = make_world(n, seed)
    return world, *assemble_extract(
        world, noise or IdentityNoise(), np.random.default_rng(seed + 1), "North Staffordshire", n_distractors
    )


@pytest.fixture(scope="module")
def assembled():
    return assemble(n=300, seed=3, n_distractors=100)


def test_tables_have_contract_columns_in_order_and_types(assembled):
    _, tables, _ = assembled
    assert set(tables) == set(REQUIRED_TABLES)
    for name, df in tables.items():
        tbl = table(name)
        assert tuple(df.columns) == tbl.column_names, name
        for col in tbl.columns:
            dtype = str(df[col.name].dtype)
            expected = {
                "date": {"datetime64[ms]"},
                "int": {"Int64" if col.nullable else "int64"},
                "bool": {"boolean" if col.nullable else "bool"},
                "str": {"str"},
                "cat": {"str"},
            }[col.kind]
            assert dtype in expected, (name, col.name, dtype)
            if not col.nullable:
                assert df[col.name].notna().all(), (name, col.name)
            if col.values is not None:
                assert df[col.name].dropna().isin(col.values).all(), (name, col.name)


def test_identifier_formats_and_uniqueness(assembled):
    _, tables, _ = assembled
    nominals = tables["police_nominals"]
    assert nominals["pnc_id"].str.fullmatch(PNC_PATTERN[1:-1]).all()
    assert nominals["pnc_id"].is_unique
    assert tables["police_offences"]["offence_id"].is_unique
    assert tables["custody_episodes"]["noms_id"].str.fullmatch(NOMS_PATTERN[1:-1]).all()
    for name in ("custody_episodes", "probation_orders"):
        assert tables[name]["pnc_id"].dropna().str.fullmatch(PNC_PATTERN[1:-1]).all()
    for name in ("probation_orders", "probation_assessments", "probation_contacts"):
        assert tables[name]["crn"].str.fullmatch(CRN_PATTERN[1:-1]).all()


def test_foreign_keys_hold(assembled):
    _, tables, _ = assembled
    assert tables["police_offences"]["pnc_id"].isin(tables["police_nominals"]["pnc_id"]).all()
    for name in ("probation_assessments", "probation_contacts"):
        assert tables[name]["crn"].isin(tables["probation_orders"]["crn"]).all()
    # PNC IDs on prison and probation rows, where present, are real nominals.
    for name in ("custody_episodes", "probation_orders"):
        assert tables[name]["pnc_id"].dropna().isin(tables["police_nominals"]["pnc_id"]).all()


def test_every_row_of_an_agency_id_carries_the_same_identity(assembled):
    _, tables, _ = assembled
    cases = {
        "probation_orders": ("crn", ["forename", "surname", "date_of_birth", "sex", "ethnicity"]),
        "health_episodes": (
            "health_id",
            ["forename", "surname", "date_of_birth", "sex", "postcode_district"],
        ),
        "housing_events": ("council_id", ["forename", "surname", "date_of_birth", "postcode_district"]),
    }
    for name, (key, cols) in cases.items():
        df = tables[name]
        assert df[key].duplicated().any(), f"{name} needs repeated ids for this test to mean anything"
        distinct = df[[key, *cols]].astype("str").drop_duplicates()
        assert distinct[key].is_unique, name


def test_truth_maps_every_source_id_to_one_person(assembled):
    world, tables, truth = assembled
    identities = truth["identities"]
    assert list(identities.columns) == ["person_id", "source", "source_id"]
    assert not identities.duplicated(["source", "source_id"]).any()
    assert not identities.duplicated(["source", "person_id"]).any()
    sources = {
        "police": ("police_nominals", "pnc_id"),
        "prison": ("custody_episodes", "noms_id"),
        "probation": ("probation_orders", "crn"),
        "health": ("health_episodes", "health_id"),
        "housing": ("housing_events", "council_id"),
    }
    for source, (name, col) in sources.items():
        ids = identities.loc[identities["source"] == source, "source_id"]
        assert set(ids) == set(tables[name][col]), source
    # Police know every world person and nobody else.
    police = identities.loc[identities["source"] == "police", "person_id"]
    assert set(police) == set(world.persons["person_id"])


def test_rows_carry_the_right_persons_events(assembled):
    world, tables, truth = assembled
    ids = truth["identities"]
    pnc_to_person = ids[ids["source"] == "police"].set_index("source_id")["person_id"]
    offences = tables["police_offences"]
    got = (
        pd.DataFrame(
            {"person_id": offences["pnc_id"].map(pnc_to_person), "offence_date": offences["offence_date"]}
        )
        .sort_values(["person_id", "offence_date"])
        .reset_index(drop=True)
    )
    want = (
        world.offences[["person_id", "offence_date"]]
        .astype({"offence_date": "datetime64[ms]"})
        .sort_values(["person_id", "offence_date"])
        .reset_index(drop=True)
    )
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    # Probation's recorded date of birth is the truth up to a day/month swap.
    crn_to_person = ids[ids["source"] == "probation"].set_index("source_id")["person_id"]
    orders = tables["probation_orders"]
    true_dob = orders["crn"].map(crn_to_person).map(truth["persons"].set_index("person_id")["date_of_birth"])
    rec = orders["date_of_birth"]
    same_or_swapped = (rec == true_dob) | (
        (rec.dt.day == true_dob.dt.month) & (rec.dt.month == true_dob.dt.day)
    )
    assert same_or_swapped.all()


def test_distractors_are_only_in_health_and_housing(assembled):
    _, _, truth = assembled
    persons = truth["persons"]
    assert list(persons.columns) == list(TRUTH_PERSON_COLUMNS)
    distractor_ids = set(persons.loc[persons["is_distractor"], "person_id"])
    assert len(distractor_ids) == 100
    ids = truth["identities"]
    in_sources = ids[ids["person_id"].isin(distractor_ids)]
    assert set(in_sources["source"]) <= {"health", "housing"}
    assert in_sources["person_id"].nunique() > 80  # most keep at least one donor row
    assert persons.loc[persons["is_distractor"], "typology"].isna().all()
    # Distractor dates of birth respect the minimum age.
    assert (persons["date_of_birth"] <= EXTRACT_DATE - pd.DateOffset(years=16)).all()


def test_pnc_missing_rate_on_prison_and_probation_rows():
    _, tables, _ = assemble(n=3000, seed=5, n_distractors=0, noise=IdentityNoise(pnc_missing=0.2))
    for name in ("custody_episodes", "probation_orders"):
        share = tables[name]["pnc_id"].isna().mean()
        assert 0.16 < share < 0.24, (name, share)
    assert tables["police_offences"]["pnc_id"].notna().all()


def test_clean_tables_respect_the_contracts_row_rules(assembled):
    _, tables, _ = assembled
    min_dob = pd.Timestamp("1900-01-01")
    max_dob = EXTRACT_DATE - pd.DateOffset(years=10)
    for name, df in tables.items():
        tbl = table(name)
        for col in tbl.columns:
            if col.kind != "date":
                continue
            s = df[col.name].dropna()
            assert (s >= min_dob).all(), (name, col.name)
            if col.name == "date_of_birth":
                assert (s <= max_dob).all(), (name, col.name)
            elif not col.planned:
                assert (s <= EXTRACT_DATE).all(), (name, col.name)
        for order in tbl.date_orders:
            both = df[order.earlier].notna() & df[order.later].notna()
            assert (df.loc[both, order.later] >= df.loc[both, order.earlier]).all(), (name, order)
        for rule in tbl.null_when:
            cond = df.eval(rule.condition, engine="python").astype(bool)
            assert df.loc[cond, rule.column].isna().all(), (name, rule)
            if rule.required_otherwise:
                assert df.loc[~cond, rule.column].notna().all(), (name, rule)


def test_assembly_is_deterministic():
    _, a, ta = assemble(n=80, seed=9)
    _, b, tb = assemble(n=80, seed=9)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name])
    for name in ta:
        pd.testing.assert_frame_equal(ta[name], tb[name])


def test_assemble_rejects_contacts_without_an_order():
    world = make_world(30, 1)
    bad_contacts = pd.concat(
        [
            world.contacts,
            pd.DataFrame({"person_id": [999_999], "contact_date": [EXTRACT_DATE], "outcome": ["attended"]}),
        ]
    )
    bad = World(**{**world.__dict__, "contacts": bad_contacts})
    with pytest.raises(ValueError, match="contacts"):
        assemble_extract(bad, IdentityNoise(), np.random.default_rng(0), "X", 0)


def test_contract_frame_orders_columns_and_rejects_nulls_in_required_ints():
    df = pd.DataFrame(
        {
            "contact_date": pd.to_datetime(["2024-01-02"]),
            "extra": [1],
            "outcome": ["attended"],
            "crn": ["X123456"],
        }
    )
    out = contract_frame(df, "probation_contacts")
    assert list(out.columns) == ["crn", "contact_date", "outcome"]
    assert str(out["contact_date"].dtype) == "datetime64[ms]"
    with pytest.raises(ValueError, match="domestic_abuse is required"):
        contract_frame(
            pd.DataFrame({c: [None] for c in table("police_offences").column_names}).assign(
                offence_date=pd.Timestamp("2024-01-01"), outcome_date=pd.NaT
            ),
            "police_offences",
        )


def _later(world: World, seed: int, new_extract: pd.Timestamp) -> World:
    """The same world a year on: every earlier row kept, new events after the old extract."""
    rng = np.random.default_rng(seed)
    old = np.datetime64(world.extract_date, "ms")
    pid = world.persons["person_id"].to_numpy()
    span = int((np.datetime64(new_extract, "ms") - old) / DAY)

    def new_dates(n: int) -> np.ndarray:
        return _dates(old + rng.integers(1, span, n) * DAY)

    p = rng.choice(pid, 200)
    offences = pd.DataFrame(
        {
            "person_id": p,
            "offence_date": new_dates(200),
            "offence_group": rng.choice(OFFENCE_GROUPS, 200),
            "domestic_abuse": False,
            "gravity": 2,
            "outcome": "pending",
            "outcome_date": _dates(np.full(200, np.datetime64("NaT"))),
        }
    )
    p = rng.choice(pid, 40)  # some of them new to prison
    custody = pd.DataFrame(
        {
            "person_id": p,
            "reception_date": new_dates(40),
            "release_date": _dates(np.full(40, np.datetime64("NaT"))),
            "expected_release_date": _dates(np.full(40, np.datetime64(new_extract, "ms"))),
            "release_type": pd.Series([None] * 40, dtype="str"),
        }
    )
    p = rng.choice(pid, 60)  # some of them new to health services
    referral = new_dates(60)
    health = pd.DataFrame(
        {
            "person_id": p,
            "service": "mental_health",
            "referral_date": referral,
            "discharge_date": _dates(np.full(60, np.datetime64("NaT"))),
            "discharge_reason": pd.Series([None] * 60, dtype="str"),
        }
    )
    return World(
        **{
            **world.__dict__,
            "offences": pd.concat([world.offences, offences], ignore_index=True),
            "custody": pd.concat([world.custody, custody], ignore_index=True),
            "health": pd.concat([world.health, health], ignore_index=True),
            "extract_date": new_extract,
        }
    )


def test_a_later_extract_keeps_identifiers_and_recorded_details():
    world = make_world(200, 8)
    later = _later(world, 9, pd.Timestamp("2025-10-31"))
    noise = IdentityNoise(typo=0.2, nickname=0.2, missing_name=0.1, pnc_missing=0.3)
    a, ta = assemble_extract(world, noise, np.random.default_rng(77), "North Staffordshire", 40)
    b, tb = assemble_extract(later, noise, np.random.default_rng(77), "North Staffordshire", 60)
    pd.testing.assert_frame_equal(a["police_nominals"], b["police_nominals"])
    # Every earlier offence, custody episode, order and health episode is in the later
    # extract under the same identifiers, with the same recorded details.
    keys = {
        "police_offences": ["offence_id", "pnc_id", "offence_date"],
        "custody_episodes": ["noms_id", "pnc_id", "reception_date"],
        "probation_orders": list(table("probation_orders").column_names),
        "health_episodes": ["health_id", "forename", "surname", "date_of_birth", "sex", "referral_date"],
        "housing_events": list(table("housing_events").column_names),
    }
    for name, cols in keys.items():
        old = a[name][cols].astype("str")
        new = b[name][cols].astype("str")
        assert len(new) > len(old) or name in ("probation_orders", "housing_events")
        missing = old.merge(new.drop_duplicates(), how="left", indicator=True)["_merge"] != "both"
        assert not missing.any(), (name, old[missing.to_numpy()].head())
    merged = ta["identities"].merge(
        tb["identities"], on=["source", "source_id"], how="left", suffixes=("", "_b")
    )
    assert (merged["person_id"] == merged["person_id_b"]).all()
    # The earlier distractors are still there, with the same details.
    pa_, pb_ = ta["persons"], tb["persons"]
    pd.testing.assert_frame_equal(pa_, pb_.iloc[: len(pa_)])
    assert len(tb["identities"]) > len(ta["identities"])
