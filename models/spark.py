"""Scoring on Spark: the registered risk model, TreeSHAP reasons and typologies per partition of people.

Risk, interval and reasons of a row depend on that row alone
(:func:`models.risk_train.score_rows`), and a typology on that person's own rows (and,
with ``adapt_priors``, on everyone at the same date, which the Spark engine refuses). So
the features are split by a hash of ``pseudo_id``, each partition runs the local engine's
own function, and the driver only ranks the collected rows (:func:`rank_scores`) and sorts
the typologies. The fitted models travel to the workers in their own file formats
(xgboost UBJ + JSON, the typology's JSON; broadcast once per executor), loaded once per
Python worker, not pickled.

pyspark is imported only inside these functions.
"""

from __future__ import annotations

import copy
import hashlib
import math
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from features.spark import BUCKET, for_spark, restore_dtypes, spark_schema
from iom_spark import SparkEngineError, spark_call
from models.risk import RiskModel
from models.risk_train import model_inputs, predict_rows, rank_scores, score_features, score_panel
from models.typology import TypologyModel, assign_typology, model_from_dict, model_to_dict

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from iom_spark import EngineChoice, SparkParams

# Each Python worker loads a model once, keyed by the digest of its files.
_LOADED: dict[str, Any] = {}
# Feature rows per partition: one partition is one pandas frame in one Python worker (~130
# columns: 250,000 rows are a few hundred MB), whatever the size of the population.
ROWS_PER_PARTITION = 250_000


def n_partitions_for(n_rows: int, spark: SparkParams) -> int:
    """Partitions of people for ``n_rows`` feature rows: at least ``spark.shuffle_partitions``,
    and about :data:`ROWS_PER_PARTITION` rows in each at most. The answers do not depend on it."""
    return max(spark.shuffle_partitions, math.ceil(n_rows / ROWS_PER_PARTITION))


def _risk_files(model: RiskModel) -> dict[str, bytes]:
    with tempfile.TemporaryDirectory(prefix="iom-model-") as tmp:
        return {p.name: p.read_bytes() for p in model.save(Path(tmp))}


def _digest(files: Mapping[str, bytes]) -> str:
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(name.encode() + b"\0" + files[name])
    return h.hexdigest()


def _shared(frame: DataFrame, value: Any) -> Callable[[], Any]:
    """``value`` for the workers: a broadcast variable (sent once per executor) where the
    session has a SparkContext, else (Spark Connect) inside the function's closure."""
    try:
        context = frame.sparkSession.sparkContext
    except Exception:  # Spark Connect has no SparkContext
        return lambda: value
    shared = context.broadcast(value)
    return lambda: shared.value


def _load_risk(files: Callable[[], Mapping[str, bytes]], key: str) -> RiskModel:
    if key not in _LOADED:
        with tempfile.TemporaryDirectory(prefix="iom-model-") as tmp:
            for name, data in files().items():
                (Path(tmp) / name).write_bytes(data)
            _LOADED[key] = RiskModel.load(Path(tmp))
    model: RiskModel = _LOADED[key]
    return model


def example_row(template: pd.DataFrame) -> pd.DataFrame:
    """One row with ``template``'s columns and dtypes (missing where the dtype allows): run
    through a per-partition function on the driver, it gives the output's columns and dtypes."""
    row: dict[str, pd.Series] = {}
    for col, dtype in template.dtypes.items():
        nullable = isinstance(dtype, pd.api.extensions.ExtensionDtype) or pd.api.types.is_float_dtype(dtype)
        if pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype):
            value: object = "example"
        elif pd.api.types.is_datetime64_any_dtype(dtype):
            value = pd.NaT
        elif nullable:
            value = None
        elif pd.api.types.is_bool_dtype(dtype):
            value = False
        else:
            value = 0
        row[str(col)] = pd.Series([value]).astype(dtype)
    return pd.DataFrame(row)


def _partitioned(frame: DataFrame, n_partitions: int) -> DataFrame:
    from pyspark.sql import functions as sf

    return frame.withColumn(BUCKET, sf.pmod(sf.xxhash64("pseudo_id"), sf.lit(n_partitions)))


def score_spark(
    model: RiskModel,
    features: DataFrame,
    persons: DataFrame,
    template: pd.DataFrame,
    n_partitions: int,
) -> pd.DataFrame:
    """:func:`models.risk_train.score_panel` on Spark, the same frame.

    Parameters
    ----------
    model
        The fitted (registered) model.
    features
        The panel date's features as a Spark frame (the columns of ``template``).
    persons
        ``pseudo_id, sex, ethnicity`` of the linked persons (for protected inputs).
    template
        An empty features frame with the local engine's dtypes (:func:`features.spark.features_template`).
    n_partitions
        Partitions of people to score in parallel.
    """
    example = score_features(model, example_row(template), _empty_persons()).iloc[:0]
    out = _map_risk_by_person(
        model, features, persons, template, n_partitions, example, score_features, "scoring the panel"
    )
    return rank_scores(out)


def predict_spark(
    model: RiskModel,
    features: DataFrame,
    persons: DataFrame,
    template: pd.DataFrame,
    n_partitions: int,
) -> pd.DataFrame:
    """The model's calibrated risk (``predict_proba``) of every row of ``features`` per partition of
    people: ``pseudo_id, as_of_date, risk``, in no particular order (join on the two keys).

    Parameters as :func:`score_spark`; no interval, no reasons: the train stage's predictions
    on every labelled row, which it evaluates.
    """
    example = pd.DataFrame(
        {
            "pseudo_id": pd.Series([], dtype="str"),
            "as_of_date": pd.Series([], dtype="datetime64[ms]"),
            "risk": pd.Series([], dtype="float64"),
        }
    )

    def predict(loaded: RiskModel, rows: pd.DataFrame, people: pd.DataFrame) -> pd.DataFrame:
        X = model_inputs(loaded, rows, people)
        risk = loaded.predict_proba(X)[:, 1] if len(X) else np.zeros(0)
        return rows.loc[:, ["pseudo_id", "as_of_date"]].assign(risk=risk.astype(np.float64))

    return _map_risk_by_person(
        model, features, persons, template, n_partitions, example, predict, "predicting every labelled row"
    )


def _map_risk_by_person(
    model: RiskModel,
    features: DataFrame,
    persons: DataFrame,
    template: pd.DataFrame,
    n_partitions: int,
    example: pd.DataFrame,
    per_batch: Callable[[RiskModel, pd.DataFrame, pd.DataFrame], pd.DataFrame],
    what: str,
) -> pd.DataFrame:
    """``per_batch(model, rows, people)`` over ``features`` per partition of people, collected.

    The model travels as its own files (loaded once per worker); ``rows`` carry the local
    engine's dtypes (``template``), ``people`` their ``pseudo_id, sex, ethnicity``; the
    result has ``example``'s columns and dtypes, in no particular order.
    """
    files = _risk_files(model)
    key = _digest(files)
    person_cols = ["sex", "ethnicity"]
    shared_files = _shared(features, files)
    joined = features.join(persons.select("pseudo_id", *person_cols), on="pseudo_id", how="left")

    def apply(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        loaded = _load_risk(shared_files, key)
        for batch in batches:
            rows = restore_dtypes(batch, template, sort=False)
            yield for_spark(per_batch(loaded, rows, batch.loc[:, ["pseudo_id", *person_cols]]))

    out = spark_call(
        what,
        lambda: (
            _partitioned(joined, n_partitions)
            .repartition(n_partitions, BUCKET)
            .drop(BUCKET)
            .mapInPandas(apply, spark_schema(example))
            .toPandas()
        ),
    )
    return restore_dtypes(out, example, sort=False)


def predict_people(
    model: RiskModel,
    rows: pd.DataFrame,
    persons: pd.DataFrame,
    engine: EngineChoice,
    features: Path | None = None,
) -> np.ndarray:
    """``model.predict_proba(...)[:, 1]`` of the features rows ``rows``, in their order, on ``engine``.

    On Spark the executors read the rows from the features stage's partitions in ``features``
    when given (only the labelled rows: ``label_complete`` and a ``label``, the rows the
    train stage evaluates; ``rows`` must be those), else ``rows`` are sent from here.
    """
    if not engine.is_spark:
        return predict_rows(model, model_inputs(model, rows, persons))
    from pyspark.sql import functions as sf

    from features.spark import read_features_spark, to_spark
    from iom_spark import open_spark

    spark = open_spark(engine.spark)
    template = rows.iloc[:0]
    if features is not None:
        sdf = read_features_spark(spark, features, template)
        sdf = sdf.where(sf.col("label_complete") & sf.col("label").isNotNull())
    else:
        sdf = to_spark(spark, rows)
    n = n_partitions_for(len(rows), engine.spark)
    got = predict_spark(model, sdf, to_spark(spark, persons), template, n)
    keys = rows.loc[:, ["pseudo_id", "as_of_date"]].reset_index(drop=True)
    aligned = keys.merge(got, on=["pseudo_id", "as_of_date"], how="left", validate="one_to_one")
    if len(got) != len(rows) or aligned["risk"].isna().any():
        raise SparkEngineError(
            f"spark engine: {len(got):,} predictions came back for {len(rows):,} labelled rows; "
            "the features partitions and the rows read here differ (rerun the features stage)"
        )
    return aligned["risk"].to_numpy(dtype=np.float64)


def _empty_persons() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype="str") for c in ("pseudo_id", "sex", "ethnicity")})


def refuse_adapted_priors(adapt_priors: bool) -> None:
    """Raise :class:`SparkEngineError` if ``typology.adapt_priors`` is on (:func:`assign_typology_spark`)."""
    if adapt_priors:
        raise SparkEngineError(
            "spark engine: typology.adapt_priors re-estimates the typologies' weights on everyone at "
            "an as-of date, which per-partition assignment cannot do; set adapt_priors: false or "
            "engine: local"
        )


def assign_typology_spark(
    model: TypologyModel,
    features: DataFrame,
    template: pd.DataFrame,
    n_partitions: int,
    at: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """:func:`models.typology.assign_typology` on Spark, the same frame; given ``at``,
    :func:`models.typology.assign_typology_at` (only the rows dated ``at`` are collected).

    Each person's rows (every as-of date given) stay in one partition, so pooling a
    person's history (``pool_history``) is the local engine's.

    Raises
    ------
    SparkEngineError
        With ``adapt_priors``: the mixing weights are re-estimated on everyone at a date,
        which per-partition assignment cannot do.
    """
    refuse_adapted_priors(model.adapt_priors)
    data = model_to_dict(model)
    key = hashlib.sha256(repr(sorted(data.items())).encode()).hexdigest()
    from pyspark.sql import functions as sf

    # The output's columns and dtypes from one real row (the typology inputs may not be missing).
    first: pd.DataFrame = spark_call("reading a row", lambda: features.limit(1).toPandas())
    if first.empty:
        return assign_typology(model, template)
    # (One row has no history to pool: the columns and dtypes are the same without pooling.)
    alone = copy.copy(model).set_params(pool_history=False)
    example = assign_typology(alone, restore_dtypes(first, template)).iloc[:0]

    def assign(group: pd.DataFrame) -> pd.DataFrame:
        if key not in _LOADED:
            _LOADED[key] = model_from_dict(data)
        return for_spark(assign_typology(_LOADED[key], restore_dtypes(group, template, sort=False)))

    assigned = (
        _partitioned(features, n_partitions).groupBy(BUCKET).applyInPandas(assign, spark_schema(example))
    )
    if at is not None:
        day = pd.Timestamp(at).to_pydatetime()
        assigned = assigned.where(sf.col("as_of_date") == sf.lit(day).cast("timestamp_ntz"))
    out = spark_call("assigning typologies", assigned.toPandas)
    ordered = restore_dtypes(out, example, sort=False)
    return ordered.sort_values(["as_of_date", "pseudo_id"], kind="stable").reset_index(drop=True)


def score_people(
    model: RiskModel, frame: pd.DataFrame, persons: pd.DataFrame, engine: EngineChoice
) -> pd.DataFrame:
    """:func:`models.risk_train.score_panel` of the features rows ``frame`` on ``engine``:
    in this process (``local``) or per partition of people (:func:`score_spark`); the same
    frame on both. ``persons``: ``pseudo_id, sex, ethnicity`` (for protected inputs)."""
    if not engine.is_spark:
        return score_panel(model, model_inputs(model, frame, persons), frame)
    from features.spark import to_spark
    from iom_spark import open_spark

    spark = open_spark(engine.spark)
    sdf, spersons = to_spark(spark, frame), to_spark(spark, persons)
    return score_spark(model, sdf, spersons, frame.iloc[:0], n_partitions_for(len(frame), engine.spark))
