"""Fit the risk model and its baselines on a temporal split, and score them out of time."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from features.catalogue import (
    DEFAULT_EVIDENCE,
    DEFAULT_HISTORY_MONTHS,
    Evidence,
    evidence_columns,
    monotone_constraints,
)
from models.baselines import OGRSBaseline, RFGBaseline
from models.explain import panel_reasons
from models.metrics import precision_difference_interval, score_predictions
from models.risk import RiskModel, feature_columns, interval_columns, protected_dummies
from models.risk_params import TrainParams
from models.splits import TemporalSplit, make_temporal_split

logger = logging.getLogger(__name__)

MODEL_NAMES = ("risk_model", "ogrs3", "rfg", "oracle")
ID_COLUMNS = ("pseudo_id", "as_of_date")
PREDICT_BATCH = 500_000  # rows scored at once out of time (memory, not results)
# (model, the panel date's features rows) -> score_panel's frame: where the panel is scored.
PanelScorer = Callable[[RiskModel, pd.DataFrame], pd.DataFrame]
# (model, labelled features rows) -> the model's risk of each row in their order.
Predictor = Callable[[RiskModel, pd.DataFrame], np.ndarray]


@dataclass
class TrainResult:
    """What :func:`train_and_evaluate` produces (IO-free)."""

    model: RiskModel
    split: TemporalSplit
    metrics: dict[str, Any]
    predictions: pd.DataFrame  # every labelled row: ids, block, label, one column per model
    scores: pd.DataFrame  # the panel date: risk, interval, reasons
    features: list[str] = field(default_factory=list)


def model_matrix(
    features: pd.DataFrame,
    persons: pd.DataFrame,
    params: TrainParams,
    evidence: Evidence = DEFAULT_EVIDENCE,
) -> pd.DataFrame:
    """The model's inputs: the catalogue features the ``evidence`` setting admits (less
    ``drop_features``) plus protected one-hots."""
    unknown = set(params.drop_features) - set(features.columns)
    if unknown:
        raise ValueError(f"drop_features not in the features: {sorted(unknown)}")
    admitted = evidence_columns(list(features.columns), evidence)
    cols = feature_columns(admitted, params.drop_features)
    X = features.loc[:, cols]
    if params.protected_features:
        extra = protected_dummies(persons, features["pseudo_id"], params.protected_features)
        X = pd.concat([X, extra], axis=1)
    return X


def sample_persons(ids: pd.Series, n: int | None, seed: int) -> np.ndarray:
    """Boolean mask over ``ids``: the rows of a seeded random sample of ``n`` persons.

    Each person gets a seeded hash of their id and the ``n`` lowest are kept, so the
    sample does not depend on the rows' order, a larger ``n`` keeps every person of a
    smaller one (samples are nested: results can be compared as ``n`` grows) and the same
    seed always picks the same people. With ``n`` None, or no more than ``n`` persons,
    every row is kept.
    """
    people = np.sort(pd.unique(ids.astype(str)))
    if n is None or len(people) <= n:
        return np.ones(len(ids), dtype=bool)
    key = f"{seed % 10**16:016d}"  # pandas' hash key is 16 bytes
    h = pd.util.hash_pandas_object(pd.Series(people), index=False, hash_key=key).to_numpy()
    chosen = people[np.lexsort((people, h))[:n]]
    return ids.astype(str).isin(chosen).to_numpy()


def build_model(
    params: TrainParams, history_months: int = DEFAULT_HISTORY_MONTHS, columns: Sequence[str] = ()
) -> RiskModel:
    """A :class:`RiskModel` from the ``train:`` params (its settings pass through unchanged).

    The monotone constraints are the feature catalogue's directions for ``columns``,
    overridden by ``train.monotone_constraints`` (which may also name protected one-hots).
    """
    unknown = set(params.monotone_constraints) - set(columns)
    if columns and unknown:
        raise ValueError(
            f"train.monotone_constraints name columns the model does not read: {sorted(unknown)}"
        )
    directions = {**monotone_constraints(columns), **params.monotone_constraints}
    return RiskModel(
        **params.estimator_params(),  # type: ignore[arg-type]
        monotone_constraints=directions or None,
        random_state=params.seed,
        history_months=history_months,
    )


@dataclass(frozen=True)
class FitRows:
    """The labelled rows as the train stage splits them (:func:`fit_rows`)."""

    lab: pd.DataFrame  # the labelled rows of ``features``
    split: TemporalSplit
    block: pd.Series  # each labelled row's block (train, valid, calib, test or none)
    X: pd.DataFrame  # their model inputs
    y: pd.Series  # their labels
    masks: dict[str, np.ndarray]  # per block, its rows
    grow: np.ndarray  # training and validation rows
    in_sample: np.ndarray  # of those, the rows of the train.sample_persons people the trees grow on


def fit_rows(
    features: pd.DataFrame, persons: pd.DataFrame, params: TrainParams, evidence: Evidence
) -> FitRows:
    """Split the labelled rows by as-of date and pick the people the trees grow on."""
    labelled = features["label_complete"].astype("bool").to_numpy() & features["label"].notna().to_numpy()
    lab = features.loc[labelled]
    split = make_temporal_split(
        lab["as_of_date"].unique(), params.train_end, params.valid_end, params.calib_end, params.embargo_days
    )
    block = split.block_of(lab["as_of_date"])
    # The labelled rows' inputs are a selection of ``lab``'s columns (no copy of the rows:
    # at national scale every copy of the labelled rows is gigabytes); the panel's are
    # built from its own rows. Each row's inputs depend on that row alone.
    X = model_matrix(lab, persons, params, evidence)
    y = lab["label"].astype("int64")
    masks = {b: block.eq(b).fillna(False).to_numpy(dtype=bool) for b in ("train", "valid", "calib", "test")}
    # The trees grow on the training and validation dates of a declared, seeded sample
    # of people (train.sample_persons); everyone else's rows still calibrate and test.
    grow = masks["train"] | masks["valid"]
    in_sample = np.zeros(len(lab), dtype=bool)
    in_sample[grow] = sample_persons(lab.loc[grow, "pseudo_id"], params.sample_persons, params.seed)
    return FitRows(lab, split, block, X, y, masks, grow, in_sample)


def train_and_evaluate(
    features: pd.DataFrame,
    persons: pd.DataFrame,
    params: TrainParams,
    p_true: pd.Series | None = None,
    history_months: int = DEFAULT_HISTORY_MONTHS,
    evidence: Evidence = DEFAULT_EVIDENCE,
    score_panel_with: PanelScorer | None = None,
    predict_with: Predictor | None = None,
) -> TrainResult:
    """Split by as-of date, fit the model and baselines, score every block, explain the panel.

    Parameters
    ----------
    features
        All as-of dates of the features stage (``label``, ``label_complete``,
        ``is_panel_date`` ...).
    persons
        ``data/linked/persons.parquet`` (sex for the OGRS-style baseline and the
        protected features).
    params
        The ``train:`` section.
    p_true
        The simulator's true probability per row of ``features`` (same index), for the
        oracle baseline; measurement only.
    history_months
        The features stage's ``history_months`` (names the window in the reasons).
    evidence
        ``features.evidence``: ``proven`` reads no feature counting unproven offences.
    score_panel_with
        Scores and explains the panel date's rows with the fitted model (e.g. on Spark:
        :func:`models.spark.score_people`); None: :func:`score_panel` in this process.
        Either gives the same frame.
    predict_with
        The model's risk of every labelled row (e.g. on Spark:
        :func:`models.spark.predict_people`); None: in this process, in batches.
    """
    rows = fit_rows(features, persons, params, evidence)
    lab, split, block, X, y, masks = rows.lab, rows.split, rows.block, rows.X, rows.y, rows.masks
    grow, in_sample = rows.grow, rows.in_sample
    sample: dict[str, Any] = {
        "sample_persons": params.sample_persons,
        "persons": int(lab.loc[grow, "pseudo_id"].nunique()),
        "persons_used": int(lab.loc[in_sample, "pseudo_id"].nunique()),
        "person_dates": int(grow.sum()),
        "person_dates_used": int(in_sample.sum()),
    }
    logger.info(
        "train: trees grow on %s of %s people (%s of %s training and validation person-dates; "
        "train.sample_persons: %s)",
        f"{sample['persons_used']:,}",
        f"{sample['persons']:,}",
        f"{sample['person_dates_used']:,}",
        f"{sample['person_dates']:,}",
        params.sample_persons,
    )
    fit_train, fit_valid = masks["train"] & in_sample, masks["valid"] & in_sample
    clock = time.perf_counter()
    model = build_model(params, history_months, list(X.columns))
    model.fit(
        X.loc[fit_train],
        y.loc[fit_train],
        eval_set=(X.loc[fit_valid], y.loc[fit_valid]),
        calib_set=(X.loc[masks["calib"]], y.loc[masks["calib"]]),
        groups=lab.loc[fit_train, "pseudo_id"],
        calib_groups=lab.loc[masks["calib"], "pseudo_id"],
        eval_groups=lab.loc[fit_valid, "pseudo_id"],
    )
    logger.info(
        "train: model and %d refits fitted in %.0f s", params.n_bootstrap, time.perf_counter() - clock
    )
    # The m-out-of-n bootstrap's m and n (m == n: every refit drew from all n persons).
    assert model.bootstrap_sizes_ is not None  # set by every fit
    m_used, n_used = model.bootstrap_sizes_
    sample.update(
        bootstrap_persons=params.bootstrap_persons,
        bootstrap_persons_used=m_used,
        bootstrap_persons_of=n_used,
        bootstrap_scale=model.bootstrap_scale_,
    )
    clock = time.perf_counter()
    # Baselines are fitted on the training and validation dates together: they have no
    # settings to tune and no calibrator, so those dates are their training window.
    base_fit = masks["train"] | masks["valid"]
    ogrs_in = pd.concat(
        [lab, persons.set_index("pseudo_id")["sex"].reindex(lab["pseudo_id"]).set_axis(lab.index)], axis=1
    )
    ogrs = OGRSBaseline().fit(ogrs_in.loc[base_fit], y.loc[base_fit])
    rfg = RFGBaseline().fit(lab.loc[base_fit], y.loc[base_fit])

    preds = lab.loc[:, list(ID_COLUMNS)].copy()
    preds["block"] = block.to_numpy()
    preds["label"] = y.to_numpy()
    if predict_with is None:
        preds["risk_model"] = predict_rows(model, X)
    else:
        preds["risk_model"] = predict_with(model, lab)
    preds["ogrs3"] = ogrs.predict_proba(ogrs_in)[:, 1]
    preds["rfg"] = rfg.predict_proba(lab)[:, 1]
    preds["oracle"] = p_true.loc[lab.index].to_numpy(dtype=np.float64) if p_true is not None else np.nan

    metrics = evaluate(preds, params.capacity)
    metrics["split"] = {
        **split.to_dict(),
        "rows": {b: int(m.sum()) for b, m in masks.items()},
        "train_end": str(params.train_end),
        "valid_end": str(params.valid_end),
        "calib_end": str(params.calib_end),
    }
    metrics["model"] = {
        "n_trees": model.n_trees_,
        "n_features": model.n_features_in_,
        "evidence": evidence,
        "linear_start": bool(model.linear_start_),
        "blend_weight": model.blend_weight_,
        "calibration": model.calibrator_.to_dict() if params.calibration == "platt" else "isotonic",
        "best_valid_logloss": min(model.eval_history_.get("valid", [np.nan])),
        "sample": sample,
    }

    logger.info(
        "train: baselines, %s labelled rows scored and evaluated in %.0f s",
        f"{len(lab):,}",
        time.perf_counter() - clock,
    )
    clock = time.perf_counter()
    panel = features.loc[features["is_panel_date"].astype("bool").to_numpy()]
    if score_panel_with is None:
        scores = score_panel(model, model_matrix(panel, persons, params, evidence), panel)
    else:
        scores = score_panel_with(model, panel)
    logger.info(
        "train: %s panel rows scored and explained in %.0f s", f"{len(panel):,}", time.perf_counter() - clock
    )
    return TrainResult(model, split, metrics, preds, scores, list(X.columns))


def predict_rows(model: RiskModel, X: pd.DataFrame) -> np.ndarray:
    """The model's risk of each row of ``X``, in batches: one batch's xgboost matrix in memory
    at a time (every labelled row is millions at national scale); a row's prediction does
    not depend on its batch."""
    batches = [
        model.predict_proba(X.iloc[i : i + PREDICT_BATCH])[:, 1] for i in range(0, len(X), PREDICT_BATCH)
    ]
    return np.concatenate(batches) if batches else np.zeros(0)


def evaluate(preds: pd.DataFrame, capacity: int) -> dict[str, Any]:
    """Metrics per block (calib, test) and model, plus the issue's goals on the test block."""
    out: dict[str, Any] = {}
    for blk in ("calib", "test"):
        rows = preds.loc[preds["block"].eq(blk).fillna(False).to_numpy(dtype=bool)]
        out[blk] = {}
        for name in MODEL_NAMES:
            # The oracle is scored on the rows the simulator's truth reaches (a few linked
            # people have no police identity to join on).
            use = rows.loc[rows[name].notna()]
            if len(use) and use["label"].nunique() == 2:
                out[blk][name] = score_predictions(
                    use["label"].to_numpy(), use[name].to_numpy(), use["as_of_date"].to_numpy(), capacity
                )
    test = out["test"]
    m = test["risk_model"]
    goals: dict[str, Any] = {
        "ece_le_0.02": m["ece"] <= 0.02,
        "slope_0.9_1.1": 0.9 <= m["calibration_slope"] <= 1.1,
        "auc_above_ogrs3": m["auc"] > test["ogrs3"]["auc"],
        "auc_above_rfg": m["auc"] > test["rfg"]["auc"],
        # The panel's decision is the top `capacity` per date: the model must not do worse
        # there than the actuarial tool it replaces.
        "precision_at_capacity_at_least_ogrs3": m[f"precision_at_{capacity}"]
        >= test["ogrs3"][f"precision_at_{capacity}"],
    }
    # The point goal above compares 100-person lists on a few dates: its difference has a
    # standard error of a few points. The paired person bootstrap says whether a shortfall
    # is more than that noise; the point goal stays as it is, beside it.
    rows = preds.loc[preds["block"].eq("test").fillna(False).to_numpy(dtype=bool)]
    gap = precision_difference_interval(
        rows["label"].to_numpy(),
        rows["risk_model"].to_numpy(),
        rows["ogrs3"].to_numpy(),
        rows["as_of_date"].to_numpy(),
        rows["pseudo_id"].to_numpy(),
        capacity,
    )
    out["precision_at_capacity_vs_ogrs3"] = gap
    goals["precision_at_capacity_not_significantly_below_ogrs3"] = gap["high"] >= 0
    if "oracle" in test:
        goals["auc_gap_to_oracle"] = round(test["oracle"]["auc"] - m["auc"], 5)
        goals["auc_within_0.015_of_oracle"] = goals["auc_gap_to_oracle"] <= 0.015
    out["goals"] = goals
    return out


SCORE_COLUMNS = (
    "pseudo_id",
    "as_of_date",
    "in_custody",
    "release_due",
    "risk_12m",
    "risk_12m_low",
    "risk_12m_high",
    "rank",
    "reasons_up",
    "reasons_down",
    "reasons_up_static",
    "reasons_up_dynamic",
    "contributions",
    "base_risk",
)


def score_rows(model: RiskModel, X: pd.DataFrame, panel: pd.DataFrame) -> pd.DataFrame:
    """Risk, interval and reasons of each row, in ``panel``'s order, without the rank.

    Every column depends on the row alone, so any partition of the people gives the same
    rows (the Spark engine runs this per partition); :func:`rank_scores` then ranks them
    all together.
    """
    scores = panel.loc[:, [*ID_COLUMNS, "in_custody", "release_due"]].copy()
    scores["risk_12m"] = model.predict_proba(X)[:, 1]
    scores = pd.concat([scores, interval_columns(model, X)], axis=1)
    reasons = panel_reasons(model.explain(X), X, history_months=model.history_months)
    scores = pd.concat([scores, reasons], axis=1)
    scores["base_risk"] = model.base_risk_
    scores["rank"] = np.zeros(len(scores), dtype=np.int64)
    family_columns = [c for c in reasons if c not in SCORE_COLUMNS]  # points__*, facts__*: for publish
    return scores.loc[:, [*SCORE_COLUMNS, *family_columns]]


def rank_scores(scores: pd.DataFrame) -> pd.DataFrame:
    """:func:`score_rows` output of the whole panel in rank order, ``rank`` set (1 = highest risk;
    ties by ``pseudo_id``, so the order is reproducible), with a fresh index."""
    ranked = scores.sort_values(["risk_12m", "pseudo_id"], ascending=[False, True], kind="stable")
    return ranked.assign(rank=np.arange(1, len(ranked) + 1, dtype=np.int64)).reset_index(drop=True)


def score_panel(model: RiskModel, X: pd.DataFrame, panel: pd.DataFrame) -> pd.DataFrame:
    """Risk, interval, rank and reasons for every person on the panel date.

    Columns are :data:`SCORE_COLUMNS` (then the ``points__*``/``facts__*`` family
    columns), rows in rank order (1 = highest risk; ties by ``pseudo_id``, so the order
    is reproducible).
    """
    return rank_scores(score_rows(model, X, panel))


def model_inputs(model: RiskModel, features: pd.DataFrame, persons: pd.DataFrame) -> pd.DataFrame:
    """The registered model's input columns, in its order, from a features frame.

    Protected one-hots (``sex_*``, ``ethnicity_*``) are rebuilt from ``persons`` when the
    model was trained with them.
    """
    names = [str(c) for c in model.feature_names_in_]
    present = feature_columns(list(features.columns))
    protected = sorted(
        {c.split("_", 1)[0] for c in names if c not in present and c.startswith(("sex_", "ethnicity_"))}
    )
    X = features.loc[:, [c for c in names if c in present]]
    if protected:
        X = pd.concat([X, protected_dummies(persons, features["pseudo_id"], protected)], axis=1)
    missing = [c for c in names if c not in X.columns]
    if missing:
        raise ValueError(f"the features lack the model's inputs {missing[:10]}: rebuild with matching params")
    return X.loc[:, names]


def score_features(model: RiskModel, features: pd.DataFrame, persons: pd.DataFrame) -> pd.DataFrame:
    """:func:`score_rows` of a features frame (the model's inputs taken from it and ``persons``)."""
    return score_rows(model, model_inputs(model, features, persons), features)
