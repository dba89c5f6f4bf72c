"""Run the world forward, step by step, vectorised over people.

The loop is over steps (about 48 a year), never over people. Each step draws from its
own generator seeded by (seed, step), so the same world can be re-run to any later
extract date and its past comes out identical.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from iom_contract import LABEL_PROOF_DAYS, NEEDS, OFFENCE_GROUPS
from simulator.dynamics import (
    NONE,
    P_ACCEPTABLE_ABSENCE,
    P_APPOINTMENT,
    People,
    Schedule,
    age_curve,
    draw_people,
)
from simulator.kernels import flags_into, move_chains, offending_rate
from simulator.oracle import label_probability, label_probability_fast
from simulator.params import SimulateParams
from simulator.typologies import (
    BIAS_OUTCOME_PROBS,
    CAUTION_DELAY_MAX,
    CONVICTION_DELAY_MEDIAN,
    CONVICTION_DELAY_SIGMA,
    GRAVITY,
    NFA_DELAY_MAX,
    OUTCOME_PROBS,
    TYPOLOGY_NAMES,
    mix_matrix,
)
from simulator.world import StepGrid, make_grid, to_day

log = logging.getLogger(__name__)

OUTCOME_CODES = ("convicted", "caution", "community_resolution", "no_further_action")
DA_GROUPS = np.isin(
    np.array(OFFENCE_GROUPS),
    ["violence_with_injury", "violence_without_injury", "criminal_damage", "public_order"],
)
# Median custodial sentence (weeks) by gravity 1..6; lognormal spread 0.6.
SENTENCE_WEEKS = np.array([6.0, 10.0, 18.0, 36.0, 70.0, 160.0])
MEAN_STEP_DAYS = 365.25 / 48


@dataclass
class Records:
    """Event rows collected step by step as arrays, concatenated at the end.

    Text is kept as small integer codes into one value list per table column: a
    national run has tens of millions of rows, and one Python string object per row
    would cost gigabytes. ``frame`` turns the codes into a categorical whose categories
    are the sorted values seen.
    """

    cols: dict[str, dict[str, list[np.ndarray]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list))
    )
    values: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)

    def add(self, table: str, **columns: np.ndarray) -> None:
        n = {np.size(v) for v in columns.values()}
        if n == {0}:
            return
        for k, v in columns.items():
            arr = np.asarray(v)
            if arr.dtype.kind in "OU":
                self.cols[table][k].append(self._codes(table, k, arr))
            else:
                self.cols[table][k].append(arr)

    def _codes(self, table: str, column: str, arr: np.ndarray) -> np.ndarray:
        """Codes of ``arr`` into the column's value list (-1 for missing)."""
        seen = self.values.setdefault((table, column), {})
        local, uniques = pd.factorize(arr.astype(object), use_na_sentinel=True)
        to_global = np.array([seen.setdefault(str(u), len(seen)) for u in uniques], dtype=np.int32)
        out = np.full(local.size, -1, dtype=np.int32)
        known = local >= 0
        out[known] = to_global[local[known]]
        return out

    def frame(self, table: str, columns: list[str]) -> pd.DataFrame:
        got = self.cols.get(table, {})
        out: dict[str, Any] = {}
        for c in columns:
            parts = got.get(c, [])
            if not parts:
                out[c] = np.array([])
                continue
            codes = np.concatenate(parts)
            got[c] = []  # free the parts as soon as the column is built
            if (table, c) in self.values:
                seen = self.values[(table, c)]
                names = sorted(seen)
                remap = np.empty(len(seen) + 1, dtype=np.int32)
                remap[[seen[v] for v in names]] = np.arange(len(names), dtype=np.int32)
                remap[-1] = -1
                out[c] = pd.Categorical.from_codes(
                    remap[codes], dtype=pd.CategoricalDtype(pd.Index(names, dtype="str"))
                )
            else:
                out[c] = codes
        return pd.DataFrame(out)


@dataclass(frozen=True)
class RawWorld:
    """The uncensored world: every event to the end of the grid, dates as int days."""

    grid: StepGrid
    persons: pd.DataFrame
    offences: pd.DataFrame
    custody: pd.DataFrame
    orders: pd.DataFrame
    assessments: pd.DataFrame
    contacts: pd.DataFrame
    health: pd.DataFrame
    housing: pd.DataFrame
    oracle: pd.DataFrame


def _cumulative(rows: np.ndarray) -> np.ndarray:
    c = np.cumsum(rows, axis=-1)
    return c / c[..., -1:]


def _pick(cum: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Categorical draw: ``cum`` (n, k) cumulative probabilities, ``u`` uniform (n,)."""
    return np.minimum((u[:, None] > cum).sum(axis=1), cum.shape[1] - 1)


class _Slots:
    """Adds custody and order spells to a Schedule, merging overlaps (vectorised)."""

    def __init__(self, s: Schedule) -> None:
        self.s = s

    def add_custody(
        self,
        ids: np.ndarray,
        st: np.ndarray,
        en: np.ndarray,
        lic: np.ndarray,
        sup: np.ndarray,
        rem: np.ndarray,
    ) -> None:
        # Process one spell per person at a time (people with several new spells loop).
        order = np.argsort(ids, kind="stable")
        ids, st, en, lic, sup, rem = ids[order], st[order], en[order], lic[order], sup[order], rem[order]
        rank = np.arange(ids.size) - np.searchsorted(ids, ids, side="left")
        for k in range(int(rank.max(initial=-1)) + 1):
            m = rank == k
            self._add_one(ids[m], st[m], en[m], lic[m], sup[m], rem[m])

    def _add_one(
        self, i: np.ndarray, st: np.ndarray, en: np.ndarray, lic: np.ndarray, sup: np.ndarray, rem: np.ndarray
    ) -> None:
        s = self.s
        has0 = s.c0e[i] != NONE
        has1 = s.c1e[i] != NONE
        touch0 = has0 & (st <= s.c0e[i]) & (en >= s.c0s[i])
        after0 = has0 & ~touch0 & (st > s.c0e[i])
        before0 = has0 & ~touch0 & (en < s.c0s[i])
        # Empty: becomes the current spell.
        e0 = ~has0
        # Overlaps the current spell, or comes before it with a second one waiting: merge into c0.
        m0 = touch0 | (before0 & has1)
        # After the current spell with no second: becomes c1; with a second: merge into c1.
        n1 = after0 & ~has1
        m1 = after0 & has1
        # Before the current spell with no second: current moves to c1, new becomes c0.
        sw = before0 & ~has1
        ii = i[sw]
        s.c1s[ii], s.c1e[ii], s.c1lic[ii], s.c1sup[ii], s.c1rem[ii] = (
            s.c0s[ii],
            s.c0e[ii],
            s.c0lic[ii],
            s.c0sup[ii],
            s.c0rem[ii],
        )
        for mask in (e0, sw):
            ii = i[mask]
            s.c0s[ii], s.c0e[ii], s.c0lic[ii], s.c0sup[ii], s.c0rem[ii] = (
                st[mask],
                en[mask],
                lic[mask],
                sup[mask],
                rem[mask],
            )
        ii = i[n1]
        s.c1s[ii], s.c1e[ii], s.c1lic[ii], s.c1sup[ii], s.c1rem[ii] = (
            st[n1],
            en[n1],
            lic[n1],
            sup[n1],
            rem[n1],
        )
        ii = i[m0]
        s.c0s[ii] = np.minimum(s.c0s[ii], st[m0])
        s.c0e[ii] = np.maximum(s.c0e[ii], en[m0])
        s.c0lic[ii] = np.maximum(s.c0lic[ii], lic[m0])
        s.c0sup[ii] = np.maximum(s.c0sup[ii], sup[m0])
        s.c0rem[ii] = s.c0rem[ii] & rem[m0]
        ii = i[m1]
        s.c1s[ii] = np.minimum(s.c1s[ii], st[m1])
        s.c1e[ii] = np.maximum(s.c1e[ii], en[m1])
        s.c1lic[ii] = np.maximum(s.c1lic[ii], lic[m1])
        s.c1sup[ii] = np.maximum(s.c1sup[ii], sup[m1])
        s.c1rem[ii] = s.c1rem[ii] & rem[m1]
        # A merged current spell may now reach the second one: fold it in.
        ii = i[m0]
        fold = (s.c1e[ii] != NONE) & (s.c1s[ii] <= s.c0e[ii])
        ii = ii[fold]
        s.c0e[ii] = np.maximum(s.c0e[ii], s.c1e[ii])
        s.c0lic[ii] = np.maximum(s.c0lic[ii], s.c1lic[ii])
        s.c0sup[ii] = np.maximum(s.c0sup[ii], s.c1sup[ii])
        s.c0rem[ii] = s.c0rem[ii] & s.c1rem[ii]
        for arr in (s.c1s, s.c1e, s.c1lic, s.c1sup):
            arr[ii] = NONE
        s.c1rem[ii] = False

    def add_order(self, ids: np.ndarray, st: np.ndarray, en: np.ndarray) -> None:
        s = self.s
        order = np.argsort(ids, kind="stable")
        ids, st, en = ids[order], st[order], en[order]
        rank = np.arange(ids.size) - np.searchsorted(ids, ids, side="left")
        for k in range(int(rank.max(initial=-1)) + 1):
            m = rank == k
            i, a, b = ids[m], st[m], en[m]
            has0 = s.o0e[i] != NONE
            touch = has0 & (a <= s.o0e[i]) & (b >= s.o0s[i])
            e0 = ~has0
            ii = i[e0]
            s.o0s[ii], s.o0e[ii] = a[e0], b[e0]
            ii = i[touch]
            s.o0s[ii] = np.minimum(s.o0s[ii], a[touch])
            s.o0e[ii] = np.maximum(s.o0e[ii], b[touch])
            rest = has0 & ~touch
            ii = i[rest]
            has1 = s.o1e[ii] != NONE
            s.o1s[ii] = np.where(has1, np.minimum(s.o1s[ii], a[rest]), a[rest])
            s.o1e[ii] = np.where(has1, np.maximum(s.o1e[ii], b[rest]), b[rest])


def world_months(params: SimulateParams) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last month of the simulated world.

    By default the world starts the month after ``extract_date - history_years`` (so with
    ten years the extract holds 2016-11 to 2026-10 for a 2026-10-31 extract; params.yaml
    uses 18, so that the first training date has the features' ten-year history window
    of records before it) and runs ``future_years`` past the extract date.
    """
    extract = pd.Timestamp(params.extract_date)
    first = (
        pd.Timestamp(params.world_first_month)
        if params.world_first_month
        else ((extract - pd.DateOffset(years=params.history_years)).to_period("M") + 1).to_timestamp()
    )
    last = (
        pd.Timestamp(params.world_last_month)
        if params.world_last_month
        else (extract + pd.DateOffset(years=params.future_years)).to_period("M").to_timestamp()
    )
    if last < extract.to_period("M").to_timestamp():
        raise ValueError(f"the world ends in {last:%Y-%m}, before the extract date {extract:%Y-%m-%d}")
    return first, last


def generate_world(params: SimulateParams, show_progress: bool = True, oracle: str = "fast") -> RawWorld:
    """Simulate ``params.nominals`` people from the history start to the world's end.

    ``oracle`` picks the compiled recursion (``fast``) or the numpy reference.
    """
    oracle_fn = label_probability_fast if oracle == "fast" else label_probability
    extract = pd.Timestamp(params.extract_date)
    first_month, last_month = world_months(params)
    grid = make_grid(first_month, last_month)
    n = params.nominals
    seed = params.seed
    init_rng = np.random.default_rng([seed, 0])
    bias = params.recording_bias
    # Ages are drawn as of the end of the history window, so a later extract of the same
    # world (same first month) draws the same people.
    age_reference = first_month + pd.DateOffset(years=params.history_years) - pd.Timedelta(days=1)
    people, demo = draw_people(
        n, params.typology_shares, to_day(age_reference), init_rng, bias.factor, lambda eth: eth == bias.group
    )
    sched = Schedule.empty(n)
    slots = _Slots(sched)
    rec = Records()
    pid_all = np.arange(n, dtype=np.int64)

    # Initial states: housing, treatment, and some people already serving a sentence.
    typ = people.typ
    H = (init_rng.random(n) < np.where(typ == 3, 0.3, 0.05)).astype(np.int8)
    T = np.zeros(n, dtype=np.int8)
    R = np.zeros(n, dtype=np.int8)
    from simulator.typologies import typology_array

    inside = init_rng.random(n) < typology_array("p_in_custody_at_start")[typ]
    ii = pid_all[inside]
    st0 = -init_rng.integers(1, 40, ii.size)
    en0 = init_rng.integers(2, 60, ii.size)
    slots.add_custody(
        ii, st0, en0, en0 + (en0 - st0), np.maximum(en0 + (en0 - st0), en0 + 48), np.zeros(ii.size, bool)
    )
    prior_conv = np.where(
        typ == 0, init_rng.poisson(0.5, n), init_rng.poisson(4.0, n) * np.where(typ == 2, 2, 1)
    )
    prior_cust = np.where(typ == 2, init_rng.poisson(3.0, n), np.where(typ == 0, 0, init_rng.poisson(0.3, n)))
    last_offence = np.full(n, NONE, dtype=np.int64)
    last_proven = np.full(n, NONE, dtype=np.int64)
    last_assess = np.full(n, NONE, dtype=np.int64)
    recall_start = np.full(n, NONE, dtype=np.int64)
    open_ref_day = np.full(n, NONE, dtype=np.int64)
    open_service = np.zeros(n, dtype=np.int8)
    unacc = np.zeros(n, dtype=np.float64)

    mix_cum = _cumulative(mix_matrix())
    grav_cum = _cumulative(np.array([GRAVITY[g] for g in OFFENCE_GROUPS]))
    out_cum = _cumulative(np.array([OUTCOME_PROBS[g] for g in OFFENCE_GROUPS]))
    bias_cum = _cumulative(np.array(BIAS_OUTCOME_PROBS))
    services = np.array(["drug_treatment", "alcohol_treatment", "mental_health"], dtype=object)

    # Oracle dates: quarter ends (and the extract date) whose label window fits the grid.
    last_day = int(grid.end[-1])
    q_ends = pd.date_range(
        grid.day_of_step(np.array([0]))[0] * pd.Timedelta(days=1) + pd.Timestamp(0),
        pd.Timestamp(0) + pd.Timedelta(days=last_day),
        freq="QE",
    )
    oracle_days = {to_day(d) for d in q_ends} | {to_day(extract)}
    oracle_steps = {
        int(s): d
        for d in oracle_days
        if (d + 365 <= last_day) and (s := grid.step_of_day(np.array([d]))[0]) >= 0 and grid.end[s] == d
    }

    progress = Progress(
        TextColumn("simulate"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} steps"),
        TimeElapsedColumn(),
        disable=not show_progress,
    )
    with progress:
        task = progress.add_task("steps", total=grid.n)
        # Two (6, n) flag buffers, this step's and the next's, alternating.
        flag_bufs = np.zeros((2, 6, n), dtype=bool)
        nxt_buf = flag_bufs[0]
        nxt = flags_into(sched, 0, nxt_buf)
        for j in range(grid.n):
            rng = np.random.default_rng([seed, 1, j])
            day0, length = int(grid.start[j]), int(grid.length[j])
            # The flags read at the end of the previous step: nothing touches the
            # schedule between two steps, so they are this step's flags.
            fl, fl_buf = nxt, nxt_buf
            # Releases at the start of this step: record the spell, its licence and PSS.
            rel = sched.c0e == j
            if rel.any():
                ii = pid_all[rel]
                is_rem = sched.c0rem[ii]
                rec.add(
                    "custody",
                    person_id=ii,
                    reception=grid.day_of_step(sched.c0s[ii]),
                    release=np.full(ii.size, day0),
                    release_type=np.where(is_rem, "remand", "licence").astype(object),
                    kind=np.where(is_rem, "remand", "sentence").astype(object),
                )
                lic_ii = ii[~is_rem & (sched.c0lic[ii] > j)]
                rec.add(
                    "orders",
                    person_id=lic_ii,
                    order_type=np.full(lic_ii.size, "licence", dtype=object),
                    start=np.full(lic_ii.size, day0),
                    end=grid.day_of_step(sched.c0lic[lic_ii]),
                )
                sentenced = ii[~is_rem]
                pss_from = np.maximum(sched.c0lic[sentenced], j)
                has_pss = sched.c0sup[sentenced] > pss_from
                pss = sentenced[has_pss]
                rec.add(
                    "orders",
                    person_id=pss,
                    order_type=np.full(pss.size, "post_sentence_supervision", dtype=object),
                    start=grid.day_of_step(pss_from[has_pss]),
                    end=grid.day_of_step(sched.c0sup[pss]),
                )
                sched.last_rel[ii] = j
                sched.last_lic[ii] = np.maximum(sched.last_lic[ii], sched.c0lic[ii])
                sched.last_sup[ii] = np.maximum(sched.last_sup[ii], sched.c0sup[ii])
                for a, b in (
                    ("c0s", "c1s"),
                    ("c0e", "c1e"),
                    ("c0lic", "c1lic"),
                    ("c0sup", "c1sup"),
                    ("c0rem", "c1rem"),
                ):
                    getattr(sched, a)[ii] = getattr(sched, b)[ii]
                    getattr(sched, b)[ii] = False if a == "c0rem" else NONE
            done = (sched.o0e != NONE) & (sched.o0e <= j)
            if done.any():
                ii = pid_all[done]
                sched.o0s[ii], sched.o0e[ii] = sched.o1s[ii], sched.o1e[ii]
                sched.o1s[ii] = NONE
                sched.o1e[ii] = NONE

            age = (day0 - people.dob_day) / 365.25
            curve = age_curve(age, people.peak_age, people.curve_power)
            lam = offending_rate(people, curve, length, fl_buf, H, T, R)
            n_true = rng.poisson(lam)
            n_bias = np.zeros(n, dtype=np.int64)
            has_bias = people.bias_extra > 0
            if has_bias.any():
                n_bias[has_bias] = rng.poisson(lam[has_bias] * people.bias_extra[has_bias])
            n_off = n_true + n_bias
            if n_off.any():
                _offences(
                    j,
                    day0,
                    length,
                    n_true,
                    n_bias,
                    people,
                    fl,
                    rng,
                    rec,
                    slots,
                    grid,
                    mix_cum,
                    grav_cum,
                    out_cum,
                    bias_cum,
                    prior_conv,
                    prior_cust,
                    last_offence,
                    last_proven,
                    services,
                )

            # Supervision appointments for people under supervision and not recalled.
            unacc[:] = 0.0
            sup = fl.supervised & (R == 0)
            appt = sup & (rng.random(n) < P_APPOINTMENT)
            if appt.any():
                ii = pid_all[appt]
                u = rng.random(ii.size)
                c = people.compliance[ii]
                outcome = np.where(
                    u < c,
                    "attended",
                    np.where(u < c + P_ACCEPTABLE_ABSENCE, "acceptable_absence", "unacceptable_absence"),
                )
                unacc[ii] = (outcome == "unacceptable_absence").astype(np.float64)
                rec.add(
                    "contacts",
                    person_id=ii,
                    day=day0 + rng.integers(0, length, ii.size),
                    outcome=outcome.astype(object),
                )
            # Needs assessments at the start of supervision and every 26 steps (about six months).
            due = sup & (fl.trigger | ((j - last_assess) >= 26))
            if due.any():
                ii = pid_all[due]
                last_assess[ii] = j
                rec.add(
                    "assessments",
                    person_id=ii,
                    day=day0 + rng.integers(0, length, ii.size),
                    **_needs(people.take(ii), H[ii], T[ii], rng),
                )

            if j in oracle_steps:
                t_day = oracle_steps[j]
                # The oracle covers everyone who could be in the contract's cohort at t:
                # adults with a proven offence committed in the 24 months up to t.
                eligible = ((t_day - people.dob_day) / 365.25 >= 18) & (last_proven > t_day - 732)
                ii = pid_all[eligible]
                p_true = oracle_fn(
                    people.take(ii),
                    sched.take(ii),
                    H[ii],
                    T[ii],
                    R[ii],
                    unacc[ii],
                    j,
                    t_day,
                    grid.start,
                    grid.length,
                )
                rec.add("oracle", person_id=ii, day=np.full(ii.size, t_day), p_true=p_true)

            if j + 1 < grid.n:
                nxt_buf = flag_bufs[(j + 1) % 2]
                nxt = flags_into(sched, j + 1, nxt_buf)
                H, T, R = _transition(
                    j + 1,
                    grid,
                    H,
                    T,
                    R,
                    fl_buf,
                    nxt_buf,
                    unacc,
                    people,
                    rng,
                    rec,
                    recall_start,
                    open_ref_day,
                    open_service,
                    services,
                    sched,
                )
            progress.advance(task)

    # Spells still running at the end of the grid: recorded with their scheduled release.
    for slot in ("c0", "c1"):
        e = getattr(sched, f"{slot}e")
        ii = pid_all[e != NONE]
        rem = getattr(sched, f"{slot}rem")[ii]
        rec.add(
            "custody",
            person_id=ii,
            reception=grid.day_of_step(getattr(sched, f"{slot}s")[ii]),
            release=grid.day_of_step(e[ii]),
            release_type=np.where(rem, "remand", "licence").astype(object),
            kind=np.where(rem, "remand", "sentence").astype(object),
        )
    ii = pid_all[R == 1]
    rec.add(
        "custody",
        person_id=ii,
        reception=grid.day_of_step(recall_start[ii]),
        release=grid.day_of_step(np.full(ii.size, grid.n + 4)),
        release_type=np.full(ii.size, "licence", dtype=object),
        kind=np.full(ii.size, "recall", dtype=object),
    )
    ii = pid_all[open_ref_day != NONE]
    rec.add(
        "health",
        person_id=ii,
        service=services[open_service[ii]],
        referral=open_ref_day[ii],
        discharge=np.full(ii.size, NONE),
        reason=np.full(ii.size, None, dtype=object),
    )

    persons = pd.DataFrame(
        {
            "person_id": pid_all,
            "typology": np.array(TYPOLOGY_NAMES, dtype=object)[people.typ],
            "sex": demo["sex"],
            "ethnicity": demo["ethnicity"],
            "dob_day": people.dob_day,
            "frailty": people.frailty,
            "recording_bias": demo["recording_bias"],
            "need_drugs": people.need_drugs,
            "need_alcohol": people.need_alcohol,
            "need_mental_health": people.need_mh,
            "compliance": people.compliance,
            "attitudes": people.attitudes,
        }
    )
    return RawWorld(
        grid=grid,
        persons=persons,
        offences=rec.frame(
            "offences",
            ["person_id", "day", "group", "domestic_abuse", "gravity", "outcome", "outcome_day", "is_bias"],
        ),
        custody=rec.frame("custody", ["person_id", "reception", "release", "release_type", "kind"]),
        orders=rec.frame("orders", ["person_id", "order_type", "start", "end"]),
        assessments=rec.frame("assessments", ["person_id", "day", *NEEDS]),
        contacts=rec.frame("contacts", ["person_id", "day", "outcome"]),
        health=rec.frame("health", ["person_id", "service", "referral", "discharge", "reason"]),
        housing=rec.frame("housing", ["person_id", "day", "event_type"]),
        oracle=rec.frame("oracle", ["person_id", "day", "p_true"]),
    )


def _offences(
    j: int,
    day0: int,
    length: int,
    n_true: np.ndarray,
    n_bias: np.ndarray,
    people: People,
    fl,
    rng: np.random.Generator,
    rec: Records,
    slots: _Slots,
    grid: StepGrid,
    mix_cum: np.ndarray,
    grav_cum: np.ndarray,
    out_cum: np.ndarray,
    bias_cum: np.ndarray,
    prior_conv: np.ndarray,
    prior_cust: np.ndarray,
    last_offence: np.ndarray,
    last_proven: np.ndarray,
    services: np.ndarray,
) -> None:
    """Draw this step's offences, their outcomes and sentences; schedule custody and orders."""
    n = n_true.size
    everyone = np.arange(n, dtype=np.int64)
    pid = np.concatenate([np.repeat(everyone, n_true), np.repeat(everyone, n_bias)])
    is_bias = np.concatenate([np.zeros(int(n_true.sum()), bool), np.ones(int(n_bias.sum()), bool)])
    m = pid.size
    day = day0 + rng.integers(0, length, m)
    group = _pick(mix_cum[people.typ[pid]], rng.random(m))
    gravity = _pick(grav_cum[group], rng.random(m)) + 1
    da = rng.random(m) < np.where(DA_GROUPS[group], people.p_domestic_abuse[pid], 0.01)
    u = rng.random(m)
    outcome = np.where(is_bias, _pick(np.broadcast_to(bias_cum, (m, 4)), u), _pick(out_cum[group], u))
    conv_delay = np.floor(
        np.exp(np.log(CONVICTION_DELAY_MEDIAN) + CONVICTION_DELAY_SIGMA * rng.standard_normal(m))
    )
    delay = np.where(
        outcome == 0,
        conv_delay,
        np.where(
            outcome == 3, rng.integers(1, NFA_DELAY_MAX + 1, m), rng.integers(0, CAUTION_DELAY_MAX + 1, m)
        ),
    ).astype(np.int64)
    outcome_day = day + delay
    # Sentencing: only convictions within the 183 days lead to custody or an order (a
    # later conviction ends in a fine or discharge). This is what keeps the oracle exact.
    quick = (outcome == 0) & (delay <= LABEL_PROOF_DAYS)
    logit = (
        -3.0
        + 0.75 * (gravity - 3)
        + 0.6 * np.log1p(prior_cust[pid])
        + 0.25 * np.log1p(prior_conv[pid])
        + 0.7 * fl.supervised[pid]
        + people.custody_propensity[pid]
    )
    u_s = rng.random(m)
    cust = quick & (u_s < 1 / (1 + np.exp(-logit)))
    u_r = rng.random(m)
    remand = (cust & (gravity >= 4) & (u_r < 0.4)) | (quick & ~cust & (gravity >= 5) & (u_r < 0.15))
    weeks = SENTENCE_WEEKS[gravity - 1] * np.exp(0.6 * rng.standard_normal(m))
    o_step = grid.step_of_day(outcome_day)
    c = pid[cust | remand]
    if c.size:
        sel = cust | remand
        w, cs, rm, os_ = weeks[sel], cust[sel], remand[sel], o_step[sel]
        rec_step = np.where(rm, j + 1, os_ + 1)
        served = np.maximum(1, np.round(w * 3.5 / MEAN_STEP_DAYS)).astype(np.int64)
        release = np.where(cs, np.maximum(rec_step + served, os_ + 1), os_ + 1)
        lic = np.where(
            cs, np.maximum(rec_step + np.round(w * 7 / MEAN_STEP_DAYS).astype(np.int64), release), release
        )
        sup = np.where(cs & (w < 104), np.maximum(lic, release + 48), lic)
        slots.add_custody(c, rec_step, release, lic, sup, ~cs)
    u_o = rng.random(m)
    co = quick & ~cust & (u_o < 0.35)
    sso = quick & ~cust & ~co & (gravity >= 3) & (u_o < 0.47)
    ords = co | sso
    if ords.any():
        years = rng.choice(np.array([1.0, 1.5, 2.0]), size=m)[ords]
        start = outcome_day[ords]
        end = start + np.round(years * 365.25).astype(np.int64)
        rec.add(
            "orders",
            person_id=pid[ords],
            order_type=np.where(co[ords], "community_order", "suspended_sentence").astype(object),
            start=start,
            end=end,
        )
        slots.add_order(pid[ords], o_step[ords] + 1, grid.step_of_day(end) + 1)
    np.add.at(prior_conv, pid, outcome == 0)
    np.add.at(prior_cust, pid, cust)
    np.maximum.at(last_offence, pid, day)
    proven = outcome <= 1
    np.maximum.at(last_proven, pid[proven], day[proven])
    rec.add(
        "offences",
        person_id=pid,
        day=day,
        group=np.array(OFFENCE_GROUPS, dtype=object)[group],
        domestic_abuse=da,
        gravity=gravity,
        outcome=np.array(OUTCOME_CODES, dtype=object)[outcome],
        outcome_day=outcome_day,
        is_bias=is_bias,
    )
    # Liaison and diversion: people with mental-health needs are often referred at arrest
    # (a record only: assessment and signposting, not treatment).
    ld = ~is_bias & people.need_mh[pid] & (rng.random(m) < 0.3)
    if ld.any():
        k = int(ld.sum())
        rec.add(
            "health",
            person_id=pid[ld],
            service=np.full(k, "liaison_diversion", dtype=object),
            referral=day[ld],
            discharge=day[ld] + rng.integers(7, 61, k),
            reason=np.where(rng.random(k) < 0.8, "completed", "other").astype(object),
        )


def _needs(p: People, h: np.ndarray, t: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Need scores (0 none, 1 some, 2 significant) as an assessor would record them."""
    k = p.typ.size
    typ = p.typ
    ete_base = np.array([0.6, 1.4, 1.3, 1.5, 1.0])[typ]
    lifestyle_base = np.array([0.7, 1.5, 0.9, 1.0, 1.3])[typ]
    raw = {
        "accommodation": np.where(h == 1, 2.0, (rng.random(k) < 0.15).astype(float)),
        "education_training_employment": ete_base + rng.normal(0, 0.5, k),
        "finance": ete_base - 0.2 + rng.normal(0, 0.5, k),
        "relationships": 0.5 + 0.8 * p.attitudes + 0.5 * (typ == 3) + rng.normal(0, 0.4, k),
        "lifestyle": lifestyle_base + rng.normal(0, 0.5, k),
        "drugs": np.where(p.need_drugs, np.where(t == 1, 1.0, 2.0), 0.0),
        "alcohol": np.where(p.need_alcohol, np.where(t == 1, 1.0, 2.0), 0.0),
        "emotional_wellbeing": np.where(p.need_mh, 2.0, 0.3 + rng.normal(0, 0.3, k)),
        "thinking_behaviour": 0.4 + 1.4 * p.attitudes + rng.normal(0, 0.3, k),
        "attitudes": 2.2 * p.attitudes + rng.normal(0, 0.3, k),
    }
    out = {}
    for name in NEEDS:
        score = np.clip(np.round(raw[name]), 0, 2)
        noisy = rng.random(k) < 0.12
        score = np.where(noisy, np.clip(score + rng.choice(np.array([-1.0, 1.0]), k), 0, 2), score)
        out[name] = np.where(rng.random(k) < 0.03, np.nan, score)
    return out


def _transition(
    j1: int,
    grid: StepGrid,
    H: np.ndarray,
    T: np.ndarray,
    R: np.ndarray,
    prev_buf: np.ndarray,
    nxt_buf: np.ndarray,
    unacc: np.ndarray,
    people: People,
    rng: np.random.Generator,
    rec: Records,
    recall_start: np.ndarray,
    open_ref_day: np.ndarray,
    open_service: np.ndarray,
    services: np.ndarray,
    sched: Schedule,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Move the three chains into step ``j1`` and record the events the moves mean.

    ``prev_buf`` and ``nxt_buf`` are the flag buffers of steps ``j1 - 1`` and ``j1``
    (``simulator.kernels.flags_into``); the probabilities are ``dynamics.transitions``.
    """
    n = H.size
    everyone = np.arange(n, dtype=np.int64)
    day0, length = int(grid.start[j1]), int(grid.length[j1])
    u = rng.random((3, n))
    h_new, t_new, r_new = move_chains(people, H, T, R, u, prev_buf, nxt_buf, unacc)
    lost = everyone[(H == 0) & (h_new == 1)]
    if lost.size:
        k = lost.size
        rec.add(
            "housing",
            person_id=lost,
            day=day0 + rng.integers(0, length, k),
            event_type=np.full(k, "homeless_application", dtype=object),
        )
        ta = lost[rng.random(k) < 0.5]
        rec.add(
            "housing",
            person_id=ta,
            day=day0 + rng.integers(1, 29, ta.size),
            event_type=np.full(ta.size, "temporary_accommodation", dtype=object),
        )
        rs = lost[(people.typ[lost] == 3) & (rng.random(k) < 0.3)]
        rec.add(
            "housing",
            person_id=rs,
            day=day0 + rng.integers(0, 15, rs.size),
            event_type=np.full(rs.size, "rough_sleeping", dtype=object),
        )
    settled = everyone[(H == 1) & (h_new == 0)]
    rec.add(
        "housing",
        person_id=settled,
        day=day0 + rng.integers(0, length, settled.size),
        event_type=np.full(settled.size, "settled_accommodation", dtype=object),
    )
    still = everyone[(H == 1) & (h_new == 1) & (rng.random(n) < 0.03)]
    if still.size:
        rough = rng.random(still.size) < np.where(people.typ[still] == 3, 0.5, 0.2)
        rec.add(
            "housing",
            person_id=still,
            day=day0 + rng.integers(0, length, still.size),
            event_type=np.where(rough, "rough_sleeping", "temporary_accommodation").astype(object),
        )

    started = everyone[(T == 0) & (t_new == 1)]
    if started.size:
        p = people.take(started)
        w = np.stack([p.need_drugs * 0.7, p.need_alcohol * 0.5, p.need_mh * 0.5], axis=1).astype(float)
        open_service[started] = _pick(_cumulative(w), rng.random(started.size))
        open_ref_day[started] = day0 + rng.integers(0, length, started.size)
    ended = everyone[(T == 1) & (t_new != 1)]
    if ended.size:
        dropped = t_new[ended] == 2
        v = rng.random(ended.size)
        reason = np.where(
            dropped, "dropped_out", np.where(v < 0.9, "completed", np.where(v < 0.95, "transferred", "other"))
        )
        rec.add(
            "health",
            person_id=ended,
            service=services[open_service[ended]],
            referral=open_ref_day[ended],
            discharge=day0 + rng.integers(0, length, ended.size),
            reason=reason.astype(object),
        )
        open_ref_day[ended] = NONE

    recalled = everyone[(R == 0) & (r_new == 1)]
    recall_start[recalled] = j1
    back = everyone[(R == 1) & (r_new == 0)]
    if back.size:
        # Return probability 1 (still in custody at j1) means release by another route.
        forced = ~nxt_buf[0][back]
        on_lic = sched.last_lic[back] > j1
        rtype = np.where(forced, "other", np.where(on_lic, "licence", "sentence_expiry"))
        rec.add(
            "custody",
            person_id=back,
            reception=grid.day_of_step(recall_start[back]),
            release=np.full(back.size, day0),
            release_type=rtype.astype(object),
            kind=np.full(back.size, "recall", dtype=object),
        )
        recall_start[back] = NONE
    return h_new, t_new, r_new
