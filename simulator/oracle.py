"""The exact oracle: P(contract label = 1 | everything the simulator knows at t).

Given the state at the end of the step whose last day is ``t``, the label is 1 when at
least one offence in (t, t + 365] is proven within 183 days. Such offences arrive as a
thinned Poisson process with rate ``base_rate * state_effect * p_label``; the states
follow three independent Markov chains (housing, treatment, recall) on a schedule fixed
at t. So

    P(label = 0) = E[ prod_j exp(-rate_j(state_j) * overlap_j / length_j) ]

which a forward pass over the 2 x 3 x 2 joint chain computes exactly, one step at a time,
for all people at once. ``overlap_j`` is the part of the last step inside the window.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from iom_contract import LABEL_WINDOW_DAYS
from simulator.dynamics import (
    DROPPED_OUT_EFFECT,
    HOUSING_EFFECT,
    MIN_OFFENDING_AGE,
    P_ACCEPTABLE_ABSENCE,
    P_APPOINTMENT,
    P_DROPOUT_RECOVERS,
    P_RECALL_AFTER_ABSENCE,
    P_RECALL_BASE,
    P_RECALL_RETURN,
    P_REFERRAL_AT_TRIGGER,
    P_TREATMENT_EXIT,
    RECENT_RELEASE_EFFECT,
    People,
    Schedule,
    Transitions,
    base_rate,
    expected_unacceptable,
    flags_at,
    state_effect,
    transitions,
)
from simulator.kernels import flags_scalar


def _apply(v: np.ndarray, tr: Transitions) -> np.ndarray:
    """One step of the joint chain; ``v`` has shape (n, H=2, T=3, R=2)."""
    h01, h10 = tr.h01[:, None, None], tr.h10[:, None, None]
    v = np.stack([v[:, 0] * (1 - h01) + v[:, 1] * h10, v[:, 0] * h01 + v[:, 1] * (1 - h10)], axis=1)
    ref, done, drop, back = (x[:, None, None] for x in (tr.t_ref, tr.t_done, tr.t_drop, tr.t_back))
    n, e, d = v[:, :, 0], v[:, :, 1], v[:, :, 2]
    v = np.stack(
        [n * (1 - ref) + e * done + d * back, n * ref + e * (1 - done - drop), e * drop + d * (1 - back)],
        axis=2,
    )
    r01, r10 = tr.r01[:, None, None], tr.r10[:, None, None]
    f, c = v[..., 0], v[..., 1]
    return np.stack([f * (1 - r01) + c * r10, f * r01 + c * (1 - r10)], axis=3)


def label_probability(
    p: People,
    s: Schedule,
    h: np.ndarray,
    t: np.ndarray,
    r: np.ndarray,
    unacceptable_now: np.ndarray,
    step: int,
    t_day: int,
    grid_start: np.ndarray,
    grid_length: np.ndarray,
) -> np.ndarray:
    """Exact P(label = 1) at the end of ``step`` (whose last day is ``t_day``).

    Parameters
    ----------
    p, s
        Traits and schedules of the people to evaluate (already subset).
    h, t, r
        Their housing, treatment and recall states during ``step``.
    unacceptable_now
        1 where the person missed an appointment without excuse during ``step``.
    """
    end_day = t_day + LABEL_WINDOW_DAYS
    if grid_start[-1] + grid_length[-1] - 1 < end_day:
        raise ValueError("the step grid ends before the label window does")
    n = p.rate.size
    v = np.zeros((n, 2, 3, 2))
    v[np.arange(n), h, t, r] = 1.0
    effects = np.stack([state_effect(p, hh, tt) for hh in (0, 1) for tt in (0, 1, 2)], axis=1).reshape(
        n, 2, 3
    )
    prev = flags_at(s, step)
    j = step + 1
    unacc: np.ndarray = unacceptable_now.astype(np.float64)
    while j < grid_start.size and grid_start[j] <= end_day:
        nxt = flags_at(s, j)
        v = _apply(v, transitions(p, prev, nxt, unacc))
        age = (grid_start[j] - p.dob_day) / 365.25
        overlap = min(grid_start[j] + grid_length[j] - 1, end_day) - grid_start[j] + 1
        lam = base_rate(p, age, grid_length[j], nxt) * p.p_label * (overlap / grid_length[j])
        v[..., 0] *= np.exp(-lam[:, None, None] * effects)
        unacc = expected_unacceptable(p, nxt)
        prev = nxt
        j += 1
    # Probability mass that survives is 1 - P; clip rounding error (1e-16) at the ends.
    return np.clip(1.0 - v.sum(axis=(1, 2, 3)), 0.0, 1.0)


# ---------------------------------------------------------------------------------------
# The same recursion compiled with numba: one person per loop iteration, twelve states in
# registers. ``label_probability`` above is the reference; a test holds the two equal.
# ---------------------------------------------------------------------------------------

_SCHEDULE_FIELDS = (
    "c0s", "c0e", "c0lic", "c0sup", "c1s", "c1e", "c1lic", "c1sup", "o0s", "o0e", "o1s", "o1e",
    "last_rel", "last_lic", "last_sup",
)  # fmt: skip


@njit(cache=True)
def _flags(sc: np.ndarray, j: int) -> tuple[bool, bool, bool, bool, bool, bool]:
    return flags_scalar(
        sc[0], sc[1], sc[2], sc[3], sc[4], sc[5], sc[6], sc[7], sc[8], sc[9], sc[10], sc[11], sc[12], sc[13],
        sc[14], j,
    )  # fmt: skip


@njit(parallel=True, cache=True)
def _kernel(
    traits: np.ndarray,
    spells: np.ndarray,
    h0: np.ndarray,
    t0: np.ndarray,
    r0: np.ndarray,
    unacc0: np.ndarray,
    step: int,
    end_day: int,
    g_start: np.ndarray,
    g_len: np.ndarray,
    out: np.ndarray,
) -> None:
    n_steps = g_start.size
    for i in prange(traits.shape[0]):
        rate, dob, peak, power, p_label, treated, sup_eff = traits[i, 0:7]
        p_loss, p_loss_rel, p_reh, p_ref, drop_share, compliance = traits[i, 7:13]
        sc = spells[i]
        v = np.zeros(12)  # index h * 6 + t * 2 + r
        v[h0[i] * 6 + t0[i] * 2 + r0[i]] = 1.0
        _, _, lic_p, _, _, _ = _flags(sc, step)
        unacc = unacc0[i]
        treat = (1.0, treated, DROPPED_OUT_EFFECT)
        j = step + 1
        while j < n_steps and g_start[j] <= end_day:
            free, released, lic_n, supervised, recent, trigger = _flags(sc, j)
            h01 = 1.0 - (1.0 - p_loss) * (1.0 - p_loss_rel * released)
            h10 = p_reh
            ref = 1.0 - (1.0 - p_ref) * (1.0 - P_REFERRAL_AT_TRIGGER * trigger * (p_ref > 0))
            done = P_TREATMENT_EXIT * (1.0 - drop_share)
            drop = P_TREATMENT_EXIT * drop_share
            back = P_DROPOUT_RECOVERS
            r01 = (lic_p and lic_n) * (P_RECALL_BASE + unacc * (P_RECALL_AFTER_ABSENCE - P_RECALL_BASE))
            r10 = P_RECALL_RETURN if free else 1.0
            # The chains move independently: apply housing, then treatment, then recall.
            for t in range(3):
                for r in range(2):
                    a, b = v[t * 2 + r], v[6 + t * 2 + r]
                    v[t * 2 + r] = a * (1.0 - h01) + b * h10
                    v[6 + t * 2 + r] = a * h01 + b * (1.0 - h10)
            for h in range(2):
                for r in range(2):
                    k = h * 6 + r
                    no, en, dr = v[k], v[k + 2], v[k + 4]
                    v[k] = no * (1.0 - ref) + en * done + dr * back
                    v[k + 2] = no * ref + en * (1.0 - done - drop)
                    v[k + 4] = en * drop + dr * (1.0 - back)
            for k in range(0, 12, 2):
                f, c = v[k], v[k + 1]
                v[k] = f * (1.0 - r01) + c * r10
                v[k + 1] = f * r01 + c * (1.0 - r10)
            age = (g_start[j] - dob) / 365.25
            if age < MIN_OFFENDING_AGE:
                curve = 0.0
            else:
                q = age / peak
                curve = q**power * np.exp(power * (1.0 - q))
            overlap = min(g_start[j] + g_len[j] - 1, end_day) - g_start[j] + 1
            lam = rate * curve * (g_len[j] / 365.25) * (sup_eff if supervised else 1.0)
            lam = lam * (RECENT_RELEASE_EFFECT if recent else 1.0) * free * p_label * (overlap / g_len[j])
            for h in range(2):
                for t in range(3):
                    v[h * 6 + t * 2] *= np.exp(-lam * HOUSING_EFFECT[h] * treat[t])
            unacc = supervised * P_APPOINTMENT * min(max(1.0 - compliance - P_ACCEPTABLE_ABSENCE, 0.0), 1.0)
            lic_p = lic_n
            j += 1
        out[i] = min(max(1.0 - v.sum(), 0.0), 1.0)


def label_probability_fast(
    p: People,
    s: Schedule,
    h: np.ndarray,
    t: np.ndarray,
    r: np.ndarray,
    unacceptable_now: np.ndarray,
    step: int,
    t_day: int,
    grid_start: np.ndarray,
    grid_length: np.ndarray,
) -> np.ndarray:
    """``label_probability``, compiled; same arguments, same answer to rounding."""
    end_day = t_day + LABEL_WINDOW_DAYS
    if grid_start[-1] + grid_length[-1] - 1 < end_day:
        raise ValueError("the step grid ends before the label window does")
    traits = np.stack(
        [p.rate, p.dob_day.astype(np.float64), p.peak_age, p.curve_power, p.p_label, p.treated_effect,
         p.supervision_effect, p.p_housing_loss, p.p_housing_loss_release, p.p_rehoused, p.p_referral,
         p.dropout_share, p.compliance],
        axis=1,
    ).astype(np.float64)  # fmt: skip
    sched = np.stack([getattr(s, f) for f in _SCHEDULE_FIELDS], axis=1).astype(np.int64)
    out = np.empty(p.rate.size)
    _kernel(
        np.ascontiguousarray(traits), np.ascontiguousarray(sched), h.astype(np.int64), t.astype(np.int64),
        r.astype(np.int64), unacceptable_now.astype(np.float64), step, end_day, grid_start.astype(np.int64),
        grid_length.astype(np.int64), out,
    )  # fmt: skip
    return out
