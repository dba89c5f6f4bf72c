"""Panel-readable reasons from the risk model's SHAP values, and global explanation plots.

A reason reads ``4 proven offences in the last 12 months (+9 pts)``: the person's value,
the catalogue label and the feature's share of the calibrated risk in percentage points
(see :meth:`models.RiskModel.explain`). The panel reads the top 3 raising and the top 2
lowering the risk, and the top 3 raising it among static history (cannot change) and
among dynamic needs (what supervision can work on), apart.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from features.catalogue import DEFAULT_HISTORY_MONTHS, specs_for_columns

logger = logging.getLogger(__name__)

MIN_POINTS = 0.5  # contributions that round to 0 pts are not reasons
N_UP = 3
N_DOWN = 2
N_CONTRIB = 8  # contributions listed per person in scores.parquet


def _kinds_and_labels(
    columns: Sequence[str], history_months: int = DEFAULT_HISTORY_MONTHS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # The history window is not in the column names: labels say "in the last 10 years"
    # only when the features really looked back that far.
    specs = specs_for_columns(columns, history_months)
    # Columns outside the catalogue (protected one-hots added by params) count as history.
    kinds = np.array([specs[c].kind if c in specs else "static" for c in columns], dtype=object)
    labels = np.array([specs[c].label if c in specs else c.replace("_", " ") for c in columns], dtype=object)
    is_bool = np.array([(specs[c].dtype == "bool") if c in specs else False for c in columns])
    return kinds, labels, is_bool


def _phrase(values: np.ndarray, labels: np.ndarray, is_bool: np.ndarray, counts: np.ndarray) -> pd.Series:
    """``4 proven offences ...`` for counts, the label / ``not`` label for flags, else ``label: v``."""
    v = pd.Series(values, dtype="float64")
    whole = v.round().eq(v)
    shown = v.round(2).astype("str").str.removesuffix(".0")
    shown = shown.where(~v.isna(), "unknown").where(
        ~whole | v.isna(), v.round().astype("Int64").astype("str")
    )
    lab = pd.Series(labels, dtype="str")
    flag = np.where(v.to_numpy() > 0, lab, "not " + lab)
    count = shown + " " + lab
    other = lab + ": " + shown
    return pd.Series(
        np.where(is_bool, flag, np.where(counts & ~v.isna().to_numpy(), count, other)), dtype="str"
    )


def _reason_text(
    P: np.ndarray,
    V: np.ndarray,
    cols: np.ndarray,
    sign: float,
    k: int,
    labels: np.ndarray,
    is_bool: np.ndarray,
    counts: np.ndarray,
) -> pd.Series:
    """The ``k`` reasons moving the risk most in direction ``sign`` among ``cols``, ``; ``-joined."""
    rows = np.arange(len(P))
    text = pd.Series([""] * len(P), dtype="str")
    if not len(cols):
        return text
    order = np.argsort(-sign * P[:, cols], axis=1, kind="stable")[:, :k]
    for r in range(order.shape[1]):
        j = cols[order[:, r]]
        pts = P[rows, j]
        keep = sign * pts >= MIN_POINTS
        phrase = _phrase(V[rows, j], labels[j], is_bool[j], counts[j])
        pts_txt = pd.Series(np.round(pts).astype(np.int64), dtype="int64").map("{:+d}".format)
        reason = phrase + " (" + pts_txt + " pts)"
        sep = np.where(text.str.len() > 0, "; ", "")
        text = pd.Series(np.where(keep, text + sep + reason, text), dtype="str")
    return text


def _matrices(points: pd.DataFrame, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    P = points.to_numpy(dtype=np.float64)
    V = X.loc[:, list(points.columns)].astype("float64").to_numpy(dtype=np.float64, na_value=np.nan)
    return P, V


def _json_number(x: np.ndarray, decimals: int) -> pd.Series:
    """Floats as JSON number text (``null`` for missing)."""
    s = pd.Series(np.round(x, decimals), dtype="float64")
    return s.astype("str").where(s.notna(), "null")


def contributions_json(
    points: pd.DataFrame,
    X: pd.DataFrame,
    n_top: int = N_CONTRIB,
    history_months: int = DEFAULT_HISTORY_MONTHS,
) -> pd.Series:
    """The ``n_top`` largest contributions per row as a JSON list (a string per row).

    Each item is ``{"feature", "label", "kind" (static|dynamic), "value", "points"}``,
    largest ``|points|`` first; ``points`` are probability points (0-100 scale) as in
    :meth:`RiskModel.explain`, so all features' points sum to ``100 * (risk - base)``.
    """
    columns = list(points.columns)
    kinds, labels, _ = _kinds_and_labels(columns, history_months)
    P, V = _matrices(points, X)
    rows = np.arange(len(P))
    k = min(n_top, len(columns))
    order = np.argsort(-np.abs(P), axis=1, kind="stable")[:, :k]
    head = np.array(
        [
            '{"feature": ' + json.dumps(c) + ', "label": ' + json.dumps(str(lab)) + ', "kind": "' + kd + '"'
            for c, lab, kd in zip(columns, labels, kinds, strict=True)
        ],
        dtype=object,
    )
    text = pd.Series(["["] * len(P), dtype="str")
    for r in range(k):
        j = order[:, r]
        item = (
            pd.Series(head[j], dtype="str")
            + ', "value": '
            + _json_number(V[rows, j], 4)
            + ', "points": '
            + _json_number(P[rows, j], 3)
            + "}"
        )
        text = text + (", " if r else "") + item
    return (text + "]").set_axis(points.index)


def panel_reasons(
    points: pd.DataFrame,
    X: pd.DataFrame,
    n_up: int = N_UP,
    n_down: int = N_DOWN,
    history_months: int = DEFAULT_HISTORY_MONTHS,
) -> pd.DataFrame:
    """The panel's reason columns (see docs/interfaces.md, ``scores.parquet``).

    Returns
    -------
    DataFrame
        ``reasons_up`` (top ``n_up`` raising the risk, any kind), ``reasons_down`` (top
        ``n_down`` lowering it), ``reasons_up_static`` (history, cannot change),
        ``reasons_up_dynamic`` (needs supervision can work on): ``; ``-joined, empty
        when none; and ``contributions`` (:func:`contributions_json`).
    """
    columns = list(points.columns)
    kinds, labels, is_bool = _kinds_and_labels(columns, history_months)
    counts = np.array([c.startswith("n_") for c in columns])
    P, V = _matrices(points, X)
    every = np.arange(len(columns))
    out = {
        "reasons_up": _reason_text(P, V, every, 1.0, n_up, labels, is_bool, counts),
        "reasons_down": _reason_text(P, V, every, -1.0, n_down, labels, is_bool, counts),
        "reasons_up_static": _reason_text(
            P, V, np.flatnonzero(kinds == "static"), 1.0, n_up, labels, is_bool, counts
        ),
        "reasons_up_dynamic": _reason_text(
            P, V, np.flatnonzero(kinds == "dynamic"), 1.0, n_up, labels, is_bool, counts
        ),
    }
    frame = pd.DataFrame(out).set_axis(points.index)
    frame["contributions"] = contributions_json(points, X, history_months=history_months)
    return frame


def _beeswarm(
    sv: np.ndarray,
    values: pd.DataFrame,
    names: list[str],
    path: Path,
    rng: np.random.Generator,
    top: int = 20,
) -> Path:
    """SHAP beeswarm of the ``top`` features, drawn here so that the jitter is seeded.

    (shap's own beeswarm shuffles with numpy's global generator: not reproducible.)
    """
    import matplotlib.pyplot as plt

    order = np.argsort(-np.abs(sv).mean(axis=0), kind="stable")[:top]
    fig, ax = plt.subplots(figsize=(10, 8))
    for pos, j in enumerate(order[::-1]):
        v = values.iloc[:, j].to_numpy(dtype=np.float64)
        # Colour is the value's rank within the feature (low blue, high red; grey unknown).
        rank = pd.Series(v).rank(pct=True).to_numpy()
        jitter = rng.uniform(-0.3, 0.3, size=len(v))
        known = ~np.isnan(v)
        ax.scatter(sv[~known, j], pos + jitter[~known], s=3, color="#bbbbbb", alpha=0.5)
        ax.scatter(
            sv[known, j], pos + jitter[known], s=3, c=rank[known], cmap="coolwarm", vmin=0, vmax=1, alpha=0.6
        )
    ax.axvline(0, color="grey", lw=0.5)
    ax.set_yticks(range(len(order)))
    ax.set_yticklabels([names[j] for j in order[::-1]], fontsize=8)
    ax.set_xlabel("SHAP value (log-odds); colour: feature value, low (blue) to high (red)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def plot_global(
    shap_values: np.ndarray,
    X: pd.DataFrame,
    folder: Path,
    rng: np.random.Generator,
    n_sample: int = 5000,
    n_dependence: int = 4,
    history_months: int = DEFAULT_HISTORY_MONTHS,
) -> list[Path]:
    """Mean |SHAP| bar, beeswarm and dependence plots for the top features, as PNGs.

    Drawn with matplotlib directly (shap's plots use numpy's global random state).

    Plots use the trees' log-odds SHAP values on a random sample of ``n_sample`` rows;
    labels are the catalogue's plain-English labels.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    take = np.sort(rng.choice(len(X), size=min(n_sample, len(X)), replace=False))
    sv = shap_values[take]
    values = X.iloc[take].astype("float64")
    _, labels, _ = _kinds_and_labels(list(X.columns), history_months)
    names = [str(x) for x in labels]
    written = []
    path = folder / "shap_bar.png"
    mean_abs = np.abs(sv).mean(axis=0)
    order = np.argsort(-mean_abs, kind="stable")[:20][::-1]
    fig, ax = plt.subplots(figsize=(10, 8))
    ax.barh(range(len(order)), mean_abs[order], color="#1f77b4")
    ax.set_yticks(range(len(order)))
    ax.set_yticklabels([names[j] for j in order], fontsize=8)
    ax.set_xlabel("mean |SHAP value| (log-odds)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    written.append(path)
    written.append(_beeswarm(sv, values, names, folder / "shap_beeswarm.png", rng))
    top = np.argsort(-np.abs(sv).mean(axis=0))[:n_dependence]
    for j in top:
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.scatter(values.iloc[:, j], sv[:, j], s=4, alpha=0.4)
        ax.axhline(0, color="grey", lw=0.5)
        ax.set_xlabel(names[j])
        ax.set_ylabel("SHAP value (log-odds)")
        ax.set_title(f"Dependence: {names[j]}", fontsize=9)
        fig.tight_layout()
        path = folder / f"shap_dependence_{X.columns[j]}.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        written.append(path)
    return written
