"""Encode the linked tables once into compact numpy arrays keyed by a person index.

The features for each as-of date are computed from these arrays with vectorised
masks and ``np.bincount``; encoding once (person codes, day numbers, category codes,
offences, assessments and housing events sorted by person then date) is what makes
40 as-of dates cheap.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from iom_config import IomError
from iom_contract import (
    CONTACT_OUTCOMES,
    DISCHARGE_REASONS,
    HEALTH_SERVICES,
    HOUSING_EVENTS,
    NEEDS,
    OFFENCE_GROUPS,
    ORDER_TYPES,
    OUTCOMES,
    PROVEN_OUTCOMES,
    RELEASE_TYPES,
)

logger = logging.getLogger(__name__)

# Day numbers (days since 1970-01-01). A null end date (not released, not discharged,
# no outcome yet) is "not happened by any as-of date", i.e. the far future.
FUTURE = np.int64(2**40)

# Columns read from each linked table (docs/interfaces.md, "link"). Tables other than
# persons and offences may be absent (an area without a housing data-sharing agreement);
# they are then treated as empty.
LINKED_COLUMNS: dict[str, tuple[str, ...]] = {
    "persons": ("pseudo_id", "birth_month"),
    "offences": (
        "pseudo_id",
        "offence_date",
        "offence_group",
        "domestic_abuse",
        "gravity",
        "outcome",
        "outcome_date",
    ),
    "custody": ("pseudo_id", "reception_date", "release_date", "expected_release_date", "release_type"),
    "orders": ("pseudo_id", "order_type", "start_date", "end_date", "breached"),
    "assessments": ("pseudo_id", "assessment_date", *NEEDS),
    "contacts": ("pseudo_id", "contact_date", "outcome"),
    "health": ("pseudo_id", "service", "referral_date", "discharge_date", "discharge_reason"),
    "housing": ("pseudo_id", "event_date", "event_type"),
}
REQUIRED_TABLES = ("persons", "offences")


class LinkedTablesError(IomError, ValueError):
    """A linked table is missing or lacks a column the features need."""


def linked_files(linked: Path) -> Iterator[tuple[str, Path, tuple[str, ...]]]:
    """``(table, path, columns)`` of each linked table the features read that exists.

    A missing required table is an error; a missing optional one is logged and left out
    (treated as empty). Both engines read their tables from this list.
    """
    for name, columns in LINKED_COLUMNS.items():
        path = Path(linked) / f"{name}.parquet"
        if path.exists():
            yield name, path, columns
        elif name in REQUIRED_TABLES:
            raise FileNotFoundError(f"{path}: linked table {name!r} is required; run the link stage first")
        else:
            logger.warning("%s not found: %s treated as empty", path, name)


@dataclass(frozen=True)
class Encoded:
    """The linked tables as arrays keyed by person code.

    Offences, assessments and housing events (whose features need "the first/latest
    record by t") are sorted by person code then date, ties in input order; the other
    tables keep their input order.

    Attributes
    ----------
    pseudo_id
        Person identifiers in sorted order; a person's code is their position here.
    birth_month
        Month index (``year * 12 + month - 1``) of the month of birth; ``birth_known``
        is False where it is missing.
    tables
        Per table, a mapping of array name to array (``code`` always present).
    """

    pseudo_id: np.ndarray
    birth_month: np.ndarray
    birth_known: np.ndarray
    tables: dict[str, dict[str, np.ndarray]]

    @property
    def n_persons(self) -> int:
        return len(self.pseudo_id)


def day_number(value: pd.Timestamp) -> int:
    """Days since 1970-01-01 of a timestamp (midnight)."""
    return int(pd.Timestamp(value).normalize().value // 86_400_000_000_000)


def _days(s: pd.Series, null: np.int64 = FUTURE) -> np.ndarray:
    if not pd.api.types.is_datetime64_any_dtype(s.dtype):
        s = pd.to_datetime(s)
    d = s.to_numpy(dtype="datetime64[D]")
    out = d.astype(np.int64)
    return np.where(np.isnat(d), null, out)


def _arrow_strings(s: pd.Series) -> pa.Array:
    arr = pa.array(s.astype("str") if s.dtype != "str" else s, from_pandas=True)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr if arr.type == pa.large_string() else arr.cast(pa.large_string())


def _lookup(s: pd.Series, values: pa.Array) -> np.ndarray:
    """Position of each value of ``s`` in ``values`` (-1 for null or absent), hashed in Arrow."""
    if isinstance(s.dtype, pd.CategoricalDtype):  # hash the categories only, then take
        cats = pd.Series(s.cat.categories)
        per_cat = np.append(_lookup(cats, values), -1)  # code -1 (null) -> -1
        return per_cat[s.cat.codes.to_numpy()]
    pos = pc.index_in(_arrow_strings(s), value_set=values)
    return pos.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)


def _codes(s: pd.Series, values: tuple[str, ...]) -> np.ndarray:
    """Position of each value in ``values`` (-1 for null or unknown)."""
    return _lookup(s, pa.array(values, type=pa.large_string())).astype(np.int8)


# Packed sort key: person code, then day, then row number, in one int64 so that one
# (unstable, SIMD) sort replaces a two-key stable lexsort. Days are offset from
# 1900-01-01 (the contract's earliest date) and clipped to 17 bits (359 years).
_DAY_BITS = 17
_DAY_ORIGIN = -25567  # 1900-01-01 as a day number


def _sort_order(code: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Row order by person code then day, ties in input order."""
    n = len(code)
    code_bits = max(int(code.max(initial=0)).bit_length(), 1)
    row_bits = max(n.bit_length(), 1)
    if code_bits + _DAY_BITS + row_bits > 63:
        return np.lexsort((day, code))
    d = np.clip(day - _DAY_ORIGIN, 0, (1 << _DAY_BITS) - 1)
    key = (code << (_DAY_BITS + row_bits)) | (d << row_bits) | np.arange(n, dtype=np.int64)
    key.sort()
    return key & ((1 << row_bits) - 1)


def _bool(s: pd.Series) -> np.ndarray:
    return s.astype("boolean").fillna(False).to_numpy(dtype=bool)


def _check(name: str, df: pd.DataFrame) -> None:
    missing = [c for c in LINKED_COLUMNS[name] if c not in df.columns]
    if missing:
        raise LinkedTablesError(f"linked table {name!r} lacks column(s) {', '.join(missing)}")


def _empty(name: str) -> pd.DataFrame:
    cols: dict[str, pd.Series] = {}
    for c in LINKED_COLUMNS[name]:
        if c.endswith("_date"):
            cols[c] = pd.Series([], dtype="datetime64[ms]")
        elif c in ("domestic_abuse", "breached"):
            cols[c] = pd.Series([], dtype="boolean")
        elif c == "gravity" or c in NEEDS:
            cols[c] = pd.Series([], dtype="Int64")
        else:
            cols[c] = pd.Series([], dtype="string")
    return pd.DataFrame(cols)


def _month_index(days: np.ndarray) -> np.ndarray:
    d = days.astype("datetime64[D]")
    return d.astype("datetime64[M]").astype(np.int64) + 1970 * 12


def encode_tables(tables: Mapping[str, pd.DataFrame]) -> Encoded:
    """Encode the linked tables for feature building (the frames are not modified).

    Parameters
    ----------
    tables
        Linked tables by name (``persons``, ``offences``, ``custody``, ``orders``,
        ``assessments``, ``contacts``, ``health``, ``housing``), as in
        docs/interfaces.md. ``persons`` and ``offences`` are required.

    Raises
    ------
    LinkedTablesError
        When a required table or a needed column is missing.
    """
    for name in REQUIRED_TABLES:
        if name not in tables:
            raise LinkedTablesError(f"linked table {name!r} is required")
    frames: dict[str, pd.DataFrame] = {}
    for name in LINKED_COLUMNS:
        df = tables.get(name)
        if df is None:
            df = _empty(name)
        _check(name, df)
        frames[name] = df

    persons = frames["persons"]
    ids = _arrow_strings(persons["pseudo_id"])
    if ids.null_count:
        raise LinkedTablesError("persons.pseudo_id has nulls")
    order = pc.sort_indices(ids).to_numpy()
    id_set = ids.take(pa.array(order))
    if len(id_set) > 1 and pc.any(pc.equal(id_set[1:], id_set[:-1])).as_py():
        raise LinkedTablesError("persons.pseudo_id repeats; one row per person is expected")
    sorted_ids = id_set.to_numpy(zero_copy_only=False)
    bm_days = _days(persons["birth_month"].iloc[order], null=FUTURE)
    birth_known = bm_days != FUTURE
    birth_month = np.where(birth_known, _month_index(np.where(birth_known, bm_days, 0)), 0)

    enc: dict[str, dict[str, np.ndarray]] = {}

    def put(name: str, df: pd.DataFrame, arrays: dict[str, np.ndarray], sort: bool = False) -> None:
        code = _lookup(df["pseudo_id"], id_set)
        keep = code >= 0
        if not keep.all():
            logger.warning(
                "%s: %d rows whose pseudo_id is not in persons were ignored", name, int((~keep).sum())
            )
            arrays = {k: v[keep] for k, v in arrays.items()}
            code = code[keep]
        if sort:  # tables whose features need "latest/first record by t"
            idx = _sort_order(code, arrays["day"])
            code = code[idx]
            arrays = {k: v[idx] for k, v in arrays.items()}
        enc[name] = {"code": code, **arrays}

    off = frames["offences"]
    proven = np.isin(_codes(off["outcome"], OUTCOMES), [OUTCOMES.index(x) for x in PROVEN_OUTCOMES])
    put(
        "offences",
        off,
        {
            "day": _days(off["offence_date"]),
            "outcome_day": _days(off["outcome_date"]),
            "proven": proven,
            "group": _codes(off["offence_group"], OFFENCE_GROUPS),
            "gravity": off["gravity"].astype("Int64").fillna(0).to_numpy(dtype=np.int8),
            "domestic": _bool(off["domestic_abuse"]),
        },
        sort=True,
    )
    o = enc["offences"]
    # A sanction occasion is one outcome date on which a person was convicted or
    # cautioned (several offences dealt with at one hearing are one sanction, as in
    # OGRS3). Mark one representative proven offence per (person, outcome date).
    key = np.where(o["proven"], o["outcome_day"], FUTURE)
    idx = _sort_order(o["code"], key)  # FUTURE clips to the last sortable day: after every real date
    k_sorted, c_sorted = key[idx], o["code"][idx]
    first = np.ones(len(idx), dtype=bool)
    first[1:] = (k_sorted[1:] != k_sorted[:-1]) | (c_sorted[1:] != c_sorted[:-1])
    rep = np.zeros(len(idx), dtype=bool)
    rep[idx] = first & (k_sorted != FUTURE)
    o["occasion"] = rep

    cus = frames["custody"]
    rel = _days(cus["release_date"])
    exp = _days(cus["expected_release_date"])
    remand = _codes(cus["release_type"], RELEASE_TYPES) == RELEASE_TYPES.index("remand")
    # The planned release date (see features.cohort for the rule and a worked example):
    # the recorded expected release while in custody, otherwise the actual release of
    # a sentenced (not remand) episode, which was fixed when the sentence was passed.
    planned = np.where(exp != FUTURE, exp, np.where(remand, FUTURE, rel))
    put("custody", cus, {"day": _days(cus["reception_date"]), "release_day": rel, "planned_day": planned})

    orders = frames["orders"]
    put(
        "orders",
        orders,
        {
            "day": _days(orders["start_date"]),
            "end_day": _days(orders["end_date"]),
            "type": _codes(orders["order_type"], ORDER_TYPES),
            "breached": _bool(orders["breached"]),
        },
    )

    ass = frames["assessments"]
    needs = (
        np.column_stack([ass[n].astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan) for n in NEEDS])
        if len(ass)
        else np.empty((0, len(NEEDS)))
    )
    put("assessments", ass, {"day": _days(ass["assessment_date"]), "needs": needs}, sort=True)

    con = frames["contacts"]
    put(
        "contacts",
        con,
        {"day": _days(con["contact_date"]), "outcome": _codes(con["outcome"], CONTACT_OUTCOMES)},
    )

    hea = frames["health"]
    put(
        "health",
        hea,
        {
            "day": _days(hea["referral_date"]),
            "discharge_day": _days(hea["discharge_date"]),
            "service": _codes(hea["service"], HEALTH_SERVICES),
            "reason": _codes(hea["discharge_reason"], DISCHARGE_REASONS),
        },
    )

    hou = frames["housing"]
    put(
        "housing",
        hou,
        {"day": _days(hou["event_date"]), "type": _codes(hou["event_type"], HOUSING_EVENTS)},
        sort=True,
    )

    return Encoded(pseudo_id=sorted_ids, birth_month=birth_month, birth_known=birth_known, tables=enc)
