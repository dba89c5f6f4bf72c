"""Agency identifiers for simulated people, and the keyed randomness behind stable draws.

A later extract of the same world must give every person the same identifiers and the
same recorded details, whoever else has joined the data since. So per-person draws
are not taken from a sequential random stream (where one extra person shifts every
later draw) but computed from a key and the person's own id: :func:`stable_uniform`
hashes ``(key, id, purpose)`` to a uniform number, and :func:`permute` maps ids to
identifier numbers through a keyed bijection, so identifiers are unique without any
collision handling and never change owner. The key itself comes from the numpy
``Generator`` passed in, so everything stays deterministic given the seed.
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
# Six-digit serials are the common short form (09/123456C); seven when ids need room.
_PNC_SERIAL_SPACE = 999_999

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

_U64 = np.uint64
_FEISTEL_ROUNDS = 4


# ---------------------------------------------------------------------------------------
# Keyed randomness
# ---------------------------------------------------------------------------------------


def draw_key(rng: np.random.Generator) -> int:
    """A 63-bit key for the keyed draws, taken from ``rng`` (one draw, whatever the size)."""
    return int(rng.integers(0, 2**63 - 1))


def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser: a fast, well-spread bijection on uint64 (wrapping arithmetic)."""
    z = x + _U64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> _U64(30))) * _U64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> _U64(27))) * _U64(0x94D049BB133111EB)
    return z ^ (z >> _U64(31))


def stable_hash(key: int, ids: ArrayLike, *salts: int) -> np.ndarray:
    """64-bit hash of each id under ``key`` and ``salts`` (uint64 array)."""
    with np.errstate(over="ignore"):
        h = _mix(np.asarray(ids).astype(np.int64).astype(_U64) ^ _mix(np.full(1, key, dtype=_U64)))
        for salt in salts:
            h = _mix(h ^ _mix(np.full(1, salt, dtype=_U64)))
    return np.asarray(h, dtype=_U64)


def stable_uniform(key: int, ids: ArrayLike, *salts: int) -> np.ndarray:
    """Uniform numbers in [0, 1), one per id, fixed by ``(key, id, salts)``.

    Examples
    --------
    >>> a = stable_uniform(7, [1, 2, 3], 5)
    >>> bool((stable_uniform(7, [3], 5) == a[2]).all())
    True
    """
    return (stable_hash(key, ids, *salts) >> _U64(11)).astype(np.float64) * 2.0**-53


def combine_keys(*parts: ArrayLike) -> np.ndarray:
    """One int64 key per row from several integer columns (e.g. person, date, rank)."""
    with np.errstate(over="ignore"):
        h = np.zeros(len(np.asarray(parts[0])), dtype=_U64)
        for p in parts:
            h = _mix(h ^ np.asarray(p).astype(np.int64).astype(_U64))
    return h.view(np.int64)


def permute(ids: ArrayLike, space: int, key: int) -> np.ndarray:
    """A keyed bijection of ``[0, space)`` applied to ``ids``: distinct ids stay distinct.

    A balanced Feistel network on the smallest even number of bits covering ``space``,
    with cycle-walking (re-applying until the value falls inside ``space``).

    Raises
    ------
    ValueError
        When an id lies outside ``[0, space)``.
    """
    x = np.asarray(ids).astype(np.int64)
    if len(x) and (x.min() < 0 or x.max() >= space):
        raise ValueError(f"ids must lie in [0, {space}) to be permuted; got {x.min()}..{x.max()}")
    half = max(1, (int(space - 1).bit_length() + 1) // 2)
    mask = _U64((1 << half) - 1)
    out = x.astype(_U64)
    todo = np.ones(len(out), dtype=bool)
    # Cycle-walking: values the network sends outside the space go round again; each
    # pass lands inside with probability > 1/4, so a handful of passes suffice.
    while todo.any():
        left, right = out[todo] >> _U64(half), out[todo] & mask
        for r in range(_FEISTEL_ROUNDS):
            left, right = right, left ^ (stable_hash(key, right.view(np.int64), r) & mask)
        out[todo] = (left << _U64(half)) | right
        todo = out >= _U64(space)
    return out.astype(np.int64)


# ---------------------------------------------------------------------------------------
# Identifiers
# ---------------------------------------------------------------------------------------


def _keys(n_or_keys: int | ArrayLike) -> np.ndarray:
    if isinstance(n_or_keys, int | np.integer):
        return np.arange(int(n_or_keys), dtype=np.int64)
    keys = np.asarray(n_or_keys).astype(np.int64)
    if len(np.unique(keys)) != len(keys):
        raise ValueError("identifier keys must be unique")
    return keys


def _as_str(values: np.ndarray, width: int = 0) -> pd.Series:
    s = pd.Series(values, dtype="int64").astype("str")
    return s.str.zfill(width) if width else s


def _numbers(n_or_keys: int | ArrayLike, space: int, rng: np.random.Generator) -> np.ndarray:
    keys = _keys(n_or_keys)
    if len(keys) > space:
        raise ValueError(f"cannot draw {len(keys)} unique identifiers from a space of {space}")
    return permute(keys, space, draw_key(rng))


def pnc_check_letter(year2: ArrayLike, serial: ArrayLike) -> np.ndarray:
    """The PNC check character for two-digit years and serial numbers.

    Examples
    --------
    >>> pnc_check_letter([9], [123456]).tolist()
    ['C']
    """
    number = np.asarray(year2, dtype=np.int64) * 10**PNC_SERIAL_DIGITS + np.asarray(serial, dtype=np.int64)
    return np.array(list(PNC_CHECK_LETTERS))[number % len(PNC_CHECK_LETTERS)]


def draw_pnc_ids(
    created_year: ArrayLike, rng: np.random.Generator, *, keys: ArrayLike | None = None
) -> np.ndarray:
    """PNC IDs ``YY/serial + check`` for records created in the given years.

    Parameters
    ----------
    created_year
        Four-digit year each person's police record was created.
    rng
        Source of the key.
    keys
        Stable non-negative ids of the people (e.g. ``person_id``): the same key gets
        the same serial in every extract. Default: positions ``0..n-1``.

    Returns
    -------
    numpy.ndarray
        Object array of unique IDs matching ``^\\d{2}/\\d{1,7}[A-Z]$``.
    """
    years = np.asarray(created_year, dtype=np.int64)
    k = _keys(len(years) if keys is None else keys)
    # Serials are unique across all years here (stronger than the PNC's per-year rule).
    space = _PNC_SERIAL_SPACE if (len(k) == 0 or k.max() < _PNC_SERIAL_SPACE) else 10**PNC_SERIAL_DIGITS - 1
    serial = _numbers(k, space, rng) + 1
    yy = years % 100
    check = pnc_check_letter(yy, serial)
    out = _as_str(yy, 2) + "/" + _as_str(serial) + pd.Series(check, dtype="str")
    return out.to_numpy(dtype=object)


def draw_noms_ids(n_or_keys: int | ArrayLike, rng: np.random.Generator) -> np.ndarray:
    """Prison (NOMIS) numbers like ``A1234BC``, unique; give stable keys to fix them per person."""
    k = _numbers(n_or_keys, len(NOMS_FIRST_LETTERS) * 10_000 * 26 * 26, rng)
    first = np.array(list(NOMS_FIRST_LETTERS))[k // (10_000 * 676)]
    digits = (k // 676) % 10_000
    tail = pd.Series(_LETTERS[(k // 26) % 26], dtype="str") + pd.Series(_LETTERS[k % 26], dtype="str")
    return (pd.Series(first, dtype="str") + _as_str(digits, 4) + tail).to_numpy(dtype=object)


def draw_crns(n_or_keys: int | ArrayLike, rng: np.random.Generator) -> np.ndarray:
    """Probation case reference numbers like ``X123456``, unique."""
    k = _numbers(n_or_keys, len(CRN_LETTERS) * 1_000_000, rng)
    first = np.array(list(CRN_LETTERS))[k // 1_000_000]
    return (pd.Series(first, dtype="str") + _as_str(k % 1_000_000, 6)).to_numpy(dtype=object)


def draw_health_ids(n_or_keys: int | ArrayLike, rng: np.random.Generator) -> np.ndarray:
    """Hospital numbers like ``RJE04731295``: opaque to the pipeline, unique."""
    k = _numbers(n_or_keys, 10**HEALTH_ID_DIGITS, rng)
    return (HEALTH_ID_PREFIX + _as_str(k, HEALTH_ID_DIGITS)).to_numpy(dtype=object)


def draw_council_ids(n_or_keys: int | ArrayLike, rng: np.random.Generator) -> np.ndarray:
    """Council housing references like ``HSG-7QK2ZD``: opaque to the pipeline, unique."""
    base = len(COUNCIL_ID_CHARS)
    k = _numbers(n_or_keys, base**COUNCIL_ID_LENGTH, rng)
    out = pd.Series(COUNCIL_ID_PREFIX, index=range(len(k)), dtype="str")
    # One pass per character position (six), each vectorised over people.
    for power in range(COUNCIL_ID_LENGTH - 1, -1, -1):
        out = out + pd.Series(COUNCIL_ID_CHARS[(k // base**power) % base], dtype="str")
    return out.to_numpy(dtype=object)


def draw_offence_ids(n_or_keys: int | ArrayLike, rng: np.random.Generator) -> np.ndarray:
    """Crime reference numbers like ``CR9F3A1C0D22B7E415``: unique, no meaning.

    Keys may be any distinct int64 values (e.g. :func:`combine_keys` of person, date
    and rank); they are hashed to 64 bits (a collision among ten million offences has
    odds of about 1 in 300,000, and raises).
    """
    keys = _keys(n_or_keys)
    h = stable_hash(draw_key(rng), keys)
    if len(np.unique(h)) != len(h):
        raise ValueError("offence id collision: pass distinct keys")
    hex_digits = np.array(list("0123456789ABCDEF"))
    out = pd.Series("CR", index=range(len(h)), dtype="str")
    for shift in range(60, -1, -4):
        out = out + pd.Series(hex_digits[((h >> _U64(shift)) & _U64(15)).astype(np.int64)], dtype="str")
    return out.to_numpy(dtype=object)
