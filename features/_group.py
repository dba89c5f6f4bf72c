"""Vectorised per-person aggregation over encoded event arrays (no Python loop over people).

Where an encoded table is sorted by person code then date (see ``features.encode``),
"the latest record on or before t" is the last masked row of each person's run.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def count(code: np.ndarray, mask: np.ndarray, n: int) -> np.ndarray:
    """Number of masked rows per person (length ``n``)."""
    return np.bincount(code[mask], minlength=n)


def any_(code: np.ndarray, mask: np.ndarray, n: int) -> np.ndarray:
    """Whether each person has at least one masked row."""
    return count(code, mask, n) > 0


def total(code: np.ndarray, mask: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    """Sum of ``weights`` over masked rows per person."""
    return np.bincount(code[mask], weights=weights[mask], minlength=n)


def count_by(code: np.ndarray, category: np.ndarray, k: int, mask: np.ndarray, n: int) -> np.ndarray:
    """Counts per person and category, shape ``(n, k)``; negative categories are ignored."""
    m = mask & (category >= 0)
    flat = code[m] * k + category[m].astype(np.int64)
    return np.bincount(flat, minlength=n * k).reshape(n, k)


def last_rows(code: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Row index of each person's last masked row (rows sorted by person then date)."""
    rows = np.flatnonzero(mask)
    if len(rows) == 0:
        return rows
    c = code[rows]
    end = np.ones(len(rows), dtype=bool)
    end[:-1] = c[1:] != c[:-1]
    return rows[end]


def first_rows(code: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Row index of each person's first masked row (rows sorted by person then date)."""
    rows = np.flatnonzero(mask)
    if len(rows) == 0:
        return rows
    c = code[rows]
    start = np.ones(len(rows), dtype=bool)
    start[1:] = c[1:] != c[:-1]
    return rows[start]


def scatter(n: int, code: np.ndarray, values: np.ndarray, fill: float | int) -> np.ndarray:
    """A length-``n`` array holding ``values`` at ``code`` and ``fill`` elsewhere."""
    out = np.full(n, fill, dtype=np.result_type(values, fill))
    out[code] = values
    return out


def group_max(code: np.ndarray, mask: np.ndarray, values: np.ndarray, n: int, fill: int) -> np.ndarray:
    """Maximum of ``values`` over masked rows per person (``fill`` where none)."""
    out = np.full(n, fill, dtype=np.int64)
    np.maximum.at(out, code[mask], values[mask])
    return out


def group_min(code: np.ndarray, mask: np.ndarray, values: np.ndarray, n: int, fill: int) -> np.ndarray:
    """Minimum of ``values`` over masked rows per person (``fill`` where none)."""
    out = np.full(n, fill, dtype=np.int64)
    np.minimum.at(out, code[mask], values[mask])
    return out


def nullable_int(values: np.ndarray, null: np.ndarray) -> pd.arrays.IntegerArray:
    """An ``Int32`` array from numbers and a null mask."""
    v = np.where(null, 0, values)
    return pd.arrays.IntegerArray(v.astype(np.int32), null.astype(bool))
