"""Compiled per-step kernels for the simulation loop.

Each kernel fuses, into one pass over people, dense work that ``simulator.dynamics``
states as numpy expressions (``flags_at``, ``base_rate`` and ``state_effect``,
``transitions`` and the chain moves). The numpy functions stay the reference: the
kernels repeat their arithmetic in the same order, so every value is bitwise equal,
and the random streams (drawn by numpy outside) are consumed exactly as before.
``tests/simulator/test_simulator_kernels.py`` holds the two equal.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from simulator.dynamics import (
    DROPPED_OUT_EFFECT,
    HOUSING_EFFECT,
    P_DROPOUT_RECOVERS,
    P_RECALL_AFTER_ABSENCE,
    P_RECALL_BASE,
    P_RECALL_RETURN,
    P_REFERRAL_AT_TRIGGER,
    P_TREATMENT_EXIT,
    RECENT_RELEASE_EFFECT,
    RECENT_RELEASE_STEPS,
    Flags,
    People,
    Schedule,
)


@njit(cache=True)
def flags_scalar(
    c0s: int,
    c0e: int,
    c0lic: int,
    c0sup: int,
    c1s: int,
    c1e: int,
    c1lic: int,
    c1sup: int,
    o0s: int,
    o0e: int,
    o1s: int,
    o1e: int,
    lrel: int,
    llic: int,
    lsup: int,
    j: int,
) -> tuple[bool, bool, bool, bool, bool, bool]:
    """``dynamics.flags_at`` for one person: (free, released, licence, supervised, recent, trigger).

    The one compiled statement of the schedule rules, used by the simulation loop and
    by the oracle's recursion.
    """  # fmt: skip
    free = not ((c0s <= j < c0e) or (c1s <= j < c1e))
    released = c0e == j or c1e == j
    licence = free and ((lrel <= j < llic) or (c0e <= j < c0lic) or (c1e <= j < c1lic))
    on_order = (o0s <= j < o0e) or (o1s <= j < o1e)
    post = (lrel <= j < lsup) or (c0e <= j < c0sup) or (c1e <= j < c1sup)
    recent = free and (
        (j - lrel) < RECENT_RELEASE_STEPS
        or (c0e <= j and (j - c0e) < RECENT_RELEASE_STEPS)
        or (c1e <= j and (j - c1e) < RECENT_RELEASE_STEPS)
    )
    trigger = released or o0s == j or o1s == j
    return free, released, licence, free and (licence or post or on_order), recent, trigger


@njit(cache=True)
def _flags_kernel(
    c0s: np.ndarray,
    c0e: np.ndarray,
    c0lic: np.ndarray,
    c0sup: np.ndarray,
    c1s: np.ndarray,
    c1e: np.ndarray,
    c1lic: np.ndarray,
    c1sup: np.ndarray,
    o0s: np.ndarray,
    o0e: np.ndarray,
    o1s: np.ndarray,
    o1e: np.ndarray,
    lrel: np.ndarray,
    llic: np.ndarray,
    lsup: np.ndarray,
    j: int,
    out: np.ndarray,
) -> None:
    for i in range(c0s.size):
        flags = flags_scalar(
            c0s[i], c0e[i], c0lic[i], c0sup[i], c1s[i], c1e[i], c1lic[i], c1sup[i],
            o0s[i], o0e[i], o1s[i], o1e[i], lrel[i], llic[i], lsup[i], j,
        )  # fmt: skip
        for k in range(6):
            out[k, i] = flags[k]


def flags_into(s: Schedule, j: int, out: np.ndarray) -> Flags:
    """``dynamics.flags_at(s, j)``, written into ``out`` (bool, shape (6, n)); views of it."""
    _flags_kernel(
        s.c0s, s.c0e, s.c0lic, s.c0sup, s.c1s, s.c1e, s.c1lic, s.c1sup,
        s.o0s, s.o0e, s.o1s, s.o1e, s.last_rel, s.last_lic, s.last_sup, j, out,
    )  # fmt: skip
    return Flags(out[0], out[1], out[2], out[3], out[4], out[5])


@njit(cache=True)
def _rate_kernel(
    rate: np.ndarray,
    curve: np.ndarray,
    step_factor: float,
    sup_eff: np.ndarray,
    treated: np.ndarray,
    fl: np.ndarray,
    h: np.ndarray,
    t: np.ndarray,
    r: np.ndarray,
    out: np.ndarray,
) -> None:
    for i in range(rate.size):
        # Same association as base_rate(...) * state_effect(...) * (1 - R).
        x = rate[i] * curve[i]
        x = x * step_factor
        x = x * (sup_eff[i] if fl[3, i] else 1.0)
        x = x * (RECENT_RELEASE_EFFECT if fl[4, i] else 1.0)
        x = x * (1.0 if fl[0, i] else 0.0)
        housing = HOUSING_EFFECT[1] if h[i] == 1 else HOUSING_EFFECT[0]
        ti = t[i]
        treat = 1.0 if ti == 0 else (treated[i] if ti == 1 else DROPPED_OUT_EFFECT)
        x = x * (housing * treat)
        out[i] = x * (1.0 - r[i])


def offending_rate(
    p: People, curve: np.ndarray, length: int, fl_buf: np.ndarray, h: np.ndarray, t: np.ndarray, r: np.ndarray
) -> np.ndarray:
    """``base_rate(p, age, length, fl) * state_effect(p, h, t) * (1 - r)``, age curve given.

    ``fl_buf`` is the (6, n) array behind the step's flags (``flags_into``).
    """
    out = np.empty(p.rate.size)
    step_factor = float(np.asarray(length) / 365.25)
    _rate_kernel(p.rate, curve, step_factor, p.supervision_effect, p.treated_effect, fl_buf, h, t, r, out)
    return out


@njit(cache=True)
def _move_kernel(
    h: np.ndarray,
    t: np.ndarray,
    r: np.ndarray,
    u: np.ndarray,
    p_loss: np.ndarray,
    p_loss_rel: np.ndarray,
    p_reh: np.ndarray,
    p_ref: np.ndarray,
    drop_share: np.ndarray,
    prev: np.ndarray,
    nxt: np.ndarray,
    unacc: np.ndarray,
    h_new: np.ndarray,
    t_new: np.ndarray,
    r_new: np.ndarray,
) -> None:
    for i in range(h.size):
        u0, u1, u2 = u[0, i], u[1, i], u[2, i]
        if h[i] == 0:
            h01 = 1.0 - (1.0 - p_loss[i]) * (1.0 - p_loss_rel[i] * (1.0 if nxt[1, i] else 0.0))
            h_new[i] = 1 if u0 < h01 else 0
        else:
            h_new[i] = 1 if u0 >= p_reh[i] else 0
        ti = t[i]
        tn = ti
        if ti == 0:
            trig = P_REFERRAL_AT_TRIGGER * (1.0 if nxt[5, i] else 0.0)
            t_ref = 1.0 - (1.0 - p_ref[i]) * (1.0 - trig * (1.0 if p_ref[i] > 0 else 0.0))
            if u1 < t_ref:
                tn = 1
        elif ti == 1:
            t_done = P_TREATMENT_EXIT * (1.0 - drop_share[i])
            t_drop = P_TREATMENT_EXIT * drop_share[i]
            if u1 < t_done:
                tn = 0
            elif u1 < t_done + t_drop:
                tn = 2
        elif ti == 2 and u1 < P_DROPOUT_RECOVERS:
            tn = 0
        t_new[i] = tn
        if r[i] == 0:
            eligible = 1.0 if (prev[2, i] and nxt[2, i]) else 0.0
            r01 = eligible * (P_RECALL_BASE + unacc[i] * (P_RECALL_AFTER_ABSENCE - P_RECALL_BASE))
            r_new[i] = 1 if u2 < r01 else 0
        else:
            r10 = P_RECALL_RETURN if nxt[0, i] else 1.0
            r_new[i] = 1 if u2 >= r10 else 0


def move_chains(
    p: People,
    h: np.ndarray,
    t: np.ndarray,
    r: np.ndarray,
    u: np.ndarray,
    prev_buf: np.ndarray,
    nxt_buf: np.ndarray,
    unacc: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The three chains moved with uniforms ``u`` (3, n) under ``dynamics.transitions``.

    ``prev_buf`` and ``nxt_buf`` are the (6, n) flag arrays of the two steps.
    """
    h_new = np.empty_like(h)
    t_new = np.empty_like(t)
    r_new = np.empty_like(r)
    _move_kernel(
        h, t, r, u, p.p_housing_loss, p.p_housing_loss_release, p.p_rehoused, p.p_referral,
        p.dropout_share, prev_buf, nxt_buf, unacc, h_new, t_new, r_new,
    )  # fmt: skip
    return h_new, t_new, r_new
