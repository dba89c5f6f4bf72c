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
from joblib import Parallel, delayed
from pydantic import Field, field_validator, model_validator
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.metrics import adjusted_rand_score

from iom_config import StageParams
from iom_contract import NEEDS, OFFENCE_GROUPS
from models.latent_class import MixedMixture, adapt_mixing_weights, posterior_from
from models.typology_naming import (
    DEFAULT_PERSON_RULES,
    DEFAULT_RULES,
    NO_STRUCTURE_MESSAGE,
    SEED_TYPOLOGIES,
    TYPOLOGY_LABELS,
    UNASSIGNED,
    Bound,
    Rules,
    _longest,
    check_rules,
    contradicted_rules,
    name_clusters,
    profile_clusters,
)

logger = logging.getLogger(__name__)

MODEL_FORMAT = "iom-typology/3"

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
    k_max: int = Field(default=14, ge=1)
    var_floor: float = Field(default=0.3, gt=0)
    alpha: float = Field(default=1.0, ge=0)
    n_init: int = Field(default=3, ge=1)
    max_iter: int = Field(default=500, ge=10)
    tol: float = Field(default=1e-6, gt=0)
    n_bootstrap: int = Field(default=3, ge=0)
    min_stability: float = Field(default=0.85, ge=0, le=1)
    min_typology_stability: float = Field(default=0.75, ge=0, le=1)
    min_typology_separation: float = Field(default=0.7, ge=0, le=1)
    n_null: int = Field(default=1, ge=0)
    unassigned_below: float = Field(default=0.6, ge=0, le=1)
    general_max_offending_ratio: float = Field(default=1.0, gt=0)
    fit_sample: int | None = Field(default=25_000, ge=100)
    pool_history: bool = True
    adapt_priors: bool = False
    adapt_pseudo_count: float = Field(default=100.0, ge=0)
    rules: dict[str, dict[str, Bound]] = Field(default_factory=lambda: dict(DEFAULT_RULES))
    person_rules: dict[str, dict[str, Bound]] = Field(default_factory=lambda: dict(DEFAULT_PERSON_RULES))
    n_jobs: int = Field(default=1, ge=1)
    seed: int = 42

    @model_validator(mode="after")
    def _check(self) -> TypologyParams:
        if self.k_min > self.k_max:
            raise ValueError(f"k_min {self.k_min} is above k_max {self.k_max}")
        check_rules(self.rules)
        check_rules(self.person_rules)
        return self

    @field_validator("train_end")
    @classmethod
    def _date(cls, v: str | None) -> str | None:
        if v is not None:
            pd.Timestamp(v)
        return v

    # The one source of the typology defaults: TypologyModel's __init__ takes its
    # defaults from these fields (``_DEFAULTS`` below), and params.yaml repeats them.
    def estimator(self) -> TypologyModel:
        """A :class:`TypologyModel` with these settings."""
        return TypologyModel(
            k_min=self.k_min,
            k_max=self.k_max,
            var_floor=self.var_floor,
            alpha=self.alpha,
            n_init=self.n_init,
            max_iter=self.max_iter,
            tol=self.tol,
            n_bootstrap=self.n_bootstrap,
            min_stability=self.min_stability,
            min_typology_stability=self.min_typology_stability,
            min_typology_separation=self.min_typology_separation,
            n_null=self.n_null,
            unassigned_below=self.unassigned_below,
            general_max_offending_ratio=self.general_max_offending_ratio,
            fit_sample=self.fit_sample,
            pool_history=self.pool_history,
            adapt_priors=self.adapt_priors,
            adapt_pseudo_count=self.adapt_pseudo_count,
            rules=self.rules,
            person_rules=self.person_rules,
            n_jobs=self.n_jobs,
            random_state=self.seed,
        )


_DEFAULTS = TypologyParams()


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


def pool_person_history(log_conditional: np.ndarray, person: np.ndarray, as_of: np.ndarray) -> np.ndarray:
    """Each row's log p(x | cluster) averaged over the same person's rows up to its as-of date.

    A typology is a trait of the person, and each as-of date is another look at it. The
    looks are not independent (a later date sees the earlier records again), so adding
    their log-likelihoods would count the same records many times over and overstate
    certainty. The average (a geometric mean of the likelihoods, a tempered product)
    keeps the weight of evidence of one look while letting every look have its say.
    Only rows on or before a row's own as-of date count, so records dated after it
    still cannot change its typology. Worked example: a person seen at 31 Jan and
    28 Feb has, at 28 Feb, the mean of the two dates' log-likelihoods; at 31 Jan only
    that date's.

    Parameters
    ----------
    log_conditional
        log p(x | cluster) per row, shape (n, k).
    person, as_of
        Each row's ``pseudo_id`` and ``as_of_date``.
    """
    codes = pd.factorize(pd.Series(person), sort=False)[0]
    order = np.lexsort((as_of, codes))
    ids = codes[order]
    frame = pd.DataFrame(log_conditional[order])
    pooled = frame.groupby(ids, sort=False).cumsum().to_numpy() / (
        frame.groupby(ids, sort=False).cumcount().to_numpy()[:, None] + 1.0
    )
    out = np.empty_like(pooled)
    out[order] = pooled
    return out


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


def permute_columns(X: pd.DataFrame, seed: int) -> pd.DataFrame:
    """``X`` with every column shuffled on its own: the same margins, no association left.

    This is the structure-destroyed null: any cluster the model finds in it comes from
    the shapes of the single inputs, not from people sharing several traits.
    """
    rng = np.random.default_rng([seed, 1])
    n = len(X)
    return pd.DataFrame({c: X[c].to_numpy()[rng.permutation(n)] for c in X.columns}, index=X.index).astype(
        X.dtypes.to_dict()
    )


def _named(X: pd.DataFrame, resp: np.ndarray, rules: Rules, general_max_offending_ratio: float) -> np.ndarray:
    """Most probable typology per row, clusters named by ``rules`` from their profiles on ``X``."""
    names = name_clusters(profile_clusters(X, resp), rules, general_max_offending_ratio)
    labels = np.unique(np.asarray(names, dtype=object))
    return np.asarray(labels[sum_by_name(resp, names, labels).argmax(axis=1)])


def _jaccard(a: np.ndarray, b: np.ndarray) -> float:
    union = int((a | b).sum())
    return float((a & b).sum() / union) if union else 1.0


def _fit_candidate(
    model: TypologyModel, X: pd.DataFrame, Z: pd.DataFrame, k: int, seed: int, rules: Rules
) -> tuple[MixedMixture, dict[str, Any]]:
    """Fit ``k`` clusters and score them on bootstrap refits (one job of the k search)."""
    # Seeds per k, so a k's fit and stability do not depend on the bounds searched.
    rng = np.random.default_rng([seed, k])
    n = len(Z)
    mix = model._mixture(k, int(rng.integers(2**31 - 1))).fit(Z)
    resp_full = mix.predict_proba(Z)
    ref = resp_full.argmax(axis=1)
    ref_named = _named(X, resp_full, rules, model.general_max_offending_ratio)
    scores, cluster_scores = [], []
    jaccard: dict[str, list[float]] = {t: [] for t in np.unique(ref_named)}
    for _ in range(model.n_bootstrap):
        idx = rng.integers(0, n, n)
        # Every refit starts afresh (n_init starts), never from the full fit: a warm start
        # would make arbitrary cut points through a continuum look stable.
        boot = model._mixture(k, int(rng.integers(2**31 - 1))).fit(Z.iloc[idx])
        resp = boot.predict_proba(Z)
        named = _named(X, resp, rules, model.general_max_offending_ratio)
        # Stability of what the panel sees: the named typology, each refit named by the
        # same rules. Clusters that share a name may swap members between refits without
        # changing anyone's typology.
        scores.append(adjusted_rand_score(ref_named, named))
        cluster_scores.append(adjusted_rand_score(ref, resp.argmax(axis=1)))
        # Each typology's own stability: Jaccard similarity of its members (Hennig 2007).
        for t in jaccard:
            jaccard[t].append(_jaccard(ref_named == t, named == t))
    criterion = {
        "bic": mix.bic(Z),
        "stability": float(np.mean(scores)) if scores else 1.0,
        "stability_clusters": float(np.mean(cluster_scores)) if cluster_scores else 1.0,
        "typology_stability": {t: float(np.mean(v)) if v else 1.0 for t, v in jaccard.items()},
    }
    return mix, criterion


def _fit_null(model: TypologyModel, X: pd.DataFrame, k: int, seed: int) -> float:
    """BIC gain per person of ``k`` clusters over one, on structure-destroyed data."""
    Zp = typology_inputs(permute_columns(X, seed)).reset_index(drop=True)
    mix = model._mixture(k, seed).fit(Zp)
    one = model._mixture(1, seed).fit(Zp)
    return (one.bic(Zp) - mix.bic(Zp)) / len(Zp)


class TypologyModel(ClusterMixin, BaseEstimator):
    """Latent class typology model over person-level traits, shown only where the types are real.

    Parameters
    ----------
    (Defaults are :class:`TypologyParams`'s, the one source; ``rules=None`` means
    its default rules, and ``random_state`` keeps scikit-learn's ``None``.)

    k_min, k_max
        Bounds on the number of clusters.
    var_floor, alpha, n_init, max_iter, tol
        Passed to :class:`models.latent_class.MixedMixture`: ``var_floor`` is added to the
        class variances of the standardised continuous inputs (broad clusters: the
        traits are noisy measurements), ``alpha`` smooths the category and offence-mix
        probabilities, ``tol`` stops EM when the mean log-likelihood per person gains
        less than it.
    n_bootstrap
        Refits on bootstrap resamples per candidate ``k`` for the stability scores (0
        skips them: every ``k`` and typology counts as stable). Each refit is the same
        procedure as the full fit (``n_init`` fresh starts), so stability measures the
        method, not luck.
    min_stability
        A ``k`` is eligible when its mean adjusted Rand index between the named
        typologies of the full fit and of the bootstrap refits (each named by the same
        rules, all predicting the full data) reaches this; the eligible ``k`` with the
        lowest BIC is chosen (if none is eligible, the most stable, and no typology is
        shown). Several clusters may share a name, so stability is judged on the names,
        not the cluster numbers (``criterion_[k]["stability_clusters"]`` keeps the
        cluster-level figure).
    min_typology_stability
        A named seed typology is shown only if the mean Jaccard similarity of its members
        between the full fit and the refits reaches this (Hennig's 0.75: "stable").
    min_typology_separation
        ... and if the average membership probability of the people it is given to
        (average posterior probability, AvePP) reaches this (Nagin's 0.7).
    n_null
        The chosen ``k`` is also fitted to ``n_null`` copies of the data with every
        feature shuffled on its own (:func:`permute_columns`). The structure is real only
        if the data gain more BIC over a one-cluster fit than every such null does.
    unassigned_below
        A person whose most probable shown typology has a membership probability below
        this is ``unassigned``.
    general_max_offending_ratio, rules
        Naming rules (see :mod:`models.typology_naming`).
    person_rules
        Bounds that a person's own record must not break to carry a typology without
        qualification (:func:`models.typology_naming.contradicted_rules`); those who
        break one are marked ``atypical`` with the reason.
    fit_sample
        Fit on at most this many people (a seeded random sample; ``None``: everyone).
    pool_history
        When assigning, pool each row's evidence with the same person's earlier rows
        (:func:`pool_person_history`): a person's typology is judged on their whole
        history of as-of dates up to the row's, never on later ones.
    adapt_priors
        When assigning, re-estimate the clusters' mixing weights on the people of each
        as-of date (prior-shift adaptation, :meth:`MixedMixture.adapt_weights`), the
        clusters themselves held as fitted, and compute memberships with those weights.
        A person's typology then also depends on the mix of the cohort they are
        assigned with (everyone at the same as-of date in the same call).
    adapt_pseudo_count
        The fitted weights count as this many people in that re-estimate.
    n_jobs
        Candidate ``k`` fitted in parallel (processes). Results do not depend on it.
    random_state
        Seed for every fit and resample (``None`` means 0: fits are always
        reproducible). Each ``k`` draws from its own stream seeded by
        ``(random_state, k)``, so its fit does not depend on the bounds searched.

    Attributes
    ----------
    mixture_ : MixedMixture
    n_clusters_ : int
    criterion_ : dict mapping k to {"bic", "stability", "stability_clusters", "typology_stability"}
    stability_ : float
        Stability of the chosen ``k``.
    profiles_ : DataFrame
        Cluster profiles on the fit data.
    cluster_names_ : list of str
        The name each cluster's profile earns under the rules.
    shown_names_ : list of str
        The name shown for each cluster: ``cluster_names_`` with every typology that
        failed its checks, or all of them when no structure was found, set to
        ``unassigned``.
    structure_ : dict
        The evidence and the decision: ``found`` (bool), ``message``, ``reasons`` (why
        not), ``bic_gain_per_person`` and ``null_bic_gain_per_person``, and per named
        typology its ``stability``, ``separation``, ``share``, ``shown`` and ``reasons``.
    classes_ : ndarray of str
        Typology names shown, the columns of :meth:`predict_proba`.
    """

    def __init__(
        self,
        k_min: int = _DEFAULTS.k_min,
        k_max: int = _DEFAULTS.k_max,
        var_floor: float = _DEFAULTS.var_floor,
        alpha: float = _DEFAULTS.alpha,
        n_init: int = _DEFAULTS.n_init,
        max_iter: int = _DEFAULTS.max_iter,
        tol: float = _DEFAULTS.tol,
        n_bootstrap: int = _DEFAULTS.n_bootstrap,
        min_stability: float = _DEFAULTS.min_stability,
        min_typology_stability: float = _DEFAULTS.min_typology_stability,
        min_typology_separation: float = _DEFAULTS.min_typology_separation,
        n_null: int = _DEFAULTS.n_null,
        unassigned_below: float = _DEFAULTS.unassigned_below,
        general_max_offending_ratio: float = _DEFAULTS.general_max_offending_ratio,
        fit_sample: int | None = _DEFAULTS.fit_sample,
        pool_history: bool = _DEFAULTS.pool_history,
        adapt_priors: bool = _DEFAULTS.adapt_priors,
        adapt_pseudo_count: float = _DEFAULTS.adapt_pseudo_count,
        rules: Rules | None = None,
        person_rules: Rules | None = None,
        n_jobs: int = _DEFAULTS.n_jobs,
        random_state: int | None = None,
    ) -> None:
        self.k_min = k_min
        self.k_max = k_max
        self.var_floor = var_floor
        self.alpha = alpha
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.n_bootstrap = n_bootstrap
        self.min_stability = min_stability
        self.min_typology_stability = min_typology_stability
        self.min_typology_separation = min_typology_separation
        self.n_null = n_null
        self.unassigned_below = unassigned_below
        self.general_max_offending_ratio = general_max_offending_ratio
        self.fit_sample = fit_sample
        self.pool_history = pool_history
        self.adapt_priors = adapt_priors
        self.adapt_pseudo_count = adapt_pseudo_count
        self.rules = rules
        self.person_rules = person_rules
        self.n_jobs = n_jobs
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
            tol=self.tol,
            random_state=seed,
        )

    def fit(self, X: pd.DataFrame, y: Any = None) -> TypologyModel:
        """Choose ``k``, fit the mixture, name the clusters and decide which names to show.

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
        check_rules(DEFAULT_PERSON_RULES if self.person_rules is None else self.person_rules)
        seed = 0 if self.random_state is None else self.random_state
        X = sample_for_fit(X, self.fit_sample, seed).reset_index(drop=True)
        n = len(X)
        if n < 2 * self.k_max:
            raise ValueError(f"{n} rows is too few to fit up to {self.k_max} clusters")
        Z = typology_inputs(X).reset_index(drop=True)
        ks = list(range(self.k_min, self.k_max + 1))
        jobs = Parallel(n_jobs=min(self.n_jobs, len(ks)))(
            delayed(_fit_candidate)(self, X, Z, k, seed, rules) for k in ks
        )
        fits = {k: job[0] for k, job in zip(ks, jobs, strict=True)}
        criterion = {k: job[1] for k, job in zip(ks, jobs, strict=True)}
        for k in ks:
            logger.info(
                "typology k=%d: BIC %.1f, stability %.3f (clusters %.3f)",
                k,
                criterion[k]["bic"],
                criterion[k]["stability"],
                criterion[k]["stability_clusters"],
            )
        eligible = [k for k, c in criterion.items() if c["stability"] >= self.min_stability]
        if eligible:
            k_best = min(eligible, key=lambda k: criterion[k]["bic"])
        else:
            k_best = max(criterion, key=lambda k: criterion[k]["stability"])
            logger.warning("no k reached stability %.2f; the most stable is %d", self.min_stability, k_best)
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
        nulls = Parallel(n_jobs=min(self.n_jobs, max(self.n_null, 1)))(
            delayed(_fit_null)(self, X, k_best, int(s))
            for s in np.random.default_rng([seed, 2]).integers(0, 2**31 - 1, self.n_null)
        )
        one = self._mixture(1, seed).fit(Z)
        self.structure_ = self._decide(X, Z, resp, one.bic(Z), list(nulls))
        checks = self.structure_["typologies"]
        self.shown_names_ = [
            name if self.structure_["found"] and checks.get(name, {}).get("shown", True) else UNASSIGNED
            for name in self.cluster_names_
        ]
        self.classes_ = np.array([t for t in TYPOLOGY_LABELS if t in self.shown_names_], dtype=object)
        logger.info("typology: k=%d clusters named %s", k_best, self.cluster_names_)
        if not self.structure_["found"]:
            logger.warning("typology: %s (%s)", NO_STRUCTURE_MESSAGE, "; ".join(self.structure_["reasons"]))
        return self

    def _decide(
        self,
        X: pd.DataFrame,
        Z: pd.DataFrame,
        resp: np.ndarray,
        bic_one: float,
        nulls: list[float],
    ) -> dict[str, Any]:
        """Whether the typologies are real, from the data alone (never from any truth)."""
        n = len(Z)
        gain = (bic_one - self.mixture_.bic(Z)) / n
        null_gain = [float(v) for v in nulls]
        names = np.asarray(self.cluster_names_, dtype=object)
        labels = np.array([t for t in TYPOLOGY_LABELS if t in self.cluster_names_], dtype=object)
        proba = sum_by_name(resp, names, labels)
        best = proba.argmax(axis=1)
        typologies: dict[str, dict[str, Any]] = {}
        for j, t in enumerate(labels):
            if t not in SEED_TYPOLOGIES:
                continue
            given = best == j
            share = float(given.mean())
            stability = float(self.criterion_[self.n_clusters_]["typology_stability"].get(t, 0.0))
            separation = float(proba[given, j].mean()) if given.any() else 0.0
            why = []
            if stability < self.min_typology_stability:
                why.append(f"stability {stability:.2f} < {self.min_typology_stability}")
            if separation < self.min_typology_separation:
                why.append(f"separation {separation:.2f} < {self.min_typology_separation}")
            typologies[str(t)] = {
                "stability": round(stability, 4),
                "separation": round(separation, 4),
                "share": round(share, 4),
                "shown": not why,
                "reasons": why,
            }
        reasons = []
        if self.stability_ < self.min_stability:
            reasons.append(f"no k reached stability {self.min_stability} (best {self.stability_:.2f})")
        if null_gain and gain <= max(null_gain):
            reasons.append(
                f"BIC gain over one cluster {gain:.3f} per person is no more than shuffled data's "
                f"{max(null_gain):.3f}"
            )
        if not any(v["shown"] for v in typologies.values()):
            reasons.append("no seed typology passed its own stability and separation checks")
        found = not reasons
        return {
            "found": found,
            "message": "" if found else NO_STRUCTURE_MESSAGE,
            "reasons": reasons,
            "bic_gain_per_person": round(float(gain), 4),
            "null_bic_gain_per_person": [round(v, 4) for v in null_gain],
            "typologies": typologies,
        }

    def cluster_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Membership probability of each row in each cluster, shape (n_rows, n_clusters).

        With ``pool_history`` a row's evidence is pooled with the same person's earlier
        rows of ``X`` (:func:`pool_person_history`); with ``adapt_priors`` the mixing
        weights are re-estimated on the rows of each ``as_of_date`` of ``X``
        (:func:`models.latent_class.adapt_mixing_weights`). Without ``pseudo_id`` and
        ``as_of_date`` columns every row stands alone, and all rows are one cohort.
        """
        Z = typology_inputs(X)
        if not (self.pool_history or self.adapt_priors):
            return np.asarray(self.mixture_.predict_proba(Z))
        cond = self.mixture_.log_conditional(Z)
        dated = {"pseudo_id", "as_of_date"} <= set(X.columns)
        if self.pool_history and dated:
            if len(X) and X["as_of_date"].nunique() == 1:
                # e.g. `iom score` on one panel date: nothing to pool with.
                logger.warning(
                    "typology: pool_history is on but only one as-of date was given, so each "
                    "person is judged on that date alone; the typology stage judges them on all "
                    "their as-of dates, and may differ. Pass the earlier dates' features to match."
                )
            cond = pool_person_history(cond, X["pseudo_id"].to_numpy(), X["as_of_date"].to_numpy())
        weights = self.mixture_.weights_
        if self.adapt_priors:
            groups = X["as_of_date"].to_numpy() if "as_of_date" in X.columns else None
            weights = adapt_mixing_weights(cond, weights, groups, pseudo_count=self.adapt_pseudo_count)
        return posterior_from(cond, weights)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Membership of each shown typology (columns ``classes_``): clusters sharing a name add up."""
        return sum_by_name(self.cluster_proba(X), self.shown_names_, self.classes_)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Typology name per row (``unassigned`` below the membership threshold or when none is shown)."""
        return assign_frame(self, X)["typology"].to_numpy(dtype=object)


def assign_frame(model: TypologyModel, X: pd.DataFrame) -> pd.DataFrame:
    """Typology, membership probability, most probable cluster and atypical marker per row of ``X``.

    Returns
    -------
    pandas.DataFrame
        Index of ``X``; columns ``typology`` (str), ``membership_probability`` (float,
        the probability of the most probable shown typology, ``unassigned`` excluded; 0
        when no typology is shown), ``cluster`` (int32), ``atypical`` (bool: the person's
        own record breaks a person rule of the typology given) and ``atypical_reason``
        (str, the bounds broken; "" if none).
    """
    resp = model.cluster_proba(X)
    named = np.array([t for t in model.classes_ if t != UNASSIGNED], dtype=object)
    cluster = resp.argmax(axis=1).astype(np.int32)
    if len(named):
        proba = sum_by_name(resp, model.shown_names_, named)
        best = proba.argmax(axis=1)
        p = proba[np.arange(len(best)), best]
        names = np.where(p < model.unassigned_below, UNASSIGNED, named[best])
    else:
        p = np.zeros(len(X))
        names = np.full(len(X), UNASSIGNED, dtype=object)
    person_rules = DEFAULT_PERSON_RULES if model.person_rules is None else model.person_rules
    reason = contradicted_rules(X, names, person_rules) if len(X) else np.array([], dtype=object)
    return pd.DataFrame(
        {
            "typology": pd.array(names, dtype="str"),
            "membership_probability": p.astype(np.float64),
            "cluster": cluster,
            "atypical": reason != "",
            "atypical_reason": pd.array(reason, dtype="str"),
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
    Each row is assigned from features as of its own date: its own row and, with
    ``pool_history``, the same person's earlier rows (with ``adapt_priors``, also the
    mix of everyone at that date), so records dated after a row's as-of date cannot
    change its typology. Pass every as-of date of a person together.

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


def assign_typology_at(model: TypologyModel, features: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """:func:`assign_typology` of the rows dated ``as_of``, each judged as the typology stage judges it.

    With ``pool_history`` a person's typology at a date pools their rows at earlier
    dates, so ``features`` should hold every as-of date the features stage builds up to
    ``as_of`` (``iom score`` builds them with :func:`features.as_of_dates_before_panel`);
    only the rows at ``as_of`` are returned. Without pooling the earlier rows change
    nothing.
    """
    out = assign_typology(model, features)
    return out[out["as_of_date"].eq(pd.Timestamp(as_of)).to_numpy(dtype=bool)].reset_index(drop=True)


def fit_typology(features: pd.DataFrame, params: TypologyParams) -> tuple[TypologyModel, pd.DataFrame]:
    """Fit on the training window (one row per person) and assign every person-date.

    Returns
    -------
    model
        The fitted :class:`TypologyModel`.
    assignments
        :func:`assign_typology` of every row of ``features``.
    """
    model = fit_typology_model(features, params)
    return model, assign_typology(model, features)


def fit_typology_model(features: pd.DataFrame, params: TypologyParams) -> TypologyModel:
    """The fit of :func:`fit_typology` alone: on the training window, one row per person
    (of whom the model uses a seeded ``fit_sample``); assign with :func:`assign_typology`
    or, per partition of people, :func:`models.spark.assign_typology_spark`."""
    train_end = pd.Timestamp(params.train_end) if params.train_end else None
    train = select_training_rows(features, train_end)
    logger.info("typology: fitting on %d people", len(train))
    return params.estimator().fit(train)


# --- A stable, non-pickle format: the fitted numbers as JSON ---------------------------


def model_to_dict(model: TypologyModel) -> dict[str, Any]:
    """Everything needed to predict again, as JSON-ready lists and numbers."""
    params = model.get_params()
    rules = params.pop("rules")
    rules = DEFAULT_RULES if rules is None else rules
    person_rules = params.pop("person_rules")
    person_rules = DEFAULT_PERSON_RULES if person_rules is None else person_rules
    return {
        "format": MODEL_FORMAT,
        "params": params,
        "rules": {t: {m: b.model_dump(exclude_none=True) for m, b in bs.items()} for t, bs in rules.items()},
        "person_rules": {
            t: {m: b.model_dump(exclude_none=True) for m, b in bs.items()} for t, bs in person_rules.items()
        },
        "inputs": list(TYPOLOGY_INPUTS),
        "mixture": model.mixture_.to_dict(),
        "n_clusters": int(model.n_clusters_),
        "criterion": {str(k): v for k, v in model.criterion_.items()},
        "stability": model.stability_,
        "population_mean_offences": model.population_mean_offences_,
        "cluster_names": list(model.cluster_names_),
        "shown_names": list(model.shown_names_),
        "structure": model.structure_,
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
    person_rules = {t: {m: Bound(**b) for m, b in bs.items()} for t, bs in data["person_rules"].items()}
    model = TypologyModel(**data["params"], rules=rules, person_rules=person_rules)
    model.mixture_ = MixedMixture.from_dict(data["mixture"])
    model.n_clusters_ = int(data["n_clusters"])
    model.criterion_ = {int(kk): v for kk, v in data["criterion"].items()}
    model.stability_ = float(data["stability"])
    model.population_mean_offences_ = float(data["population_mean_offences"])
    model.cluster_names_ = list(data["cluster_names"])
    model.shown_names_ = list(data["shown_names"])
    model.structure_ = dict(data["structure"])
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
