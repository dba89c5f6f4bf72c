"""The probabilistic link model (Fellegi-Sunter, fitted by Splink 5 on DuckDB or Spark).

Agency identities (health, housing, probation without a PNC ID) are linked to police
nominals, ``link_only``: pairs within one side are never compared. The model is
trained on the extract itself: u (how often non-matching pairs agree by chance) from
random pairs, m (how often true matches agree) by expectation maximisation over
blocked pairs, and the prior from an exact match on forename, surname and date of
birth with an assumed recall.

Both engines run the same model (:func:`_settings`, one definition; only the SQL
spelling of four functions differs, :data:`SQL_FUNCTIONS`) through the same Splink
steps, so they give the same answers: the random pairs for u are drawn here, by a
seeded hash of each record's id that does not depend on the engine
(:func:`_u_sample`), and every other step counts or sums over all blocked pairs.
"""

from __future__ import annotations

import functools
import logging
import math
import re
import shutil
import tempfile
import uuid
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from linkage.params import LinkParams

logger = logging.getLogger(__name__)

LEFT, RIGHT, LABELLED = "agency", "police", "labelled"
"""Splink dataset names: the two sides of the link, and the known matches."""

LABELLED_COMPARISONS: tuple[str, ...] = ("dob",)
"""Comparisons whose m comes from known matches when there are enough of them.

EM cannot learn how often true matches disagree on date of birth: any block that
leaves DOB free pairs up namesakes and relatives (same surname and address), whom
EM mistakes for matches with a wrong DOB, and then a DOB disagreement barely counts
against a pair. Probation records that carry the PNC ID are known matches recorded
by a partner agency: their DOB agreement with the police nominal is measured directly.
"""

_CHART_ID = re.compile(r"splink-chart-[0-9a-f]{32}")

SQL_FUNCTIONS: dict[str, dict[str, str]] = {
    # The only SQL that differs between the engines: each template is filled in with the
    # column names (``{l}``, ``{r}``). Jaro-Winkler on Spark is DuckDB's own function run on
    # each Arrow batch by an Arrow UDF (:func:`register_spark_functions`): Splink's jar ``jaro_winkler`` is
    # a different variant (it scores 18,802 of 160,000 surname pairs of the test extract
    # differently, some across the 0.85 threshold), which would change u and the links.
    "duckdb": {
        "names_overlap": "list_has_any(string_split({l}, '|'), string_split({r}, '|'))",
        "jaro_winkler": "jaro_winkler_similarity({l}, {r})",
        "initial": "left({l}, 1) = left({r}, 1)",
        "days_apart": "abs(date_diff('day', {l}, {r}))",
    },
    "spark": {
        "names_overlap": "arrays_overlap(split({l}, '[|]'), split({r}, '[|]'))",
        "jaro_winkler": "iom_jaro_winkler({l}, {r})",
        "initial": "substr({l}, 1, 1) = substr({r}, 1, 1)",
        "days_apart": "abs(datediff({l}, {r}))",
    },
}
"""Engine (Splink's dialect name) -> function -> SQL template."""

DBFactory = Callable[[], Any]
"""Makes a fresh Splink database API (``DuckDBAPI`` or ``SparkAPI``) for one linker."""


DUCKDB_MEMORY = "3GB"
"""DuckDB's memory for Splink's tables (blocked pairs, comparison vectors, predictions);
beyond it they spill to a temporary folder. At 1,000,000 nominals the prediction blocks
pair about 30 million records, which took 9 GiB in memory without a limit."""


def duckdb_api() -> Any:
    """Splink's DuckDB API on a fresh in-memory database with one thread.

    One thread: parallel aggregation sums floats in a varying order, so the EM estimates
    (and every match probability) would differ in the last bits between identical runs.
    Same extract + params + seed must give byte-identical outputs. Memory is capped at
    :data:`DUCKDB_MEMORY`, spilling to a temporary folder removed with the connection.
    """
    import duckdb
    from splink import DuckDBAPI

    spill = tempfile.mkdtemp(prefix="iom-splink-")
    con = duckdb.connect(
        ":memory:", config={"threads": 1, "memory_limit": DUCKDB_MEMORY, "temp_directory": spill}
    )
    weakref.finalize(con, shutil.rmtree, spill, True)
    return DuckDBAPI(connection=con)


@functools.cache
def _duckdb_connection() -> Any:
    """One DuckDB connection per process (each Spark Python worker), reused for every batch."""
    import duckdb

    return duckdb.connect(":memory:", config={"threads": 1})


def _duckdb_jaro_winkler(left: pa.Array, right: pa.Array) -> pa.Array:
    """DuckDB's ``jaro_winkler_similarity`` of each pair of an Arrow batch (null when either is null).

    Arrow in, Arrow out: the strings go from Spark's batch to DuckDB without becoming
    Python objects. A pandas UDF did the same with a pandas round trip and a new DuckDB
    connection per batch. Not Spark SQL alone: DuckDB adds the Winkler bonus with a fused
    multiply-add (one rounding), which SQL's doubles cannot reproduce bit for bit
    (``benchmarks/results/link_engines.md``).
    """
    con = _duckdb_connection()
    con.register("iom_batch", pa.table({"l": left, "r": right}))
    try:
        # One thread and no ORDER BY needed: DuckDB keeps the insertion order of a scan.
        out = con.sql("SELECT jaro_winkler_similarity(l, r) AS s FROM iom_batch").to_arrow_table()
    finally:
        con.unregister("iom_batch")
    return out.column("s").combine_chunks().cast(pa.float64())


def register_spark_functions(session: Any) -> None:
    """Register on ``session`` the SQL functions of :data:`SQL_FUNCTIONS` that Spark lacks."""
    from pyspark.sql.functions import arrow_udf

    session.udf.register("iom_jaro_winkler", arrow_udf(_duckdb_jaro_winkler, "double"))  # type: ignore[call-overload]


def spark_api(session: Any, intermediate_dir: str | None = None) -> DBFactory:
    """A factory of Splink's Spark API on ``session`` (Splink's similarity jar on its ``spark.jars``).

    Splink breaks long Spark plans by writing intermediate tables as Parquet to the session's
    checkpoint folder, which it reads through the JVM. A Spark Connect client has no JVM:
    ``intermediate_dir`` (a folder or URI the Spark server can write and read) is used instead.
    """
    register_spark_functions(session)

    def make() -> Any:
        from splink import SparkAPI

        if intermediate_dir is None:
            return SparkAPI(spark_session=session)
        folder: str = intermediate_dir

        class _SparkAPIWritingTo(SparkAPI):  # type: ignore[misc]
            def _get_checkpoint_dir_path(self, spark_df: Any) -> str:
                return folder

        return _SparkAPIWritingTo(spark_session=session)

    return make


def _register(db_api: Any, frame: pd.DataFrame, **names: str) -> Any:
    """Register a pandas frame with ``db_api``, its column types kept exactly (dates stay dates)."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    if _dialect(db_api) == "spark":
        # Temporary views are shared by the whole Spark session: each gets its own name.
        display = names.get("dataset_display_name") or names.get("table_name") or "table"
        name = f"__iom_{display}_{uuid.uuid4().hex[:12]}"
        return db_api.register(_spark_frame(db_api.spark, table, name), **{**names, "table_name": name})
    return db_api.register(table, **names)


SPARK_INPUT_PREFIX = "iom_input_"
"""Name prefix of the tables handed to Spark as Parquet files in the checkpoint folder (no
leading ``_``: Spark skips such files as hidden)."""


def _spark_frame(session: Any, table: pa.Table, name: str) -> Any:
    """``table`` as a Spark DataFrame, without holding it all in the driver's JVM heap.

    ``createDataFrame`` copies the whole table into the driver JVM (1 GiB heap by default):
    at 200,000 nominals that ran out of heap. With a local checkpoint folder the table is
    written there as Parquet and read back by Spark in partitions; otherwise (Spark Connect,
    shared storage) it goes through ``createDataFrame`` (Arrow keeps the column types).
    """
    from urllib.parse import urlparse

    folder = None
    if hasattr(session, "sparkContext"):
        folder = session.sparkContext.getCheckpointDir()
    parsed = urlparse(folder) if folder else None
    if parsed is None or parsed.scheme not in ("", "file"):
        return session.createDataFrame(table)
    import pyarrow.parquet as pq

    path = f"{parsed.path}/{SPARK_INPUT_PREFIX}{name}.parquet"
    pq.write_table(table, path)
    return session.read.parquet(f"file://{path}")


def _sql(dialect: str, function: str, left: str, right: str) -> str:
    return SQL_FUNCTIONS[dialect][function].format(l=left, r=right)


@dataclass(frozen=True)
class LinkModel:
    """A trained model and its scored candidate pairs.

    Attributes
    ----------
    pairs
        unique_id_l (agency side), unique_id_r (police side), match_weight,
        match_probability, and one ``level_<comparison>`` column per comparison (the
        label of the level the pair fell in, e.g. ``DOB day and month swapped``): every
        blocked pair scoring at least ``predict_floor``.
    parameters
        One row per comparison level: comparison, level, m_probability,
        u_probability, match_weight (log2 of m/u; null for the null level).
    prior
        Probability that two random records (one per side) match.
    n_labelled_pairs
        Known matches used to estimate m for :data:`LABELLED_COMPARISONS` (0 when
        there were too few and EM estimated them).
    n_blocked_pairs
        Pairs generated by the prediction blocking rules (before the floor).
    training
        One record per EM pass (:class:`TrainingPass` as a dict): its rule, the pairs
        it blocks, the share it was trained on (1 in ``one_in``) and the pairs used.
    charts
        Name -> self-contained HTML (vega libraries inlined: works offline).
    settings
        The trained model as Splink's JSON, to score further pairs with
        :func:`score_pairs`.
    """

    pairs: pd.DataFrame
    parameters: pd.DataFrame
    prior: float
    n_labelled_pairs: int
    n_blocked_pairs: int
    charts: dict[str, str]
    settings: dict[str, Any] = field(default_factory=dict)
    training: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class TrainingPass:
    """One EM pass: its blocking rule and the share of its pairs it trains on.

    Attributes
    ----------
    rule
        Columns that must agree (:attr:`LinkParams.training_blocks`).
    blocked_pairs
        Pairs the rule blocks (agency x police).
    one_in
        The pass trains on 1 pair in ``one_in`` (1: every pair).
    pairs
        Pairs it trains on.
    """

    rule: tuple[str, ...]
    blocked_pairs: int
    one_in: int
    pairs: int

    @property
    def bucket(self) -> str | None:
        """The sampling column both sides must agree on (none when every pair is used)."""
        return None if self.one_in == 1 else f"em_sample_{'_'.join(self.rule)}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": list(self.rule),
            "blocked_pairs": self.blocked_pairs,
            "one_in": self.one_in,
            "pairs": self.pairs,
        }


def _name_comparison(
    column: str, label: str, thresholds: tuple[float, ...], nickname: bool, dialect: str
) -> Any:
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    levels: list[Any] = [
        cll.CustomLevel(f"{column}_l IS NULL OR {column}_r IS NULL", f"{label} missing").configure(
            is_null_level=True
        ),
        cll.CustomLevel(f"{column}_l = {column}_r", f"{label} exact").configure(tf_adjustment_column=column),
    ]
    if nickname:
        # Both forenames can stand for a common formal name: "Bill" and "William".
        levels.append(
            cll.CustomLevel(
                _sql(dialect, "names_overlap", "forename_alts_l", "forename_alts_r"),
                "forename nickname of the same name",
            )
        )
    for t in thresholds:
        levels.append(
            cll.CustomLevel(
                f"{_sql(dialect, 'jaro_winkler', f'{column}_l', f'{column}_r')} >= {t}",
                f"{label} Jaro-Winkler >= {t}",
            )
        )
    if nickname:
        # A forename recorded very differently usually still starts with the same letter
        # ("Sam" / "Samantha" beyond the nickname table, a middle name aside); siblings
        # at the same address mostly do not.
        levels.append(
            cll.CustomLevel(_sql(dialect, "initial", f"{column}_l", f"{column}_r"), f"{label} same initial")
        )
    else:
        # A woman's surname changes on marriage or divorce: a different surname says far
        # less against a match when police record her as female (and the agency does not
        # record her as male) than it does for a man.
        levels.append(
            cll.CustomLevel(
                "sex_r = 'F' AND (sex_l IS NULL OR sex_l = 'F')",
                "surname different, a woman (maiden/married name)",
            )
        )
    levels.append(cll.ElseLevel())
    return cl.CustomComparison(levels, output_column_name=label, comparison_description=label)


def _settings(params: LinkParams, dialect: str = "duckdb") -> Any:
    """The model's comparisons, blocking rules and training settings: one definition for both engines.

    ``dialect`` (Splink's name of the engine: ``duckdb`` or ``spark``) picks the spelling
    of the few SQL functions the engines name differently (:data:`SQL_FUNCTIONS`).
    """
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    dob = cl.CustomComparison(
        [
            cll.CustomLevel("dob_l IS NULL OR dob_r IS NULL", "DOB missing").configure(is_null_level=True),
            cll.CustomLevel("dob_l = dob_r", "DOB exact"),
            # 07/03/1990 recorded as 03/07/1990 (US-style entry or a misread form).
            cll.CustomLevel("dob_unordered_l = dob_unordered_r", "DOB day and month swapped"),
            cll.CustomLevel("levenshtein(dob_str_l, dob_str_r) <= 1", "DOB one character different"),
            cll.CustomLevel("birth_year_month_l = birth_year_month_r", "DOB same year and month"),
            cll.CustomLevel(f"{_sql(dialect, 'days_apart', 'dob_l', 'dob_r')} <= 366", "DOB within a year"),
            cll.ElseLevel(),
        ],
        output_column_name="dob",
        comparison_description="date of birth",
    )
    postcode = cl.CustomComparison(
        [
            cll.CustomLevel(
                "postcode_district_l IS NULL OR postcode_district_r IS NULL", "postcode district missing"
            ).configure(is_null_level=True),
            cll.CustomLevel("postcode_district_l = postcode_district_r", "postcode district exact"),
            # Moved within the same postcode area (e.g. L36 -> L35).
            cll.CustomLevel("postcode_area_l = postcode_area_r", "postcode area same"),
            cll.ElseLevel(),
        ],
        output_column_name="postcode",
        comparison_description="postcode district",
    )
    sex = cl.CustomComparison(
        [
            cll.CustomLevel("sex_l IS NULL OR sex_r IS NULL", "sex missing or not recorded").configure(
                is_null_level=True
            ),
            cll.CustomLevel("sex_l = sex_r", "sex same"),
            cll.ElseLevel(),
        ],
        output_column_name="sex",
        comparison_description="sex",
    )
    return SettingsCreator(
        link_type="link_only",
        comparisons=[
            _name_comparison(
                "forename_std", "forename", params.name_thresholds, nickname=True, dialect=dialect
            ),
            _name_comparison(
                "surname_std", "surname", params.name_thresholds, nickname=False, dialect=dialect
            ),
            dob,
            postcode,
            sex,
        ],
        blocking_rules_to_generate_predictions=[block_on(*rule) for rule in params.prediction_blocks],
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
        max_iterations=50,
        em_convergence=1e-4,
    )


def _parameters(model: dict[str, Any]) -> pd.DataFrame:
    records = []
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            m, u = level.get("m_probability"), level.get("u_probability")
            weight = math.log2(m / u) if m and u and not level.get("is_null_level") else None
            records.append(
                {
                    "comparison": comparison["output_column_name"],
                    "level": level.get("label_for_charts") or level["sql_condition"],
                    "m_probability": m,
                    "u_probability": u,
                    "match_weight": weight,
                }
            )
    return pd.DataFrame.from_records(records)


def _labelled_m(
    db_api: Any, labelled: pd.DataFrame, sdf_right: Any, params: LinkParams
) -> dict[str, list[float]]:
    """m of each level of :data:`LABELLED_COMPARISONS`, counted over the known matches."""
    from splink import Linker

    records = labelled.drop(columns="pnc_id")
    sdf = _register(db_api, records, dataset_display_name=LABELLED)
    labels = pd.DataFrame(
        {
            "source_dataset_l": LABELLED,
            "unique_id_l": labelled["unique_id"].astype("str").to_numpy(),
            "source_dataset_r": RIGHT,
            "unique_id_r": labelled["pnc_id"].astype("str").to_numpy(),
        }
    )
    sdf_labels = _register(db_api, labels, table_name="__iom_labels")
    aux = Linker([sdf, sdf_right], _settings(params, _dialect(db_api)), log_level=None)
    aux.training.estimate_m_from_pairwise_labels(sdf_labels)
    out: dict[str, list[float]] = {}
    for comparison in aux.misc.save_model_to_json()["comparisons"]:
        name = comparison["output_column_name"]
        if name in LABELLED_COMPARISONS:
            # A level never seen among known matches has m = 0 (then floored).
            out[name] = [
                float(level.get("m_probability") or 0.0)
                for level in comparison["comparison_levels"]
                if not level.get("is_null_level")
            ]
    return out


def _dialect(db_api: Any) -> str:
    return str(db_api.sql_dialect.sql_dialect_str)


def _u_sample(frame: pd.DataFrame, proportion: float, seed: int) -> pd.DataFrame:
    """The records of one side drawn for estimating u: a seeded hash of ``unique_id``.

    Which records are drawn depends only on their ids and ``seed`` (pandas' fixed-key
    SipHash of ``"<seed>|<unique_id>"``), not on the engine, the row order or the
    partitioning, so DuckDB and Spark estimate u from the same pairs. Splink's own
    sampling hashes with the engine's ``hash()``, which differs between engines.
    """
    if proportion >= 1.0:
        return frame
    ids = str(seed) + "|" + frame["unique_id"].astype("str")
    bucket = pd.util.hash_pandas_object(ids, index=False).to_numpy() % np.uint64(1 << 32)
    return frame[bucket < np.uint64(round(proportion * (1 << 32)))]


def blocked_pair_count(left: pd.DataFrame, right: pd.DataFrame, columns: tuple[str, ...]) -> int:
    """Pairs (one record per side) agreeing on every column of ``columns``, as Splink blocks.

    A null never agrees (SQL equality), so records with a null key are in no block.
    Counted per block from the two sides' sizes: linear in the records, whatever the pairs.
    """
    cols = list(columns)
    n_left = left.groupby(cols, dropna=True, observed=True, sort=False).size().rename("n_left")
    n_right = right.groupby(cols, dropna=True, observed=True, sort=False).size().rename("n_right")
    both = pd.concat([n_left, n_right], axis=1, join="inner")
    return int((both["n_left"].astype("int64") * both["n_right"].astype("int64")).sum())


def _sample_bucket(frame: pd.DataFrame, rule: tuple[str, ...], one_in: int, seed: int) -> pd.Series:
    """Each record's sampling bucket (0 to ``one_in - 1``) for the EM pass on ``rule``.

    A seeded hash of ``"<seed>|em|<rule>|<unique_id>"``, as :func:`_u_sample`: independent
    of the engine and the row order, and of the records' details, so the pairs whose two
    records fall in the same bucket (1 in ``one_in``) are a random share of the block
    with the same mix of matches and non-matches.
    """
    ids = f"{seed}|em|{'_'.join(rule)}|" + frame["unique_id"].astype("str")
    hashed = pd.util.hash_pandas_object(ids, index=False).to_numpy()
    return pd.Series((hashed % np.uint64(one_in)).astype("int64"), index=frame.index)


def training_plan(
    left: pd.DataFrame, right: pd.DataFrame, rules: list[tuple[str, ...]], params: LinkParams
) -> tuple[list[TrainingPass], pd.DataFrame, pd.DataFrame]:
    """The EM passes on ``rules``, each capped at about ``params.max_training_pairs`` pairs.

    A rule blocking more pairs than the cap trains on the pairs whose records share a
    seeded sampling bucket (:func:`_sample_bucket`): 1 in ``ceil(pairs / cap)``. The
    same-DOB block pairs everyone born on one day, so it grows with the square of the
    people (about 27,000 pairs at 20,000 nominals, tens of millions at 1,000,000): with
    the cap, EM's pairs stay bounded while every comparison the rule leaves free is
    still estimated, from pairs drawn independently of their details.

    Returns
    -------
    tuple
        The passes, and ``left`` and ``right`` with a sampling column
        (:attr:`TrainingPass.bucket`) for each sampled pass (unchanged when none is).
    """
    passes = []
    buckets_l: dict[str, pd.Series] = {}
    buckets_r: dict[str, pd.Series] = {}
    for rule in rules:
        n_pairs = blocked_pair_count(left, right, rule)
        one_in = max(1, math.ceil(n_pairs / params.max_training_pairs))
        n_used = n_pairs
        if one_in > 1:
            bucket = TrainingPass(rule, n_pairs, one_in, 0).bucket
            assert bucket is not None
            buckets_l[bucket] = _sample_bucket(left, rule, one_in, params.seed)
            buckets_r[bucket] = _sample_bucket(right, rule, one_in, params.seed)
            n_used = blocked_pair_count(
                left.assign(**{bucket: buckets_l[bucket]}),
                right.assign(**{bucket: buckets_r[bucket]}),
                (*rule, bucket),
            )
        passes.append(TrainingPass(rule, n_pairs, one_in, n_used))
        logger.info(
            "EM pass on %s: %d blocked pairs, trained on %d (1 in %d)",
            "+".join(rule),
            n_pairs,
            n_used,
            one_in,
        )
    if buckets_l:
        left, right = left.assign(**buckets_l), right.assign(**buckets_r)
    return passes, left, right


def _estimate_u(db: DBFactory, left: pd.DataFrame, right: pd.DataFrame, params: LinkParams) -> dict[str, Any]:
    """The model with u estimated from every pair of a seeded sample of each side.

    Each side is sampled with the same proportion ``p`` so that about ``max_pairs``
    cross pairs remain (``p**2 * n_left * n_right = max_pairs``), as Splink samples;
    Splink then compares all of them (no sampling of its own, no early stop), so u is a
    count over the same pairs on every engine.
    """
    from splink import Linker

    proportion = math.sqrt(params.max_pairs / (len(left) * len(right)))
    sample_l = _u_sample(left, proportion, params.seed)
    sample_r = _u_sample(right, proportion, params.seed)
    db_api = db()
    linker = Linker(
        [
            _register(db_api, sample_l, dataset_display_name=LEFT),
            _register(db_api, sample_r, dataset_display_name=RIGHT),
        ],
        _settings(params, _dialect(db_api)),
        log_level=None,
    )
    n_pairs = len(sample_l) * len(sample_r)
    logger.info("estimating u from %d random pairs (%d x %d records)", n_pairs, len(sample_l), len(sample_r))
    # max_pairs above the pairs there are: Splink keeps every record and compares every pair.
    linker.training.estimate_u_using_random_sampling(
        max_pairs=float(n_pairs + 1), min_count_per_level=None, num_chunks=1
    )
    return dict(linker.misc.save_model_to_json())


def _with_labelled_m(model: dict[str, Any], labelled_m: dict[str, list[float]]) -> dict[str, Any]:
    for comparison in model["comparisons"]:
        m_values = labelled_m.get(comparison["output_column_name"])
        if m_values is None:
            continue
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        for level, m in zip(levels, m_values, strict=True):
            level["m_probability"] = m
    return model


def _floor_m(model: dict[str, Any], floor: float) -> dict[str, Any]:
    """Raise every trained m probability to at least ``floor`` (see ``LinkParams.m_floor``)."""
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            m = level.get("m_probability")
            if m is not None and not level.get("is_null_level"):
                level["m_probability"] = max(float(m), floor)
    return model


def _offline_html(chart: Any) -> str:
    # Splink names the chart's <div> with a random uuid: fix it so reruns give identical files.
    return _CHART_ID.sub("splink-chart-0", chart.to_html(inline=True))


def fit_link_model(
    left: pd.DataFrame,
    right: pd.DataFrame,
    params: LinkParams,
    labelled: pd.DataFrame | None = None,
    db: DBFactory = duckdb_api,
) -> LinkModel:
    """Train the model on both sides of the link and score the blocked pairs.

    Parameters
    ----------
    left
        Agency identities: output of :func:`linkage.standardise.linkage_keys`.
    right
        Police nominals, same columns.
    params
        Link parameters (blocking rules, thresholds, sampling).
    labelled
        Agency identities known to match a nominal (same columns, plus ``pnc_id``):
        probation records carrying the PNC ID. With at least ``min_labelled_pairs``
        of them, they set m for :data:`LABELLED_COMPARISONS`.
    db
        Makes the Splink database the model runs on: :func:`duckdb_api` (default) or
        :func:`spark_api`.

    Returns
    -------
    LinkModel
        Scored pairs, the fitted parameters and charts.
    """
    from splink import Linker, block_on

    if left.empty or right.empty:
        logger.info("nothing to link: %d agency identities, %d police nominals", len(left), len(right))
        return LinkModel(_empty_pairs({}), pd.DataFrame(), 0.0, 0, 0, {}, {})

    with_u = _estimate_u(db, left, right, params)
    n_labelled = 0 if labelled is None else int(labelled["dob"].notna().sum())
    use_labels = n_labelled >= params.min_labelled_pairs
    blocks = list(params.training_blocks)
    if not use_labels:
        logger.warning(
            "only %d known matches with a date of birth (fewer than %d): m for %s comes from EM",
            n_labelled,
            params.min_labelled_pairs,
            ", ".join(LABELLED_COMPARISONS),
        )
        blocks.append(params.dob_training_block)
    passes, train_left, train_right = training_plan(left, right, blocks, params)

    db_api = db()
    sdf_left = _register(db_api, train_left, dataset_display_name=LEFT)
    sdf_right = _register(db_api, train_right, dataset_display_name=RIGHT)
    linker = Linker([sdf_left, sdf_right], with_u, log_level=None)

    linker.training.estimate_probability_two_random_records_match(
        [block_on("forename_std", "surname_std", "dob")], recall=params.deterministic_recall
    )
    for training in passes:
        rule = (*training.rule, training.bucket) if training.bucket else training.rule
        linker.training.estimate_parameters_using_expectation_maximisation(block_on(*rule))

    model = linker.misc.save_model_to_json()
    if use_labels and labelled is not None:
        model = _with_labelled_m(model, _labelled_m(db_api, labelled, sdf_right, params))
    else:
        n_labelled = 0
    model = _floor_m(model, params.m_floor)
    linker = Linker([sdf_left, sdf_right], _with_levels(model), log_level=None)
    logger.info("scoring the pairs of %d prediction blocking rules", len(params.prediction_blocks))
    pairs = _predict(linker, model, params)

    n_blocked = _count_blocked_pairs([sdf_left, sdf_right], params)
    logger.info("%d blocked pairs, %d scoring at least %s", n_blocked, len(pairs), params.predict_floor)
    charts = {
        "match_weights": _offline_html(linker.visualisations.match_weights_chart()),
        "m_u_parameters": _offline_html(linker.visualisations.m_u_parameters_chart()),
    }
    return LinkModel(
        pairs=pairs,
        parameters=_parameters(model),
        prior=float(model["probability_two_random_records_match"]),
        n_labelled_pairs=n_labelled,
        n_blocked_pairs=n_blocked,
        charts=charts,
        settings=model,
        training=tuple(p.as_dict() for p in passes),
    )


def _with_levels(model: dict[str, Any]) -> dict[str, Any]:
    """The model set to keep each pair's comparison levels (``gamma_*``) in its predictions."""
    return {**model, "retain_matching_columns": True}


def _level_labels(model: dict[str, Any]) -> dict[str, dict[int, str]]:
    """Comparison -> gamma value -> level label.

    Splink numbers a comparison's levels from the most to the least similar: the null
    level is -1, then the first non-null level is ``n - 1`` down to the else level 0.
    """
    out: dict[str, dict[int, str]] = {}
    for comparison in model["comparisons"]:
        levels = comparison["comparison_levels"]
        non_null = [lv for lv in levels if not lv.get("is_null_level")]
        labels = {
            -1: next((lv.get("label_for_charts", "missing") for lv in levels if lv.get("is_null_level")), "")
        }
        for i, level in enumerate(non_null):
            labels[len(non_null) - 1 - i] = str(level.get("label_for_charts") or level["sql_condition"])
        out[str(comparison["output_column_name"])] = labels
    return out


def score_pairs(
    left: pd.DataFrame,
    right: pd.DataFrame,
    settings: dict[str, Any],
    params: LinkParams,
    db: DBFactory = duckdb_api,
) -> pd.DataFrame:
    """Score the blocked pairs of two further tables with an already trained model.

    Used to compare health and housing identities with probation-only people: too few
    of those to train on, and the same comparisons mean the same thing (a date of birth
    agreeing is as telling against a probation record as against a police one). The
    model keeps the police link's prior, which is lower than the prior among
    probation-only people, so the probabilities err on the side of no link.

    Returns
    -------
    pd.DataFrame
        Same columns as :attr:`LinkModel.pairs`.
    """
    from splink import Linker

    if left.empty or right.empty or not settings:
        return _empty_pairs(settings)

    db_api = db()
    sdf_left = _register(db_api, left, dataset_display_name=LEFT)
    sdf_right = _register(db_api, right, dataset_display_name=RIGHT)
    linker = Linker([sdf_left, sdf_right], _with_levels(settings), log_level=None)
    return _predict(linker, settings, params)


def _predict(linker: Any, model: dict[str, Any], params: LinkParams) -> pd.DataFrame:
    """The pairs scoring at least ``predict_floor``: ids, weight, probability and levels only.

    Splink's predictions also carry every compared column of both records (it keeps
    the levels, ``gamma_*``, only with them): only the columns used are fetched.
    """
    scored = linker.inference.predict(threshold_match_probability=params.predict_floor, warning_mode="never")
    columns = ["source_dataset_l", "unique_id_l", "unique_id_r", "match_weight", "match_probability"]
    columns += [f"gamma_{name}" for name in _level_labels(model)]
    sql = f"SELECT {', '.join(columns)} FROM {scored.physical_name}"
    frame = linker.misc.query_sql(sql, output_type="pandas")
    scored.drop_table_from_database_and_remove_from_cache()
    return _orient(frame, model)


def _empty_pairs(settings: dict[str, Any]) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            "unique_id_l": pd.Series(dtype="str"),
            "unique_id_r": pd.Series(dtype="str"),
            "match_weight": pd.Series(dtype="float64"),
            "match_probability": pd.Series(dtype="float64"),
        }
    )
    for name in _level_labels(settings) if settings else {}:
        out[f"level_{name}"] = pd.Series(dtype="str")
    return out


def _orient(pairs: pd.DataFrame, model: dict[str, Any]) -> pd.DataFrame:
    """Put the agency identity on the left and the candidate on the right, levels labelled."""
    swap = pairs["source_dataset_l"].astype("str") == RIGHT
    out = pd.DataFrame(
        {
            "unique_id_l": pairs["unique_id_l"].where(~swap, pairs["unique_id_r"]).astype("str"),
            "unique_id_r": pairs["unique_id_r"].where(~swap, pairs["unique_id_l"]).astype("str"),
            "match_weight": pairs["match_weight"].astype("float64"),
            "match_probability": pairs["match_probability"].astype("float64"),
        }
    )
    for name, labels in _level_labels(model).items():
        gamma = pairs[f"gamma_{name}"].astype("int64")
        out[f"level_{name}"] = gamma.map(labels).astype("str")
    return out.sort_values(["unique_id_l", "unique_id_r"], ignore_index=True)


def _count_blocked_pairs(tables: list[Any], params: LinkParams) -> int:
    from splink import block_on
    from splink.blocking_analysis import count_comparisons_from_blocking_rules

    records = count_comparisons_from_blocking_rules(
        tables,
        blocking_rules=[block_on(*rule) for rule in params.prediction_blocks],
        link_type="link_only",
        record_sample_proportion=1.0,
    )
    return int(records[-1]["cumulative_comparison_count"])
