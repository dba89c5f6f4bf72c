"""Simulated personal details: the true identity of each person and what each agency records.

Each agency holds ONE recorded identity per person (all rows under the same agency
identifier agree), drawn from the truth with the kinds of error real systems carry:
typos, nicknames, day/month swaps, maiden names, moved postcodes, missing values.
Everything is vectorised over people; the only Python loops run over a handful of
noise kinds, name pools or character positions.

Draws are keyed by person (``simulator.ids.stable_uniform``): a person's names and
recorded details depend on the seed and their own ``person_id`` only, so they are the
same in a later extract of the same world however many people have joined it.
"""

from __future__ import annotations

import logging
from typing import Annotated, Final

import numpy as np
import pandas as pd
from pydantic import Field

from iom_config import StageParams
from iom_contract import ETHNICITY
from simulator import names
from simulator.ids import draw_key, stable_uniform

logger = logging.getLogger(__name__)

Rate = Annotated[float, Field(ge=0.0, le=1.0)]

AGENCIES: Final = ("police", "prison", "probation", "health", "housing")

NOISE_KINDS: Final = (
    "nickname",
    "maiden_name",
    "typo",
    "missing_name",
    "day_month_swap",
    "missing_dob",
    "sex_mismatch",
    "ethnicity_mismatch",
    "postcode_moved",
    "missing_postcode",
)

# Which errors each agency's records can carry. Missing names and dates of birth only
# where the contract lets them be empty (health, housing); probation holds no postcode;
# police ethnicity is the reference the fairness audit uses, so it is recorded as true.
# Prison records carry no personal details in the contract.
NOISE_BY_AGENCY: Final[dict[str, tuple[str, ...]]] = {
    "police": (
        "nickname",
        "maiden_name",
        "typo",
        "day_month_swap",
        "sex_mismatch",
        "postcode_moved",
        "missing_postcode",
    ),
    "probation": ("nickname", "maiden_name", "typo", "day_month_swap", "sex_mismatch", "ethnicity_mismatch"),
    "health": (
        "nickname",
        "maiden_name",
        "typo",
        "missing_name",
        "day_month_swap",
        "missing_dob",
        "sex_mismatch",
        "postcode_moved",
        "missing_postcode",
    ),
    "housing": (
        "nickname",
        "maiden_name",
        "typo",
        "missing_name",
        "day_month_swap",
        "missing_dob",
        "sex_mismatch",
        "postcode_moved",
        "missing_postcode",
    ),
}

_TRUE_COLUMNS: Final = ("person_id", "forename", "surname", "date_of_birth", "sex", "postcode_district")


class IdentityNoise(StageParams):
    """How often each agency's recorded identity departs from the truth.

    Each rate is the probability, per person and agency, that the error is present,
    among the people it can apply to: ``nickname`` among people whose forename has a
    common diminutive, ``maiden_name`` among women, ``day_month_swap`` among dates of
    birth whose day is 12 or less and differs from the month. ``pnc_missing`` is per
    prison or probation ROW (the PNC ID was not keyed for that episode or order).
    """

    typo: Rate = 0.03
    nickname: Rate = 0.08
    day_month_swap: Rate = 0.02
    missing_dob: Rate = 0.03
    maiden_name: Rate = 0.08
    missing_name: Rate = 0.02
    sex_mismatch: Rate = 0.01
    ethnicity_mismatch: Rate = 0.05
    postcode_moved: Rate = 0.10
    missing_postcode: Rate = 0.03
    pnc_missing: Rate = 0.05
    distractor_lookalike_share: Rate = Field(
        default=0.3,
        description="share of health/housing-only distractors who are relatives of a real person "
        "(same surname and postcode, close date of birth, different forename)",
    )


# Salts naming each keyed draw, so that no two purposes share a random number.
_S_POOL, _S_SEX, _S_FORENAME, _S_SURNAME, _S_POSTCODE = 1, 2, 3, 4, 5
_S_LOOKALIKE, _S_RELATIVE, _S_TWIN, _S_GAP, _S_GAP_SIGN, _S_DONOR, _S_DOB_JITTER = 11, 12, 13, 14, 15, 16, 17
_S_CLASH = 20
_S_NOISE, _S_AUX, _S_TYPO = 31, 32, 33
_AGENCY_SALT: Final = {agency: 100 + i for i, agency in enumerate(AGENCIES)}


# ---------------------------------------------------------------------------------------
# True identities
# ---------------------------------------------------------------------------------------


def _choose(options: np.ndarray, p: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Inverse-CDF draw: ``options`` with probabilities ``p``, one per uniform in ``u``."""
    cum = np.cumsum(p)
    cum /= cum[-1]
    return options[np.minimum(np.searchsorted(cum, u, side="right"), len(options) - 1)]


def _draw_pools(ethnicity: pd.Series | None, u: np.ndarray) -> np.ndarray:
    """Name pool per person, following recorded ethnicity where it is known."""
    n = len(u)
    pools = np.empty(n, dtype=object)
    groups: list[tuple[np.ndarray, dict[str, float]]]
    if ethnicity is None:
        groups = [(np.ones(n, dtype=bool), names.DEFAULT_POOL_MIX)]
    else:
        eth = ethnicity.to_numpy(dtype=object)
        groups = [(eth == g, names.POOL_MIX_BY_ETHNICITY[g]) for g in ETHNICITY]
        # Anyone with an ethnicity outside the contract's groups uses the default mix.
        groups.append((~np.isin(eth, ETHNICITY), names.DEFAULT_POOL_MIX))
    for mask, mix in groups:
        keys = np.array(list(mix), dtype=object)
        pools[mask] = _choose(keys, np.array(list(mix.values()), dtype=float), u[mask])
    return pools


def _draw_from_pools(pools: names.NamePools, pool: np.ndarray, u: np.ndarray, exponent: float) -> np.ndarray:
    out = np.empty(len(pool), dtype=object)
    for key, values in pools.items():
        m = pool == key
        if m.any():
            out[m] = _choose(np.array(values, dtype=object), names.pool_weights(values, exponent), u[m])
    return out


def _draw_surnames(pool: np.ndarray, u: np.ndarray) -> np.ndarray:
    return _draw_from_pools(names.SURNAMES, pool, u, names.SURNAME_ZIPF_EXPONENT)


def _draw_forenames(sex: np.ndarray, pool: np.ndarray, u_sex: np.ndarray, u: np.ndarray) -> np.ndarray:
    # People recorded X or U get a forename from either list.
    as_male = np.where(np.isin(sex, ("M", "F")), sex == "M", u_sex < 0.5)
    out = np.empty(len(sex), dtype=object)
    for male, pools in ((True, names.MALE_FORENAMES), (False, names.FEMALE_FORENAMES)):
        m = as_male == male
        out[m] = _draw_from_pools(pools, pool[m], u[m], names.FORENAME_ZIPF_EXPONENT)
    return out


def _draw_postcodes(u: np.ndarray, area: str, n_areas: int = 1) -> np.ndarray:
    districts, p = names.postcode_districts(area, n_areas)
    return _choose(np.array(districts, dtype=object), p, u)


def draw_true_identity(
    persons: pd.DataFrame, rng: np.random.Generator, *, area: str = names.DEFAULT_AREA, n_areas: int = 1
) -> pd.DataFrame:
    """Draw each person's true forename, surname and home postcode district.

    Parameters
    ----------
    persons
        ``person_id``, ``sex``, ``date_of_birth``; an ``ethnicity`` column, when present,
        steers which name pools are used.
    rng
        Source of the key; each person's draws depend on it and their ``person_id`` only.
    area, n_areas
        Area whose postcode districts are used, and how many areas the extract spans
        (see :func:`simulator.names.postcode_districts`).

    Returns
    -------
    pandas.DataFrame
        ``person_id``, ``forename``, ``surname``, ``postcode_district``, in the order of
        ``persons``.
    """
    key = draw_key(rng)
    pid = persons["person_id"].to_numpy(dtype=np.int64)
    pool = _draw_pools(persons.get("ethnicity"), stable_uniform(key, pid, _S_POOL))
    sex = persons["sex"].to_numpy(dtype=object)
    forename = _draw_forenames(
        sex, pool, stable_uniform(key, pid, _S_SEX), stable_uniform(key, pid, _S_FORENAME)
    )
    return pd.DataFrame(
        {
            "person_id": pid,
            "forename": pd.array(forename, dtype="str"),
            "surname": pd.array(_draw_surnames(pool, stable_uniform(key, pid, _S_SURNAME)), dtype="str"),
            "postcode_district": pd.array(
                _draw_postcodes(stable_uniform(key, pid, _S_POSTCODE), area, n_areas), dtype="str"
            ),
        }
    )


def draw_distractors(
    n: int,
    rng: np.random.Generator,
    lookalike_share: float,
    *,
    relatives_of: pd.DataFrame,
    latest_dob: pd.Timestamp | None = None,
    area: str = names.DEFAULT_AREA,
    n_areas: int = 1,
) -> pd.DataFrame:
    """People who are NOT known to police but appear in health or housing records.

    About ``lookalike_share`` of them are look-alikes of a real person: a relative with
    the same surname and postcode district, a close date of birth (a tenth are twins)
    and a different forename, so that a linker matching on surname, postcode and birth
    year alone is caught out. Distractor ``i`` is the same person however large ``n``
    is (draws are keyed by ``i``), so a later extract with more distractors keeps the
    earlier ones.

    Parameters
    ----------
    n
        How many distractors.
    rng
        Source of the key.
    lookalike_share
        Probability that a distractor is a relative of someone in ``relatives_of``.
    relatives_of
        True identities of the real people: ``person_id``, ``sex``, ``date_of_birth``,
        ``forename``, ``surname``, ``postcode_district`` and optionally ``ethnicity``.
    latest_dob
        Latest allowed date of birth (e.g. the extract date minus 16 years): younger
        distractors are left out, so fewer than ``n`` rows may come back.
    area, n_areas
        Area whose postcode districts are used for non-relatives, and how many areas
        the extract spans.

    Returns
    -------
    pandas.DataFrame
        ``person_id`` (continuing after the largest in ``relatives_of``), ``sex``,
        ``date_of_birth``, ``ethnicity``, ``forename``, ``surname``,
        ``postcode_district``, ``lookalike_of`` (the relative's person_id, or null).
    """
    if not 0.0 <= lookalike_share <= 1.0:
        raise ValueError(f"lookalike_share must be in [0, 1], got {lookalike_share}")
    key = draw_key(rng)
    idx = np.arange(n, dtype=np.int64)
    n_rel = len(relatives_of)
    first_id = int(relatives_of["person_id"].max()) + 1 if n_rel else 0
    rel_dob = relatives_of["date_of_birth"].to_numpy(dtype="datetime64[ms]")
    rel_eth = (
        relatives_of["ethnicity"].to_numpy(dtype=object)
        if "ethnicity" in relatives_of
        else np.full(n_rel, "Not stated", dtype=object)
    )

    def u(salt: int) -> np.ndarray:
        return stable_uniform(key, idx, salt)

    look = (u(_S_LOOKALIKE) < lookalike_share) & (n_rel > 0)
    sex = np.where(u(_S_SEX) < 0.5, "M", "F").astype(object)
    day = np.timedelta64(1, "D")
    if n_rel:
        # A relative for look-alikes; a real person's date of birth (with up to ~3 years
        # of jitter) and ethnicity for the others, so they look like the population.
        other = np.floor(u(_S_RELATIVE) * n_rel).astype(np.int64)
        twins = u(_S_TWIN) < 0.1
        gap = (300 + np.floor(u(_S_GAP) * 1900)).astype(np.int64) * np.where(u(_S_GAP_SIGN) < 0.5, -1, 1)
        jitter = np.floor((u(_S_DOB_JITTER) - 0.5) * 2200).astype(np.int64)
        dob = rel_dob[other] + np.where(look, np.where(twins, 0, gap), jitter) * day
        ethnicity = rel_eth[other]
    else:
        other = np.zeros(n, dtype=np.int64)
        dob = (
            np.datetime64("1985-01-01", "ms")
            + np.floor((u(_S_DOB_JITTER) - 0.5) * 10000).astype(np.int64) * day
        )
        ethnicity = np.full(n, "Not stated", dtype=object)
    dob = dob.astype("datetime64[ms]")

    pool = _draw_pools(pd.Series(ethnicity, dtype="str"), u(_S_POOL))
    forename = _draw_forenames(sex, pool, u(_S_SEX), u(_S_FORENAME))
    surname = _draw_surnames(pool, u(_S_SURNAME))
    postcode = _draw_postcodes(u(_S_POSTCODE), area, n_areas)
    lookalike_of = pd.array(np.full(n, pd.NA, dtype=object), dtype="Int64")
    if look.any():
        rel_pid = relatives_of["person_id"].to_numpy(dtype=np.int64)
        surname[look] = relatives_of["surname"].to_numpy(dtype=object)[other[look]]
        postcode[look] = relatives_of["postcode_district"].to_numpy(dtype=object)[other[look]]
        rel_forename = relatives_of["forename"].to_numpy(dtype=object)[other]
        # A relative never shares the forename: redraw the few clashes (a handful of
        # passes over the clashing rows, not over people).
        for attempt in range(10):
            clash = look & (forename == rel_forename)
            if not clash.any():
                break
            forename[clash] = _draw_forenames(
                sex[clash], pool[clash], u(_S_SEX)[clash], stable_uniform(key, idx[clash], _S_CLASH, attempt)
            )
        clash = look & (forename == rel_forename)
        forename[clash] = np.where(sex[clash] == "M", "Nathaniel", "Rosalind")
        lookalike_of[look] = rel_pid[other[look]]
    out = pd.DataFrame(
        {
            "person_id": first_id + idx,
            "sex": pd.array(sex, dtype="str"),
            "date_of_birth": dob,
            "ethnicity": pd.array(ethnicity, dtype="str"),
            "forename": pd.array(forename, dtype="str"),
            "surname": pd.array(surname, dtype="str"),
            "postcode_district": pd.array(postcode, dtype="str"),
            "lookalike_of": lookalike_of,
        }
    )
    if latest_dob is None:
        return out
    # Too young for this extract: left out, not made older, so that a later extract
    # (with a later bound) adds them without changing anyone already there.
    old_enough = out["date_of_birth"] <= pd.Timestamp(latest_dob).normalize()
    return out[old_enough.to_numpy()].reset_index(drop=True)


# ---------------------------------------------------------------------------------------
# Recorded identities
# ---------------------------------------------------------------------------------------


def typo(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One keying error per string: substitution, deletion, insertion or transposition.

    The first character is never touched (names are capitalised and a wrong initial
    is rarer than an error inside the word), so every output differs from its input
    by exactly one edit.

    Parameters
    ----------
    values
        Non-empty strings.
    rng
        Source of randomness.

    Returns
    -------
    numpy.ndarray
        Object array of the same length.

    Examples
    --------
    >>> out = typo(np.array(["Smith", "Jones"], dtype=object), np.random.default_rng(0))
    >>> [a != b for a, b in zip(out, ["Smith", "Jones"])]
    [True, True]
    """
    return _typo(values, rng.random((len(values), 3)))


def _typo(values: np.ndarray, u: np.ndarray) -> np.ndarray:
    """:func:`typo` driven by three uniforms per string (kind, position, letter)."""
    n = len(values)
    if n == 0:
        return np.asarray(values, dtype=object).copy()
    text = np.asarray(values, dtype=str)
    length = np.char.str_len(text).astype(np.int64)
    if (length == 0).any():
        raise ValueError("typo() needs non-empty strings")
    width = int(length.max()) + 2
    cp = np.ascontiguousarray(text.astype(f"<U{width}")).view(np.uint32).reshape(n, width)

    kind = np.floor(u[:, 0] * 4).astype(np.int64)  # 0 substitute, 1 delete, 2 insert, 3 transpose
    letter_offset = np.floor(u[:, 2] * 26).astype(np.int64)
    rows = np.arange(n)
    # Deleting or transposing needs at least two characters after the first.
    kind = np.where(np.isin(kind, (1, 3)) & (length < 3), 0, kind)
    pos = np.where(
        kind == 2,
        1 + np.floor(u[:, 1] * length).astype(np.int64),  # insert before 1..len (len = append)
        1 + np.floor(u[:, 1] * np.maximum(length - 1 - (kind == 3), 1)).astype(np.int64),
    )
    pos = np.where(length == 1, np.where(kind == 2, 1, 0), pos)
    # Swapping two equal letters ("ll" in "Bell") changes nothing: substitute instead.
    nxt = np.minimum(pos + 1, width - 1)
    kind = np.where((kind == 3) & (cp[rows, pos] == cp[rows, nxt]), 0, kind)

    j = np.broadcast_to(np.arange(width), (n, width))
    p = pos[:, None]
    src = np.where((kind == 1)[:, None], j + (j >= p), j)
    src = np.where((kind == 2)[:, None], j - (j > p), src)
    src = np.where((kind == 3)[:, None] & (j == p), j + 1, src)
    src = np.where((kind == 3)[:, None] & (j == p + 1), j - 1, src)
    padded = np.concatenate([cp, np.zeros((n, 1), dtype=np.uint32)], axis=1)
    out = np.take_along_axis(padded, np.clip(src, 0, width), axis=1)

    current = cp[rows, pos].astype(np.int64)
    is_lower = (current >= ord("a")) & (current <= ord("z"))
    is_upper = (current >= ord("A")) & (current <= ord("Z"))
    # A substituted letter keeps the case of the one it replaces and always differs
    # from it; an apostrophe or hyphen becomes a lower-case letter.
    base = np.where(is_upper, ord("A"), ord("a"))
    sub_letter = (
        np.where(is_lower | is_upper, (current - base + 1 + letter_offset % 25) % 26, letter_offset) + base
    )
    put = np.isin(kind, (0, 2))
    out[rows[put], pos[put]] = np.where(
        kind[put] == 2, letter_offset[put] + ord("a"), sub_letter[put]
    ).astype(np.uint32)
    result = np.ascontiguousarray(out).view(f"<U{width}").ravel()
    return result.astype(object)


def _female_previous_surname(person_id: np.ndarray, surname: np.ndarray) -> np.ndarray:
    """The other surname a woman is known by (before or after marriage).

    Keyed by ``person_id`` alone (no seed), so every agency recording a woman under
    her other surname records the SAME other surname.
    """
    pool = names.SURNAMES["general"]
    options = np.array(pool, dtype=object)
    u = stable_uniform(0x5EED, person_id, _S_SURNAME)
    idx = np.minimum(
        np.searchsorted(np.cumsum(names.pool_weights(pool, names.SURNAME_ZIPF_EXPONENT)), u, side="right"),
        len(pool) - 1,
    )
    other = options[idx]
    same = other == surname
    other[same] = options[(idx[same] + 1) % len(pool)]
    return other


def _record_identity_with_flags(
    true_identity: pd.DataFrame,
    agency: str,
    noise: IdentityNoise,
    rng: np.random.Generator,
    area: str = names.DEFAULT_AREA,
    n_areas: int = 1,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`record_identity`, also returning which errors were applied to whom."""
    if agency not in NOISE_BY_AGENCY:
        raise ValueError(
            f"agency {agency!r} records no personal details; choose one of {', '.join(NOISE_BY_AGENCY)}"
        )
    missing = [c for c in _TRUE_COLUMNS if c not in true_identity]
    if missing:
        raise ValueError(f"true_identity lacks column(s) {', '.join(missing)}")
    key = draw_key(rng)
    n = len(true_identity)
    applies = NOISE_BY_AGENCY[agency]
    person_id = true_identity["person_id"].to_numpy(dtype=np.int64)
    agency_salt = _AGENCY_SALT[agency]
    flags = pd.DataFrame(False, index=range(n), columns=list(NOISE_KINDS))

    def draw(kind: str, slot: int = 0, salt: int = _S_NOISE) -> np.ndarray:
        return stable_uniform(key, person_id, agency_salt, salt, NOISE_KINDS.index(kind), slot)

    def hit(kind: str, eligible: np.ndarray | None = None) -> np.ndarray:
        mask = draw(kind) < getattr(noise, kind) if kind in applies else np.zeros(n, dtype=bool)
        if eligible is not None:
            mask &= eligible
        flags[kind] = mask
        return mask

    def aux_of(kind: str) -> np.ndarray:
        return draw(kind, salt=_S_AUX)

    true_sex = true_identity["sex"].to_numpy(dtype=object)
    forename = true_identity["forename"].to_numpy(dtype=object).copy()
    surname = true_identity["surname"].to_numpy(dtype=object).copy()

    # Forename: a diminutive instead of the registered name.
    keys = np.array(list(names.NICKNAMES), dtype=object)
    counts = np.array([len(v) for v in names.NICKNAMES.values()])
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    flat = np.array([nick for v in names.NICKNAMES.values() for nick in v], dtype=object)
    code = pd.Index(keys).get_indexer(forename)
    m = hit("nickname", code >= 0)
    c = code[m]
    forename[m] = flat[offsets[c] + np.floor(aux_of("nickname")[m] * counts[c]).astype(np.int64)]

    # Surname: a woman recorded under her surname from before (or after) marriage.
    m = hit("maiden_name", true_sex == "F")
    surname[m] = _female_previous_surname(person_id[m], surname[m])

    # One keying error, in the forename or the surname.
    m = hit("typo")
    u_typo = np.stack([draw("typo", slot, _S_TYPO) for slot in range(3)], axis=1)
    in_forename = m & (aux_of("typo") < 0.5)
    in_surname = m & ~in_forename
    forename[in_forename] = _typo(forename[in_forename], u_typo[in_forename])
    surname[in_surname] = _typo(surname[in_surname], u_typo[in_surname])

    # Names left blank: forename only (half), surname only (a quarter), or both.
    m = hit("missing_name")
    a = aux_of("missing_name")
    forename[m & ((a < 0.5) | (a >= 0.75))] = None
    surname[m & (a >= 0.5)] = None

    # Date of birth: 1990-03-05 keyed as 1990-05-03. Only possible when the day is a
    # valid month and differs from the month.
    dob = pd.DatetimeIndex(true_identity["date_of_birth"]).as_unit("ms")
    swappable = (dob.day <= 12) & (dob.day != dob.month)
    m = hit("day_month_swap", np.asarray(swappable))
    swapped = pd.to_datetime(
        pd.DataFrame({"year": dob.year[m], "month": dob.day[m], "day": dob.month[m]})
    ).to_numpy(dtype="datetime64[ms]")
    dob_out = dob.to_numpy(dtype="datetime64[ms]").copy()
    dob_out[m] = swapped
    m = hit("missing_dob")
    dob_out[m] = np.datetime64("NaT", "ms")

    # Sex: not recorded (U) half the time, otherwise the other sex keyed by mistake.
    m = hit("sex_mismatch")
    a = aux_of("sex_mismatch")
    other = np.where(true_sex == "M", "F", np.where(true_sex == "F", "M", np.where(a < 0.75, "M", "F")))
    sex = true_sex.copy()
    sex[m] = np.where((a[m] < 0.5) & (true_sex[m] != "U"), "U", other[m])

    columns: dict[str, object] = {
        "person_id": person_id,
        "forename": pd.array(forename, dtype="str"),
        "surname": pd.array(surname, dtype="str"),
        "date_of_birth": dob_out,
        "sex": pd.array(sex, dtype="str"),
    }

    if "ethnicity" in true_identity:
        # Self-defined ethnicity is often not captured ("Not stated") or differs from
        # what another agency recorded.
        eth = true_identity["ethnicity"].to_numpy(dtype=object).copy()
        m = hit("ethnicity_mismatch")
        a = aux_of("ethnicity_mismatch")
        groups = np.array([g for g in ETHNICITY if g != "Not stated"], dtype=object)
        current = pd.Index(groups).get_indexer(eth)
        shift = 1 + np.floor((a - 0.6) / 0.4 * (len(groups) - 1)).clip(0, len(groups) - 2).astype(np.int64)
        replacement = np.where(a < 0.6, "Not stated", groups[(np.maximum(current, 0) + shift) % len(groups)])
        eth[m] = replacement[m]
        columns["ethnicity"] = pd.array(eth, dtype="str")

    # Postcode district: an old or new address, or none recorded. A move stays within
    # the person's own area (most moves are local): another of its districts, drawn by
    # the area's weights.
    postcode = true_identity["postcode_district"].to_numpy(dtype=object).copy()
    m = hit("postcode_moved")
    if m.any():
        districts, _ = names.postcode_districts(area, n_areas)
        local, p = names.postcode_districts(area)
        districts_arr = np.array(districts, dtype=object)
        d = len(local)
        home = pd.Index(districts).get_indexer(postcode[m])
        first = np.where(home >= 0, home - home % d, 0)
        drawn = np.searchsorted(np.cumsum(p), aux_of("postcode_moved")[m], side="right").clip(0, d - 1)
        same = first + drawn == home
        drawn[same] = (drawn[same] + 1) % d
        postcode[m] = districts_arr[first + drawn]
    m = hit("missing_postcode")
    postcode[m] = None
    columns["postcode_district"] = pd.array(postcode, dtype="str")

    return pd.DataFrame(columns), flags


def record_identity(
    true_identity: pd.DataFrame,
    agency: str,
    noise: IdentityNoise,
    rng: np.random.Generator,
    *,
    area: str = names.DEFAULT_AREA,
    n_areas: int = 1,
) -> pd.DataFrame:
    """What ``agency``'s system holds for each person: one recorded identity per person.

    Parameters
    ----------
    true_identity
        ``person_id``, ``forename``, ``surname``, ``date_of_birth``, ``sex``,
        ``postcode_district`` and optionally ``ethnicity`` (the truth).
    agency
        ``police``, ``probation``, ``health`` or ``housing`` (see ``NOISE_BY_AGENCY``
        for the errors each can carry).
    noise
        Error rates.
    rng
        Source of the key; each person's errors depend on it, the agency and their
        ``person_id`` only.
    area, n_areas
        Area whose postcode districts a moved person may be recorded in, and how many
        areas the extract spans (a move stays in the person's own area).

    Returns
    -------
    pandas.DataFrame
        The same columns, one row per input row in the same order, as recorded.
    """
    recorded, flags = _record_identity_with_flags(true_identity, agency, noise, rng, area, n_areas)
    logger.debug("%s identities: %s", agency, flags.sum().to_dict())
    return recorded
