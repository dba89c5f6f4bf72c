"""Behavioural tests of RiskModel: monotone, explained exactly, calibrated, reproducible."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models.metrics import calibration_slope_intercept, expected_calibration_error
from models.risk import RiskModel, model_fingerprint

FAST = {"n_estimators": 60, "early_stopping_rounds": 10, "learning_rate": 0.2, "max_depth": 3}


def _people(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Catalogue-named features with a known risk; age missing for some."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "n_proven_offences_12m": rng.poisson(1.0, n).astype("int32"),
            "age": pd.array(rng.integers(18, 65, n), dtype="Int32"),
            "need_total": pd.array(rng.integers(0, 12, n), dtype="Int32"),
            "in_custody": rng.random(n) < 0.1,
        }
    )
    X.loc[X.index[:20], "age"] = pd.NA
    age = X["age"].astype("float64").fillna(35.0).to_numpy()
    z = -1.2 + 0.7 * X["n_proven_offences_12m"] - 0.04 * (age - 35) + 0.12 * X["need_total"].astype(float)
    y = (rng.random(n) < 1 / (1 + np.exp(-z.to_numpy()))).astype(np.int64)
    return X, y


@pytest.fixture(scope="module")
def fitted() -> tuple[RiskModel, pd.DataFrame, np.ndarray]:
    X, y = _people(12_000, 0)
    model = RiskModel(**FAST, n_bootstrap=3, random_state=7)
    model.fit(
        X.iloc[:6000],
        y[:6000],
        eval_set=(X.iloc[6000:8000], y[6000:8000]),
        calib_set=(X.iloc[8000:10000], y[8000:10000]),
        groups=np.arange(6000) // 3,
    )
    return model, X.iloc[10000:], y[10000:]


def test_catalogue_directions_are_the_constraints(fitted: tuple[RiskModel, pd.DataFrame, np.ndarray]) -> None:
    model = fitted[0]
    assert model.monotone_constraints_ == {
        "n_proven_offences_12m": 1,
        "age": -1,
        "need_total": 1,
        "in_custody": 0,
    }


def test_monotone_on_perturbed_inputs(fitted: tuple[RiskModel, pd.DataFrame, np.ndarray]) -> None:
    model, X, _ = fitted
    base = model.predict_proba(X)[:, 1]
    more = X.assign(n_proven_offences_12m=X["n_proven_offences_12m"] + 3)
    older = X.assign(age=X["age"] + 10)
    assert (model.predict_proba(more)[:, 1] >= base - 1e-12).all()
    assert (model.predict_proba(older)[:, 1] <= base + 1e-12).all()
    assert (model.predict_proba(more)[:, 1] > base).mean() > 0.5  # the constraint is not a flat model


def test_explanations_sum_to_the_prediction(fitted: tuple[RiskModel, pd.DataFrame, np.ndarray]) -> None:
    model, X, _ = fitted
    points = model.explain(X)
    risk = model.predict_proba(X)[:, 1]
    np.testing.assert_allclose(model.base_risk_ * 100 + points.sum(axis=1).to_numpy(), risk * 100, atol=1e-6)
    phi, bias = model.shap_values(X)
    np.testing.assert_allclose(bias + phi.sum(axis=1), model.predict_margin(X), atol=1e-4)
    # the known drivers dominate: proven offences matter more than custody
    assert points["n_proven_offences_12m"].abs().mean() > points["in_custody"].abs().mean()


def test_calibrated_on_held_out_rows(fitted: tuple[RiskModel, pd.DataFrame, np.ndarray]) -> None:
    model, X, y = fitted
    p = model.predict_proba(X)[:, 1]
    assert p.dtype == np.float64
    assert expected_calibration_error(y, p) < 0.04
    slope, _ = calibration_slope_intercept(y, p)
    assert 0.8 < slope < 1.2


def test_calibrator_corrects_a_shifted_population() -> None:
    X, y = _people(12_000, 3)
    shifted = (y | (np.random.default_rng(4).random(len(y)) < 0.2)).astype(np.int64)
    cal, test = slice(8000, 10000), slice(10000, None)
    model = RiskModel(**FAST, random_state=1).fit(
        X.iloc[:6000],
        y[:6000],
        eval_set=(X.iloc[6000:8000], y[6000:8000]),
        calib_set=(X.iloc[cal], shifted[cal]),
    )
    raw = RiskModel(**FAST, random_state=1).fit(
        X.iloc[:6000], y[:6000], eval_set=(X.iloc[6000:8000], y[6000:8000])
    )
    p, p_raw = model.predict_proba(X.iloc[test])[:, 1], raw.predict_proba(X.iloc[test])[:, 1]
    assert abs(p.mean() - shifted[test].mean()) < 0.02
    assert abs(p_raw.mean() - shifted[test].mean()) > 0.1


def test_interval_brackets_the_estimate(fitted: tuple[RiskModel, pd.DataFrame, np.ndarray]) -> None:
    model, X, _ = fitted
    iv = model.predict_interval(X)
    assert (iv["risk_12m_low"] <= iv["risk_12m_high"]).all()
    assert (iv["risk_12m_high"] - iv["risk_12m_low"]).mean() > 0
    # The refits give the spread around the model's own estimate, which stays inside.
    risk = model.predict_proba(X)[:, 1]
    assert (iv["risk_12m_low"].to_numpy() <= risk).all() and (risk <= iv["risk_12m_high"].to_numpy()).all()


def test_same_seed_same_model_and_save_load_round_trip(tmp_path: Path) -> None:
    X, y = _people(4000, 5)
    kw = {"eval_set": (X.iloc[2000:3000], y[2000:3000]), "calib_set": (X.iloc[3000:], y[3000:])}
    a = RiskModel(**FAST, n_bootstrap=2, random_state=11).fit(X.iloc[:2000], y[:2000], **kw)
    b = RiskModel(**FAST, n_bootstrap=2, random_state=11).fit(X.iloc[:2000], y[:2000], **kw)
    c = RiskModel(**FAST, n_bootstrap=2, random_state=12).fit(X.iloc[:2000], y[:2000], **kw)
    assert np.array_equal(a.predict_proba(X), b.predict_proba(X))
    pd.testing.assert_frame_equal(a.predict_interval(X), b.predict_interval(X))
    assert not np.array_equal(a.predict_proba(X), c.predict_proba(X))
    a.save(tmp_path)
    b.save(tmp_path / "b")
    c.save(tmp_path / "c")
    assert model_fingerprint(tmp_path) == model_fingerprint(tmp_path / "b")
    assert model_fingerprint(tmp_path) != model_fingerprint(tmp_path / "c")
    loaded = RiskModel.load(tmp_path)
    np.testing.assert_array_equal(loaded.predict_proba(X), a.predict_proba(X))
    pd.testing.assert_frame_equal(loaded.predict_interval(X), a.predict_interval(X))


def test_monotone_override_and_unknown_override() -> None:
    X, y = _people(2000, 6)
    m = RiskModel(**FAST, monotone_overrides={"in_custody": -1}).fit(X, y)
    assert m.monotone_constraints_["in_custody"] == -1
    with pytest.raises(ValueError, match="not in X"):
        RiskModel(**FAST, monotone_overrides={"nope": 1}).fit(X, y)


def test_refit_on_valid_keeps_the_early_stopped_trees_and_uses_the_validation_rows() -> None:
    X, y = _people(4000, 8)
    kw = {
        "eval_set": (X.iloc[2000:3000], y[2000:3000]),
        "calib_set": (X.iloc[3000:], y[3000:]),
        "groups": np.arange(2000),
        "eval_groups": np.arange(2000, 3000),
    }
    plain = RiskModel(**FAST, n_bootstrap=1, random_state=3).fit(X.iloc[:2000], y[:2000], **kw)
    refit = RiskModel(**FAST, n_bootstrap=1, random_state=3, refit_on_valid=True).fit(
        X.iloc[:2000], y[:2000], **kw
    )
    assert refit.n_trees_ == plain.n_trees_
    assert refit.booster_.num_boosted_rounds() == plain.n_trees_
    assert not np.array_equal(refit.predict_proba(X), plain.predict_proba(X))
    again = RiskModel(**FAST, n_bootstrap=1, random_state=3, refit_on_valid=True).fit(
        X.iloc[:2000], y[:2000], **kw
    )
    np.testing.assert_array_equal(again.predict_proba(X), refit.predict_proba(X))


def test_history_window_travels_with_the_saved_model(tmp_path: Path) -> None:
    from pipelines.score import check_history_window

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"n_proven_offences_all": rng.integers(0, 20, 400), "age": rng.integers(18, 60, 400)})
    y = pd.Series((rng.random(400) < X["n_proven_offences_all"] / 25).astype(int))
    model = RiskModel(n_estimators=20, history_months=60).fit(X, y, calib_set=(X, y))
    model.save(tmp_path)
    loaded = RiskModel.load(tmp_path)
    assert loaded.history_months == 60
    check_history_window(loaded, 60, {"name": "iom-risk", "version": "3"})
    with pytest.raises(ValueError, match=r"version 3 was trained on features looking back 60 months.*is 120"):
        check_history_window(loaded, 120, {"name": "iom-risk", "version": "3"})
