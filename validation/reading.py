"""Read an extract's manifest and tables as text, collecting table-level problems.

Every table is read as strings whatever its format (a CSV, or a Parquet file whose
columns are typed or text), so that the row-level checks see one representation and
a quarantined row can be shown exactly as the agency sent it.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from iom_contract import CONTRACT_VERSION, Table
from validation.errors import Problem

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"
FORMATS = ("csv", "parquet")
TEXT = pd.StringDtype("pyarrow")
_READ_BLOCK_BYTES = 64 << 20


@dataclass(frozen=True)
class Manifest:
    """The fields of ``manifest.json`` the validator relies on, plus the file as read."""

    raw: dict[str, Any]
    area: str
    extract_date: dt.date
    row_counts: dict[str, int]


@dataclass(frozen=True)
class RawTable:
    """One table as read: the contract's columns as text, in contract order.

    Attributes
    ----------
    frame
        One row per data row of the file, in file order; every column is text
        (``string[pyarrow]``), an empty cell is null.
    extra_columns
        Columns in the file that the contract does not know (ignored).
    """

    table: Table
    file: str
    frame: pd.DataFrame
    extra_columns: tuple[str, ...] = field(default=())

    @property
    def n_rows(self) -> int:
        return len(self.frame)


def read_manifest(extract_dir: Path) -> tuple[Manifest | None, dict[str, Any] | None, list[Problem]]:
    """Read and check ``manifest.json``.

    Returns
    -------
    manifest
        The checked manifest, or None when any manifest problem was found.
    raw
        The JSON object as read (None if absent or not a JSON object), so that other
        checks can still use its row counts.
    problems
        Table-level problems with the manifest.
    """
    path = Path(extract_dir) / MANIFEST
    if not path.is_file():
        return (
            None,
            None,
            [
                Problem(
                    MANIFEST,
                    "",
                    "manifest_missing",
                    1,
                    "",
                    f"there is no {MANIFEST} in the extract directory. Every extract must carry one "
                    f'(contract, area, extract_date, row_counts); ask the sender for it, e.g. {{"contract": '
                    f'"{CONTRACT_VERSION}", "area": "...", "extract_date": "YYYY-MM-DD", '
                    '"row_counts": {...}}.',
                )
            ],
        )
    try:
        raw = json.loads(path.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return (
            None,
            None,
            [
                Problem(
                    MANIFEST,
                    "",
                    "manifest_invalid",
                    1,
                    "",
                    f"{MANIFEST} is not valid UTF-8 JSON ({exc}). Re-save it as plain JSON text.",
                )
            ],
        )
    if not isinstance(raw, dict):
        return (
            None,
            None,
            [
                Problem(
                    MANIFEST,
                    "",
                    "manifest_invalid",
                    1,
                    type(raw).__name__,
                    f"{MANIFEST} must hold one JSON object {{...}} with contract, area, extract_date "
                    "and row_counts.",
                )
            ],
        )

    problems: list[Problem] = []
    contract = raw.get("contract")
    if contract != CONTRACT_VERSION:
        problems.append(
            Problem(
                MANIFEST,
                "contract",
                "contract_version" if contract is not None else "manifest_field",
                1,
                "" if contract is None else str(contract),
                f'the extract must declare "contract": "{CONTRACT_VERSION}"; this pipeline reads only '
                "that version. If the agency has moved to a new layout, the pipeline must be updated "
                "first; otherwise correct the field.",
            )
        )
    area = raw.get("area")
    if not isinstance(area, str) or not area.strip():
        problems.append(
            Problem(
                MANIFEST,
                "area",
                "manifest_field",
                1,
                "" if area is None else str(area),
                'add "area": the name of the IOM unit or borough the extract covers.',
            )
        )
    extract_date = _parse_iso_date(raw.get("extract_date"))
    if extract_date is None:
        value = raw.get("extract_date")
        problems.append(
            Problem(
                MANIFEST,
                "extract_date",
                "manifest_field",
                1,
                "" if value is None else str(value),
                'add "extract_date": the day the data was pulled, written YYYY-MM-DD.',
            )
        )
    row_counts = raw.get("row_counts")
    bad_counts = (
        [k for k, v in row_counts.items() if not (isinstance(v, int) and not isinstance(v, bool) and v >= 0)]
        if isinstance(row_counts, dict)
        else None
    )
    if row_counts is None or bad_counts is None or bad_counts:
        example = (
            ", ".join(bad_counts) if bad_counts else ("" if row_counts is None else str(row_counts)[:60])
        )
        problems.append(
            Problem(
                MANIFEST,
                "row_counts",
                "manifest_field",
                len(bad_counts) if bad_counts else 1,
                example,
                'add "row_counts": {"<table>": <number of data rows>, ...} with a whole number '
                "for every table sent, so the pipeline can prove nothing was lost in transfer.",
            )
        )
    if problems or extract_date is None or not isinstance(row_counts, dict) or not isinstance(area, str):
        return None, raw, problems
    return Manifest(raw=raw, area=area, extract_date=extract_date, row_counts=dict(row_counts)), raw, []


def _parse_iso_date(value: object) -> dt.date | None:
    if not isinstance(value, str) or len(value) != 10:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def find_table_file(extract_dir: Path, table: Table) -> tuple[Path | None, list[Problem]]:
    """Locate ``<name>.csv`` or ``<name>.parquet``; exactly one must exist unless optional."""
    candidates = [Path(extract_dir) / f"{table.name}.{ext}" for ext in FORMATS]
    present = [p for p in candidates if p.is_file()]
    if len(present) == 2:
        return None, [
            Problem(
                f"{table.name}.csv / {table.name}.parquet",
                "",
                "file_ambiguous",
                2,
                "",
                f"both {table.name}.csv and {table.name}.parquet are present, so it is not clear which "
                "one to use. Keep one and delete the other.",
            )
        ]
    if not present:
        if table.optional:
            return None, []
        return None, [
            Problem(
                f"{table.name}.csv",
                "",
                "file_missing",
                1,
                "",
                f"the required table {table.name} is missing: put {table.name}.csv (or "
                f"{table.name}.parquet) in the extract directory. File names are case-sensitive.",
            )
        ]
    return present[0], []


def read_raw_table(path: Path, table: Table) -> tuple[RawTable | None, list[Problem]]:
    """Read one table file as text, checking its header against the contract."""
    if path.suffix == ".csv":
        return _read_csv(path, table)
    return _read_parquet(path, table)


def _header_problems(file: str, header: list[str], table: Table) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[str] = set()
    for name in header:
        if name in seen and name in table.column_names:
            problems.append(
                Problem(
                    file,
                    name,
                    "column_duplicated",
                    header.count(name),
                    name,
                    f'the header names "{name}" more than once, so it is not clear which to use. '
                    "Remove or rename the extra copy.",
                )
            )
        seen.add(name)
    normalised = {h.strip().lower(): h for h in header}
    for name in table.column_names:
        if name not in seen:
            near = normalised.get(name.lower(), "")
            hint = (
                f' A column "{near}" is present: rename it to "{name}" exactly (names are case- and '
                "space-sensitive)."
                if near
                else f" Add the column (it may be empty where the contract allows nulls). Found: "
                f"{', '.join(header) or 'no columns'}."
            )
            problems.append(
                Problem(
                    file, name, "column_missing", 1, near, f'the required column "{name}" is missing.{hint}'
                )
            )
    return problems


def unreadable(file: str, detail: str) -> Problem:
    return Problem(
        file,
        "",
        "file_unreadable",
        1,
        "",
        f"the file cannot be read ({detail}). Re-export it as UTF-8 CSV with one header row, commas "
        "between values and double quotes around values that contain commas or line breaks, or as Parquet.",
    )


def read_csv_header(path: Path, table: Table) -> tuple[list[str] | None, list[Problem]]:
    """The header row of a CSV table (a leading byte-order mark dropped), checked
    against the contract; None with the problems found when it cannot be used."""
    file = path.name
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            header = next(csv.reader(fh), None)
    except (UnicodeDecodeError, csv.Error, OSError) as exc:
        return None, [unreadable(file, f"header row: {exc}")]
    if not header:
        return None, [unreadable(file, "it is empty: no header row")]
    problems = _header_problems(file, header, table)
    if problems:
        return None, problems
    return header, []


def _read_csv(path: Path, table: Table) -> tuple[RawTable | None, list[Problem]]:
    file = path.name
    header, problems = read_csv_header(path, table)
    if header is None:
        return None, problems
    try:
        arrow = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(block_size=_READ_BLOCK_BYTES),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in header},
                include_columns=list(table.column_names),
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
                null_values=[""],
            ),
        )
    except (pa.ArrowInvalid, OSError) as exc:
        return None, [unreadable(file, short_message(exc))]
    extras = tuple(h for h in header if h not in table.column_names)
    return RawTable(table, file, _to_text_frame(arrow, table), extras), []


def _read_parquet(path: Path, table: Table) -> tuple[RawTable | None, list[Problem]]:
    file = path.name
    try:
        header = list(pq.read_schema(path).names)
    except (pa.ArrowException, OSError) as exc:
        return None, [unreadable(file, short_message(exc))]
    problems = _header_problems(file, header, table)
    if problems:
        return None, problems
    try:
        arrow = pq.read_table(path, columns=list(table.column_names))
    except (pa.ArrowException, OSError) as exc:
        return None, [unreadable(file, short_message(exc))]
    texts: dict[str, pa.ChunkedArray] = {}
    for name in table.column_names:
        try:
            texts[name] = _as_text(arrow.column(name))
        except (pa.ArrowNotImplementedError, pa.ArrowInvalid) as exc:
            return None, [
                Problem(
                    file,
                    name,
                    "file_unreadable",
                    1,
                    str(arrow.schema.field(name).type),
                    f"column type {arrow.schema.field(name).type} cannot be read as text "
                    f"({short_message(exc)}). Write it as a string, date, integer or boolean column.",
                )
            ]
    extras = tuple(h for h in header if h not in table.column_names)
    return RawTable(table, file, _to_text_frame(pa.table(texts), table), extras), []


def _as_text(arr: pa.ChunkedArray) -> pa.ChunkedArray:
    """Render a typed Parquet column as the text a CSV would carry.

    Dates become ``YYYY-MM-DD``; a timestamp that is not at midnight keeps its time so
    that it fails the date check instead of being silently truncated; booleans become
    ``true``/``false``; a float that holds a whole number (pandas writes nullable
    integers as floats) becomes that number, NaN becomes null.
    """
    typ = arr.type
    if pa.types.is_dictionary(typ):
        return _as_text(arr.cast(typ.value_type))
    if pa.types.is_string(typ) or pa.types.is_large_string(typ) or pa.types.is_string_view(typ):
        return arr.cast(pa.string())
    if pa.types.is_date(typ):
        return pc.strftime(arr, format="%Y-%m-%d")
    if pa.types.is_timestamp(typ):
        midnight = pc.equal(arr.cast(pa.date32()).cast(typ), arr)
        return pc.if_else(
            midnight, pc.strftime(arr, format="%Y-%m-%d"), pc.strftime(arr, format="%Y-%m-%dT%H:%M:%S")
        )
    if pa.types.is_floating(typ):
        return pc.if_else(pc.is_nan(arr), pa.scalar(None, pa.string()), arr.cast(pa.string()))
    return arr.cast(pa.string())


def _to_text_frame(arrow: pa.Table, table: Table) -> pd.DataFrame:
    frame = arrow.select(list(table.column_names)).to_pandas(
        types_mapper={pa.string(): TEXT}.get, self_destruct=True
    )
    return frame.astype(dict.fromkeys(table.column_names, TEXT))


def short_message(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 300 else text[:297] + "..."


def manifest_row_count(raw_manifest: Mapping[str, Any] | None, name: str) -> int | None:
    """The manifest's row count for table ``name``, or None when absent or malformed."""
    if raw_manifest is None:
        return None
    counts = raw_manifest.get("row_counts")
    if not isinstance(counts, dict):
        return None
    value = counts.get(name)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None
