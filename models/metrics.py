"""Discrimination, calibration and panel-capacity metrics for reoffending probabilities."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score, roc_curve

EPS = 1e-6


def _clip(p: np.ndarray) -> np.ndarray:
    return np.clip(np.asarray(p, dtype=np.float64), EPS, 1 - EPS)


def expected_calibration_error(y: np.ndarray, p: np.ndarray, n_bins: int = 10) -> float:
    """ECE: the row-weighted mean |mean predicted - observed rate| over equal-width bins.

    Examples
    --------
    >>> expected_calibration_error(np.array([0, 1, 0, 1]), np.array([0.5, 0.5, 0.5, 0.5]))
    0.0
    """
    y = np.asarray(y, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    bins = np.minimum((p * n_bins).astype(np.int64), n_bins - 1)
    sum_p = np.bincount(bins, weights=p, minlength=n_bins)
    sum_y = np.bincount(bins, weights=y, minlength=n_bins)
    return float(np.abs(sum_p - sum_y).sum() / max(len(y), 1))


def calibration_table(y: np.ndarray, p: np.ndarray, n_bins: int = 10) -> pd.DataFrame:
    """Per equal-width bin: rows, mean predicted and observed rate (empty bins omitted)."""
    y = np.asarray(y, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    bins = np.minimum((p * n_bins).astype(np.int64), n_bins - 1)
    frame = pd.DataFrame({"bin": bins, "p": p, "y": y})
    out = frame.groupby("bin").agg(n=("y", "size"), mean_predicted=("p", "mean"), observed=("y", "mean"))
    return out.reset_index()


def calibration_slope_intercept(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    """Slope and intercept of the logistic recalibration ``logit P(y=1) = a + b logit(p)``.

    A perfectly calibrated model has slope 1 and intercept 0; slope < 1 means the
    predictions are too extreme (overfitting), > 1 too timid.
    """
    lp = _logit(_clip(p)).reshape(-1, 1)
    fit = LogisticRegression(C=np.inf, solver="lbfgs", max_iter=1000).fit(lp, np.asarray(y))
    return float(fit.coef_[0, 0]), float(fit.intercept_[0])


def _logit(p: np.ndarray) -> np.ndarray:
    return np.log(p) - np.log1p(-p)


def capacity_metrics(y: np.ndarray, p: np.ndarray, as_of: np.ndarray, capacity: int) -> tuple[float, float]:
    """Precision and recall when the ``capacity`` highest-risk people per as-of date are chosen.

    The panel can give the most intensive (red) tier to ``capacity`` people per date; the
    figures are averaged over dates, e.g. capacity 100 with 80 reoffending among them and
    400 reoffending in the cohort gives precision 0.8, recall 0.2.
    """
    frame = pd.DataFrame({"y": np.asarray(y, dtype=np.float64), "p": np.asarray(p), "d": as_of})
    rank = frame.groupby("d")["p"].rank(method="first", ascending=False)
    frame["tp"] = frame["y"].where(rank <= capacity, 0.0)
    frame["top"] = rank <= capacity
    per = frame.groupby("d").agg(tp=("tp", "sum"), pos=("y", "sum"), k=("top", "sum"))
    precision = (per["tp"] / per["k"].clip(lower=1)).mean()
    recall = (per["tp"] / per["pos"].where(per["pos"] > 0)).mean()
    return float(precision), float(recall)


def precision_at_k(y: np.ndarray, p: np.ndarray, as_of: np.ndarray, ks: np.ndarray) -> pd.DataFrame:
    """Mean precision over as-of dates of the top ``k`` per date, for each ``k``."""
    frame = pd.DataFrame({"y": np.asarray(y, dtype=np.float64), "p": np.asarray(p), "d": as_of})
    frame["rank"] = frame.groupby("d")["p"].rank(method="first", ascending=False).astype(np.int64)
    frame = frame.sort_values(["d", "rank"])
    frame["cum_y"] = frame.groupby("d")["y"].cumsum()
    at = frame.loc[frame["rank"].isin(ks)]
    prec = (at["cum_y"] / at["rank"]).groupby(at["rank"]).mean()
    return pd.DataFrame({"k": prec.index.astype(np.int64), "precision": prec.to_numpy()})


def score_predictions(
    y: np.ndarray, p: np.ndarray, as_of: np.ndarray, capacity: int, n_bins: int = 10
) -> dict[str, Any]:
    """All headline metrics for one set of predictions (floats rounded to 5 places)."""
    y = np.asarray(y, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    slope, intercept = calibration_slope_intercept(y, p)
    precision, recall = capacity_metrics(y, p, as_of, capacity)
    out = {
        "n": len(y),
        "prevalence": float(y.mean()),
        "auc": float(roc_auc_score(y, p)),
        "brier": float(brier_score_loss(y, p)),
        "log_loss": float(log_loss(y, _clip(p), labels=[0, 1])),
        "ece": expected_calibration_error(y, p, n_bins),
        "calibration_slope": slope,
        "calibration_intercept": intercept,
        "mean_predicted": float(p.mean()),
        f"precision_at_{capacity}": precision,
        f"recall_at_{capacity}": recall,
    }
    return {k: (round(v, 5) if isinstance(v, float) else v) for k, v in out.items()}


def roc_points(y: np.ndarray, p: np.ndarray, max_points: int = 200) -> pd.DataFrame:
    """ROC curve thinned to at most ``max_points`` points, for DVC plots."""
    fpr, tpr, _ = roc_curve(np.asarray(y), np.asarray(p, dtype=np.float64))
    keep = np.unique(np.linspace(0, len(fpr) - 1, min(max_points, len(fpr))).round().astype(np.int64))
    return pd.DataFrame({"fpr": fpr[keep], "tpr": tpr[keep]})
