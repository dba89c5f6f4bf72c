"""The fairness measure registry: one record per measure, from which the audit is generated.

Each :class:`Measure` declares its stable name, the label the report prints, the lens it
belongs to (whose harm it measures), whether it gates by default, its point-estimate
function (for fairlearn's ``MetricFrame``) and its count function (numerator and
denominator from group sums, used by the vectorised bootstrap and the Wilson interval).
The audit's columns, the report's labels and prose and the MLflow metric names are all
generated from :data:`MEASURES`; adding a measure is adding one record, as fairlearn's
``METRICS_SPEC`` does.

Which measures gate is a policy choice made in ``params.yaml`` (``fairness.gated_measures``);
the registry's ``gated`` is the default offered there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

Sums = Mapping[str, Any]
"""Group sums (any shape, broadcast together): ``n`` rows, ``y`` outcomes, ``p`` predicted
risk, ``sq`` squared errors, and per decision ``d`` selected and ``tp`` selected reoffenders."""


def _safe_div(num: float, den: float) -> float:
    return float(num) / float(den) if den > 0 else float("nan")


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


def auc_point(y: np.ndarray, p: np.ndarray) -> float:
    """Rank AUC (ties count one half); NaN when the group has only one outcome."""
    y = np.asarray(y, dtype=np.float64)
    n_pos, n_neg = y.sum(), (1 - y).sum()
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = pd.Series(np.asarray(p, dtype=np.float64)).rank(method="average").to_numpy()
    return float((ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _score_point(counts: Callable[[Sums], tuple[np.ndarray, np.ndarray]]) -> Callable[..., float]:
    """A score measure's point function (y, p) built from its count function."""

    def point(y: np.ndarray, p: np.ndarray) -> float:
        y = np.asarray(y, dtype=np.float64)
        p = np.asarray(p, dtype=np.float64)
        sums = {"n": np.float64(len(y)), "y": y.sum(), "p": p.sum(), "sq": ((p - y) ** 2).sum()}
        num, den = counts(sums)
        return _safe_div(float(num), float(den))

    return point


def _decision_point(counts: Callable[[Sums], tuple[np.ndarray, np.ndarray]]) -> Callable[..., float]:
    """A decision measure's point function (y, d, sample_weight) built from its count function."""

    def point(y: np.ndarray, d: np.ndarray, sample_weight: np.ndarray) -> float:
        tp, fp, fn, tn = _confusion(y, d, sample_weight)
        sums = {"n": tp + fp + fn + tn, "y": tp + fn, "d": tp + fp, "tp": tp}
        num, den = counts(sums)
        return _safe_div(float(num), float(den))

    return point


@dataclass(frozen=True)
class Measure:
    """One fairness measure.

    Attributes
    ----------
    name
        Stable token used in metric names (``fpr`` -> ``fpr_ratio.red.ethnicity.Black``).
    label
        What the report calls it.
    lens
        Whose harm it measures (the report's "lens" column).
    kind
        ``score`` (of the risk score, no decision) or ``decision`` (per operational decision).
    needs_label
        Needs the observed outcome (not available for the panel-date list).
    needs_score
        Needs the predicted risk (not available for the panel's own decisions).
    ratio
        Shown as a ratio to the reference group.
    gated
        Gates by default (``fairness.gated_measures`` decides).
    counts
        ``(sums) -> (numerator, denominator)``; None when the measure is not a ratio of sums (AUC).
    wilson
        The measure is a proportion of rows, so its interval is widened to Wilson's.
    point
        Point estimate for fairlearn's MetricFrame: ``(y, p)`` for score measures,
        ``(y, d, sample_weight)`` for decision measures.
    high, low
        What a ratio above / below the band means, in words, for the report and verdicts.
    """

    name: str
    label: str
    lens: str
    kind: Literal["score", "decision"]
    needs_label: bool
    needs_score: bool
    ratio: bool
    gated: bool
    counts: Callable[[Sums], tuple[np.ndarray, np.ndarray]] | None
    wilson: bool = False
    point_fn: Callable[..., float] | None = None
    high: str = ""
    low: str = ""

    @property
    def point(self) -> Callable[..., float]:
        if self.point_fn is not None:
            return self.point_fn
        if self.counts is None:
            raise ValueError(f"measure {self.name!r} has neither a point nor a count function")
        return _score_point(self.counts) if self.kind == "score" else _decision_point(self.counts)


MEASURES: tuple[Measure, ...] = (
    Measure(
        "base_rate", "base rate (reoffended)", "base rate (not a model error)", "score",
        needs_label=True, needs_score=False, ratio=True, gated=False,
        counts=lambda s: (s["y"], s["n"]), wilson=True,
        high="reoffended more often than the reference group",
        low="reoffended less often than the reference group",
    ),
    Measure(
        "mean_risk", "mean predicted risk", "mean predicted risk", "score",
        needs_label=False, needs_score=True, ratio=True, gated=False,
        counts=lambda s: (s["p"], s["n"]),
        high="has a higher mean predicted risk", low="has a lower mean predicted risk",
    ),
    Measure(
        "obs_exp", "observed / expected", "calibration within groups", "score",
        needs_label=True, needs_score=True, ratio=True, gated=True,
        counts=lambda s: (s["y"], s["p"]),
        high=(
            "the model under-predicts for this group relative to the reference "
            "(more reoffended than predicted)"
        ),
        low=(
            "the model over-predicts for this group relative to the reference (fewer reoffended than "
            "predicted): a pattern that recording bias (more weak cases recorded for one group) produces"
        ),
    ),
    Measure(
        "auc", "AUC", "ranking within the group", "score",
        needs_label=True, needs_score=True, ratio=False, gated=False, counts=None, point_fn=auc_point,
    ),
    Measure(
        "brier", "Brier score", "accuracy of the probabilities", "score",
        needs_label=True, needs_score=True, ratio=False, gated=False,
        counts=lambda s: (s["sq"], s["n"]),
    ),
    Measure(
        "selection_rate", "selection rate", "demographic parity", "decision",
        needs_label=False, needs_score=False, ratio=True, gated=False,
        counts=lambda s: (s["d"], s["n"]), wilson=True,
        high="this group is put forward more often than the reference group",
        low="this group is put forward less often than the reference group",
    ),
    Measure(
        "tpr", "true positive rate", "true positive parity", "decision",
        needs_label=True, needs_score=False, ratio=True, gated=False,
        counts=lambda s: (s["tp"], s["y"]), wilson=True,
    ),
    Measure(
        "fpr", "false positive rate", "intrusion: false positive parity", "decision",
        needs_label=True, needs_score=False, ratio=True, gated=True,
        counts=lambda s: (s["d"] - s["tp"], s["n"] - s["y"]), wilson=True,
        high=(
            "people in this group who did not go on to reoffend were put forward more often than in the "
            "reference group: more of them carry the cost of intensive supervision they did not need "
            "(intrusion)"
        ),
        low=(
            "people in this group who did not go on to reoffend were put forward less often than in the "
            "reference group"
        ),
    ),
    Measure(
        "fnr", "false negative rate", "support: false negative parity", "decision",
        needs_label=True, needs_score=False, ratio=True, gated=True,
        counts=lambda s: (s["y"] - s["tp"], s["y"]), wilson=True,
        high=(
            "people in this group who went on to reoffend were missed more often than in the reference "
            "group: fewer of those who needed it were offered the support the list brings"
        ),
        low=(
            "people in this group who went on to reoffend were missed less often than in the reference "
            "group"
        ),
    ),
    Measure(
        "precision", "precision (PPV)", "predictive parity", "decision",
        needs_label=True, needs_score=False, ratio=True, gated=False,
        counts=lambda s: (s["tp"], s["d"]), wilson=True,
    ),
    Measure(
        "fdr", "false discovery rate", "predictive parity", "decision",
        needs_label=True, needs_score=False, ratio=True, gated=False,
        counts=lambda s: (s["d"] - s["tp"], s["d"]), wilson=True,
    ),
    Measure(
        "for", "false omission rate", "predictive parity", "decision",
        needs_label=True, needs_score=False, ratio=True, gated=False,
        counts=lambda s: (s["y"] - s["tp"], s["n"] - s["d"]), wilson=True,
    ),
)  # fmt: skip

BY_NAME: dict[str, Measure] = {m.name: m for m in MEASURES}
CALIBRATION_MEASURE = "obs_exp"
DEFAULT_GATED = tuple(m.name for m in MEASURES if m.gated and m.kind == "decision")


def measures_for(kind: str, labelled: bool, scored: bool) -> tuple[Measure, ...]:
    """The measures of one kind that the data can support (label and score present or not)."""
    return tuple(
        m
        for m in MEASURES
        if m.kind == kind and (labelled or not m.needs_label) and (scored or not m.needs_score)
    )


def label_of(name: str) -> str:
    """A measure's label (``size`` and ``n_rows`` too); unknown names are un-underscored."""
    extra = {"size": "people", "n_rows": "person-dates"}
    return BY_NAME[name].label if name in BY_NAME else extra.get(name, name.replace("_", " "))


def lens_of(name: str) -> str:
    return BY_NAME[name].lens if name in BY_NAME else ""
