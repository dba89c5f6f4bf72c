"""Stage ``train``: features -> calibrated risk model, baselines, metrics, plots, panel scores.

Reads every ``as_of_date=...`` partition of the features stage and the linked persons,
fits :class:`models.RiskModel` and the baselines on the temporal split declared in the
``train:`` params (:mod:`models.splits`), and writes:

- ``out/``: the model (``risk_model.ubj`` + ``risk_model.json``, bootstrap refits),
  ``scores.parquet`` (the panel date: risk_12m, interval, rank, reasons) and
  ``predictions.parquet`` (every labelled row, every model: for the fairness audit);
- ``metrics``: ``metrics/model.json``;
- ``reports/``: splits.png, SHAP plots, DVC plot data (roc/calibration/precision_at_k
  CSVs) and ``evaluation.json`` (every figure, the split and the params: what the model
  card, rendered after the audit by stage ``card``, is made from).

``metrics/model.json`` holds the headline figures only (``dvc metrics show``).

The model is logged to MLflow and registered as ``train.register_name`` unless
``mlflow.log`` is false.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features import FeatureParams
from features.partitions import read_features
from iom_config import DEFAULT_PARAMS, load_params
from iom_io import write_parquet
from iom_spark import load_engine
from models.baselines import oracle_risk
from models.card_evidence import evidence_markdown, load_comparison
from models.explain import plot_global, plot_rows
from models.metrics import calibration_table, precision_at_k, roc_points
from models.risk import RiskModel, model_fingerprint
from models.risk_mlflow import registration_record
from models.risk_params import TrainParams
from models.risk_train import MODEL_NAMES, TrainResult, model_matrix, train_and_evaluate
from models.spark import predict_people, score_people
from models.splits import plot_split
from pipelines.tracking import mlflow_enabled

logger = logging.getLogger(__name__)

AREA = "risk-model"  # the experiment (iom/risk-model) when no extract manifest is beside the inputs


def read_truth(features: pd.DataFrame, truth_dir: Path, reid: Path) -> pd.Series | None:
    """The simulator's true probability per features row, or None when there is no truth."""
    files = [truth_dir / "oracle.parquet", truth_dir / "identities.parquet", reid / "person_index.parquet"]
    if not all(f.exists() for f in files):
        logger.info("no simulator truth at %s: oracle baseline skipped", truth_dir)
        return None
    return oracle_risk(
        features,
        pd.read_parquet(files[0]),
        pd.read_parquet(files[2], columns=["pseudo_id", "source", "source_id"]),
        pd.read_parquet(files[1]),
    )


PLOTS_DIR = "plots"  # reports/model/plots/: the files dvc.yaml's top-level plots read
FPR_GRID = np.linspace(0.0, 1.0, 101)


def write_plot_data(preds: pd.DataFrame, reports: Path, capacity: int) -> list[Path]:
    """ROC, calibration and precision-at-k points of the test block.

    Writes one long CSV per plot (``roc.csv``, ``calibration.csv`` with each bin's rows
    ``n``, ``precision_at_k.csv``: a ``model`` column) and, for ``dvc plots``, the same in
    ``plots/`` (the ROC on a common false positive rate grid), drawn one colour per model
    by the templates in ``.dvc/plots/``. Calibration bins without rows are left out.
    """
    reports.mkdir(parents=True, exist_ok=True)
    (reports / PLOTS_DIR).mkdir(exist_ok=True)
    test = preds.loc[preds["block"].eq("test").fillna(False).to_numpy(dtype=bool)]
    roc, cal, pak, roc_grid = [], [], [], []
    ks = np.unique(np.linspace(10, max(capacity * 5, 50), 50).round().astype(np.int64))
    for name in MODEL_NAMES:
        rows = test.loc[test[name].notna()]
        if rows.empty:
            continue
        y, p, d = rows["label"].to_numpy(), rows[name].to_numpy(), rows["as_of_date"].to_numpy()
        points = roc_points(y, p, max_points=len(rows) + 1)
        roc.append(roc_points(y, p).assign(model=name))
        # The ROC's upper envelope at each grid rate (ties in fpr: the highest tpr).
        env = points.groupby("fpr", sort=True)["tpr"].max()
        tpr = np.interp(FPR_GRID, env.index.to_numpy(), env.to_numpy())
        roc_grid.append(pd.DataFrame({"model": name, "fpr": FPR_GRID, "tpr": tpr}))
        table = calibration_table(y, p)
        cal.append(table.loc[table["n"] > 0].assign(model=name))
        pak.append(precision_at_k(y, p, d, ks).assign(model=name))
    paths = []
    for frame, stem in ((roc, "roc"), (cal, "calibration"), (pak, "precision_at_k")):
        path = reports / f"{stem}.csv"
        pd.concat(frame, ignore_index=True).round(5).to_csv(path, index=False)
        paths.append(path)
    for frame, stem, cols in (
        (roc_grid, "roc", ["model", "fpr", "tpr"]),
        (cal, "calibration", ["model", "n", "mean_predicted", "observed"]),
        (pak, "precision_at_k", ["model", "k", "precision"]),
    ):
        path = reports / PLOTS_DIR / f"{stem}.csv"
        pd.concat(frame, ignore_index=True).loc[:, cols].round(5).to_csv(path, index=False)
        paths.append(path)
    return paths


def headline_metrics(metrics: dict[str, Any]) -> dict[str, float]:
    """The figures ``metrics/model.json`` keeps: the risk model's out-of-time AUC, Brier score
    and calibration error, and the AUC of the OGRS3-style and RFG baselines.

    ``dvc metrics show`` puts every file's keys side by side on one line, and the whole
    table must fit 160 columns: these five take about 45 of them. Everything else
    (log loss, slope, precision at capacity, the oracle, the calibration dates) is in
    ``reports/model/evaluation.json`` and the model card.
    """
    test = metrics["test"]
    m = test["risk_model"]
    out = {"auc": m["auc"], "brier": m["brier"], "ece": m["ece"]}
    for name in ("ogrs3", "rfg"):
        if name in test:
            out[f"auc_{name}"] = test[name]["auc"]
    return {k: round(float(v), 4) for k, v in out.items()}


def _log_run(result: TrainResult, params: TrainParams, metrics: Path, reports: Path) -> None:
    """Params, aggregate metrics and report files of the training run (nothing row-level)."""
    import mlflow

    from pipelines.tracking import flatten_numbers

    mlflow.log_params({k: str(v)[:500] for k, v in params.model_dump().items()})
    numbers = flatten_numbers(
        {k: result.metrics[k] for k in ("test", "calib", "model") if k in result.metrics}
    )
    mlflow.log_metrics({k.replace("@", "_"): v for k, v in numbers.items()})
    mlflow.log_artifact(str(metrics), artifact_path="metrics")
    for path in sorted(reports.glob("*.png")) + sorted(reports.glob("*.csv")) + [reports / "evaluation.json"]:
        mlflow.log_artifact(str(path), artifact_path="reports")


def register(
    result: TrainResult,
    params: TrainParams,
    out: Path,
    metrics: Path,
    reports: Path,
    area: str = AREA,
    log_mlflow: bool = True,
) -> dict[str, Any]:
    """Register the saved model (or reuse the version with its fingerprint); the record."""
    fingerprint = model_fingerprint(out)
    # The last as-of date whose rows grew the trees (the validation dates too when refitted).
    seen = result.split.valid if params.refit_on_valid and result.split.valid else result.split.train
    trained_on = seen[-1].date().isoformat()
    if not log_mlflow:
        return registration_record(params.register_name, "unregistered", None, fingerprint, trained_on, None)
    from models.risk_mlflow import register_model
    from pipelines.tracking import configure_mlflow

    configure_mlflow(area)
    # The card is logged to the version by stage `card`, after the audit (its verdicts).
    return register_model(
        out,
        result.model,
        fingerprint,
        trained_on,
        params.register_name,
        [],
        lambda: _log_run(result, params, metrics, reports),
    )


def write_evaluation(result: TrainResult, params: TrainParams, path: Path) -> Path:
    """``evaluation.json``: every figure, the split, the dates the trees learned from, the params.

    Not a DVC metric (too wide to read as one); the model card and the drift stage read it.
    """
    seen = result.split.valid if params.refit_on_valid and result.split.valid else []
    learned = [d.date().isoformat() for d in [*result.split.train, *seen]]
    record = {
        "metrics": result.metrics,
        "learned_from_dates": learned,
        "params": params.model_dump(mode="json"),
        # The card's evidence section (models.card_evidence): the setting used, and the
        # measured proven/recorded x recording-bias comparison, as Markdown and as data.
        "limits_extra": [evidence_markdown(str(result.metrics["model"].get("evidence", "proven")))],
        "evidence_comparison": load_comparison(),
    }
    path.write_text(json.dumps(record, indent=2, default=str) + "\n", encoding="utf-8")
    return path


def run(
    features: Path,
    persons: Path,
    out: Path,
    metrics: Path,
    reports: Path,
    params_path: Path = DEFAULT_PARAMS,
    truth_dir: Path | None = None,
    reid: Path = Path("data/reid"),
) -> dict[str, Any]:
    """Train, evaluate and explain the risk model; write its outputs; return the metrics.

    Identical inputs and params give byte-identical outputs (and reuse the registered
    version: :mod:`models.risk_mlflow`).
    """
    params = load_params("train", TrainParams, params_path)
    feature_params = load_params("features", FeatureParams, params_path)
    history_months, evidence = feature_params.history_months, feature_params.evidence
    frame = read_features(Path(features))
    people = pd.read_parquet(persons, columns=["pseudo_id", "sex", "ethnicity"])
    p_true = read_truth(frame, Path(truth_dir), Path(reid)) if truth_dir is not None else None
    engine = load_engine(Path(params_path))
    scorer, predictor = None, None
    if engine.is_spark:
        # The panel's risk, interval and reasons as `iom score` makes them on Spark, and the
        # model's risk of every labelled row, read from the features partitions by the executors.
        def scorer(model: RiskModel, panel: pd.DataFrame) -> pd.DataFrame:
            return score_people(model, panel, people, engine)

        def predictor(model: RiskModel, rows: pd.DataFrame) -> np.ndarray:
            return predict_people(model, rows, people, engine, Path(features))

    result = train_and_evaluate(frame, people, params, p_true, history_months, evidence, scorer, predictor)

    out, reports, metrics = Path(out), Path(reports), Path(metrics)
    result.model.save(out)
    write_parquet(result.scores, out / "scores.parquet")
    write_parquet(result.predictions, out / "predictions.parquet")
    metrics.parent.mkdir(parents=True, exist_ok=True)
    metrics.write_text(json.dumps(headline_metrics(result.metrics), indent=2) + "\n", encoding="utf-8")

    rows = frame.groupby("as_of_date").size()
    plot_split(result.split, reports / "splits.png", rows)
    write_plot_data(result.predictions, reports, params.capacity)
    test_rows = frame.loc[result.predictions.index[result.predictions["block"].eq("test").fillna(False)]]
    # TreeSHAP for the rows the plots draw only (the panel's own reasons are in scores).
    rng = np.random.default_rng(params.seed)
    X_test = model_matrix(test_rows, people, params, evidence)
    X_test = X_test.iloc[plot_rows(len(X_test), rng)]
    phi, _ = result.model.shap_values(X_test)
    plot_global(phi, X_test, reports, rng, history_months=history_months, sampled=True)
    write_evaluation(result, params, reports / "evaluation.json")
    from pipelines.tracking import area_near

    record = register(
        result,
        params,
        out,
        metrics,
        reports,
        area_near(Path(persons).parent, AREA),
        log_mlflow=mlflow_enabled(params_path),
    )
    (out / "registration.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    logger.info(
        "model %s v%s (fingerprint %s)", record["name"], record["version"], record["fingerprint"][:12]
    )
    return result.metrics
