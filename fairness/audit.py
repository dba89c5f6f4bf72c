"""Group fairness measures of a risk score and its operational decisions, with bootstrap intervals.

The measures are declared once in :mod:`fairness.measures` (one record each: name,
label, lens, point and count functions); this module generates every per-group value,
ratio and interval from those records. Point estimates come from fairlearn's
:class:`~fairlearn.metrics.MetricFrame` (one per grouping and decision); the 95%
intervals from a person-level (cluster) bootstrap that is vectorised over people: each
replicate is a vector of resampling counts per person, and every group sum of every
replicate is a matrix product of those counts with the rows' values, so nothing loops
over people. Each measure's count function turns those sums into its rate.

Rules the audit applies (the analyst-facing wording is in :mod:`fairness.report`):

- A group with fewer than ``min_group_size`` people is *suppressed*: it appears in the
  tables with no numbers (a rate over 12 people can identify them), it is never a
  reference group, and it is left out of the between-group summaries.
- Disparities are ratios of a group's measure to the reference group's (the largest
  group of the grouping unless named). A ratio is *flagged* only when its whole 95%
  interval lies outside the band (default 0.8-1.25, the four-fifths rule), and *within
  band* only when its whole interval lies inside it; any other ratio (an interval that
  reaches across an edge of the band) is *not enough data*, whatever its point estimate.
  The audit neither cries wolf on noise nor calls a measure that says nothing a pass.
- A rate's interval is the wider of the bootstrap's and Wilson's score interval: the
  bootstrap alone is overconfident for rates built on a handful of events (and gives a
  zero-width interval for 0 of 80), which would flag small groups on noise.
- Gated measures (the ones that count for ``fairness.gate`` and decide the verdicts of
  :mod:`fairness.verdicts`) are chosen in params (``fairness.gated_measures``, by
  default the false positive and false negative rates) plus calibration
  (observed/expected); the others are reported, not gated.
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

from fairness.measures import (
    CALIBRATION_MEASURE,
    DEFAULT_GATED,
    Measure,
    auc_point,
    lens_of,
    measures_for,
)
from fairness.verdicts import interval_position

logger = logging.getLogger(__name__)

GATED_MEASURES = (*DEFAULT_GATED, CALIBRATION_MEASURE)
N_DECILES = 10
_auc = auc_point  # the plain (unweighted) AUC, kept under its old name for the known-answer tests


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
        group with its interval, ``status`` (flag, within band, not enough data,
        suppressed), ``gated``, ``lens`` and ``name``.
    overall
        Between-group summaries per grouping and decision over the non-suppressed groups:
        fairlearn's ``equalized_odds_difference`` and ``demographic_parity_ratio``.
    calibration
        Observed rate and mean predicted risk by risk decile (cut on the whole audited
        population) within each non-suppressed group; cells under ``min_cell_size`` rows are blanked.
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


def _metric_frame(
    measures: Sequence[Measure], y: np.ndarray, p: np.ndarray, groups: pd.Series
) -> pd.DataFrame:
    mf = MetricFrame(
        metrics={m.name: m.point for m in measures}, y_true=y, y_pred=p, sensitive_features=groups
    )
    table = mf.by_group
    table.index = table.index.astype(str)
    return table


def _decision_frame(
    measures: Sequence[Measure], y: np.ndarray, d: np.ndarray, groups: pd.Series
) -> pd.DataFrame:
    """MetricFrame of the decision measures over (group, outcome, decision) counts.

    The rows are first collapsed to one row per group, outcome and decision with a count
    as ``sample_weight``, so MetricFrame handles a few dozen rows whatever the population.
    """
    cells = (
        pd.DataFrame({"g": groups.to_numpy(), "y": y.astype(np.int8), "d": d.astype(np.int8)})
        .groupby(["g", "y", "d"], observed=True)
        .size()
        .rename("w")
        .reset_index()
    )
    w = cells["w"].to_numpy(dtype=np.float64)
    mf = MetricFrame(
        metrics={m.name: m.point for m in measures},
        y_true=cells["y"].to_numpy(),
        y_pred=cells["d"].to_numpy(),
        sensitive_features=cells["g"].rename(groups.name),
        sample_params={m.name: {"sample_weight": w} for m in measures},
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


class _GroupRows:
    """One grouping's rows sorted by group, with everything the replicates reuse.

    Built once per grouping, not per chunk of replicates: the chunks get smaller as the
    audited rows grow (``max_cells`` bounds a chunk's memory), so work repeated per
    chunk on every row (sorting the rows, gathering the values) grew with the square of
    the rows (the audit at 1,000,000 nominals: 6.6x the CPU of 200,000). Per chunk only
    the replicates' weights are gathered: linear in rows times replicates.

    ``order`` sorts rows by group; ``starts`` are the group boundaries in that order;
    ``X`` the columns to sum; ``y`` and ``p`` (outcome, score) for the weighted AUC.
    """

    def __init__(
        self,
        order: np.ndarray,
        starts: np.ndarray,
        X: np.ndarray,
        y: np.ndarray | None = None,
        p: np.ndarray | None = None,
    ):
        self.order = order
        self.n_groups = len(starts)
        self.bounds = [*starts.tolist(), len(order)]
        self.X = X[order]
        # Per group: its rows by ascending score, where each run of tied scores starts,
        # and the outcome (and its complement) of those rows.
        self.ranked: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        if y is not None and p is not None:
            for g in range(self.n_groups):
                rows = order[self.bounds[g] : self.bounds[g + 1]]
                rows = rows[np.argsort(p[rows], kind="mergesort")]
                ps = p[rows]
                block_starts = np.flatnonzero(np.r_[True, ps[1:] != ps[:-1]])
                self.ranked.append((rows, block_starts, y[rows], 1.0 - y[rows]))

    def sums(self, W: np.ndarray) -> np.ndarray:
        """Weighted column sums per group: (replicates, groups, columns)."""
        Ws = W[:, self.order]
        out = np.empty((W.shape[0], self.n_groups, self.X.shape[1]))
        for g in range(self.n_groups):  # a loop over groups, not people
            lo, hi = self.bounds[g], self.bounds[g + 1]
            out[:, g, :] = Ws[:, lo:hi] @ self.X[lo:hi]
        return out

    def auc(self, W: np.ndarray) -> np.ndarray:
        """Weighted AUC per replicate and group (ties count one half): (replicates, groups)."""
        if len(self.ranked) != self.n_groups:
            raise ValueError("this grouping was built without y and p: no AUC")
        out = np.full((W.shape[0], self.n_groups), np.nan)
        for g, (rows, block_starts, y_rows, not_y_rows) in enumerate(self.ranked):
            Wg = W[:, rows]
            pos = np.add.reduceat(Wg * y_rows, block_starts, axis=1)
            neg = np.add.reduceat(Wg * not_y_rows, block_starts, axis=1)
            below = np.cumsum(neg, axis=1) - neg
            num = np.sum(pos * (below + 0.5 * neg), axis=1)
            den = pos.sum(axis=1) * neg.sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                out[:, g] = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
        return out


def _sums_by_group(W: np.ndarray, order: np.ndarray, starts: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Weighted column sums per group: (replicates, groups, columns) (:meth:`_GroupRows.sums`)."""
    return _GroupRows(order, starts, X).sums(W)


def _auc_by_group(
    W: np.ndarray, order: np.ndarray, starts: np.ndarray, y: np.ndarray, p: np.ndarray
) -> np.ndarray:
    """Weighted AUC per replicate and group: (replicates, groups) (:meth:`_GroupRows.auc`)."""
    return _GroupRows(order, starts, np.empty((len(order), 0)), y, p).auc(W)


def _div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1.0), np.nan)


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


def _sum_views(S: np.ndarray, cols: Mapping[str, int], decision: str) -> dict[str, np.ndarray]:
    """The named sums a measure's count function reads, for one decision ("" for score measures)."""
    view = {c: S[..., cols[c]] for c in ("n", "y", "p", "sq")}
    if decision:
        view.update({"d": S[..., cols[f"d:{decision}"]], "tp": S[..., cols[f"tp:{decision}"]]})
    return view


def _keyed(data: _Data) -> list[tuple[Measure, str]]:
    """Every (measure, decision) the data supports that has a count function."""
    keys = [(m, "") for m in data.score_measures if m.counts is not None]
    return keys + [(m, k) for k in data.decisions for m in data.decision_measures]


def _rates_from_sums(S: np.ndarray, data: _Data) -> dict[tuple[str, str], np.ndarray]:
    """Every measure per (replicate, group) from the weighted sums, by its count function."""
    out = {}
    for m, k in _keyed(data):
        num, den = m.counts(_sum_views(S, data.cols, k))  # type: ignore[misc]
        out[(m.name, k)] = _div(num, den)
    return out


def _nan_extreme(values: np.ndarray, fn: Any) -> np.ndarray:
    """Row-wise nanmin/nanmax that returns NaN (without a warning) for an all-NaN row."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "All-NaN slice", RuntimeWarning)
        return np.asarray(fn(values, axis=1))


# ---------------------------------------------------------------------------------------
# Inputs: aligned, typed, named


def _pandas_index(name: str, value: Any) -> pd.Index | None:
    if isinstance(value, pd.Series | pd.DataFrame):
        return value.index
    return None


def _align(named: Mapping[str, Any]) -> dict[str, Any]:
    """Align pandas inputs on the first one's index; refuse when their indexes hold different labels.

    NumPy arrays and lists are taken in row order; pandas objects with the same labels
    in another order are reordered to match (as pandas' own arithmetic would).
    """
    indexed = {k: v for k, v in named.items() if _pandas_index(k, v) is not None}
    if not indexed:
        return dict(named)
    first, ref = next(iter(indexed.items()))
    out = dict(named)
    for key, value in indexed.items():
        index = value.index
        if index.equals(ref.index):
            continue
        if index.has_duplicates or ref.index.has_duplicates or len(index) != len(ref.index):
            same = False
        else:
            same = bool(index.sort_values().equals(ref.index.sort_values()))
        if not same:
            only_here = len(index.difference(ref.index))
            only_there = len(ref.index.difference(index))
            raise ValueError(
                f"audit_fairness: {key} and {first} are pandas objects with different indexes "
                f"({only_here} label(s) only in {key}, {only_there} only in {first}, "
                f"{len(index)} vs {len(ref.index)} rows); align them or pass NumPy arrays"
            )
        out[key] = value.reindex(ref.index)
    return out


def _as_frame(sensitive_features: Any, n: int, names: Sequence[str] | None) -> pd.DataFrame:
    """One string column per grouping; missing values form the group ``(missing)``."""
    if isinstance(sensitive_features, pd.Series):
        frame = sensitive_features.to_frame(name=sensitive_features.name or (names or ["group"])[0])
    elif isinstance(sensitive_features, pd.DataFrame):
        frame = sensitive_features
    else:
        arr = np.asarray(sensitive_features, dtype=object)
        arr = arr.reshape(-1, 1) if arr.ndim == 1 else arr
        if arr.ndim != 2:
            raise ValueError(f"sensitive_features has {arr.ndim} dimensions; pass 1 (one grouping) or 2")
        if names is None or len(names) != arr.shape[1]:
            raise ValueError(
                f"sensitive_features is an array with {arr.shape[1]} column(s): name them with "
                f"sensitive_names (got {None if names is None else list(names)})"
            )
        frame = pd.DataFrame(arr, columns=[str(n_) for n_ in names])
    if len(frame) != n:
        raise ValueError(f"sensitive_features has {len(frame)} rows, the scores {n}")
    out = pd.DataFrame(index=pd.RangeIndex(n))
    for col in frame.columns:
        values = frame[col].astype("object").to_numpy()
        out[str(col)] = pd.Series(values).astype("string").fillna("(missing)").astype(str).to_numpy()
    return out


def _as_bool(name: str, values: Any, n: int) -> np.ndarray:
    """A decision as a boolean array; anything but booleans (0/1, strings, missing) is refused."""
    if isinstance(values, pd.Series) and values.dtype == "boolean":
        if values.isna().any():
            raise ValueError(f"selected[{name!r}] has {int(values.isna().sum())} missing value(s)")
        values = values.astype(bool)
    arr = np.asarray(values)
    if arr.dtype != np.bool_:
        raise TypeError(
            f"selected[{name!r}] must be boolean (True = selected), got dtype {arr.dtype}; "
            "use fairness.top_k or fairness.top_share to turn scores into a decision"
        )
    if arr.shape != (n,):
        raise ValueError(f"selected[{name!r}] has shape {arr.shape}, expected ({n},)")
    return arr


def _decision_items(selected: Any) -> list[tuple[str, Any]]:
    if selected is None:
        return []
    if isinstance(selected, Mapping):
        return [(str(k), v) for k, v in selected.items()]
    return [("selected", selected)]


@dataclass(frozen=True)
class _Data:
    """The audit's inputs, checked: rows, groupings, decisions, and the bootstrap's columns."""

    y: np.ndarray
    p: np.ndarray
    groups: pd.DataFrame
    decisions: dict[str, np.ndarray]
    clusters: np.ndarray
    labelled: bool
    scored: bool
    X: np.ndarray
    cols: dict[str, int]
    decile: np.ndarray

    @property
    def n(self) -> int:
        return len(self.p)

    @property
    def score_measures(self) -> tuple[Measure, ...]:
        return measures_for("score", self.labelled, self.scored) if self.scored else ()

    @property
    def decision_measures(self) -> tuple[Measure, ...]:
        return measures_for("decision", self.labelled, self.scored)


def _prepare(
    y_true: Any,
    y_score: Any,
    sensitive_features: Any,
    selected: Any,
    cluster: Any,
    names: Sequence[str] | None,
) -> _Data:
    """Check and align the inputs; build the columns the bootstrap sums per group."""
    scored = y_score is not None
    if not scored and selected is None:
        raise ValueError("audit_fairness needs y_score or selected (or both)")
    items = _decision_items(selected)
    named: dict[str, Any] = {"y_score": y_score, "y_true": y_true, "sensitive_features": sensitive_features}
    named.update({f"selected[{k!r}]": v for k, v in items})
    named["cluster"] = cluster
    named = _align({k: v for k, v in named.items() if v is not None})
    n = len(np.asarray(named["y_score"])) if scored else len(np.asarray(named[f"selected[{items[0][0]!r}]"]))
    p = np.asarray(named["y_score"], dtype=np.float64) if scored else np.zeros(n)
    labelled = y_true is not None
    y = np.asarray(named["y_true"], dtype=np.float64) if labelled else np.zeros(n)
    if labelled and y.shape != (n,):
        raise ValueError(f"y_true has shape {y.shape}, y_score ({n},)")
    if labelled and not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("y_true must be 0/1 with no missing values")
    if np.isnan(p).any():
        raise ValueError("y_score has missing values")
    groups = _as_frame(named["sensitive_features"], n, names)
    decisions = {k: _as_bool(k, named[f"selected[{k!r}]"], n) for k, _ in items}
    clusters = np.asarray(named["cluster"]) if cluster is not None else np.arange(n)
    columns = {"n": np.ones(n), "y": y, "p": p, "sq": (p - y) ** 2}
    for k, d in decisions.items():
        columns[f"d:{k}"] = d.astype(np.float64)
        columns[f"tp:{k}"] = (d & (y == 1)).astype(np.float64)
    # Decile of risk over the whole audited population, so cells compare across groups.
    cuts = np.quantile(p, np.linspace(0, 1, N_DECILES + 1)[1:-1]) if n else np.array([])
    return _Data(
        y=y,
        p=p,
        groups=groups,
        decisions=decisions,
        clusters=clusters,
        labelled=labelled,
        scored=scored,
        X=np.column_stack(list(columns.values())),
        cols={c: i for i, c in enumerate(columns)},
        decile=np.searchsorted(cuts, p, side="right"),
    )


# ---------------------------------------------------------------------------------------
# The audit, step by step


@dataclass(frozen=True)
class _Plan:
    """One grouping: its groups, sizes, the kept (reported) groups, the reference, the row orders."""

    grouping: str
    labels: np.ndarray
    codes: np.ndarray
    uniq: list[str]
    sizes: np.ndarray
    kept: list[int]
    ref: int
    order: np.ndarray
    starts: np.ndarray
    c_order: np.ndarray
    c_starts: np.ndarray


def _plan_grouping(
    data: _Data, grouping: str, min_group_size: int, reference_groups: Mapping[str, str]
) -> _Plan:
    """Groups of one grouping, who is suppressed, and the reference group."""
    labels = data.groups[grouping].to_numpy()
    codes, uniques = pd.factorize(pd.Series(labels), sort=True)
    uniq = [str(u) for u in uniques]
    sizes = pd.Series(data.clusters).groupby(codes).nunique().reindex(range(len(uniq)), fill_value=0)
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
    cell = codes * N_DECILES + data.decile
    c_order = np.argsort(cell, kind="mergesort")
    return _Plan(
        grouping=grouping,
        labels=labels,
        codes=codes,
        uniq=uniq,
        sizes=sizes.to_numpy(),
        kept=kept,
        ref=ref,
        order=order,
        starts=np.searchsorted(codes[order], np.arange(len(uniq))),
        c_order=c_order,
        c_starts=np.searchsorted(cell[c_order], np.arange(len(uniq) * N_DECILES)),
    )


def _bootstrap(
    data: _Data, plans: Sequence[_Plan], n_bootstrap: int, seed: int
) -> tuple[list[dict[tuple[str, str], np.ndarray]], list[np.ndarray | None]]:
    """Bootstrap replicates of every per-group measure, and of the calibration cells, per grouping."""
    reps: list[dict[tuple[str, str], list[np.ndarray]]] = [{} for _ in plans]
    cal_reps: list[list[np.ndarray]] = [[] for _ in plans]
    with_auc = data.labelled and data.scored
    if n_bootstrap > 0 and data.n > 0:
        # Sorted once per grouping; each chunk of replicates only gathers its weights.
        groups = [
            _GroupRows(pl.order, pl.starts, data.X, *((data.y, data.p) if with_auc else ())) for pl in plans
        ]
        cells = [_GroupRows(pl.c_order, pl.c_starts, data.X[:, [0, 1]]) for pl in plans] if with_auc else []
        for W in _Bootstrap(data.clusters, n_bootstrap, seed).weights():
            for i in range(len(plans)):
                S = groups[i].sums(W)
                for key, val in _rates_from_sums(S, data).items():
                    reps[i].setdefault(key, []).append(val)
                if with_auc:
                    reps[i].setdefault(("auc", ""), []).append(groups[i].auc(W))
                    C = cells[i].sums(W)
                    cal_reps[i].append(_div(C[..., 1], C[..., 0]))
    arrays = [{k: np.concatenate(v, axis=0) for k, v in r.items()} for r in reps]
    return arrays, [np.concatenate(c, axis=0) if c else None for c in cal_reps]


def _point_estimates(data: _Data, pl: _Plan) -> dict[tuple[str, str], pd.Series]:
    """Every measure per group (fairlearn MetricFrame), keyed by (measure, decision)."""
    g_series = pd.Series(pl.labels, name=pl.grouping)
    point: dict[tuple[str, str], pd.Series] = {}
    if data.score_measures:
        table = _metric_frame(data.score_measures, data.y, data.p, g_series)
        for m in data.score_measures:
            point[(m.name, "")] = table[m.name].reindex(pl.uniq)
    for k, d in data.decisions.items():
        table = _decision_frame(data.decision_measures, data.y, d, g_series)
        for m in data.decision_measures:
            point[(m.name, k)] = table[m.name].reindex(pl.uniq)
    return point


def _intervals(
    data: _Data, pl: _Plan, reps: Mapping[tuple[str, str], np.ndarray]
) -> tuple[
    dict[tuple[str, str], tuple[np.ndarray, np.ndarray]], dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]
]:
    """95% intervals per measure and group: the bootstrap's, widened to Wilson's for rates.

    The percentile bootstrap understates the uncertainty of a rate built on a handful of
    events (2 false positives resample to at most 4 or 5), and a rate of 0 or 1 gives
    every replicate the same value: a zero-width interval claiming certainty. So each
    rate's interval is the wider of the bootstrap's and Wilson's (rows as trials).
    Returns the intervals and the Wilson bounds (used again for the ratios).
    """
    ci = {key: _interval(arr) for key, arr in reps.items()}
    S0 = _sums_by_group(np.ones((1, data.n)), pl.order, pl.starts, data.X)[0]
    wilson: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
    for m, k in _keyed(data):
        if not m.wilson or (m.name, k) not in ci:
            continue
        num, den = m.counts(_sum_views(S0, data.cols, k))  # type: ignore[misc]
        w_lo, w_hi = _wilson(num, den)
        wilson[(m.name, k)] = (w_lo, w_hi)
        b_lo, b_hi = ci[(m.name, k)]
        ci[(m.name, k)] = (np.fmin(b_lo, w_lo), np.fmax(b_hi, w_hi))
    return ci, wilson


def _by_group_rows(
    pl: _Plan,
    point: Mapping[tuple[str, str], pd.Series],
    ci: Mapping[tuple[str, str], tuple[np.ndarray, np.ndarray]],
) -> list[dict[str, Any]]:
    """One row per group and measure; a suppressed group has one row, without numbers."""
    rows: list[dict[str, Any]] = []
    for g, name in enumerate(pl.uniq):
        base = {"grouping": pl.grouping, "group": name, "reference": g == pl.ref}
        kept = g in pl.kept
        rows.append(
            {
                **base,
                "decision": "",
                "measure": "size",
                "name": measure_name("size", pl.grouping, name),
                "value": float(pl.sizes[g]) if kept else np.nan,
                "ci_low": np.nan,
                "ci_high": np.nan,
                "size": int(pl.sizes[g]) if kept else pd.NA,
                "suppressed": not kept,
            }
        )
        if not kept:
            continue
        for (m, k), series in point.items():
            lo, hi = ci.get((m, k), (None, None))
            rows.append(
                {
                    **base,
                    "decision": k,
                    "measure": m,
                    "name": measure_name(m, pl.grouping, name, k or None),
                    "value": float(series.iloc[g]),
                    "ci_low": float(lo[g]) if lo is not None else np.nan,
                    "ci_high": float(hi[g]) if hi is not None else np.nan,
                    "size": int(pl.sizes[g]),
                    "suppressed": False,
                }
            )
    return rows


def _ratio_interval(
    arr: np.ndarray, g: int, ref: int, den: float, wilson: tuple[np.ndarray, np.ndarray] | None
) -> tuple[float, float]:
    """The ratio's bootstrap interval (ratio per replicate), widened to the group's Wilson bounds over the
    reference rate."""
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(arr[:, ref] > 0, arr[:, g] / np.where(arr[:, ref] > 0, arr[:, ref], 1), np.nan)
    lo_a, hi_a = _interval(r[:, None])
    lo, hi = float(lo_a[0]), float(hi_a[0])
    if wilson is not None and den > 0:
        lo = float(np.fmin(lo, wilson[0][g] / den))
        hi = float(np.fmax(hi, wilson[1][g] / den))
    return lo, hi


def _disparity_rows(
    data: _Data,
    pl: _Plan,
    point: Mapping[tuple[str, str], pd.Series],
    reps: Mapping[tuple[str, str], np.ndarray],
    wilson: Mapping[tuple[str, str], tuple[np.ndarray, np.ndarray]],
    band: tuple[float, float],
    gated: Sequence[str],
) -> list[dict[str, Any]]:
    """Ratios to the reference group, with intervals and status, for every ratio measure."""
    reference = pl.uniq[pl.ref] if pl.ref >= 0 else ""
    keys = [(m.name, "") for m in data.score_measures if m.ratio] + [
        (m.name, k) for k in data.decisions for m in data.decision_measures if m.ratio
    ]
    rows: list[dict[str, Any]] = []
    for g, name in enumerate(pl.uniq):
        if g == pl.ref:
            continue
        for m, k in keys:
            row = {
                "grouping": pl.grouping,
                "group": name,
                "reference": reference,
                "decision": k,
                "measure": m,
                "lens": lens_of(m),
                "name": measure_name(f"{m}_ratio", pl.grouping, name, k or None),
                "gated": m in gated,
            }
            if g not in pl.kept or pl.ref < 0:
                rows.append(
                    {**row, "ratio": np.nan, "ci_low": np.nan, "ci_high": np.nan, "status": "suppressed"}
                )
                continue
            num, den = float(point[(m, k)].iloc[g]), float(point[(m, k)].iloc[pl.ref])
            ratio = num / den if den > 0 and np.isfinite(num) else float("nan")
            lo = hi = float("nan")
            if (m, k) in reps:
                lo, hi = _ratio_interval(reps[(m, k)], g, pl.ref, den, wilson.get((m, k)))
            rows.append(
                {**row, "ratio": ratio, "ci_low": lo, "ci_high": hi, "status": _status(ratio, lo, hi, band)}
            )
    return rows


def _overall_rows(data: _Data, pl: _Plan, reps: Mapping[tuple[str, str], np.ndarray]) -> list[dict[str, Any]]:
    """fairlearn's between-group summaries over the non-suppressed groups, with bootstrap intervals."""
    if len(pl.kept) < 2:
        return []
    keep_mask = np.isin(pl.codes, pl.kept)
    rows = []
    for k, d in data.decisions.items():
        cells = (
            pd.DataFrame({"g": pl.labels[keep_mask], "y": data.y[keep_mask], "d": d[keep_mask]})
            .astype({"y": np.int8, "d": np.int8})
            .groupby(["g", "y", "d"], observed=True)
            .size()
            .rename("w")
            .reset_index()
        )
        args = (cells["y"].to_numpy(), cells["d"].to_numpy())
        kw = {"sensitive_features": cells["g"].to_numpy(), "sample_weight": cells["w"].to_numpy()}
        summaries = {"demographic_parity_ratio": demographic_parity_ratio(*args, **kw)}
        if data.labelled:
            summaries["equalized_odds_difference"] = equalized_odds_difference(*args, **kw)
        for m, value in summaries.items():
            lo = hi = float("nan")
            if ("selection_rate", k) in reps:
                sel = reps[("selection_rate", k)][:, pl.kept]
                if m == "demographic_parity_ratio":
                    r = _div(_nan_extreme(sel, np.nanmin), _nan_extreme(sel, np.nanmax))
                else:
                    tpr = reps[("tpr", k)][:, pl.kept]
                    fpr = reps[("fpr", k)][:, pl.kept]
                    r = np.fmax(
                        _nan_extreme(tpr, np.nanmax) - _nan_extreme(tpr, np.nanmin),
                        _nan_extreme(fpr, np.nanmax) - _nan_extreme(fpr, np.nanmin),
                    )
                lo_a, hi_a = _interval(r[:, None])
                lo, hi = float(lo_a[0]), float(hi_a[0])
            rows.append(
                {
                    "grouping": pl.grouping,
                    "decision": k,
                    "measure": m,
                    "name": f"{m}.{metric_token(k)}.{metric_token(pl.grouping)}",
                    "value": float(value),
                    "ci_low": lo,
                    "ci_high": hi,
                    "n_groups": len(pl.kept),
                }
            )
    return rows


def _calibration_rows(
    data: _Data, pl: _Plan, cal_reps: np.ndarray | None, min_cell_size: int
) -> list[dict[str, Any]]:
    """Observed rate and mean predicted risk by risk decile within each non-suppressed group."""
    if not (data.labelled and data.scored):
        return []
    cal_lo, cal_hi = _interval(cal_reps) if cal_reps is not None else (None, None)
    cells = pd.DataFrame({"g": pl.codes, "decile": data.decile, "y": data.y, "p": data.p})
    agg = cells.groupby(["g", "decile"]).agg(n=("y", "size"), observed=("y", "mean"), mean_risk=("p", "mean"))
    rows = []
    for (g, dcl), row in agg.iterrows():  # a loop over (group, decile) cells, not people
        if g not in pl.kept:
            continue
        small = row["n"] < min_cell_size
        c = int(g) * N_DECILES + int(dcl)
        rows.append(
            {
                "grouping": pl.grouping,
                "group": pl.uniq[int(g)],
                "decile": int(dcl) + 1,
                "n": pd.NA if small else int(row["n"]),
                "mean_risk": np.nan if small else float(row["mean_risk"]),
                "observed": np.nan if small else float(row["observed"]),
                "ci_low": np.nan if small or cal_lo is None else float(cal_lo[c]),
                "ci_high": np.nan if small or cal_hi is None else float(cal_hi[c]),
            }
        )
    return rows


DISPARITY_COLUMNS = [
    "grouping", "group", "reference", "decision", "measure", "lens", "name", "gated",
    "ratio", "ci_low", "ci_high", "status",
]  # fmt: skip
OVERALL_COLUMNS = ["grouping", "decision", "measure", "name", "value", "ci_low", "ci_high", "n_groups"]
CALIBRATION_COLUMNS = ["grouping", "group", "decile", "n", "mean_risk", "observed", "ci_low", "ci_high"]


STATUSES = ("flag", "within band", "not enough data", "suppressed")


def _status(ratio: float, lo: float, hi: float, band: tuple[float, float]) -> str:
    """``flag`` (whole interval outside the band), ``within band`` (whole interval inside) or
    ``not enough data`` (the interval reaches across an edge, or there is none): the rule of
    :func:`fairness.verdicts.interval_position`, per ratio."""
    if not np.isfinite(ratio):
        return "not enough data"
    return {"outside": "flag", "inside": "within band"}.get(
        interval_position(lo, hi, band), "not enough data"
    )


def audit_fairness(
    y_true: Any,
    y_score: Any,
    *,
    sensitive_features: pd.DataFrame | pd.Series | np.ndarray,
    selected: Mapping[str, Any] | Any = None,
    sensitive_names: Sequence[str] | None = None,
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

    Inputs that are pandas objects are aligned by index (pandas objects whose indexes
    hold different labels are refused); NumPy arrays and lists are taken in row order.

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
        is one grouping named after it; a NumPy array (1-D or 2-D) needs
        ``sensitive_names``. Missing values form the group ``(missing)``.
    selected
        The operational decisions: a mapping of decision name (e.g. ``red``,
        ``red_or_amber``) to a boolean array, or one boolean array (named ``selected``).
        Anything but booleans is refused; :func:`fairness.top_k` and
        :func:`fairness.top_share` make a decision from scores.
    sensitive_names
        Names of the columns of a NumPy ``sensitive_features``.
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
    min_cell_size
        Calibration-by-decile cells with fewer rows are blanked.
    """
    data = _prepare(y_true, y_score, sensitive_features, selected, cluster, sensitive_names)
    reference_groups = dict(reference_groups or {})
    unknown = set(reference_groups) - set(data.groups.columns)
    if unknown:
        raise ValueError(f"reference_groups names groupings not audited: {sorted(unknown)}")
    plans = [_plan_grouping(data, g, min_group_size, reference_groups) for g in data.groups.columns]
    reps, cal_reps = _bootstrap(data, plans, n_bootstrap, seed)

    by_group_rows: list[dict[str, Any]] = []
    disparity_rows: list[dict[str, Any]] = []
    overall_rows: list[dict[str, Any]] = []
    calibration_rows: list[dict[str, Any]] = []
    for pl, rep, cal in zip(plans, reps, cal_reps, strict=True):
        point = _point_estimates(data, pl)
        ci, wilson = _intervals(data, pl, rep)
        by_group_rows += _by_group_rows(pl, point, ci)
        disparity_rows += _disparity_rows(data, pl, point, rep, wilson, band, gated)
        overall_rows += _overall_rows(data, pl, rep)
        calibration_rows += _calibration_rows(data, pl, cal, min_cell_size)

    for frame_rows in (by_group_rows, disparity_rows, overall_rows):
        for row in frame_rows:
            row["name"] = name_prefix + row["name"]
    by_group = pd.DataFrame(by_group_rows)
    if not by_group.empty:
        by_group["size"] = by_group["size"].astype("Int64")
    disparities = pd.DataFrame(disparity_rows, columns=DISPARITY_COLUMNS)
    calibration = pd.DataFrame(calibration_rows, columns=CALIBRATION_COLUMNS)
    calibration["n"] = calibration["n"].astype("Int64")
    flagged = disparities.loc[disparities["status"].eq("flag") & disparities["gated"], "name"].tolist()
    notes = ["No bootstrap: intervals are missing and nothing can be flagged."] if n_bootstrap <= 0 else []
    return FairnessAudit(
        by_group=by_group,
        disparities=disparities,
        overall=pd.DataFrame(overall_rows, columns=OVERALL_COLUMNS),
        calibration=calibration,
        reference={pl.grouping: (pl.uniq[pl.ref] if pl.ref >= 0 else "") for pl in plans},
        flagged=flagged,
        band=(float(band[0]), float(band[1])),
        min_group_size=min_group_size,
        labelled=data.labelled,
        decisions=list(data.decisions),
        n_bootstrap=n_bootstrap,
        notes=notes,
    )
