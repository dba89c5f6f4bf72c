"""Offender typologies: a latent class model over interpretable person-level traits.

The North Staffordshire IOM evaluation looked at types of offender rather than types of
offence. :class:`TypologyModel` finds latent groups in the cohort with a latent class
model for mixed data (:class:`models.latent_class.MixedMixture`), chooses the number of
groups by BIC among those that are stable under bootstrap refits, and names the groups
by the documented profile rules of :mod:`models.typology_naming`.

The inputs describe *what kind of offender* a person is, not only *how much* they
offend. Volumes (offences, custody receptions, breaches) rise and fall together with a
person's overall rate of offending, so a mixture over volumes mostly sorts people by
that rate. The inputs therefore express careers as rates and shares where they can
(custody receptions per proven offence, breaches per order, share of contacts attended,
share of offences that are domestic abuse), keep the offence mix as counts by group
(a multinomial: the more offences, the clearer the mix), treat need scores as
categories, and leave what was never recorded (no assessment, no orders) missing rather
than zero. Two volumes stay in (recorded offences in 12 months and in the history
window), because being prolific is itself part of three of the four typologies.

There may be more clusters than typologies: the general majority and the seed types
are not single blobs, so several clusters can earn the same name, and a person's
membership of a typology is the sum over its clusters. Stability is therefore measured
on the names a refit gives people, not on cluster numbers.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import Field, field_validator, model_validator
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.metrics import adjusted_rand_score

from iom_config import StageParams
from iom_contract import NEEDS, OFFENCE_GROUPS
from models.latent_class import MixedMixture
from models.typology_naming import (
    DEFAULT_RULES,
    TYPOLOGY_LABELS,
    UNASSIGNED,
    Bound,
    Rules,
    _longest,
    check_rules,
    name_clusters,
    profile_clusters,
)

logger = logging.getLogger(__name__)

MODEL_FORMAT = "iom-typology/2"

# Continuous inputs (a normal per class; NaN = not recorded): name -> meaning.
GAUSSIAN_INPUTS: dict[str, str] = {
    "age": "age in years",
    "age_first_proven": "age at first proven offence (missing: none proven)",
    "log_offences_12m": "log(1 + recorded offences in the last 12 months)",
    "log_offences_all": "log(1 + recorded offences in the history window)",
    "custody_rate": (
        "log((custody receptions + 0.5) / (proven offences + 1)): how often offending ends in prison"
    ),
    "attendance": "share of probation contacts attended in the longest window (missing: no contacts)",
    "breach_rate": "orders or licences breached per order (missing: no orders)",
    "log_homelessness": "log(1 + homelessness events in the longest window)",
    "log_rough_sleeping": "log(1 + rough-sleeping events in 12 months)",
    "log_treatment": "log(1 + treatment episodes completed or dropped out of)",
    "domestic_abuse_share": "share of recorded offences flagged domestic abuse (missing: none recorded)",
    "gravity_mean": "mean gravity of proven offences (missing: none proven)",
    "proven_share": "share of recorded offences proven (missing: none recorded)",
}
# Categorical inputs (NaN = not recorded): name -> (levels, meaning).
CATEGORICAL_INPUTS: dict[str, tuple[int, str]] = {
    **{
        f"need_{n}": (3, f"{n.replace('_', ' ')} need at latest assessment (0-2; missing: not assessed)")
        for n in NEEDS
    },
    "housing_unstable": (2, "latest housing event is not settled accommodation"),
    "in_mental_health": (2, "in mental-health treatment now"),
    "in_drug_treatment": (2, "in drug treatment now"),
    "in_alcohol_treatment": (2, "in alcohol treatment now"),
}
# Count inputs, one multinomial per class over offence groups: the offence mix.
COUNT_INPUTS: dict[str, str] = {
    f"proven_{g}": f"proven {g.replace('_', ' ')} offences in the history window" for g in OFFENCE_GROUPS
}
# Every input: name -> plain-English meaning.
TYPOLOGY_INPUTS: dict[str, str] = {
    **GAUSSIAN_INPUTS,
    **{k: v[1] for k, v in CATEGORICAL_INPUTS.items()},
    **COUNT_INPUTS,
}


class TypologyParams(StageParams):
    """The ``typology:`` section of params.yaml."""

    train_end: str | None = Field(
        default=None, description="last training as-of date (YYYY-MM-DD); null = last labelled date"
    )
    k_min: int = Field(default=8, ge=1)
    k_max: int = Field(default=12, ge=1)
    var_floor: float = Field(default=0.3, gt=0)
    alpha: float = Field(default=1.0, ge=0)
    n_init: int = Field(default=3, ge=1)
    max_iter: int = Field(default=500, ge=10)
    n_bootstrap: int = Field(default=3, ge=0)
    min_stability: float = Field(default=0.85, ge=0, le=1)
    unassigned_below: float = Field(default=0.5, ge=0, le=1)
    general_max_offending_ratio: float = Field(default=1.0, gt=0)
    fit_sample: int | None = Field(default=200_000, ge=100)
    rules: dict[str, dict[str, Bound]] = Field(default_factory=lambda: dict(DEFAULT_RULES))
    seed: int = 42
    log_mlflow: bool = True

    @model_validator(mode="after")
    def _check(self) -> TypologyParams:
        if self.k_min > self.k_max:
            raise ValueError(f"k_min {self.k_min} is above k_max {self.k_max}")
        check_rules(self.rules)
        return self

    @field_validator("train_end")
    @classmethod
    def _date(cls, v: str | None) -> str | None:
        if v is not None:
            pd.Timestamp(v)
        return v

    def estimator(self) -> TypologyModel:
        """A :class:`TypologyModel` with these settings."""
        return TypologyModel(
            k_min=self.k_min,
            k_max=self.k_max,
            var_floor=self.var_floor,
            alpha=self.alpha,
            n_init=self.n_init,
            max_iter=self.max_iter,
            n_bootstrap=self.n_bootstrap,
            min_stability=self.min_stability,
            unassigned_below=self.unassigned_below,
            general_max_offending_ratio=self.general_max_offending_ratio,
            fit_sample=self.fit_sample,
            rules=self.rules,
            random_state=self.seed,
        )


def typology_inputs(features: pd.DataFrame) -> pd.DataFrame:
    """The mixture's inputs (``TYPOLOGY_INPUTS``) from a features frame, as floats.

    What was never recorded stays missing (NaN) for the Gaussian and categorical
    inputs: no needs assessment, no probation contacts, no orders, no proven offence.
    The mixture leaves a missing value out of that person's likelihood.
    """
    f = features
    cols = f.columns

    def num(c: str) -> np.ndarray:
        return f[c].astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)

    def ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.divide(a, b, out=np.full_like(a, np.nan), where=b > 0)

    def flag(c: str) -> np.ndarray:
        return f[c].astype("boolean").astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)

    recorded = num("n_recorded_offences_all")
    proven = num("n_proven_offences_all")
    treated = num("n_treatment_completed_all") + num("n_treatment_dropouts_all")
    out: dict[str, np.ndarray] = {
        "age": num("age"),
        "age_first_proven": num("age_first_proven"),
        "log_offences_12m": np.log1p(num("n_recorded_offences_12m")),
        "log_offences_all": np.log1p(recorded),
        "custody_rate": np.log((num("n_custody_episodes_all") + 0.5) / (proven + 1.0)),
        "attendance": num(_longest(cols, "share_contacts_attended_")),
        "breach_rate": ratio(num("n_breached_orders_all"), num("n_orders_all")),
        "log_homelessness": np.log1p(num(_longest(cols, "n_homelessness_events_"))),
        "log_rough_sleeping": np.log1p(num(_longest(cols, "n_rough_sleeping_"))),
        "log_treatment": np.log1p(treated),
        "domestic_abuse_share": ratio(num("n_domestic_abuse_recorded_all"), recorded),
        "gravity_mean": np.where(proven > 0, num("gravity_mean_proven_all"), np.nan),
        "proven_share": ratio(proven, recorded),
    }
    for name in CATEGORICAL_INPUTS:
        out[name] = num(name) if name.startswith("need_") else flag(name)
    for g in OFFENCE_GROUPS:
        out[f"proven_{g}"] = np.nan_to_num(num(f"n_proven_{g}_all"))
    frame = pd.DataFrame(out, index=features.index)[list(TYPOLOGY_INPUTS)]
    for name in ("age", "log_offences_12m", "log_offences_all", "custody_rate", "log_treatment"):
        if frame[name].isna().any():
            raise ValueError(f"typology input {name!r} has missing values: check the features stage")
    return frame


def sample_for_fit(X: pd.DataFrame, fit_sample: int | None, seed: int) -> pd.DataFrame:
    """The rows a fit uses: all of ``X``, or a seeded random ``fit_sample`` of them in their order."""
    if fit_sample is None or len(X) <= fit_sample:
        return X
    keep = np.sort(np.random.default_rng([seed, 0]).choice(len(X), fit_sample, replace=False))
    logger.info("typology: fitting on a random %d of %d people", fit_sample, len(X))
    return X.iloc[keep]


def sum_by_name(
    resp: np.ndarray, names: Sequence[str] | np.ndarray, labels: Sequence[str] | np.ndarray
) -> np.ndarray:
    """Membership of each of ``labels``: the probabilities of the clusters carrying it add up.

    ``resp`` is (n_rows, n_clusters) and ``names`` names each cluster. Sums can round a
    hair above 1, so they are clipped to [0, 1].
    """
    names_ = np.asarray(names, dtype=object)
    labels_ = np.asarray(labels, dtype=object)
    onehot = (names_[:, None] == labels_[None, :]).astype(np.float64)
    return np.asarray(np.clip(resp @ onehot, 0.0, 1.0))


class TypologyModel(ClusterMixin, BaseEstimator):
    """Latent class typology model over person-level traits.

    Parameters
    ----------
    k_min, k_max
        Bounds on the number of clusters.
    var_floor, alpha, n_init, max_iter
        Passed to :class:`models.latent_class.MixedMixture`: ``var_floor`` is added to the
        class variances of the standardised continuous inputs (broad clusters: the
        traits are noisy measurements), ``alpha`` smooths the category and offence-mix
        probabilities.
    n_bootstrap
        Refits on bootstrap resamples per candidate ``k`` for the stability score (0
        skips it: every ``k`` counts as stable). Each refit is the same procedure as
        the full fit (``n_init`` starts), so stability measures the method, not luck.
    min_stability
        A ``k`` is eligible when its mean adjusted Rand index between the named
        typologies of the full fit and of the bootstrap refits (each named by the same
        rules, all predicting the full data) reaches this; the eligible ``k`` with the
        lowest BIC is chosen (if none is eligible, the most stable). Several clusters
        may share a name, so stability is judged on the names, not the cluster numbers
        (``criterion_[k]["stability_clusters"]`` keeps the cluster-level figure).
    unassigned_below
        A person whose most probable typology has a membership probability below this
        is ``unassigned``.
    general_max_offending_ratio, rules
        Naming rules (see :mod:`models.typology_naming`).
    fit_sample
        Fit on at most this many people (a seeded random sample; ``None``: everyone).
        A national extract has over a million people; the classes are as well
        estimated from a sample of 200,000, and every person is still assigned.
    random_state
        Seed for every fit and resample (``None`` means 0: fits are always
        reproducible). Each ``k`` draws from its own stream seeded by
        ``(random_state, k)``, so its fit does not depend on the bounds searched.

    Attributes
    ----------
    mixture_ : MixedMixture
    n_clusters_ : int
    criterion_ : dict mapping k to {"bic", "stability", "stability_clusters"}
    stability_ : float
        Stability of the chosen ``k``.
    profiles_ : DataFrame
        Cluster profiles on the fit data.
    cluster_names_ : list of str
    classes_ : ndarray of str
        Typology names, the columns of :meth:`predict_proba`.
    """

    def __init__(
        self,
        k_min: int = 8,
        k_max: int = 12,
        var_floor: float = 0.3,
        alpha: float = 1.0,
        n_init: int = 3,
        max_iter: int = 500,
        n_bootstrap: int = 3,
        min_stability: float = 0.85,
        unassigned_below: float = 0.5,
        general_max_offending_ratio: float = 1.0,
        fit_sample: int | None = 200_000,
        rules: Rules | None = None,
        random_state: int | None = None,
    ) -> None:
        self.k_min = k_min
        self.k_max = k_max
        self.var_floor = var_floor
        self.alpha = alpha
        self.n_init = n_init
        self.max_iter = max_iter
        self.n_bootstrap = n_bootstrap
        self.min_stability = min_stability
        self.unassigned_below = unassigned_below
        self.general_max_offending_ratio = general_max_offending_ratio
        self.fit_sample = fit_sample
        self.rules = rules
        self.random_state = random_state

    def _mixture(self, k: int, seed: int) -> MixedMixture:
        return MixedMixture(
            n_components=k,
            gaussian=tuple(GAUSSIAN_INPUTS),
            categorical={name: levels for name, (levels, _) in CATEGORICAL_INPUTS.items()},
            counts=tuple(COUNT_INPUTS),
            var_floor=self.var_floor,
            alpha=self.alpha,
            n_init=self.n_init,
            max_iter=self.max_iter,
            random_state=seed,
        )

    def fit(self, X: pd.DataFrame, y: Any = None) -> TypologyModel:
        """Choose ``k``, fit the mixture and name the clusters.

        Parameters
        ----------
        X
            Feature rows, one per person (see :func:`select_training_rows`).
        y
            Ignored.
        """
        if self.k_min > self.k_max:
            raise ValueError(f"k_min {self.k_min} is above k_max {self.k_max}")
        rules = DEFAULT_RULES if self.rules is None else self.rules
        check_rules(rules)
        seed = 0 if self.random_state is None else self.random_state
        X = sample_for_fit(X, self.fit_sample, seed)
        n = len(X)
        if n < 2 * self.k_max:
            raise ValueError(f"{n} rows is too few to fit up to {self.k_max} clusters")
        Z = typology_inputs(X).reset_index(drop=True)
        fits: dict[int, MixedMixture] = {}
        criterion: dict[int, dict[str, float]] = {}
        for k in range(self.k_min, self.k_max + 1):
            # Seeds per k, so a k's fit and stability do not depend on the bounds searched.
            rng = np.random.default_rng([seed, k])
            mix = self._mixture(k, int(rng.integers(2**31 - 1))).fit(Z)
            resp_full = mix.predict_proba(Z)
            ref = resp_full.argmax(axis=1)
            ref_named = self._named(X, resp_full, rules)
            scores, cluster_scores = [], []
            for _ in range(self.n_bootstrap):
                idx = rng.integers(0, n, n)
                boot = self._mixture(k, int(rng.integers(2**31 - 1))).fit(Z.iloc[idx])
                resp = boot.predict_proba(Z)
                # Stability of what the panel sees: the named typology, each refit named
                # by the same rules. Clusters that share a name may swap members between
                # refits without changing anyone's typology.
                scores.append(adjusted_rand_score(ref_named, self._named(X, resp, rules)))
                cluster_scores.append(adjusted_rand_score(ref, resp.argmax(axis=1)))
            stability = float(np.mean(scores)) if scores else 1.0
            fits[k] = mix
            criterion[k] = {
                "bic": mix.bic(Z),
                "stability": stability,
                "stability_clusters": float(np.mean(cluster_scores)) if cluster_scores else 1.0,
            }
            logger.info(
                "typology k=%d: BIC %.1f, stability %.3f (clusters %.3f)",
                k,
                criterion[k]["bic"],
                stability,
                criterion[k]["stability_clusters"],
            )
        eligible = [k for k, c in criterion.items() if c["stability"] >= self.min_stability]
        if eligible:
            k_best = min(eligible, key=lambda k: criterion[k]["bic"])
        else:
            k_best = max(criterion, key=lambda k: criterion[k]["stability"])
            logger.warning("no k reached stability %.2f; using the most stable", self.min_stability)
        self.criterion_ = criterion
        self.n_clusters_ = k_best
        self.stability_ = criterion[k_best]["stability"]
        self.mixture_ = fits[k_best]
        resp = self.mixture_.predict_proba(Z)
        self.profiles_ = profile_clusters(X, resp)
        self.population_mean_offences_ = float(
            np.nanmean(X["n_recorded_offences_12m"].astype("Float64").to_numpy(np.float64, na_value=np.nan))
        )
        self.cluster_names_ = name_clusters(self.profiles_, rules, self.general_max_offending_ratio)
        self.classes_ = np.array([t for t in TYPOLOGY_LABELS if t in self.cluster_names_], dtype=object)
        logger.info("typology: k=%d clusters named %s", k_best, self.cluster_names_)
        return self

    def _named(self, X: pd.DataFrame, resp: np.ndarray, rules: Rules) -> np.ndarray:
        """Most probable typology per row, clusters named by ``rules`` from their profiles on ``X``."""
        names = name_clusters(profile_clusters(X, resp), rules, self.general_max_offending_ratio)
        labels = np.unique(np.asarray(names, dtype=object))
        return np.asarray(labels[sum_by_name(resp, names, labels).argmax(axis=1)])

    def cluster_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Membership probability of each row in each cluster, shape (n_rows, n_clusters)."""
        return np.asarray(self.mixture_.predict_proba(typology_inputs(X)))

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Membership probability of each typology (columns ``classes_``): clusters sharing a name add up."""
        return sum_by_name(self.cluster_proba(X), self.cluster_names_, self.classes_)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Typology name per row (``unassigned`` below the membership threshold)."""
        return assign_frame(self, X)["typology"].to_numpy(dtype=object)


def assign_frame(model: TypologyModel, X: pd.DataFrame) -> pd.DataFrame:
    """Typology, membership probability and most probable cluster per row of ``X``.

    Returns
    -------
    pandas.DataFrame
        Index of ``X``; columns ``typology`` (str), ``membership_probability`` (float,
        the probability of the most probable typology) and ``cluster`` (int32).
    """
    resp = model.cluster_proba(X)
    proba = sum_by_name(resp, model.cluster_names_, model.classes_)
    best = proba.argmax(axis=1)
    p = proba[np.arange(len(best)), best]
    names = model.classes_[best]
    names = np.where(p < model.unassigned_below, UNASSIGNED, names)
    cluster = resp.argmax(axis=1).astype(np.int32)
    return pd.DataFrame(
        {
            "typology": pd.array(names, dtype="str"),
            "membership_probability": p.astype(np.float64),
            "cluster": cluster,
        },
        index=X.index,
    )


def select_training_rows(features: pd.DataFrame, train_end: pd.Timestamp | None = None) -> pd.DataFrame:
    """One row per person: their latest labelled as-of date on or before ``train_end``.

    Fitting on every person-date would weight prolific people by the number of dates
    they are in the cohort; the latest training date is their fullest history that is
    still inside the training window. ``train_end`` defaults to the last date with
    complete labels.
    """
    train = features[features["label_complete"].astype("boolean").fillna(False).to_numpy(dtype=bool)]
    if train_end is not None:
        train = train[train["as_of_date"] <= pd.Timestamp(train_end)]
    if train.empty:
        raise ValueError("no labelled as-of dates in the training window to fit the typology on")
    order = train.sort_values(["pseudo_id", "as_of_date"], kind="stable")
    return order.drop_duplicates("pseudo_id", keep="last").reset_index(drop=True)


def assign_typology(model: TypologyModel, features: pd.DataFrame) -> pd.DataFrame:
    """Typology of every person-date row of ``features`` under a fitted (or loaded) model.

    This is the call for scoring new extracts: ``assign_typology(load_model(path), rows)``.
    Each row is assigned from its own as-of-date features only, so records dated after
    a row's as-of date cannot change its typology.

    Parameters
    ----------
    model
        A fitted :class:`TypologyModel`, e.g. from :func:`load_model`.
    features
        Feature rows from the features stage (any as-of dates; at least ``pseudo_id``,
        ``as_of_date`` and the columns :func:`typology_inputs` reads).

    Returns
    -------
    pandas.DataFrame
        pseudo_id, as_of_date, typology, membership_probability, cluster for every row,
        sorted by as_of_date then pseudo_id, with a fresh index.
    """
    out = assign_frame(model, features)
    out.insert(0, "as_of_date", features["as_of_date"].to_numpy())
    out.insert(0, "pseudo_id", features["pseudo_id"].to_numpy())
    return out.sort_values(["as_of_date", "pseudo_id"], kind="stable").reset_index(drop=True)


def fit_typology(features: pd.DataFrame, params: TypologyParams) -> tuple[TypologyModel, pd.DataFrame]:
    """Fit on the training window (one row per person) and assign every person-date.

    Returns
    -------
    model
        The fitted :class:`TypologyModel`.
    assignments
        :func:`assign_typology` of every row of ``features``.
    """
    train_end = pd.Timestamp(params.train_end) if params.train_end else None
    train = select_training_rows(features, train_end)
    logger.info("typology: fitting on %d people", len(train))
    model = params.estimator().fit(train)
    return model, assign_typology(model, features)


# --- A stable, non-pickle format: the fitted numbers as JSON ---------------------------


def model_to_dict(model: TypologyModel) -> dict[str, Any]:
    """Everything needed to predict again, as JSON-ready lists and numbers."""
    params = model.get_params()
    rules = params.pop("rules")
    rules = DEFAULT_RULES if rules is None else rules
    return {
        "format": MODEL_FORMAT,
        "params": params,
        "rules": {t: {m: b.model_dump(exclude_none=True) for m, b in bs.items()} for t, bs in rules.items()},
        "inputs": list(TYPOLOGY_INPUTS),
        "mixture": model.mixture_.to_dict(),
        "n_clusters": int(model.n_clusters_),
        "criterion": {str(k): v for k, v in model.criterion_.items()},
        "stability": model.stability_,
        "population_mean_offences": model.population_mean_offences_,
        "cluster_names": list(model.cluster_names_),
        "classes": [str(c) for c in model.classes_],
        "profiles": model.profiles_.reset_index().to_dict(orient="list"),
    }


def model_from_dict(data: Mapping[str, Any]) -> TypologyModel:
    """Rebuild a fitted :class:`TypologyModel` from :func:`model_to_dict` output."""
    if data.get("format") != MODEL_FORMAT:
        raise ValueError(
            f"not a typology model of this version: format {data.get('format')!r}, expected "
            f"{MODEL_FORMAT!r}; run the typology stage again (dvc repro typology)"
        )
    if list(data["inputs"]) != list(TYPOLOGY_INPUTS):
        raise ValueError("the saved model's inputs differ from this version's TYPOLOGY_INPUTS")
    rules = {t: {m: Bound(**b) for m, b in bs.items()} for t, bs in data["rules"].items()}
    model = TypologyModel(**data["params"], rules=rules)
    model.mixture_ = MixedMixture.from_dict(data["mixture"])
    model.n_clusters_ = int(data["n_clusters"])
    model.criterion_ = {int(kk): v for kk, v in data["criterion"].items()}
    model.stability_ = float(data["stability"])
    model.population_mean_offences_ = float(data["population_mean_offences"])
    model.cluster_names_ = list(data["cluster_names"])
    model.classes_ = np.array(data["classes"], dtype=object)
    model.profiles_ = pd.DataFrame(data["profiles"]).set_index("cluster")
    return model


def save_model(model: TypologyModel, path: Path) -> None:
    """Write the fitted model as JSON (floats written exactly, so reloads predict identically)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(model_to_dict(model), indent=1) + "\n", encoding="utf-8")


def load_model(path: Path) -> TypologyModel:
    """Read a model written by :func:`save_model`."""
    return model_from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


def profile_typologies(
    features: pd.DataFrame, assignments: pd.DataFrame, population_mean_offences: float
) -> pd.DataFrame:
    """Profile per typology over person-dates: size, the profile measures, reoffending rate.

    ``reoffending_rate_12m`` is the share proven to reoffend within 12 months, over the
    labelled (``label_complete``) dates only.

    Parameters
    ----------
    features
        Feature rows.
    assignments
        :func:`assign_frame`-style rows aligned with ``features`` (same index order).
    population_mean_offences
        Reference for ``offending_ratio`` (the model's ``population_mean_offences_``).
    """
    names = assignments["typology"].to_numpy(dtype=object)
    labels = [t for t in TYPOLOGY_LABELS if t in set(names)]
    onehot = (names[:, None] == np.array(labels, dtype=object)[None, :]).astype(np.float64)
    prof = profile_clusters(features, onehot, population_mean_offences)
    prof.index = pd.Index(labels, name="typology")
    prof.insert(0, "n_person_dates", onehot.sum(axis=0).astype(np.int64))
    complete = features["label_complete"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    label = features["label"].astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)
    w = onehot * complete[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        prof["reoffending_rate_12m"] = (w.T @ np.nan_to_num(label)) / w.sum(axis=0)
    return prof.drop(columns="share")
