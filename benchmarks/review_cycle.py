"""One clerical review cycle on a validated extract: precision, recall and workload before and after.

Usage (from the repository root)::

    .venv/bin/python benchmarks/review_cycle.py --validated data/validated --extract data/extract \\
        --work /tmp/review-cycle-20k --error-rate 0.02
    # people known to another force: drop 10% of the nominals probation rows point to
    .venv/bin/python benchmarks/review_cycle.py ... --drop-nominals 0.1

Runs the link stage (``pipelines.link.run``) into ``--work`` with its own decisions
folder, lets the simulated reviewer (``simulator.reviewer``) decide every queued pair
from the truth with ``--error-rate``, records the decisions (``iom review``'s
function), runs the link stage again, and prints (and writes to
``<work>/review_cycle.json``) per-source precision and recall and the review workload of
both runs. Reads ``--validated`` and ``--extract`` only; everything written goes to
``--work``.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from iom_config import read_params
from linkage.synthetic import without_police_nominals
from pipelines import link as stage
from simulator.reviewer import simulate_review


def _summary(metrics: dict[str, Any]) -> dict[str, Any]:
    review = metrics["clerical_review"]
    truth = metrics.get("truth", {})
    return {
        "pairs_pending": review["pairs_pending"],
        "pairs_pending_by_source": review["pairs_pending_by_source"],
        "identities_pending": review["identities"],
        "identities_in_cohort": review["identities_in_cohort"],
        "pairs_decided_by_person": review["pairs_decided_by_person"],
        "conflicts": review["decisions_conflicting_with_model"],
        "stale": review["decisions_stale"],
        "probation_only_candidates": metrics["unlinked"]["probation_only_candidates"],
        "truth": {
            source: {
                "precision": entry["precision"],
                "recall": entry["recall"],
                "n_predicted": entry["n_predicted"],
                **(
                    {"to_probation_only": entry["to_probation_only"]}
                    if entry.get("to_probation_only", {}).get("n_true")
                    else {}
                ),
            }
            for source, entry in truth.items()
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--validated", type=Path, required=True)
    parser.add_argument("--extract", type=Path, required=True, help="the simulated extract (its _truth/)")
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--error-rate", type=float, default=0.02)
    parser.add_argument("--drop-nominals", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

    work: Path = args.work
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    validated = args.validated
    dropped = 0
    if args.drop_nominals:
        validated = work / "validated"
        validated.mkdir()
        names = [p.stem for p in args.validated.glob("*.parquet")]
        tables = {name: pd.read_parquet(args.validated / f"{name}.parquet") for name in names}
        tables, gone = without_police_nominals(tables, args.drop_nominals, np.random.default_rng(args.seed))
        dropped = len(gone)
        for name, frame in tables.items():
            frame.to_parquet(validated / f"{name}.parquet")
        shutil.copy(args.validated / "manifest.json", validated / "manifest.json")

    params = read_params(args.params)
    link = {**params["link"], "decisions_dir": str(work / "clerical")}
    params_path = work / "params.yaml"
    params_path.write_text(yaml.safe_dump({"validate": {"extract": str(args.extract)}, "link": link}))

    def run() -> tuple[dict[str, Any], float]:
        started = time.perf_counter()
        metrics = stage.run(
            validated, work / "linked", work / "reid", work / "linkage.json", work / "reports", params_path
        )
        return metrics, time.perf_counter() - started

    before, seconds_before = run()
    review_path = work / "reid" / stage.CLERICAL_REVIEW
    truth = pd.read_parquet(args.extract / "_truth" / "identities.parquet")
    filled = simulate_review(stage.read_review_file(review_path), truth, args.error_rate, seed=args.seed)
    with stage.private_file(review_path, "w", encoding=stage.CSV_ENCODING) as f:
        filled.to_csv(f, index=False)
    started = time.perf_counter()
    recorded = stage.record_review(review_path, work / "clerical", params_path, decided_on="2026-11-01")
    seconds_record = time.perf_counter() - started
    after, seconds_after = run()

    report = {
        "validated": str(args.validated),
        "error_rate": args.error_rate,
        "nominals_dropped_as_other_force": dropped,
        "recorded": recorded,
        "before": _summary(before),
        "after": _summary(after),
        "seconds": {"link_before": round(seconds_before, 1), "record": round(seconds_record, 2),
                    "link_after": round(seconds_after, 1)},
    }  # fmt: skip
    text = json.dumps(report, indent=2)
    (work / "review_cycle.json").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
