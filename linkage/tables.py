"""The pseudonymised event tables: what of each validated table leaves the link stage.

Each event table keeps its rows of people the link resolved, with the agency's
identifier replaced by ``pseudo_id`` and the identifying and protected columns (names,
DOB, postcode, source ids, sex, ethnicity: the contract flags them) dropped, sorted by
``pseudo_id``. :func:`linked_table` does it on a table in memory;
:func:`write_linked_table` does the same from the validated Parquet file in bounded
memory (a national extract's contacts are tens of millions of rows), writing the same
bytes.
"""

from __future__ import annotations

import io
import logging
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from iom_contract import AGENCY_OF_ID
from iom_contract import table as contract_table
from iom_io import write_parquet
from linkage.keys import keyed_hash

logger = logging.getLogger(__name__)

LINKED_TABLES: dict[str, tuple[str, str, str | None]] = {
    # output name: (contract table, identifier column, opaque row id column)
    "offences": ("police_offences", "pnc_id", None),
    "custody": ("custody_episodes", "noms_id", "episode_id"),
    "orders": ("probation_orders", "crn", "order_id"),
    "assessments": ("probation_assessments", "crn", None),
    "contacts": ("probation_contacts", "crn", None),
    "health": ("health_episodes", "health_id", None),
    "housing": ("housing_events", "council_id", None),
}

_ROW_ID_PREFIX = {"episode_id": "E", "order_id": "O"}
# What identifies a custody stay or an order for good: a release date is filled in
# later, so it must not change the stay's id.
_ROW_ID_KEYS = {"episode_id": ("noms_id", "reception_date"), "order_id": ("crn", "order_type", "start_date")}

ROW_GROUP_ROWS = 1024 * 1024
"""Rows per Parquet row group: pyarrow's default, so a table written in row groups is
byte-identical to the same table written at once (:func:`iom_io.write_parquet`)."""

SORT_MEMORY = "1GB"
"""DuckDB's memory for sorting one table; beyond it the sort spills to a temporary folder."""


def kept_columns(name: str) -> list[str]:
    """The columns of the contract table behind ``name`` that are neither identifying nor protected."""
    spec = contract_table(LINKED_TABLES[name][0])
    return [c.name for c in spec.columns if not (c.identifying or c.protected)]


def sort_columns(name: str) -> list[str]:
    """The order of a linked table's rows: by person, then by when (ties in file order)."""
    table_name, _, row_id = LINKED_TABLES[name]
    if table_name == "police_offences":
        return ["pseudo_id", "offence_date", "offence_id"]
    return ["pseudo_id", kept_columns(name)[0] if row_id is None else row_id]


def source_columns(name: str) -> list[str]:
    """The columns of the validated table that :func:`linked_table` reads."""
    _, id_col, row_id = LINKED_TABLES[name]
    keys = _ROW_ID_KEYS[row_id] if row_id is not None else ()
    return list(dict.fromkeys([id_col, *keys, *kept_columns(name)]))


def _pseudo_ids(person_index: pd.DataFrame, id_col: str) -> pd.DataFrame:
    """source_id -> pseudo_id of the agency whose identifier is ``id_col``."""
    source = AGENCY_OF_ID[id_col]
    return person_index.loc[person_index["source"] == source, ["source_id", "pseudo_id"]]


def linked_table(rows: pd.DataFrame, name: str, person_index: pd.DataFrame, key: bytes) -> pd.DataFrame:
    """An event table with its person identifier replaced by pseudo_id, in memory.

    Parameters
    ----------
    rows
        The validated table (at least :func:`source_columns`).
    name
        The linked table's name (a key of :data:`LINKED_TABLES`).
    person_index
        source, source_id, pseudo_id of every identifier linked to a person.
    key
        Pseudonymisation key (for the custody and order row ids).

    Returns
    -------
    pd.DataFrame
        pseudo_id, the opaque row id when the table has one, and :func:`kept_columns`;
        rows of an id that links to no person (health and housing outside the IOM
        population) dropped; sorted by :func:`sort_columns`.
    """
    _, id_col, row_id = LINKED_TABLES[name]
    ids = _pseudo_ids(person_index, id_col).set_index("source_id")["pseudo_id"]
    out = pd.DataFrame({"pseudo_id": rows[id_col].map(ids).astype("str")})
    if row_id is not None:
        out[row_id] = _row_ids(rows, _ROW_ID_KEYS[row_id], key, _ROW_ID_PREFIX[row_id], name)
    out = pd.concat([out, rows[kept_columns(name)]], axis=1)
    out = out[out["pseudo_id"].notna()]
    return out.sort_values(sort_columns(name), kind="stable", ignore_index=True)


def _row_ids(rows: pd.DataFrame, columns: tuple[str, ...], key: bytes, prefix: str, name: str) -> pd.Series:
    """Stable opaque row ids: a keyed hash of what identifies the row, not of its position.

    The same custody stay gets the same episode_id in the next extract (it does not
    depend on row order), and the id cannot be traced back to the noms_id without the
    key. Rows agreeing on every key column are told apart by their order of appearance.
    """
    text = pd.Series(name + "|", index=rows.index, dtype="str")
    for col in columns:
        value = rows[col]
        if pd.api.types.is_datetime64_any_dtype(value):
            rendered = value.dt.strftime("%Y-%m-%d")
        else:
            rendered = value.astype("str")
        text = text + rendered.fillna("").astype("str") + "|"
    duplicate_no = text.groupby(text, sort=False).cumcount().astype("str")
    return keyed_hash(text + duplicate_no, key, prefix=prefix)


def write_linked_table(
    source: Path,
    name: str,
    person_index: pd.DataFrame,
    key: bytes,
    path: Path,
    batch_rows: int = ROW_GROUP_ROWS,
) -> int:
    """Write :func:`linked_table` of the validated file ``source`` to ``path``, in bounded memory.

    Custody and orders (one or two rows per person, with row ids numbered within the
    whole table) are made in memory. Every other table is joined to the pseudo_ids and
    sorted by DuckDB from the Parquet file (spilling to a temporary folder beyond
    :data:`SORT_MEMORY`) and written ``batch_rows`` rows at a time: the file is the one
    :func:`iom_io.write_parquet` writes of :func:`linked_table`, byte for byte (same
    column types and pandas metadata, the same row groups when ``batch_rows`` is
    :data:`ROW_GROUP_ROWS`, ties in file order as pandas' stable sort keeps them).

    Returns
    -------
    int
        Rows written.
    """
    _, id_col, row_id = LINKED_TABLES[name]
    if row_id is not None:
        frame = linked_table(pd.read_parquet(source, columns=source_columns(name)), name, person_index, key)
        write_parquet(frame, path)
        return len(frame)

    import duckdb

    schema = _linked_schema(source, name, person_index, key)
    ids = pa.Table.from_pandas(_pseudo_ids(person_index, id_col), preserve_index=False)
    kept = ", ".join(f't."{c}"' for c in kept_columns(name))
    # Null keys last (as pandas sorts), then the file's own order: pandas' stable sort.
    order = ", ".join(
        ["i.pseudo_id", *(f't."{c}" NULLS LAST' for c in sort_columns(name)[1:]), "t.file_row_number"]
    )
    query = (
        f"SELECT i.pseudo_id, {kept} FROM read_parquet($source, file_row_number = true) AS t "
        f'JOIN ids AS i ON t."{id_col}" = i.source_id ORDER BY {order}'
    )
    partial = path.with_name(path.name + ".partial")
    n_rows = 0
    with tempfile.TemporaryDirectory(prefix="iom-link-sort-") as spill:
        con = duckdb.connect(
            ":memory:", config={"threads": 1, "memory_limit": SORT_MEMORY, "temp_directory": spill}
        )
        try:
            con.register("ids", ids)
            reader = con.sql(query, params={"source": str(source)}).to_arrow_reader(batch_rows)
            with pq.ParquetWriter(partial, schema, compression="snappy") as writer:
                for group in _row_groups(reader, batch_rows):
                    writer.write_table(pa.Table.from_batches(group).cast(schema))
                    n_rows += sum(len(b) for b in group)
                if n_rows == 0:
                    writer.write_table(schema.empty_table())
        finally:
            con.close()
    partial.replace(path)
    logger.info("%s: %d rows pseudonymised from %s", path.name, n_rows, source)
    return n_rows


def _row_groups(reader: pa.RecordBatchReader, size: int) -> Iterator[list[pa.RecordBatch]]:
    """Batches regrouped into runs of exactly ``size`` rows (the last may be shorter)."""
    group: list[pa.RecordBatch] = []
    n = 0
    for batch in reader:
        while len(batch):
            take = batch.slice(0, size - n)
            group.append(take)
            n += len(take)
            batch = batch.slice(len(take))
            if n == size:
                yield group
                group, n = [], 0
    if group:
        yield group


def _linked_schema(source: Path, name: str, person_index: pd.DataFrame, key: bytes) -> pa.Schema:
    """The Arrow schema (pandas metadata included) :func:`iom_io.write_parquet` gives :func:`linked_table`.

    From the in-memory path on the file's first rows, read by pandas as the whole table
    would be (the column types come from the validated file's own pandas metadata).
    """
    file = pq.ParquetFile(source)
    if file.num_row_groups == 0:
        rows = pd.read_parquet(source, columns=source_columns(name))
    else:
        buffer = io.BytesIO()
        pq.write_table(file.read_row_group(0, columns=source_columns(name)).slice(0, 1000), buffer)
        rows = pd.read_parquet(buffer)
    frame = linked_table(rows, name, person_index, key)
    return pa.Table.from_pandas(frame, preserve_index=False).schema
