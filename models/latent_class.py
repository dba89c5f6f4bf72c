"""A latent class model for mixed data: Gaussian, categorical and count blocks, with gaps.

Offender records mix measurements of different kinds, and a single Gaussian mixture
over all of them (after log transforms and scaling) mistreats most of them: a need
score is a category, not a number; an offence history is a set of counts over offence
groups, whose *mix* carries the information; and a value that was never recorded (no
needs assessment, no supervision contact) is not a zero. :class:`MixedMixture` is the
latent class / latent profile model that handles each kind with its own likelihood,
assuming the blocks independent given the class (the usual local-independence
assumption of latent class analysis):

``gaussian``
    Continuous measures, each a normal per class (diagonal), standardised on fit. A
    missing value (NaN) drops out of that person's likelihood: the class is judged on
    what was recorded. ``var_floor`` (in standard deviations squared) keeps any class
    from collapsing onto a spike of tied values.
``categorical``
    Whole-number codes ``0 .. levels-1`` per column (NaN: not recorded), a categorical
    distribution per class with a symmetric Dirichlet prior ``alpha`` spread over the
    levels.
``counts``
    Non-negative counts over categories (e.g. proven offences by group), one
    multinomial per class: the likelihood of a person's counts is the class's mix raised
    to them, so the evidence grows with the number of offences.

The model is fitted by expectation-maximisation from ``n_init`` k-means starts on the
standardised Gaussian block and keeps the start with the highest likelihood. All data
paths are matrix products over people, so a fit is linear in the number of people.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.special import logsumexp
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import KMeans
from threadpoolctl import threadpool_limits

MIXTURE_FORMAT = "iom-mixed-mixture/1"
_LOG_2PI = float(np.log(2 * np.pi))
# Posterior probabilities below this are set to 0. Far smaller than any that matters, and
# it keeps subnormal floats (exp of very negative log-odds) out of the matrix products,
# where they slow a product down about tenfold on x86.
_TINY = 1e-100


def _posterior(joint: np.ndarray, norm: np.ndarray) -> np.ndarray:
    """exp(joint - norm) per row, with probabilities below ``_TINY`` set to exactly 0."""
    resp = np.exp(joint - norm[:, None])
    resp[resp < _TINY] = 0.0
    return resp


class MixedMixture(ClusterMixin, BaseEstimator):
    """Latent class model over Gaussian, categorical and count columns of a DataFrame.

    Parameters
    ----------
    n_components
        Number of latent classes.
    gaussian
        Names of continuous columns (NaN = not recorded).
    categorical
        Column name -> number of levels; values are codes ``0 .. levels-1`` or NaN.
    counts
        Names of count columns modelled together as one multinomial per class.
    var_floor
        Added to every class variance of the standardised Gaussian columns.
    alpha
        Dirichlet smoothing: ``alpha`` pseudo-observations spread over the levels of each
        categorical column, and ``alpha`` per count category.
    n_init, max_iter, tol
        EM starts, iteration cap, and convergence on the mean log-likelihood per row.
    random_state
        Seed of the k-means starts (``None`` means 0: fits are always reproducible).

    Attributes
    ----------
    weights_ : ndarray (k,)
    means_, variances_ : ndarray (k, n_gaussian), in standardised units
    center_, scale_ : ndarray (n_gaussian,), the standardisation
    level_probs_ : dict column -> ndarray (k, levels)
    count_probs_ : ndarray (k, n_counts)
    log_likelihood_ : float, total over the fit rows
    n_iter_ : int, converged_ : bool
    """

    def __init__(
        self,
        n_components: int = 8,
        gaussian: Sequence[str] = (),
        categorical: Mapping[str, int] | None = None,
        counts: Sequence[str] = (),
        var_floor: float = 0.3,
        alpha: float = 1.0,
        n_init: int = 3,
        max_iter: int = 500,
        tol: float = 1e-6,
        random_state: int | None = None,
    ) -> None:
        self.n_components = n_components
        self.gaussian = gaussian
        self.categorical = categorical
        self.counts = counts
        self.var_floor = var_floor
        self.alpha = alpha
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    # --- data blocks -------------------------------------------------------------------

    def _categorical(self) -> dict[str, int]:
        return dict(self.categorical or {})

    def _blocks(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Standardised Gaussian values (0 where missing), their presence mask, one-hot
        categorical codes (all zero where missing) and counts."""
        missing = [c for c in (*self.gaussian, *self._categorical(), *self.counts) if c not in X.columns]
        if missing:
            raise ValueError(f"the mixture's input columns {missing} are missing")
        n = len(X)
        g = X[list(self.gaussian)].to_numpy(dtype=np.float64) if self.gaussian else np.zeros((n, 0))
        g = (g - self.center_) / self.scale_
        present = ~np.isnan(g)
        g = np.where(present, g, 0.0)
        parts = []
        for col, levels in self._categorical().items():
            v = X[col].to_numpy(dtype=np.float64)
            ok = ~np.isnan(v)
            codes = v[ok]
            if codes.size and (codes.min() < 0 or codes.max() > levels - 1 or (codes % 1).any()):
                raise ValueError(f"column {col!r} has codes outside 0..{levels - 1}")
            onehot = np.zeros((n, levels))
            onehot[np.flatnonzero(ok), codes.astype(np.int64)] = 1.0
            parts.append(onehot)
        onehot_all = np.hstack(parts) if parts else np.zeros((n, 0))
        c = X[list(self.counts)].to_numpy(dtype=np.float64) if self.counts else np.zeros((n, 0))
        if np.isnan(c).any() or (c < 0).any():
            raise ValueError("count columns must be non-negative numbers with no gaps")
        return g, present.astype(np.float64), onehot_all, c

    def _level_slices(self) -> list[tuple[int, int]]:
        out, start = [], 0
        for levels in self._categorical().values():
            out.append((start, start + levels))
            start += levels
        return out

    # --- EM ------------------------------------------------------------------------------

    def _log_joint(
        self, g: np.ndarray, present: np.ndarray, onehot: np.ndarray, c: np.ndarray, params: dict[str, Any]
    ) -> np.ndarray:
        """log p(x_i, class j) for every row and class, shape (n, k)."""
        mu, var = params["means"], params["variances"]
        inv = 1.0 / var
        ll = -0.5 * (
            (present * g * g) @ inv.T
            - 2.0 * (present * g) @ (mu * inv).T
            + present @ (mu * mu * inv + np.log(var) + _LOG_2PI).T
        )
        if onehot.shape[1]:
            ll += onehot @ np.log(params["levels"]).T
        if c.shape[1]:
            ll += c @ np.log(params["mix"]).T
        return ll + np.log(params["weights"])

    def _m_step(
        self, resp: np.ndarray, g: np.ndarray, present: np.ndarray, onehot: np.ndarray, c: np.ndarray
    ) -> dict[str, Any]:
        k = resp.shape[1]
        nk = resp.sum(axis=0)
        weights = (nk + 1e-10) / (nk.sum() + k * 1e-10)
        seen = resp.T @ present
        safe = np.where(seen > 0, seen, 1.0)
        means = np.where(seen > 0, (resp.T @ g) / safe, 0.0)
        second = np.where(seen > 0, (resp.T @ (g * g)) / safe, 1.0)
        variances = np.maximum(second - means * means, 0.0) + self.var_floor
        levels = np.ones((k, onehot.shape[1]))
        if onehot.shape[1]:
            tally = resp.T @ onehot
            for a, b in self._level_slices():
                block = tally[:, a:b] + self.alpha / (b - a)
                levels[:, a:b] = block / block.sum(axis=1, keepdims=True)
        mix = np.ones((k, c.shape[1]))
        if c.shape[1]:
            tally = resp.T @ c + self.alpha
            mix = tally / tally.sum(axis=1, keepdims=True)
        return {"weights": weights, "means": means, "variances": variances, "levels": levels, "mix": mix}

    def fit(self, X: pd.DataFrame, y: Any = None) -> MixedMixture:
        """Fit by EM from ``n_init`` k-means starts; keep the most likely.

        BLAS and OpenMP (k-means) run single-threaded here: the products are thin
        (people x a few dozen columns), and threaded BLAS on a busy machine made a fit
        some 20 times slower (38 s against 1.8 s for 12 classes on 10,000 people).
        Parallelism belongs one level up (candidate models in separate processes).
        """
        with threadpool_limits(limits=1):
            return self._fit(X)

    def _fit(self, X: pd.DataFrame) -> MixedMixture:
        n, k = len(X), self.n_components
        if n < k:
            raise ValueError(f"{n} rows cannot fit {k} classes")
        g_raw = X[list(self.gaussian)].to_numpy(dtype=np.float64) if self.gaussian else np.zeros((n, 0))
        seen = ~np.isnan(g_raw)
        count = seen.sum(axis=0)
        filled = np.where(seen, g_raw, 0.0)
        safe = np.maximum(count, 1)
        center = filled.sum(axis=0) / safe
        scale = np.sqrt((np.where(seen, g_raw - center, 0.0) ** 2).sum(axis=0) / safe)
        # A column with no values or one value throughout carries no information.
        self.center_ = np.where(count > 0, center, 0.0)
        self.scale_ = np.where((count > 0) & (scale > 0), scale, 1.0)
        g, present, onehot, c = self._blocks(X)
        seeds = np.random.default_rng(0 if self.random_state is None else self.random_state).integers(
            0, 2**31 - 1, self.n_init
        )
        best: tuple[float, dict[str, Any], int, bool] | None = None
        for seed in seeds:
            labels = KMeans(n_clusters=k, n_init=1, random_state=int(seed)).fit_predict(g)
            params = self._m_step(np.eye(k)[labels], g, present, onehot, c)
            previous, converged, iterations = -np.inf, False, 0
            total = -np.inf
            for iterations in range(1, self.max_iter + 1):  # noqa: B007 (kept after the loop)
                joint = self._log_joint(g, present, onehot, c, params)
                norm = logsumexp(joint, axis=1)
                total = float(norm.sum())
                params = self._m_step(_posterior(joint, norm), g, present, onehot, c)
                if (total - previous) / n < self.tol:
                    converged = True
                    break
                previous = total
            if best is None or total > best[0]:
                best = (total, params, iterations, converged)
        assert best is not None
        self.log_likelihood_, params, self.n_iter_, self.converged_ = best
        self._set(params)
        return self

    def _set(self, params: dict[str, Any]) -> None:
        self.weights_ = params["weights"]
        self.means_ = params["means"]
        self.variances_ = params["variances"]
        self.level_probs_ = {
            col: params["levels"][:, a:b]
            for col, (a, b) in zip(self._categorical(), self._level_slices(), strict=True)
        }
        self.count_probs_ = params["mix"]

    def _params(self) -> dict[str, Any]:
        k = len(self.weights_)
        levels = [self.level_probs_[col] for col in self._categorical()]
        return {
            "weights": self.weights_,
            "means": self.means_,
            "variances": self.variances_,
            "levels": np.hstack(levels) if levels else np.ones((k, 0)),
            "mix": self.count_probs_,
        }

    # --- prediction ----------------------------------------------------------------------

    def _joint(self, X: pd.DataFrame) -> np.ndarray:
        with threadpool_limits(limits=1):
            return self._log_joint(*self._blocks(X), self._params())

    def log_conditional(self, X: pd.DataFrame) -> np.ndarray:
        """log p(x_i | class j) for every row and class, shape (n_rows, n_components)."""
        return np.asarray(self._joint(X) - np.log(self.weights_))

    def predict_proba(self, X: pd.DataFrame, weights: np.ndarray | None = None) -> np.ndarray:
        """Posterior class membership, shape (n_rows, n_components).

        ``weights`` replaces the fitted ``weights_``: shape (k,) for every row, or
        (n_rows, k) row by row (e.g. from :meth:`adapt_weights`).
        """
        if weights is None:
            joint = self._joint(X)
            return np.asarray(_posterior(joint, logsumexp(joint, axis=1)))
        return posterior_from(self.log_conditional(X), weights)

    def adapt_weights(
        self,
        X: pd.DataFrame,
        groups: np.ndarray | None = None,
        pseudo_count: float = 100.0,
        tol: float = 1e-8,
        max_iter: int = 1000,
    ) -> np.ndarray:
        """Mixing weights re-estimated on the rows of each group, the classes held fixed.

        See :func:`adapt_mixing_weights`; returns the adapted weights of each row's
        group, shape (n_rows, n_components).
        """
        cond = self.log_conditional(X)
        return adapt_mixing_weights(cond, self.weights_, groups, pseudo_count, tol, max_iter)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Most probable class per row."""
        return np.asarray(self.predict_proba(X).argmax(axis=1))

    def score_samples(self, X: pd.DataFrame) -> np.ndarray:
        """Log-likelihood of each row under the model."""
        return np.asarray(logsumexp(self._joint(X), axis=1))

    def n_parameters(self) -> int:
        """Free parameters: weights, Gaussian means and variances, level and mix probabilities."""
        k = self.n_components
        levels = sum(v - 1 for v in self._categorical().values())
        mix = max(len(self.counts) - 1, 0)
        return (k - 1) + k * (2 * len(self.gaussian) + levels + mix)

    def bic(self, X: pd.DataFrame) -> float:
        """Bayesian information criterion on ``X`` (lower is better)."""
        return float(-2.0 * self.score_samples(X).sum() + self.n_parameters() * np.log(len(X)))

    # --- a stable, non-pickle format -----------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The fitted numbers as JSON-ready lists."""
        return {
            "format": MIXTURE_FORMAT,
            "params": {**self.get_params(), "gaussian": list(self.gaussian), "counts": list(self.counts)},
            "center": self.center_.tolist(),
            "scale": self.scale_.tolist(),
            "weights": self.weights_.tolist(),
            "means": self.means_.tolist(),
            "variances": self.variances_.tolist(),
            "level_probs": {col: p.tolist() for col, p in self.level_probs_.items()},
            "count_probs": self.count_probs_.tolist(),
            "log_likelihood": self.log_likelihood_,
            "n_iter": self.n_iter_,
            "converged": self.converged_,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MixedMixture:
        """Rebuild a fitted model from :meth:`to_dict` output."""
        if data.get("format") != MIXTURE_FORMAT:
            found = data.get("format")
            raise ValueError(f"not a mixed mixture: format {found!r}, expected {MIXTURE_FORMAT!r}")
        model = cls(**data["params"])
        k = model.n_components

        def arr(key: str, width: int) -> np.ndarray:
            return np.asarray(data[key], dtype=np.float64).reshape(k, width)

        model.center_ = np.asarray(data["center"], dtype=np.float64)
        model.scale_ = np.asarray(data["scale"], dtype=np.float64)
        model.weights_ = np.asarray(data["weights"], dtype=np.float64)
        model.means_ = arr("means", len(model.gaussian))
        model.variances_ = arr("variances", len(model.gaussian))
        model.level_probs_ = {
            col: np.asarray(data["level_probs"][col], dtype=np.float64).reshape(k, levels)
            for col, levels in model._categorical().items()
        }
        model.count_probs_ = arr("count_probs", len(model.counts))
        model.log_likelihood_ = float(data["log_likelihood"])
        model.n_iter_ = int(data["n_iter"])
        model.converged_ = bool(data["converged"])
        return model


def posterior_from(log_conditional: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Class posteriors from log p(x | class), shape (n, k), and weights (k,) or (n, k)."""
    joint = log_conditional + np.log(np.maximum(weights, 1e-300))
    return np.asarray(_posterior(joint, logsumexp(joint, axis=1)))


def adapt_mixing_weights(
    log_conditional: np.ndarray,
    weights: np.ndarray,
    groups: np.ndarray | None = None,
    pseudo_count: float = 100.0,
    tol: float = 1e-8,
    max_iter: int = 1000,
) -> np.ndarray:
    """Mixing weights re-estimated by EM on each group's rows, the classes held fixed.

    Prior-shift adaptation (Saerens, Latinne & Decaestecker 2002, *Neural Computation*
    14:21-41): when the mix of classes differs from the fit's (a later cohort) but each
    class's own distribution does not, EM over the weights alone recovers the new mix
    without labels. The M-step here is the posterior mean under a Dirichlet prior worth
    ``pseudo_count`` rows at the fitted ``weights``, so a small group moves little from
    them (one row alone cannot collapse the weights onto its own class) and a large one
    follows its own data. The log-likelihood is concave in the weights, so the answer
    does not depend on the start. All groups are updated together by matrix products.

    Parameters
    ----------
    log_conditional
        log p(x_i | class j), shape (n, k) (:meth:`MixedMixture.log_conditional`).
    weights
        The fitted weights, shape (k,).
    groups
        Group of each row (any sortable labels, e.g. an as-of date); ``None``: one group.
    pseudo_count
        Weight of the fitted weights, in rows.
    tol, max_iter
        EM stops when no weight moves more than ``tol``, or after ``max_iter`` rounds.

    Returns
    -------
    ndarray (n, k)
        The adapted weights of each row's group.
    """
    n, k = log_conditional.shape
    if n == 0:
        return np.zeros((0, k))
    codes = np.zeros(n, dtype=np.int64) if groups is None else np.unique(groups, return_inverse=True)[1]
    n_groups = int(codes.max()) + 1
    member = sparse.csr_matrix((np.ones(n), (codes, np.arange(n))), shape=(n_groups, n))
    size = np.asarray(member.sum(axis=1)).ravel()
    prior = pseudo_count * np.asarray(weights, dtype=np.float64)
    current = np.tile(weights, (n_groups, 1))
    with threadpool_limits(limits=1):
        for _ in range(max_iter):
            resp = posterior_from(log_conditional, current[codes])
            new = (member @ resp + prior) / (size + pseudo_count)[:, None]
            moved = float(np.abs(new - current).max())
            current = new
            if moved < tol:
                break
    return np.asarray(current[codes])
