"""Read an extract's tables as text with Spark, and type them with Spark SQL functions.

The same rules as :mod:`validation.reading` and :mod:`validation.parsing`, so both
engines see the same text and the same typed values:

* CSV: UTF-8 (a byte-order mark tolerated), one header row checked against the
  contract by the same code, commas, double quotes doubled inside quoted values, line
  breaks allowed inside quoted values, an empty cell (quoted or not) is null, and a
  row with more or fewer cells than the header makes the file unreadable. Bytes that
  are not UTF-8 make the file unreadable too (Spark would silently replace them).
* Parquet: read by the pandas engine's reader (typed columns rendered as the text a CSV
  would carry), then handed to Spark; Parquet extracts are not the large ones.
* Types: the regular expressions of :mod:`validation.parsing` with ``$`` read as
  end-of-text (Java's ``$`` also matches before a final line break, RE2's does not),
  and a date kept only when its year, month and day are the numbers written.

Every table carries ``_row``, its 1-based data-row number in the file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
from py4j.protocol import Py4JError
from pyspark.errors import PySparkException
from pyspark.sql import Column as SparkColumn
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as sf
from pyspark.sql.types import StringType, StructField, StructType

from iom_contract import Kind, Table
from validation.errors import Problem
from validation.parsing import DATE_REGEX, INT_REGEX
from validation.reading import read_csv_header, read_raw_table, short_message, unreadable
from validation.suites import ROW_ID

# What Spark's UTF-8 decoder puts in place of bytes that are not UTF-8.
REPLACEMENT_CHARACTER = "\ufffd"
_PARTITION = "_partition"
_ORDINAL = "_ordinal"


def spark_regex(regex: str) -> str:
    """A regular expression of :mod:`validation.parsing` for Java: ``$`` at the end means
    end of text (``"12\\n"`` is not a whole number on either engine)."""
    return regex[:-1] + r"\z" if regex.endswith("$") else regex


@dataclass(frozen=True)
class SparkRawTable:
    """One table as read by Spark: the contract's columns as text, plus ``_row``.

    Attributes
    ----------
    frame
        Persisted Spark DataFrame; every contract column is a string (null for an
        empty cell), ``_row`` (long) numbers the data rows of the file from 1.
    n_rows
        Data rows in the file.
    extra_columns
        Columns in the file that the contract does not know (ignored).
    """

    table: Table
    file: str
    frame: DataFrame
    n_rows: int
    extra_columns: tuple[str, ...] = field(default=())


def spark_table_reader(
    spark: SparkSession,
) -> Callable[[Path, Table], tuple[SparkRawTable | None, list[Problem]]]:
    """A ``read_table`` for :func:`validation.core.read_extract` that reads with ``spark``."""

    def read(path: Path, table: Table) -> tuple[SparkRawTable | None, list[Problem]]:
        if path.suffix == ".csv":
            return _read_csv(spark, path, table)
        return _read_parquet(spark, path, table)

    return read


def _read_csv(spark: SparkSession, path: Path, table: Table) -> tuple[SparkRawTable | None, list[Problem]]:
    file = path.name
    header, problems = read_csv_header(path, table)
    if header is None:
        return None, problems
    # Positional names: a header may hold names Spark would read as paths (``a.b``).
    schema = StructType([StructField(f"_c{i}", StringType()) for i in range(len(header))])
    frame = (
        spark.read.schema(schema)
        .option("header", True)
        .option("enforceSchema", True)
        .option("multiLine", True)
        .option("quote", '"')
        .option("escape", '"')
        .option("encoding", "UTF-8")
        .option("mode", "FAILFAST")
        .csv(str(path))
    )
    position = {name: header.index(name) for name in table.column_names}
    cells = [sf.col(f"_c{position[name]}") for name in table.column_names]
    # ``_touch`` reads every cell, so that a short or long row fails the read: Spark
    # otherwise parses only the columns a query uses and would not notice it.
    everything = [sf.col(f"_c{i}") for i in range(len(header))]
    text = frame.select(
        *[
            sf.when(cell != "", cell).alias(name)
            for cell, name in zip(cells, table.column_names, strict=True)
        ],
        sf.coalesce(*everything).isNull().alias("_touch"),
        sf.spark_partition_id().alias(_PARTITION),
        sf.monotonically_increasing_id().alias(_ORDINAL),
    ).persist()
    try:
        counts = {int(r[_PARTITION]): int(r["count"]) for r in text.groupBy(_PARTITION).count().collect()}
        bad = _count_replaced(text, table)
    except (PySparkException, Py4JError) as exc:
        text.unpersist()
        return None, [unreadable(file, spark_reason(exc))]
    if bad:
        text.unpersist()
        column, n_bad = bad
        return None, [
            Problem(
                file,
                column,
                "file_unreadable",
                n_bad,
                "",
                f"{n_bad} row(s) hold bytes that are not UTF-8 text in {column}. Re-export the file as "
                "UTF-8 CSV.",
            )
        ]
    return SparkRawTable(
        table,
        file,
        _numbered(text, counts, table),
        sum(counts.values()),
        tuple(h for h in header if h not in table.column_names),
    ), []


def spark_reason(exc: BaseException) -> str:
    """The innermost cause of a Spark error in one line (``[MALFORMED_CSV_RECORD] Malformed
    CSV record: ...``), without the JVM stack trace."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    causes = [line.split(": ", 1)[1] for line in lines if line.startswith("Caused by:") and ": " in line]
    reason = causes[-1] if causes else (lines[0] if lines else type(exc).__name__)
    return short_message(Exception(reason.split(" SQLSTATE:")[0]))


def _count_replaced(text: DataFrame, table: Table) -> tuple[str, int] | None:
    """The first contract column holding bytes Spark could not decode, and in how many rows."""
    row = text.select(
        *[
            sf.sum(sf.when(sf.instr(sf.col(name), REPLACEMENT_CHARACTER) > 0, 1).otherwise(0)).alias(name)
            for name in table.column_names
        ]
    ).first()
    if row is None:
        return None
    for name in table.column_names:
        if row[name]:
            return name, int(row[name])
    return None


def _numbered(text: DataFrame, counts: dict[int, int], table: Table) -> DataFrame:
    """``text`` with ``_row``: rows are numbered in file order across partitions (a
    partition's rows follow those of the partitions before it)."""
    n_partitions = max(counts, default=-1) + 1
    offsets = np.concatenate([[0], np.cumsum([counts.get(p, 0) for p in range(n_partitions)])])[:-1]
    offset = sf.element_at(
        sf.array(*[sf.lit(int(o)) for o in offsets] or [sf.lit(0)]), sf.col(_PARTITION) + 1
    )
    # monotonically_increasing_id puts the partition number in the upper 31 bits.
    within = sf.col(_ORDINAL) - sf.shiftleft(sf.col(_PARTITION).cast("long"), 33)
    return text.select(*table.column_names, (offset + within + 1).cast("long").alias(ROW_ID))


def _read_parquet(
    spark: SparkSession, path: Path, table: Table
) -> tuple[SparkRawTable | None, list[Problem]]:
    raw, problems = read_raw_table(path, table)
    if raw is None:
        return None, problems
    arrow = pa.Table.from_pandas(raw.frame, preserve_index=False).append_column(
        ROW_ID, pa.array(np.arange(1, raw.n_rows + 1, dtype=np.int64))
    )
    frame = spark.createDataFrame(arrow).persist()
    return SparkRawTable(table, raw.file, frame, raw.n_rows, raw.extra_columns), []


def typed_column(text: SparkColumn, kind: Kind) -> SparkColumn:
    """Typed value of one contract column from its text; null where null or unreadable.

    Dates become ``date`` (``2023-02-30`` is unreadable: the parsed day must be the day
    written), whole numbers ``long``, ``true``/``false`` in any letter case ``boolean``.
    """
    if kind == "date":
        shaped = sf.when(text.rlike(spark_regex(DATE_REGEX)), text)
        parsed = sf.try_to_date(shaped, "yyyy-MM-dd")
        exact = (
            (sf.year(parsed) == sf.substring(shaped, 1, 4).cast("int"))
            & (sf.month(parsed) == sf.substring(shaped, 6, 2).cast("int"))
            & (sf.dayofmonth(parsed) == sf.substring(shaped, 9, 2).cast("int"))
        )
        return sf.when(exact, parsed)
    if kind == "int":
        return sf.when(text.rlike(spark_regex(INT_REGEX)), text).cast("long")
    if kind == "bool":
        lower = sf.lower(text)
        return sf.when(lower == "true", sf.lit(True)).when(lower == "false", sf.lit(False))
    return text
