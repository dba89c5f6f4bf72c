"""The as-of feature build on Spark: the same per-person code, run per partition of people.

Every feature, the cohort and the label of a person depend on that person's own records
only (the one population-wide input, when the records start, is decided first on the
whole extract). So the linked tables are read into Spark, every table's rows are sent to
the bucket ``pmod(xxhash64(pseudo_id), n_buckets)`` (a person's rows of all tables land
in the same bucket), and each bucket runs :func:`features.build.iter_features`, the
function the local engine runs, over every as-of date inside ``applyInPandas``. The
answers are therefore the local engine's, row for row (tests check both agree).

The executors write the result to a staging folder partitioned by date; the driver reads
it back one as-of date at a time (Arrow), sorts it by ``pseudo_id``, puts back the local
engine's dtypes and writes it with :func:`features.partitions.write_partition`, so the
partition layout and the files are the local engine's. The driver holds one as-of date's
cohort at a time (about 130 numbers per person in the cohort, ~1 KB: a 2.5 million cohort
is ~2.5 GB).

pyspark is imported only inside these functions: the local engine never needs it.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from features.build import features_from_encoded, iter_features
from features.encode import LINKED_COLUMNS, LinkedTablesError, encode_tables, linked_files
from features.encode import _empty as empty_table
from features.params import FeatureParams
from iom_spark import spark_call

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from iom_spark import SparkParams

logger = logging.getLogger(__name__)

BUCKET = "_bucket"
DAY = "_as_of_day"  # the staging folder's partition column (yyyy-MM-dd)
TABLE = "_table"
SEP = "__"
# People per bucket: one bucket's records are one pandas frame in one Python worker. At the
# simulated areas' ~40 records a person, 50,000 people are ~2 million rows (a few hundred
# MB while encoding), whatever the size of the population.
PEOPLE_PER_BUCKET = 50_000


def read_linked_spark(spark: SparkSession, linked: Path) -> dict[str, DataFrame]:
    """The linked tables the features need, as Spark frames (only the columns used)."""
    tables: dict[str, DataFrame] = {}
    for name, path, columns in linked_files(linked):
        frame = spark.read.parquet(str(path.resolve()))
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise LinkedTablesError(f"linked table {name!r} lacks column(s) {', '.join(missing)}")
        tables[name] = frame.select(*columns)
    return tables


def records_start_spark(tables: Mapping[str, DataFrame]) -> pd.Timestamp | None:
    """:func:`features.asof.records_start` on Spark: the earliest police offence date."""
    from pyspark.sql import functions as sf

    first = spark_call(
        "finding when the records start",
        lambda: tables["offences"].agg(sf.min("offence_date").alias("first")).collect()[0]["first"],
    )
    return None if first is None else pd.Timestamp(first).normalize()


def _spark_type(dtype: Any) -> str:
    """The Spark SQL type of a features column's pandas dtype."""
    if isinstance(dtype, pd.CategoricalDtype):
        return "string"
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return "bigint"
    if pd.api.types.is_float_dtype(dtype):
        return "double"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "timestamp_ntz"
    if pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype):
        return "string"
    raise TypeError(f"no Spark type for the features dtype {dtype}")  # pragma: no cover - catalogue types


def features_template(params: FeatureParams, extract_date: pd.Timestamp) -> pd.DataFrame:
    """An empty features frame with the local engine's columns and dtypes."""
    persons = pd.DataFrame(
        {"pseudo_id": pd.Series([], dtype="str"), "birth_month": pd.Series([], dtype="datetime64[ms]")}
    )
    enc = encode_tables({"persons": persons, "offences": empty_table("offences")})
    return features_from_encoded(enc, extract_date, params, extract_date).iloc[:0]


def _tagged_union(tables: Mapping[str, DataFrame], n_buckets: int) -> DataFrame:
    """Every table's rows in one frame: ``_table``, ``pseudo_id``, ``<table>__<column>``, ``_bucket``."""
    from pyspark.sql import functions as sf

    parts = []
    for name, frame in tables.items():
        cols = [sf.lit(name).alias(TABLE), sf.col("pseudo_id")]
        cols += [sf.col(c).alias(f"{name}{SEP}{c}") for c in LINKED_COLUMNS[name] if c != "pseudo_id"]
        parts.append(frame.select(*cols))
    union = parts[0]
    for part in parts[1:]:
        union = union.unionByName(part, allowMissingColumns=True)
    return union.withColumn(BUCKET, sf.pmod(sf.xxhash64("pseudo_id"), sf.lit(n_buckets)))


def split_tables(bucket: pd.DataFrame, names: Sequence[str]) -> dict[str, pd.DataFrame]:
    """One bucket's tagged rows back into the linked tables by name (as ``read_linked`` gives them)."""
    kind = bucket[TABLE].to_numpy()
    out: dict[str, pd.DataFrame] = {}
    for name in names:
        rows = bucket.loc[kind == name]
        cols = {c: f"{name}{SEP}{c}" for c in LINKED_COLUMNS[name] if c != "pseudo_id"}
        frame = rows.loc[:, ["pseudo_id", *cols.values()]].rename(columns={v: k for k, v in cols.items()})
        out[name] = frame.reset_index(drop=True)
    return out


def for_spark(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` as pyspark's Arrow serialiser takes it: text columns as Python strings.

    (pandas 3 keeps text in chunked Arrow arrays, which pyspark 4.3 cannot yet send.)
    """
    text = [
        c
        for c, t in frame.dtypes.items()
        if pd.api.types.is_string_dtype(t) and not pd.api.types.is_object_dtype(t)
    ]
    return frame.astype(dict.fromkeys(text, object)) if text else frame


def bucket_features(
    names: Sequence[str],
    dates: Sequence[pd.Timestamp],
    params: FeatureParams,
    extract_date: pd.Timestamp,
) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """The ``applyInPandas`` function: one bucket's tables -> its people's features at every date."""

    def build(bucket: pd.DataFrame) -> pd.DataFrame:
        tables = split_tables(bucket, names)
        frames = [frame for _, frame in iter_features(tables, dates, params, extract_date)]
        return for_spark(pd.concat(frames, ignore_index=True))

    return build


def n_buckets_for(n_persons: int, spark: SparkParams) -> int:
    """Buckets: at least ``shuffle_partitions``, and no more than ~50,000 people in one."""
    return max(spark.shuffle_partitions, math.ceil(n_persons / PEOPLE_PER_BUCKET))


def spark_schema(template: pd.DataFrame) -> str:
    """The Spark DDL schema of a frame with ``template``'s columns and dtypes."""
    return ", ".join(f"`{c}` {_spark_type(t)}" for c, t in template.dtypes.items())


def to_spark(spark: SparkSession, frame: pd.DataFrame) -> DataFrame:
    """A pandas frame as a Spark frame (Arrow; the schema from its dtypes, dates as ``timestamp_ntz``)."""
    plain = frame.reset_index(drop=True)
    cats = [c for c, t in plain.dtypes.items() if isinstance(t, pd.CategoricalDtype)]
    if cats:
        plain = plain.astype(dict.fromkeys(cats, "str"))
    plain = for_spark(plain)
    return spark_call(
        "sending a table to Spark", lambda: spark.createDataFrame(plain, schema=spark_schema(frame))
    )


def restore_dtypes(frame: pd.DataFrame, template: pd.DataFrame, sort: bool = True) -> pd.DataFrame:
    """Rows as Spark returned them -> ``template``'s columns and dtypes (the local engine's),
    sorted by ``pseudo_id`` unless ``sort`` is False, with a fresh index."""
    if sort:
        frame = frame.sort_values("pseudo_id", kind="stable")
    frame = frame.reset_index(drop=True)
    out = {}
    for col, dtype in template.dtypes.items():
        values = frame[col]
        if pd.api.types.is_datetime64_any_dtype(dtype):
            values = pd.to_datetime(values)
        out[col] = values.astype(dtype)
    return pd.DataFrame(out, columns=template.columns)


def staging_dir(spark_params: SparkParams, what: str) -> Path:
    """A scratch folder for ``what`` under ``spark.checkpoint_dir`` (shared storage on a cluster)."""
    base = Path(spark_params.checkpoint_dir)
    if not base.is_absolute() and not spark_params.remote:
        from iom_config import project_root

        base = project_root() / base
    return base / f"{what}-{os.getpid()}"


def iter_features_spark(
    tables: Mapping[str, DataFrame],
    as_of_dates: Sequence[pd.Timestamp],
    params: FeatureParams,
    extract_date: pd.Timestamp,
    spark_params: SparkParams,
) -> Iterator[tuple[pd.Timestamp, pd.DataFrame]]:
    """:func:`features.build.iter_features` on Spark: ``(as_of_date, features)`` per date, in date order.

    Every date is built in one Spark job (each bucket's tables are encoded once) and
    written by the executors to a staging folder partitioned by date
    (:func:`staging_dir`, removed afterwards); each date is then read back on its own, so
    the driver holds one date at a time and reads only that date's files.
    """
    from pyspark.sql import functions as sf

    spark = tables["persons"].sparkSession
    dates = sorted({pd.Timestamp(t).normalize() for t in as_of_dates})
    template = features_template(params, extract_date)
    schema = spark_schema(template)
    n_persons = spark_call("counting people", lambda: tables["persons"].count())
    n_buckets = n_buckets_for(n_persons, spark_params)
    logger.info(
        "features on spark: %d people in %d buckets, %d as-of dates", n_persons, n_buckets, len(dates)
    )
    built = (
        _tagged_union(tables, n_buckets)
        .groupBy(BUCKET)
        .applyInPandas(bucket_features(list(tables), dates, params, extract_date), schema)
        .withColumn(DAY, sf.date_format("as_of_date", "yyyy-MM-dd"))
    )
    staging = staging_dir(spark_params, "features")
    try:
        spark_call(
            "building the features",
            lambda: built.write.mode("overwrite").partitionBy(DAY).parquet(str(staging)),
        )
        for as_of in dates:
            folder = staging / f"{DAY}={as_of.date().isoformat()}"
            if not folder.exists():  # nobody in the cohort that day
                yield as_of, template.copy()
                continue
            one_date = spark.read.schema(schema).parquet(str(folder))
            rows = spark_call(f"collecting the features as of {as_of.date()}", one_date.toPandas)
            yield as_of, restore_dtypes(rows, template)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def read_features_spark(spark: SparkSession, features: Path, template: pd.DataFrame) -> DataFrame:
    """The features stage's partitions (:mod:`features.partitions`) as one Spark frame.

    Read by the executors, not through the driver: ``template``'s columns in its order,
    ``as_of_date`` (in the folder names only) back as ``timestamp_ntz``, as
    :func:`to_spark` sends it, so :func:`restore_dtypes` gives the local engine's frame.
    """
    from pyspark.sql import functions as sf

    from features.partitions import PART_FILE, PARTITION_COLUMN, PARTITION_PREFIX

    base = Path(features).resolve()
    if not any(base.glob(f"{PARTITION_PREFIX}*/{PART_FILE}")):
        raise FileNotFoundError(
            f"{features}: no {PARTITION_PREFIX}*/{PART_FILE}; run the features stage first"
        )
    frame = spark_call("reading the features", lambda: spark.read.parquet(str(base)))
    cols = [
        sf.col(PARTITION_COLUMN).cast("timestamp_ntz").alias(PARTITION_COLUMN)
        if c == PARTITION_COLUMN
        else sf.col(f"`{c}`")
        for c in template.columns
    ]
    return frame.select(*cols)
