"""Latent offender typologies and the parameters of their careers.

The four named types follow the North Staffordshire IOM evaluation; ``general`` is the
lower-rate majority of people known to police. Every number here is a modelling choice
of the simulator, stated once, so a reader can see what world the pipeline is tested on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from iom_contract import OFFENCE_GROUPS


@dataclass(frozen=True)
class Typology:
    """Parameters of one latent typology.

    Rates are per year at the peak of the typology's age-crime curve; probabilities
    per simulation step (about a week) unless named otherwise.
    """

    name: str
    share: float
    # Age at the extract date: normal(mean, sd) clipped to [low, high].
    age_mean: float
    age_sd: float
    age_low: float
    age_high: float
    p_female: float
    # Offending: rate at the age-curve peak (true offences a year), curve peak and sharpness.
    rate: float
    peak_age: float
    curve_power: float
    # Offence mix over iom_contract.OFFENCE_GROUPS (normalised on use).
    mix: tuple[float, ...]
    p_domestic_abuse: float
    # Needs (person-level traits, probabilities of having the need).
    p_drugs: float
    p_alcohol: float
    p_mental_health: float
    attitudes: float  # mean of the pro-criminal attitudes trait, 0..1
    compliance: float  # mean probability of attending a supervision appointment
    # Multipliers on the offending rate.
    treated_effect: float  # while engaged in treatment (1 = no benefit: not ready for change)
    supervision_effect: float  # while on an order or licence
    # State dynamics.
    p_housing_loss: float  # settled -> unstable, a step
    p_housing_loss_release: float  # settled -> unstable at a release from custody
    p_rehoused: float  # unstable -> settled, a step
    p_referral: float  # none -> in treatment, a step (people with a need)
    p_dropout_share: float  # share of treatment exits that are drop-outs
    custody_propensity: float  # added to the log-odds of a custodial sentence
    p_in_custody_at_start: float


def _mix(**weights: float) -> tuple[float, ...]:
    unknown = set(weights) - set(OFFENCE_GROUPS)
    if unknown:
        raise ValueError(f"unknown offence groups {unknown}")
    return tuple(weights.get(g, 0.0) for g in OFFENCE_GROUPS)


TYPOLOGIES: tuple[Typology, ...] = (
    Typology(
        name="general",
        share=0.70,
        age_mean=34,
        age_sd=13,
        age_low=12,
        age_high=80,
        p_female=0.18,
        rate=0.40,
        peak_age=19,
        curve_power=2.5,
        mix=_mix(
            theft=0.22,
            violence_without_injury=0.16,
            violence_with_injury=0.08,
            public_order=0.10,
            criminal_damage=0.10,
            drugs=0.08,
            fraud=0.06,
            vehicle_crime=0.05,
            burglary=0.04,
            other=0.06,
            possession_of_weapons=0.02,
            robbery=0.01,
            sexual=0.02,
        ),
        p_domestic_abuse=0.25,
        p_drugs=0.12,
        p_alcohol=0.12,
        p_mental_health=0.12,
        attitudes=0.2,
        compliance=0.86,
        treated_effect=0.65,
        supervision_effect=0.85,
        p_housing_loss=0.0015,
        p_housing_loss_release=0.2,
        p_rehoused=0.04,
        p_referral=0.004,
        p_dropout_share=0.35,
        custody_propensity=0.0,
        p_in_custody_at_start=0.01,
    ),
    Typology(
        name="young_last_chance",
        share=0.08,
        age_mean=21.5,
        age_sd=2.5,
        age_low=18,
        age_high=26,
        p_female=0.10,
        rate=2.0,
        peak_age=18,
        curve_power=3.0,
        mix=_mix(
            theft=0.18,
            burglary=0.12,
            robbery=0.08,
            vehicle_crime=0.10,
            violence_with_injury=0.10,
            violence_without_injury=0.10,
            criminal_damage=0.08,
            drugs=0.08,
            possession_of_weapons=0.06,
            public_order=0.06,
            fraud=0.01,
            sexual=0.01,
            other=0.02,
        ),
        p_domestic_abuse=0.15,
        p_drugs=0.35,
        p_alcohol=0.15,
        p_mental_health=0.15,
        attitudes=0.45,
        compliance=0.72,
        treated_effect=0.6,
        supervision_effect=0.8,
        p_housing_loss=0.004,
        p_housing_loss_release=0.25,
        p_rehoused=0.04,
        p_referral=0.006,
        p_dropout_share=0.5,
        custody_propensity=-0.6,
        p_in_custody_at_start=0.0,
    ),
    Typology(
        name="older_prison",
        share=0.07,
        age_mean=45,
        age_sd=6.5,
        age_low=33,
        age_high=62,
        p_female=0.08,
        rate=1.3,
        peak_age=30,
        curve_power=1.5,
        mix=_mix(
            theft=0.35,
            burglary=0.12,
            drugs=0.10,
            violence_without_injury=0.08,
            public_order=0.08,
            criminal_damage=0.06,
            fraud=0.04,
            other=0.07,
            vehicle_crime=0.04,
            violence_with_injury=0.03,
            robbery=0.01,
            possession_of_weapons=0.01,
            sexual=0.01,
        ),
        p_domestic_abuse=0.15,
        p_drugs=0.7,
        p_alcohol=0.35,
        p_mental_health=0.3,
        attitudes=0.35,
        compliance=0.78,
        treated_effect=0.55,
        supervision_effect=0.85,
        p_housing_loss=0.006,
        p_housing_loss_release=0.45,
        p_rehoused=0.03,
        p_referral=0.008,
        p_dropout_share=0.35,
        custody_propensity=1.2,
        p_in_custody_at_start=0.25,
    ),
    Typology(
        name="vulnerable",
        share=0.07,
        age_mean=35,
        age_sd=8,
        age_low=20,
        age_high=58,
        p_female=0.32,
        rate=1.45,
        peak_age=25,
        curve_power=1.5,
        mix=_mix(
            theft=0.30,
            public_order=0.14,
            criminal_damage=0.14,
            violence_without_injury=0.12,
            drugs=0.08,
            other=0.08,
            violence_with_injury=0.05,
            burglary=0.04,
            fraud=0.02,
            possession_of_weapons=0.01,
            vehicle_crime=0.01,
            robbery=0.005,
            sexual=0.005,
        ),
        p_domestic_abuse=0.2,
        p_drugs=0.75,
        p_alcohol=0.5,
        p_mental_health=0.85,
        attitudes=0.2,
        compliance=0.55,
        treated_effect=0.6,
        supervision_effect=0.85,
        p_housing_loss=0.015,
        p_housing_loss_release=0.6,
        p_rehoused=0.015,
        p_referral=0.01,
        p_dropout_share=0.55,
        custody_propensity=0.0,
        p_in_custody_at_start=0.05,
    ),
    Typology(
        name="control_only",
        share=0.08,
        age_mean=29,
        age_sd=5,
        age_low=20,
        age_high=45,
        p_female=0.05,
        rate=1.55,
        peak_age=23,
        curve_power=2.0,
        mix=_mix(
            violence_with_injury=0.18,
            violence_without_injury=0.14,
            drugs=0.16,
            possession_of_weapons=0.10,
            robbery=0.08,
            burglary=0.06,
            theft=0.08,
            public_order=0.06,
            criminal_damage=0.05,
            vehicle_crime=0.04,
            other=0.03,
            fraud=0.01,
            sexual=0.01,
        ),
        p_domestic_abuse=0.35,
        p_drugs=0.3,
        p_alcohol=0.25,
        p_mental_health=0.12,
        attitudes=0.85,
        compliance=0.6,
        treated_effect=0.97,
        supervision_effect=1.0,
        p_housing_loss=0.004,
        p_housing_loss_release=0.3,
        p_rehoused=0.04,
        p_referral=0.003,
        p_dropout_share=0.7,
        custody_propensity=0.5,
        p_in_custody_at_start=0.08,
    ),
)

TYPOLOGY_NAMES: tuple[str, ...] = tuple(t.name for t in TYPOLOGIES)


def typology_array(attr: str) -> np.ndarray:
    """One parameter across typologies, indexed by typology code."""
    return np.array([getattr(t, attr) for t in TYPOLOGIES], dtype=np.float64)


def mix_matrix() -> np.ndarray:
    """Offence-group mix, shape (n_typologies, n_groups), rows summing to 1."""
    m = np.array([t.mix for t in TYPOLOGIES], dtype=np.float64)
    return m / m.sum(axis=1, keepdims=True)


# --- Offences: gravity, outcomes and delays by Home Office group -----------------------
# Gravity distribution over 1..6 for each group (police gravity scores).
GRAVITY = {
    "burglary": (0, 0.1, 0.5, 0.4, 0, 0),
    "robbery": (0, 0, 0, 0.2, 0.7, 0.1),
    "theft": (0.5, 0.4, 0.1, 0, 0, 0),
    "vehicle_crime": (0.2, 0.5, 0.3, 0, 0, 0),
    "violence_with_injury": (0, 0, 0.2, 0.5, 0.25, 0.05),
    "violence_without_injury": (0.1, 0.5, 0.35, 0.05, 0, 0),
    "sexual": (0, 0, 0.1, 0.2, 0.4, 0.3),
    "criminal_damage": (0.5, 0.35, 0.15, 0, 0, 0),
    "drugs": (0.3, 0.3, 0.2, 0.15, 0.05, 0),
    "public_order": (0.6, 0.3, 0.1, 0, 0, 0),
    "possession_of_weapons": (0, 0.1, 0.3, 0.5, 0.1, 0),
    "fraud": (0.2, 0.4, 0.3, 0.1, 0, 0),
    "other": (0.4, 0.3, 0.2, 0.1, 0, 0),
}
# Outcome probabilities (convicted, caution, community_resolution, no_further_action):
# most recorded offences are not proven; possession offences are found in hand.
OUTCOME_PROBS = {
    "burglary": (0.22, 0.03, 0.02, 0.73),
    "robbery": (0.30, 0.02, 0.01, 0.67),
    "theft": (0.34, 0.08, 0.14, 0.44),
    "vehicle_crime": (0.24, 0.04, 0.05, 0.67),
    "violence_with_injury": (0.26, 0.06, 0.05, 0.63),
    "violence_without_injury": (0.20, 0.07, 0.10, 0.63),
    "sexual": (0.15, 0.02, 0.0, 0.83),
    "criminal_damage": (0.22, 0.07, 0.18, 0.53),
    "drugs": (0.45, 0.15, 0.20, 0.20),
    "public_order": (0.30, 0.10, 0.15, 0.45),
    "possession_of_weapons": (0.55, 0.10, 0.02, 0.33),
    "fraud": (0.20, 0.05, 0.03, 0.72),
    "other": (0.25, 0.08, 0.10, 0.57),
}
# Days from offence to outcome. Convictions: lognormal (median 75 days, sigma 0.7),
# so about 10% take longer than the 183 days the reoffending measure allows.
CONVICTION_DELAY_MEDIAN = 75.0
CONVICTION_DELAY_SIGMA = 0.7
CAUTION_DELAY_MAX = 28  # cautions and community resolutions: 0..28 days
NFA_DELAY_MAX = 120  # no further action: 1..120 days
# Extra records under the recording-bias knob: weak cases, mostly not proven.
BIAS_OUTCOME_PROBS = (0.0, 0.10, 0.20, 0.70)
