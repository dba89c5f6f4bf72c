"""Typology model: naming rules, determinism, known answers, persistence, leakage."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features import FeatureParams, encode_tables, feature_names, features_from_encoded
from features.encode import LINKED_COLUMNS
from iom_config import ParamsError, parse_params
from iom_contract import NEEDS, OFFENCE_GROUPS
from models import TypologyModel, TypologyParams, load_model, name_clusters, save_model
from models.typology import (
    TYPOLOGY_INPUTS,
    assign_frame,
    pool_person_history,
    select_training_rows,
    typology_inputs,
)
from models.typology_naming import (
    DEFAULT_PERSON_RULES,
    DEFAULT_RULES,
    NO_STRUCTURE_MESSAGE,
    Bound,
    contradicted_rules,
    profile_clusters,
)

# --- naming rules ----------------------------------------------------------------------


def _profile(**values: float) -> dict[str, float]:
    base = {
        "share": 0.2,
        "age_mean": 30.0,
        "age_first_proven_mean": 25.0,
        "custody_ever": 0.2,
        "custody_days_mean": 30.0,
        "offences_12m_mean": 1.0,
        "offending_ratio": 1.0,
        "violence_share": 0.1,
        "mental_health_need": 0.1,
        "drugs_need": 0.1,
        "accommodation_need": 0.1,
        "attitudes_need": 0.1,
        "thinking_need": 0.1,
        "homeless_recent": 0.1,
        "housing_unstable": 0.1,
        "absences_mean": 1.0,
        "breaches_mean": 0.2,
    }
    base.update(values)
    return base


def test_young_never_in_custody_is_not_older_prison() -> None:
    prof = pd.DataFrame(
        [_profile(age_mean=20.0, custody_ever=0.0, custody_days_mean=0.0, offending_ratio=2.5)]
    )
    names = name_clusters(prof)
    assert names != ["older_prison"]
    assert names == ["young_last_chance"]


def test_each_seed_typology_named_from_its_profile_in_any_order() -> None:
    profiles = [
        _profile(age_mean=45.0, custody_ever=0.9),
        _profile(mental_health_need=0.8, homeless_recent=0.7),
        _profile(attitudes_need=0.9, violence_share=0.5),
        _profile(age_mean=21.0, offending_ratio=2.0, custody_ever=0.1),
        _profile(offending_ratio=0.4),
        _profile(offending_ratio=1.8),
    ]
    expected = ["older_prison", "vulnerable", "control_only", "young_last_chance", "general", "other"]
    assert name_clusters(pd.DataFrame(profiles)) == expected
    # Cluster numbers carry no meaning: reversing the clusters reverses the names.
    assert name_clusters(pd.DataFrame(profiles[::-1])) == expected[::-1]


def test_missing_evidence_never_names_a_typology() -> None:
    prof = pd.DataFrame([_profile(age_mean=45.0, custody_ever=np.nan, offending_ratio=np.nan)])
    assert name_clusters(prof) == ["other"]


def test_rules_order_is_priority() -> None:
    prof = pd.DataFrame(
        [_profile(age_mean=45.0, custody_ever=0.9, mental_health_need=0.9, homeless_recent=0.9)]
    )
    assert name_clusters(prof) == ["older_prison"]
    vulnerable_first = {
        "vulnerable": DEFAULT_RULES["vulnerable"],
        "older_prison": DEFAULT_RULES["older_prison"],
    }
    assert name_clusters(prof, vulnerable_first) == ["vulnerable"]


def test_params_reject_unknown_measure_and_bad_bounds() -> None:
    with pytest.raises(ParamsError, match="unknown measures"):
        parse_params({"rules": {"vulnerable": {"shoe_size": {"min": 1}}}}, TypologyParams)
    with pytest.raises(ParamsError, match="above max"):
        parse_params({"rules": {"vulnerable": {"age_mean": {"min": 5, "max": 1}}}}, TypologyParams)
    with pytest.raises(ParamsError, match="k_min"):
        parse_params({"k_min": 9, "k_max": 3}, TypologyParams)
    p = parse_params({"rules": {"vulnerable": {"age_mean": {"min": 1}}}}, TypologyParams)
    assert p.rules["vulnerable"]["age_mean"] == Bound(min=1)


# --- hand-built feature frames -------------------------------------------------------


def _features(groups: dict[str, int], rng: np.random.Generator) -> pd.DataFrame:
    """Feature rows with every catalogue column, four unmistakable groups of people."""
    cols = feature_names()
    n = sum(groups.values())
    frame = pd.DataFrame(0.0, index=range(n), columns=list(cols))
    kind = np.repeat(list(groups), list(groups.values()))

    def put(col: str, mask: np.ndarray, mean: float, sd: float) -> None:
        frame.loc[mask, col] = np.clip(rng.normal(mean, sd, mask.sum()), 0, None).round()

    young, old, vul, gen = (kind == k for k in ("young", "old", "vul", "gen"))
    frame["age"] = np.where(young, 20, np.where(old, 48, 32)) + rng.integers(-2, 3, n)
    frame["age_first_proven"] = np.where(young, 14, np.where(old, 20, 25)) + rng.integers(-1, 2, n)
    put("days_in_custody_all", old, 900, 100)
    put("n_custody_episodes_all", old, 6, 1)
    put("n_recorded_offences_36m", young, 12, 2)
    put("n_recorded_offences_12m", young, 5, 1)
    put("n_recorded_offences_12m", old | vul, 1.5, 0.5)
    put("n_recorded_offences_12m", gen, 0.3, 0.3)
    put("n_homelessness_events_36m", vul, 4, 1)
    frame.loc[vul, "need_emotional_wellbeing"] = 2
    frame.loc[vul, "known_to_health"] = 1
    put("n_proven_offences_all", np.ones(n, bool), 4, 1)
    frame["n_proven_offences_all"] = frame["n_proven_offences_all"].clip(lower=1)
    frame.insert(0, "pseudo_id", [f"p{i:05d}" for i in range(n)])
    frame.insert(1, "as_of_date", pd.Timestamp("2024-03-31"))
    frame["label"] = pd.array(rng.integers(0, 2, n), dtype="Int64")
    frame["label_complete"] = True
    frame["is_panel_date"] = False
    frame.attrs["kind"] = kind
    return frame


@pytest.fixture(scope="module")
def obvious() -> pd.DataFrame:
    return _features({"young": 120, "old": 120, "vul": 120, "gen": 240}, np.random.default_rng(7))


def _model(**kw: object) -> TypologyModel:
    base: dict[str, object] = {"k_min": 3, "k_max": 5, "n_bootstrap": 3, "random_state": 3}
    base.update(kw)
    return TypologyModel(**base)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def fitted(obvious: pd.DataFrame) -> TypologyModel:
    return _model().fit(obvious)


def test_known_answer_unmistakable_clusters(obvious: pd.DataFrame, fitted: TypologyModel) -> None:
    kind = obvious.attrs["kind"]
    named = fitted.predict(obvious)
    assert fitted.n_clusters_ == 4
    for k, name in {"young": "young_last_chance", "old": "older_prison", "vul": "vulnerable"}.items():
        assert (named[kind == k] == name).mean() > 0.95, k
    assert (named[kind == "gen"] == "general").mean() > 0.95
    assert fitted.stability_ > 0.95
    proba = fitted.predict_proba(obvious)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert list(fitted.classes_) == ["young_last_chance", "older_prison", "vulnerable", "general"]


def test_same_seed_refits_identical(obvious: pd.DataFrame, fitted: TypologyModel) -> None:
    again = _model().fit(obvious)
    np.testing.assert_array_equal(again.cluster_proba(obvious), fitted.cluster_proba(obvious))
    assert again.cluster_names_ == fitted.cluster_names_
    assert again.criterion_ == fitted.criterion_


def test_fit_does_not_mutate_input(obvious: pd.DataFrame) -> None:
    copy = obvious.copy()
    _model(n_bootstrap=0, k_min=4, k_max=4).fit(obvious)
    pd.testing.assert_frame_equal(obvious, copy)


def test_unassigned_below_threshold(obvious: pd.DataFrame, fitted: TypologyModel) -> None:
    strict = fitted.set_params(unassigned_below=1.01)
    out = assign_frame(strict, obvious)
    assert (out["typology"] == "unassigned").all()
    fitted.set_params(unassigned_below=0.5)


def test_saved_model_predicts_identically(
    tmp_path: Path, obvious: pd.DataFrame, fitted: TypologyModel
) -> None:
    save_model(fitted, tmp_path / "model.json")
    text = (tmp_path / "model.json").read_text()
    assert "p00001" not in text  # aggregates only
    loaded = load_model(tmp_path / "model.json")
    np.testing.assert_array_equal(loaded.predict_proba(obvious), fitted.predict_proba(obvious))
    np.testing.assert_array_equal(loaded.predict(obvious), fitted.predict(obvious))


def test_profiles_are_membership_weighted_means(obvious: pd.DataFrame) -> None:
    resp = np.zeros((len(obvious), 2))
    resp[:100, 0] = 1
    resp[100:, 1] = 1
    prof = profile_clusters(obvious, resp)
    assert prof.loc[0, "age_mean"] == pytest.approx(obvious["age"].iloc[:100].mean())
    assert prof["share"].sum() == pytest.approx(1.0)


def test_training_rows_latest_labelled_date_per_person() -> None:
    f = pd.DataFrame(
        {
            "pseudo_id": ["a", "a", "a", "b"],
            "as_of_date": pd.to_datetime(["2020-03-31", "2020-06-30", "2020-09-30", "2020-03-31"]),
            "label_complete": [True, True, False, True],
        }
    )
    got = select_training_rows(f)
    assert got[["pseudo_id", "as_of_date"]].values.tolist() == [
        ["a", pd.Timestamp("2020-06-30")],
        ["b", pd.Timestamp("2020-03-31")],
    ]
    assert select_training_rows(f, pd.Timestamp("2020-03-31"))["as_of_date"].nunique() == 1


# --- leakage: records after the as-of date do not move a typology ------------------------


def _linked(extra_future: bool) -> dict[str, pd.DataFrame]:
    def typed(name: str, rows: list[dict[str, object]], defaults: dict[str, object]) -> pd.DataFrame:
        out = {}
        for c in LINKED_COLUMNS[name]:
            vals = [r.get(c, defaults.get(c)) for r in rows]
            if c.endswith("_date") or c == "birth_month":
                out[c] = pd.to_datetime(pd.Series(vals, dtype=object)).astype("datetime64[ms]")
            elif c in ("domestic_abuse", "breached"):
                out[c] = pd.array(vals, dtype="boolean")
            elif c == "gravity" or c in NEEDS:
                out[c] = pd.array(vals, dtype="Int64")
            else:
                out[c] = pd.array(vals, dtype="str")
        return pd.DataFrame(out)

    people: list[dict[str, object]] = [
        {"pseudo_id": f"q{i}", "birth_month": f"{1960 + 3 * i}-06-01"} for i in range(12)
    ]
    offences: list[dict[str, object]] = [
        {
            "pseudo_id": f"q{i}",
            "offence_id": f"o{i}-{j}",
            "offence_date": f"2023-{1 + j:02d}-10",
            "offence_group": OFFENCE_GROUPS[(i + j) % len(OFFENCE_GROUPS)],
            "outcome_date": f"2023-{1 + j:02d}-20",
        }
        for i in range(12)
        for j in range(1 + i % 4)
    ]
    if extra_future:
        offences += [
            {
                "pseudo_id": f"q{i}",
                "offence_id": f"f{i}",
                "offence_date": "2024-05-01",
                "outcome_date": "2024-06-01",
            }
            for i in range(12)
        ]
    defaults: dict[str, object] = {
        "offence_group": "theft",
        "domestic_abuse": False,
        "gravity": 3,
        "outcome": "convicted",
    }
    tables = {"persons": typed("persons", people, {}), "offences": typed("offences", offences, defaults)}
    for name in LINKED_COLUMNS:
        if name not in tables:
            tables[name] = typed(name, [], {})
    return tables


def test_typology_stable_under_records_after_as_of(obvious: pd.DataFrame, fitted: TypologyModel) -> None:
    t = pd.Timestamp("2024-03-31")
    extract = pd.Timestamp("2026-10-31")
    params = FeatureParams()
    before = features_from_encoded(encode_tables(_linked(False)), t, params, extract)
    after = features_from_encoded(encode_tables(_linked(True)), t, params, extract)
    assert len(before) == 12
    cols = [c for c in before.columns if c not in ("label", "label_complete")]
    a = assign_frame(fitted, before[cols])
    b = assign_frame(fitted, after[cols])
    pd.testing.assert_frame_equal(a, b)


def test_stability_is_judged_on_names_when_clusters_share_one(obvious: pd.DataFrame) -> None:
    # Seven clusters for four groups: several clusters share a name, and refits may move
    # people between same-named clusters without changing anyone's typology.
    model = _model(k_min=7, k_max=7).fit(obvious)
    c = model.criterion_[7]
    assert set(c) == {"bic", "stability", "stability_clusters", "typology_stability"}
    assert len(set(model.cluster_names_)) < model.n_clusters_
    assert c["stability"] > 0.95
    assert c["stability"] >= c["stability_clusters"]
    # Membership in a typology is the sum over the clusters carrying its name.
    resp = model.cluster_proba(obvious)
    names = np.asarray(model.cluster_names_)
    general = list(model.classes_).index("general")
    np.testing.assert_allclose(
        model.predict_proba(obvious)[:, general], resp[:, names == "general"].sum(axis=1)
    )


# --- inputs: rates and shares, gaps kept ----------------------------------------------------


def test_inputs_are_rates_and_keep_what_was_never_recorded_missing(obvious: pd.DataFrame) -> None:
    f = obvious.iloc[:3].copy()
    f["need_attitudes"] = pd.array([pd.NA, 2, 0], dtype="Int32")
    f["n_orders_all"] = [0, 4, 2]
    f["n_breached_orders_all"] = [0, 1, 2]
    f["n_custody_episodes_all"] = [0, 3, 1]
    f["n_proven_offences_all"] = [0, 5, 1]
    f["n_recorded_offences_all"] = [0, 10, 4]
    f["n_domestic_abuse_recorded_all"] = [0, 5, 0]
    f["n_proven_theft_all"] = [0, 4, 1]
    got = typology_inputs(f)
    assert list(got.columns) == list(TYPOLOGY_INPUTS)
    assert np.isnan(got["need_attitudes"].iloc[0]) and got["need_attitudes"].iloc[1] == 2
    # No orders: a breach rate is undefined, not zero.
    assert np.isnan(got["breach_rate"].iloc[0])
    assert got["breach_rate"].tolist()[1:] == [0.25, 1.0]
    # Custody receptions per proven offence, smoothed so that 0 of 0 is defined.
    np.testing.assert_allclose(got["custody_rate"], np.log([0.5 / 1, 3.5 / 6, 1.5 / 2]))
    assert np.isnan(got["domestic_abuse_share"].iloc[0]) and got["domestic_abuse_share"].iloc[1] == 0.5
    assert np.isnan(got["gravity_mean"].iloc[0])  # nothing proven
    assert got["proven_theft"].tolist() == [0, 4, 1]


def test_fit_sample_caps_the_people_fitted_and_everyone_is_assigned(obvious: pd.DataFrame) -> None:
    model = _model(fit_sample=300, n_bootstrap=0, k_min=4, k_max=4).fit(obvious)
    again = _model(fit_sample=300, n_bootstrap=0, k_min=4, k_max=4).fit(obvious)
    np.testing.assert_array_equal(model.cluster_proba(obvious), again.cluster_proba(obvious))
    assert len(model.predict(obvious)) == len(obvious)
    kind = obvious.attrs["kind"]
    assert (model.predict(obvious)[kind == "old"] == "older_prison").mean() > 0.95


# --- is the structure real? ---------------------------------------------------------------


def _continuum(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """People who differ by one continuous propensity only: no types, by construction."""
    frame = _features({"gen": n}, rng)
    z = rng.gamma(2.0, 0.5, n)  # the propensity
    age = np.clip(18 + rng.gamma(2.2, 8.0, n), 18, 80)
    frame["age"] = age.round()
    frame["age_first_proven"] = np.clip(age - rng.gamma(2.0, 4.0, n), 10, None).round()
    frame["n_recorded_offences_12m"] = rng.poisson(z)
    frame["n_recorded_offences_all"] = frame["n_recorded_offences_12m"] + rng.poisson(4 * z)
    frame["n_proven_offences_all"] = rng.binomial(frame["n_recorded_offences_all"], 0.6)
    frame["n_proven_theft_all"] = rng.binomial(frame["n_proven_offences_all"], 0.5)
    frame["n_custody_episodes_all"] = rng.poisson(0.3 * z)
    frame["days_in_custody_all"] = frame["n_custody_episodes_all"] * rng.integers(20, 120, n)
    frame["n_homelessness_events_36m"] = rng.poisson(0.1 * z)
    frame["need_emotional_wellbeing"] = rng.binomial(2, 0.15, n)
    frame["need_attitudes"] = rng.binomial(2, np.clip(0.1 * z, 0, 1))
    return frame


def test_a_continuum_is_not_shown_as_types() -> None:
    people = _continuum(900, np.random.default_rng(11))
    model = _model(k_min=3, k_max=5).fit(people)
    assert not model.structure_["found"]
    assert model.structure_["message"] == NO_STRUCTURE_MESSAGE
    assert model.structure_["reasons"]
    assert set(model.shown_names_) == {"unassigned"}
    out = assign_frame(model, people)
    assert (out["typology"] == "unassigned").all()
    assert (out["membership_probability"] == 0.0).all()


def test_real_groups_are_shown_with_their_evidence(fitted: TypologyModel) -> None:
    s = fitted.structure_
    assert s["found"] and s["message"] == "" and not s["reasons"]
    assert s["bic_gain_per_person"] > max(s["null_bic_gain_per_person"])
    for name in ("young_last_chance", "older_prison", "vulnerable"):
        check = s["typologies"][name]
        assert check["shown"] and check["stability"] >= 0.75 and check["separation"] >= 0.7, name
    assert fitted.shown_names_ == fitted.cluster_names_


def test_a_typology_failing_its_own_checks_is_not_named(obvious: pd.DataFrame) -> None:
    # Demand more separation than any cluster can show: nothing is named, everyone unassigned.
    model = _model(min_typology_separation=1.0).fit(obvious)
    assert not model.structure_["found"]
    assert all(not v["shown"] for v in model.structure_["typologies"].values())
    assert set(model.predict(obvious)) == {"unassigned"}


def test_parallel_fit_gives_the_same_model(obvious: pd.DataFrame, fitted: TypologyModel) -> None:
    again = _model(n_jobs=2).fit(obvious)
    np.testing.assert_array_equal(again.cluster_proba(obvious), fitted.cluster_proba(obvious))
    assert again.criterion_ == fitted.criterion_
    assert again.structure_ == fitted.structure_


# --- person-level consistency -------------------------------------------------------------


def test_a_record_that_breaks_the_typology_marks_the_person_atypical(obvious: pd.DataFrame) -> None:
    f = obvious.iloc[:4].copy()
    f["days_in_custody_all"] = [400.0, 800.0, 0.0, 0.0]
    f["age"] = [20, 21, 45, 25]
    f["n_custody_episodes_all"] = [2.0, 3.0, 0.0, 2.0]
    names = np.array(["young_last_chance", "young_last_chance", "older_prison", "older_prison"])
    got = contradicted_rules(f, names, DEFAULT_PERSON_RULES)
    # A short spell in prison does not contradict "last chance before custody"; two years
    # served does. No prison in the 10-year window does not contradict "long prison
    # record" (earlier terms are outside it); being 25 contradicts "older".
    assert list(got) == ["", "custody_days_mean > 730", "", "age_mean < 30"]


def test_an_unassessed_need_contradicts_nothing(obvious: pd.DataFrame) -> None:
    f = obvious.iloc[:3].copy()
    f["need_attitudes"] = pd.array([pd.NA, 0, 2], dtype="Int32")
    got = contradicted_rules(f, np.array(["control_only"] * 3), DEFAULT_PERSON_RULES)
    assert list(got) == ["", "attitudes_need < 1", ""]
    # Names without person rules are never marked.
    assert list(contradicted_rules(f, np.array(["general"] * 3), DEFAULT_PERSON_RULES)) == ["", "", ""]


def test_assign_frame_marks_atypical_people(obvious: pd.DataFrame, fitted: TypologyModel) -> None:
    f = obvious.copy()
    kind = obvious.attrs["kind"]
    young = np.flatnonzero(kind == "young")[:5]
    f.loc[young, "days_in_custody_all"] = 800.0
    out = assign_frame(fitted, f)
    assert out.loc[young, "atypical"].all()
    assert out.loc[young, "atypical_reason"].str.contains("custody_days_mean").all()
    assert not out.loc[np.flatnonzero(kind == "young")[5:], "atypical"].any()


# --- pooling a person's history; prior-shift adaptation ------------------------------


def test_pooled_evidence_is_the_mean_over_the_persons_dates_so_far() -> None:
    cond = np.array([[0.0, -4.0], [-6.0, 0.0], [-1.0, -1.0], [-2.0, 0.0]])
    person = np.array(["b", "a", "a", "b"], dtype=object)
    as_of = pd.to_datetime(["2024-02-29", "2024-02-29", "2024-01-31", "2024-01-31"]).to_numpy()
    pooled = pool_person_history(cond, person, as_of)
    # a: Jan alone, then the mean of Jan and Feb; b likewise.
    expected = np.array([[-1.0, -2.0], [-3.5, -0.5], [-1.0, -1.0], [-2.0, 0.0]])
    np.testing.assert_allclose(pooled, expected)
    order = np.array([3, 1, 0, 2])
    np.testing.assert_allclose(pool_person_history(cond[order], person[order], as_of[order]), expected[order])


def test_pooling_uses_earlier_dates_never_later_ones(obvious: pd.DataFrame, fitted: TypologyModel) -> None:
    pooled = TypologyModel(**{**fitted.get_params(), "pool_history": True})
    for attr in ("mixture_", "shown_names_", "classes_"):
        setattr(pooled, attr, getattr(fitted, attr))
    first = obvious.iloc[:200].copy()
    first.attrs = {}
    later = first.assign(as_of_date=pd.Timestamp("2024-04-30"))
    # The same people a month later, with the young group now looking like the general one.
    young = obvious.attrs["kind"][:200] == "young"
    gen = obvious[obvious.attrs["kind"] == "gen"].iloc[: int(young.sum())]
    later.loc[young, gen.columns[2:]] = gen[gen.columns[2:]].to_numpy()
    both = pd.concat([first, later], ignore_index=True)
    alone = pooled.cluster_proba(first)
    together = pooled.cluster_proba(both)
    np.testing.assert_array_equal(together[:200], alone)  # later dates change nothing earlier
    unpooled_later = fitted.cluster_proba(later)
    assert not np.allclose(together[200:], unpooled_later)  # the earlier look still counts
    np.testing.assert_allclose(alone, fitted.cluster_proba(first), atol=1e-12)  # one look: as before


def test_adapted_priors_follow_each_dates_mix(obvious: pd.DataFrame, fitted: TypologyModel) -> None:
    adapted = TypologyModel(**{**fitted.get_params(), "adapt_priors": True, "adapt_pseudo_count": 0.0})
    for attr in ("mixture_", "shown_names_", "classes_"):
        setattr(adapted, attr, getattr(fitted, attr))
    kind = obvious.attrs["kind"]
    plain = obvious.copy()
    plain.attrs = {}
    young_heavy = pd.concat([plain[kind == "young"], plain[kind == "gen"].iloc[:20]])
    w = adapted.mixture_.adapt_weights(typology_inputs(young_heavy), pseudo_count=0.0)[0]
    young_cluster = int(np.argmax(fitted.cluster_proba(obvious[kind == "young"]).sum(axis=0)))
    assert fitted.mixture_.weights_[young_cluster] < 0.3
    assert w[young_cluster] == pytest.approx(120 / 140, abs=0.03)
    # The known answer survives the adaptation, and a saved model keeps the option.
    assert (adapted.predict(young_heavy)[:120] == "young_last_chance").mean() > 0.95


def test_one_as_of_date_with_pooling_says_there_is_no_history(
    obvious: pd.DataFrame, fitted: TypologyModel, caplog: pytest.LogCaptureFixture
) -> None:
    pooled = TypologyModel(**{**fitted.get_params(), "pool_history": True})
    for attr in ("mixture_", "shown_names_", "classes_"):
        setattr(pooled, attr, getattr(fitted, attr))
    with caplog.at_level("WARNING", logger="models.typology"):
        pooled.cluster_proba(obvious)
    assert "only one as-of date" in caplog.text


def test_estimator_defaults_are_the_params_defaults() -> None:
    """One source of defaults: the params model; the estimator's __init__ takes them from it."""
    import yaml

    from_params = TypologyParams().estimator().get_params()
    bare = TypologyModel().get_params()
    for name in ("rules", "person_rules", "random_state"):  # None: the default rules; sklearn's unseeded
        from_params.pop(name), bare.pop(name)
    assert bare == from_params
    # params.yaml states the same values: a changed default is changed in both (this test says so).
    yaml_section = yaml.safe_load((Path(__file__).resolve().parents[2] / "params.yaml").read_text())[
        "typology"
    ]
    defaults = TypologyParams().model_dump()
    bare.pop("n_jobs")  # a machine setting (processes), not a result: params.yaml may differ
    assert {k: v for k, v in yaml_section.items() if k in bare} == {
        k: defaults[k] for k in yaml_section if k in bare
    }
