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


def precision_difference_interval(
    y: np.ndarray,
    p_a: np.ndarray,
    p_b: np.ndarray,
    as_of: np.ndarray,
    persons: np.ndarray,
    capacity: int,
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> dict[str, float]:
    """Paired person bootstrap of precision at capacity: model ``a`` minus model ``b``.

    Each replicate gives every person a Poisson(1) weight (shared by all of their as-of
    dates and by both models, so the two lists are compared on the same people), then
    takes each model's top ``capacity`` per date by weight, in the model's own order, and
    recomputes both precisions. The list is re-selected in every replicate, so the
    interval covers the choice of who is at the top, not only the outcomes of a fixed
    list. Only the rows that can reach the top are read (the first ``2 capacity +
    10 sqrt(capacity) + 50`` of each date in each model's order: a replicate's top
    ``capacity`` lies further down only if those rows' weights sum below ``capacity``),
    so the cost does not grow with the cohort.

    Returns the observed difference, its bootstrap standard error, the percentile
    interval (``low``, ``high``) at ``level``, and ``share_below_zero`` (the share of
    replicates where ``a`` is below ``b``).

    Examples
    --------
    With 0.8 of ``a``'s top 100 and 0.7 of ``b``'s reoffending on one date, the
    difference is 0.1 and the interval is about +-0.12.
    """
    y = np.asarray(y, dtype=np.float64)
    as_of = np.asarray(as_of)
    depth = 2 * capacity + int(10 * np.sqrt(capacity)) + 50
    tops: list[list[np.ndarray]] = []
    for p in (np.asarray(p_a, dtype=np.float64), np.asarray(p_b, dtype=np.float64)):
        per_date = []
        for d in pd.unique(as_of):
            idx = np.flatnonzero(as_of == d)
            # Highest first; ties in row order, as capacity_metrics ranks them.
            order = idx[np.argsort(-p[idx], kind="stable")]
            per_date.append(order[:depth])
        tops.append(per_date)
    rows = np.unique(np.concatenate([o for per_date in tops for o in per_date]))
    codes, uniques = pd.factorize(pd.Series(np.asarray(persons)[rows]), sort=True)
    person_of = dict(zip(rows.tolist(), codes.tolist(), strict=True))
    rng = np.random.default_rng(seed)
    weights = rng.poisson(1.0, size=(n_boot, len(uniques))).astype(np.float32)

    def precision(per_date: list[np.ndarray]) -> tuple[np.ndarray, float]:
        boot, point = [], []
        for order in per_date:
            w = weights[:, [person_of[i] for i in order.tolist()]]
            cum = np.cumsum(w, axis=1)
            taken = np.clip(capacity - (cum - w), 0.0, w)
            boot.append((taken * y[order]).sum(axis=1) / np.maximum(np.minimum(cum[:, -1], capacity), 1.0))
            point.append(float(y[order[:capacity]].mean()) if len(order) else np.nan)
        return np.mean(boot, axis=0), float(np.mean(point))

    boot_a, point_a = precision(tops[0])
    boot_b, point_b = precision(tops[1])
    diff = boot_a - boot_b
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(diff, [tail, 1.0 - tail])
    return {
        "difference": round(point_a - point_b, 5),
        "se": round(float(diff.std(ddof=1)), 5),
        "low": round(float(low), 5),
        "high": round(float(high), 5),
        "level": level,
        "share_below_zero": round(float((diff < 0).mean()), 4),
        "n_boot": n_boot,
    }
