"""RiskModel's m-out-of-n bootstrap (``bootstrap_persons``): m persons drawn per refit, the
spread rescaled by sqrt(m / n), and the Poisson bootstrap of everyone when m >= n."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from models.risk import RiskModel, _draw_units, _logit
from models.risk_params import RiskModelParams, TrainParams

FAST = {"n_estimators": 40, "early_stopping_rounds": 10, "learning_rate": 0.2, "max_depth": 2}


def _table(n_people: int, seed: int, rows_each: int = 2) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Catalogue-named features with a linear truth in log-odds, ``rows_each`` rows per person."""
    rng = np.random.default_rng(seed)
    n = n_people * rows_each
    X = pd.DataFrame(
        {
            "n_proven_offences_12m": rng.poisson(1.0, n).astype("int32"),
            "need_total": rng.integers(0, 12, n).astype("int32"),
        }
    )
    z = -1.0 + 0.6 * X["n_proven_offences_12m"] + 0.1 * X["need_total"]
    y = (rng.random(n) < 1 / (1 + np.exp(-z.to_numpy()))).astype(np.int64)
    return X, y, np.arange(n) // rows_each


def _fit(X: pd.DataFrame, y: np.ndarray, g: np.ndarray, **kw: object) -> RiskModel:
    half = len(y) // 2
    quarter = half + len(y) // 4
    model = RiskModel(**{**FAST, "random_state": 3, **kw})  # type: ignore[arg-type]
    return model.fit(
        X.iloc[:half],
        y[:half],
        eval_set=(X.iloc[half:quarter], y[half:quarter]),
        calib_set=(X.iloc[quarter:], y[quarter:]),
        groups=g[:half],
        eval_groups=g[half:quarter],
        calib_groups=g[quarter:],
    )


def test_draw_units_draws_m_with_replacement_seeded() -> None:
    a = _draw_units(np.random.default_rng(1), 300, 1000)
    assert len(a) == 1000 and a.sum() == 300
    assert (a >= 0).all() and (a > 0).sum() < 300  # some drawn twice: with replacement
    np.testing.assert_array_equal(a, _draw_units(np.random.default_rng(1), 300, 1000))
    assert not np.array_equal(a, _draw_units(np.random.default_rng(2), 300, 1000))


def test_each_refit_grows_on_m_persons(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every bootstrap refit sees only the rows of the persons drawn, m draws of the n the
    trees grew on; the model's own final trees still see everyone."""
    X, y, g = _table(2000, 0)
    seen: list[tuple[int, int, float]] = []
    original = RiskModel._refit

    def spy(self: RiskModel, X: pd.DataFrame, y: np.ndarray, bw: np.ndarray, b: int, **kw: object) -> object:
        rows = bw > 0 if kw.get("drawn_only") else np.ones(len(bw), dtype=bool)
        seen.append((b, int(rows.sum()), float(bw.sum())))
        return original(self, X, y, bw, b, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(RiskModel, "_refit", spy)
    model = _fit(X, y, g, n_bootstrap=4, bootstrap_persons=300)
    n = len(np.unique(g[: len(y) // 2 + len(y) // 4]))  # training + validation persons (refit on both)
    assert model.bootstrap_sizes_ == (300, n)
    assert model.bootstrap_scale_ == pytest.approx(np.sqrt(300 / n))
    final = [s for s in seen if s[0] == -1]
    refits = sorted(s for s in seen if s[0] >= 0)
    assert final == [(-1, 2 * n, 2.0 * n)]
    assert [b for b, _, _ in refits] == [0, 1, 2, 3]
    for _, rows, weight in refits:
        assert weight == 2 * 300  # m draws of a person with two rows, each of weight 1
        assert rows < 2 * 300  # some persons drawn twice


def test_rescaling_multiplies_the_log_odds_spread() -> None:
    """The interval's ends sit sqrt(m/n) times as far from the estimate, in log-odds, as
    the refits' own deviations put them."""
    X, y, g = _table(2000, 1)
    model = _fit(X, y, g, n_bootstrap=6, bootstrap_persons=400)
    scale = model.bootstrap_scale_
    assert 0 < scale < 1
    centre = _logit(model.predict_proba(X)[:, 1])
    scaled = model.predict_interval(X)
    model.bootstrap_scale_ = 1.0
    raw = model.predict_interval(X)
    np.testing.assert_allclose(
        _logit(scaled["high"]) - centre, scale * (_logit(raw["high"]) - centre), atol=1e-7
    )
    np.testing.assert_allclose(
        _logit(scaled["low"]) - centre, scale * (_logit(raw["low"]) - centre), atol=1e-7
    )


def test_rescaled_interval_matches_the_full_bootstrap_where_the_spread_is_root_n() -> None:
    """On a linear truth the blend takes the regression alone, whose log-odds spread shrinks
    as 1/sqrt(persons): there the m-out-of-n interval, rescaled, is the width of the full
    bootstrap's (and unrescaled it would be sqrt(n/m) = 2 times too wide)."""
    X, y, g = _table(4000, 2)
    full = _fit(X, y, g, n_bootstrap=40, linear_start=False)
    assert full.blend_weight_ == 1.0  # the regression alone: a root-n estimator
    assert full.bootstrap_sizes_ is not None
    n = full.bootstrap_sizes_[1]
    part = _fit(X, y, g, n_bootstrap=40, linear_start=False, bootstrap_persons=n // 4)
    wide = lambda m: _logit(m.predict_interval(X)["high"]) - _logit(m.predict_interval(X)["low"])  # noqa: E731
    ratio = np.median(wide(part) / wide(full))
    assert 0.8 < ratio < 1.25, ratio
    assert np.corrcoef(wide(part), wide(full))[0, 1] > 0.8


@pytest.mark.parametrize("m", [None, "n", "more"])
def test_m_at_least_n_is_the_poisson_bootstrap_byte_for_byte(tmp_path: Path, m: object) -> None:
    """bootstrap_persons None, n, or more than n: the same saved model, file for file, as a
    model that never had the setting (its params do not even name it)."""
    X, y, g = _table(600, 3)
    reference = _fit(X, y, g, n_bootstrap=3)
    reference.save(tmp_path / "ref")
    assert reference.bootstrap_sizes_ is not None
    n = reference.bootstrap_sizes_[1]
    value = {"n": n, "more": 10 * n, None: None}[m]  # type: ignore[index]
    model = _fit(X, y, g, n_bootstrap=3, bootstrap_persons=value)
    assert model.bootstrap_scale_ == 1.0 and model.bootstrap_sizes_ == (n, n)
    model.save(tmp_path / "m")
    for path in sorted((tmp_path / "ref").iterdir()):
        assert path.read_bytes() == (tmp_path / "m" / path.name).read_bytes(), path.name
    assert "bootstrap_persons" not in json.loads((tmp_path / "m" / "risk_model.json").read_text())["params"]


def test_m_out_of_n_model_saves_and_loads_its_scale(tmp_path: Path) -> None:
    X, y, g = _table(1000, 4)
    model = _fit(X, y, g, n_bootstrap=3, bootstrap_persons=200)
    model.save(tmp_path)
    meta = json.loads((tmp_path / "risk_model.json").read_text())
    assert meta["params"]["bootstrap_persons"] == 200
    assert model.bootstrap_sizes_ is not None
    assert meta["bootstrap_sizes"] == list(model.bootstrap_sizes_)
    loaded = RiskModel.load(tmp_path)
    assert loaded.bootstrap_scale_ == model.bootstrap_scale_
    pd.testing.assert_frame_equal(loaded.predict_interval(X), model.predict_interval(X))
    again = _fit(X, y, g, n_bootstrap=3, bootstrap_persons=200)
    pd.testing.assert_frame_equal(again.predict_interval(X), model.predict_interval(X))  # seeded


def test_bootstrap_persons_is_validated() -> None:
    X, y, g = _table(300, 5)
    with pytest.raises(ValueError, match="bootstrap_persons must be at least 1"):
        _fit(X, y, g, n_bootstrap=2, bootstrap_persons=0)
    with pytest.raises(ValidationError, match="bootstrap_persons"):
        RiskModelParams(bootstrap_persons=0)
    dates = {"train_end": "2022-06-30", "valid_end": "2023-06-30", "calib_end": "2024-06-30"}
    with pytest.raises(ValidationError, match="bootstrap_persons"):
        TrainParams(**dates, bootstrap_persons=50)  # type: ignore[arg-type]
    assert TrainParams(**dates, bootstrap_persons=None).bootstrap_persons is None  # type: ignore[arg-type]
    assert TrainParams(**dates).bootstrap_persons == 50_000  # type: ignore[arg-type]
