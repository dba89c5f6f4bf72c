"""Turn each agency's recorded personal details into one comparable identity per id.

An agency id (health_id, council_id, crn) appears on many rows, which may record the
person's details slightly differently. Each id is reduced to its *recorded identity*:
per detail, the value recorded most often (ties go to the most recent row). The
identity then gets the derived keys that the blocking rules and comparisons use.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import pandas as pd

from linkage.nicknames import FORMAL_NAMES

logger = logging.getLogger(__name__)

DETAILS: tuple[str, ...] = ("forename", "surname", "date_of_birth", "sex", "ethnicity", "postcode_district")
"""Personal details an identity can carry (a source supplies the ones it records)."""

# Soundex letter groups (Russell/Odell, as used by the US census and most registers).
_SOUNDEX_GROUPS: tuple[tuple[str, str], ...] = (
    ("[bfpv]", "1"),
    ("[cgjkqsxz]", "2"),
    ("[dt]", "3"),
    ("l", "4"),
    ("[mn]", "5"),
    ("r", "6"),
    ("[aeiouy]", "0"),
)


def is_in(values: pd.Series, pool: pd.Series | set[str]) -> pd.Series:
    """``values.isin(pool)`` by hashing, fast for large string pools.

    (pandas' ``isin`` on Arrow-backed strings converts the pool element by element.)
    """
    index = pd.Index(list(pool) if isinstance(pool, set) else pool).dropna().unique()
    return pd.Series(index.get_indexer(values) >= 0, index=values.index)


def clean_name(names: pd.Series, first_token: bool = False) -> pd.Series:
    """Lower-case letters only, accents removed ("O'Brien-Smith" -> "obriensmith").

    Parameters
    ----------
    names
        Names as recorded.
    first_token
        Keep only the first word (a forename field holding "John Paul" -> "john").

    Returns
    -------
    pd.Series
        Cleaned names; empty results become null.
    """
    out = names.astype("str").str.normalize("NFKD").str.lower()
    if first_token:
        out = out.str.strip().str.replace(r"\s.*$", "", regex=True)
    out = out.str.replace(r"[^a-z]", "", regex=True)
    return out.mask(out.str.len() == 0)


def soundex(names: pd.Series) -> pd.Series:
    """Four-character Soundex code of cleaned names ("robert" and "rupert" -> "R163").

    Parameters
    ----------
    names
        Output of :func:`clean_name` (lower-case letters only).

    Returns
    -------
    pd.Series
        Codes; null where the name is null.
    """
    first = names.str.slice(0, 1)
    # h and w do not separate letters of the same group ("ashcraft" -> A261), except
    # as the first letter, which is kept as is.
    tail = names.str.slice(1).str.replace("[hw]", "", regex=True)
    coded = first.str.replace("[hw]", "0", regex=True) + tail
    for pattern, digit in _SOUNDEX_GROUPS:
        coded = coded.str.replace(pattern, digit, regex=True)
    for digit in "0123456":
        coded = coded.str.replace(f"{digit}+", digit, regex=True)
    rest = coded.str.slice(1).str.replace("0", "", regex=False)
    return first.str.upper() + (rest + "000").str.slice(0, 3)


def formal_forenames(forenames: pd.Series) -> pd.Series:
    """The formal names a cleaned forename can stand for, ``|``-joined, sorted.

    "bill" -> "william"; "chris" -> "christian|christine|christopher"; a name not in
    the nickname table stands for itself.
    """
    joined = {name: "|".join(formals) for name, formals in FORMAL_NAMES.items()}
    mapped = forenames.map(joined)
    return mapped.fillna(forenames)


def modal_value(rows: pd.DataFrame, id_col: str, col: str) -> pd.DataFrame:
    """Per id, the non-null value of ``col`` recorded most often, and how often.

    Ties go to the value on the most recent row (highest ``source_row``).

    Returns
    -------
    pd.DataFrame
        Indexed by ``id_col`` (ids with no non-null value are absent): ``col``, ``n``
        (rows carrying it) and ``n_values`` (distinct non-null values for the id).
    """
    order = rows["source_row"] if "source_row" in rows else pd.Series(range(len(rows)), index=rows.index)
    values = pd.DataFrame({id_col: rows[id_col], col: rows[col], "_row": order}).dropna()
    tally = (
        values.groupby([id_col, col], sort=False, observed=True)
        .agg(n=("_row", "size"), _last=("_row", "max"))
        .reset_index()
    )
    tally["n_values"] = tally.groupby(id_col, sort=False)[col].transform("size")
    return (
        tally.sort_values([id_col, "n", "_last"], ascending=[True, False, False], kind="stable")
        .drop_duplicates(id_col)
        .set_index(id_col)[[col, "n", "n_values"]]
    )


def recorded_identity(rows: pd.DataFrame, id_col: str) -> pd.DataFrame:
    """Reduce an agency's rows to one identity per id: the modal value of each detail.

    Parameters
    ----------
    rows
        The agency's rows: ``id_col``, ``source_row`` (later rows are more recent) and
        any of :data:`DETAILS`.
    id_col
        The agency identifier.

    Returns
    -------
    pd.DataFrame
        One row per id, sorted by id, with ``id_col``, ``n_rows`` and the details the
        agency records (null when never recorded for that id).
    """
    ids = rows[id_col].dropna().drop_duplicates().sort_values(ignore_index=True)
    out = pd.DataFrame({id_col: ids})
    out["n_rows"] = out[id_col].map(rows.groupby(id_col, sort=False).size()).astype("int64")
    for col in (c for c in DETAILS if c in rows.columns):
        out[col] = out[id_col].map(modal_value(rows, id_col, col)[col]).astype(rows[col].dtype)
    return out


def _per_distinct(values: pd.Series, derive: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """Apply a string derivation once per distinct value (names repeat a lot), then map back."""
    distinct = values.dropna().drop_duplicates()
    derived = pd.Series(derive(distinct).to_numpy(), index=distinct.to_numpy())
    return values.map(derived).astype("str")


def linkage_keys(identities: pd.DataFrame) -> pd.DataFrame:
    """Add the derived keys compared and blocked on, for one side of the link.

    Parameters
    ----------
    identities
        ``unique_id`` plus any of forename, surname, date_of_birth, sex,
        postcode_district (missing columns are treated as never recorded).

    Returns
    -------
    pd.DataFrame
        unique_id, forename_std, forename_alts (``|``-joined formal names),
        forename_key (first formal name), forename_sdx, surname_std, surname_sdx,
        dob (date), dob_str (``YYYY-MM-DD``), dob_unordered (the date with day and
        month in ascending order, so a day/month swap shares it), birth_year,
        birth_year_month, postcode_district (upper case, no spaces), postcode_area
        (its letters), sex (``U`` "not recorded" becomes null).
    """
    n = len(identities)

    def column(name: str, dtype: str) -> pd.Series:
        if name in identities:
            return identities[name].reset_index(drop=True)
        return pd.Series([None] * n, dtype=dtype)

    forename = _per_distinct(column("forename", "str"), lambda v: clean_name(v, first_token=True))
    surname = _per_distinct(column("surname", "str"), clean_name)
    dob = pd.to_datetime(column("date_of_birth", "datetime64[ms]")).astype("datetime64[ms]")
    alts = _per_distinct(forename, formal_forenames)
    day, month = dob.dt.day, dob.dt.month
    low, high = day.where(day < month, month), month.where(day < month, day)
    dob_str = dob.dt.strftime("%Y-%m-%d").astype("str")
    unordered = (
        dob.dt.year.astype("Int64").astype("str")
        + "-"
        + low.astype("Int64").astype("str").str.zfill(2)
        + "-"
        + high.astype("Int64").astype("str").str.zfill(2)
    )
    postcode = column("postcode_district", "str").astype("str").str.upper().str.replace(r"\s", "", regex=True)
    postcode = postcode.mask(postcode.str.len() == 0)
    sex = column("sex", "str").astype("str")
    return pd.DataFrame(
        {
            "unique_id": identities["unique_id"].astype("str").reset_index(drop=True),
            "forename_std": forename,
            "forename_alts": alts,
            "forename_key": alts.str.replace(r"\|.*$", "", regex=True),
            "forename_sdx": _per_distinct(forename, soundex),
            "surname_std": surname,
            "surname_sdx": _per_distinct(surname, soundex),
            "dob": dob,
            "dob_str": dob_str.where(dob.notna()),
            "dob_unordered": unordered.where(dob.notna()),
            "birth_year": dob.dt.year.astype("Int64"),
            "birth_year_month": dob.dt.strftime("%Y-%m").astype("str").where(dob.notna()),
            "postcode_district": postcode,
            "postcode_area": postcode.str.extract(r"^([A-Z]+)", expand=False),
            "sex": sex.mask(sex.isin(["U", ""])),
        }
    )
