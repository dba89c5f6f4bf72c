"""Panel-readable reasons from the risk model's SHAP values, and global explanation plots.

A reason reads ``4 proven offences in the last 12 months (+9 pts)``: the person's value,
the catalogue label and the feature's share of the calibrated risk in percentage points
(see :meth:`models.RiskModel.explain`). Static history (cannot change) and dynamic needs
(what supervision can work on) are listed apart: the top 3 raising and top 2 lowering
the risk in each.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from features.catalogue import specs_for_columns

logger = logging.getLogger(__name__)

MIN_POINTS = 0.5  # contributions that round to 0 pts are not reasons
N_UP = 3
N_DOWN = 2
REASON_COLUMNS = ("reasons_history_up", "reasons_history_down", "reasons_needs_up", "reasons_needs_down")


def _kinds_and_labels(columns: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    specs = specs_for_columns(columns)
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


def explain_reasons(
    points: pd.DataFrame, X: pd.DataFrame, n_up: int = N_UP, n_down: int = N_DOWN
) -> pd.DataFrame:
    """Reason strings per row: history and needs, raising and lowering the risk.

    Parameters
    ----------
    points
        Probability points per feature (from :meth:`RiskModel.explain`).
    X
        The feature values the points explain (same index and columns).

    Returns
    -------
    DataFrame
        ``reasons_history_up``, ``reasons_history_down``, ``reasons_needs_up``,
        ``reasons_needs_down``: ``; ``-joined reasons, empty when none.
    """
    columns = list(points.columns)
    kinds, labels, is_bool = _kinds_and_labels(columns)
    counts = np.array([c.startswith("n_") for c in columns])
    P = points.to_numpy(dtype=np.float64)
    V = X.loc[:, columns].astype("float64").to_numpy(dtype=np.float64, na_value=np.nan)
    rows = np.arange(len(P))
    out: dict[str, pd.Series] = {}
    for kind, name in (("static", "history"), ("dynamic", "needs")):
        cols = np.flatnonzero(kinds == kind)
        for sign, k, suffix in ((1.0, n_up, "up"), (-1.0, n_down, "down")):
            text = pd.Series([""] * len(P), dtype="str")
            if len(cols):
                signed = sign * P[:, cols]
                order = np.argsort(-signed, axis=1, kind="stable")[:, :k]
                for r in range(order.shape[1]):
                    j = cols[order[:, r]]
                    pts = P[rows, j]
                    keep = sign * pts >= MIN_POINTS
                    phrase = _phrase(V[rows, j], labels[j], is_bool[j], counts[j])
                    pts_txt = pd.Series(np.round(pts).astype(np.int64), dtype="int64").map("{:+d}".format)
                    reason = phrase + " (" + pts_txt + " pts)"
                    sep = np.where(text.str.len() > 0, "; ", "")
                    text = pd.Series(np.where(keep, text + sep + reason, text), dtype="str")
            out[f"reasons_{name}_{suffix}"] = text
    return pd.DataFrame(out).set_axis(points.index)


def plot_global(
    shap_values: np.ndarray,
    X: pd.DataFrame,
    folder: Path,
    rng: np.random.Generator,
    n_sample: int = 5000,
    n_dependence: int = 4,
) -> list[Path]:
    """Mean |SHAP| bar, beeswarm and dependence plots for the top features, as PNGs.

    Plots use the trees' log-odds SHAP values on a random sample of ``n_sample`` rows;
    labels are the catalogue's plain-English labels.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import shap

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    take = np.sort(rng.choice(len(X), size=min(n_sample, len(X)), replace=False))
    sv = shap_values[take]
    values = X.iloc[take].astype("float64")
    _, labels, _ = _kinds_and_labels(list(X.columns))
    names = [str(x) for x in labels]
    written = []
    for kind, path in (("bar", folder / "shap_bar.png"), ("dot", folder / "shap_beeswarm.png")):
        shap.summary_plot(
            sv, values.to_numpy(), feature_names=names, plot_type=kind, max_display=20, show=False
        )
        plt.gcf().set_size_inches(10, 8)
        plt.tight_layout()
        plt.savefig(path, dpi=90)
        plt.close("all")
        written.append(path)
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
