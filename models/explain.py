"""Panel-readable reasons from the risk model's SHAP values, and global explanation plots.

A reason is a *family*'s summed contribution with the one or two facts that carry it
(``features.reasons``): ``Long record: 68 recorded offences in the last 10 years, 26
proven offences in the last 10 years (+34 pts)``. Points are the features' shares of the
calibrated risk in percentage points (:meth:`models.RiskModel.explain`), summed within
each family, so the base risk plus every family's points is ``risk_12m`` exactly.

:func:`panel_reasons` writes, per person, each family's points (``points__<family>``)
and facts (``facts__<family>``), the age of the latest needs assessment, a JSON list of
the families for the pack (``contributions``), and the reason columns composed with the
default policy; the publish stage recomposes them with its own policy
(:func:`compose_reasons`: how many reasons, when an assessment is stale).
"""

from __future__ import annotations

import json
import logging
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.catalogue import (
    ALL_TIME,
    DEFAULT_HISTORY_MONTHS,
    TEMPLATES,
    history_phrase,
    specs_for_columns,
)
from features.reasons import FAMILIES, REASONS, ReasonTemplate, family_of

logger = logging.getLogger(__name__)

MIN_POINTS = 0.5  # contributions that round to 0 pts are not reasons
N_UP = 3
N_DOWN = 2
SECOND_FACT_POINTS = 0.5  # a second fact is named when it carries at least this much


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


@dataclass(frozen=True)
class ColumnReason:
    """How one model input reads: its reason template, family and window phrases."""

    column: str
    template: ReasonTemplate | None
    family: str
    window: str
    history: str
    is_bool: bool


def _window_phrase(suffix: str | None, history: str) -> str:
    if suffix is None or suffix == ALL_TIME:
        return history
    return f"in the last {int(suffix[:-1])} months"


def column_reasons(
    columns: Sequence[str], history_months: int = DEFAULT_HISTORY_MONTHS
) -> list[ColumnReason]:
    """The reason template and family of each column (``other`` for inputs outside the catalogue).

    Raises
    ------
    KeyError
        A catalogue feature has no reason record (declare it in ``features.reasons``).
    """
    h = history_phrase(history_months)
    specs = specs_for_columns(columns, history_months)
    patterns = []
    for tpl in TEMPLATES:
        pattern = re.escape(tpl.name).replace(r"\{w\}", r"(?P<w>\d+m|all)")
        patterns.append((re.compile(pattern + "$"), tpl.name))
    out = []
    for c in columns:
        if c not in specs:
            out.append(ColumnReason(c, None, "other", "", h, False))
            continue
        for rx, name in patterns:
            m = rx.match(c)
            if m:
                suffix = m.groupdict().get("w")
                if name not in REASONS:
                    raise KeyError(f"feature template {name!r} has no reason record in features/reasons.py")
                out.append(
                    ColumnReason(
                        c,
                        REASONS[name],
                        family_of(name, suffix),
                        _window_phrase(suffix, h),
                        h,
                        specs[c].dtype == "bool",
                    )
                )
                break
        else:  # pragma: no cover - every catalogue column comes from a template
            raise KeyError(f"column {c!r} matches no catalogue template")
    return out


def _plural(n: np.ndarray) -> np.ndarray:
    return np.where(n == 1, "", "s").astype(object)


def _days_text(d: np.ndarray) -> np.ndarray:
    """``12 days``, ``5 months``, ``8 years``: a panel reads months and years, not 2,923 days."""
    d = np.nan_to_num(d, nan=0.0)
    days = np.round(d).astype(np.int64)
    months = np.round(d / 30.44).astype(np.int64)
    years = np.floor(d / 365.25).astype(np.int64)
    return np.select(
        [days < 45, days < 730],
        [
            pd.Series(days).astype(str).to_numpy(dtype=object) + " day" + _plural(days),
            pd.Series(months).astype(str).to_numpy(dtype=object) + " month" + _plural(months),
        ],
        pd.Series(years).astype(str).to_numpy(dtype=object) + " year" + _plural(years),
    ).astype(object)


def _value_text(fmt: str, v: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``{v}``, ``{a}`` and ``{s}`` for each value (vectorised)."""
    safe = np.nan_to_num(v, nan=0.0)
    whole = np.round(safe).astype(np.int64)
    a = pd.Series(np.abs(whole)).astype(str).to_numpy(dtype=object)
    s = _plural(np.abs(whole))
    if fmt == "days":
        text = _days_text(safe)
    elif fmt == "years":
        text = _days_text(safe * 365.25)
    elif fmt == "share":
        text = pd.Series(np.round(100 * safe).astype(np.int64)).astype(str).to_numpy(dtype=object) + "%"
    elif fmt == "decimal":
        text = pd.Series(np.round(safe, 1)).map("{:.1f}".format).to_numpy(dtype=object)
    elif fmt == "level":
        text = np.where(whole >= 2, "significant", "some").astype(object)
    else:
        text = pd.Series(whole).astype(str).to_numpy(dtype=object)
    return text, a, s


def _fill(template: str, fields: dict[str, np.ndarray], n: int) -> np.ndarray:
    """``template`` with its placeholders filled element-wise (vectorised concatenation)."""
    out = np.full(n, "", dtype=object)
    for literal, field, _, _ in string.Formatter().parse(template):
        out = out + literal
        if field is not None:
            out = out + fields[field]
    return out


def render_facts(cr: ColumnReason, values: np.ndarray, points: np.ndarray) -> np.ndarray:
    """The fact each value states, in the record's wording (vectorised over people).

    The wording is chosen, in order: missing value; yes/no for a flag; zero; a fall
    (negative value); raise/lower wording by the sign of ``points``; the value wording.
    """
    n = len(values)
    if cr.template is None:
        return np.full(n, "", dtype=object)
    rec = cr.template
    v = np.asarray(values, dtype=np.float64)
    p = np.asarray(points, dtype=np.float64)
    text, a, s = _value_text(rec.fmt, v)
    fields = {
        "v": text,
        "a": a,
        "s": s,
        "w": np.full(n, cr.window, dtype=object),
        "h": np.full(n, cr.history, dtype=object),
    }
    missing = np.isnan(v)
    if cr.is_bool or (rec.yes and rec.no):
        choices = [(missing, rec.no), (v > 0, rec.yes)]
        default = rec.no
    else:
        choices = [
            (missing, rec.missing),
            (v == 0, rec.zero),
            (v < 0, rec.negative),
            (p > 0, rec.raise_),
            (p < 0, rec.lower),
        ]
        default = rec.value
    out = _fill(default, fields, n)
    taken = np.zeros(n, dtype=bool)
    for cond, tpl in choices:
        use = cond & ~taken
        if tpl and use.any():
            out = np.where(use, _fill(tpl, fields, n), out)
        if tpl:
            taken |= use
    return pd.Series(out, dtype="str").str.replace(r"\s+", " ", regex=True).str.strip().to_numpy(dtype=object)


def _matrices(points: pd.DataFrame, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    P = points.to_numpy(dtype=np.float64)
    V = X.loc[:, list(points.columns)].astype("float64").to_numpy(dtype=np.float64, na_value=np.nan)
    return P, V


def family_points(
    points: pd.DataFrame, X: pd.DataFrame, history_months: int = DEFAULT_HISTORY_MONTHS
) -> pd.DataFrame:
    """Per person, each family's summed points (``points__<family>``) and its facts (``facts__<family>``).

    The facts are the one or two features that carry the family's points in its
    direction: the largest, and the second when it is at least :data:`SECOND_FACT_POINTS`
    and a fifth of the first. Families are those of :data:`features.reasons.FAMILIES`
    that have at least one input, in that order.
    """
    columns = list(points.columns)
    crs = column_reasons(columns, history_months)
    P, V = _matrices(points, X)
    n = len(P)
    rows = np.arange(n)
    out: dict[str, Any] = {}
    for key in FAMILIES:
        cols = np.array([j for j, cr in enumerate(crs) if cr.family == key], dtype=np.int64)
        if not len(cols):
            continue
        total = P[:, cols].sum(axis=1)
        sign = np.where(total >= 0, 1.0, -1.0)
        signed = P[:, cols] * sign[:, None]
        order = np.argsort(-signed, axis=1, kind="stable")[:, :2]
        facts = np.full(n, "", dtype=object)
        for rank in range(order.shape[1]):
            j = cols[order[:, rank]]
            s_pts = signed[rows, order[:, rank]]
            if rank == 0:
                keep = np.ones(n, dtype=bool)
            else:
                first = signed[rows, order[:, 0]]
                keep = (s_pts >= SECOND_FACT_POINTS) & (s_pts >= 0.2 * first)
            text = np.full(n, "", dtype=object)
            for col in np.unique(j[keep]):
                at = keep & (j == col)
                text[at] = render_facts(crs[col], V[at, col], P[at, col])
            sep = np.where((facts != "") & (text != ""), ", ", "")
            facts = facts + sep + text
        out[f"points__{key}"] = total
        out[f"facts__{key}"] = facts
    frame = pd.DataFrame(out, index=points.index)
    frame["assessment_days"] = (
        X["days_since_assessment"].astype("float64").to_numpy() if "days_since_assessment" in X else np.nan
    )
    return frame


def _families_in(frame: pd.DataFrame) -> list[str]:
    return [c.removeprefix("points__") for c in frame.columns if c.startswith("points__")]


def _pts_text(pts: np.ndarray) -> np.ndarray:
    whole = np.round(pts).astype(np.int64)
    return pd.Series(whole).map("{:+d}".format).to_numpy(dtype=object)


def _reason_texts(frame: pd.DataFrame, stale_days: float | None) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Each family's full reason text per person (heading, facts, points), and the points."""
    fams = _families_in(frame)
    F = frame[[f"points__{k}" for k in fams]].to_numpy(dtype=np.float64)
    days = frame["assessment_days"].to_numpy(dtype=np.float64) if "assessment_days" in frame else None
    texts = []
    for i, key in enumerate(fams):
        fam = FAMILIES[key]
        heading = np.where(F[:, i] >= 0, fam.raise_heading, fam.lower_heading).astype(object)
        facts = frame[f"facts__{key}"].astype("str").to_numpy(dtype=object)
        if fam.uses_assessment and stale_days is not None and days is not None:
            # Only facts read from the assessment are labelled (every needs template says
            # "assessment"/"assessed"); a housing record in the same family is not.
            from_assessment = pd.Series(facts, dtype="str").str.contains("assess").to_numpy()
            stale = (days > stale_days) & from_assessment
            heading = np.where(stale, heading + ", from an assessment " + _days_text(days) + " old", heading)
        body = np.where(facts != "", heading + ": " + facts, heading)
        texts.append(body + " (" + _pts_text(F[:, i]) + " pts)")
    return fams, np.array(texts, dtype=object).T.reshape(len(frame), len(fams)), F


def compose_reasons(
    frame: pd.DataFrame,
    n_up: int = N_UP,
    n_down: int = N_DOWN,
    stale_days: float | None = None,
) -> pd.DataFrame:
    """The reason columns from :func:`family_points` output (vectorised over people).

    Returns
    -------
    DataFrame
        ``reasons_up`` (the ``n_up`` families raising the estimate most),
        ``reasons_down`` (the ``n_down`` lowering it most), ``reasons_up_static``
        (history) and ``reasons_up_dynamic`` (needs that can change), ``; ``-joined,
        empty when none. Families under :data:`MIN_POINTS` are not reasons. Needs
        families whose assessment is older than ``stale_days`` say so.
    """
    fams, T, F = _reason_texts(frame, stale_days)
    change = np.array([FAMILIES[k].can_change for k in fams])

    def pick(sign: float, k: int, mask: np.ndarray) -> pd.Series:
        n = len(frame)
        text = np.full(n, "", dtype=object)
        if not mask.any() or k <= 0:
            return pd.Series(text, index=frame.index, dtype="str")
        cols = np.flatnonzero(mask)
        order = np.argsort(-sign * F[:, cols], axis=1, kind="stable")[:, :k]
        rows = np.arange(n)
        for r in range(order.shape[1]):
            j = cols[order[:, r]]
            keep = sign * F[rows, j] >= MIN_POINTS
            sep = np.where(text != "", "; ", "")
            text = np.where(keep, text + sep + T[rows, j], text)
        return pd.Series(text, index=frame.index, dtype="str")

    every = np.ones(len(fams), dtype=bool)
    return pd.DataFrame(
        {
            "reasons_up": pick(1.0, n_up, every),
            "reasons_down": pick(-1.0, n_down, every),
            "reasons_up_static": pick(1.0, n_up, ~change),
            "reasons_up_dynamic": pick(1.0, n_up, change),
        },
        index=frame.index,
    )


def _json_number(x: np.ndarray, decimals: int) -> pd.Series:
    """Floats as JSON number text (``null`` for missing)."""
    s = pd.Series(np.round(x, decimals), dtype="float64")
    return s.astype("str").where(s.notna(), "null")


def _json_text(x: np.ndarray) -> np.ndarray:
    return pd.Series(x, dtype="str").map(json.dumps).to_numpy(dtype=object)


def contributions_json(frame: pd.DataFrame, min_points: float = 0.05) -> pd.Series:
    """Each person's families as a JSON list, largest ``|points|`` first (a string per row).

    Items: ``{"family", "heading", "can_change", "points", "facts"}``; ``heading`` is
    the family's heading for its direction. Families under ``min_points`` are left out
    (the pack shows them together as "all other factors").
    """
    fams = _families_in(frame)
    F = frame[[f"points__{k}" for k in fams]].to_numpy(dtype=np.float64)
    n = len(frame)
    order = np.argsort(-np.abs(F), axis=1, kind="stable")
    rows = np.arange(n)
    items = []
    for i, key in enumerate(fams):
        fam = FAMILIES[key]
        heading = _json_text(np.where(F[:, i] >= 0, fam.raise_heading, fam.lower_heading))
        facts = _json_text(frame[f"facts__{key}"].astype("str").to_numpy(dtype=object))
        items.append(
            '{"family": "'
            + key
            + '", "heading": '
            + heading
            + ', "can_change": '
            + ("true" if fam.can_change else "false")
            + ', "points": '
            + _json_number(F[:, i], 3).to_numpy(dtype=object)
            + ', "facts": '
            + facts
            + "}"
        )
    item_matrix = np.array(items, dtype=object).T.reshape(n, len(fams))
    text = np.full(n, "[", dtype=object)
    for r in range(len(fams)):
        j = order[:, r]
        keep = np.abs(F[rows, j]) >= min_points
        sep = np.where(keep & (text != "["), ", ", "")
        text = np.where(keep, text + sep + item_matrix[rows, j], text)
    return pd.Series(text + "]", index=frame.index, dtype="str")


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
        :func:`compose_reasons` columns (default policy), ``contributions``
        (:func:`contributions_json`), and :func:`family_points` columns
        (``points__*``, ``facts__*``, ``assessment_days``) so the publish stage can
        recompose the reasons with its own policy.
    """
    fam = family_points(points, X, history_months)
    frame = compose_reasons(fam, n_up, n_down)
    frame["contributions"] = contributions_json(fam)
    return pd.concat([frame, fam], axis=1)


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


PLOT_SAMPLE = 5000  # rows drawn in the global SHAP plots


def plot_rows(n_rows: int, rng: np.random.Generator, n_sample: int = PLOT_SAMPLE) -> np.ndarray:
    """The sorted positions of the rows :func:`plot_global` draws (a seeded sample of
    ``n_sample``): compute the SHAP values of these rows only, then pass ``sampled=True``."""
    return np.sort(rng.choice(n_rows, size=min(n_sample, n_rows), replace=False))


def plot_global(
    shap_values: np.ndarray,
    X: pd.DataFrame,
    folder: Path,
    rng: np.random.Generator,
    n_sample: int = PLOT_SAMPLE,
    n_dependence: int = 4,
    history_months: int = DEFAULT_HISTORY_MONTHS,
    sampled: bool = False,
) -> list[Path]:
    """Mean |SHAP| bar, beeswarm and dependence plots for the top features, as PNGs.

    Drawn with matplotlib directly (shap's plots use numpy's global random state).

    Plots use the trees' log-odds SHAP values on a random sample of ``n_sample`` rows
    (:func:`plot_rows`; with ``sampled``, ``shap_values`` and ``X`` are those rows
    already, drawn with ``rng``, so the SHAP values of the other rows need not be
    computed); labels are the catalogue's plain-English labels.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    take = np.arange(len(X)) if sampled else plot_rows(len(X), rng, n_sample)
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
