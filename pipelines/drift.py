"""Stage ``drift``: the panel date's cohort against the training as-of dates, label-free.

Reads the features partitions (the training as-of dates the model learned from, listed
in ``reports/model/evaluation.json``, and the panel date, the rows flagged
``is_panel_date``) and the typology assignment, and writes ``reports/drift/drift.json``
(every feature's PSI with its label, the features beyond ``drift.threshold``, the
typology mix: read by the model card, the fairness report and the panel pack's footer)
and ``metrics/drift.json`` (headline: the largest PSI, how many features are beyond;
the typology mix's PSI is in drift.json).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pandas as pd

from features import FeatureParams
from features.catalogue import specs_for_columns
from features.partitions import read_features
from iom_config import DEFAULT_PARAMS, load_params
from models.drift import DriftParams, measure_drift

logger = logging.getLogger(__name__)


def run(
    features: Path,
    evaluation: Path,
    typology: Path,
    out: Path,
    metrics: Path,
    params_path: Path = DEFAULT_PARAMS,
) -> dict[str, Any]:
    """Measure drift and write ``out/drift.json`` and the headline ``metrics``; return the record."""
    params = load_params("drift", DriftParams, params_path)
    history_months = load_params("features", FeatureParams, params_path).history_months
    learned = json.loads(Path(evaluation).read_text(encoding="utf-8"))["learned_from_dates"]
    frame = read_features(Path(features))
    panel_dates = pd.to_datetime(frame.loc[frame["is_panel_date"].astype(bool), "as_of_date"]).unique()
    if len(panel_dates) == 0:
        raise ValueError(f"{features}: no rows flagged is_panel_date")
    specs = specs_for_columns(frame.columns, history_months)
    typology_path = Path(typology) / "typology.parquet"
    assigned = (
        pd.read_parquet(typology_path, columns=["as_of_date", "typology"]) if typology_path.exists() else None
    )
    result = measure_drift(
        frame,
        list(specs),
        {name: spec.label for name, spec in specs.items()},
        pd.to_datetime(learned).tolist(),
        pd.Timestamp(max(panel_dates)),
        params,
        assigned,
    )
    record = result.to_json()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "drift.json").write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    # Two numbers: `dvc metrics show` lines up every metrics file's keys on one 160-column line.
    headline = {"psi_max": round(float(result.features["psi"].max()), 3), "n_beyond": len(result.beyond)}
    metrics = Path(metrics)
    metrics.parent.mkdir(parents=True, exist_ok=True)
    metrics.write_text(json.dumps(headline, indent=2) + "\n", encoding="utf-8")
    logger.info(
        "drift at %s: %d feature(s) beyond PSI %g%s",
        result.panel_date,
        len(result.beyond),
        params.threshold,
        (": " + ", ".join(result.beyond)) if result.beyond else "",
    )
    return record
