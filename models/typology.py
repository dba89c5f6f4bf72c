"""Offender typologies: a Gaussian mixture over interpretable person-level features.

The North Staffordshire IOM evaluation looked at types of offender rather than types of
offence. :class:`TypologyModel` finds latent groups in the cohort with a Gaussian
mixture on transformed features (counts log1p'd, then standardised), chooses the number
of groups by BIC among those that are stable under bootstrap refits, and names the
groups by the documented profile rules of :mod:`models.typology_naming`.

There may be more clusters than typologies: the general majority and the seed types
are not single Gaussian blobs, so several clusters can earn the same name, and a
person's membership of a typology is the sum over its clusters. Stability is therefore
measured on the names a refit gives people, not on cluster numbers.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field, field_validator, model_validator
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import GaussianMixture
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from models.typology_naming import (
    ACQUISITIVE_GROUPS,
    DEFAULT_RULES,
    TYPOLOGY_LABELS,
    UNASSIGNED,
    VIOLENT_GROUPS,
    Bound,
    Rules,
    _longest,
    check_rules,
    name_clusters,
    profile_clusters,
)
from pipelines.config import StageParams

logger = logging.getLogger(__name__)

MODEL_FORMAT = "iom-typology/1"
CovarianceType = Literal["full", "diag", "tied", "spherical"]

# Inputs of the mixture: name -> plain-English meaning. Counts are log1p'd (they are
# heavily right-skewed: a few people have dozens of offences); needs are the 0-2 scores.
TYPOLOGY_INPUTS: dict[str, str] = {
    "age": "age in years",
    "age_first_proven": "age at first proven offence",
    "log_custody_days": "log(1 + days ever in prison)",
    "log_offences_recent": "log(1 + recorded offences in the recent window)",
    "log_homelessness": "log(1 + homelessness events in the recent window)",
    "log_absences": "log(1 + unacceptable absences from probation in the recent window)",
    "need_emotional_wellbeing": "emotional-wellbeing need (0-2; 0 if not assessed)",
    "need_drugs": "drugs need (0-2; 0 if not assessed)",
    "need_attitudes": "pro-criminal attitudes need (0-2; 0 if not assessed)",
    "known_to_health": "known to health services",
    "violence_share": "share of proven offences that are violence, robbery or weapons",
    "acquisitive_share": "share of proven offences that are theft, burglary or vehicle crime",
    "log_offences_all": "log(1 + recorded offences ever)",
    "need_thinking_behaviour": "thinking-and-behaviour need (0-2; 0 if not assessed)",
    "housing_unstable": "latest housing event is not settled accommodation",
    # Career and needs detail that tells the four types apart (issue 4, second pass):
    "log_custody_episodes": "log(1 + custody receptions ever): a long prison record is many terms",
    "log_treatment": "log(1 + treatment episodes completed or dropped out of, ever): engagement",
    "log_rough_sleeping": "log(1 + rough-sleeping events in 12 months): the most vulnerable",
    "log_vehicle_burglary": "log(1 + proven vehicle crime and burglary ever): young acquisitive careers",
    "log_weapons_robbery": "log(1 + proven weapons possession and robbery ever): violent, controlling",
}


class TypologyParams(StageParams):
    """The ``typology:`` section of params.yaml."""

    train_end: str | None = Field(
        default=None, description="last training as-of date (YYYY-MM-DD); null = last labelled date"
    )
    k_min: int = Field(default=4, ge=1)
    k_max: int = Field(default=8, ge=1)
    covariance_type: CovarianceType = "diag"
    n_init: int = Field(default=3, ge=1)
    max_iter: int = Field(default=300, ge=10)
    reg_covar: float = Field(default=1.0, gt=0)
    n_bootstrap: int = Field(default=5, ge=0)
    min_stability: float = Field(default=0.85, ge=0, le=1)
    unassigned_below: float = Field(default=0.5, ge=0, le=1)
    general_max_offending_ratio: float = Field(default=1.0, gt=0)
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
            covariance_type=self.covariance_type,
            n_init=self.n_init,
            max_iter=self.max_iter,
            reg_covar=self.reg_covar,
            n_bootstrap=self.n_bootstrap,
            min_stability=self.min_stability,
            unassigned_below=self.unassigned_below,
            general_max_offending_ratio=self.general_max_offending_ratio,
            rules=self.rules,
            random_state=self.seed,
        )


def typology_inputs(features: pd.DataFrame) -> pd.DataFrame:
    """The mixture's inputs (``TYPOLOGY_INPUTS``) from a features frame, as floats.

    Domain rules: a need not assessed counts as 0 (no need recorded); no proven offence
    means offence-mix shares of 0; unknown age at first proven offence takes the age;
    no housing record means not unstable.
    """
    f = features
    cols = f.columns

    def num(c: str) -> np.ndarray:
        return f[c].astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)

    proven = num("n_proven_offences_all")

    def share(groups: tuple[str, ...]) -> np.ndarray:
        n = sum(num(f"n_proven_{g}_all") for g in groups)
        return np.divide(n, proven, out=np.zeros_like(proven), where=proven > 0)

    age = num("age")
    first = num("age_first_proven")
    out = pd.DataFrame(
        {
            "age": age,
            "age_first_proven": np.where(np.isnan(first), age, first),
            "log_custody_days": np.log1p(num("days_in_custody_all")),
            "log_offences_recent": np.log1p(num(_longest(cols, "n_recorded_offences_"))),
            "log_homelessness": np.log1p(num(_longest(cols, "n_homelessness_events_"))),
            "log_absences": np.log1p(num(_longest(cols, "n_unacceptable_absences_"))),
            "need_emotional_wellbeing": np.nan_to_num(num("need_emotional_wellbeing")),
            "need_drugs": np.nan_to_num(num("need_drugs")),
            "need_attitudes": np.nan_to_num(num("need_attitudes")),
            "known_to_health": f["known_to_health"].astype("boolean").fillna(False).to_numpy(dtype=float),
            "violence_share": share(VIOLENT_GROUPS),
            "acquisitive_share": share(ACQUISITIVE_GROUPS),
            "log_offences_all": np.log1p(num("n_recorded_offences_all")),
            "need_thinking_behaviour": np.nan_to_num(num("need_thinking_behaviour")),
            "housing_unstable": f["housing_unstable"].astype("boolean").fillna(False).to_numpy(dtype=float),
            "log_custody_episodes": np.log1p(num("n_custody_episodes_all")),
            "log_treatment": np.log1p(num("n_treatment_completed_all") + num("n_treatment_dropouts_all")),
            "log_rough_sleeping": np.log1p(num(_longest(cols, "n_rough_sleeping_"))),
            "log_vehicle_burglary": np.log1p(
                num("n_proven_vehicle_crime_all") + num("n_proven_burglary_all")
            ),
            "log_weapons_robbery": np.log1p(
                num("n_proven_possession_of_weapons_all") + num("n_proven_robbery_all")
            ),
        },
        index=features.index,
    )
    if out.isna().any().any():
        bad = out.columns[out.isna().any()].tolist()
        raise ValueError(f"typology inputs have missing values in {bad}: check the features stage")
    return out


def _input_names(_transformer: Any, _names: Any) -> np.ndarray:
    return np.array(list(TYPOLOGY_INPUTS), dtype=object)


def make_preprocessor() -> Pipeline:
    """Inputs, then standardisation, keeping column names (pandas output)."""
    pipe = Pipeline(
        [
            ("inputs", FunctionTransformer(typology_inputs, feature_names_out=_input_names, validate=False)),
            ("scale", StandardScaler()),
        ]
    )
    return pipe.set_output(transform="pandas")


class TypologyModel(ClusterMixin, BaseEstimator):
    """Latent-profile typology model over person-level features.

    Parameters
    ----------
    k_min, k_max
        Bounds on the number of clusters.
    covariance_type, n_init, max_iter, reg_covar
        Passed to :class:`sklearn.mixture.GaussianMixture`; ``reg_covar`` is added to the
        variances of the standardised inputs so that spikes of tied values (many
        zeros) do not collapse a component.
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
    random_state
        Seed for every fit and resample (``None`` means 0: fits are always
        reproducible). Each ``k`` draws from its own stream seeded by
        ``(random_state, k)``, so its fit does not depend on the bounds searched.

    Attributes
    ----------
    preprocessor_ : Pipeline
    mixture_ : GaussianMixture
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
        k_min: int = 4,
        k_max: int = 8,
        covariance_type: CovarianceType = "diag",
        n_init: int = 3,
        max_iter: int = 300,
        reg_covar: float = 1.0,
        n_bootstrap: int = 5,
        min_stability: float = 0.85,
        unassigned_below: float = 0.5,
        general_max_offending_ratio: float = 1.0,
        rules: Rules | None = None,
        random_state: int | None = None,
    ) -> None:
        self.k_min = k_min
        self.k_max = k_max
        self.covariance_type = covariance_type
        self.n_init = n_init
        self.max_iter = max_iter
        self.reg_covar = reg_covar
        self.n_bootstrap = n_bootstrap
        self.min_stability = min_stability
        self.unassigned_below = unassigned_below
        self.general_max_offending_ratio = general_max_offending_ratio
        self.rules = rules
        self.random_state = random_state

    def _mixture(self, k: int, seed: int) -> GaussianMixture:
        return GaussianMixture(
            n_components=k,
            covariance_type=self.covariance_type,
            n_init=self.n_init,
            max_iter=self.max_iter,
            reg_covar=self.reg_covar,
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
        n = len(X)
        if n < 2 * self.k_max:
            raise ValueError(f"{n} rows is too few to fit up to {self.k_max} clusters")
        self.preprocessor_ = make_preprocessor().fit(X)
        Z = self.preprocessor_.transform(X).to_numpy(dtype=np.float64)
        fits: dict[int, GaussianMixture] = {}
        criterion: dict[int, dict[str, float]] = {}
        for k in range(self.k_min, self.k_max + 1):
            # Seeds per k, so a k's fit and stability do not depend on the bounds searched.
            rng = np.random.default_rng([0 if self.random_state is None else self.random_state, k])
            gm = self._mixture(k, int(rng.integers(2**31 - 1))).fit(Z)
            ref = gm.predict(Z)
            ref_named = self._named(X, gm.predict_proba(Z), rules)
            scores, cluster_scores = [], []
            for _ in range(self.n_bootstrap):
                idx = rng.integers(0, n, n)
                boot = self._mixture(k, int(rng.integers(2**31 - 1))).fit(Z[idx])
                resp = boot.predict_proba(Z)
                # Stability of what the panel sees: the named typology, each refit named
                # by the same rules. Clusters that share a name may swap members between
                # refits without changing anyone's typology.
                scores.append(adjusted_rand_score(ref_named, self._named(X, resp, rules)))
                cluster_scores.append(adjusted_rand_score(ref, resp.argmax(axis=1)))
            stability = float(np.mean(scores)) if scores else 1.0
            fits[k] = gm
            criterion[k] = {
                "bic": float(gm.bic(Z)),
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
        names = np.asarray(name_clusters(profile_clusters(X, resp), rules, self.general_max_offending_ratio))
        labels = np.unique(names)
        proba = resp @ (names[:, None] == labels[None, :]).astype(np.float64)
        return np.asarray(labels[proba.argmax(axis=1)])

    def cluster_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Membership probability of each row in each cluster, shape (n_rows, n_clusters)."""
        Z = self.preprocessor_.transform(X).to_numpy(dtype=np.float64)
        return np.asarray(self.mixture_.predict_proba(Z))

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Membership probability of each typology (columns ``classes_``): clusters sharing a name add up."""
        resp = self.cluster_proba(X)
        names = np.asarray(self.cluster_names_, dtype=object)
        onehot = (names[:, None] == self.classes_[None, :]).astype(np.float64)
        return resp @ onehot

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
    proba = model.predict_proba(X)
    best = proba.argmax(axis=1)
    p = proba[np.arange(len(best)), best]
    names = model.classes_[best]
    names = np.where(p < model.unassigned_below, UNASSIGNED, names)
    cluster = model.cluster_proba(X).argmax(axis=1).astype(np.int32)
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
    scaler: StandardScaler = model.preprocessor_.named_steps["scale"]
    gm = model.mixture_
    params = model.get_params()
    rules = params.pop("rules")
    rules = DEFAULT_RULES if rules is None else rules
    return {
        "format": MODEL_FORMAT,
        "params": params,
        "rules": {t: {m: b.model_dump(exclude_none=True) for m, b in bs.items()} for t, bs in rules.items()},
        "inputs": list(TYPOLOGY_INPUTS),
        "scaler": {
            "mean": scaler.mean_.tolist(),
            "scale": scaler.scale_.tolist(),
            "var": scaler.var_.tolist(),
            "n_samples_seen": int(np.max(scaler.n_samples_seen_)),
        },
        "mixture": {
            "covariance_type": gm.covariance_type,
            "weights": gm.weights_.tolist(),
            "means": gm.means_.tolist(),
            "covariances": gm.covariances_.tolist(),
            "precisions_cholesky": gm.precisions_cholesky_.tolist(),
        },
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
        raise ValueError(f"not a typology model: format {data.get('format')!r}, expected {MODEL_FORMAT!r}")
    if list(data["inputs"]) != list(TYPOLOGY_INPUTS):
        raise ValueError("the saved model's inputs differ from this version's TYPOLOGY_INPUTS")
    rules = {t: {m: Bound(**b) for m, b in bs.items()} for t, bs in data["rules"].items()}
    model = TypologyModel(**data["params"], rules=rules)
    pre = make_preprocessor()
    scaler: StandardScaler = pre.named_steps["scale"]
    s = data["scaler"]
    names = np.array(data["inputs"], dtype=object)
    scaler.mean_ = np.asarray(s["mean"], dtype=np.float64)
    scaler.scale_ = np.asarray(s["scale"], dtype=np.float64)
    scaler.var_ = np.asarray(s["var"], dtype=np.float64)
    scaler.n_samples_seen_ = np.int64(s["n_samples_seen"])
    scaler.n_features_in_ = len(names)
    scaler.feature_names_in_ = names
    m = data["mixture"]
    k = int(data["n_clusters"])
    gm = GaussianMixture(n_components=k, covariance_type=m["covariance_type"])
    gm.weights_ = np.asarray(m["weights"], dtype=np.float64)
    gm.means_ = np.asarray(m["means"], dtype=np.float64)
    gm.covariances_ = np.asarray(m["covariances"], dtype=np.float64)
    gm.precisions_cholesky_ = np.asarray(m["precisions_cholesky"], dtype=np.float64)
    gm.n_features_in_ = len(names)
    gm.converged_ = True
    model.preprocessor_ = pre
    model.mixture_ = gm
    model.n_clusters_ = k
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
