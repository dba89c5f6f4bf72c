"""The ``link`` stage: validated tables -> pseudonymised tables, re-identification key, metrics.

Reads ``data/validated/*.parquet`` and ``manifest.json``; writes ``data/linked/``
(no personal details), ``data/reid/`` (the re-identification key and the clerical
review list: folder 0700, files 0600), ``metrics/linkage.json`` and the model's
charts under ``reports/linkage/``. The simulator's truth, when the extract has one,
is read for the metrics only.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from iom_config import DEFAULT_PARAMS, load_params
from iom_contract import TABLES
from linkage import LinkParams, link_extract, resolve_key
from validation.params import ValidateParams

logger = logging.getLogger(__name__)

PERSONS = "persons.parquet"
PERSON_INDEX = "person_index.parquet"
CLERICAL_REVIEW = "clerical_review.csv"
TRUTH_IDENTITIES = Path("_truth") / "identities.parquet"

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def read_validated(validated: Path) -> dict[str, pd.DataFrame]:
    """Read every contract table present in ``validated`` (required ones must be there)."""
    tables: dict[str, pd.DataFrame] = {}
    for spec in TABLES:
        path = validated / f"{spec.name}.parquet"
        if path.exists():
            tables[spec.name] = pd.read_parquet(path)
        elif not spec.optional:
            raise FileNotFoundError(f"{path}: validated table missing; run the validate stage first")
    return tables


def read_truth(extract: Path) -> pd.DataFrame | None:
    """The simulator's identity truth, when ``extract`` is a simulated extract."""
    path = extract / TRUTH_IDENTITIES
    if not path.exists():
        return None
    logger.info("simulated extract: measuring linkage against %s", path)
    return pd.read_parquet(path, columns=["person_id", "source", "source_id"])


@contextmanager
def private_file(path: Path, mode: str = "wb") -> Iterator[IO[Any]]:
    """Open ``path`` for writing, created with mode 0600 (never readable by others, not even briefly)."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
    os.chmod(path, PRIVATE_FILE_MODE)  # the umask may have removed bits, never added: make it exact
    with os.fdopen(
        fd, mode, encoding=None if "b" in mode else "utf-8", newline=None if "b" in mode else ""
    ) as f:
        yield f


def private_dir(path: Path) -> None:
    """Create ``path`` (and parents) and restrict it to its owner (0700)."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, PRIVATE_DIR_MODE)


def write_parquet(frame: pd.DataFrame, path: Path, private: bool = False) -> None:
    """Write a table as Parquet (mode 0600 when ``private``)."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    if private:
        with private_file(path) as f:
            pq.write_table(table, f)
    else:
        pq.write_table(table, path)


def run(
    validated: Path,
    out: Path,
    reid: Path,
    metrics: Path,
    reports: Path,
    params_path: Path = DEFAULT_PARAMS,
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
        params.yaml; reads ``link:`` and ``validate.extract``.

    Returns
    -------
    dict
        The metrics written.
    """
    started = time.perf_counter()
    params = load_params("link", LinkParams, params_path)
    extract = Path(load_params("validate", ValidateParams, params_path).extract)
    manifest = json.loads((validated / "manifest.json").read_text(encoding="utf-8"))
    key = resolve_key(params, extract)
    tables = read_validated(validated)
    truth = read_truth(extract)
    logger.info("linking extract of %s dated %s", manifest.get("area"), manifest.get("extract_date"))

    result = link_extract(tables, params, key, truth)

    out.mkdir(parents=True, exist_ok=True)
    write_parquet(result.persons, out / PERSONS)
    for name, frame in result.tables.items():
        write_parquet(frame, out / f"{name}.parquet")
    if "panel_decisions" not in result.tables:
        (out / "panel_decisions.parquet").unlink(missing_ok=True)

    private_dir(reid)
    write_parquet(result.person_index, reid / PERSON_INDEX, private=True)
    with private_file(reid / CLERICAL_REVIEW, "w") as f:
        result.clerical_review.to_csv(f, index=False, date_format="%Y-%m-%d")

    reports.mkdir(parents=True, exist_ok=True)
    for name, html in result.charts.items():
        (reports / name).write_text(html, encoding="utf-8")

    # No timings in the metrics file: identical inputs must give identical outputs.
    summary = dict(result.metrics)
    metrics.parent.mkdir(parents=True, exist_ok=True)
    metrics.write_text(json.dumps(summary, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    logger.info(
        "linked %d people; %d pairs for clerical review in %s; %.1f s",
        len(result.persons),
        len(result.clerical_review),
        reid / CLERICAL_REVIEW,
        time.perf_counter() - started,
    )
    return summary
