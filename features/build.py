"""Build leakage-free features and labels for the cohort at each as-of date.

Knowledge rule: the features at ``t`` use only what was known at ``t``. A record
counts only if its own date (offence, reception, order start, assessment, contact,
referral, housing event) is on or before ``t``; a later date on a record that started
earlier (an outcome, a release, a discharge, an order's end) is treated as unknown
when it is after ``t``: the record is then "still pending / still inside / still
open" at ``t``. So an offence is proven at ``t`` only if it was convicted or
cautioned with ``outcome_date <= t``, and a breach counts only once its order has
ended (the extract's ``breached`` flag says nothing about when the breach happened).

History rule: nothing looks back further than ``params.history_months`` (the history
window ``(t - history_months, t]``). The ``_all`` counts, first/last-record features
(age at first proven offence, career length, Copas rate, days since release, latest
assessment, latest housing event) and the agencies known see only records dated in it,
so every as-of date sees the same span however many years the extract holds. States at
``t`` (in custody, on an order, in treatment, offences awaiting an outcome, the cohort
and the label) are not capped: they describe the present.

Each as-of date is built independently from arrays encoded once
(``features.encode``); nothing loops over people.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence

import numpy as np
import pandas as pd

from features import _group as g
from features import asof
from features.asof import check_as_of, is_label_complete, window_start
from features.catalogue import GROUP_WINDOW_MONTHS, TREATMENT_SERVICES, feature_specs, window_suffix
from features.cohort import CustodyStatus, age_at, cohort_mask, custody_status, label_at
from features.encode import FUTURE, Encoded, day_number, encode_tables
from features.params import FeatureParams
from iom_contract import (
    CONTACT_OUTCOMES,
    DISCHARGE_REASONS,
    HEALTH_SERVICES,
    HOUSING_EVENTS,
    NEEDS,
    OFFENCE_GROUPS,
    ORDER_TYPES,
)

logger = logging.getLogger(__name__)

DAYS_PER_YEAR = 365.25
# Columns besides the catalogue features (docs/interfaces.md, "features").
KEY_COLUMNS = ("pseudo_id", "as_of_date")
TRAILER_COLUMNS = ("label", "label_complete", "release_due", "is_panel_date")

# Orders under which the person is supervised in the community on a sentence, versus
# after release from prison.
COMMUNITY_ORDERS = ("community_order", "suspended_sentence")
LICENCES = ("licence", "post_sentence_supervision")
HOMELESSNESS = ("homeless_application", "temporary_accommodation", "rough_sleeping")

Columns = dict[str, np.ndarray | pd.api.extensions.ExtensionArray]


class _Dates:
    """Day numbers of ``t``, of the window starts used at ``t`` and of the history start."""

    def __init__(self, as_of: pd.Timestamp, months: Sequence[int], history_months: int) -> None:
        self.t = day_number(as_of)
        self.start = {m: day_number(window_start(as_of, m)) for m in months}
        self.h = day_number(window_start(as_of, history_months))

    def windows(self, months: Sequence[int], all_time: bool) -> list[tuple[str, int]]:
        """(suffix, exclusive start day) per window; ``all`` is the history window."""
        out = [(window_suffix(m), self.start[m]) for m in months]
        if all_time:
            out.append((window_suffix(None), self.h))
        return out

    def seen(self, day: np.ndarray) -> np.ndarray:
        """Records dated in the history window ``(t - history_months, t]``."""
        return (day <= self.t) & (day > self.h)


def _days_since(n: int, code: np.ndarray, day: np.ndarray, t: int) -> pd.arrays.IntegerArray:
    since = g.scatter(n, code, t - day, -1)
    return g.nullable_int(since, since < 0)


def _offending(enc: Encoded, d: _Dates, windows: Sequence[int]) -> Columns:
    n, t = enc.n_persons, d.t
    o = enc.tables["offences"]
    code, day = o["code"], o["day"]
    known = d.seen(day)
    # Proven at t: convicted or cautioned, and the outcome already decided by t.
    proven = known & o["proven"] & (o["outcome_day"] <= t)
    cols: Columns = {}
    for sfx, start in d.windows(windows, all_time=True):
        inw = known & (day > start)
        cols[f"n_recorded_offences_{sfx}"] = g.count(code, inw, n)
        cols[f"n_proven_offences_{sfx}"] = g.count(code, inw & proven, n)
        cols[f"n_domestic_abuse_recorded_{sfx}"] = g.count(code, inw & o["domestic"], n)
    k = len(OFFENCE_GROUPS)
    group_windows = d.windows([GROUP_WINDOW_MONTHS], all_time=True)
    for sfx, start in group_windows:
        by_group = g.count_by(code, o["group"], k, proven & (day > start), n)
        for i, grp in enumerate(OFFENCE_GROUPS):
            cols[f"n_proven_{grp}_{sfx}"] = by_group[:, i]
    sfx12, start12 = group_windows[0]
    by_group = g.count_by(code, o["group"], k, known & (day > start12), n)
    for i, grp in enumerate(OFFENCE_GROUPS):
        cols[f"n_recorded_{grp}_{sfx12}"] = by_group[:, i]
    cols["n_domestic_abuse_proven_all"] = g.count(code, proven & o["domestic"], n)
    # Versatility: how many of the offence groups hold a proven offence in the window.
    cols["n_proven_offence_groups_all"] = (g.count_by(code, o["group"], k, proven, n) > 0).sum(axis=1)
    # Sanctions dated by their outcome (the day a court or caution proved them): recent
    # proof, where offence-dated proven counts lag by the months a case takes. Worked
    # example, t = 2024-03-31: an offence of 2023-11-02 convicted on 2024-02-20 counts in
    # ``n_sanctions_3m``, although its offence date is five months before t.
    out_day = o["outcome_day"]
    for sfx, start in d.windows(windows, all_time=False):
        cols[f"n_sanctions_{sfx}"] = g.count(code, proven & (out_day > start), n)
    last_sanction = g.group_max(code, proven, out_day, n, -int(FUTURE))
    has_sanction = last_sanction > -int(FUTURE)
    cols["days_since_last_sanction"] = g.nullable_int(
        np.where(has_sanction, t - last_sanction, 0), ~has_sanction
    )

    levels = np.arange(7)
    by_gravity = g.count_by(code, o["gravity"], 7, proven, n)
    n_graded = by_gravity[:, 1:].sum(axis=1)
    gmax = ((by_gravity > 0) * levels).max(axis=1)
    cols["gravity_max_proven_all"] = g.nullable_int(gmax, gmax == 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        cols["gravity_mean_proven_all"] = np.where(
            n_graded > 0, (by_gravity * levels).sum(axis=1) / np.maximum(n_graded, 1), np.nan
        )
    rec12 = g.count_by(code, o["gravity"], 7, known & (day > start12), n)
    gmax12 = ((rec12 > 0) * levels).max(axis=1)
    cols[f"gravity_max_recorded_{sfx12}"] = g.nullable_int(gmax12, gmax12 == 0)
    # Outstanding at t: recorded, but no outcome decided by t (pending, or decided later).
    cols["n_outstanding_offences"] = g.count(code, (day <= t) & (o["outcome_day"] > t), n)

    last = g.last_rows(code, known)
    cols["days_since_last_offence"] = _days_since(n, code[last], day[last], t)
    last_p = g.last_rows(code, proven)
    cols["days_since_last_proven_offence"] = _days_since(n, code[last_p], day[last_p], t)

    age = age_at(enc.birth_month, t)
    cols["age"] = g.nullable_int(age, ~enc.birth_known)
    first_p = g.first_rows(code, proven)
    age_first = g.scatter(n, code[first_p], age_at(enc.birth_month[code[first_p]], day[first_p]), -1)
    cols["age_first_proven"] = g.nullable_int(age_first, (age_first < 0) | ~enc.birth_known)
    first = g.first_rows(code, known)
    cols["career_years"] = g.scatter(n, code[first], (t - day[first]) / DAYS_PER_YEAR, np.nan)
    cols["proven_career_years"] = g.scatter(n, code[first_p], (t - day[first_p]) / DAYS_PER_YEAR, np.nan)

    # OGRS3 Copas rate: ln(sanctions / (10 + years since first sanction)), where a
    # sanction is an occasion of conviction or caution (Howard et al. 2009, OGRS 3;
    # there the current sanction is counted and years run to it; here they run to t).
    # Worked example: sanctioned on 4 occasions, the first 6 years before t ->
    # ln(4 / 16) = -1.386; a first sanction last month -> ln(1 / 10.08) = -2.31. Only
    # sanctions for offences in the history window count, so the career is capped there.
    occasions = g.count(code, o["occasion"] & proven, n)
    first_sanction = g.group_min(code, proven, o["outcome_day"], n, int(FUTURE))
    years = (t - first_sanction) / DAYS_PER_YEAR
    cols["n_sanction_occasions"] = occasions
    with np.errstate(invalid="ignore", divide="ignore"):
        cols["copas_rate"] = np.where(
            occasions > 0, np.log(occasions / (10.0 + np.maximum(years, 0.0))), np.nan
        )
    return cols


def _custody(enc: Encoded, d: _Dates, windows: Sequence[int], status: CustodyStatus) -> Columns:
    n, t = enc.n_persons, d.t
    c = enc.tables["custody"]
    code, rec, rel = c["code"], c["day"], c["release_day"]
    known = rec <= t
    cols: Columns = {"in_custody": status.in_custody}
    # Stays overlapping the history window count from its start (days) or when received
    # in it (episodes), so a stay begun long ago adds only its days inside the window.
    # Days inside per window: the stay covers days [reception, release), cut at t
    # (day t counts when still inside). Worked example: received 2024-03-01, released
    # 2024-03-11 -> 10 days; at t = 2024-03-05 it counts 5 (1st..5th March).
    stay_end = np.minimum(rel, t + 1)
    for sfx, start in d.windows(windows, all_time=True):
        cols[f"n_custody_episodes_{sfx}"] = g.count(code, known & (rec > start), n)
        days = np.clip(stay_end - np.maximum(rec, start + 1), 0, None)
        cols[f"days_in_custody_{sfx}"] = np.rint(g.total(code, known, days.astype(np.float64), n)).astype(
            np.int64
        )
    released = known & (rel <= t) & (rel > d.h)
    last_release = g.group_max(code, released, rel, n, -int(FUTURE))
    has = last_release > -int(FUTURE)
    cols["days_since_release"] = g.nullable_int(np.where(has, t - last_release, 0), ~has)
    return cols


def _supervision(enc: Encoded, d: _Dates, windows: Sequence[int]) -> Columns:
    n, t = enc.n_persons, d.t
    o = enc.tables["orders"]
    code, start_day, end_day = o["code"], o["day"], o["end_day"]
    known = start_day <= t
    # Running at t: started by t and (planned or actual) end after t. A planned end is
    # set when the order is made, so "not ended by t" is knowable at t.
    active = known & (end_day > t)
    community = np.isin(o["type"], [ORDER_TYPES.index(x) for x in COMMUNITY_ORDERS])
    licence = np.isin(o["type"], [ORDER_TYPES.index(x) for x in LICENCES])
    cols: Columns = {
        "on_community_order": g.any_(code, active & community, n),
        "on_licence": g.any_(code, active & licence, n),
        "n_orders_all": g.count(code, d.seen(start_day), n),
    }
    # A breach is dated by the order's end: only orders ended by t have a known flag.
    breached = known & (end_day <= t) & o["breached"]
    for sfx, start in d.windows(windows, all_time=True):
        cols[f"n_breached_orders_{sfx}"] = g.count(code, breached & (end_day > start), n)

    ct = enc.tables["contacts"]
    attended = CONTACT_OUTCOMES.index("attended")
    unacceptable = CONTACT_OUTCOMES.index("unacceptable_absence")
    for sfx, start in d.windows(windows, all_time=False):
        by = g.count_by(
            ct["code"], ct["outcome"], len(CONTACT_OUTCOMES), (ct["day"] <= t) & (ct["day"] > start), n
        )
        n_all = by.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            cols[f"share_contacts_attended_{sfx}"] = np.where(
                n_all > 0, by[:, attended] / np.maximum(n_all, 1), np.nan
            )
        cols[f"n_unacceptable_absences_{sfx}"] = by[:, unacceptable]
    return cols


def _needs(enc: Encoded, d: _Dates) -> Columns:
    n, t = enc.n_persons, d.t
    a = enc.tables["assessments"]
    code, day, scores = a["code"], a["day"], a["needs"]
    last = g.last_rows(code, d.seen(day))
    # The previous assessment is the row before the latest in the same person's run
    # (rows are sorted by person then date, so it is also on or before t).
    prev = last - 1
    has_prev = prev >= 0
    has_prev[has_prev] = code[prev[has_prev]] == code[last[has_prev]]
    k = len(NEEDS)
    latest = np.full((n, k), np.nan)
    latest[code[last]] = scores[last]
    previous = np.full((n, k), np.nan)
    previous[code[last[has_prev]]] = scores[prev[has_prev]]
    change = latest - previous
    cols: Columns = {}
    for i, need in enumerate(NEEDS):
        cols[f"need_{need}"] = g.nullable_int(np.nan_to_num(latest[:, i]), np.isnan(latest[:, i]))
    tot = np.where(np.isnan(latest).all(axis=1), np.nan, np.nansum(latest, axis=1))
    tot_prev = np.where(np.isnan(previous).all(axis=1), np.nan, np.nansum(previous, axis=1))
    cols["need_total"] = g.nullable_int(np.nan_to_num(tot), np.isnan(tot))
    for i, need in enumerate(NEEDS):
        cols[f"need_{need}_change"] = g.nullable_int(np.nan_to_num(change[:, i]), np.isnan(change[:, i]))
    tot_change = tot - tot_prev
    cols["need_total_change"] = g.nullable_int(np.nan_to_num(tot_change), np.isnan(tot_change))
    cols["days_since_assessment"] = _days_since(n, code[last], day[last], t)
    return cols


def _health(enc: Encoded, d: _Dates) -> Columns:
    n, t = enc.n_persons, d.t
    h = enc.tables["health"]
    code, ref, dis = h["code"], h["day"], h["discharge_day"]
    # In treatment at t: referred by t and not discharged by t.
    open_ = (ref <= t) & (dis > t)
    cols: Columns = {}
    for s in TREATMENT_SERVICES:
        cols[f"in_{s}"] = g.any_(code, open_ & (h["service"] == HEALTH_SERVICES.index(s)), n)
    discharged = (ref <= t) & (dis <= t) & (dis > d.h)
    dropped = discharged & (h["reason"] == DISCHARGE_REASONS.index("dropped_out"))
    start12 = d.start[GROUP_WINDOW_MONTHS]
    cols[f"n_treatment_dropouts_{GROUP_WINDOW_MONTHS}m"] = g.count(code, dropped & (dis > start12), n)
    cols["n_treatment_dropouts_all"] = g.count(code, dropped, n)
    completed = discharged & (h["reason"] == DISCHARGE_REASONS.index("completed"))
    cols["n_treatment_completed_all"] = g.count(code, completed, n)
    return cols


def _housing(enc: Encoded, d: _Dates, windows: Sequence[int]) -> Columns:
    n = enc.n_persons
    h = enc.tables["housing"]
    code, day, kind = h["code"], h["day"], h["type"]
    known = d.seen(day)
    homeless = np.isin(kind, [HOUSING_EVENTS.index(x) for x in HOUSING_EVENTS if x in HOMELESSNESS])
    cols: Columns = {}
    for sfx, start in d.windows(windows, all_time=False):
        cols[f"n_homelessness_events_{sfx}"] = g.count(code, known & homeless & (day > start), n)
    start12 = d.start[GROUP_WINDOW_MONTHS]
    rough = kind == HOUSING_EVENTS.index("rough_sleeping")
    cols[f"n_rough_sleeping_{GROUP_WINDOW_MONTHS}m"] = g.count(code, known & rough & (day > start12), n)
    # Unstable: the latest housing event by t is anything but settled accommodation
    # (several events on that latest day: unstable if any of them is).
    last = g.last_rows(code, known)
    last_day = g.scatter(n, code[last], day[last], -int(FUTURE))
    settled = kind == HOUSING_EVENTS.index("settled_accommodation")
    cols["housing_unstable"] = g.any_(code, known & (day == last_day[code]) & ~settled, n)
    return cols


def _agencies(enc: Encoded, d: _Dates) -> Columns:
    n = enc.n_persons
    tb = enc.tables

    # Known in the history window: a record dated in it, or a stay, order or treatment
    # episode that began earlier and was still running in it (its end, when after t, is
    # not yet known at t, so it is running at t).
    ends = {"custody": "release_day", "orders": "end_day", "health": "discharge_day"}

    def known(name: str) -> np.ndarray:
        day = tb[name]["day"]
        in_window = d.seen(day)
        if name in ends:
            in_window = in_window | ((day <= d.t) & (tb[name][ends[name]] > d.h))
        return g.any_(tb[name]["code"], in_window, n)

    # Known to the police: a proven offence in the window (an unproven record alone does
    # not count, so the evidence setting holds here too; everyone in the cohort has one).
    o = tb["offences"]
    police = g.any_(o["code"], d.seen(o["day"]) & o["proven"] & (o["outcome_day"] <= d.t), n)
    cols: Columns = {
        "known_to_prison": known("custody"),
        "known_to_probation": known("orders") | known("assessments") | known("contacts"),
        "known_to_health": known("health"),
        "known_to_housing": known("housing"),
    }
    cols["n_agencies_known"] = police.astype(np.int64) + sum(
        np.asarray(v, dtype=np.int64) for v in cols.values()
    )
    return cols


def _frame(
    enc: Encoded,
    cols: Columns,
    rows: np.ndarray,
    as_of: pd.Timestamp,
    params: FeatureParams,
) -> pd.DataFrame:
    specs = feature_specs(params.windows, params.history_months)
    missing = [s.name for s in specs if s.name not in cols]
    extra = sorted(set(cols) - {s.name for s in specs})
    if missing or extra:  # a catalogue/builder mismatch is a programming error
        raise RuntimeError(f"features not in step with the catalogue: missing {missing}, undeclared {extra}")
    data: dict[str, object] = {
        "pseudo_id": pd.array(enc.pseudo_id[rows], dtype="str"),
        "as_of_date": np.full(len(rows), as_of.to_datetime64().astype("datetime64[ms]")),
    }
    for s in specs:
        v = cols[s.name][rows]
        data[s.name] = v.astype(s.dtype, copy=False)
    return pd.DataFrame(data, copy=False)


def features_from_encoded(
    enc: Encoded,
    as_of: pd.Timestamp,
    params: FeatureParams,
    extract_date: pd.Timestamp,
    *,
    is_panel_date: bool = False,
) -> pd.DataFrame:
    """Features, label and flags for the cohort at one as-of date (see ``build_features``)."""
    as_of = pd.Timestamp(as_of).normalize()
    check_as_of(as_of, extract_date)
    months = sorted({*params.windows, GROUP_WINDOW_MONTHS, params.proven_window_months})
    d = _Dates(as_of, months, params.history_months)
    status = custody_status(enc, d.t, params.release_window_days)
    in_cohort = cohort_mask(enc, d.t, d.start[params.proven_window_months], params.min_age, status)
    rows = np.flatnonzero(in_cohort)  # persons are in pseudo_id order, so rows are too

    cols: Columns = {}
    cols.update(_offending(enc, d, params.windows))
    cols.update(_custody(enc, d, params.windows, status))
    cols.update(_supervision(enc, d, params.windows))
    cols.update(_needs(enc, d))
    cols.update(_health(enc, d))
    cols.update(_housing(enc, d, params.windows))
    cols.update(_agencies(enc, d))
    out = _frame(enc, cols, rows, as_of, params)

    complete = is_label_complete(as_of, extract_date)
    label = label_at(enc, d.t)[rows].astype(np.int64)
    due = status.release_due_day[rows]
    trailer = {
        "label": pd.arrays.IntegerArray(label, np.full(len(rows), not complete)),
        "label_complete": np.full(len(rows), complete),
        "release_due": np.where(due != FUTURE, due.astype("datetime64[D]"), np.datetime64("NaT", "D")).astype(
            "datetime64[ms]"
        ),
        "is_panel_date": np.full(len(rows), is_panel_date),
    }
    out = pd.concat([out, pd.DataFrame(trailer, index=out.index, copy=False)], axis=1)
    logger.debug("as of %s: %d in cohort", as_of.date(), len(out))
    return out


def _panel(params: FeatureParams, extract_date: pd.Timestamp) -> pd.Timestamp:
    return pd.Timestamp(params.panel_date if params.panel_date is not None else extract_date).normalize()


def iter_features(
    tables: Mapping[str, pd.DataFrame],
    as_of_dates: Sequence[pd.Timestamp],
    params: FeatureParams,
    extract_date: pd.Timestamp,
) -> Iterator[tuple[pd.Timestamp, pd.DataFrame]]:
    """Yield ``(as_of_date, features)`` one date at a time (the tables are encoded once).

    Lets the stage write each partition as it is built, so memory stays that of one
    date whatever the number of dates.
    """
    enc = encode_tables(tables)
    panel = _panel(params, extract_date)
    for as_of in sorted({pd.Timestamp(t).normalize() for t in as_of_dates}):
        yield as_of, features_from_encoded(enc, as_of, params, extract_date, is_panel_date=as_of == panel)


def build_features(
    tables: Mapping[str, pd.DataFrame],
    as_of_dates: Sequence[pd.Timestamp],
    params: FeatureParams,
    extract_date: pd.Timestamp,
) -> pd.DataFrame:
    """Features and labels for the cohort at each as-of date.

    Parameters
    ----------
    tables
        The linked tables by name (docs/interfaces.md, "link"); not modified.
    as_of_dates
        Dates to build (e.g. ``all_as_of_dates(*as_of_dates(params, extract_date))``);
        each is built independently.
    params
        The ``features:`` params.
    extract_date
        The day the extract was pulled: decides whether each label is complete.

    Returns
    -------
    pandas.DataFrame
        One row per person in the cohort per date, sorted by as-of date then
        ``pseudo_id``: ``pseudo_id``, ``as_of_date``, the catalogue features, ``label``
        (Int64, null where the 365 + 183-day window is incomplete), ``label_complete``,
        ``release_due`` (planned release date or NaT), ``is_panel_date``.
    """
    parts = [frame for _, frame in iter_features(tables, as_of_dates, params, extract_date)]
    if not parts:
        return features_from_encoded(
            encode_tables(tables), pd.Timestamp(extract_date), params, extract_date
        ).iloc[:0]
    return pd.concat(parts, ignore_index=True)


def build_features_at(
    tables: Mapping[str, pd.DataFrame],
    as_of: pd.Timestamp,
    params: FeatureParams,
    extract_date: pd.Timestamp,
) -> pd.DataFrame:
    """Features at a single as-of date (a partition on its own)."""
    return build_features(tables, [as_of], params, extract_date)


def default_as_of_dates(
    params: FeatureParams,
    extract_date: pd.Timestamp,
    records_from: pd.Timestamp | None = None,
    source: str = "the earliest offence in the extract",
) -> list[pd.Timestamp]:
    """Training quarter ends plus the panel date, as the stage builds them.

    Given ``records_from`` (when the extract's records start), refuses dates with less
    than ``params.history_months`` of records before them (``asof.check_history``).
    """
    train, panel = asof.as_of_dates(params, extract_date, records_from, source)
    return asof.all_as_of_dates(train, panel)


def as_of_dates_before_panel(
    params: FeatureParams,
    extract_date: pd.Timestamp,
    records_from: pd.Timestamp | None = None,
    source: str = "the earliest offence in the extract",
) -> list[pd.Timestamp]:
    """The as-of dates the features stage builds (:func:`default_as_of_dates`) that fall
    before the panel date (``params.panel_date`` or the extract date).

    What a person's typology at the panel date is pooled over (``typology.pool_history``)
    besides the panel date itself. Worked example: an extract pulled on 2026-10-31 with
    ``train_start`` 2019-03-31 gives the quarter ends 2019-03-31 .. 2025-03-31; for a
    panel on 2026-10-31 all 25 come before it, for a panel on 2024-01-15 the 20 up to
    2023-12-31 do.
    """
    panel = _panel(params, extract_date)
    return [d for d in default_as_of_dates(params, extract_date, records_from, source) if d < panel]
