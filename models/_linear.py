"""The linear start of :class:`models.RiskModel`: a penalised, sign-constrained logistic regression.

The boosted trees start from this model's log-odds (xgboost's ``base_margin``) rather
than from a constant, so a linear signal is taken in whole and the trees add only what
it misses (thresholds, interactions); early stopping then keeps no trees at all if they
add nothing. It is scikit-learn's ``LogisticRegression`` default (L2, ``C = 1``) on
standardised numbers (median-imputed, with a missing-value indicator per column that had
missing values at fit) and one-hot categories (indicators left on their 0/1 scale; a
missing value is a level of its own when the column had missing values at fit, as
``SimpleImputer(strategy="constant")`` then ``OneHotEncoder`` make it; a category not seen
at fit is read as missing), except
that a monotone direction bounds the sign of its column's coefficient, so the sum stays
monotone. Everything is additive
per input column, so its contributions are exact: coefficient x (value - training mean)
per design column, summed per input column.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, ParamSpec, TypeVar

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from threadpoolctl import threadpool_limits

C_DEFAULT = 1.0

P = ParamSpec("P")
R = TypeVar("R")


def one_blas_thread(func: Callable[P, R]) -> Callable[P, R]:
    """Run ``func`` with numpy's BLAS on one thread.

    OpenBLAS shares a matrix product's sums between its threads, so the last bits of the
    regression's coefficients and log-odds depended on the machine's core count (on the
    default extract, 1 and 2 threads gave different bits), and its threads spin-wait:
    about 5 times the CPU seconds of one thread on a shared 2-core machine. On one thread
    the same inputs give the same bits on every machine; the model's fit runs its
    independent pieces (starts, refits) side by side instead.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with threadpool_limits(limits=1, user_api="blas"):
            return func(*args, **kwargs)

    return wrapper


class LinearStart:
    """Fitted state of the linear start; JSON round-trippable (``to_dict`` / ``from_dict``)."""

    def __init__(self, state: dict[str, Any]) -> None:
        self.state = state

    # ------------------------------------------------------------------ design
    @staticmethod
    def _layout(X: pd.DataFrame, categories: Mapping[str, list[Any]]) -> dict[str, Any]:
        numeric, medians, with_missing = [], {}, []
        categories_missing = [c for c in categories if X[c].isna().any()]
        for c in X.columns:
            if c in categories:
                continue
            v = X[c].to_numpy(dtype=np.float64, na_value=np.nan)
            numeric.append(c)
            finite = v[~np.isnan(v)]
            medians[c] = float(np.median(finite)) if len(finite) else 0.0
            if np.isnan(v).any():
                with_missing.append(c)
        layout = {"numeric": numeric, "medians": medians, "with_missing": with_missing}
        # Only when there is one: a model with none saves exactly as before the key existed.
        return {**layout, "categories_missing": categories_missing} if categories_missing else layout

    def _raw(self, X: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
        """Unscaled design matrix and the input column of each design column."""
        s = self.state
        owner: list[str] = []
        for c in s["numeric"]:
            owner += [c, c] if c in s["with_missing"] else [c]
        for c, cats in s["categories"].items():
            owner += [c] * (len(cats) + (c in s.get("categories_missing", ())))
        # Filled column by column: one copy of the design in memory (it is the largest
        # array of a fit at scale, e.g. 840,000 rows x 130 columns = 870 MB).
        Z = np.empty((len(X), len(owner)), dtype=np.float64)
        j = 0
        for c in s["numeric"]:
            v = X[c].to_numpy(dtype=np.float64, na_value=np.nan)
            miss = np.isnan(v)
            Z[:, j] = np.where(miss, s["medians"][c], v)
            j += 1
            if c in s["with_missing"]:
                Z[:, j] = miss
                j += 1
        for c, cats in s["categories"].items():
            codes = pd.Categorical(X[c], categories=cats).codes
            for i in range(len(cats)):
                Z[:, j] = codes == i
                j += 1
            # Missing as a level of its own (models saved before it have no such key).
            if c in s.get("categories_missing", ()):
                Z[:, j] = codes < 0
                j += 1
        return Z, owner

    def _design(self, X: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
        Z, owner = self._raw(X)
        Z -= np.asarray(self.state["mean"])  # in place: the same numbers, one copy in memory
        Z /= np.asarray(self.state["scale"])
        return Z, owner

    # ------------------------------------------------------------------ fit
    @classmethod
    @one_blas_thread
    def fit(
        cls,
        X: pd.DataFrame,
        y: np.ndarray,
        weight: np.ndarray,
        categories: Mapping[str, list[Any]],
        directions: Mapping[str, int],
        C: float = C_DEFAULT,
    ) -> LinearStart:
        """Fit on encoded ``X`` (numbers as floats, categories as pandas categoricals)."""
        layout = cls._layout(X, categories)
        model = cls(
            {**layout, "categories": {c: list(v) for c, v in categories.items()}, "mean": [], "scale": []}
        )
        Z, owner = model._raw(X)
        wsum = max(float(weight.sum()), 1e-12)
        mean = (weight @ Z) / wsum
        Z -= mean  # centred in place (one copy of the design in memory)
        sd = np.sqrt((weight @ np.square(Z)) / wsum)
        # Numbers are standardised; category indicators keep their 0/1 scale, as
        # scikit-learn's one-hot encoder leaves them (so the penalty treats a category
        # as a LogisticRegression on a standard pipeline does).
        n_categorical = sum(len(v) for v in categories.values()) + len(layout.get("categories_missing", ()))
        n_numeric = len(owner) - n_categorical
        scale = np.where(sd > 1e-12, sd, 1.0)
        scale[n_numeric:] = 1.0
        model.state["mean"], model.state["scale"] = mean.tolist(), scale.tolist()
        Z /= scale
        Zs = Z
        k = Zs.shape[1]
        # Only a column's value term (not its missing indicator or categories) is bounded.
        bounds: list[tuple[float | None, float | None]] = [(None, None)]
        seen: set[str] = set()
        for j, c in enumerate(owner):
            first = c not in seen and c in layout["numeric"]
            seen.add(c)
            d = int(directions.get(c, 0)) if first else 0
            bounds.append((0.0, None) if d > 0 else (None, 0.0) if d < 0 else (None, None))
            del j

        def loss(beta: np.ndarray) -> tuple[float, np.ndarray]:
            z = beta[0] + Zs @ beta[1:]
            # log(1 + e^z) - y z, stably
            ll = np.logaddexp(0.0, z) - y * z
            p = 1.0 / (1.0 + np.exp(-z))
            r = weight * (p - y)
            f = C * float(weight @ ll) + 0.5 * float(beta[1:] @ beta[1:])
            g = np.empty_like(beta)
            g[0] = C * r.sum()
            g[1:] = C * (Zs.T @ r) + beta[1:]
            return f, g

        prior = float(np.clip((weight @ y) / wsum, 1e-6, 1 - 1e-6))
        beta0 = np.zeros(k + 1)
        beta0[0] = np.log(prior / (1 - prior))
        res = minimize(loss, beta0, jac=True, method="L-BFGS-B", bounds=bounds, options={"maxiter": 2000})
        model.state["intercept"] = float(res.x[0])
        model.state["coef"] = res.x[1:].tolist()
        model.state["owner"] = owner
        return model

    # --------------------------------------------------------------- predict
    @one_blas_thread
    def margin(self, X: pd.DataFrame) -> np.ndarray:
        """Log-odds of the linear start."""
        Zs, _ = self._design(X)
        return self.state["intercept"] + Zs @ np.asarray(self.state["coef"])

    @one_blas_thread
    def contributions(self, X: pd.DataFrame, columns: list[str]) -> tuple[np.ndarray, float]:
        """Per input column log-odds contributions (n, len(columns)) and the bias (intercept).

        The design is centred on the training means, so ``bias + row sum == margin``.
        """
        Zs, owner = self._design(X)
        Zs *= np.asarray(self.state["coef"])
        terms = Zs
        out = np.zeros((len(X), len(columns)))
        index = {c: i for i, c in enumerate(columns)}
        for j, c in enumerate(owner):
            out[:, index[c]] += terms[:, j]
        return out, float(self.state["intercept"])

    def to_dict(self) -> dict[str, Any]:
        return dict(self.state)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> LinearStart:
        return cls(dict(d))
