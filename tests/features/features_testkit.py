"""Tiny hand-built linked tables for the features tests (docs/interfaces.md, "link")."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from features import FeatureParams, encode_tables, features_from_encoded
from features.encode import LINKED_COLUMNS
from iom_contract import NEEDS

T = pd.Timestamp("2024-03-31")
EXTRACT = pd.Timestamp("2026-10-31")
DEFAULT_BIRTH = "1990-06-01"

_DEFAULTS: dict[str, dict[str, Any]] = {
    "offences": {
        "offence_group": "theft",
        "domestic_abuse": False,
        "gravity": 3,
        "outcome": "convicted",
        "outcome_date": None,
    },
    "custody": {"release_date": None, "expected_release_date": None, "release_type": None},
    "orders": {"order_type": "community_order", "breached": False},
    "assessments": dict.fromkeys(NEEDS, 0),
    "contacts": {"outcome": "attended"},
    "health": {"service": "drug_treatment", "discharge_date": None, "discharge_reason": None},
    "housing": {"event_type": "settled_accommodation"},
}


def _column(name: str, values: list[Any]) -> Any:
    if name.endswith("_date") or name == "birth_month":
        nat = np.datetime64("NaT", "ms")
        return np.array(
            [nat if v is None else pd.Timestamp(v).to_datetime64() for v in values], dtype="datetime64[ms]"
        )
    if name in ("domestic_abuse", "breached"):
        return pd.array(values, dtype="boolean")
    if name == "gravity" or name in NEEDS:
        return pd.array(values, dtype="Int64")
    return pd.array(values, dtype="str")


def _typed(name: str, rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    defaults = _DEFAULTS.get(name, {})
    rows = list(rows)
    return pd.DataFrame(
        {c: _column(c, [r.get(c, defaults.get(c)) for r in rows]) for c in LINKED_COLUMNS[name]}
    )


def linked(
    persons: Iterable[Mapping[str, Any]] | None = None,
    **events: Iterable[Mapping[str, Any]],
) -> dict[str, pd.DataFrame]:
    """Linked tables from row dicts; people named in events are added (born June 1990)."""
    rows = {name: list(events.get(name, ())) for name in LINKED_COLUMNS if name != "persons"}
    unknown = set(events) - set(rows)
    if unknown:
        raise KeyError(f"unknown tables {unknown}")
    people = {p["pseudo_id"]: dict(p) for p in (persons or ())}
    for table in rows.values():
        for r in table:
            people.setdefault(r["pseudo_id"], {"pseudo_id": r["pseudo_id"], "birth_month": DEFAULT_BIRTH})
    out = {"persons": _typed("persons", people.values())}
    out.update({name: _typed(name, r) for name, r in rows.items()})
    return out


def qualifying(pid: str, date: str = "2024-01-10", outcome_date: str = "2024-02-01") -> dict[str, Any]:
    """A proven offence that puts ``pid`` in the cohort at ``T``."""
    return {"pseudo_id": pid, "offence_date": date, "outcome": "convicted", "outcome_date": outcome_date}


def build(
    tables: Mapping[str, pd.DataFrame],
    t: pd.Timestamp = T,
    extract: pd.Timestamp = EXTRACT,
    **params: Any,
) -> pd.DataFrame:
    """Features at one as-of date."""
    return features_from_encoded(encode_tables(tables), t, FeatureParams(**params), extract)


def row(frame: pd.DataFrame, pid: str) -> dict[str, Any]:
    """One person's row as a dict (fails if they are not in the cohort)."""
    hit = frame[frame["pseudo_id"] == pid]
    assert len(hit) == 1, f"{pid} not in cohort: {list(frame['pseudo_id'])}"
    return hit.iloc[0].to_dict()


def days(a: str, b: str | pd.Timestamp = T) -> int:
    """Days from ``a`` to ``b``."""
    return int((pd.Timestamp(b) - pd.Timestamp(a)).days)
