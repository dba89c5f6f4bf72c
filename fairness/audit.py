"""Group fairness measures of a risk score and its operational decisions, with bootstrap intervals.

Point estimates come from fairlearn's :class:`~fairlearn.metrics.MetricFrame` (one per
grouping and decision); the 95% intervals from a person-level (cluster) bootstrap that
is vectorised over people: each replicate is a vector of resampling counts per person,
and every group sum of every replicate is a matrix product of those counts with the
rows' values, so nothing loops over people.

Rules the audit applies (the analyst-facing wording is in :mod:`fairness.report`):

- A group with fewer than ``min_group_size`` people is *suppressed*: it appears in the
  tables with no numbers (a rate over 12 people can identify them), it is never a
  reference group, and it is left out of the between-group summaries.
- Disparities are ratios of a group's measure to the reference group's (the largest
  group of the grouping unless named). A ratio is *flagged* only when its whole 95%
  interval lies outside the band (default 0.8-1.25, the four-fifths rule): a point
  estimate outside the band whose interval still reaches into it is shown as
  *uncertain*, not flagged. The audit does not cry wolf on noise, and says so.
- A rate's interval is the wider of the bootstrap's and Wilson's score interval: the
  bootstrap alone is overconfident for rates built on a handful of events (and gives a
  zero-width interval for 0 of 80), which would flag small groups on noise.
- Gated measures (the ones that count for ``fairness.gate``): selection rate
  (demographic parity), false positive rate (the enforcement lens: people wrongly put
  forward for more control), false negative rate (the support lens: people who went on
  to reoffend but were not put forward for support) and observed/expected (calibration
  within the group, relative to the reference). The others are reported, not gated.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from fairlearn.metrics import MetricFrame, demographic_parity_ratio, equalized_odds_difference

logger = logging.getLogger(__name__)

SCORE_MEASURES = ("base_rate", "mean_risk", "obs_exp", "auc", "brier")
LABEL_FREE_SCORE_MEASURES = ("mean_risk",)
DECISION_MEASURES = ("selection_rate", "tpr", "fpr", "fnr", "precision", "fdr", "for")
LABEL_FREE_DECISION_MEASURES = ("selection_rate",)
RATIO_SCORE_MEASURES = ("base_rate", "mean_risk", "obs_exp")
GATED_MEASURES = ("fpr", "fnr", "obs_exp")
LENS = {
    "selection_rate": "demographic parity",
    "fpr": "intrusion: false positive parity",
    "fnr": "support: false negative parity",
    "obs_exp": "calibration within groups",
    "tpr": "true positive parity",
    "precision": "predictive parity",
    "fdr": "predictive parity",
    "for": "predictive parity",
    "base_rate": "base rate (not a model error)",
    "mean_risk": "mean predicted risk",
}
MEASURE_LABELS = {
    "size": "people",
    "n_rows": "person-dates",
    "base_rate": "base rate (reoffended)",
    "mean_risk": "mean predicted risk",
    "obs_exp": "observed / expected",
    "auc": "AUC",
    "brier": "Brier score",
    "selection_rate": "selection rate",
    "tpr": "true positive rate",
    "fpr": "false positive rate",
    "fnr": "false negative rate",
    "precision": "precision (PPV)",
    "fdr": "false discovery rate",
    "for": "false omission rate",
}
N_DECILES = 10


def metric_token(value: object) -> str:
    """A group or decision value as a token of an MLflow metric name (alphanumerics, ``_ - .``).

    Examples
    --------
    >>> metric_token("Not stated"), metric_token("50+"), metric_token("Black x M")
    ('Not_stated', '50plus', 'Black_x_M')
    """
    text = str(value).replace("+", "plus")
    return re.sub(r"[^0-9A-Za-z_\-]+", "_", text).strip("_") or "blank"


def measure_name(measure: str, grouping: str, group: object, decision: str | None = None) -> str:
    """Stable name of a measure, e.g. ``fpr_ratio.red.ethnicity.Black`` or ``auc.sex.F``."""
    parts = [measure, *([metric_token(decision)] if decision else []), metric_token(grouping)]
    return ".".join([*parts, metric_token(group)])


@dataclass(frozen=True)
class FairnessAudit:
    """The result of :func:`audit_fairness`.

    Attributes
    ----------
    by_group
        One row per grouping, group, decision ("" for score measures) and measure:
        ``value``, ``ci_low``, ``ci_high`` (95% bootstrap), ``size`` (people),
        ``suppressed``, ``reference`` and the stable metric ``name``. A suppressed group
        has a single row (measure ``size``) with no numbers.
    disparities
        One row per non-reference group, decision and measure: ``ratio`` to the reference
        group with its interval, ``status`` (pass, flag, uncertain, suppressed,
        not estimable), ``gated``, ``lens`` and ``name``.
    overall
        Between-group summaries per grouping and decision over the non-suppressed groups:
        fairlearn's ``equalized_odds_difference`` and ``demographic_parity_ratio``.
    calibration
        Observed rate and mean predicted risk by risk decile (cut on the whole audited
        population) within each non-suppressed group; cells under 10 rows are blanked.
    reference
        The reference group of each grouping.
    flagged
        Names of the gated disparities whose interval lies wholly outside the band.
    """

    by_group: pd.DataFrame
    disparities: pd.DataFrame
    overall: pd.DataFrame
    calibration: pd.DataFrame
    reference: dict[str, str]
    flagged: list[str]
    band: tuple[float, float]
    min_group_size: int
    labelled: bool
    decisions: list[str]
    n_bootstrap: int
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------
# Point estimates (fairlearn MetricFrame)


def _safe_div(num: float, den: float) -> float:
    return float(num) / float(den) if den > 0 else float("nan")


def _base_rate(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.mean(y)) if len(y) else float("nan")


def _mean_risk(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.mean(p)) if len(p) else float("nan")


def _obs_exp(y: np.ndarray, p: np.ndarray) -> float:
    return _safe_div(np.sum(y), np.sum(p))


def _auc(y: np.ndarray, p: np.ndarray) -> float:
    y = np.asarray(y, dtype=np.float64)
    n_pos, n_neg = y.sum(), (1 - y).sum()
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = pd.Series(np.asarray(p, dtype=np.float64)).rank(method="average").to_numpy()
    return float((ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _brier(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.mean((np.asarray(p, dtype=np.float64) - y) ** 2)) if len(y) else float("nan")


# Decision measures take counts: the rows are first collapsed to one row per group,
# outcome and decision with a count as ``sample_weight`` (MetricFrame then handles a
# few dozen rows whatever the population).


def _confusion(y: np.ndarray, d: np.ndarray, w: np.ndarray) -> tuple[float, float, float, float]:
    y = np.asarray(y, dtype=bool)
    d = np.asarray(d, dtype=bool)
    w = np.asarray(w, dtype=np.float64)
    return (
        float(np.sum(w[d & y])),
        float(np.sum(w[d & ~y])),
        float(np.sum(w[~d & y])),
        float(np.sum(w[~d & ~y])),
    )


def _selection_rate(y: np.ndarray, d: np.ndarray, sample_weight: np.ndarray) -> float:
    tp, fp, fn, tn = _confusion(y, d, sample_weight)
    return _safe_div(tp + fp, tp + fp + fn + tn)


def _tpr(y: np.ndarray, d: np.ndarray, sample_weight: np.ndarray) -> float:
    tp, _, fn, _ = _confusion(y, d, sample_weight)
    return _safe_div(tp, tp + fn)


def _fpr(y: np.ndarray, d: np.ndarray, sample_weight: np.ndarray) -> float:
    _, fp, _, tn = _confusion(y, d, sample_weight)
    return _safe_div(fp, fp + tn)


def _fnr(y: np.ndarray, d: np.ndarray, sample_weight: np.ndarray) -> float:
    tp, _, fn, _ = _confusion(y, d, sample_weight)
    return _safe_div(fn, tp + fn)


def _precision(y: np.ndarray, d: np.ndarray, sample_weight: np.ndarray) -> float:
    tp, fp, _, _ = _confusion(y, d, sample_weight)
    return _safe_div(tp, tp + fp)


def _fdr(y: np.ndarray, d: np.ndarray, sample_weight: np.ndarray) -> float:
    tp, fp, _, _ = _confusion(y, d, sample_weight)
    return _safe_div(fp, tp + fp)


def _for(y: np.ndarray, d: np.ndarray, sample_weight: np.ndarray) -> float:
    _, _, fn, tn = _confusion(y, d, sample_weight)
    return _safe_div(fn, fn + tn)


SCORE_FUNCS = {
    "base_rate": _base_rate,
    "mean_risk": _mean_risk,
    "obs_exp": _obs_exp,
    "auc": _auc,
    "brier": _brier,
}
DECISION_FUNCS = {
    "selection_rate": _selection_rate,
    "tpr": _tpr,
    "fpr": _fpr,
    "fnr": _fnr,
    "precision": _precision,
    "fdr": _fdr,
    "for": _for,
}


def _metric_frame(
    funcs: Mapping[str, Any], y: np.ndarray, pred: np.ndarray, groups: pd.Series
) -> pd.DataFrame:
    mf = MetricFrame(metrics=dict(funcs), y_true=y, y_pred=pred, sensitive_features=groups)
    table = mf.by_group
    table.index = table.index.astype(str)
    return table


def _decision_frame(
    funcs: Mapping[str, Any], y: np.ndarray, d: np.ndarray, groups: pd.Series
) -> pd.DataFrame:
    """MetricFrame of the decision measures over (group, outcome, decision) counts."""
    cells = (
        pd.DataFrame({"g": groups.to_numpy(), "y": y.astype(np.int8), "d": d.astype(np.int8)})
        .groupby(["g", "y", "d"], observed=True)
        .size()
        .rename("w")
        .reset_index()
    )
    w = cells["w"].to_numpy(dtype=np.float64)
    mf = MetricFrame(
        metrics=dict(funcs),
        y_true=cells["y"].to_numpy(),
        y_pred=cells["d"].to_numpy(),
        sensitive_features=cells["g"].rename(groups.name),
        sample_params={m: {"sample_weight": w} for m in funcs},
    )
    table = mf.by_group
    table.index = table.index.astype(str)
    return table


# ---------------------------------------------------------------------------------------
# Bootstrap: group sums for every replicate, vectorised over people


class _Bootstrap:
    """Resampling counts per person (cluster) for ``n_bootstrap`` replicates, in chunks."""

    def __init__(self, cluster: np.ndarray, n_bootstrap: int, seed: int, max_cells: int = 4_000_000):
        self.codes, uniques = pd.factorize(pd.Series(cluster), sort=False)
        self.n_clusters = len(uniques)
        self.n_bootstrap = n_bootstrap
        self.seed = seed
        self.chunk = max(1, min(n_bootstrap, max_cells // max(len(self.codes), 1)))

    def weights(self) -> Any:
        """Yield row weight matrices (replicates x rows): how often each row's person is drawn."""
        rng = np.random.default_rng(self.seed)
        c = self.n_clusters
        for start in range(0, self.n_bootstrap, self.chunk):
            b = min(self.chunk, self.n_bootstrap - start)
            draws = rng.integers(0, c, size=(b, c))
            keys = (draws + (np.arange(b) * c)[:, None]).ravel()
            counts = np.bincount(keys, minlength=b * c).reshape(b, c).astype(np.float64)
            yield counts[:, self.codes]


def _sums_by_group(W: np.ndarray, order: np.ndarray, starts: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Weighted column sums per group: (replicates, groups, columns).

    ``order`` sorts rows by group; ``starts`` are the group boundaries in that order.
    """
    Ws = W[:, order]
    Xs = X[order]
    bounds = [*starts.tolist(), len(order)]
    out = np.empty((W.shape[0], len(starts), X.shape[1]))
    for g in range(len(starts)):  # a loop over groups, not people
        lo, hi = bounds[g], bounds[g + 1]
        out[:, g, :] = Ws[:, lo:hi] @ Xs[lo:hi]
    return out


def _auc_by_group(
    W: np.ndarray, order: np.ndarray, starts: np.ndarray, y: np.ndarray, p: np.ndarray
) -> np.ndarray:
    """Weighted AUC per replicate and group (ties count one half): (replicates, groups)."""
    bounds = [*starts.tolist(), len(order)]
    out = np.full((W.shape[0], len(starts)), np.nan)
    for g in range(len(starts)):
        rows = order[bounds[g] : bounds[g + 1]]
        rows = rows[np.argsort(p[rows], kind="mergesort")]
        ps = p[rows]
        block_starts = np.flatnonzero(np.r_[True, ps[1:] != ps[:-1]])
        Wg = W[:, rows]
        pos = np.add.reduceat(Wg * y[rows], block_starts, axis=1)
        neg = np.add.reduceat(Wg * (1.0 - y[rows]), block_starts, axis=1)
        below = np.cumsum(neg, axis=1) - neg
        num = np.sum(pos * (below + 0.5 * neg), axis=1)
        den = pos.sum(axis=1) * neg.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[:, g] = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    return out


def _div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1.0), np.nan)


def _rates_from_sums(
    S: np.ndarray, cols: dict[str, int], decisions: Sequence[str], labelled: bool, scored: bool
) -> dict:
    """Every measure per (replicate, group) from the weighted sums."""
    n = S[..., cols["n"]]
    out: dict[tuple[str, str], np.ndarray] = {}
    if scored:
        out[("mean_risk", "")] = _div(S[..., cols["p"]], n)
    sy = S[..., cols["y"]]
    if labelled:
        out[("base_rate", "")] = _div(sy, n)
    if labelled and scored:
        out[("obs_exp", "")] = _div(sy, S[..., cols["p"]])
        out[("brier", "")] = _div(S[..., cols["sq"]], n)
    for k in decisions:
        s = S[..., cols[f"d:{k}"]]
        out[("selection_rate", k)] = _div(s, n)
        if labelled:
            tp = S[..., cols[f"tp:{k}"]]
            fp = s - tp
            fn = sy - tp
            neg = n - sy
            out[("tpr", k)] = _div(tp, sy)
            out[("fpr", k)] = _div(fp, neg)
            out[("fnr", k)] = _div(fn, sy)
            out[("precision", k)] = _div(tp, s)
            out[("fdr", k)] = _div(fp, s)
            out[("for", k)] = _div(fn, n - s)
    return out


def _interval(reps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """95% percentile interval over replicates (axis 0), ignoring replicates where undefined.

    A measure undefined in half the replicates or more has no interval.
    """
    reps = np.where(np.isfinite(reps), reps, np.nan)
    ok = np.isfinite(reps).sum(axis=0) >= max(2, int(np.ceil(0.5 * reps.shape[0])))
    safe = np.where(ok[None, ...], reps, 0.0)
    lo = np.nanpercentile(safe, 2.5, axis=0)
    hi = np.nanpercentile(safe, 97.5, axis=0)
    return np.where(ok, lo, np.nan), np.where(ok, hi, np.nan)


def _wilson(num: np.ndarray, den: np.ndarray, z: float = 1.959964) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score 95% interval of num / den (NaN where den is 0)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        phat = num / den
        centre = (phat + z**2 / (2 * den)) / (1 + z**2 / den)
        half = z * np.sqrt(phat * (1 - phat) / den + z**2 / (4 * den**2)) / (1 + z**2 / den)
    return np.where(den > 0, np.clip(centre - half, 0, 1), np.nan), np.where(
        den > 0, np.clip(centre + half, 0, 1), np.nan
    )


def _counts(S0: np.ndarray, cols: dict[str, int], decisions: Sequence[str]) -> dict:
    """Numerator and denominator of every rate per group (from unweighted sums)."""
    n, sy = S0[:, cols["n"]], S0[:, cols["y"]]
    out = {("base_rate", ""): (sy, n)}
    for k in decisions:
        s, tp = S0[:, cols[f"d:{k}"]], S0[:, cols[f"tp:{k}"]]
        out.update(
            {
                ("selection_rate", k): (s, n),
                ("tpr", k): (tp, sy),
                ("fnr", k): (sy - tp, sy),
                ("fpr", k): (s - tp, n - sy),
                ("precision", k): (tp, s),
                ("fdr", k): (s - tp, s),
                ("for", k): (sy - tp, n - s),
            }
        )
    return out


def _nan_extreme(values: np.ndarray, fn: Any) -> np.ndarray:
    """Row-wise nanmin/nanmax that returns NaN (without a warning) for an all-NaN row."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "All-NaN slice", RuntimeWarning)
        return np.asarray(fn(values, axis=1))


# ---------------------------------------------------------------------------------------
# The audit


def _as_frame(sensitive_features: pd.DataFrame | pd.Series, n: int) -> pd.DataFrame:
    frame = sensitive_features.to_frame() if isinstance(sensitive_features, pd.Series) else sensitive_features
    if len(frame) != n:
        raise ValueError(f"sensitive_features has {len(frame)} rows, the scores {n}")
    out = pd.DataFrame(index=pd.RangeIndex(n))
    for col in frame.columns:
        values = frame[col].astype("object").to_numpy()
        out[str(col)] = pd.Series(values).astype("string").fillna("(missing)").astype(str).to_numpy()
    return out


def _as_decisions(selected: Any, n: int) -> dict[str, np.ndarray]:
    if selected is None:
        return {}
    items = selected.items() if isinstance(selected, Mapping) else [("selected", selected)]
    out = {}
    for name, values in items:
        arr = np.asarray(values).astype(bool)
        if arr.shape != (n,):
            raise ValueError(f"selected[{name!r}] has shape {arr.shape}, expected ({n},)")
        out[str(name)] = arr
    return out


def _as_decisions_any(selected: Any) -> list[np.ndarray]:
    items = selected.values() if isinstance(selected, Mapping) else [selected]
    return [np.asarray(v) for v in items]


def _status(ratio: float, lo: float, hi: float, band: tuple[float, float]) -> str:
    if not np.isfinite(ratio) or not (np.isfinite(lo) and np.isfinite(hi)):
        return "not estimable"
    if hi < band[0] or lo > band[1]:
        return "flag"
    if ratio < band[0] or ratio > band[1]:
        return "uncertain"
    return "pass"


def audit_fairness(
    y_true: Any,
    y_score: Any,
    *,
    sensitive_features: pd.DataFrame | pd.Series,
    selected: Mapping[str, Any] | Any = None,
    reference_groups: Mapping[str, str] | None = None,
    band: tuple[float, float] = (0.8, 1.25),
    min_group_size: int = 50,
    n_bootstrap: int = 200,
    seed: int = 7,
    cluster: Any = None,
    gated: Sequence[str] = GATED_MEASURES,
    name_prefix: str = "",
    min_cell_size: int = 10,
) -> FairnessAudit:
    """Audit a risk score and its decisions across groups.

    Parameters
    ----------
    y_true
        The observed outcome (0/1), or None for a cohort without labels yet: then only
        the measures that need no label (size, mean predicted risk, selection rate).
    y_score
        Predicted probabilities (cast to float64), or None to audit decisions only (e.g.
        the panel's own overrides).
    sensitive_features
        One column per grouping (e.g. ethnicity, sex, age_band, ethnicity_x_sex); a Series
        is one grouping named after it. Missing values form the group ``(missing)``.
    selected
        The operational decisions: a mapping of decision name (e.g. ``red``,
        ``red_or_amber``) to a boolean array, or one boolean array (named ``selected``).
    reference_groups
        Reference group per grouping; the largest non-suppressed group by default.
    band
        Ratios inside ``[band[0], band[1]]`` pass (the four-fifths rule by default).
    min_group_size
        Groups with fewer people are suppressed (no numbers).
    n_bootstrap
        Bootstrap replicates for the 95% intervals (0: no intervals, nothing flagged).
    seed
        Seed of the bootstrap's random generator.
    cluster
        Person identifier per row: rows of the same person are resampled together and
        group sizes count people. Default: every row is its own person.
    gated
        The measures whose ratios count for the gate.
    name_prefix
        Prefixed to every stable name (e.g. ``panel.``), to tell several audits apart.
    """
    scored = y_score is not None
    if not scored and selected is None:
        raise ValueError("audit_fairness needs y_score or selected (or both)")
    n_rows = len(np.asarray(y_score)) if scored else len(next(iter(_as_decisions_any(selected))))
    p = np.asarray(y_score, dtype=np.float64) if scored else np.zeros(n_rows)
    n = len(p)
    labelled = y_true is not None
    y = np.asarray(y_true, dtype=np.float64) if labelled else np.zeros(n)
    if labelled and y.shape != (n,):
        raise ValueError(f"y_true has shape {y.shape}, y_score ({n},)")
    if labelled and not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("y_true must be 0/1 with no missing values")
    if np.isnan(p).any():
        raise ValueError("y_score has missing values")
    groups = _as_frame(sensitive_features, n)
    decisions = _as_decisions(selected, n)
    clusters = np.asarray(cluster) if cluster is not None else np.arange(n)
    reference_groups = dict(reference_groups or {})
    unknown = set(reference_groups) - set(groups.columns)
    if unknown:
        raise ValueError(f"reference_groups names groupings not audited: {sorted(unknown)}")
    score_measures: tuple[str, ...] = SCORE_MEASURES if labelled else LABEL_FREE_SCORE_MEASURES
    if not scored:
        score_measures = ()
    decision_measures = DECISION_MEASURES if labelled else LABEL_FREE_DECISION_MEASURES

    # Columns summed per group in the bootstrap.
    columns = {"n": np.ones(n), "y": y, "p": p, "sq": (p - y) ** 2}
    for k, d in decisions.items():
        columns[f"d:{k}"] = d.astype(np.float64)
        columns[f"tp:{k}"] = (d & (y == 1)).astype(np.float64)
    col_index = {c: i for i, c in enumerate(columns)}
    X = np.column_stack(list(columns.values()))

    # Decile of risk over the whole audited population, so cells compare across groups.
    cuts = np.quantile(p, np.linspace(0, 1, N_DECILES + 1)[1:-1]) if n else np.array([])
    decile = np.searchsorted(cuts, p, side="right")

    plan = []
    for grouping in groups.columns:
        labels = groups[grouping].to_numpy()
        codes, uniques = pd.factorize(pd.Series(labels), sort=True)
        uniq = [str(u) for u in uniques]
        sizes = pd.Series(clusters).groupby(codes).nunique().reindex(range(len(uniq)), fill_value=0)
        rows_per = np.bincount(codes, minlength=len(uniq))
        kept = [g for g in range(len(uniq)) if sizes.iloc[g] >= min_group_size]
        if grouping in reference_groups:
            ref_name = str(reference_groups[grouping])
            if ref_name not in uniq:
                raise ValueError(f"reference group {ref_name!r} of {grouping!r} not found; groups: {uniq}")
            ref = uniq.index(ref_name)
            if ref not in kept:
                raise ValueError(
                    f"reference group {ref_name!r} of {grouping!r} is below min_group_size "
                    f"({min_group_size}) and is suppressed; choose another"
                )
        else:
            ref = max(kept, key=lambda g: (sizes.iloc[g], rows_per[g])) if kept else -1
        order = np.argsort(codes, kind="mergesort")
        starts = np.searchsorted(codes[order], np.arange(len(uniq)))
        cell = codes * N_DECILES + decile
        c_order = np.argsort(cell, kind="mergesort")
        c_starts = np.searchsorted(cell[c_order], np.arange(len(uniq) * N_DECILES))
        plan.append(
            {
                "grouping": grouping,
                "labels": labels,
                "codes": codes,
                "uniq": uniq,
                "sizes": sizes.to_numpy(),
                "rows": rows_per,
                "kept": kept,
                "ref": ref,
                "order": order,
                "starts": starts,
                "c_order": c_order,
                "c_starts": c_starts,
            }
        )

    # Bootstrap replicates of every per-group measure.
    reps: list[dict[tuple[str, str], list[np.ndarray]]] = [{} for _ in plan]
    cal_reps: list[list[np.ndarray]] = [[] for _ in plan]
    if n_bootstrap > 0 and n > 0:
        boot = _Bootstrap(clusters, n_bootstrap, seed)
        for W in boot.weights():
            for i, pl in enumerate(plan):
                S = _sums_by_group(W, pl["order"], pl["starts"], X)
                for key, val in _rates_from_sums(S, col_index, list(decisions), labelled, scored).items():
                    reps[i].setdefault(key, []).append(val)
                if labelled and scored:
                    reps[i].setdefault(("auc", ""), []).append(
                        _auc_by_group(W, pl["order"], pl["starts"], y, p)
                    )
                    C = _sums_by_group(W, pl["c_order"], pl["c_starts"], X[:, [0, 1]])
                    cal_reps[i].append(_div(C[..., 1], C[..., 0]))
    rep_arrays = [{k: np.concatenate(v, axis=0) for k, v in r.items()} for r in reps]

    by_group_rows: list[dict[str, Any]] = []
    disparity_rows: list[dict[str, Any]] = []
    overall_rows: list[dict[str, Any]] = []
    calibration_rows: list[dict[str, Any]] = []
    reference: dict[str, str] = {}

    for i, pl in enumerate(plan):
        grouping, uniq, kept, ref = pl["grouping"], pl["uniq"], pl["kept"], pl["ref"]
        reference[grouping] = uniq[ref] if ref >= 0 else ""
        g_series = pd.Series(pl["labels"], name=grouping)
        point: dict[tuple[str, str], pd.Series] = {}
        if score_measures:
            score_table = _metric_frame({m: SCORE_FUNCS[m] for m in score_measures}, y, p, g_series)
            for m in score_measures:
                point[(m, "")] = score_table[m].reindex(uniq)
        for k, d in decisions.items():
            table = _decision_frame({m: DECISION_FUNCS[m] for m in decision_measures}, y, d, g_series)
            for m in decision_measures:
                point[(m, k)] = table[m].reindex(uniq)

        ci: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
        for key, arr in rep_arrays[i].items():
            ci[key] = _interval(arr)
        # The percentile bootstrap understates the uncertainty of a rate built on a handful of
        # events (2 false positives resample to at most 4 or 5), and a rate of 0 or 1 gives
        # every replicate the same value: a zero-width interval claiming certainty. So each
        # rate's interval is the wider of the bootstrap's and Wilson's (rows as trials), and
        # a ratio's interval is widened to the group's Wilson bounds over the reference rate.
        S0 = _sums_by_group(np.ones((1, n)), pl["order"], pl["starts"], X)[0]
        wilson: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
        for key, (num, den) in _counts(S0, col_index, list(decisions)).items():
            if key not in ci:
                continue
            w_lo, w_hi = _wilson(num, den)
            wilson[key] = (w_lo, w_hi)
            b_lo, b_hi = ci[key]
            ci[key] = (np.fmin(b_lo, w_lo), np.fmax(b_hi, w_hi))

        for g, name in enumerate(uniq):
            base = {
                "grouping": grouping,
                "group": name,
                "reference": g == ref,
            }
            if g not in kept:
                by_group_rows.append(
                    {
                        **base,
                        "decision": "",
                        "measure": "size",
                        "name": measure_name("size", grouping, name),
                        "value": np.nan,
                        "ci_low": np.nan,
                        "ci_high": np.nan,
                        "size": pd.NA,
                        "suppressed": True,
                    }
                )
                continue
            by_group_rows.append(
                {
                    **base,
                    "decision": "",
                    "measure": "size",
                    "name": measure_name("size", grouping, name),
                    "value": float(pl["sizes"][g]),
                    "ci_low": np.nan,
                    "ci_high": np.nan,
                    "size": int(pl["sizes"][g]),
                    "suppressed": False,
                }
            )
            for (m, k), series in point.items():
                ci_lo, ci_hi = ci.get((m, k), (None, None))
                by_group_rows.append(
                    {
                        **base,
                        "decision": k,
                        "measure": m,
                        "name": measure_name(m, grouping, name, k or None),
                        "value": float(series.iloc[g]),
                        "ci_low": float(ci_lo[g]) if ci_lo is not None else np.nan,
                        "ci_high": float(ci_hi[g]) if ci_hi is not None else np.nan,
                        "size": int(pl["sizes"][g]),
                        "suppressed": False,
                    }
                )

        # Ratios to the reference group.
        ratio_keys = [(m, "") for m in RATIO_SCORE_MEASURES if m in score_measures] + [
            (m, k) for k in decisions for m in decision_measures
        ]
        for g, name in enumerate(uniq):
            if g == ref:
                continue
            for m, k in ratio_keys:
                row = {
                    "grouping": grouping,
                    "group": name,
                    "reference": reference[grouping],
                    "decision": k,
                    "measure": m,
                    "lens": LENS.get(m, ""),
                    "name": measure_name(f"{m}_ratio", grouping, name, k or None),
                    "gated": m in gated,
                }
                if g not in kept or ref < 0:
                    disparity_rows.append(
                        {**row, "ratio": np.nan, "ci_low": np.nan, "ci_high": np.nan, "status": "suppressed"}
                    )
                    continue
                num, den = float(point[(m, k)].iloc[g]), float(point[(m, k)].iloc[ref])
                ratio = num / den if den > 0 and np.isfinite(num) else float("nan")
                lo = hi = float("nan")
                if (m, k) in rep_arrays[i]:
                    arr = rep_arrays[i][(m, k)]
                    with np.errstate(invalid="ignore", divide="ignore"):
                        r = np.where(
                            arr[:, ref] > 0, arr[:, g] / np.where(arr[:, ref] > 0, arr[:, ref], 1), np.nan
                        )
                    lo_a, hi_a = _interval(r[:, None])
                    lo, hi = float(lo_a[0]), float(hi_a[0])
                    if (m, k) in wilson and den > 0:
                        lo = float(np.fmin(lo, wilson[(m, k)][0][g] / den))
                        hi = float(np.fmax(hi, wilson[(m, k)][1][g] / den))
                disparity_rows.append(
                    {
                        **row,
                        "ratio": ratio,
                        "ci_low": lo,
                        "ci_high": hi,
                        "status": _status(ratio, lo, hi, band),
                    }
                )

        # Between-group summaries (fairlearn) over the non-suppressed groups.
        keep_mask = np.isin(pl["codes"], kept)
        if len(kept) >= 2:
            for k, d in decisions.items():
                cells = (
                    pd.DataFrame({"g": g_series[keep_mask].to_numpy(), "y": y[keep_mask], "d": d[keep_mask]})
                    .astype({"y": np.int8, "d": np.int8})
                    .groupby(["g", "y", "d"], observed=True)
                    .size()
                    .rename("w")
                    .reset_index()
                )
                args = (cells["y"].to_numpy(), cells["d"].to_numpy())
                kw = {"sensitive_features": cells["g"].to_numpy(), "sample_weight": cells["w"].to_numpy()}
                summaries = {"demographic_parity_ratio": demographic_parity_ratio(*args, **kw)}
                if labelled:
                    summaries["equalized_odds_difference"] = equalized_odds_difference(*args, **kw)
                for m, value in summaries.items():
                    lo = hi = float("nan")
                    if ("selection_rate", k) in rep_arrays[i]:
                        sel = rep_arrays[i][("selection_rate", k)][:, kept]
                        if m == "demographic_parity_ratio":
                            r = _div(_nan_extreme(sel, np.nanmin), _nan_extreme(sel, np.nanmax))
                        else:
                            tpr = rep_arrays[i][("tpr", k)][:, kept]
                            fpr = rep_arrays[i][("fpr", k)][:, kept]
                            r = np.fmax(
                                _nan_extreme(tpr, np.nanmax) - _nan_extreme(tpr, np.nanmin),
                                _nan_extreme(fpr, np.nanmax) - _nan_extreme(fpr, np.nanmin),
                            )
                        lo_a, hi_a = _interval(r[:, None])
                        lo, hi = float(lo_a[0]), float(hi_a[0])
                    overall_rows.append(
                        {
                            "grouping": grouping,
                            "decision": k,
                            "measure": m,
                            "name": f"{m}.{metric_token(k)}.{metric_token(grouping)}",
                            "value": float(value),
                            "ci_low": lo,
                            "ci_high": hi,
                            "n_groups": len(kept),
                        }
                    )

        # Calibration by risk decile within each non-suppressed group.
        if labelled and scored:
            cal_lo, cal_hi = _interval(np.concatenate(cal_reps[i], axis=0)) if cal_reps[i] else (None, None)
            cells = pd.DataFrame({"g": pl["codes"], "decile": decile, "y": y, "p": p})
            agg = cells.groupby(["g", "decile"]).agg(
                n=("y", "size"), observed=("y", "mean"), mean_risk=("p", "mean")
            )
            for (g, dcl), row in agg.iterrows():
                if g not in kept:
                    continue
                small = row["n"] < min_cell_size
                c = int(g) * N_DECILES + int(dcl)
                calibration_rows.append(
                    {
                        "grouping": grouping,
                        "group": uniq[int(g)],
                        "decile": int(dcl) + 1,
                        "n": pd.NA if small else int(row["n"]),
                        "mean_risk": np.nan if small else float(row["mean_risk"]),
                        "observed": np.nan if small else float(row["observed"]),
                        "ci_low": np.nan if small or cal_lo is None else float(cal_lo[c]),
                        "ci_high": np.nan if small or cal_hi is None else float(cal_hi[c]),
                    }
                )

    for frame_rows in (by_group_rows, disparity_rows, overall_rows):
        for row in frame_rows:
            row["name"] = name_prefix + row["name"]
    by_group = pd.DataFrame(by_group_rows)
    if not by_group.empty:
        by_group["size"] = by_group["size"].astype("Int64")
    disparities = pd.DataFrame(
        disparity_rows,
        columns=[
            "grouping", "group", "reference", "decision", "measure", "lens", "name", "gated",
            "ratio", "ci_low", "ci_high", "status",
        ],
    )  # fmt: skip
    overall = pd.DataFrame(
        overall_rows,
        columns=["grouping", "decision", "measure", "name", "value", "ci_low", "ci_high", "n_groups"],
    )
    calibration = pd.DataFrame(
        calibration_rows,
        columns=["grouping", "group", "decile", "n", "mean_risk", "observed", "ci_low", "ci_high"],
    )
    calibration["n"] = calibration["n"].astype("Int64")
    flagged = disparities.loc[disparities["status"].eq("flag") & disparities["gated"], "name"].tolist()
    notes = []
    if n_bootstrap <= 0:
        notes.append("No bootstrap: intervals are missing and nothing can be flagged.")
    return FairnessAudit(
        by_group=by_group,
        disparities=disparities,
        overall=overall,
        calibration=calibration,
        reference=reference,
        flagged=flagged,
        band=(float(band[0]), float(band[1])),
        min_group_size=min_group_size,
        labelled=labelled,
        decisions=list(decisions),
        n_bootstrap=n_bootstrap,
        notes=notes,
    )
