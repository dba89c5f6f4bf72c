"""Cut the uncensored world at an extract date: what the agencies' systems hold that day."""

from __future__ import annotations

import numpy as np
import pandas as pd

from iom_contract import NEEDS
from simulator.dynamics import NONE
from simulator.generate import RawWorld
from simulator.world import World, from_days, to_day


def _dates(days: pd.Series | np.ndarray, known: np.ndarray | None = None) -> np.ndarray:
    d = np.asarray(days, dtype=np.int64).copy()
    if known is not None:
        d[~known] = NONE
    d[d == NONE] = -(10**9)
    return from_days(d)


def _count_in_spans(
    pid: np.ndarray, day: np.ndarray, span_pid: np.ndarray, span_start: np.ndarray, span_end: np.ndarray
) -> np.ndarray:
    """How many (pid, day) events fall in each span [start, end] of the same person."""
    big = np.int64(1 << 20)
    keys = np.sort(pid.astype(np.int64) * big + day.astype(np.int64))
    lo = np.searchsorted(keys, span_pid.astype(np.int64) * big + span_start.astype(np.int64), side="left")
    hi = np.searchsorted(keys, span_pid.astype(np.int64) * big + span_end.astype(np.int64), side="right")
    return hi - lo


def censor_world(raw: RawWorld, extract_date: pd.Timestamp) -> World:
    """Records as known on ``extract_date``: later events vanish, later outcomes are pending.

    Day numbers are shifted so the ``_count_in_spans`` keys stay positive: days are
    offset from the grid start.
    """
    e = to_day(extract_date)
    base = int(raw.grid.start[0]) - 4000

    off = raw.offences[raw.offences["day"] <= e]
    decided = off["outcome_day"].to_numpy() <= e
    offences = pd.DataFrame(
        {
            "person_id": off["person_id"].to_numpy(np.int64),
            "offence_date": _dates(off["day"]),
            "offence_group": off["group"].to_numpy(object),
            "domestic_abuse": off["domestic_abuse"].to_numpy(bool),
            "gravity": off["gravity"].to_numpy(np.int64),
            "outcome": np.where(decided, off["outcome"].to_numpy(object), "pending"),
            "outcome_date": _dates(off["outcome_day"], decided),
        }
    )

    cus = raw.custody[raw.custody["reception"] <= e]
    out = cus["release"].to_numpy() <= e
    custody = pd.DataFrame(
        {
            "person_id": cus["person_id"].to_numpy(np.int64),
            "reception_date": _dates(cus["reception"]),
            "release_date": _dates(cus["release"], out),
            "expected_release_date": _dates(cus["release"], ~out),
            "release_type": np.where(out, cus["release_type"].to_numpy(object), None),
        }
    )

    orders_raw = raw.orders[raw.orders["start"] <= e]
    o_pid = orders_raw["person_id"].to_numpy(np.int64)
    o_start = orders_raw["start"].to_numpy(np.int64) - base
    o_end = np.minimum(orders_raw["end"].to_numpy(np.int64), e) - base
    con = raw.contacts[(raw.contacts["day"] <= e) & (raw.contacts["outcome"] == "unacceptable_absence")]
    absences = _count_in_spans(
        con["person_id"].to_numpy(), con["day"].to_numpy() - base, o_pid, o_start, o_end
    )
    convicted = raw.offences[(raw.offences["outcome"] == "convicted") & (raw.offences["outcome_day"] <= e)]
    # A new conviction for an offence committed during the order breaches it.
    conv_in = _count_in_spans(
        convicted["person_id"].to_numpy(), convicted["day"].to_numpy() - base, o_pid, o_start, o_end
    )
    recalls = raw.custody[(raw.custody["kind"] == "recall") & (raw.custody["reception"] <= e)]
    recall_in = _count_in_spans(
        recalls["person_id"].to_numpy(), recalls["reception"].to_numpy() - base, o_pid, o_start, o_end
    )
    is_licence = orders_raw["order_type"].to_numpy(object) == "licence"
    breached = np.where(is_licence, recall_in > 0, (absences >= 2) | (conv_in > 0))
    orders = pd.DataFrame(
        {
            "person_id": o_pid,
            "order_type": orders_raw["order_type"].to_numpy(object),
            "start_date": _dates(orders_raw["start"]),
            "end_date": _dates(orders_raw["end"]),
            "breached": breached,
        }
    )

    ass = raw.assessments[raw.assessments["day"] <= e]
    assessments = pd.DataFrame(
        {"person_id": ass["person_id"].to_numpy(np.int64), "assessment_date": _dates(ass["day"])}
    )
    for name in NEEDS:
        assessments[name] = pd.array(ass[name].to_numpy(float), dtype="Float64").round().astype("Int64")

    ct = raw.contacts[raw.contacts["day"] <= e]
    contacts = pd.DataFrame(
        {
            "person_id": ct["person_id"].to_numpy(np.int64),
            "contact_date": _dates(ct["day"]),
            "outcome": ct["outcome"].to_numpy(object),
        }
    )

    hl = raw.health[raw.health["referral"] <= e]
    closed = (hl["discharge"].to_numpy() != NONE) & (hl["discharge"].to_numpy() <= e)
    health = pd.DataFrame(
        {
            "person_id": hl["person_id"].to_numpy(np.int64),
            "service": hl["service"].to_numpy(object),
            "referral_date": _dates(hl["referral"]),
            "discharge_date": _dates(hl["discharge"], closed),
            "discharge_reason": np.where(closed, hl["reason"].to_numpy(object), None),
        }
    )

    hs = raw.housing[raw.housing["day"] <= e]
    housing = pd.DataFrame(
        {
            "person_id": hs["person_id"].to_numpy(np.int64),
            "event_date": _dates(hs["day"]),
            "event_type": hs["event_type"].to_numpy(object),
        }
    )

    orc = raw.oracle[raw.oracle["day"] <= e]
    oracle = pd.DataFrame(
        {
            "person_id": orc["person_id"].to_numpy(np.int64),
            "as_of_date": _dates(orc["day"]),
            "p_true": orc["p_true"].to_numpy(float),
        }
    )

    persons = raw.persons.copy()
    persons.insert(4, "date_of_birth", _dates(persons.pop("dob_day")))

    def tidy(df: pd.DataFrame, by: list[str]) -> pd.DataFrame:
        return df.sort_values(by, kind="stable").reset_index(drop=True)

    return World(
        persons=persons,
        offences=tidy(offences, ["person_id", "offence_date"]),
        custody=tidy(custody, ["person_id", "reception_date"]),
        orders=tidy(orders, ["person_id", "start_date"]),
        assessments=tidy(assessments, ["person_id", "assessment_date"]),
        contacts=tidy(contacts, ["person_id", "contact_date"]),
        health=tidy(health, ["person_id", "referral_date"]),
        housing=tidy(housing, ["person_id", "event_date"]),
        oracle=tidy(oracle, ["as_of_date", "person_id"]),
        extract_date=pd.Timestamp(extract_date),
    )
