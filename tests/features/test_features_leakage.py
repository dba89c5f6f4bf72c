"""Property: nothing dated after t changes the features at t.

"Dated after t" is each record's own date (offence, reception, order start, assessment,
contact, referral, housing event). Adding any such records to any table, or removing
them, must leave every feature at t unchanged (the label looks forward, so it is
excluded). A second property covers records that started by t but whose later dates
(outcome, release, discharge, order end) fall after t: those later values are unknown
at t, so changing them to other values after t must not change any feature either.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from features_testkit import EXTRACT, T, build, linked
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features import feature_names
from iom_contract import (
    CONTACT_OUTCOMES,
    DISCHARGE_REASONS,
    HEALTH_SERVICES,
    HOUSING_EVENTS,
    NEEDS,
    OFFENCE_GROUPS,
    ORDER_TYPES,
    OUTCOMES,
    RELEASE_TYPES,
)

PEOPLE = ("p0", "p1", "p2", "p3")
T_DAY = 0  # offsets are days relative to T
SPAN = (EXTRACT - T).days  # nothing may be dated after the extract
OWN_DATE = {
    "offences": "offence_date",
    "custody": "reception_date",
    "orders": "start_date",
    "assessments": "assessment_date",
    "contacts": "contact_date",
    "health": "referral_date",
    "housing": "event_date",
}
FEATURES = list(feature_names())


def _day(offset: int) -> pd.Timestamp:
    return T + pd.Timedelta(days=offset)


KNOWN = st.sampled_from(PEOPLE)
# Records after t may also belong to someone with no record at all by t.
ANYONE = st.sampled_from((*PEOPLE, "newcomer"))
lag = st.integers(0, 700)


@st.composite
def offence(draw: st.DrawFn, own: st.SearchStrategy[int], who: st.SearchStrategy[str]) -> dict[str, Any]:
    d = draw(own)
    outcome = draw(st.sampled_from(OUTCOMES))
    out = d + draw(lag)
    if outcome == "pending" or out > SPAN:
        outcome, out_date = "pending", None
    else:
        out_date = _day(out)
    return {
        "pseudo_id": draw(who),
        "offence_date": _day(d),
        "offence_group": draw(st.sampled_from(OFFENCE_GROUPS)),
        "domestic_abuse": draw(st.booleans()),
        "gravity": draw(st.integers(1, 6)),
        "outcome": outcome,
        "outcome_date": out_date,
    }


@st.composite
def custody(draw: st.DrawFn, own: st.SearchStrategy[int], who: st.SearchStrategy[str]) -> dict[str, Any]:
    d = draw(own)
    rel = d + draw(st.integers(0, 900))
    if rel > SPAN:  # still inside at the extract
        return {
            "pseudo_id": draw(who),
            "reception_date": _day(d),
            "release_date": None,
            "expected_release_date": _day(rel),
            "release_type": None,
        }
    return {
        "pseudo_id": draw(who),
        "reception_date": _day(d),
        "release_date": _day(rel),
        "expected_release_date": None,
        "release_type": draw(st.sampled_from(RELEASE_TYPES)),
    }


@st.composite
def order(draw: st.DrawFn, own: st.SearchStrategy[int], who: st.SearchStrategy[str]) -> dict[str, Any]:
    d = draw(own)
    return {
        "pseudo_id": draw(who),
        "order_type": draw(st.sampled_from(ORDER_TYPES)),
        "start_date": _day(d),
        "end_date": _day(d + draw(st.integers(0, 1100))),
        "breached": draw(st.booleans()),
    }


@st.composite
def assessment(draw: st.DrawFn, own: st.SearchStrategy[int], who: st.SearchStrategy[str]) -> dict[str, Any]:
    scores = {n: draw(st.one_of(st.none(), st.integers(0, 2))) for n in NEEDS}
    return {"pseudo_id": draw(who), "assessment_date": _day(draw(own)), **scores}


@st.composite
def contact(draw: st.DrawFn, own: st.SearchStrategy[int], who: st.SearchStrategy[str]) -> dict[str, Any]:
    return {
        "pseudo_id": draw(who),
        "contact_date": _day(draw(own)),
        "outcome": draw(st.sampled_from(CONTACT_OUTCOMES)),
    }


@st.composite
def health(draw: st.DrawFn, own: st.SearchStrategy[int], who: st.SearchStrategy[str]) -> dict[str, Any]:
    d = draw(own)
    dis = d + draw(lag)
    closed = dis <= SPAN and draw(st.booleans())
    return {
        "pseudo_id": draw(who),
        "service": draw(st.sampled_from(HEALTH_SERVICES)),
        "referral_date": _day(d),
        "discharge_date": _day(dis) if closed else None,
        "discharge_reason": draw(st.sampled_from(DISCHARGE_REASONS)) if closed else None,
    }


@st.composite
def housing(draw: st.DrawFn, own: st.SearchStrategy[int], who: st.SearchStrategy[str]) -> dict[str, Any]:
    return {
        "pseudo_id": draw(who),
        "event_date": _day(draw(own)),
        "event_type": draw(st.sampled_from(HOUSING_EVENTS)),
    }


RECORDS = {
    "offences": offence,
    "custody": custody,
    "orders": order,
    "assessments": assessment,
    "contacts": contact,
    "health": health,
    "housing": housing,
}
# Dense around t so that window boundaries and t itself are hit often.
ANY_DAY = st.one_of(st.integers(-1500, SPAN), st.integers(-400, 30), st.sampled_from([-92, -91, -1, 0, 1]))
AFTER_T = st.one_of(st.integers(1, SPAN), st.just(1))


def tables_strategy(
    own: st.SearchStrategy[int], max_size: int, who: st.SearchStrategy[str] = KNOWN
) -> st.SearchStrategy[dict[str, list]]:
    return st.fixed_dictionaries(
        {name: st.lists(make(own, who), max_size=max_size) for name, make in RECORDS.items()}
    )


persons = st.lists(
    st.tuples(st.integers(1960, 2008), st.integers(1, 12)), min_size=len(PEOPLE), max_size=len(PEOPLE)
).map(
    lambda bs: [
        {"pseudo_id": p, "birth_month": f"{y}-{m:02d}-01"} for p, (y, m) in zip(PEOPLE, bs, strict=True)
    ]
)


def _features(people: list[dict], rows: dict[str, list]) -> pd.DataFrame:
    f = build(linked(persons=people, **rows), min_age=16)
    return f[["pseudo_id", *FEATURES, "release_due", "in_custody"]].reset_index(drop=True)


def _only_up_to_t(rows: dict[str, list]) -> dict[str, list]:
    return {name: [r for r in rs if r[OWN_DATE[name]] <= T] for name, rs in rows.items()}


SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.slow  # property-based over many as-of dates (10 s)
@SETTINGS
@given(people=persons, base=tables_strategy(ANY_DAY, 8), extra=tables_strategy(AFTER_T, 4, ANYONE))
def test_records_dated_after_t_never_change_features(people, base, extra):
    reference = _features(people, base)
    removed = _features(people, _only_up_to_t(base))
    added = _features(people, {name: base[name] + extra[name] for name in base})
    pd.testing.assert_frame_equal(removed, reference)
    pd.testing.assert_frame_equal(added, reference)


@st.composite
def later_values(draw: st.DrawFn, rows: dict[str, list]) -> dict[str, list]:
    """Re-draw every date after t (and what is decided with it) on records started by t."""

    def after(start: pd.Timestamp) -> pd.Timestamp:
        lo = max((start - T).days, 0) + 1
        return _day(draw(st.integers(lo, SPAN)))

    out: dict[str, list] = {name: [dict(r) for r in rs] for name, rs in rows.items()}
    for r in out["offences"]:
        if r["outcome_date"] is None or r["outcome_date"] > T:
            if draw(st.booleans()):
                r["outcome"], r["outcome_date"] = "pending", None
            else:
                r["outcome"] = draw(st.sampled_from([o for o in OUTCOMES if o != "pending"]))
                r["outcome_date"] = after(r["offence_date"])
    for r in out["custody"]:
        if r["release_date"] is not None and r["release_date"] > T:
            r["release_date"] = after(r["reception_date"])
            r["release_type"] = draw(st.sampled_from(RELEASE_TYPES))
    for r in out["orders"]:
        if r["end_date"] > T:
            r["end_date"] = after(r["start_date"])
            r["breached"] = draw(st.booleans())
    for r in out["health"]:
        if r["discharge_date"] is None or r["discharge_date"] > T:
            if draw(st.booleans()):
                r["discharge_date"], r["discharge_reason"] = None, None
            else:
                r["discharge_date"] = after(r["referral_date"])
                r["discharge_reason"] = draw(st.sampled_from(DISCHARGE_REASONS))
    return out


@pytest.mark.slow  # property-based over many as-of dates (10 s)
@SETTINGS
@given(people=persons, base=tables_strategy(ANY_DAY, 8), data=st.data())
def test_later_dates_on_earlier_records_are_unknown_at_t(people, base, data):
    base = _only_up_to_t(base)
    changed = data.draw(later_values(base))
    a = _features(people, base).drop(columns="release_due").set_index("pseudo_id")
    b = _features(people, changed).drop(columns="release_due").set_index("pseudo_id")
    # A planned release date is knowable at t (see features.cohort), so who is
    # release_due, and hence in the cohort, may differ; everyone's features may not.
    common = a.index.intersection(b.index)
    pd.testing.assert_frame_equal(a.loc[common], b.loc[common])
