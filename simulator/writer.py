"""Write an extract directory in the contract's shape, with its manifest and truth sidecar.

CSV is written the way the contract reads it: UTF-8 without BOM, ``\\n`` line endings,
one header row, minimal quoting (a cell is quoted only when it holds a comma, a quote
or a line break, carriage returns included, which Python's csv module would leave
bare), dates ``YYYY-MM-DD``, booleans ``true``/``false``, null as an empty cell.
Rows are joined with Arrow compute kernels rather than pandas ``to_csv``, which is an
order of magnitude slower at a million rows. Output bytes depend only on the inputs and
the seed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from iom_contract import CONTRACT_VERSION, TABLES, Column, table
from simulator.dirty import TRUTH_COLUMNS, inject_dirty

logger = logging.getLogger(__name__)

TRUTH_DIR = "_truth"
MANIFEST = "manifest.json"
_NEEDS_QUOTES = r'[,"\r\n]'


def _format_column(s: pd.Series, col: Column) -> pa.Array:
    """One column as Arrow strings; nulls become ``""``. Already-string columns pass through."""
    if col.kind == "date" and pd.api.types.is_datetime64_any_dtype(s.dtype):
        # Arrow's date-to-string cast writes ISO dates (YYYY-MM-DD) in C++.
        text = pc.cast(pc.cast(pa.array(s), pa.date32()), pa.large_string())
    elif col.kind == "bool" and pd.api.types.is_bool_dtype(s.dtype):
        text = pc.if_else(pa.array(s, pa.bool_()), "true", "false")
    elif col.kind == "int" and pd.api.types.is_numeric_dtype(s.dtype):
        text = pc.cast(pa.array(s.astype("Int64"), pa.int64()), pa.large_string())
    else:
        text = pa.array(s.astype("str"), pa.large_string())
    return pc.fill_null(text.cast(pa.large_string()), "")


def format_table(df: pd.DataFrame, table_name: str) -> pd.DataFrame:
    """The contract columns of ``df`` as strings, as they appear in a CSV.

    Parameters
    ----------
    df
        A typed contract table (``simulator.assemble.contract_frame``) or a string one.
    table_name
        Contract table name; fixes column order and each column's formatting.

    Returns
    -------
    pandas.DataFrame
        New frame of ``str`` columns in contract order: dates ``YYYY-MM-DD``, booleans
        ``true``/``false``, whole numbers as digits, null as ``""``.

    Examples
    --------
    >>> df = pd.DataFrame({"crn": ["X123456"], "contact_date": pd.to_datetime(["2024-02-01"]),
    ...                    "outcome": ["attended"]})
    >>> format_table(df, "probation_contacts").iloc[0].tolist()
    ['X123456', '2024-02-01', 'attended']
    """
    tbl = table(table_name)
    missing = [c for c in tbl.column_names if c not in df]
    if missing:
        raise ValueError(f"{table_name}: missing column(s) {', '.join(missing)}")
    return pd.DataFrame(
        {c.name: pd.array(_format_column(df[c.name], c), dtype="str") for c in tbl.columns},
        index=pd.RangeIndex(len(df)),
    )


def _as_large_strings(s: pd.Series) -> pa.Array:
    return pc.fill_null(pa.array(s.astype("str"), pa.large_string()), "")


def _quote_minimal(values: pa.Array) -> pa.Array:
    needs = pc.match_substring_regex(values, _NEEDS_QUOTES)
    if not pc.any(needs).as_py():
        return values
    q = pa.scalar('"', pa.large_string())
    escaped = pc.replace_substring(values, '"', '""')
    quoted = pc.binary_join_element_wise(q, escaped, q, pa.scalar("", pa.large_string()))
    return pc.if_else(needs, quoted, values)


def _csv_parts(df: pd.DataFrame) -> tuple[bytes, pa.Buffer | None, int, int]:
    """Header bytes, and the Arrow buffer with its byte range holding every row."""
    header = ",".join(
        str(v) for v in _quote_minimal(pa.array(list(df.columns), pa.large_string())).to_pylist()
    )
    head = (header + "\n").encode("utf-8")
    if len(df) == 0:
        return head, None, 0, 0
    cols = [_quote_minimal(_as_large_strings(df[c])) for c in df.columns]
    sep = pa.scalar(",", pa.large_string())
    lines = pc.binary_join_element_wise(*cols, sep) if len(cols) > 1 else cols[0]
    del cols
    lines = pc.binary_join_element_wise(
        lines, pa.scalar("", pa.large_string()), pa.scalar("\n", pa.large_string())
    )
    # The Arrow string array's data buffer IS the concatenated rows: slice it by offsets.
    arr = lines.combine_chunks() if isinstance(lines, pa.ChunkedArray) else lines
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset : arr.offset + len(arr) + 1]
    return head, arr.buffers()[2], int(offsets[0]), int(offsets[-1])


def csv_bytes(df: pd.DataFrame) -> bytes:
    """A string frame as CSV bytes (header, minimal quoting, ``\\n`` after every row)."""
    head, buf, lo, hi = _csv_parts(df)
    return head if buf is None else head + memoryview(buf)[lo:hi].tobytes()


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    """``csv_bytes(df)`` written to ``path`` without copying the rows into Python bytes."""
    head, buf, lo, hi = _csv_parts(df)
    with path.open("wb") as f:
        f.write(head)
        if buf is not None:
            f.write(memoryview(buf)[lo:hi])


def _arrow_type(col: Column) -> pa.DataType:
    return {
        "date": pa.timestamp("ms"),
        "int": pa.int64(),
        "bool": pa.bool_(),
    }.get(col.kind, pa.string())


def _typed_arrow(df: pd.DataFrame, table_name: str) -> pa.Table:
    tbl = table(table_name)
    arrays = []
    for col in tbl.columns:
        s = df[col.name]
        if col.kind == "date":
            values = pa.array(pd.to_datetime(s)).cast(pa.timestamp("ms"))
        elif col.kind == "int":
            values = pa.array(s.astype("Int64"), pa.int64())
        elif col.kind == "bool":
            values = pa.array(s.astype("boolean"), pa.bool_())
        else:
            values = pa.array(s.astype("str")).cast(pa.string())
        arrays.append(values)
    schema = pa.schema([pa.field(c.name, _arrow_type(c), nullable=True) for c in tbl.columns])
    return pa.Table.from_arrays(arrays, schema=schema)


def _string_arrow(df: pd.DataFrame) -> pa.Table:
    """All-string table; ``""`` is written as null."""
    arrays = []
    for c in df.columns:
        text = _as_large_strings(df[c])
        arrays.append(
            pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.large_string()), text).cast(pa.string())
        )
    return pa.Table.from_arrays(arrays, names=[str(c) for c in df.columns])


def _write_parquet(tbl: pa.Table, path: Path) -> None:
    # pyarrow writes no timestamps into Parquet metadata, so bytes depend only on the
    # data, the schema and the library versions.
    pq.write_table(tbl, path, compression="zstd")


def _truth_arrow(df: pd.DataFrame) -> pa.Table:
    # Truth keeps pandas metadata so nullable dtypes round-trip for the tests that read it.
    return pa.Table.from_pandas(df.reset_index(drop=True), preserve_index=False)


def _empty_dirty_truth() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "table": pd.Series([], dtype="str"),
            "source_row": pd.Series([], dtype="int64"),
            "kind": pd.Series([], dtype="str"),
            "column": pd.Series([], dtype="str"),
        }
    )[list(TRUTH_COLUMNS)]


def _clear_previous(out_dir: Path) -> None:
    """Remove files an earlier run may have left in the other format, and old truth."""
    for t in TABLES:
        for ext in ("csv", "parquet"):
            (out_dir / f"{t.name}.{ext}").unlink(missing_ok=True)
    truth_dir = out_dir / TRUTH_DIR
    if truth_dir.is_dir():
        for f in truth_dir.iterdir():
            if f.is_file():
                f.unlink()


def write_extract(
    out_dir: Path,
    tables: Mapping[str, pd.DataFrame],
    truth: Mapping[str, pd.DataFrame],
    *,
    area: str,
    extract_date: pd.Timestamp | str,
    fmt: Literal["csv", "parquet"] = "csv",
    dirty_rate: float = 0.0,
    rng: np.random.Generator | None = None,
    extra_truth_files: Mapping[str, str | bytes | Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """Write an extract directory: tables, ``manifest.json`` and ``_truth/``.

    Parameters
    ----------
    out_dir
        Extract directory (created if needed). Contract table files of either format
        and any files in ``_truth/`` left by an earlier run are removed first.
    tables
        Typed contract tables (from ``simulator.assemble.assemble_extract``).
    truth
        Truth frames, each written to ``_truth/<name>.parquet``.
    area
        Area named in the manifest.
    extract_date
        The extract's date, for the manifest and the dirty injector.
    fmt
        ``csv`` or ``parquet`` (typed columns when clean, all-string when dirty).
    dirty_rate
        Share of each table's rows to corrupt (``simulator.dirty.inject_dirty``); the
        injected violations go to ``_truth/dirty.parquet`` (empty when 0).
    rng
        Source of randomness; required when ``dirty_rate`` > 0.
    extra_truth_files
        Further ``_truth/`` files by file name: bytes or text written verbatim, a
        mapping written as sorted JSON (e.g. ``world.json``).

    Returns
    -------
    dict
        The manifest as written.
    """
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"fmt must be 'csv' or 'parquet', got {fmt!r}")
    unknown = sorted(set(tables) - {t.name for t in TABLES})
    if unknown:
        raise ValueError(f"not contract tables: {', '.join(unknown)}")
    if dirty_rate > 0 and rng is None:
        raise ValueError("a dirty extract needs rng")
    extract_day = pd.Timestamp(extract_date).normalize()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _clear_previous(out_dir)

    names = [t.name for t in TABLES if t.name in tables]
    dirty_truth = _empty_dirty_truth()
    strings: dict[str, pd.DataFrame] = {}
    if dirty_rate > 0:
        assert rng is not None
        strings = {name: format_table(tables[name], name) for name in names}
        strings, dirty_truth = inject_dirty(strings, dirty_rate, extract_day, rng)

    row_counts: dict[str, int] = {}
    for name in names:
        path = out_dir / f"{name}.{fmt}"
        if fmt == "csv":
            # A clean table is formatted only when it is written, then let go: the
            # string form of all tables at once is the largest thing a national run holds.
            text = strings.pop(name) if dirty_rate > 0 else format_table(tables[name], name)
            _write_csv(text, path)
            row_counts[name] = len(text)
            del text
        elif dirty_rate > 0:
            _write_parquet(_string_arrow(strings[name]), path)
            row_counts[name] = len(strings[name])
        else:
            typed = _typed_arrow(tables[name], name)
            _write_parquet(typed, path)
            row_counts[name] = typed.num_rows
        logger.debug("wrote %s (%d rows)", path, row_counts[name])

    manifest = {
        "area": area,
        "contract": CONTRACT_VERSION,
        "extract_date": extract_day.strftime("%Y-%m-%d"),
        "row_counts": dict(sorted(row_counts.items())),
    }
    (out_dir / MANIFEST).write_text(json.dumps(manifest, sort_keys=True, indent=2) + "\n", encoding="utf-8")

    truth_dir = out_dir / TRUTH_DIR
    truth_dir.mkdir(exist_ok=True)
    for name, frame in {**truth, "dirty": dirty_truth}.items():
        _write_parquet(_truth_arrow(frame), truth_dir / f"{name}.parquet")
    for file_name, content in (extra_truth_files or {}).items():
        path = truth_dir / file_name
        if isinstance(content, bytes):
            path.write_bytes(content)
        elif isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_text(
                json.dumps(content, sort_keys=True, indent=2, default=str) + "\n", encoding="utf-8"
            )
    logger.info(
        "wrote %s extract to %s: %s rows%s",
        fmt,
        out_dir,
        f"{sum(row_counts.values()):,}",
        f", {len(dirty_truth):,} dirty" if dirty_rate > 0 else "",
    )
    return manifest
