"""Inject known violations of the contract's row rules into an extract, recording each one.

``inject_dirty`` works on the string form of the tables (what a CSV holds; ``""`` is
null). Each corrupted row carries exactly ONE injected violation, and the injector
checks every candidate corruption against its own reading of the contract's row rules
before accepting it, so the recorded kind is the only rule the row breaks. The goal
is exact expected counts per (table, kind) for the validator's tests.

Choices, so the counts stay exact:

- Identifier columns that are foreign keys (``police_offences.pnc_id``, the ``crn`` of
  assessments and contacts) are never given a malformed value: it would also be an
  orphan. Their ``pattern`` kind is exercised on the parents and on prison/probation
  ``pnc_id``; their ``orphan`` kind by well-formed ids absent from the parent.
- Unique keys are never blanked (is a second blank a repeat?), and columns named in a
  ``NullWhen`` rule are never blanked or made unparseable (does an unreadable date
  count as empty for the rule?). Those ambiguities are avoided, not resolved.
- A corrupted PARENT row does cascade: its children (offences of a rejected nominal;
  assessments/contacts of a CRN all of whose orders were rejected) are recorded in the
  truth as ``parent_rejected``, or as ``orphan`` when the parent's key itself was
  changed so the child's id no longer appears in the parent file. Those children are
  never corrupted themselves.
- ``unique`` rows are exact copies of clean rows, inserted at a random position AFTER
  their original (the validator keeps the first occurrence); ``source_row`` in the
  truth counts rows of the final file, duplicates included.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from iom_contract import (
    CRN_PATTERN,
    DIRTY_KINDS,
    EARLIEST_DATE,
    MIN_AGE_YEARS,
    NOMS_PATTERN,
    PNC_PATTERN,
    TABLES,
    Column,
    Table,
    table,
)
from simulator import ids

logger = logging.getLogger(__name__)

TRUTH_COLUMNS: Final = ("table", "source_row", "kind", "column")

# Realistic wrong values: what a partner system might export instead of a category.
BAD_CATEGORIES: Final[dict[str, tuple[str, ...]]] = {
    "sex": ("Male", "Female", "9", "Unknown"),
    "ethnicity": ("White British", "Asian British", "W1", "Unknown"),
    "offence_group": ("shoplifting", "assault", "arson"),
    "outcome": ("charged", "NFA", "Convicted", "rescheduled"),
    "release_type": ("parole", "HDC"),
    "order_type": ("youth_rehabilitation_order", "CO"),
    "service": ("physiotherapy", "gp"),
    "discharge_reason": ("died", "moved_away"),
    "event_type": ("eviction", "sofa_surfing"),
    "suggested_tier": ("purple", "Red"),
    "decided_tier": ("deferred", "Amber"),
}
BAD_INTS: Final = ("one", "1.5", "2a", "x3")
BAD_BOOLS: Final = ("yes", "no", "Y", "N")
_DATE_SHAPE = r"\d{4}-\d{2}-\d{2}"
_INT_SHAPE = r"[+-]?\d+"
# Rounds of candidate drawing before giving up on a kind (each round doubles the pool).
_MAX_ROUNDS = 5

Generator = Callable[[pd.DataFrame, Table, "_Context", np.random.Generator], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class _Context:
    extract_date: pd.Timestamp
    # Values present in each foreign key's parent column of the final file.
    parent_keys: Mapping[str, pa.Array]

    @property
    def dob_bound(self) -> pd.Timestamp:
        return self.extract_date - pd.DateOffset(years=MIN_AGE_YEARS)


# ---------------------------------------------------------------------------------------
# Reading the row rules (on strings)
# ---------------------------------------------------------------------------------------


def _empty(s: pd.Series) -> np.ndarray:
    return s.astype("str").fillna("").to_numpy(dtype=object) == ""


def _key_set(s: pd.Series) -> pa.Array:
    """Distinct non-empty values, as an Arrow array for fast membership tests."""
    arr = pa.array(s.astype("str").fillna(""), pa.large_string())
    return pc.unique(pc.filter(arr, pc.not_equal(arr, "")))


def _isin(s: pd.Series, keys: pa.Array) -> np.ndarray:
    """``s.isin(keys)`` through an Arrow hash set (pandas converts large sets to lists)."""
    arr = pa.array(s.astype("str").fillna(""), pa.large_string())
    return pc.is_in(arr, value_set=keys).to_numpy(zero_copy_only=False).astype(bool)


def _parse_dates(s: pd.Series) -> pd.Series:
    text = s.astype("str")
    shaped = text.str.fullmatch(_DATE_SHAPE).fillna(False).astype(bool)
    return pd.to_datetime(text.where(shaped), format="%Y-%m-%d", errors="coerce")


def _condition_columns(tbl: Table, condition: str) -> list[str]:
    return [w for w in dict.fromkeys(re.findall(r"[A-Za-z_]\w*", condition)) if w in tbl.column_names]


def _null_when_columns(tbl: Table) -> set[str]:
    """Columns a NullWhen rule reads or constrains."""
    out: set[str] = set()
    for rule in tbl.null_when:
        out.add(rule.column)
        out.update(_condition_columns(tbl, rule.condition))
    return out


def _condition(df: pd.DataFrame, tbl: Table, condition: str) -> np.ndarray:
    """Evaluate a NullWhen condition with empty cells as null and dates parsed."""
    typed = {}
    for name in _condition_columns(tbl, condition):
        s = df[name].astype("str")
        typed[name] = _parse_dates(s) if tbl.column(name).kind == "date" else s.mask(s == "")
    frame = pd.DataFrame(typed, index=df.index)
    return np.asarray(frame.eval(condition, engine="python").fillna(False), dtype=bool)


def _row_violations(df: pd.DataFrame, tbl: Table, ctx: _Context) -> pd.DataFrame:
    """Which row rules each row breaks (one boolean column per kind)."""
    n = len(df)
    v = {k: np.zeros(n, dtype=bool) for k in (*DIRTY_KINDS,)}
    earliest = pd.Timestamp(EARLIEST_DATE)
    dates: dict[str, pd.Series] = {}
    fk_columns = {fk.column: fk for fk in tbl.foreign_keys}
    for col in tbl.columns:
        s = df[col.name].astype("str")
        empty = _empty(s)
        if not col.nullable:
            v["not_null"] |= empty
        if col.kind == "date":
            d = _parse_dates(s)
            dates[col.name] = d
            v["type"] |= ~empty & d.isna().to_numpy()
            v["date_range"] |= (d < earliest).fillna(False).to_numpy(dtype=bool)
            if col.name == "date_of_birth":
                v["date_range"] |= (d > ctx.dob_bound).fillna(False).to_numpy(dtype=bool)
            elif not col.planned:
                v["future_date"] |= (d > ctx.extract_date).fillna(False).to_numpy(dtype=bool)
        elif col.kind == "int":
            shaped = s.str.fullmatch(_INT_SHAPE).fillna(False).to_numpy(dtype=bool)
            v["type"] |= ~empty & ~shaped
            num = pd.to_numeric(s.where(shaped), errors="coerce")
            if col.min_value is not None:
                v["range"] |= (num < col.min_value).fillna(False).to_numpy(dtype=bool)
            if col.max_value is not None:
                v["range"] |= (num > col.max_value).fillna(False).to_numpy(dtype=bool)
        elif col.kind == "bool":
            v["type"] |= ~empty & ~s.str.lower().isin(("true", "false")).to_numpy(dtype=bool)
        if col.values is not None:
            v["in_set"] |= ~empty & ~s.isin(col.values).to_numpy(dtype=bool)
        if col.pattern is not None:
            v["pattern"] |= ~empty & ~s.str.contains(col.pattern, regex=True).fillna(False).to_numpy(
                dtype=bool
            )
        if col.name in fk_columns and col.name in ctx.parent_keys:
            v["orphan"] |= ~empty & ~_isin(s, ctx.parent_keys[col.name])
    for order in tbl.date_orders:
        v["date_order"] |= (dates[order.later] < dates[order.earlier]).fillna(False).to_numpy(dtype=bool)
    for rule in tbl.null_when:
        cond = _condition(df, tbl, rule.condition)
        empty = _empty(df[rule.column])
        v["null_when"] |= cond & ~empty
        if rule.required_otherwise:
            v["null_when"] |= ~cond & empty
    return pd.DataFrame(v, index=df.index)


# ---------------------------------------------------------------------------------------
# Making one violation per row
# ---------------------------------------------------------------------------------------


def _day(ts: pd.Timestamp) -> np.datetime64:
    return np.datetime64(ts.strftime("%Y-%m-%d"), "D")


def _days(n: np.ndarray) -> np.ndarray:
    return np.asarray(n, dtype=np.int64).astype("timedelta64[D]")


def _fmt(dates: np.ndarray) -> np.ndarray:
    out = np.datetime_as_string(np.asarray(dates, dtype="datetime64[D]"), unit="D").astype(object)
    out[np.isnat(np.asarray(dates, dtype="datetime64[D]"))] = None
    return out


def _pick_column(names: list[str], n: int, rng: np.random.Generator) -> np.ndarray:
    return np.asarray(rng.choice(np.array(names, dtype=object), size=n), dtype=object)


def _cell(rows: pd.DataFrame, cols: np.ndarray) -> pd.Series:
    """Each row's value in its own chosen column."""
    idx = rows.columns.get_indexer(cols)
    return pd.Series(rows.to_numpy(dtype=object)[np.arange(len(rows)), idx], dtype="str")


def _gen_not_null(rows: pd.DataFrame, tbl: Table, ctx: _Context, rng: np.random.Generator):
    avoid = _null_when_columns(tbl)
    names = [c.name for c in tbl.columns if not c.nullable and not c.unique and c.name not in avoid]
    return _pick_column(names, len(rows), rng), np.full(len(rows), "", dtype=object)


def _gen_type(rows: pd.DataFrame, tbl: Table, ctx: _Context, rng: np.random.Generator):
    avoid = _null_when_columns(tbl)
    typed = [c for c in tbl.columns if c.kind in ("date", "int", "bool") and c.name not in avoid]
    cols = _pick_column([c.name for c in typed], len(rows), rng)
    kinds = np.array([tbl.column(c).kind for c in cols], dtype=object)
    n = len(rows)
    current = _cell(rows, cols)
    year = current.str.slice(0, 4).where(current.str.match(r"\d{4}").fillna(False).astype(bool), "2020")
    style = rng.integers(0, 3, size=n)
    month = pd.Series(rng.integers(13, 20, size=n)).astype("str")
    day = pd.Series(rng.integers(32, 46, size=n)).astype("str")
    dd = pd.Series(rng.integers(1, 29, size=n)).astype("str").str.zfill(2)
    mm = pd.Series(rng.integers(1, 13, size=n)).astype("str").str.zfill(2)
    # 2021-13-45 (no such month or day), 31/12/2021 (wrong layout), 2021-02-30 (no such date)
    bad_date = np.select(
        [style == 0, style == 1],
        [
            (year + "-" + month + "-" + day).to_numpy(dtype=object),
            (dd + "/" + mm + "/" + year).to_numpy(dtype=object),
        ],
        (year + "-02-30").to_numpy(dtype=object),
    )
    values = np.select(
        [kinds == "date", kinds == "int"],
        [bad_date, rng.choice(np.array(BAD_INTS, dtype=object), size=n)],
        rng.choice(np.array(BAD_BOOLS, dtype=object), size=n),
    )
    return cols, values


def _bad_categories(col: Column) -> np.ndarray:
    allowed = set(col.values or ())
    bad = [v for v in BAD_CATEGORIES.get(col.name, ()) if v not in allowed] or [f"unknown_{col.name}"]
    return np.array(bad, dtype=object)


def _gen_in_set(rows: pd.DataFrame, tbl: Table, ctx: _Context, rng: np.random.Generator):
    cats = [c for c in tbl.columns if c.values is not None]
    cols = _pick_column([c.name for c in cats], len(rows), rng)
    values = np.empty(len(rows), dtype=object)
    for c in cats:
        m = cols == c.name
        values[m] = rng.choice(_bad_categories(c), size=int(m.sum()))
    return cols, values


def _gen_pattern(rows: pd.DataFrame, tbl: Table, ctx: _Context, rng: np.random.Generator):
    fk = {f.column for f in tbl.foreign_keys}
    cols = _pick_column([c.name for c in tbl.columns if c.pattern and c.name not in fk], len(rows), rng)
    current = _cell(rows, cols)
    style = rng.integers(0, 3, size=len(rows))
    # Last character dropped, lower-cased, or a digit too many: keying and export errors.
    values = np.select(
        [style == 0, style == 1],
        [current.str.slice(0, -1).to_numpy(dtype=object), current.str.lower().to_numpy(dtype=object)],
        (current + "0").to_numpy(dtype=object),
    )
    values[(current == "").to_numpy(dtype=bool)] = None
    return cols, values


def _gen_range(rows: pd.DataFrame, tbl: Table, ctx: _Context, rng: np.random.Generator):
    bounded = [
        c for c in tbl.columns if c.kind == "int" and (c.min_value is not None or c.max_value is not None)
    ]
    cols = _pick_column([c.name for c in bounded], len(rows), rng)
    values = np.empty(len(rows), dtype=object)
    for c in bounded:
        m = cols == c.name
        options = [str(c.min_value - 1)] if c.min_value is not None else []
        if c.max_value is not None:
            options += [str(c.max_value + 1), str(c.max_value + 3)]
        values[m] = rng.choice(np.array(options, dtype=object), size=int(m.sum()))
    return cols, values


def _gen_date_range(rows: pd.DataFrame, tbl: Table, ctx: _Context, rng: np.random.Generator):
    n = len(rows)
    cols = _pick_column([c.name for c in tbl.columns if c.kind == "date"], n, rng)
    # Before 1900: a default or mis-keyed century (1885-06-14).
    old = (
        pd.Series(rng.integers(1850, 1900, size=n)).astype("str")
        + "-"
        + pd.Series(rng.integers(1, 13, size=n)).astype("str").str.zfill(2)
        + "-"
        + pd.Series(rng.integers(1, 29, size=n)).astype("str").str.zfill(2)
    )
    values = old.to_numpy(dtype=object)
    # A date of birth under the age of criminal responsibility: 1 to 9 years before
    # the extract date (the date the record was keyed, not the birth).
    young = _fmt(_day(ctx.extract_date) - _days(rng.integers(365, 9 * 365, size=n)))
    use_young = (cols == "date_of_birth") & (rng.random(n) < 0.5)
    values[use_young] = young[use_young]
    return cols, values


def _gen_future_date(rows: pd.DataFrame, tbl: Table, ctx: _Context, rng: np.random.Generator):
    n = len(rows)
    names = [c.name for c in tbl.columns if c.kind == "date" and not c.planned and c.name != "date_of_birth"]
    cols = _pick_column(names, n, rng)
    values = _fmt(_day(ctx.extract_date) + _days(rng.integers(1, 366, size=n)))
    return cols, values


def _gen_date_order(rows: pd.DataFrame, tbl: Table, ctx: _Context, rng: np.random.Generator):
    n = len(rows)
    orders = list(tbl.date_orders)
    # Prefer an order whose later date is present in the row.
    score = np.stack([~_empty(rows[o.later]) for o in orders], axis=1) + rng.random((n, len(orders))) * 0.5
    choice = score.argmax(axis=1)
    cols = np.array([orders[i].later for i in choice], dtype=object)
    earlier = np.empty(n, dtype="datetime64[D]")
    for i, o in enumerate(orders):
        m = choice == i
        earlier[m] = _parse_dates(rows[o.earlier].iloc[np.flatnonzero(m)]).to_numpy(dtype="datetime64[D]")
    values = _fmt(earlier - _days(rng.integers(1, 366, size=n)))
    return cols, values


def _valid_value(
    rows: pd.DataFrame, tbl: Table, col: Column, ctx: _Context, rng: np.random.Generator
) -> np.ndarray:
    """A value ``col`` could legitimately hold in each row (to set where it must be null)."""
    n = len(rows)
    if col.values is not None:
        return rng.choice(np.array(col.values, dtype=object), size=n)
    if col.kind == "date":
        earlier = [o.earlier for o in tbl.date_orders if o.later == col.name]
        base = (
            _parse_dates(rows[earlier[0]]).to_numpy(dtype="datetime64[D]")
            if earlier
            else np.full(n, _day(ctx.extract_date) - np.timedelta64(30, "D"))
        )
        d = base + _days(rng.integers(0, 61, size=n))
        if not col.planned:
            d = np.minimum(d, _day(ctx.extract_date))
        return _fmt(d)
    return np.full(n, "1", dtype=object)


def _gen_null_when(rows: pd.DataFrame, tbl: Table, ctx: _Context, rng: np.random.Generator):
    n = len(rows)
    rules = list(tbl.null_when)
    conds = np.stack([_condition(rows, tbl, r.condition) for r in rules], axis=1)
    # A rule can be broken in a row when its condition holds (fill the column) or when
    # it does not and the column is required otherwise (blank it).
    breakable = conds | np.array([r.required_otherwise for r in rules])[None, :]
    choice = (breakable + rng.random((n, len(rules))) * 0.5).argmax(axis=1)
    cols = np.array([rules[i].column for i in choice], dtype=object)
    values = np.full(n, None, dtype=object)
    for i, r in enumerate(rules):
        m = choice == i
        fill = m & conds[:, i]
        blank = m & ~conds[:, i] & r.required_otherwise
        values[fill] = _valid_value(rows, tbl, tbl.column(r.column), ctx, rng)[fill]
        values[blank] = ""
    return cols, values


def _fresh_ids(col: Column, n: int, rng: np.random.Generator) -> np.ndarray:
    if col.pattern == PNC_PATTERN:
        return ids.draw_pnc_ids(rng.integers(1990, 2025, size=n), rng)
    if col.pattern == CRN_PATTERN:
        return ids.draw_crns(n, rng)
    if col.pattern == NOMS_PATTERN:
        return ids.draw_noms_ids(n, rng)
    return ("ORPHAN-" + pd.Series(rng.integers(0, 10**9, size=n)).astype("str")).to_numpy(dtype=object)


def _gen_orphan(rows: pd.DataFrame, tbl: Table, ctx: _Context, rng: np.random.Generator):
    fks = [fk for fk in tbl.foreign_keys if fk.column in ctx.parent_keys]
    cols = _pick_column([fk.column for fk in fks], len(rows), rng)
    values = np.empty(len(rows), dtype=object)
    for fk in fks:
        m = cols == fk.column
        values[m] = _fresh_ids(tbl.column(fk.column), int(m.sum()), rng)
    return cols, values


_GENERATORS: Final[dict[str, Generator]] = {
    "not_null": _gen_not_null,
    "type": _gen_type,
    "in_set": _gen_in_set,
    "pattern": _gen_pattern,
    "range": _gen_range,
    "date_range": _gen_date_range,
    "future_date": _gen_future_date,
    "date_order": _gen_date_order,
    "null_when": _gen_null_when,
    "orphan": _gen_orphan,
}


def applicable_kinds(table_name: str, parents: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """The violation kinds :func:`inject_dirty` injects into ``table_name``.

    Parameters
    ----------
    table_name
        A contract table.
    parents
        Tables present in the extract (``orphan`` needs the parent); default all.
    """
    tbl = table(table_name)
    present = set(parents) if parents is not None else {t.name for t in TABLES}
    avoid = _null_when_columns(tbl)
    fk = {f.column for f in tbl.foreign_keys}
    has = {
        "not_null": any(not c.nullable and not c.unique and c.name not in avoid for c in tbl.columns),
        "type": any(c.kind in ("date", "int", "bool") and c.name not in avoid for c in tbl.columns),
        "in_set": any(c.values is not None for c in tbl.columns),
        "pattern": any(c.pattern and c.name not in fk for c in tbl.columns),
        "range": any(
            c.kind == "int" and (c.min_value is not None or c.max_value is not None) for c in tbl.columns
        ),
        "date_range": any(c.kind == "date" for c in tbl.columns),
        "future_date": any(
            c.kind == "date" and not c.planned and c.name != "date_of_birth" for c in tbl.columns
        ),
        "date_order": bool(tbl.date_orders),
        "null_when": bool(tbl.null_when),
        "unique": any(c.unique for c in tbl.columns),
        "orphan": any(f.parent in present for f in tbl.foreign_keys),
    }
    return tuple(k for k in DIRTY_KINDS if has.get(k, False))


# ---------------------------------------------------------------------------------------
# The injector
# ---------------------------------------------------------------------------------------


def _split(total: int, kinds: tuple[str, ...], rng: np.random.Generator) -> dict[str, int]:
    """Spread ``total`` rows over ``kinds`` as evenly as possible, at least one each."""
    k = len(kinds)
    if k == 0 or total == 0:
        return dict.fromkeys(kinds, 0)
    base, extra = divmod(max(total, k), k)
    counts = np.full(k, base)
    counts[rng.permutation(k)[:extra]] += 1
    return dict(zip(kinds, counts.tolist(), strict=True))


def _processing_order(names: list[str]) -> list[str]:
    """Parents before children, otherwise contract order."""
    depth: dict[str, int] = {}

    def d(name: str) -> int:
        if name not in depth:
            parents = [
                fk.parent for fk in table(name).foreign_keys if fk.parent in names and fk.parent != name
            ]
            depth[name] = 1 + max((d(p) for p in parents), default=-1)
        return depth[name]

    contract_order = [t.name for t in TABLES]
    return sorted(
        names, key=lambda n: (d(n), contract_order.index(n) if n in contract_order else len(TABLES))
    )


def _assign(df: pd.DataFrame, rows: np.ndarray, cols: np.ndarray, values: np.ndarray) -> None:
    """Set ``df`` (a frame the injector owns) at (row, column) pairs."""
    for col in np.unique(cols):
        m = cols == col
        df.iloc[rows[m], df.columns.get_loc(col)] = values[m]


def _corrupt_table(
    df: pd.DataFrame,
    tbl: Table,
    ctx: _Context,
    eligible: np.ndarray,
    rate: float,
    kinds: tuple[str, ...],
    rng: np.random.Generator,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Corrupt rows of one table in place (``df`` is the injector's own copy).

    Candidates for all kinds are drawn, corrupted and checked together (a few rounds
    at most, each two vectorised passes of the rule checks), and only corruptions that
    break exactly the intended rule are kept.

    Returns
    -------
    tuple
        The (row, kind, column) records, ``unique`` ones naming the original row, and
        the rows to duplicate in the same order as those records.
    """
    counts = _split(round(rate * len(df)) if rate > 0 else 0, kinds, rng)
    missing = {k: c for k, c in counts.items() if c > 0}
    free = eligible.copy()
    found: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {k: [] for k in kinds}
    key = next((c.name for c in tbl.columns if c.unique), None)
    # Edits are applied once at the end (one write per column): candidates are drawn
    # only from rows not yet chosen, so later rounds never read an edited row.
    edits: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for attempt in range(_MAX_ROUNDS):
        if not missing:
            break
        # Ask for a few times more candidates than needed (more on later rounds), as
        # some corruptions break a second rule or cannot apply to a row.
        sizes = {k: (3 * c + 8) * 2**attempt for k, c in missing.items()}
        pool = rng.permutation(np.flatnonzero(free))[: sum(sizes.values())]
        if not len(pool):
            break
        rows = df.iloc[pool].reset_index(drop=True)
        clean = ~_row_violations(rows, tbl, ctx).any(axis=1).to_numpy()
        bounds = np.cumsum([0, *sizes.values()])
        modified = rows.copy()
        planned: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        for i, kind in enumerate(missing):
            seg = np.arange(bounds[i], min(bounds[i + 1], len(pool)))
            if not len(seg):
                continue
            if kind == "unique":
                assert key is not None
                usable = clean[seg] & ~_empty(rows[key].iloc[seg])
                cols = np.full(len(seg), key, dtype=object)
                values = np.full(len(seg), None, dtype=object)
            else:
                cols, values = _GENERATORS[kind](rows.iloc[seg].reset_index(drop=True), tbl, ctx, rng)
                usable = clean[seg] & np.array([v is not None for v in values], dtype=bool)
                _assign(modified, seg[usable], cols[usable], values[usable])
            planned[kind] = (seg[usable], cols[usable], values[usable])
        after = _row_violations(modified, tbl, ctx)
        n_broken = after.sum(axis=1).to_numpy()
        for kind, (seg, cols, values) in planned.items():
            ok = (
                n_broken[seg] == 0 if kind == "unique" else after[kind].to_numpy()[seg] & (n_broken[seg] == 1)
            )
            take = np.flatnonzero(ok)[: missing[kind]]
            if kind != "unique":
                edits.append((pool[seg[take]], cols[take], values[take]))
            found[kind].append((pool[seg[take]], cols[take]))
            free[pool[seg[take]]] = False
            missing[kind] -= len(take)
        missing = {k: c for k, c in missing.items() if c > 0}
    if edits:
        _assign(df, *(np.concatenate(parts) for parts in zip(*edits, strict=True)))
    for kind, short in missing.items():
        logger.warning(
            "%s: injected %d of %d %r violations (too few suitable rows)",
            tbl.name,
            counts[kind] - short,
            counts[kind],
            kind,
        )
    parts = [(r, np.full(len(r), k, dtype=object), c) for k, lst in found.items() for r, c in lst]
    records = pd.DataFrame(
        {
            "row": np.concatenate([p[0] for p in parts]).astype(np.int64)
            if parts
            else np.array([], dtype=np.int64),
            "kind": np.concatenate([p[1] for p in parts]) if parts else np.array([], dtype=object),
            "column": np.concatenate([p[2] for p in parts]) if parts else np.array([], dtype=object),
        }
    )
    dups = records.loc[records["kind"] == "unique", "row"].to_numpy(dtype=np.int64)
    return records, dups


def inject_dirty(
    tables: Mapping[str, pd.DataFrame],
    rate: float,
    extract_date: pd.Timestamp,
    rng: np.random.Generator,
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Corrupt about ``rate`` of the rows of every table, one known violation per row.

    Every kind in ``iom_contract.DIRTY_KINDS`` that applies to a table (see
    :func:`applicable_kinds`) is injected at least once when ``rate`` > 0 and the table
    has suitable rows; the rest of the ``rate`` share is spread evenly over the kinds.

    Parameters
    ----------
    tables
        Contract tables as strings (``simulator.writer.format_table``), ``""`` = null.
        They should be clean: rows that already break a rule are never chosen.
    rate
        Share of each table's rows to corrupt, in [0, 1].
    extract_date
        The extract's date (bounds for ``future_date`` and the date-of-birth rule).
    rng
        Source of randomness.

    Returns
    -------
    tuple
        ``(dirty_tables, truth)``: the corrupted tables (new frames, duplicates
        inserted) and one truth row per violation: ``table``, ``source_row`` (1-based
        data row in the final table), ``kind`` (a rule name from
        ``iom_contract.ROW_RULES``) and ``column``. Children of a corrupted parent
        row are recorded as ``parent_rejected`` (or ``orphan`` when the parent's key
        itself was changed).
    """
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"rate must be in [0, 1], got {rate}")
    extract_date = pd.Timestamp(extract_date).normalize()
    names = _processing_order(list(tables))
    out: dict[str, pd.DataFrame] = {}
    # Each table after corruption, before duplicates, and which of its rows the
    # validator will quarantine: what decides a child's orphan / parent_rejected fate.
    corrupted: dict[str, pd.DataFrame] = {}
    quarantined: dict[str, np.ndarray] = {}
    truth_parts: list[pd.DataFrame] = []
    for name in names:
        tbl = table(name)
        df = tables[name].astype("str").fillna("").reset_index(drop=True)
        n = len(df)
        parent_keys: dict[str, pa.Array] = {}
        cascade_kind = np.full(n, "", dtype=object)
        cascade_col = np.full(n, "", dtype=object)
        for fk in tbl.foreign_keys:
            if fk.parent not in corrupted:
                continue
            values = corrupted[fk.parent][fk.parent_column]
            in_file = _key_set(values)
            accepted = _key_set(values[~quarantined[fk.parent]])
            parent_keys[fk.column] = in_file
            child = df[fk.column]
            present = (child != "").to_numpy()
            absent = present & ~_isin(child, in_file)
            rejected = present & ~absent & ~_isin(child, accepted)
            for mask, kind in ((absent, "orphan"), (rejected, "parent_rejected")):
                first = mask & (cascade_kind == "")
                cascade_kind[first] = kind
                cascade_col[first] = fk.column
        ctx = _Context(extract_date=extract_date, parent_keys=parent_keys)
        kinds = applicable_kinds(name, tuple(tables)) if n else ()
        records, dups = _corrupt_table(df, tbl, ctx, cascade_kind == "", rate, kinds, rng)
        is_quarantined = np.zeros(n, dtype=bool)
        is_quarantined[records.loc[records["kind"] != "unique", "row"].to_numpy()] = True
        corrupted[name] = df
        quarantined[name] = is_quarantined

        cascaded = np.flatnonzero(cascade_kind != "")
        if len(cascaded):
            logger.info("%s: %d row(s) cascade from corrupted parent rows", name, len(cascaded))
        # Final row order: each duplicate goes after a randomly chosen row at or after
        # its original, so the first occurrence is always the clean original.
        after = rng.integers(dups, n) if len(dups) else np.array([], dtype=np.int64)
        key_row = np.concatenate([np.arange(n), after])
        key_dup = np.concatenate([np.zeros(n), 1 + rng.random(len(dups))])
        order = np.lexsort((key_dup, key_row))
        final_pos = np.empty(len(order), dtype=np.int64)
        final_pos[order] = np.arange(len(order))
        out[name] = pd.concat([df, df.iloc[dups]], ignore_index=True).iloc[order].reset_index(drop=True)

        is_dup = records["kind"].to_numpy() == "unique"
        # Duplicate j (in dups order) sits at final_pos[n + j]; the records list them in
        # the same order as dups.
        row_pos = final_pos[records["row"].to_numpy()]
        row_pos[is_dup] = final_pos[n + np.arange(int(is_dup.sum()))]
        truth_parts.append(
            pd.DataFrame(
                {
                    "table": name,
                    "source_row": np.concatenate([row_pos, final_pos[cascaded]]) + 1,
                    "kind": np.concatenate([records["kind"].to_numpy(dtype=object), cascade_kind[cascaded]]),
                    "column": np.concatenate(
                        [records["column"].to_numpy(dtype=object), cascade_col[cascaded]]
                    ),
                }
            )
        )
    truth = _truth_frame(truth_parts, names)
    logger.info("dirty: %d violation(s) injected or cascaded across %d table(s)", len(truth), len(out))
    return {name: out[name] for name in tables}, truth


def _truth_frame(parts: list[pd.DataFrame], names: list[str]) -> pd.DataFrame:
    contract_order = [t.name for t in TABLES]
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame({c: [] for c in TRUTH_COLUMNS})
    frame = frame.astype({"table": "str", "source_row": "int64", "kind": "str", "column": "str"})
    rank = frame["table"].map({n: contract_order.index(n) if n in contract_order else 99 for n in names})
    frame = frame.assign(_rank=rank).sort_values(["_rank", "source_row", "kind"], kind="stable")
    return frame.drop(columns="_rank").reset_index(drop=True)[list(TRUTH_COLUMNS)]
