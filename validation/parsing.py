"""Turn contract columns read as text into their contract types, vectorised.

A value that is present but cannot be read as its type becomes null here; the
``type`` rule is what quarantines it (a text column that is non-null while its typed
column is null).
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from iom_contract import Kind, Table

DATE_REGEX = r"^\d{4}-\d{2}-\d{2}$"
# Whole numbers only; 18 digits keeps every accepted value inside int64.
INT_REGEX = r"^-?\d{1,18}$"
BOOL_VALUES = {"true": True, "false": False}

# pandas dtypes of accepted (typed) columns, as in docs/interfaces.md.
TYPED_DTYPES: dict[Kind, str] = {
    "str": "string",
    "cat": "string",
    "date": "datetime64[ms]",
    "int": "Int64",
    "bool": "boolean",
}
KIND_WORDS: dict[Kind, str] = {
    "str": "text",
    "cat": "category",
    "date": "date written YYYY-MM-DD",
    "int": "whole number",
    "bool": "true or false",
}


def arrow_text(text: pd.Series) -> pa.Array:
    """A text column as one contiguous Arrow ``string`` array (nulls kept)."""
    arr = pa.array(text.array)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr if pa.types.is_string(arr.type) else arr.cast(pa.string())


def parse_dates(text: pd.Series) -> pd.Series:
    """Parse ``YYYY-MM-DD`` text into ``datetime64[ms]``; anything else becomes NaT.

    That includes impossible calendar dates: a lenient parser reads 2023-02-30 as
    2 March, so a parsed date is kept only when its year, month and day are the
    numbers written in the text.
    """
    arr = arrow_text(text)
    shaped = pc.fill_null(pc.match_substring_regex(arr, DATE_REGEX), False)
    candidate = pc.if_else(shaped, arr, pa.scalar(None, pa.string()))
    parsed = pc.strptime(candidate, format="%Y-%m-%d", unit="ms", error_is_null=True)

    def part(start: int, stop: int) -> pa.Array:
        return pc.utf8_slice_codeunits(candidate, start, stop).cast(pa.int64())

    exact = pc.and_(
        pc.and_(pc.equal(pc.year(parsed), part(0, 4)), pc.equal(pc.month(parsed), part(5, 7))),
        pc.equal(pc.day(parsed), part(8, 10)),
    )
    parsed = pc.if_else(pc.fill_null(exact, False), parsed, pa.scalar(None, parsed.type))
    return pd.Series(parsed.to_pandas(), index=text.index, name=text.name).astype("datetime64[ms]")


def parse_ints(text: pd.Series) -> pd.Series:
    """Parse whole numbers (optional leading minus) into nullable ``Int64``."""
    arr = arrow_text(text)
    shaped = pc.fill_null(pc.match_substring_regex(arr, INT_REGEX), False)
    parsed = pc.if_else(shaped, arr, pa.scalar(None, pa.string())).cast(pa.int64())
    return pd.Series(pd.array(parsed, dtype=pd.Int64Dtype()), index=text.index, name=text.name)


def parse_bools(text: pd.Series) -> pd.Series:
    """Parse ``true``/``false`` in any letter case into nullable ``boolean``."""
    parsed: pd.Series = text.str.lower().map(BOOL_VALUES).astype("boolean")
    parsed.name = text.name
    return parsed


def parse_column(text: pd.Series, kind: Kind) -> pd.Series:
    """Typed values of one contract column; null where the text is null or unreadable."""
    if kind == "date":
        return parse_dates(text)
    if kind == "int":
        return parse_ints(text)
    if kind == "bool":
        return parse_bools(text)
    return text.astype(pd.StringDtype())


def parse_table(raw: pd.DataFrame, table: Table) -> pd.DataFrame:
    """Typed copy of a table read as text (same index, contract column order)."""
    return pd.DataFrame({c.name: parse_column(raw[c.name], c.kind) for c in table.columns}, index=raw.index)
