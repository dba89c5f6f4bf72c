"""The ``link`` stage: validated tables -> pseudonymised tables, re-identification key, metrics.

Reads ``data/validated/*.parquet``, ``manifest.json`` and the data controller's
clerical decisions (``link.decisions_dir``); writes ``data/linked/`` (no personal
details), ``data/reid/`` (the re-identification key, the clerical review file and the
decisions that no longer apply: folder 0700, files 0600), ``metrics/linkage.json``
and the model's charts under ``reports/linkage/``. The simulator's truth, when the
extract has one, is read for the metrics only.

One review cycle: the link stage writes ``data/reid/clerical_review.csv``; the data
controller fills in its ``decision`` column and runs ``iom review`` (:func:`record_review`),
which checks the whole file and adds its decisions to ``<decisions_dir>/decisions.csv``;
the next ``dvc repro`` applies them.

With ``engine: spark`` in params.yaml, Splink trains and scores the model on the Spark
session of the ``spark:`` section (:func:`iom_spark.spark_session`); every other step
is the same code on both engines.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
import time
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pandas as pd
import pyarrow.parquet as pq

from iom_config import DEFAULT_PARAMS, load_params
from iom_contract import TABLES
from iom_contract import table as contract_table
from iom_io import private_dir, private_file, write_parquet
from iom_spark import EngineChoice, checkpoint_dir, is_connect, load_engine, open_spark, spark_call
from linkage import (
    IDENTITY_COLUMNS,
    LINKED_TABLES,
    LinkParams,
    link_identities,
    resolve_key,
    write_linked_table,
)
from linkage.model import SPARK_INPUT_PREFIX, DBFactory, duckdb_api, spark_api
from linkage.review import LEDGER_COLUMNS, ReviewFileError, empty_ledger, merge_decisions, parse_review_file
from validation.params import ValidateParams

logger = logging.getLogger(__name__)

PERSONS = "persons.parquet"
PERSON_INDEX = "person_index.parquet"
CLERICAL_REVIEW = "clerical_review.csv"
STALE_DECISIONS = "stale_decisions.csv"
DECISIONS = "decisions.csv"
TRUTH_IDENTITIES = Path("_truth") / "identities.parquet"
# Spreadsheets (Excel above all) read a CSV as UTF-8 only when it starts with a BOM.
CSV_ENCODING = "utf-8-sig"
DETAIL_FILE = "linkage.json"  # every figure, in the reports folder; metrics/linkage.json is the headline


def headline(summary: dict[str, Any]) -> dict[str, Any]:
    """The figures ``metrics/linkage.json`` keeps for ``dvc metrics show``.

    People linked and pairs left for clerical review; on a simulated extract, the lowest
    precision and recall of any source against the truth. Every figure is in
    ``<reports>/linkage.json``.
    """
    out: dict[str, Any] = {
        "people": summary["persons"]["n"],
        "review_pending": summary["clerical_review"]["pairs_pending"],
    }
    truth = summary.get("truth") or {}
    for measure in ("precision", "recall"):
        values = [s[measure] for s in truth.values() if isinstance(s, dict) and s.get(measure) is not None]
        if values:
            out[f"{measure}_min"] = min(values)
    return out


def link_engine(choice: EngineChoice, params_path: Path) -> DBFactory:
    """Where Splink runs: DuckDB in this process, or the Spark session of ``spark:``."""
    if not choice.is_spark:
        return duckdb_api
    where = choice.spark.remote or choice.spark.master
    session = open_spark(choice.spark)
    logger.info("link model on Spark at %s (Spark %s)", where, session.version)
    return spark_api(session, splink_folder(choice) if is_connect(session) else None)


def splink_folder(choice: EngineChoice) -> str | None:
    """Where Splink writes its intermediate tables: the Spark session's checkpoint folder or, on
    Spark Connect (no SparkContext on this side), ``spark.checkpoint_dir`` as given (a folder
    the Spark server can write: shared storage on a cluster)."""
    if not choice.is_spark:
        return None
    if choice.spark.remote:
        return choice.spark.checkpoint_dir
    from pyspark.sql import SparkSession

    return checkpoint_dir(SparkSession.getActiveSession())


def remove_splink_checkpoints(choice: EngineChoice) -> None:
    """Delete the intermediate tables Splink wrote as Parquet under the Spark checkpoint folder.

    Splink breaks long Spark plans by writing each intermediate table (blocked pairs,
    comparison vectors, predictions) to the checkpoint folder and never deletes them; the
    link model's input tables are there too (:data:`linkage.model.SPARK_INPUT_PREFIX`). On a
    local folder they are removed after the link; on shared storage (``hdfs://``, ``s3a://``)
    they are left to the cluster's retention policy, and logged.
    """
    folder = splink_folder(choice)
    if not folder:
        return
    parsed = urlparse(folder)
    if parsed.scheme not in ("", "file"):
        logger.info("Splink's intermediate tables are left in %s (not a local folder)", folder)
        return
    for pattern in ("__splink__*", f"{SPARK_INPUT_PREFIX}*"):
        for table in Path(parsed.path).glob(pattern):
            if table.is_dir():
                shutil.rmtree(table, ignore_errors=True)
            else:
                table.unlink(missing_ok=True)


def read_validated(
    validated: Path, columns: dict[str, tuple[str, ...]] | None = None
) -> dict[str, pd.DataFrame]:
    """Read the contract tables present in ``validated`` (required ones must be there).

    ``columns``: read only these tables, and of each only these columns (those the file
    has): the link reads the identity columns (:data:`linkage.IDENTITY_COLUMNS`), a
    small share of the extract, and writes the event tables from the files.
    """
    tables: dict[str, pd.DataFrame] = {}
    for spec in TABLES:
        path = validated / f"{spec.name}.parquet"
        if not path.exists():
            if not spec.optional:
                raise FileNotFoundError(f"{path}: validated table missing; run the validate stage first")
            continue
        if columns is None:
            tables[spec.name] = pd.read_parquet(path)
        elif spec.name in columns:
            present = set(pq.read_schema(path).names)
            tables[spec.name] = pd.read_parquet(path, columns=[c for c in columns[spec.name] if c in present])
    return tables


def write_linked_tables(validated: Path, out: Path, person_index: pd.DataFrame, key: bytes) -> dict[str, int]:
    """Write every linked event table from its validated file (:func:`linkage.write_linked_table`).

    One table at a time, each in bounded memory; ``panel_decisions`` (one row per panel
    decision) is copied whole when the extract has it. Returns the rows written per table.
    """
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, (table_name, _, _) in LINKED_TABLES.items():
        written[name] = write_linked_table(
            validated / f"{table_name}.parquet", name, person_index, key, out / f"{name}.parquet"
        )
    panel = validated / "panel_decisions.parquet"
    if panel.exists():
        cols = list(contract_table("panel_decisions").column_names)
        write_parquet(pd.read_parquet(panel, columns=cols), out / "panel_decisions.parquet")
    else:
        (out / "panel_decisions.parquet").unlink(missing_ok=True)
    return written


def read_truth(extract: Path) -> pd.DataFrame | None:
    """The simulator's identity truth, when ``extract`` is a simulated extract."""
    path = extract / TRUTH_IDENTITIES
    if not path.exists():
        return None
    logger.info("simulated extract: measuring linkage against %s", path)
    return pd.read_parquet(path, columns=["person_id", "source", "source_id"])


def run(
    validated: Path,
    out: Path,
    reid: Path,
    metrics: Path,
    reports: Path,
    params_path: Path = DEFAULT_PARAMS,
    decisions: Path | None = None,
) -> dict[str, Any]:
    """Run the link stage.

    Parameters
    ----------
    validated
        ``data/validated``: the validate stage's tables and ``manifest.json``.
    out
        ``data/linked``: pseudonymised tables.
    reid
        ``data/reid``: person_index.parquet and clerical_review.csv (private).
    metrics
        ``metrics/linkage.json``.
    reports
        ``reports/linkage``: the model's match-weight charts (offline HTML).
    params_path
        params.yaml; reads ``link:``, ``validate.extract``, ``engine`` and ``spark:``.
    decisions
        The data controller's decisions folder (default: ``link.decisions_dir``).

    Returns
    -------
    dict
        The metrics written.

    Raises
    ------
    SparkEngineError
        ``engine: spark`` and Spark could not start or failed (one message).
    ReviewFileError
        When ``reid``'s review file holds decisions not recorded yet (``iom review``),
        or the decisions ledger is malformed: nothing is overwritten.
    """
    started = time.perf_counter()
    params = load_params("link", LinkParams, params_path)
    extract = Path(load_params("validate", ValidateParams, params_path).extract)
    manifest = json.loads((validated / "manifest.json").read_text(encoding="utf-8"))
    key = resolve_key(params, extract)
    ledger = read_decisions(decisions if decisions is not None else params.decisions_dir)
    refuse_unrecorded(reid / CLERICAL_REVIEW, ledger)
    engine = load_engine(params_path)
    db = link_engine(engine, params_path)  # before reading the tables: a wrong Spark address fails fast
    tables = read_validated(validated, IDENTITY_COLUMNS)
    truth = read_truth(extract)
    logger.info("linking extract of %s dated %s", manifest.get("area"), manifest.get("extract_date"))

    extract_date = pd.Timestamp(manifest["extract_date"]) if manifest.get("extract_date") else None
    try:
        result = spark_call(
            f"link on Spark ({engine.spark.remote or engine.spark.master})",
            partial(link_identities, tables, params, key, truth, ledger, extract_date, db),
        )
    finally:
        if engine.is_spark:
            remove_splink_checkpoints(engine)

    del tables  # the identity records: the event tables are written from the files
    out.mkdir(parents=True, exist_ok=True)
    write_parquet(result.persons, out / PERSONS)
    write_linked_tables(validated, out, result.person_index, key)

    private_dir(reid)
    write_parquet(result.person_index, reid / PERSON_INDEX, private=True)
    with private_file(reid / CLERICAL_REVIEW, "w", encoding=CSV_ENCODING) as f:
        result.clerical_review.to_csv(f, index=False, date_format="%Y-%m-%d")
    with private_file(reid / STALE_DECISIONS, "w", encoding=CSV_ENCODING) as f:
        result.stale_decisions.reindex(columns=[*LEDGER_COLUMNS, "stale_reason"]).to_csv(f, index=False)

    reports.mkdir(parents=True, exist_ok=True)
    for name, html in result.charts.items():
        (reports / name).write_text(html, encoding="utf-8")

    # No timings in the metrics file: identical inputs must give identical outputs.
    summary = dict(result.metrics)
    (reports / DETAIL_FILE).write_text(
        json.dumps(summary, indent=2, sort_keys=False) + "\n", encoding="utf-8"
    )
    metrics.parent.mkdir(parents=True, exist_ok=True)
    metrics.write_text(json.dumps(headline(summary), indent=2) + "\n", encoding="utf-8")
    review = summary["clerical_review"]
    logger.info(
        "linked %d people; %d pairs decided by a person applied; %d pairs (%d identities) left for "
        "clerical review in %s; %.1f s",
        len(result.persons),
        sum(review["pairs_decided_by_person"].values()),
        review["pairs_pending"],
        review["identities"],
        reid / CLERICAL_REVIEW,
        time.perf_counter() - started,
    )
    return summary


def read_review_file(path: Path) -> pd.DataFrame:
    """Read a review file as the data controller saved it: every column as text."""
    if not path.exists():
        raise ReviewFileError(f"{path}: no review file; run the link stage first (dvc repro link)")
    try:
        return pd.read_csv(path, dtype="str", keep_default_na=False, encoding=CSV_ENCODING)
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ReviewFileError(f"{path}: not a readable CSV file ({exc}); save it as CSV (UTF-8)") from None


def read_decisions(folder: Path) -> pd.DataFrame:
    """The decisions ledger in ``folder`` (an empty one when nothing was recorded yet)."""
    path = folder / DECISIONS
    if not path.exists():
        return empty_ledger()
    frame = pd.read_csv(path, dtype="str", keep_default_na=False, encoding=CSV_ENCODING)
    missing = [c for c in LEDGER_COLUMNS if c not in frame.columns]
    if missing:
        raise ReviewFileError(f"{path}: column(s) {missing} missing; this is not a decisions ledger")
    bad = ~frame["decision"].isin(["match", "no_match"])
    if bad.any():
        rows = [int(i) + 2 for i in frame.index[bad]][:10]
        raise ReviewFileError(
            f"{path}: rows {rows}, column 'decision', unknown decision; nothing was applied"
        )
    frame = frame[list(LEDGER_COLUMNS)].copy()
    frame["match_probability_when_decided"] = pd.to_numeric(
        frame["match_probability_when_decided"], errors="coerce"
    ).astype("float64")
    return frame


def write_decisions(ledger: pd.DataFrame, folder: Path) -> None:
    """Write the ledger (folder 0700, file 0600, atomically)."""
    private_dir(folder)
    with private_file(folder / DECISIONS, "w", encoding=CSV_ENCODING) as f:
        ledger.to_csv(f, index=False)


def refuse_unrecorded(review_path: Path, ledger: pd.DataFrame) -> None:
    """Stop before a run overwrites decisions typed into the review file but not recorded yet.

    ``dvc.yaml`` marks ``data/reid`` ``persist``, so DVC leaves the file in place for
    this check.
    """
    if not review_path.exists():
        return
    frame = read_review_file(review_path)
    if "decision" not in frame.columns or frame["decision"].str.strip().eq("").all():
        return  # no decision typed in (or a file from before clerical review was recorded): nothing to lose
    decided = parse_review_file(frame, str(review_path))
    key = ["source", "source_id", "candidate_source", "candidate_id", "decision"]
    known = decided.merge(ledger[key], on=key, how="left", indicator=True)
    n_new = int((known["_merge"] == "left_only").sum())
    if n_new:
        raise ReviewFileError(
            f"{review_path}: {n_new} decision(s) typed in but not recorded; running the link stage would "
            f"overwrite them. Record them first: iom review --review {review_path} (then rerun)"
        )


def record_review(
    review: Path,
    decisions: Path | None = None,
    params_path: Path = DEFAULT_PARAMS,
    decided_on: str | None = None,
) -> dict[str, int]:
    """Record a filled-in review file's decisions in the ledger: all of them, or none.

    Parameters
    ----------
    review
        ``data/reid/clerical_review.csv`` with its ``decision`` column filled in.
    decisions
        The decisions folder (default: ``link.decisions_dir`` of ``params_path``).
    params_path
        params.yaml.
    decided_on
        ISO date to record (default: today).

    Returns
    -------
    dict
        ``added``, ``changed``, ``unchanged``, ``match``, ``no_match``, ``left`` (pairs
        of the file still without a decision), ``ledger`` (decisions in the ledger).
    """
    folder = (
        decisions if decisions is not None else load_params("link", LinkParams, params_path).decisions_dir
    )
    frame = read_review_file(review)
    new = parse_review_file(frame, str(review))
    ledger, counts = merge_decisions(read_decisions(folder), new, decided_on or dt.date.today().isoformat())
    write_decisions(ledger, folder)
    out = {
        **counts,
        "match": int((new["decision"] == "match").sum()),
        "no_match": int((new["decision"] == "no_match").sum()),
        "left": len(frame) - len(new),
        "ledger": len(ledger),
    }
    logger.info(
        "recorded %d decisions from %s in %s (%d new, %d changed); %d pairs in the file left undecided",
        len(new),
        review,
        folder / DECISIONS,
        counts["added"],
        counts["changed"],
        out["left"],
    )
    return out
