"""Baselines the risk model must beat: OGRS3-style logistic, an IOM points matrix, the oracle.

- :class:`OGRSBaseline`: the published OGRS3 form (age-by-sex band, Copas rate, first
  sanction / sanction count, current offence type) refitted by logistic regression on
  the training dates; uses ``sex`` from ``persons.parquet``, as OGRS3 does.
- :class:`RFGBaseline`: a recency-frequency-gravity points matrix of the kind police IOM
  units score by hand (0-3 points each, total 0-9); the total is mapped to a probability
  by its reoffending rate on the training dates.
- :func:`oracle_risk`: the simulator's true probability (measurement only).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted

from iom_contract import OFFENCE_GROUPS

# OGRS3 age bands (the cohort is adult, so the juvenile bands are folded into 18-20).
AGE_BREAKS = (0, 21, 25, 30, 35, 40, 50, 200)
AGE_BAND_NAMES = ("18-20", "21-24", "25-29", "30-34", "35-39", "40-49", "50+")
OGRS_INPUTS = ("age", "copas_rate", "n_sanction_occasions", "sex")
GROUP_COLUMNS = tuple(f"n_proven_{g}_12m" for g in OFFENCE_GROUPS)


def current_offence_group(X: pd.DataFrame) -> pd.Series:
    """The offence group with most proven offences in the last 12 months (``none`` if none).

    The features hold counts per group rather than the latest offence; the most frequent
    recent group stands in for OGRS3's "current offence" (ties: first in contract order).
    """
    counts = X.loc[:, list(GROUP_COLUMNS)].astype("float64").fillna(0.0).to_numpy()
    idx = counts.argmax(axis=1)
    names = np.asarray(OFFENCE_GROUPS, dtype=object)[idx]
    return pd.Series(np.where(counts.max(axis=1) > 0, names, "none"), index=X.index, dtype="str")


def ogrs_design(X: pd.DataFrame) -> pd.DataFrame:
    """OGRS3-style design matrix: age-sex band, Copas rate, sanction history, offence group."""
    age = X["age"].astype("float64").fillna(30.0)
    band = pd.cut(age, list(AGE_BREAKS), right=False, labels=list(AGE_BAND_NAMES)).astype("str")
    female = X["sex"].astype("string").fillna("U").eq("F").to_numpy()
    age_sex = pd.Categorical(
        np.where(female, "F ", "M ") + band.to_numpy(dtype=object),
        categories=[f"{s} {b}" for s in ("M", "F") for b in AGE_BAND_NAMES],
    )
    group = pd.Categorical(current_offence_group(X), categories=["none", *OFFENCE_GROUPS])
    sanctions = X["n_sanction_occasions"].astype("float64").fillna(0.0)
    out = pd.concat(
        [
            pd.get_dummies(age_sex, prefix="agesex", drop_first=True, dtype="float64"),
            pd.get_dummies(group, prefix="offence", drop_first=True, dtype="float64"),
        ],
        axis=1,
    )
    out.index = X.index
    out["copas_rate"] = X["copas_rate"].astype("float64").fillna(0.0).to_numpy()
    out["first_sanction"] = (sanctions <= 1).astype("float64").to_numpy()
    out["log_sanctions"] = np.log1p(sanctions).to_numpy()
    return out


class OGRSBaseline(ClassifierMixin, BaseEstimator):
    """OGRS3-form logistic regression refitted on the training dates.

    ``X`` needs ``age``, ``sex``, ``copas_rate``, ``n_sanction_occasions`` and the
    ``n_proven_<group>_12m`` counts.
    """

    def __init__(self, C: float = 1.0) -> None:
        self.C = C

    def fit(self, X: pd.DataFrame, y: pd.Series | np.ndarray) -> OGRSBaseline:
        """Fit the logistic regression on the OGRS design of ``X``."""
        design = ogrs_design(X)
        self.design_columns_ = list(design.columns)
        self.classes_ = np.array([0, 1])
        self.model_ = LogisticRegression(C=self.C, max_iter=2000).fit(design.to_numpy(), np.asarray(y))
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Probabilities, shape (n, 2), float64."""
        check_is_fitted(self, "model_")
        design = ogrs_design(X).reindex(columns=self.design_columns_, fill_value=0.0)
        return np.asarray(self.model_.predict_proba(design.to_numpy()), dtype=np.float64)


def rfg_points(X: pd.DataFrame) -> pd.Series:
    """Recency + frequency + gravity points, 0-9.

    Recency (days since last recorded offence): <=90 -> 3, <=180 -> 2, <=365 -> 1, else 0.
    Frequency (recorded offences, last 12 months): 0 -> 0, 1-2 -> 1, 3-5 -> 2, 6+ -> 3.
    Gravity (most serious recorded, last 12 months, 1-6): none -> 0, 1-2 -> 1, 3-4 -> 2, 5-6 -> 3.
    E.g. an offence 60 days ago, 4 offences this year, worst gravity 3: 3 + 2 + 2 = 7.
    """
    days = X["days_since_last_offence"].astype("float64").fillna(np.inf).to_numpy()
    freq = X["n_recorded_offences_12m"].astype("float64").fillna(0.0).to_numpy()
    grav = X["gravity_max_recorded_12m"].astype("float64").fillna(0.0).to_numpy()
    r = np.select([days <= 90, days <= 180, days <= 365], [3, 2, 1], 0)
    f = np.select([freq >= 6, freq >= 3, freq >= 1], [3, 2, 1], 0)
    g = np.select([grav >= 5, grav >= 3, grav >= 1], [3, 2, 1], 0)
    return pd.Series(r + f + g, index=X.index, dtype="int64")


class RFGBaseline(ClassifierMixin, BaseEstimator):
    """RFG points mapped to the training dates' reoffending rate per total (add-one smoothed)."""

    def __init__(self, prior_weight: float = 1.0) -> None:
        self.prior_weight = prior_weight

    def fit(self, X: pd.DataFrame, y: pd.Series | np.ndarray) -> RFGBaseline:
        """Learn the reoffending rate of each points total."""
        points = rfg_points(X).to_numpy()
        y = np.asarray(y, dtype=np.float64)
        n = np.bincount(points, minlength=10).astype(np.float64)
        pos = np.bincount(points, weights=y, minlength=10)
        prior = y.mean()
        # Smoothing towards the overall rate keeps an empty or tiny points total sensible.
        denom = n + self.prior_weight
        num = pos + self.prior_weight * prior
        self.rate_ = np.divide(num, denom, out=np.full(len(n), prior), where=denom > 0)
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Probabilities, shape (n, 2), float64."""
        check_is_fitted(self, "rate_")
        p = self.rate_[rfg_points(X).to_numpy()]
        return np.column_stack([1.0 - p, p])


def oracle_risk(
    rows: pd.DataFrame, oracle: pd.DataFrame, person_index: pd.DataFrame, identities: pd.DataFrame
) -> pd.Series:
    """The simulator's true probability for each (pseudo_id, as_of_date) row (NaN if unknown).

    The oracle is keyed by the simulator's person_id; a pseudo_id reaches it through its
    police source record: ``person_index`` (pseudo_id, source, source_id) joined to
    ``identities`` (person_id, source, source_id) on (source, source_id), police only.
    """
    police = person_index.loc[person_index["source"] == "police", ["pseudo_id", "source", "source_id"]]
    ids = identities.loc[identities["source"] == "police", ["person_id", "source", "source_id"]]
    bridge = police.merge(ids, on=["source", "source_id"], how="inner")[["pseudo_id", "person_id"]]
    bridge = bridge.drop_duplicates("pseudo_id")
    truth = oracle[["person_id", "as_of_date", "p_true"]].merge(bridge, on="person_id", how="inner")
    truth["as_of_date"] = pd.to_datetime(truth["as_of_date"]).astype("datetime64[ms]")
    left = rows[["pseudo_id", "as_of_date"]].copy()
    left["as_of_date"] = pd.to_datetime(left["as_of_date"]).astype("datetime64[ms]")
    truth = truth.drop_duplicates(["pseudo_id", "as_of_date"])
    merged = left.merge(
        truth[["pseudo_id", "as_of_date", "p_true"]], on=["pseudo_id", "as_of_date"], how="left"
    )
    return pd.Series(merged["p_true"].to_numpy(dtype=np.float64), index=rows.index, name="p_true")
