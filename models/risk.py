"""The reoffending-risk model: shallow monotone boosted trees plus a held-out calibrator.

Also a general scikit-learn classifier for plain tables (``from models import
RiskModel``): see the class docstring for inputs, defaults and the table of output
scales.

``RiskModel`` is a scikit-learn classifier. ``fit`` grows xgboost trees (depth 3 by
default) whose direction on each feature is fixed by the feature catalogue (more proven
offences never lowers the risk), stops adding trees when the log loss on the
*validation* as-of dates stops improving, then fits a calibrator on the *calibration*
dates, so that ``predict_proba`` is an honest 12-month reoffending probability.

Calibration is Platt scaling on the trees' log-odds by default: two parameters, so it
cannot overfit a few thousand calibration rows; it is strictly increasing, so it keeps
the ranking (AUC) and the monotone constraints; and it is smooth, so an explanation in
log-odds maps to probability points without steps. Boosted trees trained on log loss are
miscalibrated mostly by a shift and a stretch of the log-odds when the population drifts
between the training and calibration dates, which is exactly what Platt corrects.
Isotonic is available (``calibration="isotonic"``) for large calibration sets.

The interval per person comes from a Poisson bootstrap: ``n_bootstrap`` refits of the
trees (same number of trees) and of the calibrator, each with every *person* given a
Poisson(1) weight (all of one person's as-of dates share it). The interval is the
model's own estimate plus the central ``interval`` quantile range of the refits'
deviations from their mean, in log-odds (so it always contains the estimate).

With ``bootstrap_persons=m`` below the ``n`` persons the trees grow on, the refits are an
m-out-of-n bootstrap instead: each refit grows on ``m`` persons drawn with replacement
(a person drawn twice counts twice; its calibrator likewise on the same share of the
calibration persons), and the deviations are multiplied by ``sqrt(m / n)`` before the
quantiles are taken. That assumes the spread shrinks as one over the square root of the
people, which trees only approximate (``benchmarks/results/train_bootstrap_m.md``
measures it); it makes each refit about ``n / m`` times cheaper.
"""

from __future__ import annotations

import hashlib
import json
import logging
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.utils import Tags
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, column_or_1d, validate_data

from features.catalogue import DEFAULT_HISTORY_MONTHS, monotone_constraints, specs_for_columns
from iom_contract import ETHNICITY, SEX
from models._linear import LinearStart, one_blas_thread
from models.risk_params import ESTIMATOR_DEFAULTS, Calibration

logger = logging.getLogger(__name__)

MODEL_FILE = "risk_model.ubj"
META_FILE = "risk_model.json"
# A hold-out needs this many rows of each class to stop early or calibrate on.
MIN_HOLDOUT_PER_CLASS = 5
# Weights of the logistic regression in the blend (``RiskModel(blend=True)``).
BLEND_GRID = np.round(np.linspace(0.0, 1.0, 11), 2)
# Without an eval_set, tables of at most this many fit rows choose the number of trees,
# the start and the blend by cross-validation (1 / validation_fraction folds, at most
# CV_MAX_FOLDS); larger ones by the single validation hold-out.
CV_MAX_ROWS = 20_000
# ... and so are larger tables whose smaller class has fewer rows than this: a 10 %
# hold-out would judge the trees on under a hundred events.
CV_MIN_SMALLER_CLASS = 1_000
CV_MAX_FOLDS = 5
# Repeats of that cross-validation: about CV_ROW_BUDGET / rows, 1 to CV_MAX_REPEATS (a
# small table's choice is noisy under one partition and cheap to repeat).
CV_ROW_BUDGET = 10_000
CV_MAX_REPEATS = 5
# The trees' share of a cross-validated blend is shrunk to 1 - (CV_TREES_BAR_SE / z)^2 of
# it when the regression alone trails by z corrected standard errors: nothing below 2, 0.75
# at 4. The best of 22 candidates is selected on the same folds, which inflates z; with a
# bar of 1, Rossi-sized tables (300 rows) took trees on noise in 3 of 10 splits
# (benchmarks/results/risk_library.md).
CV_TREES_BAR_SE = 2.0
PROTECTED_LEVELS: dict[str, tuple[str, ...]] = {"sex": SEX, "ethnicity": ETHNICITY}


def feature_columns(columns: Sequence[str], drop: Sequence[str] = ()) -> list[str]:
    """The catalogue feature columns among ``columns``, in order, less ``drop``."""
    specs = specs_for_columns(columns)
    return [c for c in columns if c in specs and c not in set(drop)]


def protected_dummies(persons: pd.DataFrame, pseudo_ids: pd.Series, which: Sequence[str]) -> pd.DataFrame:
    """One-hot ``sex_*`` / ``ethnicity_*`` columns (contract levels) for each row's person."""
    if not which:
        return pd.DataFrame(index=pseudo_ids.index)
    looked = persons.set_index("pseudo_id")[list(which)].reindex(pseudo_ids.to_numpy())
    out = {}
    for col in which:
        values = looked[col].astype("string").to_numpy()
        for level in PROTECTED_LEVELS[col]:
            out[f"{col}_{level}"] = (values == level).astype(np.float32)
    return pd.DataFrame(out, index=pseudo_ids.index)


def cv_repeats(n_rows: int) -> int:
    """Repeats of the cross-validation that a table of ``n_rows`` fit rows gets (1 to 5)."""
    return int(np.clip(CV_ROW_BUDGET // max(n_rows, 1), 1, CV_MAX_REPEATS))


def trees_share_kept(z: float, bar: float = CV_TREES_BAR_SE) -> float:
    """Share of the trees' cross-validated blend weight kept when the regression alone
    trails by ``z`` corrected standard errors: ``1 - (bar / z)^2``, none at ``z <= bar``."""
    return 1.0 - (bar / z) ** 2 if z > bar else 0.0


def to_matrix(X: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """Features as float32 with missing values as NaN (xgboost's missing marker)."""
    return X.loc[:, list(columns)].astype("float32").to_numpy(dtype=np.float32, na_value=np.nan)


class _Calibrator:
    """Maps the trees' log-odds to a probability; JSON round-trippable."""

    def __init__(self, method: str, state: dict[str, Any]) -> None:
        self.method = method
        self.state = state

    @classmethod
    def fit(
        cls, method: str, margin: np.ndarray, y: np.ndarray, weight: np.ndarray | None = None
    ) -> _Calibrator:
        if method == "platt":
            lr = LogisticRegression(C=np.inf, solver="lbfgs", max_iter=1000)
            lr.fit(margin.reshape(-1, 1), y, sample_weight=weight)
            slope = float(lr.coef_[0, 0])
            if slope <= 0:
                raise ValueError(
                    f"Platt slope {slope:.3f} <= 0: the trees rank the calibration dates backwards"
                )
            return cls("platt", {"slope": slope, "intercept": float(lr.intercept_[0])})
        if method == "isotonic":
            iso = IsotonicRegression(out_of_bounds="clip", y_min=1e-4, y_max=1 - 1e-4, increasing=True)
            iso.fit(margin, y, sample_weight=weight)
            return cls(
                "isotonic",
                {"x": iso.X_thresholds_.tolist(), "y": iso.y_thresholds_.tolist()},
            )
        raise ValueError(f"unknown calibration {method!r}: use 'platt' or 'isotonic'")

    def __call__(self, margin: np.ndarray) -> np.ndarray:
        margin = np.asarray(margin, dtype=np.float64)
        if self.method == "platt":
            z = self.state["slope"] * margin + self.state["intercept"]
            return 1.0 / (1.0 + np.exp(-z))
        return np.interp(margin, np.asarray(self.state["x"]), np.asarray(self.state["y"]))

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, **self.state}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> _Calibrator:
        state = {k: v for k, v in d.items() if k != "method"}
        return cls(str(d["method"]), state)


_D = ESTIMATOR_DEFAULTS


class RiskModel(ClassifierMixin, BaseEstimator):
    """Calibrated, monotone, shallow gradient-boosted trees for a binary outcome.

    Built for 12-month reoffending in the pipeline, and usable on any plain table:
    ``RiskModel().fit(X, y)`` holds out a seeded validation share (10%) for early
    stopping, by ``groups`` when given, as scikit-learn's gradient boosting holds out its
    ``validation_fraction``; a calibration share is held out only when asked
    (``calibration_fraction``; 0 by default, see ``RiskModelParams``), else ``calib_set``.

    Parameters
    ----------
    max_depth, learning_rate, n_estimators, early_stopping_rounds, min_child_weight,
    subsample, colsample_bytree, reg_lambda
        xgboost settings; ``n_estimators`` is the ceiling that early stopping cuts.
    calibration
        ``platt`` (default), ``isotonic`` or ``none`` (see the module docstring). A
        calibrator needs calibration rows: ``calib_set``, or ``calibration_fraction > 0``.
    linear_start
        True: grow the trees from a logistic regression's log-odds (L2, ``C = 1``, on
        standardised numbers with missing-value indicators and one-hot categories; the
        monotone directions bound its coefficients' signs) instead of a constant, so a
        linear signal is not left to step functions (:mod:`models._linear`). ``auto``
        (default): grow both and keep the lower validation log loss (``linear_start_``
        says which); linear when there is no validation set.
    blend
        With validation rows: the final log-odds are ``blend_weight_`` x the logistic
        regression's plus (1 - ``blend_weight_``) x the trees' (which include the linear
        start when it won), the weight taken from 0, 0.1, ..., 1 by validation log loss
        before any refit. 1 is the logistic regression alone (a table whose truth is
        linear gets no step functions), 0 the trees alone; between, the trees' extremes
        are shrunk towards the regression's, which keeps the top of a ranking steadier
        (see ``RiskModelParams``). Default True.

        Without ``eval_set``, a table of at most 20,000 rows (or one whose smaller class
        has fewer than 1,000 rows) chooses the number of trees, the start and the weight
        by 5-fold cross-validation on all its rows instead (fewer folds when the smaller
        class cannot give each fold 5 rows: ``cv_folds_``), repeated (seeded)
        ``cv_repeats(n)`` times: 5 up to 2,000 rows, 1 from 10,000. With fewer than 10
        rows of the smaller class nothing can be validated: the model is the logistic
        regression alone (``blend_weight_`` 1), with a warning. Every
        candidate is recalibrated out of fold (Platt) before they are compared; the trees
        are admitted only when the regression alone trails by more than two standard
        errors of the per-fold differences (Nadeau-Bengio corrected), and their share is
        shrunk by that evidence (``1 - (2/z)^2`` of it kept at z standard errors). The
        out-of-fold recalibration becomes ``calibrator_``.
        ``cv_repeats_``, ``cv_log_loss_`` (each candidate's mean out-of-fold log loss),
        ``cv_regression_behind_se_`` and ``cv_calibration_`` record the choice.
    monotone_constraints
        Column -> direction (+1 more never lowers the probability, -1 never raises it, 0
        free); columns not named are free. ``"catalogue"``: the feature catalogue's
        direction for each catalogue column (the pipeline passes the catalogue's
        directions merged with ``train.monotone_constraints``). Default None: no
        constraint, as in xgboost. Categorical columns cannot be constrained.
    validation_fraction, calibration_fraction
        Shares held out of ``X`` (of its ``groups`` when given) for early stopping and
        for the calibrator when no ``eval_set`` / ``calib_set`` is passed; 0 turns the
        hold-out off (then all ``n_estimators`` trees / no calibration). Below
        ``MIN_HOLDOUT_PER_CLASS`` (5) rows of either class in a hold-out, it is skipped
        (logged). Defaults: 0.1 and 0 (see :class:`models.risk_params.RiskModelParams`).
    refit_on_valid
        After early stopping has chosen the number of trees, grow that many again on the
        training and validation rows together, before calibrating.
    n_bootstrap
        Bootstrap refits for :meth:`predict_interval` (0: no interval).
    bootstrap_persons
        ``m``: each refit grows on ``m`` persons (``groups``; rows without them) drawn
        with replacement from the ``n`` the trees grew on, and the refits' spread is
        multiplied by ``sqrt(m / n)`` (an m-out-of-n bootstrap: an approximation, about
        ``n / m`` times cheaper). None, or ``m >= n``: every refit is the Poisson(1)
        bootstrap of all ``n``. ``bootstrap_scale_`` records ``sqrt(m / n)`` (1.0 when
        not used) and ``bootstrap_sizes_`` the pair ``(m, n)``.
    interval
        Central coverage of the interval (0.9: 5th to 95th percentile).
    random_state
        Seed for the hold-out split, xgboost's sampling and the bootstrap weights.
    n_jobs
        Cores the fit may use: the two candidate starts (``linear_start="auto"``) grow
        side by side, then the final trees (``refit_on_valid``) and the bootstrap refits
        run ``n_jobs`` at a time (threads, one xgboost thread each; a piece that runs
        alone gets ``n_jobs`` xgboost threads). 1 by default: OpenMP threads spin-wait and
        are far slower than one thread on a shared, loaded machine; results do not
        depend on it (the regression's BLAS runs one thread: ``models._linear``).
    history_months
        The history window of the catalogue features the model reads (the features
        stage's ``history_months``). It does not change the fit: it names the window in
        the panel's reasons and lets scoring refuse features built with another window.

    Defaults come from :class:`models.risk_params.RiskModelParams` (the pipeline's
    ``train:`` params inherit them).

    Inputs: ``X`` is a DataFrame (or an array: columns ``x0``, ``x1`` ...). Numeric and
    boolean columns are used as numbers, missing values as xgboost's missing marker.
    String, object and pandas ``category`` columns are categorical: xgboost's native
    categorical splits over the categories seen in ``fit`` (one category or a set of
    them per split; an unseen category at prediction is treated as missing). ``y`` may
    hold any two values (``"Yes"``/``"No"``, booleans, 0/1): ``classes_`` is their
    sorted order and the *second* is the positive class, as in scikit-learn.

    Outputs, names and scales:

    ========================  ============================  =================================
    member                    scale                         adds up to
    ========================  ============================  =================================
    ``predict_proba(X)``      probability 0-1, (n, 2)       column 1 = P(``classes_[1]``)
    ``predict(X)``            a ``classes_`` value          positive where probability >= 0.5
    ``predict_margin(X)``     log-odds, before calibration  ``shap_values`` bias + row sum
    ``shap_values(X)``        log-odds, before calibration  ``predict_margin``
    ``explain(X)``            probability points 0-100      ``base_points_`` + row sum
                                                            = 100 x probability
    ``base_risk_``            probability 0-1               calibrated risk at the trees' bias
    ``base_points_``          probability points 0-100      ``100 * base_risk_``
    ``predict_interval(X)``   probability 0-1               ``low`` <= probability <= ``high``
    ``blend_weight_``         weight 0-1                    the regression's share of the
                                                            log-odds (the trees' is 1 - it)
    ========================  ============================  =================================

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from models import RiskModel
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"priors": rng.poisson(2, 2000), "area": rng.choice(["a", "b"], 2000)})
    >>> y = np.where(rng.random(2000) < 0.2 + 0.1 * (X["priors"] > 2), "Yes", "No")
    >>> model = RiskModel().fit(X, y)
    >>> model.classes_.tolist(), model.predict_proba(X.head(2)).shape
    (['No', 'Yes'], (2, 2))
    """

    def __init__(
        self,
        max_depth: int = _D.max_depth,
        learning_rate: float = _D.learning_rate,
        n_estimators: int = _D.n_estimators,
        early_stopping_rounds: int = _D.early_stopping_rounds,
        min_child_weight: float = _D.min_child_weight,
        subsample: float = _D.subsample,
        colsample_bytree: float = _D.colsample_bytree,
        reg_lambda: float = _D.reg_lambda,
        calibration: Calibration = _D.calibration,
        linear_start: bool | Literal["auto"] = _D.linear_start,
        blend: bool = _D.blend,
        monotone_constraints: Mapping[str, int] | Literal["catalogue"] | None = None,
        validation_fraction: float = _D.validation_fraction,
        calibration_fraction: float = _D.calibration_fraction,
        refit_on_valid: bool = _D.refit_on_valid,
        n_bootstrap: int = _D.n_bootstrap,
        bootstrap_persons: int | None = _D.bootstrap_persons,
        interval: float = _D.interval,
        random_state: int = 0,
        n_jobs: int = _D.n_jobs,
        history_months: int = DEFAULT_HISTORY_MONTHS,
    ) -> None:
        self.max_depth = max_depth
        self.learning_rate = learning_rate
        self.n_estimators = n_estimators
        self.early_stopping_rounds = early_stopping_rounds
        self.min_child_weight = min_child_weight
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.calibration = calibration
        self.linear_start = linear_start
        self.blend = blend
        self.monotone_constraints = monotone_constraints
        self.validation_fraction = validation_fraction
        self.calibration_fraction = calibration_fraction
        self.refit_on_valid = refit_on_valid
        self.n_bootstrap = n_bootstrap
        self.bootstrap_persons = bootstrap_persons
        self.interval = interval
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.history_months = history_months

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        tags.classifier_tags.multi_class = False
        return tags

    # ------------------------------------------------------------------ inputs
    def _columns(self) -> list[str]:
        return list(self.columns_)

    def _to_frame(self, X: Any, *, reset: bool) -> pd.DataFrame:
        """``X`` as a DataFrame of the fit's columns, checked the scikit-learn way.

        Feature-name checks (missing, unseen or reordered columns raise a ValueError
        naming them) and the column count come from scikit-learn's ``validate_data``.
        """
        if isinstance(X, pd.DataFrame):
            validate_data(self, X, reset=reset, skip_check_array=True)
            if X.shape[0] < 1 or X.shape[1] < 1:
                raise ValueError(f"Found array with {X.shape[0]} sample(s) and {X.shape[1]} feature(s)")
            if not hasattr(self, "feature_names_in_"):
                frame = X.set_axis([f"x{i}" for i in range(X.shape[1])], axis=1)
            else:
                frame = X
        else:
            arr = validate_data(
                self, X, reset=reset, dtype=None, ensure_all_finite="allow-nan", ensure_min_samples=1
            )
            if arr.dtype.kind not in "biufO":
                arr = arr.astype(object)
            frame = pd.DataFrame(arr, columns=[f"x{i}" for i in range(arr.shape[1])])
        if reset:
            self.columns_ = np.asarray([str(c) for c in frame.columns], dtype=object)
            self.categories_ = _learn_categories(frame)
        frame = frame.set_axis(self._columns(), axis=1)
        return _encode(frame, self.categories_)

    def _dmatrix(
        self,
        X: pd.DataFrame,
        label: np.ndarray | None = None,
        weight: np.ndarray | None = None,
        base_margin: np.ndarray | None = None,
        nthread: int | None = None,
    ) -> xgb.DMatrix:
        """``X`` (already encoded) as xgboost's matrix: numbers as float32, categories native."""
        if self.categories_:
            data: Any = X
        else:
            data = to_matrix(X, self._columns())
        return xgb.DMatrix(
            data,
            label=label,
            weight=weight,
            base_margin=base_margin,
            feature_names=self._columns(),
            enable_categorical=bool(self.categories_),
            nthread=self.n_jobs if nthread is None else nthread,
        )

    def _fit_linear(
        self, X: pd.DataFrame, y: np.ndarray, w: np.ndarray, start: bool | None = None
    ) -> LinearStart | None:
        """The linear start (None without one); ``start`` overrides ``linear_start_``."""
        if not (self.linear_start_ if start is None else start):
            return None
        return self._fit_regression(X, y, w)

    def _fit_regression(self, X: pd.DataFrame, y: np.ndarray, w: np.ndarray) -> LinearStart:
        cats = {c: [str(v) for v in vs] for c, vs in self.categories_.items()}
        return LinearStart.fit(X, y, w, cats, self.monotone_constraints_)

    def _fit_blend_linear(
        self, linear: LinearStart | None, X: pd.DataFrame, y: np.ndarray, w: np.ndarray
    ) -> LinearStart | None:
        """The regression blended with the trees: the linear start itself when there is one."""
        if self.blend_weight_ <= 0:
            return None
        return linear if linear is not None else self._fit_regression(X, y, w)

    def _fit_cross_validated(
        self, X: pd.DataFrame, y: np.ndarray, w: np.ndarray, g: np.ndarray | None, k: int
    ) -> None:
        """Choose the start, the number of trees and the blend weight by repeated ``k``-fold
        cross-validation (whole groups per fold, classes stratified without groups), then
        fit them on every row.

        A table of ``n`` rows is split ``cv_repeats(n)`` times (seeded, each a fresh
        partition): 5 times up to 2,000 rows, once from 10,000. Each fold's trees stop
        early on that fold; one number of trees (the median of every fold's stop) scores
        every fold, so every row has one out-of-fold log-odds per repeat for each start
        and each blend weight. The choice among them is :meth:`_choose_cv`'s: the trees
        must beat the regression by more than the fold-to-fold noise, so a table of a few
        hundred rows is not given step functions that one lucky partition rewarded.
        """
        rng = np.random.default_rng(self.random_state)
        repeats = cv_repeats(len(y))
        codes = _group_codes(g, len(y)) if g is not None else None
        starts = [True, False] if self.linear_start == "auto" else [bool(self.linear_start)]
        folds = np.empty((repeats, len(y)), dtype=np.int64)
        lin_oof = np.zeros((repeats, len(y)))
        rounds: dict[bool, list[int]] = {s: [] for s in starts}
        fitted: dict[bool, list[xgb.Booster]] = {s: [] for s in starts}
        for r in range(repeats):
            if codes is not None:
                u = rng.random(int(codes.max()) + 1)[codes]
            else:
                u = np.empty(len(y))
                for cls in (0.0, 1.0):
                    rows = np.flatnonzero(y == cls)
                    u[rows] = (rng.permutation(len(rows)) + 0.5) / max(len(rows), 1)
            folds[r] = np.minimum((u * k).astype(np.int64), k - 1)
            for f in range(k):
                va, tr = folds[r] == f, folds[r] != f
                Xt, Xv = X.loc[tr], X.loc[va]
                regression = self._fit_regression(Xt, y[tr], w[tr])
                lin_oof[r, va] = regression.margin(Xv)
                for start in starts:
                    self.linear_start_ = start
                    bt = regression.margin(Xt) if start else None
                    bv = lin_oof[r, va] if start else None
                    booster = xgb.train(
                        self._xgb_params(self.random_state),
                        self._dmatrix(Xt, y[tr], w[tr], bt),
                        num_boost_round=self.n_estimators,
                        evals=[(self._dmatrix(Xv, y[va], w[va], bv), "valid")],
                        early_stopping_rounds=self.early_stopping_rounds,
                        verbose_eval=False,
                    )
                    rounds[start].append(int(booster.best_iteration) + 1)
                    fitted[start].append(booster)
        # One number of trees for every fold (the median of their early stops): a number
        # chosen per fold on the fold's own rows would flatter the trees.
        margins: dict[bool, np.ndarray] = {}
        for start in starts:
            n = max(1, int(np.median(rounds[start])))
            oof = np.zeros((repeats, len(y)))
            for j, booster in enumerate(fitted[start]):
                r, f = divmod(j, k)
                va = folds[r] == f
                m = min(n, booster.num_boosted_rounds())
                trees = booster.predict(self._dmatrix(X.loc[va]), output_margin=True, iteration_range=(0, m))
                oof[r, va] = np.asarray(trees, dtype=np.float64) + (lin_oof[r, va] if start else 0.0)
            margins[start] = oof
        start, weight = self._choose_cv(margins, lin_oof, y, w, folds, k)
        self.cv_repeats_ = repeats
        self.cv_folds_ = k
        self._fit_chosen(X, y, w, start, max(1, int(np.median(rounds[start]))), weight)

    def _fit_chosen(
        self, X: pd.DataFrame, y: np.ndarray, w: np.ndarray, start: bool, n_trees: int, weight: float
    ) -> None:
        """Fit the chosen start, ``n_trees`` trees and the blend at ``weight`` on every row."""
        self.linear_start_ = start
        self.n_trees_ = n_trees
        self.eval_history_: dict[str, list[float]] = {}
        self.linear_ = self._fit_linear(X, y, w)
        self.booster_ = xgb.train(
            self._xgb_params(self.random_state),
            self._dmatrix(X, y, w, self._lin(self.linear_, X)),
            num_boost_round=self.n_trees_,
        )
        self.blend_weight_ = weight
        self.blend_linear_ = self._fit_blend_linear(self.linear_, X, y, w)

    def _choose_cv(
        self,
        trees: Mapping[bool, np.ndarray],
        lin: np.ndarray,
        y: np.ndarray,
        w: np.ndarray,
        folds: np.ndarray,
        k: int,
    ) -> tuple[bool, float]:
        """The start and the blend weight from repeated cross-validation's log-odds.

        ``trees[start]`` and ``lin`` are (repeats, rows) out-of-fold log-odds. Each
        candidate (start, weight) is first recalibrated (Platt: a slope and an intercept
        fitted on all its out-of-fold log-odds, when ``calibration="platt"``), so that
        candidates compete on how well they rank and not on how far their log-odds
        reach: on a few hundred rows a regression's out-of-fold log-odds are too spread
        and a few shallow trees too timid, and raw log loss then rewards the timid trees
        for their timidity. Each candidate then gets its mean log loss on each of the
        ``J = repeats x k`` folds; the one with the lowest mean over all folds is the
        best. The simplest candidate (the largest regression weight, then the linear
        start) whose mean loss is within one standard error of the best's is kept, the
        standard error being that of the paired per-fold differences with Nadeau and
        Bengio's correction for folds that share training rows:
        ``sqrt((1/J + 1/(k-1)) var(d_j))``. Naive row or fold errors treat overlapping
        folds as independent and let a small table buy trees on noise; a table where the
        trees win clearly on every fold keeps them. The trees' share of the kept candidate
        is then shrunk to ``1 - (CV_TREES_BAR_SE / z)^2`` of it, z being how many standard
        errors the regression alone trails it by: the best of the 22 candidates was picked
        on these same folds, so a bar of one standard error is too low (Rossi's 302 rows
        bought trees on noise in 3 of 10 splits). The chosen candidate's recalibration
        is kept as ``calibrator_`` (unless a calibration set replaces it); for the
        regression alone, its slope is first carried from the folds' regressions to the
        one fitted on every row (:func:`_full_data_platt`).
        """
        grid = BLEND_GRID if self.blend else BLEND_GRID[:1]
        repeats = lin.shape[0]
        y_all, w_all = np.tile(y, repeats), np.tile(w, repeats)

        def recalibrated(z: np.ndarray) -> tuple[np.ndarray, tuple[float, float]]:
            if self.calibration != "platt":
                return z, (1.0, 0.0)
            fit = LogisticRegression(C=np.inf, solver="lbfgs", max_iter=1000)
            fit.fit(z.reshape(-1, 1), y_all, sample_weight=w_all)
            slope, intercept = float(fit.coef_[0, 0]), float(fit.intercept_[0])
            return slope * z + intercept, (slope, intercept)

        def per_fold(z: np.ndarray) -> list[float]:
            row = np.logaddexp(0.0, z) - y * z
            return [
                float(np.average(row[r, folds[r] == f], weights=w[folds[r] == f]))
                for r in range(repeats)
                for f in range(k)
            ]

        candidates, fold_loss = [], []
        for start, margin in trees.items():
            for a in grid:
                z, _ = recalibrated(a * lin + (1.0 - a) * margin)  # (repeats, rows)
                fold_loss.append(per_fold(z))
                candidates.append((float(a), start))
        loss = np.asarray(fold_loss)  # (candidates, J)
        n_folds = loss.shape[1]

        def corrected_se(d: np.ndarray) -> np.ndarray:
            return np.sqrt((1.0 / n_folds + 1.0 / (k - 1)) * d.var(axis=-1, ddof=1))

        best = int(np.argmin(loss.mean(axis=1)))
        diff = loss - loss[best]
        se = corrected_se(diff)
        within = np.flatnonzero(diff.mean(axis=1) <= se)
        chosen = max(within, key=lambda i: candidates[i]) if len(within) else best
        a, start = candidates[chosen]
        # Shrink the trees' share by the strength of their evidence (positive-part
        # James-Stein, against a bar of CV_TREES_BAR_SE): the regression alone trails the
        # chosen blend by z standard errors; the trees keep 1 - (2/z)^2 of their share
        # (none at z <= 2, 0.56 at z = 3, 0.75 at z = 4).
        z_alone = 0.0
        if a < 1 and (1.0, start) in candidates:  # blend=False: the trees alone, nothing to shrink
            d = loss[candidates.index((1.0, start))] - loss[chosen]
            z_alone = float(d.mean() / max(float(corrected_se(d)), 1e-12))
            a = 1.0 - (1.0 - a) * trees_share_kept(z_alone)
        _, (slope, intercept) = recalibrated(a * lin + (1.0 - a) * trees[start])
        if a >= 1.0 and slope > 0 and self.calibration == "platt":
            slope, intercept = _full_data_platt(slope, intercept, lin, y_all, w_all, k)
        self.cv_calibration_ = {"slope": slope, "intercept": intercept} if slope > 0 else None
        self.cv_regression_behind_se_ = z_alone
        self.cv_log_loss_ = {
            f"{'linear' if s else 'constant'} start, regression weight {c:.1f}": round(float(v), 6)
            for (c, s), v in zip(candidates, loss.mean(axis=1), strict=True)
        }
        return start, a

    def _choose_start_and_blend(
        self, trees: Mapping[bool, np.ndarray], lin: np.ndarray, y: np.ndarray, w: np.ndarray
    ) -> tuple[bool, float]:
        """The start and the blend weight, from held-out log-odds of each start's trees.

        One-standard-error rule (as glmnet and CART choose a penalty): among the
        candidates whose mean log loss is within one standard error (of the paired
        per-row difference) of the best, the simplest: the largest regression weight,
        then the linear start. The trees' number was chosen on these same rows, so their
        loss here is optimistic; the rule keeps noise from buying step functions.
        """
        grid = BLEND_GRID if self.blend else BLEND_GRID[:1]
        wn = w / max(float(w.mean()), 1e-12)
        candidates, losses = [], []
        for start, margin in trees.items():
            z = grid[:, None] * lin + (1.0 - grid[:, None]) * margin
            losses.append(wn * (np.logaddexp(0.0, z) - y * z))  # (weights, rows)
            candidates += [(float(a), start) for a in grid]
        loss = np.concatenate(losses, axis=0)
        best = int(np.argmin(loss.mean(axis=1)))
        diff = loss - loss[best]
        se = diff.std(axis=1, ddof=1) / np.sqrt(max(diff.shape[1], 1))
        within = np.flatnonzero(diff.mean(axis=1) <= se)
        a, start = max((candidates[i] for i in within), default=candidates[best])
        return start, a

    def _choose_blend(
        self,
        valid: tuple[pd.DataFrame, np.ndarray, np.ndarray],
        X: pd.DataFrame,
        y: np.ndarray,
        w: np.ndarray,
    ) -> LinearStart | None:
        """Set ``blend_weight_`` by validation log loss; return the regression it blends in."""
        self.blend_weight_ = 0.0
        if not self.blend:
            return None
        regression = self.linear_ if self.linear_ is not None else self._fit_regression(X, y, w)
        trees = self._margin(self.booster_, self.linear_, None, valid[0])
        lin = regression.margin(valid[0])
        _, self.blend_weight_ = self._choose_start_and_blend(
            {bool(self.linear_start_): trees}, lin, valid[1], valid[2]
        )
        return regression if self.blend_weight_ > 0 else None

    @staticmethod
    def _lin(linear: LinearStart | None, X: pd.DataFrame) -> np.ndarray | None:
        return None if linear is None else linear.margin(X)

    def _encode_y(self, y: Any, *, fit: bool) -> np.ndarray:
        y = column_or_1d(y, warn=True)
        if pd.isna(y).any() or (y.dtype.kind in "fc" and not np.isfinite(y).all()):
            raise ValueError("Input y contains NaN, infinity or missing values: every row needs a label")
        if fit:
            check_classification_targets(y)
            classes = np.unique(y)
            if len(classes) < 2:
                raise ValueError(
                    f"RiskModel needs samples of 2 classes in y; it has only one class: {classes.tolist()}"
                )
            if len(classes) > 2:
                raise ValueError(
                    f"Only binary classification is supported. RiskModel is a binary classifier; "
                    f"y has {len(classes)} classes: {classes[:10].tolist()}"
                )
            self.classes_ = classes
        unknown = ~np.isin(y, self.classes_)
        if unknown.any():
            raise ValueError(
                f"y holds values not among the classes {self.classes_.tolist()}: "
                f"{pd.unique(y[unknown])[:5].tolist()}"
            )
        return (y == self.classes_[1]).astype(np.float64)

    # ------------------------------------------------------------------ fitting
    def _constraints(self, columns: Sequence[str]) -> dict[str, int]:
        if isinstance(self.monotone_constraints, str):
            if self.monotone_constraints != "catalogue":
                raise ValueError(
                    "monotone_constraints must be a mapping, None or 'catalogue', "
                    f"got {self.monotone_constraints!r}"
                )
            asked = monotone_constraints(columns)
        else:
            asked = dict(self.monotone_constraints or {})
        out = dict.fromkeys(columns, 0)
        unknown = set(asked) - set(columns)
        if unknown:
            raise ValueError(f"monotone_constraints name columns not in X: {sorted(unknown)}")
        bad = {c: v for c, v in asked.items() if int(v) not in (-1, 0, 1)}
        if bad:
            raise ValueError(f"monotone_constraints must be -1, 0 or 1, got {bad}")
        out.update({c: int(v) for c, v in asked.items()})
        for c in self.categories_:
            if out.get(c, 0) != 0:
                if c in asked:
                    raise ValueError(
                        f"monotone_constraints: column {c!r} is categorical and cannot be ordered"
                    )
                out[c] = 0
        return out

    def _xgb_params(self, seed: int, start: bool | None = None, nthread: int | None = None) -> dict[str, Any]:
        """xgboost's settings; ``start`` overrides ``linear_start_``, ``nthread`` ``n_jobs``."""
        start = self.linear_start_ if start is None else start
        return {
            "objective": "binary:logistic",
            "eval_metric": "logloss",
            "tree_method": "hist",
            "max_depth": self.max_depth,
            "eta": self.learning_rate,
            "min_child_weight": self.min_child_weight,
            "subsample": self.subsample,
            "colsample_bytree": self.colsample_bytree,
            "lambda": self.reg_lambda,
            # With a linear start the trees' own intercept is 0 (margin), the start's is the bias.
            **({"base_score": 0.5} if start else {}),
            "monotone_constraints": tuple(self.monotone_constraints_[c] for c in self._columns()),
            "seed": seed,
            "nthread": self.n_jobs if nthread is None else nthread,
            "verbosity": 0,
        }

    def _holdout(
        self, y: np.ndarray, groups: np.ndarray | None, want_valid: bool, want_calib: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        """Seeded validation and calibration masks over the fit rows (whole groups together).

        Without groups the draw is stratified by class; a hold-out with fewer than
        ``MIN_HOLDOUT_PER_CLASS`` rows of either class is dropped (then no early stopping / no calibration).
        """
        n = len(y)
        rng = np.random.default_rng(self.random_state)
        fracs = (
            self.validation_fraction if want_valid else 0.0,
            self.calibration_fraction if want_calib else 0.0,
        )
        # A uniform draw per unit (person, or row within its class): valid is the lowest
        # fraction, calib the next, so both are deterministic given the seed.
        if groups is not None:
            codes = _group_codes(groups, n)
            u = rng.random(int(codes.max()) + 1)[codes]
        else:
            u = np.empty(n)
            for cls in (0.0, 1.0):
                rows = np.flatnonzero(y == cls)
                u[rows] = (rng.permutation(len(rows)) + 0.5) / max(len(rows), 1)
        valid = u < fracs[0]
        calib = (u >= fracs[0]) & (u < fracs[0] + fracs[1])
        masks = []
        for name, m in (("validation", valid), ("calibration", calib)):
            ok = m.any() and min((y[m] == 1).sum(), (y[m] == 0).sum()) >= MIN_HOLDOUT_PER_CLASS
            if m.any() and not ok:
                logger.info(
                    "risk model: %s hold-out too small (a class has < %d rows): skipped",
                    name,
                    MIN_HOLDOUT_PER_CLASS,
                )
            masks.append(m if ok else np.zeros(n, dtype=bool))
        return masks[0], masks[1]

    @one_blas_thread  # same bits on every machine (models._linear); the pieces run side by side
    def fit(
        self,
        X: pd.DataFrame | np.ndarray,
        y: pd.Series | np.ndarray,
        sample_weight: np.ndarray | None = None,
        *,
        eval_set: tuple[Any, ...] | None = None,
        calib_set: tuple[Any, ...] | None = None,
        groups: pd.Series | np.ndarray | None = None,
        calib_groups: pd.Series | np.ndarray | None = None,
        eval_groups: pd.Series | np.ndarray | None = None,
    ) -> RiskModel:
        """Grow the trees, stop early on validation rows, calibrate on calibration rows.

        Parameters
        ----------
        X, y
            Training rows and their labels (two distinct values).
        sample_weight
            Row weights (default 1); also used by the hold-outs drawn from ``X``.
        eval_set
            ``(X, y)`` or ``(X, y, sample_weight)`` for early stopping. Without it, a
            ``validation_fraction`` of ``X`` is held out (0: keep all ``n_estimators``).
        calib_set
            ``(X, y)`` or ``(X, y, sample_weight)`` for the calibrator. Without it, a
            ``calibration_fraction`` of ``X`` is held out (0, or ``calibration="none"``:
            the trees' own probability).
        groups, calib_groups, eval_groups
            Unit ids (persons) of the rows: the hold-outs take whole units, and the
            bootstrap resamples units rather than rows.
        """
        X = self._to_frame(X, reset=True)
        y_arr = self._encode_y(y, fit=True)
        if len(y_arr) != len(X):
            raise ValueError(f"X has {len(X)} rows but y has {len(y_arr)}")
        w = _check_sample_weight(sample_weight, X, dtype=np.float64)
        self.monotone_constraints_ = self._constraints(self._columns())
        g = None if groups is None else np.asarray(groups)
        if g is not None and len(g) != len(X):
            raise ValueError(f"groups has {len(g)} values but X has {len(X)} rows")

        def unpack(s: tuple[Any, ...], name: str) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
            if len(s) not in (2, 3):
                raise ValueError(f"{name} must be (X, y) or (X, y, sample_weight)")
            Xs = self._to_frame(s[0], reset=False)
            ys = self._encode_y(s[1], fit=False)
            ws = _check_sample_weight(s[2] if len(s) == 3 else None, Xs, dtype=np.float64)
            return Xs, ys, ws

        valid = None if eval_set is None else unpack(eval_set, "eval_set")
        calib = None if calib_set is None else unpack(calib_set, "calib_set")
        want_valid = valid is None and self.validation_fraction > 0
        want_calib = calib is None and self.calibration != "none" and self.calibration_fraction > 0
        # A small table: choose by K-fold cross-validation instead of one small hold-out,
        # with fewer folds when the smaller class cannot give each fold
        # MIN_HOLDOUT_PER_CLASS rows; below two such folds, the regression alone.
        smaller_class = min(int((y_arr == 1).sum()), int((y_arr == 0).sum()))
        n_folds = (
            min(round(1.0 / self.validation_fraction), CV_MAX_FOLDS, smaller_class // MIN_HOLDOUT_PER_CLASS)
            if want_valid
            else 0
        )
        regression_only = want_valid and n_folds < 2
        cross_validate = (
            want_valid
            and n_folds >= 2
            and (len(y_arr) <= CV_MAX_ROWS or smaller_class < CV_MIN_SMALLER_CLASS)
        )
        want_valid = want_valid and n_folds >= 2 and not cross_validate
        if want_valid or want_calib:
            v_mask, c_mask = self._holdout(y_arr, g, want_valid, want_calib)
            keep = ~(v_mask | c_mask)
            if v_mask.any():
                valid = (X.loc[v_mask], y_arr[v_mask], w[v_mask])
                eval_groups = None if g is None else g[v_mask]
            if c_mask.any():
                calib = (X.loc[c_mask], y_arr[c_mask], w[c_mask])
                calib_groups = None if g is None else g[c_mask]
            X, y_arr, w = X.loc[keep], y_arr[keep], w[keep]
            g = None if g is None else g[keep]
            # A large table whose hold-out missed MIN_HOLDOUT_PER_CLASS rows of a class
            # (a rare outcome, or few large groups): cross-validate rather than grow
            # n_estimators trees that nothing stopped.
            cross_validate = cross_validate or (want_valid and valid is None)

        if regression_only:
            warnings.warn(
                f"RiskModel: {smaller_class} rows of the smaller class are too few to choose "
                f"trees on held-out rows (at least {2 * MIN_HOLDOUT_PER_CLASS} needed): fitted the "
                "logistic regression alone (blend_weight_ = 1)",
                UserWarning,
                stacklevel=2,
            )
            # The regression alone: weight 1 (one tree grown from it keeps the model's
            # shape and carries nothing), no out-of-fold recalibration.
            self.cv_calibration_ = None
            self._fit_chosen(X, y_arr, w, start=True, n_trees=1, weight=1.0)
            self._fit_bootstrap(X, y_arr, w, g, calib, calib_groups, cross_validated=True)
            return self

        if cross_validate:
            self._fit_cross_validated(X, y_arr, w, g, n_folds)
            self._fit_bootstrap(X, y_arr, w, g, calib, calib_groups, cross_validated=True)
            return self

        # "auto": grow both starts and keep the one with the lower validation log loss.
        if self.linear_start == "auto":
            starts = [True, False] if valid is not None else [True]
        else:
            starts = [bool(self.linear_start)]
        # The starts are grown side by side (threads, the cores shared out between them;
        # a booster does not depend on its thread count); the first of equal losses wins.
        workers = min(self.n_jobs, len(starts))
        nthread = max(1, self.n_jobs // workers)
        if workers > 1:
            from joblib import Parallel, delayed

            grown = Parallel(n_jobs=workers, backend="threading")(
                delayed(self._grow_start)(s, X, y_arr, w, valid, nthread) for s in starts
            )
        else:
            grown = [self._grow_start(s, X, y_arr, w, valid, nthread) for s in starts]
        best = min(grown, key=lambda r: r[0])  # min keeps the first of equal scores
        _, self.linear_start_, self.linear_, self.booster_, history = best
        del grown, best  # the other start's booster and its matrices
        self.n_trees_ = int(self.booster_.best_iteration) + 1 if valid is not None else self.n_estimators
        self.eval_history_ = {k: list(v["logloss"]) for k, v in history.items()}
        self.blend_weight_ = 0.0
        self.blend_linear_ = None if valid is None else self._choose_blend(valid, X, y_arr, w)
        final_refit = self.refit_on_valid and valid is not None
        if self.refit_on_valid and valid is not None:
            # The early-stopped booster holds its training matrix: free it before the refits.
            del self.booster_
            X = pd.concat([X, valid[0]], axis=0, ignore_index=True)
            y_arr = np.concatenate([y_arr, valid[1]])
            w = np.concatenate([w, valid[2]])
            g = (
                np.concatenate([g, np.asarray(eval_groups)])
                if g is not None and eval_groups is not None
                else None
            )
        # The final trees (regrown on training + validation rows) are one more refit, with
        # the rows' own weights and the model's seed: they run alongside the bootstrap's.
        self._fit_bootstrap(X, y_arr, w, g, calib, calib_groups, final=final_refit)
        logger.info("risk model: %d trees, calibrator %s", self.n_trees_, self.calibrator_.to_dict())
        return self

    def _grow_start(
        self,
        start: bool,
        X: pd.DataFrame,
        y: np.ndarray,
        w: np.ndarray,
        valid: tuple[pd.DataFrame, np.ndarray, np.ndarray] | None,
        nthread: int,
    ) -> tuple[float, bool, LinearStart | None, xgb.Booster, dict[str, Any]]:
        """One candidate start's trees, stopped early on ``valid``: (validation log loss,
        start, linear start, booster, evaluation history)."""
        linear = self._fit_linear(X, y, w, start)
        dtrain = self._dmatrix(X, y, w, self._lin(linear, X), nthread=nthread)
        evals = []
        if valid is not None:
            dvalid = self._dmatrix(valid[0], valid[1], valid[2], self._lin(linear, valid[0]), nthread=nthread)
            evals.append((dvalid, "valid"))
        history: dict[str, Any] = {}
        booster = xgb.train(
            self._xgb_params(self.random_state, start, nthread),
            dtrain,
            num_boost_round=self.n_estimators,
            evals=evals,
            early_stopping_rounds=self.early_stopping_rounds if valid is not None else None,
            evals_result=history,
            verbose_eval=False,
        )
        score = float(booster.best_score) if valid is not None else 0.0
        return score, start, linear, booster, history

    def _calibrate(
        self, calib: tuple[pd.DataFrame, np.ndarray, np.ndarray] | None, cross_validated: bool = False
    ) -> None:
        if calib is not None and self.calibration != "none":
            margin = self._margin(self.booster_, self.linear_, self.blend_linear_, calib[0])
            self.calibrator_ = _Calibrator.fit(self.calibration, margin, calib[1], calib[2])
        elif cross_validated and self.cv_calibration_ is not None:
            # The out-of-fold recalibration of the chosen blend (see _choose_cv).
            self.calibrator_ = _Calibrator("platt", dict(self.cv_calibration_))
        else:
            self.calibrator_ = _Calibrator("platt", {"slope": 1.0, "intercept": 0.0})

    def _fit_bootstrap(
        self,
        X: pd.DataFrame,
        y: np.ndarray,
        weight: np.ndarray,
        groups: np.ndarray | None,
        calib: tuple[pd.DataFrame, np.ndarray, np.ndarray] | None,
        calib_groups: pd.Series | np.ndarray | None,
        final: bool = False,
        cross_validated: bool = False,
    ) -> None:
        """The bootstrap refits, then the calibrators; with ``final``, first the model's own
        trees regrown on ``X`` (the rows' weights, the model's seed) in the same pool.

        Every refit is independent of the others once the number of trees, the start and
        the blend weight are chosen, so all of them (and the final trees) share the cores:
        ``n_jobs`` at a time, one thread each.
        """
        self.bootstrap_boosters_: list[xgb.Booster] = []
        self.bootstrap_calibrators_: list[_Calibrator] = []
        self.bootstrap_linears_: list[LinearStart | None] = []
        self.bootstrap_blend_linears_: list[LinearStart | None] = []
        n_boot = max(self.n_bootstrap, 0)
        rng = np.random.default_rng(self.random_state)
        train_codes = _group_codes(groups, len(weight))
        calib_used = calib if self.calibration != "none" else None
        if calib_used is not None:
            calib_codes = _group_codes(calib_groups, len(calib_used[0]))
        n_units = int(train_codes.max()) + 1
        m = self.bootstrap_persons
        if m is not None and m < 1:
            raise ValueError(f"bootstrap_persons must be at least 1 (or None), got {m}")
        subsample = m is not None and m < n_units and n_boot > 0
        self.bootstrap_sizes_: tuple[int, int] | None = (
            (int(m), n_units) if subsample and m is not None else (n_units, n_units)
        )
        self.bootstrap_scale_ = float(np.sqrt(m / n_units)) if subsample and m is not None else 1.0
        if subsample:
            logger.info(
                "risk model: m-out-of-n bootstrap, each refit on %s of %s persons (spread x %.4f)",
                f"{m:,}",
                f"{n_units:,}",
                self.bootstrap_scale_,
            )
        # Every refit's weights are drawn first, in one fixed order (refit b's training
        # weights, then its calibration weights), so the refits can run in any order or in
        # parallel and still give the same model.
        draws: list[tuple[np.ndarray, np.ndarray | None]] = []
        for _ in range(n_boot):
            if subsample:
                assert m is not None
                bw = _draw_units(rng, m, n_units)[train_codes] * weight
                wc = None
                if calib_used is not None:
                    n_calib = int(calib_codes.max()) + 1
                    m_calib = max(1, round(n_calib * m / n_units))
                    wc = _draw_units(rng, m_calib, n_calib)[calib_codes] * calib_used[2]
            else:
                bw = rng.poisson(1.0, size=n_units)[train_codes] * weight
                wc = (
                    rng.poisson(1.0, size=int(calib_codes.max()) + 1)[calib_codes] * calib_used[2]
                    if calib_used is not None
                    else None
                )
            draws.append((bw, wc))
        # (weights, seed offset): the final trees are refit -1 (seed random_state).
        jobs = ([(weight, -1)] if final else []) + [(bw, b) for b, (bw, _) in enumerate(draws)]
        # Each refit gets its own matrix: xgboost sketches a matrix's histogram bins once,
        # with the weights it first trains under, so a matrix shared by the refits would
        # bin every refit by the first one's weights (and could not be shared by threads).
        n_workers = min(self.n_jobs, len(jobs))
        if n_workers > 1:
            # n_jobs refits at once, one xgboost thread each (cores are not oversubscribed).
            # Threads, not processes: xgboost releases the GIL while it trains, and the
            # rows are shared rather than copied into every worker.
            from joblib import Parallel, delayed

            logger.info("risk model: %d refits (%d bootstrap), %d at a time", len(jobs), n_boot, n_workers)
            fits = Parallel(n_jobs=n_workers, backend="threading")(
                delayed(self._refit)(X, y, bw, b, nthread=1, drawn_only=subsample and b >= 0)
                for bw, b in jobs
            )
        else:
            fits = [self._refit(X, y, bw, b, drawn_only=subsample and b >= 0) for bw, b in jobs]
        if final:
            self.booster_, self.linear_, self.blend_linear_ = fits.pop(0)
        self._calibrate(calib, cross_validated)
        for (booster, linear, blend_linear), (_, wc) in zip(fits, draws, strict=True):
            self.bootstrap_boosters_.append(booster)
            self.bootstrap_linears_.append(linear)
            self.bootstrap_blend_linears_.append(blend_linear)
            if calib_used is not None:
                assert wc is not None
                Xc, yc = calib_used[0], calib_used[1]
                if subsample:  # only the drawn calibration persons' rows
                    drawn = wc > 0
                    Xc, yc, wc = Xc.loc[drawn], yc[drawn], wc[drawn]
                margin = self._margin(booster, linear, blend_linear, Xc)
                cal = _Calibrator.fit(self.calibration, margin, yc, wc)
            else:
                cal = self.calibrator_
            self.bootstrap_calibrators_.append(cal)

    def _refit(
        self,
        X: pd.DataFrame,
        y: np.ndarray,
        bw: np.ndarray,
        b: int,
        nthread: int | None = None,
        drawn_only: bool = False,
    ) -> tuple[xgb.Booster, LinearStart | None, LinearStart | None]:
        """Refit ``b`` on weights ``bw``: the linear start, ``n_trees_`` trees (seed
        ``random_state + b + 1``; -1 is the model's own) and the regression they are
        blended with (None when the blend weight is 0).

        ``drawn_only`` (the m-out-of-n bootstrap): the refit sees only the rows of the
        persons drawn (weight > 0), so it costs what ``m`` persons cost. The Poisson
        bootstrap of all ``n`` keeps its zero-weight rows, as it always has (they still
        place xgboost's histogram bins and the regression's medians).
        """
        if drawn_only:
            drawn = bw > 0
            X, y, bw = X.loc[drawn], y[drawn], bw[drawn]
        linear = self._fit_linear(X, y, bw)
        dtrain = self._dmatrix(X, y, bw.astype(np.float32), self._lin(linear, X), nthread=nthread)
        params = self._xgb_params(self.random_state + b + 1, nthread=nthread)
        booster = xgb.train(params, dtrain, num_boost_round=self.n_trees_)
        return booster, linear, self._fit_blend_linear(linear, X, y, bw)

    # --------------------------------------------------------------- predicting
    def _margin(
        self,
        booster: xgb.Booster,
        linear: LinearStart | None,
        blend_linear: LinearStart | None,
        X: pd.DataFrame,
    ) -> np.ndarray:
        """Log-odds on already-encoded ``X``: ``booster``'s trees plus the linear start,
        blended with ``blend_linear`` by ``blend_weight_``."""
        dm = self._dmatrix(X)
        trees = booster.predict(dm, output_margin=True, iteration_range=(0, self.n_trees_))
        out = np.asarray(trees, dtype=np.float64)
        out = out if linear is None else out + linear.margin(X)
        a = getattr(self, "blend_weight_", 0.0)
        if blend_linear is None or a <= 0:
            return out
        return (1.0 - a) * out + a * blend_linear.margin(X)

    def _checked(self, X: Any) -> pd.DataFrame:
        check_is_fitted(self, "booster_")
        return self._to_frame(X, reset=False)

    def predict_margin(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """The trees' uncalibrated log-odds, shape (n,)."""
        Xf = self._checked(X)
        return self._margin(self.booster_, self.linear_, self.blend_linear_, Xf)

    def predict_proba(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Calibrated probabilities, shape (n, 2), float64; column 1 is ``classes_[1]``."""
        check_is_fitted(self, "booster_")
        p = self.calibrator_(self.predict_margin(X))
        return np.column_stack([1.0 - p, p])

    def predict(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """``classes_[1]`` where the calibrated probability is at least 0.5, else ``classes_[0]``."""
        positive = self.predict_proba(X)[:, 1] >= 0.5
        return self.classes_[positive.astype(np.int64)]

    def predict_interval(self, X: pd.DataFrame | np.ndarray) -> pd.DataFrame:
        """``low`` / ``high``: the bootstrap interval of the probability (``interval`` coverage).

        Without bootstrap refits (``n_bootstrap=0``) both are NaN and a warning says so.
        """
        Xf = self._checked(X)
        index = X.index if isinstance(X, pd.DataFrame) else pd.RangeIndex(len(Xf))
        if not self.bootstrap_boosters_:
            warnings.warn(
                "RiskModel.predict_interval: no interval without bootstrap refits; "
                "fit with n_bootstrap > 0 (returning NaN)",
                UserWarning,
                stacklevel=2,
            )
            nan = np.full(len(Xf), np.nan)
            return pd.DataFrame({"low": nan, "high": nan}, index=index)
        draws = np.column_stack(
            [
                cal(self._margin(bst, lin, blin, Xf))
                for bst, lin, blin, cal in zip(
                    self.bootstrap_boosters_,
                    self.bootstrap_linears_,
                    self.bootstrap_blend_linears_,
                    self.bootstrap_calibrators_,
                    strict=True,
                )
            ]
        )
        # The refits give the spread; the centre stays the fitted model's own estimate
        # (averaged refits are shrunk towards the mean, so their percentiles can miss it).
        z = _logit(draws)
        dev = z - z.mean(axis=1, keepdims=True)
        tail = (1.0 - self.interval) / 2.0
        q_lo, q_hi = np.quantile(dev, [tail, 1.0 - tail], axis=1)
        scale = getattr(self, "bootstrap_scale_", 1.0)
        if scale != 1.0:  # m-out-of-n refits: their spread is that of m persons, not n
            q_lo, q_hi = q_lo * scale, q_hi * scale
        centre = _logit(self.calibrator_(self._margin(self.booster_, self.linear_, self.blend_linear_, Xf)))
        lo, hi = _expit(centre + q_lo), _expit(centre + q_hi)
        return pd.DataFrame({"low": lo, "high": hi}, index=index)

    # --------------------------------------------------------------- explaining
    @property
    def base_risk_(self) -> float:
        """Calibrated probability (0-1) at the trees' base log-odds (what the points add to)."""
        check_is_fitted(self, "booster_")
        return float(self.calibrator_(np.array([self._bias()]))[0])

    @property
    def base_points_(self) -> float:
        """``base_risk_`` in probability points (0-100): the base that ``explain`` adds to."""
        return 100.0 * self.base_risk_

    def _bias(self) -> float:
        one = pd.DataFrame({c: [np.nan] for c in self._columns()})
        return float(self._contribs(_encode(one, self.categories_))[0, -1])

    def _contribs(self, X: pd.DataFrame) -> np.ndarray:
        """Per-column log-odds contributions and (last column) the bias: trees + linear start."""
        dm = self._dmatrix(X)
        c = np.asarray(
            self.booster_.predict(dm, pred_contribs=True, iteration_range=(0, self.n_trees_)),
            dtype=np.float64,
        )
        if self.linear_ is not None:
            lin, intercept = self.linear_.contributions(X, self._columns())
            c[:, :-1] += lin
            c[:, -1] += intercept
        a = self.blend_weight_
        if self.blend_linear_ is not None and a > 0:
            lin, intercept = self.blend_linear_.contributions(X, self._columns())
            c = (1.0 - a) * c
            c[:, :-1] += a * lin
            c[:, -1] += a * intercept
        return c

    def shap_values(self, X: pd.DataFrame | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Exact TreeSHAP in log-odds: (n, features) contributions and the (n,) bias."""
        c = self._contribs(self._checked(X))
        return c[:, :-1], c[:, -1]

    def explain(self, X: pd.DataFrame | np.ndarray) -> pd.DataFrame:
        """Each feature's contribution to the calibrated probability, in points (0-100).

        ``base_points_ + row sum == 100 * predict_proba(X)[:, 1]`` exactly. The trees'
        SHAP values are in log-odds; the calibrated probability change from the base,
        ``p - p0``, is shared among features in proportion to their log-odds
        contributions (where the log-odds sum to nearly zero, by the calibrator's slope
        at the base instead).
        """
        phi, bias = self.shap_values(X)
        # The risk itself comes from the trees' margin (float32 sums of SHAP drift by ~1e-6).
        p = self.calibrator_(self.predict_margin(X))
        p0 = self.calibrator_(bias)
        dm = phi.sum(axis=1)
        h = 1e-4
        slope = (self.calibrator_(bias + h) - self.calibrator_(bias - h)) / (2 * h)
        small = np.abs(dm) < 1e-6
        ratio = np.where(small, slope, (p - p0) / np.where(small, 1.0, dm))
        points = phi * ratio[:, None] * 100.0
        index = X.index if isinstance(X, pd.DataFrame) else None
        return pd.DataFrame(points, columns=self._columns(), index=index)

    # ------------------------------------------------------------------ storage
    def save(self, folder: Path) -> list[Path]:
        """Write the trees (xgboost UBJ) and the calibrator/metadata JSON to ``folder``."""
        check_is_fitted(self, "booster_")
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        written = [folder / MODEL_FILE, folder / META_FILE]
        for stale in folder.glob("bootstrap_*.ubj"):
            stale.unlink()
        self.booster_.save_model(str(folder / MODEL_FILE))
        for i, bst in enumerate(self.bootstrap_boosters_):
            path = folder / f"bootstrap_{i:03d}.ubj"
            bst.save_model(str(path))
            written.append(path)
        params = {k: v for k, v in self.get_params().items() if k != "monotone_constraints"}
        scale = getattr(self, "bootstrap_scale_", 1.0)
        if scale == 1.0:
            # It changed nothing (no refits, or m >= n): a model whose refits used everyone
            # saves exactly as before the setting existed.
            params.pop("bootstrap_persons", None)
        meta = {
            "params": params,
            "monotone_constraints_asked": (
                self.monotone_constraints
                if isinstance(self.monotone_constraints, str)
                else dict(self.monotone_constraints or {})
            ),
            "columns": [str(c) for c in self.columns_],
            "feature_names_in": hasattr(self, "feature_names_in_"),
            "classes": self.classes_.tolist(),
            "categories": self.categories_,
            "monotone_constraints": self.monotone_constraints_,
            "n_trees": self.n_trees_,
            "calibrator": self.calibrator_.to_dict(),
            "bootstrap_calibrators": [c.to_dict() for c in self.bootstrap_calibrators_],
            "linear": None if self.linear_ is None else self.linear_.to_dict(),
            "bootstrap_linears": [None if m is None else m.to_dict() for m in self.bootstrap_linears_],
            "blend_weight": self.blend_weight_,
            "blend_linear": None if self.blend_linear_ is None else self.blend_linear_.to_dict(),
            "bootstrap_blend_linears": [
                None if m is None else m.to_dict() for m in self.bootstrap_blend_linears_
            ],
        }
        if scale != 1.0 and self.bootstrap_sizes_ is not None:
            meta["bootstrap_scale"] = scale
            meta["bootstrap_sizes"] = list(self.bootstrap_sizes_)
        (folder / META_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")
        return written

    @classmethod
    def load(cls, folder: Path) -> RiskModel:
        """Read a model written by :meth:`save`."""
        folder = Path(folder)
        meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
        model = cls(**meta["params"], monotone_constraints=meta["monotone_constraints_asked"] or None)
        model.columns_ = np.asarray(meta["columns"], dtype=object)
        if meta["feature_names_in"]:
            model.feature_names_in_ = model.columns_.copy()
        model.n_features_in_ = len(meta["columns"])
        model.classes_ = np.asarray(meta["classes"])
        model.categories_ = {k: list(v) for k, v in meta["categories"].items()}
        model.monotone_constraints_ = {k: int(v) for k, v in meta["monotone_constraints"].items()}
        model.n_trees_ = int(meta["n_trees"])
        model.booster_ = xgb.Booster(model_file=str(folder / MODEL_FILE))
        model.calibrator_ = _Calibrator.from_dict(meta["calibrator"])
        model.bootstrap_calibrators_ = [_Calibrator.from_dict(d) for d in meta["bootstrap_calibrators"]]
        model.bootstrap_boosters_ = [
            xgb.Booster(model_file=str(folder / f"bootstrap_{i:03d}.ubj"))
            for i in range(len(model.bootstrap_calibrators_))
        ]
        model.eval_history_ = {}
        model.linear_ = None if meta["linear"] is None else LinearStart.from_dict(meta["linear"])
        model.linear_start_ = model.linear_ is not None
        model.bootstrap_linears_ = [
            None if d is None else LinearStart.from_dict(d) for d in meta["bootstrap_linears"]
        ]
        # Models saved before the blend existed have none.
        model.blend_weight_ = float(meta.get("blend_weight", 0.0))
        blend = meta.get("blend_linear")
        model.blend_linear_ = None if blend is None else LinearStart.from_dict(blend)
        model.bootstrap_blend_linears_ = [
            None if d is None else LinearStart.from_dict(d)
            for d in meta.get("bootstrap_blend_linears", [None] * len(model.bootstrap_linears_))
        ]
        # Refits of every person (and models saved before m-out-of-n refits existed): 1,
        # and the sizes are not on record.
        model.bootstrap_scale_ = float(meta.get("bootstrap_scale", 1.0))
        sizes = meta.get("bootstrap_sizes")
        model.bootstrap_sizes_ = None if sizes is None else (int(sizes[0]), int(sizes[1]))
        return model


def interval_columns(model: RiskModel, X: pd.DataFrame, prefix: str = "risk_12m_") -> pd.DataFrame:
    """``{prefix}low`` / ``{prefix}high`` for the pipeline's outputs.

    A model fitted with ``n_bootstrap=0`` (``train.n_bootstrap: 0``, chosen in params)
    gives NaN columns without the library's warning: the choice is already on record.
    """
    if not model.bootstrap_boosters_:
        nan = np.full(len(X), np.nan)
        return pd.DataFrame({f"{prefix}low": nan, f"{prefix}high": nan}, index=X.index)
    return model.predict_interval(X).add_prefix(prefix)


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(np.asarray(p, dtype=np.float64), 1e-9, 1 - 1e-9)
    return np.asarray(np.log(q) - np.log1p(-q))


def _expit(z: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-z)))


def model_files(folder: Path) -> list[Path]:
    """The files of a saved model: trees, calibrator/metadata JSON and bootstrap refits."""
    folder = Path(folder)
    files = [folder / MODEL_FILE, folder / META_FILE, *sorted(folder.glob("bootstrap_*.ubj"))]
    missing = [f for f in files if not f.exists()]
    if missing:
        raise FileNotFoundError(f"not a saved risk model, missing: {missing}")
    return files


def model_fingerprint(folder: Path) -> str:
    """sha256 over the saved model's file names and bytes: equal models, equal fingerprints.

    The registry uses it to recognise a retrain that reproduced an already registered
    model, so that it is reused rather than registered again.
    """
    h = hashlib.sha256()
    for f in model_files(folder):
        h.update(f.name.encode("utf-8") + b"\0")
        h.update(hashlib.sha256(f.read_bytes()).digest())
    return h.hexdigest()


def _learn_categories(X: pd.DataFrame) -> dict[str, list[Any]]:
    """Categories per categorical column: pandas ``category`` columns keep theirs; string
    or object columns that are not all numbers are categorical, categories sorted."""
    out: dict[str, list[Any]] = {}
    for c in X.columns:
        col = X[c]
        if isinstance(col.dtype, pd.CategoricalDtype):
            out[str(c)] = col.cat.categories.tolist()
        elif col.dtype == object or pd.api.types.is_string_dtype(col.dtype):
            values = col.dropna()
            if pd.to_numeric(values, errors="coerce").notna().all() and not _has_str(values):
                continue
            out[str(c)] = sorted({str(v) for v in values})
    return out


def _has_str(values: pd.Series) -> bool:
    return bool(values.map(lambda v: isinstance(v, str)).any())


def _encode(X: pd.DataFrame, categories: Mapping[str, list[Any]]) -> pd.DataFrame:
    """Categorical columns as pandas categoricals over the fit's categories (unseen: missing);
    the others as float32 (booleans 0/1, missing as NaN)."""
    cols: dict[str, Any] = {}
    for c in X.columns:
        col = X[c]
        if c in categories:
            cats = categories[c]
            values = col.astype(object).where(col.notna(), None)
            strs = values.map(lambda v: None if v is None else str(v))
            levels = [str(v) for v in cats]
            cols[c] = pd.Categorical(strs.where(strs.isin(levels), None), categories=levels)
        else:
            try:
                numeric = pd.api.types.is_numeric_dtype(col.dtype) or pd.api.types.is_bool_dtype(col.dtype)
                cols[c] = col if numeric else pd.to_numeric(col, errors="raise").astype("float32")
            except (ValueError, TypeError) as err:
                raise ValueError(f"column {c!r} was numeric at fit but holds non-numbers: {err}") from err
    out = pd.DataFrame(cols, index=X.index)
    numeric = [c for c in out.columns if c not in categories]
    if numeric:
        values = out[numeric].astype("float32").to_numpy(dtype=np.float32, na_value=np.nan)
        if np.isinf(values).any():
            bad = [numeric[i] for i in np.flatnonzero(np.isinf(values).any(axis=0))]
            raise ValueError(f"Input X contains infinity in columns {bad[:10]}")
    return out


def _full_data_platt(
    slope: float, intercept: float, margin: np.ndarray, y: np.ndarray, w: np.ndarray, k: int
) -> tuple[float, float]:
    """The out-of-fold Platt slope of a regression, carried to the regression fitted on
    all rows: (slope, intercept).

    Each fold's regression grew on (k - 1) / k of the rows and overfits more than the
    one fitted on every row; a regression's overfitting (how far its slope falls short of
    1) goes as 1 / rows, so the full fit's is (k - 1) / k of the folds'. The intercept is
    refitted for that slope on the same out-of-fold log-odds (Newton, weighted, from the
    out-of-fold intercept).
    """
    slope = 1.0 - (1.0 - slope) * (k - 1) / k
    z = slope * np.asarray(margin, dtype=np.float64).ravel()
    for _ in range(100):
        p = _expit(z + intercept)
        step = float(w @ (p - y)) / max(float(w @ (p * (1.0 - p))), 1e-12)
        intercept -= step
        if abs(step) < 1e-12:
            break
    return slope, intercept


def _draw_units(rng: np.random.Generator, m: int, n: int) -> np.ndarray:
    """How many times each of ``n`` units is drawn in ``m`` draws with replacement (sums to ``m``)."""
    return np.bincount(rng.integers(0, n, size=m), minlength=n)


def _group_codes(groups: pd.Series | np.ndarray | None, n: int) -> np.ndarray:
    if groups is None:
        return np.arange(n)
    codes, _ = pd.factorize(pd.Series(np.asarray(groups)), sort=True)
    return np.asarray(codes, dtype=np.int64)
