"""Parameters of the train stage (the ``train:`` section of params.yaml)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from iom_config import StageParams

ProtectedColumn = Literal["sex", "ethnicity"]
Calibration = Literal["platt", "isotonic", "none"]


class RiskModelParams(BaseModel):
    """The settings of :class:`models.RiskModel`: the one source of its defaults.

    ``RiskModel.__init__`` reads its defaults from this model, :class:`TrainParams`
    inherits these fields (params.yaml's ``train:`` section sets them for the pipeline),
    and ``models.risk_train.build_model`` passes them through unchanged, so the library,
    the params model and the pipeline cannot disagree about a default. Only
    ``n_bootstrap``, ``bootstrap_persons`` and ``n_jobs`` differ on purpose: the library
    does not pay for 20 refits unless asked, the pipeline needs the per-person interval
    for the panel (runs the refits two at a time, and on at most 50,000 persons each).

    Attributes
    ----------
    max_depth, learning_rate, n_estimators, early_stopping_rounds, min_child_weight,
    subsample, colsample_bytree, reg_lambda
        xgboost settings; ``n_estimators`` is the ceiling that early stopping cuts.
    calibration
        ``platt`` (2-parameter logistic on the trees' log-odds), ``isotonic`` or ``none``.
    linear_start
        Start the trees from a penalised, sign-constrained logistic regression
        (:mod:`models._linear`) instead of a constant: linear signal is taken whole, the
        trees add thresholds and interactions. ``auto``: both are grown, the lower
        validation log loss is kept.
    blend
        Blend the trees' log-odds with that logistic regression's, the weight (0, 0.1,
        ..., 1) chosen by validation log loss before any refit: 1 on a table whose truth
        is linear, 0 where the trees win outright. On the pipeline's default extract it
        takes 0.3 of the regression, which steadies the top of the ranking (precision at
        capacity) the panel acts on (README, "What the risk model counts as evidence").
    validation_fraction, calibration_fraction
        Shares of the fit rows (of the ``groups`` when given) held out for early
        stopping and for the calibrator when ``fit`` gets no ``eval_set`` / ``calib_set``.
        The calibration share is 0 by default: on exchangeable rows the early-stopped
        log-loss fit is calibrated already, and a held-out share cost Brier on every
        benchmark table (benchmarks/bench_risk_library.py); the pipeline calibrates on
        its own later as-of dates (``calib_end``), where drift makes it pay.
    refit_on_valid
        Regrow the early-stopped number of trees on training + validation rows.
    n_bootstrap, interval
        Person-level bootstrap refits for the per-person interval, and its coverage.
    bootstrap_persons
        ``m`` for an m-out-of-n bootstrap: each refit grows on ``m`` persons drawn with
        replacement from the ``n`` the trees grew on, and the refits' spread is scaled
        by ``sqrt(m / n)``. None (or ``m >= n``): the Poisson(1) bootstrap of all ``n``.
    n_jobs
        Cores: the candidate starts grow side by side, then the final trees and the
        bootstrap refits run this many at a time, one thread each (results do not
        depend on it).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_depth: int = Field(default=3, ge=1, le=8)
    learning_rate: float = Field(default=0.05, gt=0, le=1)
    n_estimators: int = Field(default=1000, ge=1)
    early_stopping_rounds: int = Field(default=50, ge=1)
    min_child_weight: float = Field(default=5.0, ge=0)
    subsample: float = Field(default=0.8, gt=0, le=1)
    colsample_bytree: float = Field(default=0.8, gt=0, le=1)
    reg_lambda: float = Field(default=1.0, ge=0)
    calibration: Calibration = "platt"
    linear_start: bool | Literal["auto"] = "auto"
    blend: bool = True
    validation_fraction: float = Field(default=0.1, ge=0, lt=0.5)
    calibration_fraction: float = Field(default=0.0, ge=0, lt=0.5)
    refit_on_valid: bool = True
    n_bootstrap: int = Field(default=0, ge=0)
    bootstrap_persons: int | None = Field(default=None, ge=1)
    interval: float = Field(default=0.9, gt=0, lt=1)
    n_jobs: int = Field(default=1, ge=1)


ESTIMATOR_DEFAULTS = RiskModelParams()


class TrainParams(RiskModelParams, StageParams):
    """The ``train:`` section of params.yaml: the :class:`RiskModelParams` plus the pipeline's.

    Attributes
    ----------
    train_end, valid_end, calib_end
        Inclusive ends of the training, early-stopping and calibration blocks of
        as-of dates; every later labelled date is the out-of-time test (the pipeline
        passes them as ``eval_set`` / ``calib_set``, so the fractions are unused).
    embargo_days
        Dates within this many days after a block end are used by no block.
    monotone_constraints
        Per feature monotone direction overriding the catalogue's (-1, 0 or 1).
    protected_features
        ``sex`` / ``ethnicity`` to add as features (off by default: audit only).
    drop_features
        Catalogue features left out of the model.
    n_bootstrap
        20 here (0 in the library): the panel shows every person's interval.
    bootstrap_persons
        50,000 here (None in the library): each bootstrap refit grows on 50,000 persons
        drawn with replacement from the ``n`` the main fit grew on (the
        ``sample_persons`` sample), and the refits' spread is multiplied by
        ``sqrt(m / n)`` (an m-out-of-n bootstrap). The interval then still estimates the
        spread of a model grown on ``n`` persons, by assuming that spread shrinks as
        ``1 / sqrt(persons)``: an approximation, measured in
        ``benchmarks/results/train_bootstrap_m.md``. With no more than 50,000
        persons growing the trees (20,000 nominals: 8,623) every refit uses all of them
        and nothing changes (200,000 nominals: 86,419, so there it applies). ``m`` and
        ``n`` go to the metrics (``model.sample``).
    n_jobs
        2 here (1 in the library): the starts, then the final trees and the refits, run
        two at a time on a 2-core machine.
    sample_persons
        The trees (the main fit and every bootstrap refit) grow on the training and
        validation as-of dates of a seeded random sample of this many people, all of each
        sampled person's dates (``models.risk_train.sample_persons``); the calibration
        dates, the test and the panel use everyone. ``null``: everyone. With no more
        people than this (a unit's extract) nothing is sampled and the fit is unchanged.
        The interval is then the bootstrap interval of a model grown on this sample.
        Not a measured plateau: at 200,000 nominals 20,000 people lose 0.001 of AUC
        but change a third of the red tier (``benchmarks/results/train_sample.md``);
        the sizes used go to the metrics.
    capacity
        People the panel can put in the red tier per as-of date (precision/recall at it).
    seed
        Seeds every random draw (xgboost row/column sampling, bootstrap): the
        estimator's ``random_state``.
    register_name
        MLflow registered model name (``mlflow.log`` in params.yaml turns MLflow off).
    """

    train_end: dt.date
    valid_end: dt.date
    calib_end: dt.date
    embargo_days: int = Field(default=0, ge=0)
    monotone_constraints: dict[str, Literal[-1, 0, 1]] = Field(default_factory=dict)
    protected_features: list[ProtectedColumn] = Field(default_factory=list)
    drop_features: list[str] = Field(default_factory=list)
    n_bootstrap: int = Field(default=20, ge=0)
    sample_persons: int | None = Field(default=100_000, ge=100)
    bootstrap_persons: int | None = Field(default=50_000, ge=100)
    n_jobs: int = Field(default=2, ge=1)
    capacity: int = Field(default=100, ge=1)
    seed: int = 20261031
    register_name: str = "iom-risk"

    def estimator_params(self) -> dict[str, object]:
        """The :class:`RiskModelParams` fields, as ``RiskModel`` keyword arguments."""
        return {k: getattr(self, k) for k in RiskModelParams.model_fields}

    @model_validator(mode="after")
    def _ends_increase(self) -> TrainParams:
        if not (self.train_end < self.valid_end < self.calib_end):
            raise ValueError(
                f"need train_end < valid_end < calib_end, got {self.train_end}, "
                f"{self.valid_end}, {self.calib_end}"
            )
        return self
