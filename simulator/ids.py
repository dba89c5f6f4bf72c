"""Agency identifiers for simulated people: PNC IDs, NOMIS numbers, CRNs, health and council ids.

Every generator is vectorised, returns unique values for the ``n`` people it is given
and is deterministic given the numpy ``Generator`` passed in.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

# PNC check character: the 2-digit year followed by the serial zero-padded to 7 digits,
# read as one number, modulo 23, indexes this alphabet (no I, O, S). For example
# 09/123456: 090123456 % 23 = 3 -> "C", so the ID is 09/123456C. Source: the Ministry
# of Justice's person-record service (hmpps-person-record, PNCIdentifier.kt).
PNC_CHECK_LETTERS = "ZABCDEFGHJKLMNPQRTUVWXY"
PNC_SERIAL_DIGITS = 7
# Serials are drawn below this unless a year needs more room; six digits is the
# common short form (09/123456C).
_PNC_SERIAL_SPACE = 1_000_000

_LETTERS = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
# Prison numbers seen in practice begin with A or G; probation case reference numbers
# begin with a letter tied to the probation area.
NOMS_FIRST_LETTERS = "AG"
CRN_LETTERS = "DEX"
# Hospital numbers at the local acute trust (Royal Stoke, trust code RJE).
HEALTH_ID_PREFIX = "RJE"
HEALTH_ID_DIGITS = 8
# Council housing-system references: "HSG-" and six base-36 characters.
COUNCIL_ID_PREFIX = "HSG-"
COUNCIL_ID_CHARS = np.array(list("0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"))
COUNCIL_ID_LENGTH = 6


def unique_integers(n: int, space: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` distinct integers drawn uniformly from ``[0, space)``, in random order.

    Raises
    ------
    ValueError
        When ``n`` exceeds ``space``.
    """
    if n > space:
        raise ValueError(f"cannot draw {n} unique identifiers from a space of {space}")
    return rng.choice(space, size=n, replace=False).astype(np.int64)


def _as_str(values: np.ndarray, width: int = 0) -> pd.Series:
    s = pd.Series(values, dtype="int64").astype("str")
    return s.str.zfill(width) if width else s


def pnc_check_letter(year2: ArrayLike, serial: ArrayLike) -> np.ndarray:
    """The PNC check character for two-digit years and serial numbers.

    Examples
    --------
    >>> pnc_check_letter([9], [123456]).tolist()
    ['C']
    """
    number = np.asarray(year2, dtype=np.int64) * 10**PNC_SERIAL_DIGITS + np.asarray(serial, dtype=np.int64)
    return np.array(list(PNC_CHECK_LETTERS))[number % len(PNC_CHECK_LETTERS)]


def draw_pnc_ids(created_year: ArrayLike, rng: np.random.Generator) -> np.ndarray:
    """PNC IDs ``YY/serial + check`` for records created in the given years.

    Parameters
    ----------
    created_year
        Four-digit year each person's police record was created.
    rng
        Source of randomness.

    Returns
    -------
    numpy.ndarray
        Object array of unique IDs matching ``^\\d{2}/\\d{1,7}[A-Z]$``.
    """
    years = np.asarray(created_year, dtype=np.int64)
    serial = np.empty(len(years), dtype=np.int64)
    # Serials are issued per year, so uniqueness only needs to hold within a year; one
    # draw per distinct year (a few dozen at most), each vectorised.
    for year in np.unique(years):
        idx = np.flatnonzero(years == year)
        space = max(_PNC_SERIAL_SPACE, 2 * len(idx))
        if space >= 10**PNC_SERIAL_DIGITS:
            raise ValueError(f"too many PNC IDs ({len(idx)}) for year {year}")
        serial[idx] = unique_integers(len(idx), space - 1, rng) + 1
    yy = years % 100
    check = pnc_check_letter(yy, serial)
    out = _as_str(yy, 2) + "/" + _as_str(serial) + pd.Series(check, dtype="str")
    return out.to_numpy(dtype=object)


def draw_noms_ids(n: int, rng: np.random.Generator) -> np.ndarray:
    """Prison (NOMIS) numbers like ``A1234BC``, unique."""
    n_first = len(NOMS_FIRST_LETTERS)
    k = unique_integers(n, n_first * 10_000 * 26 * 26, rng)
    first = np.array(list(NOMS_FIRST_LETTERS))[k // (10_000 * 676)]
    digits = (k // 676) % 10_000
    l1 = _LETTERS[(k // 26) % 26]
    l2 = _LETTERS[k % 26]
    out = (
        pd.Series(first, dtype="str")
        + _as_str(digits, 4)
        + pd.Series(l1, dtype="str")
        + pd.Series(l2, dtype="str")
    )
    return out.to_numpy(dtype=object)


def draw_crns(n: int, rng: np.random.Generator) -> np.ndarray:
    """Probation case reference numbers like ``X123456``, unique."""
    letters = CRN_LETTERS if n <= len(CRN_LETTERS) * 1_000_000 else "".join(_LETTERS)
    k = unique_integers(n, len(letters) * 1_000_000, rng)
    first = np.array(list(letters))[k // 1_000_000]
    out = pd.Series(first, dtype="str") + _as_str(k % 1_000_000, 6)
    return out.to_numpy(dtype=object)


def draw_health_ids(n: int, rng: np.random.Generator) -> np.ndarray:
    """Hospital numbers like ``RJE04731295``: opaque to the pipeline, unique."""
    k = unique_integers(n, 10**HEALTH_ID_DIGITS, rng)
    return (HEALTH_ID_PREFIX + _as_str(k, HEALTH_ID_DIGITS)).to_numpy(dtype=object)


def draw_council_ids(n: int, rng: np.random.Generator) -> np.ndarray:
    """Council housing references like ``HSG-7QK2ZD``: opaque to the pipeline, unique."""
    base = len(COUNCIL_ID_CHARS)
    k = unique_integers(n, base**COUNCIL_ID_LENGTH, rng)
    out = pd.Series(COUNCIL_ID_PREFIX, index=range(n), dtype="str")
    # One pass per character position (six), each vectorised over people.
    for power in range(COUNCIL_ID_LENGTH - 1, -1, -1):
        out = out + pd.Series(COUNCIL_ID_CHARS[(k // base**power) % base], dtype="str")
    return out.to_numpy(dtype=object)


def draw_offence_ids(n: int, rng: np.random.Generator) -> np.ndarray:
    """Crime reference numbers like ``CR001234567``: unique, no meaning."""
    k = unique_integers(n, 10**9, rng)
    return ("CR" + _as_str(k, 9)).to_numpy(dtype=object)
