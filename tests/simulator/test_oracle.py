"""Known-answer tests for the exact oracle on people whose answer can be done by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simulator.dynamics import HOUSING_EFFECT, People, Schedule
from simulator.oracle import label_probability
from simulator.world import make_grid, to_day


def _person(**over: float) -> People:
    base = dict(
        typ=0,
        dob_day=to_day("1990-01-01"),
        rate=2.0,
        frailty=1.0,
        peak_age=25.0,
        curve_power=0.0,
        p_label=0.4,
        bias_extra=0.0,
        treated_effect=0.5,
        supervision_effect=1.0,
        p_housing_loss=0.0,
        p_housing_loss_release=0.0,
        p_rehoused=0.0,
        p_referral=0.0,
        dropout_share=0.5,
        compliance=0.9,
        custody_propensity=0.0,
        need_drugs=False,
        need_alcohol=False,
        need_mh=False,
        attitudes=0.1,
        p_domestic_abuse=0.1,
    )
    base.update(over)
    return People(**{k: np.array([v]) for k, v in base.items()})


GRID = make_grid(pd.Timestamp("2020-01-01"), pd.Timestamp("2022-12-01"))
T_DAY = to_day("2020-06-30")
STEP = int(GRID.step_of_day(np.array([T_DAY]))[0])


def _oracle(p: People, h: int = 0, t: int = 0, r: int = 0, sched: Schedule | None = None) -> float:
    s = sched or Schedule.empty(1)
    z = np.zeros(1, dtype=np.int64)
    return float(
        label_probability(p, s, z + h, z + t, z + r, np.zeros(1), STEP, T_DAY, GRID.start, GRID.length)[0]
    )


def test_constant_rate_is_one_minus_exp() -> None:
    # curve_power 0 makes the age curve flat: 2 offences a year, 40% proven in time,
    # over exactly 365 days: P = 1 - exp(-2 * 0.4 * 365 / 365.25).
    assert GRID.end[STEP] == T_DAY
    assert _oracle(_person()) == pytest.approx(1 - np.exp(-0.8 * 365 / 365.25), abs=1e-12)


def test_unstable_housing_that_never_settles_scales_the_rate() -> None:
    expected = 1 - np.exp(-0.8 * HOUSING_EFFECT[1] * 365 / 365.25)
    assert _oracle(_person(), h=1) == pytest.approx(expected, abs=1e-12)


def test_housing_that_settles_at_once_is_settled() -> None:
    # Transitions happen between steps, before the first step of the window.
    assert _oracle(_person(p_rehoused=1.0), h=1) == pytest.approx(_oracle(_person()), abs=1e-12)


def test_custody_for_whole_window_means_no_offending() -> None:
    s = Schedule.empty(1)
    s.c0s[:] = STEP - 5
    s.c0e[:] = STEP + 200
    s.c0lic[:] = STEP + 200
    s.c0sup[:] = STEP + 200
    assert _oracle(_person(), sched=s) == 0.0


def test_recalled_person_who_returns_for_sure_next_step() -> None:
    # Recalled during the as-of step, back out at the next boundary with probability
    # 0.25 a step: the expected free time follows a geometric law, so P is strictly
    # between zero and the free person's probability.
    free = _oracle(_person())
    recalled = _oracle(_person(), r=1)
    assert 0.0 < recalled < free


def test_treatment_engagement_is_protective_and_mixing_is_exact() -> None:
    # Engaged for good (no exits: dropout_share irrelevant with exit prob fixed > 0),
    # so compare with the two extremes: never treated and treated throughout.
    never = _oracle(_person())
    engaged = _oracle(_person(), t=1)
    always = 1 - np.exp(-0.8 * 0.5 * 365 / 365.25)
    assert always < engaged < never


def test_probability_is_monotone_in_rate() -> None:
    ps = [_oracle(_person(rate=r)) for r in (0.1, 0.5, 1.0, 3.0)]
    assert ps == sorted(ps)
    assert all(0 < p < 1 for p in ps)
