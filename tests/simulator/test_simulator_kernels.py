"""The compiled step kernels equal the numpy reference in ``simulator.dynamics``, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.dynamics import (
    NONE,
    People,
    Schedule,
    age_curve,
    base_rate,
    draw_people,
    flags_at,
    state_effect,
    transitions,
)
from simulator.kernels import flags_into, move_chains, offending_rate
from simulator.typologies import TYPOLOGIES


def _people(n: int, rng: np.random.Generator) -> People:
    shares = {t.name: 1.0 / len(TYPOLOGIES) for t in TYPOLOGIES}
    people, _ = draw_people(n, shares, 20_000, rng, 1.5, lambda eth: eth == "Black")
    return people


def _schedule(n: int, rng: np.random.Generator) -> Schedule:
    s = Schedule.empty(n)
    for name in ("c0s", "c1s", "o0s", "o1s", "last_rel"):
        v = rng.integers(0, 30, n)
        setattr(s, name, np.where(rng.random(n) < 0.3, NONE, v).astype(np.int64))
    for start, ends in (("c0s", ("c0e", "c0lic", "c0sup")), ("c1s", ("c1e", "c1lic", "c1sup"))):
        st = getattr(s, start)
        e = st + rng.integers(0, 10, n)
        setattr(s, ends[0], np.where(st == NONE, NONE, e))
        setattr(s, ends[1], np.where(st == NONE, NONE, e + rng.integers(0, 20, n)))
        setattr(s, ends[2], np.where(st == NONE, NONE, e + rng.integers(0, 40, n)))
    s.o0e = np.where(s.o0s == NONE, NONE, s.o0s + rng.integers(0, 15, n))
    s.o1e = np.where(s.o1s == NONE, NONE, s.o1s + rng.integers(0, 15, n))
    s.last_lic = np.where(s.last_rel == NONE, NONE, s.last_rel + rng.integers(0, 20, n))
    s.last_sup = np.where(s.last_rel == NONE, NONE, s.last_rel + rng.integers(0, 40, n))
    return s


def test_flags_known_answer() -> None:
    # One person in custody for steps 2..4 (released at 5) on licence until step 9.
    s = Schedule.empty(1)
    s.c0s[:], s.c0e[:], s.c0lic[:], s.c0sup[:] = 2, 5, 9, 9
    buf = np.zeros((6, 1), dtype=bool)
    assert not flags_into(s, 3, buf).free[0]
    fl = flags_into(s, 5, buf)
    assert fl.free[0] and fl.released[0] and fl.licence[0] and fl.supervised[0] and fl.recent[0]
    fl = flags_into(s, 9, buf)
    assert fl.free[0] and not fl.licence[0] and not fl.supervised[0] and fl.recent[0]


@pytest.mark.parametrize("j", [0, 3, 11, 25, 40])
def test_flags_equal_reference(j: int) -> None:
    s = _schedule(5_000, np.random.default_rng(j))
    ref = flags_at(s, j)
    got = flags_into(s, j, np.zeros((6, 5_000), dtype=bool))
    for name in ("free", "released", "licence", "supervised", "recent", "trigger"):
        np.testing.assert_array_equal(getattr(got, name), getattr(ref, name), err_msg=name)


def test_rate_and_moves_equal_reference() -> None:
    n = 20_000
    rng = np.random.default_rng(7)
    p = _people(n, rng)
    s = _schedule(n, rng)
    h = (rng.random(n) < 0.3).astype(np.int8)
    t = rng.integers(0, 3, n).astype(np.int8)
    r = (rng.random(n) < 0.1).astype(np.int8)
    unacc = (rng.random(n) < 0.2).astype(np.float64)
    bufs = np.zeros((2, 6, n), dtype=bool)
    j, day0, length = 10, 19_000, 8
    fl, nxt = flags_into(s, j, bufs[0]), flags_into(s, j + 1, bufs[1])
    age = (day0 - p.dob_day) / 365.25
    ref = base_rate(p, age, length, flags_at(s, j)) * state_effect(p, h, t) * (1 - r)
    got = offending_rate(p, age_curve(age, p.peak_age, p.curve_power), length, bufs[0], h, t, r)
    assert (ref > 0).any()
    np.testing.assert_array_equal(got.view(np.int64), ref.view(np.int64))

    tr = transitions(p, fl, nxt, unacc)
    u = rng.random((3, n))
    h_ref = np.where(h == 0, u[0] < tr.h01, u[0] >= tr.h10).astype(np.int8)
    t_ref = t.copy()
    t_ref[(t == 0) & (u[1] < tr.t_ref)] = 1
    t_ref[(t == 1) & (u[1] < tr.t_done)] = 0
    t_ref[(t == 1) & (u[1] >= tr.t_done) & (u[1] < tr.t_done + tr.t_drop)] = 2
    t_ref[(t == 2) & (u[1] < tr.t_back)] = 0
    r_ref = np.where(r == 0, u[2] < tr.r01, u[2] >= tr.r10).astype(np.int8)
    h_new, t_new, r_new = move_chains(p, h, t, r, u, bufs[0], bufs[1], unacc)
    np.testing.assert_array_equal(h_new, h_ref)
    np.testing.assert_array_equal(t_new, t_ref)
    np.testing.assert_array_equal(r_new, r_ref)
    assert (h_new != h).any() and (t_new != t).any() and (r_new != r).any()


def test_moves_at_the_edges() -> None:
    # Uniform 0 moves every chain that can move; uniform just below 1 moves only the forced.
    n = 3
    p = _people(n, np.random.default_rng(1))
    h = np.array([0, 1, 0], dtype=np.int8)
    t = np.array([2, 2, 2], dtype=np.int8)
    r = np.array([1, 1, 1], dtype=np.int8)
    prev = np.zeros((6, n), dtype=bool)
    nxt = np.zeros((6, n), dtype=bool)
    nxt[0] = [True, True, False]  # the third is still in custody: return is certain
    unacc = np.zeros(n)
    _, t0, r0 = move_chains(p, h, t, r, np.zeros((3, n)), prev, nxt, unacc)
    np.testing.assert_array_equal(t0, [0, 0, 0])
    np.testing.assert_array_equal(r0, [0, 0, 0])
    _, t1, r1 = move_chains(p, h, t, r, np.full((3, n), 0.999), prev, nxt, unacc)
    np.testing.assert_array_equal(t1, [2, 2, 2])
    np.testing.assert_array_equal(r1, [1, 1, 0])
