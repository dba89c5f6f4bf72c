"""The reoffending-risk model: shallow monotone boosted trees plus a held-out calibrator.

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
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted

from features.catalogue import DEFAULT_HISTORY_MONTHS, monotone_constraints, specs_for_columns
from iom_contract import ETHNICITY, SEX

logger = logging.getLogger(__name__)

MODEL_FILE = "risk_model.ubj"
META_FILE = "risk_model.json"
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


class RiskModel(ClassifierMixin, BaseEstimator):
    """Calibrated, monotone, shallow gradient-boosted trees for 12-month reoffending.

    Parameters
    ----------
    max_depth, learning_rate, n_estimators, early_stopping_rounds, min_child_weight,
    subsample, colsample_bytree, reg_lambda
        xgboost settings; ``n_estimators`` is the ceiling that early stopping cuts.
    calibration
        ``platt`` or ``isotonic`` (see the module docstring for the choice).
    monotone_overrides
        Feature -> direction, overriding the catalogue; columns outside the catalogue
        (e.g. protected one-hots) are unconstrained unless named here.
    n_bootstrap
        Bootstrap refits for :meth:`predict_interval` (0: no interval).
    interval
        Central coverage of the interval (0.9: 5th to 95th percentile).
    random_state
        Seed for xgboost's sampling and the bootstrap weights.
    n_jobs
        xgboost threads. 1 by default: OpenMP threads spin-wait and are far slower than
        one thread on a shared, loaded machine; results do not depend on it.
    refit_on_valid
        After early stopping has chosen the number of trees, grow that many again on the
        training and validation dates together (more, and more recent, data), before
        calibrating on the calibration dates.
    history_months
        The history window of the features the model reads (the features stage's
        ``history_months``). It does not change the fit: it names the window in the
        panel's reasons ("in the last 10 years") and lets scoring refuse features built
        with another window.
    """

    def __init__(
        self,
        max_depth: int = 3,
        learning_rate: float = 0.05,
        n_estimators: int = 1000,
        early_stopping_rounds: int = 50,
        min_child_weight: float = 5.0,
        subsample: float = 0.8,
        colsample_bytree: float = 0.8,
        reg_lambda: float = 1.0,
        calibration: Literal["platt", "isotonic"] = "platt",
        monotone_overrides: Mapping[str, int] | None = None,
        n_bootstrap: int = 0,
        interval: float = 0.9,
        random_state: int = 0,
        n_jobs: int = 1,
        refit_on_valid: bool = False,
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
        self.monotone_overrides = monotone_overrides
        self.n_bootstrap = n_bootstrap
        self.interval = interval
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.refit_on_valid = refit_on_valid
        self.history_months = history_months

    # ------------------------------------------------------------------ fitting
    def _constraints(self, columns: Sequence[str]) -> dict[str, int]:
        base = monotone_constraints(columns)
        out = {c: int(base.get(c, 0)) for c in columns}
        unknown = set(self.monotone_overrides or {}) - set(columns)
        if unknown:
            raise ValueError(f"monotone_overrides name columns not in X: {sorted(unknown)}")
        out.update({c: int(v) for c, v in (self.monotone_overrides or {}).items()})
        return out

    def _xgb_params(self, seed: int) -> dict[str, Any]:
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
            "monotone_constraints": tuple(self.monotone_constraints_[c] for c in self.feature_names_in_),
            "seed": seed,
            "nthread": self.n_jobs,
            "verbosity": 0,
        }

    def fit(
        self,
        X: pd.DataFrame,
        y: pd.Series | np.ndarray,
        *,
        eval_set: tuple[pd.DataFrame, pd.Series | np.ndarray] | None = None,
        calib_set: tuple[pd.DataFrame, pd.Series | np.ndarray] | None = None,
        groups: pd.Series | np.ndarray | None = None,
        calib_groups: pd.Series | np.ndarray | None = None,
        eval_groups: pd.Series | np.ndarray | None = None,
    ) -> RiskModel:
        """Grow the trees on ``X``, stop early on ``eval_set``, calibrate on ``calib_set``.

        Parameters
        ----------
        X, y
            Training rows (the training as-of dates) and their 0/1 labels.
        eval_set
            Validation rows and labels (later dates) for early stopping; without it all
            ``n_estimators`` trees are kept.
        calib_set
            Held-out calibration rows and labels (later still); without it the trees'
            own probability is used uncalibrated.
        groups, calib_groups, eval_groups
            Person ids of the training / calibration / validation rows, so the bootstrap
            resamples people rather than rows.
        """
        if not isinstance(X, pd.DataFrame):
            raise TypeError("X must be a DataFrame with feature names")
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_features_in_ = X.shape[1]
        self.classes_ = np.array([0, 1])
        self.monotone_constraints_ = self._constraints(list(X.columns))
        y_arr = np.asarray(y, dtype=np.float64)
        dtrain = xgb.DMatrix(
            to_matrix(X, X.columns), label=y_arr, feature_names=list(X.columns), nthread=self.n_jobs
        )
        evals = [(dtrain, "train")]
        stop = None
        if eval_set is not None:
            dvalid = xgb.DMatrix(
                to_matrix(eval_set[0], X.columns),
                label=np.asarray(eval_set[1], dtype=np.float64),
                feature_names=list(X.columns),
                nthread=self.n_jobs,
            )
            evals.append((dvalid, "valid"))
            stop = self.early_stopping_rounds
        history: dict[str, Any] = {}
        self.booster_ = xgb.train(
            self._xgb_params(self.random_state),
            dtrain,
            num_boost_round=self.n_estimators,
            evals=evals,
            early_stopping_rounds=stop,
            evals_result=history,
            verbose_eval=False,
        )
        self.n_trees_ = int(self.booster_.best_iteration) + 1 if eval_set is not None else self.n_estimators
        self.eval_history_ = {k: list(v["logloss"]) for k, v in history.items()}
        if self.refit_on_valid and eval_set is not None:
            X = pd.concat([X, eval_set[0].loc[:, list(X.columns)]], axis=0, ignore_index=True)
            y_arr = np.concatenate([y_arr, np.asarray(eval_set[1], dtype=np.float64)])
            if groups is not None:
                groups = (
                    np.concatenate([np.asarray(groups), np.asarray(eval_groups)])
                    if eval_groups is not None
                    else None
                )
            dtrain = xgb.DMatrix(
                to_matrix(X, X.columns), label=y_arr, feature_names=list(X.columns), nthread=self.n_jobs
            )
            self.booster_ = xgb.train(
                self._xgb_params(self.random_state), dtrain, num_boost_round=self.n_trees_
            )
        if calib_set is not None:
            margin = self._margin(self.booster_, calib_set[0])
            self.calibrator_ = _Calibrator.fit(self.calibration, margin, np.asarray(calib_set[1]))
        else:
            self.calibrator_ = _Calibrator("platt", {"slope": 1.0, "intercept": 0.0})
        self._fit_bootstrap(dtrain, X.shape[0], groups, calib_set, calib_groups)
        logger.info("risk model: %d trees, calibrator %s", self.n_trees_, self.calibrator_.to_dict())
        return self

    def _fit_bootstrap(
        self,
        dtrain: xgb.DMatrix,
        n_rows: int,
        groups: pd.Series | np.ndarray | None,
        calib_set: tuple[pd.DataFrame, pd.Series | np.ndarray] | None,
        calib_groups: pd.Series | np.ndarray | None,
    ) -> None:
        self.bootstrap_boosters_: list[xgb.Booster] = []
        self.bootstrap_calibrators_: list[_Calibrator] = []
        if self.n_bootstrap <= 0:
            return
        rng = np.random.default_rng(self.random_state)
        train_codes = _group_codes(groups, n_rows)
        calib_margin_all = None
        if calib_set is not None:
            calib_codes = _group_codes(calib_groups, len(calib_set[0]))
        for b in range(self.n_bootstrap):
            w = rng.poisson(1.0, size=int(train_codes.max()) + 1)[train_codes].astype(np.float32)
            dtrain.set_weight(w)
            booster = xgb.train(
                self._xgb_params(self.random_state + b + 1), dtrain, num_boost_round=self.n_trees_
            )
            self.bootstrap_boosters_.append(booster)
            if calib_set is not None:
                calib_margin_all = self._margin(booster, calib_set[0])
                wc = rng.poisson(1.0, size=int(calib_codes.max()) + 1)[calib_codes].astype(np.float64)
                cal = _Calibrator.fit(self.calibration, calib_margin_all, np.asarray(calib_set[1]), wc)
            else:
                cal = self.calibrator_
            self.bootstrap_calibrators_.append(cal)
        dtrain.set_weight(np.ones(n_rows, dtype=np.float32))

    # --------------------------------------------------------------- predicting
    def _margin(self, booster: xgb.Booster, X: pd.DataFrame, n_trees: int | None = None) -> np.ndarray:
        dm = self._dmatrix(X)
        n = n_trees or self.n_trees_
        return np.asarray(booster.predict(dm, output_margin=True, iteration_range=(0, n)), dtype=np.float64)

    def _dmatrix(self, X: pd.DataFrame) -> xgb.DMatrix:
        return xgb.DMatrix(
            to_matrix(X, list(self.feature_names_in_)),
            feature_names=list(self.feature_names_in_),
            nthread=self.n_jobs,
        )

    def predict_margin(self, X: pd.DataFrame) -> np.ndarray:
        """The trees' uncalibrated log-odds."""
        check_is_fitted(self, "booster_")
        return self._margin(self.booster_, X)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated probabilities, shape (n, 2), float64; column 1 is the 12-month risk."""
        p = self.calibrator_(self.predict_margin(X))
        return np.column_stack([1.0 - p, p])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """1 where the calibrated risk is at least 0.5."""
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(np.int64)

    def predict_interval(self, X: pd.DataFrame) -> pd.DataFrame:
        """``risk_12m_low`` / ``risk_12m_high`` from the bootstrap refits (NaN if none)."""
        check_is_fitted(self, "booster_")
        if not self.bootstrap_boosters_:
            nan = np.full(len(X), np.nan)
            return pd.DataFrame({"risk_12m_low": nan, "risk_12m_high": nan}, index=X.index)
        draws = np.column_stack(
            [
                cal(self._margin(bst, X))
                for bst, cal in zip(self.bootstrap_boosters_, self.bootstrap_calibrators_, strict=True)
            ]
        )
        # The refits give the spread; the centre stays the fitted model's own estimate
        # (averaged refits are shrunk towards the mean, so their percentiles can miss it).
        z = _logit(draws)
        dev = z - z.mean(axis=1, keepdims=True)
        tail = (1.0 - self.interval) / 2.0
        q_lo, q_hi = np.quantile(dev, [tail, 1.0 - tail], axis=1)
        centre = _logit(self.predict_proba(X)[:, 1])
        lo, hi = _expit(centre + q_lo), _expit(centre + q_hi)
        return pd.DataFrame({"risk_12m_low": lo, "risk_12m_high": hi}, index=X.index)

    # --------------------------------------------------------------- explaining
    @property
    def base_risk_(self) -> float:
        """Calibrated probability at the trees' base log-odds (what the points add to)."""
        check_is_fitted(self, "booster_")
        return float(self.calibrator_(np.array([self._bias()]))[0])

    def _bias(self) -> float:
        one = pd.DataFrame(np.full((1, self.n_features_in_), np.nan), columns=self.feature_names_in_)
        return float(self._contribs(one)[0, -1])

    def _contribs(self, X: pd.DataFrame) -> np.ndarray:
        dm = self._dmatrix(X)
        return np.asarray(
            self.booster_.predict(dm, pred_contribs=True, iteration_range=(0, self.n_trees_)),
            dtype=np.float64,
        )

    def shap_values(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Exact TreeSHAP in log-odds: (n, features) contributions and the (n,) bias."""
        check_is_fitted(self, "booster_")
        c = self._contribs(X)
        return c[:, :-1], c[:, -1]

    def explain(self, X: pd.DataFrame) -> pd.DataFrame:
        """Each feature's contribution to the calibrated risk, in probability points (0-100).

        ``base_risk_ * 100 + row sum == risk_12m * 100`` exactly. The trees' SHAP values
        are in log-odds; the calibrated probability change from the base, ``p - p0``, is
        shared among features in proportion to their log-odds contributions (where the
        log-odds sum to nearly zero, by the calibrator's slope at the base instead).
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
        return pd.DataFrame(points, columns=list(self.feature_names_in_), index=X.index)

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
        meta = {
            "params": {k: v for k, v in self.get_params().items() if k != "monotone_overrides"},
            "monotone_overrides": dict(self.monotone_overrides or {}),
            "feature_names": [str(c) for c in self.feature_names_in_],
            "monotone_constraints": self.monotone_constraints_,
            "n_trees": self.n_trees_,
            "calibrator": self.calibrator_.to_dict(),
            "bootstrap_calibrators": [c.to_dict() for c in self.bootstrap_calibrators_],
        }
        (folder / META_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")
        return written

    @classmethod
    def load(cls, folder: Path) -> RiskModel:
        """Read a model written by :meth:`save`."""
        folder = Path(folder)
        meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
        model = cls(**meta["params"], monotone_overrides=meta["monotone_overrides"] or None)
        model.feature_names_in_ = np.asarray(meta["feature_names"], dtype=object)
        model.n_features_in_ = len(meta["feature_names"])
        model.classes_ = np.array([0, 1])
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
        return model


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


def _group_codes(groups: pd.Series | np.ndarray | None, n: int) -> np.ndarray:
    if groups is None:
        return np.arange(n)
    codes, _ = pd.factorize(pd.Series(np.asarray(groups)), sort=True)
    return np.asarray(codes, dtype=np.int64)
