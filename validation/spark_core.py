"""Validate a whole extract on Spark: the same checks, suites and quarantine as on pandas.

The row work runs on Spark: reading and typing every table, the helper columns for
``unique``, ``orphan`` and ``parent_rejected``, and the contract's expectation suites
(the same ``build_suite`` output) on Great Expectations' Spark execution engine. Only
what must be shown to a person comes back to the driver: the failing rows (for the
quarantine and its sentences) and the counts. The accepted rows are typed, put in file
order and written as Parquet parts by the executors (:class:`StagedRows`), and
reconciled on Spark (each data row accepted or quarantined exactly once); the stage then
joins the parts, one row group at a time, into the same single Parquet file per table as
the pandas engine writes, so the stages after ``validate`` read them unchanged. The
driver never holds more than one row group of a table.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import great_expectations as gx
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from great_expectations.core import ExpectationSuiteValidationResult
from great_expectations.data_context.types.base import ProgressBarsConfig
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as sf

from iom_contract import TABLES, Table
from iom_spark import checkpoint_dir
from validation.core import (
    RESULT_FORMAT,
    ValidationResult,
    assemble_result,
    failure_examples,
    parents_first,
    read_extract,
    reconcile_table,
)
from validation.params import ValidateParams
from validation.parsing import parse_table
from validation.quarantine import (
    SOURCE_ROW,
    attach_reasons,
    describe_failures,
    empty_rejects,
    failures_from_results,
    quarantine_reasons,
)
from validation.reading import TEXT
from validation.spark_reading import spark_table_reader, typed_column
from validation.suites import (
    ORPHAN_SUFFIX,
    PARENT_REJECTED_SUFFIX,
    PARSED_KINDS,
    REPEAT_SUFFIX,
    ROW_ID,
    TEXT_SUFFIX,
    UNREADABLE_SUFFIX,
    DateBounds,
    build_suite,
)

logger = logging.getLogger(__name__)

FIRST_SUFFIX = "__first_row"
_IN_FILE = "__in_file"
_ACCEPTED = "__accepted"


def _typed_frame(raw: DataFrame, table: Table) -> DataFrame:
    """Typed contract columns (dates as ``date``) and ``_row``."""
    return raw.select(*[typed_column(sf.col(c.name), c.kind).alias(c.name) for c in table.columns], ROW_ID)


def _with_helpers(
    raw: DataFrame, table: Table, parents: dict[tuple[str, str], tuple[DataFrame, DataFrame]]
) -> DataFrame:
    """``raw`` plus the helper columns of ``validation.suites`` (offending value, else null)
    and, per unique column, ``<col>__first_row`` (where its value first appears)."""
    frame = raw
    for col in table.columns:
        if col.unique:
            value = sf.col(col.name)
            first = sf.min(ROW_ID).over(Window.partitionBy(col.name))
            frame = frame.withColumn(col.name + FIRST_SUFFIX, sf.when(value.isNotNull(), first))
            frame = frame.withColumn(
                col.name + REPEAT_SUFFIX,
                sf.when(value.isNotNull() & (sf.col(col.name + FIRST_SUFFIX) != sf.col(ROW_ID)), value),
            )
    for fk in table.foreign_keys:
        in_file, accepted = parents[(fk.parent, fk.parent_column)]
        frame = frame.join(
            in_file.select(sf.col(fk.parent_column).alias(fk.column), sf.lit(True).alias(_IN_FILE)),
            on=fk.column,
            how="left",
        ).join(
            accepted.select(sf.col(fk.parent_column).alias(fk.column), sf.lit(True).alias(_ACCEPTED)),
            on=fk.column,
            how="left",
        )
        value = sf.col(fk.column)
        in_parent = sf.col(_IN_FILE).isNotNull()
        frame = (
            frame.withColumn(fk.column + ORPHAN_SUFFIX, sf.when(value.isNotNull() & ~in_parent, value))
            .withColumn(
                fk.column + PARENT_REJECTED_SUFFIX,
                sf.when(in_parent & sf.col(_ACCEPTED).isNull(), value),
            )
            .drop(_IN_FILE, _ACCEPTED)
        )
    return frame


def _batch_frame(helped: DataFrame, table: Table) -> DataFrame:
    """The frame GE validates, column for column as ``validation.suites.build_batch_frame``."""
    cols = []
    for col in table.columns:
        text = sf.col(col.name)
        typed = typed_column(text, col.kind)
        cols.append((typed.cast("timestamp") if col.kind == "date" else typed).alias(col.name))
        if col.kind in PARSED_KINDS:
            cols.append(text.alias(col.name + TEXT_SUFFIX))
            cols.append(sf.when(typed.isNull(), text).alias(col.name + UNREADABLE_SUFFIX))
    helpers = [
        c
        for c in helped.columns
        if c.endswith((REPEAT_SUFFIX, ORPHAN_SUFFIX, PARENT_REJECTED_SUFFIX)) and c not in table.column_names
    ]
    return helped.select(*cols, *helpers, ROW_ID)


def _sorted_rows(results: ExpectationSuiteValidationResult) -> ExpectationSuiteValidationResult:
    """Failing rows listed in file order, as the pandas engine lists them (Spark returns
    them in partition order), so examples are the same on both engines."""
    for res in results.results:
        index_list = res.result.get("unexpected_index_list") if res.result else None
        if index_list:
            for entry in index_list:
                entry[ROW_ID] = sorted(entry[ROW_ID])
    return results


def _to_pandas(arrow: pa.Table, dtypes: pd.Series) -> pd.DataFrame:
    """Rows from Spark as pandas with ``dtypes``; dates to ``datetime64[ms]`` exactly."""
    columns = []
    for name in arrow.column_names:
        column = arrow.column(name)
        if pa.types.is_date(column.type):
            column = column.cast(pa.timestamp("ms"))
        columns.append(column)
    mapper = {pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype(), pa.string(): pd.StringDtype()}
    table = pa.table(columns, names=arrow.column_names)
    return table.to_pandas(types_mapper=mapper.get).astype(dtypes.to_dict())


# Rows per row group of the accepted tables: pyarrow's default, which iom_io.write_parquet
# (the pandas engine's writer) uses, so the joined file has the same row groups.
ROW_GROUP = 1024 * 1024


@dataclass(frozen=True)
class StagedRows:
    """A table's accepted rows as the executors wrote them: Parquet parts in ``folder``, in
    file order (part files in name order, rows in order within each), Spark's types.

    Implements :class:`validation.core.AcceptedRows`.
    """

    folder: Path
    dtypes: pd.Series
    n_rows: int

    def __len__(self) -> int:
        return self.n_rows

    def batches(self, size: int = ROW_GROUP) -> Iterator[pd.DataFrame]:
        """The rows in order, at most ``size`` at a time, as the pandas engine types them."""
        for part in sorted(self.folder.glob("part-*.parquet")):
            for batch in pq.ParquetFile(part).iter_batches(batch_size=size):
                yield _to_pandas(pa.Table.from_batches([batch]), self.dtypes)

    def to_pandas(self) -> pd.DataFrame:
        frames = list(self.batches())
        if not frames:
            return _empty_frame(self.dtypes)
        return pd.concat(frames, ignore_index=True)

    def write_parquet(self, path: Path) -> None:
        """The file :func:`iom_io.write_parquet` writes of :meth:`to_pandas`, written one row
        group at a time: the same row groups, schema and pandas metadata (the tests compare
        the bytes with the pandas engine's file)."""
        from iom_io import write_parquet

        if self.n_rows == 0:
            write_parquet(_empty_frame(self.dtypes), path)
            return
        writer: pq.ParquetWriter | None = None
        held: list[pa.Table] = []
        n_held = 0
        try:
            for frame in self.batches():
                held.append(pa.Table.from_pandas(frame, preserve_index=False))
                n_held += len(frame)
                while n_held >= ROW_GROUP:
                    block = pa.concat_tables(held).combine_chunks()
                    writer = writer or pq.ParquetWriter(path, block.schema, compression="snappy")
                    writer.write_table(block.slice(0, ROW_GROUP), row_group_size=ROW_GROUP)
                    held, n_held = [block.slice(ROW_GROUP)], n_held - ROW_GROUP
            if n_held:
                block = pa.concat_tables(held).combine_chunks()
                writer = writer or pq.ParquetWriter(path, block.schema, compression="snappy")
                writer.write_table(block, row_group_size=ROW_GROUP)
        finally:
            if writer is not None:
                writer.close()

    def remove(self) -> None:
        """Delete the parts (and the staging folder once it is empty)."""
        shutil.rmtree(self.folder, ignore_errors=True)
        with contextlib.suppress(OSError):
            self.folder.parent.rmdir()


def _empty_frame(dtypes: pd.Series) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in dtypes.items()})


def _staging_root(spark: SparkSession, staging: Path | None = None) -> Path:
    """Where the executors write the accepted rows: ``staging`` when given (on Spark Connect,
    a folder both the server and this process reach), else beside Spark's checkpoints (shared
    storage on a cluster), else the temporary folder."""
    checkpoints = checkpoint_dir(spark)
    base = staging
    if base is None and checkpoints and checkpoints.startswith("file:"):
        base = Path(checkpoints.removeprefix("file:")).parent
    if base is not None:
        base.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="iom-validated-", dir=base))


def _stage_accepted(
    spark: SparkSession, rows: DataFrame, folder: Path, rejected: pd.Series, n_in_file: int
) -> tuple[int, bool]:
    """Write ``rows`` (typed, ``source_row``) to ``folder`` in file order; return how many and
    whether they and the ``rejected`` rows are each of 1..``n_in_file`` exactly once."""
    rows.orderBy(SOURCE_ROW).write.mode("overwrite").parquet(str(folder))
    written = spark.read.schema(rows.schema).parquet(str(folder)).select(SOURCE_ROW)
    quarantined = spark.createDataFrame(
        pd.DataFrame({SOURCE_ROW: rejected.to_numpy(dtype=np.int64)}), schema=f"{SOURCE_ROW} long"
    )
    every = written.unionByName(quarantined)
    n_accepted = written.count()
    n, distinct, low, high = every.agg(
        sf.count("*"), sf.count_distinct(SOURCE_ROW), sf.min(SOURCE_ROW), sf.max(SOURCE_ROW)
    ).collect()[0]
    once = n == distinct == n_in_file and (n == 0 or (low == 1 and high == n_in_file))
    return int(n_accepted), bool(once)


def _reference_dtypes(table: Table) -> tuple[pd.Series, pd.Series]:
    """The pandas engine's dtypes: of accepted rows (typed) and of rows as sent (text)."""
    empty = pd.DataFrame({c: pd.Series(dtype=TEXT) for c in table.column_names})
    typed = parse_table(empty, table)
    typed[SOURCE_ROW] = pd.Series(dtype="int64")
    return typed.dtypes, empty.dtypes


def validate_extract_spark(
    extract_dir: Path, params: ValidateParams, spark: SparkSession, staging_base: Path | None = None
) -> ValidationResult:
    """Validate an extract against the contract with Great Expectations on Spark.

    The same result as :func:`validation.core.validate_extract` (the tests compare the
    two on good and bad extracts): same table-level checks and messages, same suites,
    same accepted and quarantined rows, same counts. Writes nothing but the accepted rows'
    parts (:class:`StagedRows`, in a folder under ``staging_base`` or beside Spark's checkpoints), which
    :func:`validation.write_validation_outputs` joins into the stage's files and
    :meth:`StagedRows.remove` deletes.

    Raises
    ------
    ExtractError
        For table-level failures, as the pandas engine.
    """
    start = time.perf_counter()
    manifest, raw_tables = read_extract(extract_dir, spark_table_reader(spark))
    bounds = DateBounds.build(params.earliest_date, pd.Timestamp(manifest.extract_date), params.min_age_years)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_spark("extract")

    accepted: dict[str, pd.DataFrame] = {}
    rejects: dict[str, pd.DataFrame] = {}
    suites: dict[str, gx.ExpectationSuite] = {}
    gx_results: dict[str, ExpectationSuiteValidationResult] = {}
    examples: dict[str, dict[int, list[str]]] = {}
    table_metrics: dict[str, dict[str, Any]] = {}
    parents: dict[tuple[str, str], tuple[DataFrame, DataFrame]] = {}
    parent_columns = {(fk.parent, fk.parent_column) for t in TABLES for fk in t.foreign_keys}
    persisted: list[DataFrame] = [r.frame for r in raw_tables.values()]
    staging = _staging_root(spark, staging_base)
    try:
        for table in parents_first([raw_tables[n].table for n in raw_tables]):
            read = raw_tables[table.name]
            helped = _with_helpers(read.frame, table, parents).persist()
            persisted.append(helped)
            # Materialised with its lineage cut: GE asks Spark for several metrics per
            # expectation, and each would otherwise re-analyse the whole plan (reads,
            # windows, joins), which costs more than the work itself on small tables.
            batch_frame = _batch_frame(helped, table).localCheckpoint(eager=True)
            persisted.append(batch_frame)
            suite = build_suite(table, bounds)
            batch = (
                source.add_dataframe_asset(name=table.name)
                .add_batch_definition_whole_dataframe("whole_table")
                .get_batch(batch_parameters={"dataframe": batch_frame})
            )
            results = _sorted_rows(batch.validate(suite, result_format=dict(RESULT_FORMAT)))
            failures, checks = failures_from_results(results)
            failing = np.unique(failures[SOURCE_ROW].to_numpy()).astype(np.int64)
            typed_dtypes, text_dtypes = _reference_dtypes(table)

            # The failing rows as sent (few), gathered to describe and quarantine them.
            first_cols = [c.name + FIRST_SUFFIX for c in table.columns if c.unique]
            rejected_ids = spark.createDataFrame(pd.DataFrame({ROW_ID: failing}), schema=f"{ROW_ID} long")
            if len(failing):
                gathered = (
                    helped.join(sf.broadcast(rejected_ids), on=ROW_ID, how="inner")
                    .select(*table.column_names, *first_cols, ROW_ID)
                    .orderBy(ROW_ID)
                    .toArrow()
                    .to_pandas(types_mapper={pa.string(): TEXT}.get)
                )
                text = gathered[list(table.column_names)].astype(text_dtypes.to_dict())
                firsts = {c: gathered[c].to_numpy(dtype=np.int64, na_value=0) for c in first_cols}

                def first_rows(
                    name: str, pos: np.ndarray, firsts: dict[str, np.ndarray] = firsts
                ) -> np.ndarray:
                    return firsts[name + FIRST_SUFFIX][pos]

                details = describe_failures(
                    failures, checks, text, table, bounds, rows=failing, first_rows=first_rows
                )
                reasons = quarantine_reasons(failures, details, table)
                bad = attach_reasons(text, reasons)
                examples[table.name] = failure_examples(results, text, params.max_examples, rows=failing)
            else:
                bad = empty_rejects(table)
                examples[table.name] = {}

            accepted_raw = read.frame.join(sf.broadcast(rejected_ids), on=ROW_ID, how="left_anti")
            typed = _typed_frame(accepted_raw, table).select(
                *table.column_names, sf.col(ROW_ID).alias(SOURCE_ROW)
            )
            folder = staging / table.name
            n_ok, once = _stage_accepted(spark, typed, folder, bad[SOURCE_ROW], read.n_rows)
            ok = StagedRows(folder, typed_dtypes, n_ok)
            table_metrics[table.name] = reconcile_table(
                table.name, read.n_rows, n_ok, bad, manifest.row_counts[table.name], once
            )
            for key in parent_columns:
                if key[0] == table.name:
                    column = key[1]
                    in_file = read.frame.select(column).where(sf.col(column).isNotNull()).distinct()
                    kept = accepted_raw.select(column).where(sf.col(column).isNotNull()).distinct()
                    parents[key] = (in_file.persist(), kept.persist())
                    persisted.extend(parents[key])
            accepted[table.name] = ok
            rejects[table.name] = bad
            suites[table.name] = suite
            gx_results[table.name] = results
            logger.info(
                "%s: %d rows, %d accepted, %d quarantined", table.name, read.n_rows, len(ok), len(bad)
            )
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        for frame in persisted:
            frame.unpersist()
    return assemble_result(
        accepted, rejects, manifest, table_metrics, suites, gx_results, examples, bounds, start
    )


__all__ = ["validate_extract_spark"]
