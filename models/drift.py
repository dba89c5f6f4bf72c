"""Drift: how far the panel date's cohort has moved from the people the model learned from.

Label-free (the panel date has no outcomes yet): each feature's distribution and the
typology mix at the panel date are compared with the training as-of dates by the
population stability index (PSI),

    PSI = sum over bins of (a - e) * ln(a / e)

where ``e`` and ``a`` are the shares of the training rows and of the panel-date rows in
each bin. Bins are the training rows' deciles for a numeric feature (ties merged, so a
count that is mostly 0 gets fewer bins), one bin per value for a category, and one
extra bin for missing values. A share of 0 is floored at ``1e-4`` so that a bin empty
on one side gives a large but finite term. The usual reading: under 0.1 stable, 0.1 to
0.25 a moderate shift, above 0.25 a major shift (``drift.threshold`` declares where the
card, the audit and the pack start naming a feature).

Worked example: a feature whose training deciles put 10% of training rows in each bin,
and where the panel date has 20% in the top bin and 8.9% in each of the other nine,
has PSI = (0.2 - 0.1) ln 2 + 9 (0.089 - 0.1) ln 0.89 = 0.069 + 0.012 = 0.081.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pydantic import Field

from iom_config import StageParams

FLOOR = 1e-4


class DriftParams(StageParams):
    """The ``drift:`` section of params.yaml.

    Attributes
    ----------
    threshold
        PSI above which a feature (or the typology mix) is named as drifted.
    n_bins
        Quantile bins of a numeric feature on the training rows (before ties merge).
    """

    threshold: float = Field(0.25, gt=0)
    n_bins: int = Field(10, ge=2, le=50)


def psi_from_shares(expected: np.ndarray, actual: np.ndarray) -> float:
    """PSI of two share vectors over the same bins (shares floored at ``FLOOR``).

    Examples
    --------
    >>> round(psi_from_shares(np.array([0.5, 0.5]), np.array([0.5, 0.5])), 6)
    0.0
    >>> round(psi_from_shares(np.array([0.5, 0.5]), np.array([0.25, 0.75])), 4)
    0.2747
    """
    e = np.maximum(np.asarray(expected, dtype=np.float64), FLOOR)
    a = np.maximum(np.asarray(actual, dtype=np.float64), FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def _shares(codes: np.ndarray, n_bins: int) -> np.ndarray:
    counts = np.bincount(codes, minlength=n_bins).astype(np.float64)
    return counts / max(counts.sum(), 1.0)


def psi_numeric(expected: pd.Series, actual: pd.Series, n_bins: int = 10) -> float:
    """PSI of a numeric column: training-row quantile bins, plus a bin for missing values."""
    e = pd.to_numeric(expected, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    a = pd.to_numeric(actual, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    known = e[~np.isnan(e)]
    edges = np.unique(np.quantile(known, np.linspace(0, 1, n_bins + 1)[1:-1])) if known.size else np.array([])
    n = len(edges) + 2  # the interior bins, the top bin and the missing bin

    def codes(x: np.ndarray) -> np.ndarray:
        c = np.searchsorted(edges, x, side="right")
        return np.where(np.isnan(x), n - 1, c)

    return psi_from_shares(_shares(codes(e), n), _shares(codes(a), n))


def psi_categorical(expected: pd.Series, actual: pd.Series) -> float:
    """PSI of a categorical column: one bin per value seen on either side (missing is a value)."""
    e = expected.astype("string").fillna("<missing>")
    a = actual.astype("string").fillna("<missing>")
    cats = pd.Index(sorted(set(e.unique()) | set(a.unique())))
    return psi_from_shares(
        _shares(cats.get_indexer(e), len(cats)),
        _shares(cats.get_indexer(a), len(cats)),
    )


@dataclass(frozen=True)
class DriftResult:
    """Feature PSI table (``name``, ``label``, ``psi``, ``beyond``), typology mix and settings."""

    features: pd.DataFrame
    typology_mix: pd.DataFrame
    typology_psi: float | None
    threshold: float
    train_dates: list[str]
    panel_date: str
    n_train: int
    n_panel: int

    @property
    def beyond(self) -> list[str]:
        """Features whose PSI exceeds the threshold, largest first."""
        return self.features.loc[self.features["beyond"], "name"].tolist()

    def to_json(self) -> dict[str, object]:
        """The ``reports/drift/drift.json`` content (read by the card, the audit and the pack)."""
        mix = self.typology_mix
        return {
            "threshold": self.threshold,
            "train_dates": self.train_dates,
            "panel_date": self.panel_date,
            "n_train_rows": self.n_train,
            "n_panel_rows": self.n_panel,
            "features": [
                {"name": r.name, "label": r.label, "psi": round(float(r.psi), 5)}
                for r in self.features.itertuples()
            ],
            "beyond": self.beyond,
            "typology_mix": {
                "psi": None if self.typology_psi is None else round(self.typology_psi, 5),
                "beyond": bool(self.typology_psi is not None and self.typology_psi > self.threshold),
                "train": {str(r.typology): round(float(r.train), 5) for r in mix.itertuples()},
                "panel": {str(r.typology): round(float(r.panel), 5) for r in mix.itertuples()},
            },
        }


def measure_drift(
    features: pd.DataFrame,
    columns: Sequence[str],
    labels: dict[str, str],
    train_dates: Sequence[pd.Timestamp],
    panel_date: pd.Timestamp,
    params: DriftParams,
    typology: pd.DataFrame | None = None,
) -> DriftResult:
    """PSI of each feature and of the typology mix, training as-of dates vs the panel date.

    Parameters
    ----------
    features
        The features stage's rows (``as_of_date`` and the feature columns).
    columns
        Feature columns to compare (numeric or categorical).
    labels
        Plain-English label per column (the feature catalogue's); the name when absent.
    train_dates
        The as-of dates whose rows the model learned from.
    panel_date
        The as-of date of the list being published.
    typology
        ``as_of_date`` and ``typology`` per person (the typology stage's), or None.
    """
    dates = pd.to_datetime(features["as_of_date"])
    train_ts = pd.DatetimeIndex(pd.to_datetime(list(train_dates)))
    panel_ts = pd.Timestamp(panel_date)
    in_train = dates.isin(train_ts).to_numpy()
    at_panel = (dates == panel_ts).to_numpy()
    if not in_train.any():
        raise ValueError("no feature rows at the training as-of dates")
    if not at_panel.any():
        raise ValueError(f"no feature rows at the panel date {panel_ts.date()}")
    train, panel = features.loc[in_train], features.loc[at_panel]
    rows = []
    for col in columns:
        numeric = pd.api.types.is_numeric_dtype(features[col]) and not pd.api.types.is_bool_dtype(
            features[col]
        )
        psi = (
            psi_numeric(train[col], panel[col], params.n_bins)
            if numeric
            else psi_categorical(train[col], panel[col])
        )
        rows.append((col, labels.get(col, col), psi))
    table = pd.DataFrame(rows, columns=["name", "label", "psi"])
    table = table.sort_values(["psi", "name"], ascending=[False, True], kind="stable").reset_index(drop=True)
    table["beyond"] = table["psi"] > params.threshold

    mix = pd.DataFrame(columns=["typology", "train", "panel"])
    typology_psi = None
    if typology is not None and not typology.empty:
        t_dates = pd.to_datetime(typology["as_of_date"])
        t_train = typology.loc[t_dates.isin(train_ts).to_numpy(), "typology"].astype(str)
        t_panel = typology.loc[(t_dates == panel_ts).to_numpy(), "typology"].astype(str)
        if len(t_train) and len(t_panel):
            mix = (
                pd.concat(
                    {
                        "train": t_train.value_counts(normalize=True),
                        "panel": t_panel.value_counts(normalize=True),
                    },
                    axis=1,
                )
                .fillna(0.0)
                .rename_axis("typology")
                .sort_index()
                .reset_index()
            )
            typology_psi = psi_from_shares(mix["train"].to_numpy(), mix["panel"].to_numpy())
    return DriftResult(
        features=table,
        typology_mix=mix,
        typology_psi=typology_psi,
        threshold=params.threshold,
        train_dates=[d.date().isoformat() for d in train_ts.sort_values()],
        panel_date=panel_ts.date().isoformat(),
        n_train=int(in_train.sum()),
        n_panel=int(at_panel.sum()),
    )


def drift_sentence(record: dict[str, object]) -> str:
    """One plain-English sentence on a ``drift.json`` record, for reports and the panel pack.

    Examples
    --------
    >>> text = drift_sentence({"threshold": 0.25, "panel_date": "2026-10-31", "beyond": [],
    ...                 "features": [{"name": "age", "label": "age in years", "psi": 0.02}],
    ...                 "typology_mix": {"psi": 0.08, "beyond": False}})
    >>> text.removeprefix("Drift at 2026-10-31 against the training dates: ")
    'no feature beyond PSI 0.25 (largest: age in years, 0.020); typology mix PSI 0.080.'
    """
    features = list(record.get("features") or [])  # type: ignore[call-overload]
    labels = {f["name"]: f["label"] for f in features}
    beyond = [labels.get(n, n) for n in record.get("beyond") or []]  # type: ignore[attr-defined]
    threshold = float(record["threshold"])  # type: ignore[arg-type]
    head = f"Drift at {record.get('panel_date')} against the training dates: "
    if beyond:
        head += f"{len(beyond)} feature(s) beyond PSI {threshold:g}: {', '.join(beyond)}"
    elif features:
        top = features[0]
        head += f"no feature beyond PSI {threshold:g} (largest: {top['label']}, {float(top['psi']):.3f})"
    else:
        head += f"no feature beyond PSI {threshold:g}"
    mix = record.get("typology_mix") or {}
    psi = mix.get("psi")  # type: ignore[attr-defined]
    if psi is not None:
        head += f"; typology mix PSI {float(psi):.3f}" + (" (beyond)" if mix.get("beyond") else "")  # type: ignore[attr-defined]
    return head + "."
