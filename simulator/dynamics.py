"""State dynamics shared by the simulation and its exact oracle.

A person's offending rate in a step is

    rate * frailty * age_curve(age) * step_years
        * housing[H] * treatment[T] * (no recall R) * (free of custody)
        * supervision (on an order or licence) * recent release (first 12 steps out)

where ``H`` (settled / unstable housing), ``T`` (no treatment / engaged / recently dropped
out) and ``R`` (free / recalled to prison on licence) are Markov chains whose transition
probabilities depend only on the person's traits and on a *schedule* fixed at sentencing
(custody spells, licences, orders). Offences never change a schedule unless they lead to
a conviction within 183 days, which already makes the contract's label 1; so, given the
state at an as-of date, the probability of the label is an exact forward recursion over
the three chains (see ``simulator.oracle``). Both the simulation and the oracle call the
functions in this module, so they cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from scipy.stats import norm

from iom_contract import LABEL_PROOF_DAYS, OFFENCE_GROUPS
from simulator.typologies import (
    BIAS_OUTCOME_PROBS,
    CONVICTION_DELAY_MEDIAN,
    CONVICTION_DELAY_SIGMA,
    OUTCOME_PROBS,
    TYPOLOGIES,
    mix_matrix,
    typology_array,
)

NONE = -(10**6)  # "no such step" in schedules
STEPS_PER_YEAR = 48.0
MIN_OFFENDING_AGE = 10.0
HOUSING_EFFECT = np.array([1.0, 1.6])  # settled, unstable
DROPPED_OUT_EFFECT = 1.5
RECENT_RELEASE_STEPS = 12
RECENT_RELEASE_EFFECT = 1.4
P_TREATMENT_EXIT = 0.05
P_DROPOUT_RECOVERS = 1.0 / 12.0
P_REFERRAL_AT_TRIGGER = 0.35  # referral at release or the start of an order
P_APPOINTMENT = 0.55
P_ACCEPTABLE_ABSENCE = 0.05
P_RECALL_BASE = 0.003
P_RECALL_AFTER_ABSENCE = 0.12
P_RECALL_RETURN = 0.25


def p_label_given_offence() -> tuple[np.ndarray, float]:
    """P(an offence is proven within 183 days): per typology, and for a bias record.

    A conviction's delay is ``floor(X)`` days, X lognormal, so it counts when X < 184.
    Cautions come within 28 days, so every caution counts.
    """
    p_quick = norm.cdf(
        (np.log(LABEL_PROOF_DAYS + 1) - np.log(CONVICTION_DELAY_MEDIAN)) / CONVICTION_DELAY_SIGMA
    )
    outcome = np.array([OUTCOME_PROBS[g] for g in OFFENCE_GROUPS])
    per_group = outcome[:, 0] * p_quick + outcome[:, 1]
    per_typology = mix_matrix() @ per_group
    return per_typology, float(BIAS_OUTCOME_PROBS[0] * p_quick + BIAS_OUTCOME_PROBS[1])


@dataclass(frozen=True)
class People:
    """Static traits, one array entry per person."""

    typ: np.ndarray  # int8 typology code
    dob_day: np.ndarray  # int64
    rate: np.ndarray  # offences a year at the age-curve peak, frailty included
    frailty: np.ndarray
    peak_age: np.ndarray
    curve_power: np.ndarray
    p_label: np.ndarray  # per offence (true offences and bias records combined, see hazard)
    bias_extra: np.ndarray  # extra bias records per true offence (factor - 1, or 0)
    treated_effect: np.ndarray
    supervision_effect: np.ndarray
    p_housing_loss: np.ndarray
    p_housing_loss_release: np.ndarray
    p_rehoused: np.ndarray
    p_referral: np.ndarray  # 0 for people with no treatable need
    dropout_share: np.ndarray
    compliance: np.ndarray
    custody_propensity: np.ndarray
    need_drugs: np.ndarray
    need_alcohol: np.ndarray
    need_mh: np.ndarray
    attitudes: np.ndarray
    p_domestic_abuse: np.ndarray

    def take(self, idx: np.ndarray) -> People:
        return People(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})


@dataclass
class Schedule:
    """Custody, licence and order spells fixed at sentencing, in steps.

    Two custody slots (current or next, and the one after) and two order slots; a
    third overlapping spell is merged into the second. ``last_*`` remember the most
    recent release, so that licence and supervision after it are known.
    """

    c0s: np.ndarray
    c0e: np.ndarray
    c0lic: np.ndarray
    c0sup: np.ndarray
    c0rem: np.ndarray  # bool: remand only (released without a custodial sentence)
    c1s: np.ndarray
    c1e: np.ndarray
    c1lic: np.ndarray
    c1sup: np.ndarray
    c1rem: np.ndarray
    o0s: np.ndarray
    o0e: np.ndarray
    o1s: np.ndarray
    o1e: np.ndarray
    last_rel: np.ndarray
    last_lic: np.ndarray
    last_sup: np.ndarray

    @classmethod
    def empty(cls, n: int) -> Schedule:
        kw: dict[str, Any] = {}
        for f in fields(cls):
            kw[f.name] = (
                np.zeros(n, dtype=bool) if f.name.endswith("rem") else np.full(n, NONE, dtype=np.int64)
            )
        return cls(**kw)

    def take(self, idx: np.ndarray) -> Schedule:
        return Schedule(**{f.name: getattr(self, f.name)[idx].copy() for f in fields(self)})


@dataclass(frozen=True)
class Flags:
    """What the schedule says about one step."""

    free: np.ndarray
    released: np.ndarray  # released from a custodial spell at the start of this step
    licence: np.ndarray  # free and on licence (can be recalled)
    supervised: np.ndarray  # free and on licence, post-sentence supervision or an order
    recent: np.ndarray  # within RECENT_RELEASE_STEPS of a release
    trigger: np.ndarray  # a release or the start of an order: a moment for referral


def flags_at(s: Schedule, j: int) -> Flags:
    """Read the schedule at step ``j`` (future steps included)."""
    custody = ((s.c0s <= j) & (j < s.c0e)) | ((s.c1s <= j) & (j < s.c1e))
    free = ~custody
    released = (s.c0e == j) | (s.c1e == j)
    licence = free & (
        ((s.last_rel <= j) & (j < s.last_lic))
        | ((s.c0e <= j) & (j < s.c0lic))
        | ((s.c1e <= j) & (j < s.c1lic))
    )
    on_order = ((s.o0s <= j) & (j < s.o0e)) | ((s.o1s <= j) & (j < s.o1e))
    post = (
        ((s.last_rel <= j) & (j < s.last_sup))
        | ((s.c0e <= j) & (j < s.c0sup))
        | ((s.c1e <= j) & (j < s.c1sup))
    )
    supervised = free & (licence | post | on_order)
    recent = (
        ((j - s.last_rel) < RECENT_RELEASE_STEPS)
        | ((s.c0e <= j) & ((j - s.c0e) < RECENT_RELEASE_STEPS))
        | ((s.c1e <= j) & ((j - s.c1e) < RECENT_RELEASE_STEPS))
    ) & free
    trigger = released | (s.o0s == j) | (s.o1s == j)
    return Flags(free, released, licence, supervised, recent, trigger)


def age_curve(age: np.ndarray, peak: np.ndarray, power: np.ndarray) -> np.ndarray:
    """Relative offending by age: 1 at ``peak``, gamma-shaped, none under 10."""
    r = np.maximum(age, 1e-9) / peak
    return np.where(age < MIN_OFFENDING_AGE, 0.0, r**power * np.exp(power * (1.0 - r)))


def base_rate(p: People, age: np.ndarray, step_days: np.ndarray | float, fl: Flags) -> np.ndarray:
    """Expected true offences in a step before the housing/treatment/recall states."""
    base = p.rate * age_curve(age, p.peak_age, p.curve_power) * (np.asarray(step_days) / 365.25)
    base = base * np.where(fl.supervised, p.supervision_effect, 1.0)
    return base * np.where(fl.recent, RECENT_RELEASE_EFFECT, 1.0) * fl.free


def state_effect(p: People, h: np.ndarray | int, t: np.ndarray | int) -> np.ndarray:
    """Multiplier of housing state ``h`` and treatment state ``t`` (0 none, 1 engaged, 2 dropped out)."""
    treat = np.where(np.equal(t, 0), 1.0, np.where(np.equal(t, 1), p.treated_effect, DROPPED_OUT_EFFECT))
    return HOUSING_EFFECT[h] * treat


@dataclass(frozen=True)
class Transitions:
    """Per-person transition probabilities into the next step."""

    h01: np.ndarray
    h10: np.ndarray
    t_ref: np.ndarray  # none -> engaged
    t_done: np.ndarray  # engaged -> none (completed)
    t_drop: np.ndarray  # engaged -> dropped out
    t_back: np.ndarray  # dropped out -> none
    r01: np.ndarray  # free -> recalled, given the absence indicator passed in
    r10: np.ndarray  # recalled -> free


def transitions(p: People, prev: Flags, nxt: Flags, unacceptable: np.ndarray | float) -> Transitions:
    """Transition probabilities from step j to j+1.

    ``unacceptable`` is 1 where the person missed an appointment without excuse in step
    j (the simulation knows), or its probability (the oracle, for steps after the as-of
    date). Recall needs a licence on both sides of the boundary.
    """
    h01 = 1.0 - (1.0 - p.p_housing_loss) * (1.0 - p.p_housing_loss_release * nxt.released)
    t_ref = 1.0 - (1.0 - p.p_referral) * (1.0 - P_REFERRAL_AT_TRIGGER * nxt.trigger * (p.p_referral > 0))
    eligible = prev.licence & nxt.licence
    r01 = eligible * (P_RECALL_BASE + unacceptable * (P_RECALL_AFTER_ABSENCE - P_RECALL_BASE))
    r10 = np.where(nxt.free, P_RECALL_RETURN, 1.0)
    return Transitions(
        h01=h01,
        h10=p.p_rehoused,
        t_ref=t_ref,
        t_done=P_TREATMENT_EXIT * (1.0 - p.dropout_share),
        t_drop=P_TREATMENT_EXIT * p.dropout_share,
        t_back=np.full_like(p.rate, P_DROPOUT_RECOVERS),
        r01=r01,
        r10=r10,
    )


def expected_unacceptable(p: People, fl: Flags) -> np.ndarray:
    """Probability of an unacceptable absence in a step, for someone not recalled."""
    return fl.supervised * P_APPOINTMENT * np.clip(1.0 - p.compliance - P_ACCEPTABLE_ABSENCE, 0.0, 1.0)


def draw_people(
    n: int,
    shares: dict[str, float],
    extract_day: int,
    rng: np.random.Generator,
    bias_factor: float,
    bias_mask_fn: Any,
) -> tuple[People, dict[str, np.ndarray]]:
    """Draw ``n`` people: typology, age, sex, ethnicity and latent traits.

    ``bias_mask_fn(ethnicity) -> bool array`` marks the group under the recording-bias knob.
    """
    names = [t.name for t in TYPOLOGIES]
    typ = rng.choice(len(names), size=n, p=np.array([shares[k] for k in names]))
    typ = typ.astype(np.int8)

    def arr(attr: str) -> np.ndarray:
        return typology_array(attr)[typ]

    age = np.clip(rng.normal(arr("age_mean"), arr("age_sd")), arr("age_low"), arr("age_high"))
    general = typ == 0
    # People known to police skew young: the general group's ages are 12 + gamma.
    age = np.where(general, np.clip(12 + rng.gamma(2.2, 9.5, n), 12, 85), age)
    dob_day = (extract_day - np.floor(age * 365.25)).astype(np.int64) - rng.integers(0, 30, n)
    female = rng.random(n) < arr("p_female")
    sex = np.where(female, "F", "M").astype(object)
    other_sex = rng.random(n)
    sex[other_sex < 0.002] = "X"
    sex[(other_sex >= 0.002) & (other_sex < 0.01)] = "U"
    ethnicity = rng.choice(
        np.array(["White", "Black", "Asian", "Mixed", "Other", "Not stated"], dtype=object),
        size=n,
        p=[0.79, 0.07, 0.08, 0.04, 0.015, 0.005],
    )
    frailty = rng.gamma(2.5, 1 / 2.5, n)
    need_drugs = rng.random(n) < arr("p_drugs")
    need_alcohol = rng.random(n) < arr("p_alcohol")
    need_mh = rng.random(n) < arr("p_mental_health")
    compliance = np.clip(rng.beta(arr("compliance") * 12, (1 - arr("compliance")) * 12), 0.2, 0.93)
    attitudes = rng.beta(arr("attitudes") * 8 + 0.2, (1 - arr("attitudes")) * 8 + 0.2)
    in_bias = bias_mask_fn(ethnicity)
    bias_extra = np.where(in_bias, bias_factor - 1.0, 0.0)
    p_true, p_bias = p_label_given_offence()
    # Label events per true offence: the person's own offences plus bias records.
    p_label = p_true[typ] + bias_extra * p_bias
    people = People(
        typ=typ,
        dob_day=dob_day,
        rate=arr("rate") * frailty,
        frailty=frailty,
        peak_age=arr("peak_age"),
        curve_power=arr("curve_power"),
        p_label=p_label,
        bias_extra=bias_extra,
        treated_effect=arr("treated_effect"),
        supervision_effect=arr("supervision_effect"),
        p_housing_loss=arr("p_housing_loss"),
        p_housing_loss_release=arr("p_housing_loss_release"),
        p_rehoused=arr("p_rehoused"),
        p_referral=np.where(need_drugs | need_alcohol | need_mh, arr("p_referral"), 0.0),
        dropout_share=arr("p_dropout_share"),
        compliance=compliance,
        custody_propensity=arr("custody_propensity"),
        need_drugs=need_drugs,
        need_alcohol=need_alcohol,
        need_mh=need_mh,
        attitudes=attitudes,
        p_domestic_abuse=arr("p_domestic_abuse"),
    )
    demo = {"sex": sex, "ethnicity": ethnicity, "recording_bias": in_bias}
    return people, demo
