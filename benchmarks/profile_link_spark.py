"""Where the link stage spends its time on Spark: wall time per Splink step, per table, in the UDF.

Usage (from the repository root; params as for ``iom link``, with ``engine: spark``)::

    .venv/bin/python benchmarks/profile_link_spark.py VALIDATED PARAMS WORK

Runs the link stage in this process with timers around each Splink training and scoring
step (``estimate_u_using_random_sampling``, each EM pass, ``predict``...), around each
table Splink materialises in the checkpoint folder (``table:__splink__...``) and around
each Jaro-Winkler batch in Spark's Python workers (rows and seconds inside the function,
appended to ``UDF_LOG``, default ``WORK/udf.log``; ``PROFILE_UDF=0`` leaves the UDF as is).
Prints the totals as JSON and writes them to ``WORK/profile.json``. For Spark's own
stage timings add ``spark.eventLog.enabled: true`` and ``spark.eventLog.dir`` to
``spark.conf`` in the params.
"""

from __future__ import annotations

import collections
import functools
import json
import logging
import os
import sys
import time
from pathlib import Path

import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

UDF_LOG = os.environ.get("UDF_LOG", "")
TIMES: dict[str, list[float]] = collections.defaultdict(list)


def timed(owner, name, label=None):
    original = getattr(owner, name)

    @functools.wraps(original)
    def wrapper(*a, **k):
        t = time.perf_counter()
        try:
            return original(*a, **k)
        finally:
            dt = time.perf_counter() - t
            TIMES[label or name].append(dt)
            logging.getLogger("prof").info("%s %.1f s", label or name, dt)

    setattr(owner, name, wrapper)


def profiled_jw(left: pa.Array, right: pa.Array) -> pa.Array:
    # Defined here (pickled by value into the workers): the link's own function, timed.
    import linkage.model as m

    t = time.perf_counter()
    out = m._duckdb_jaro_winkler(left, right)
    with open(os.environ["UDF_LOG"], "a") as f:
        f.write(f"{os.getpid()} {len(left)} {time.perf_counter() - t:.6f}\n")
    return out


def main() -> None:
    from splink.internals.linker_components.inference import LinkerInference
    from splink.internals.linker_components.training import LinkerTraining
    from splink.internals.spark.database_api import SparkAPI
    from splink.internals.spark.dataframe import SparkDataFrame

    import linkage.model as m
    from pipelines import link as stage

    if os.environ.get("PROFILE_UDF", "1") == "1":

        def register(session):
            from pyspark.sql.functions import arrow_udf

            session.udf.register("iom_jaro_winkler", arrow_udf(profiled_jw, "double"))

        m.register_spark_functions = register

    original_cleanup = SparkAPI._cleanup_for_execute_sql

    def cleanup(self, table, templated_name, physical_name):
        t = time.perf_counter()
        try:
            return original_cleanup(self, table, templated_name, physical_name)
        finally:
            dt = time.perf_counter() - t
            TIMES["table:" + templated_name].append(dt)
            if dt > 1:
                logging.getLogger("prof").info("table %s %.1f s", templated_name, dt)

    SparkAPI._cleanup_for_execute_sql = cleanup
    timed(SparkDataFrame, "as_pandas_dataframe", "as_pandas")
    timed(SparkDataFrame, "as_record_list", "as_record_list")
    for name in ("_estimate_u", "_labelled_m", "_count_blocked_pairs", "score_pairs", "_register"):
        timed(m, name)
    for name in (
        "estimate_probability_two_random_records_match",
        "estimate_parameters_using_expectation_maximisation",
        "estimate_u_using_random_sampling",
        "estimate_m_from_pairwise_labels",
    ):
        timed(LinkerTraining, name)
    timed(LinkerInference, "predict")
    timed(m, "fit_link_model")
    import linkage.core as core

    core.fit_link_model = m.fit_link_model
    core.score_pairs = m.score_pairs

    validated, params, work = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    work.mkdir(parents=True, exist_ok=True)
    udf_log = os.environ.setdefault("UDF_LOG", UDF_LOG or str(work / "udf.log"))
    if os.path.exists(udf_log):
        os.remove(udf_log)
    t = time.perf_counter()
    stage.run(
        validated,
        out=work / "linked",
        reid=work / "reid",
        metrics=work / "linkage.json",
        reports=work / "reports",
        params_path=params,
        decisions=work / "clerical",
    )
    total = time.perf_counter() - t
    summary = {k: [len(v), round(sum(v), 1)] for k, v in sorted(TIMES.items(), key=lambda kv: -sum(kv[1]))}
    if os.path.exists(udf_log):
        rows = secs = calls = 0
        for line in Path(udf_log).read_text().splitlines():
            _, n, s = line.split()
            rows += int(n)
            secs += float(s)
            calls += 1
        summary["udf"] = {"batches": calls, "rows": rows, "seconds_in_function": round(secs, 1)}
    summary["total"] = round(total, 1)
    print(json.dumps(summary, indent=1))
    (work / "profile.json").write_text(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
