"""MixedMixture: known answers for each block, gaps, determinism, persistence."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy.special import logsumexp
from scipy.stats import multinomial, norm
from sklearn.metrics import adjusted_rand_score

from models.latent_class import MixedMixture

GAUSS = ("x", "z")
CATS = {"need": 3, "flag": 2}
COUNTS = ("a", "b", "c")


def _data(n_per: int = 300, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Three classes that differ in every block; 20% of x and of need missing."""
    rng = np.random.default_rng(seed)
    cls = np.repeat([0, 1, 2], n_per)
    n = cls.size
    x = rng.normal(np.array([0.0, 4.0, 8.0])[cls], 1.0)
    z = rng.normal(np.array([5.0, 0.0, 5.0])[cls], 1.0)
    need_p = np.array([[0.8, 0.15, 0.05], [0.1, 0.8, 0.1], [0.05, 0.15, 0.8]])[cls]
    need = (rng.random(n)[:, None] > need_p.cumsum(axis=1)).sum(axis=1).astype(float)
    flag = (rng.random(n) < np.array([0.1, 0.9, 0.5])[cls]).astype(float)
    mix = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8]])[cls]
    counts = np.array([rng.multinomial(int(t), p) for t, p in zip(rng.integers(0, 12, n), mix, strict=True)])
    x[rng.random(n) < 0.2] = np.nan
    need[rng.random(n) < 0.2] = np.nan
    frame = pd.DataFrame({"x": x, "z": z, "need": need, "flag": flag})
    frame[list(COUNTS)] = counts.astype(float)
    return frame, cls


def _model(**kw: object) -> MixedMixture:
    base: dict[str, object] = {
        "n_components": 3,
        "gaussian": GAUSS,
        "categorical": CATS,
        "counts": COUNTS,
        "var_floor": 0.01,
        "random_state": 5,
    }
    base.update(kw)
    return MixedMixture(**base)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, np.ndarray]:
    return _data()


@pytest.fixture(scope="module")
def fitted(data: tuple[pd.DataFrame, np.ndarray]) -> MixedMixture:
    return _model().fit(data[0])


def test_recovers_unmistakable_classes_with_gaps(
    data: tuple[pd.DataFrame, np.ndarray], fitted: MixedMixture
) -> None:
    frame, cls = data
    assert fitted.converged_
    assert adjusted_rand_score(cls, fitted.predict(frame)) > 0.95
    proba = fitted.predict_proba(frame)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    # Each fitted class matches one true class's parameters.
    order = np.argsort(fitted.means_[:, 0])
    x_means = fitted.means_[order, 0] * fitted.scale_[0] + fitted.center_[0]
    np.testing.assert_allclose(x_means, [0.0, 4.0, 8.0], atol=0.3)
    assert fitted.count_probs_[order].argmax(axis=1).tolist() == [0, 1, 2]
    assert fitted.level_probs_["need"][order].argmax(axis=1).tolist() == [0, 1, 2]


def test_log_likelihood_by_hand(fitted: MixedMixture) -> None:
    """One row with a missing x: the likelihood is the product of the recorded parts."""
    row = pd.DataFrame(
        {"x": [np.nan], "z": [1.3], "need": [2.0], "flag": [0.0], "a": [1.0], "b": [0.0], "c": [3.0]}
    )
    z_std = (1.3 - fitted.center_[1]) / fitted.scale_[1]
    per_class = []
    for j in range(3):
        lp = np.log(fitted.weights_[j])
        # The Gaussian is on the standardised scale, as the model keeps it.
        lp += norm.logpdf(z_std, fitted.means_[j, 1], np.sqrt(fitted.variances_[j, 1]))
        lp += np.log(fitted.level_probs_["need"][j, 2]) + np.log(fitted.level_probs_["flag"][j, 0])
        # Multinomial without its coefficient (the same for every class).
        coef = multinomial.logpmf([1, 0, 3], 4, [1 / 3] * 3) - 4 * np.log(1 / 3)
        lp += multinomial.logpmf([1, 0, 3], 4, fitted.count_probs_[j]) - coef
        per_class.append(lp)
    assert fitted.score_samples(row)[0] == pytest.approx(logsumexp(per_class), rel=1e-10)
    expected = np.exp(np.array(per_class) - logsumexp(per_class))
    np.testing.assert_allclose(fitted.predict_proba(row)[0], expected, rtol=1e-10)


def test_missing_value_is_not_a_zero(fitted: MixedMixture) -> None:
    base = {"z": [5.0], "need": [np.nan], "flag": [0.0], "a": [0.0], "b": [0.0], "c": [0.0]}
    gap = fitted.predict_proba(pd.DataFrame({"x": [np.nan], **base}))[0]
    zero = fitted.predict_proba(pd.DataFrame({"x": [0.0], **base}))[0]
    eight = fitted.predict_proba(pd.DataFrame({"x": [8.0], **base}))[0]
    # z = 5 fits classes 0 and 2 only; x decides between them, and a gap decides nothing.
    low, high = np.argsort(fitted.means_[:, 0] * fitted.scale_[0] + fitted.center_[0])[[0, 2]]
    assert zero[low] > 0.99 and eight[high] > 0.99
    assert 0.1 < gap[low] < 0.9 and 0.1 < gap[high] < 0.9


def test_offence_mix_evidence_grows_with_counts(fitted: MixedMixture) -> None:
    def proba(k: int) -> np.ndarray:
        row = {"x": [np.nan], "z": [np.nan], "need": [np.nan], "flag": [np.nan]}
        return fitted.predict_proba(pd.DataFrame({**row, "a": [3.0 * k], "b": [1.0 * k], "c": [1.0 * k]}))[0]

    a_class = int(fitted.count_probs_[:, 0].argmax())
    assert proba(1)[a_class] < proba(4)[a_class] < proba(10)[a_class]


def test_same_seed_identical_and_seed_matters(
    data: tuple[pd.DataFrame, np.ndarray], fitted: MixedMixture
) -> None:
    frame, _ = data
    again = _model().fit(frame)
    np.testing.assert_array_equal(again.predict_proba(frame), fitted.predict_proba(frame))
    assert again.log_likelihood_ == fitted.log_likelihood_


def test_round_trip_through_json(data: tuple[pd.DataFrame, np.ndarray], fitted: MixedMixture) -> None:
    frame, _ = data
    text = json.dumps(fitted.to_dict())
    loaded = MixedMixture.from_dict(json.loads(text))
    np.testing.assert_array_equal(loaded.predict_proba(frame), fitted.predict_proba(frame))
    assert loaded.bic(frame) == fitted.bic(frame)
    with pytest.raises(ValueError, match="not a mixed mixture"):
        MixedMixture.from_dict({"format": "something else"})


def test_bic_prefers_the_true_number_of_classes(data: tuple[pd.DataFrame, np.ndarray]) -> None:
    frame, _ = data
    bic = {k: _model(n_components=k).fit(frame).bic(frame) for k in (1, 2, 3)}
    assert bic[3] < bic[2] < bic[1]


def test_bad_inputs_say_which_column(data: tuple[pd.DataFrame, np.ndarray], fitted: MixedMixture) -> None:
    frame, _ = data
    with pytest.raises(ValueError, match=r"'need' has codes outside 0..2"):
        fitted.predict_proba(frame.assign(need=3.0))
    with pytest.raises(ValueError, match="missing"):
        fitted.predict_proba(frame.drop(columns="z"))
    with pytest.raises(ValueError, match="count columns"):
        fitted.predict_proba(frame.assign(a=-1.0))
    with pytest.raises(ValueError, match="cannot fit"):
        _model(n_components=5).fit(frame.iloc[:3])


def test_all_missing_or_constant_column_is_harmless(data: tuple[pd.DataFrame, np.ndarray]) -> None:
    frame, cls = data
    odd = frame.assign(x=np.nan, z=frame["z"], flag=1.0)
    model = _model().fit(odd)
    assert np.isfinite(model.log_likelihood_)
    assert np.isfinite(model.predict_proba(odd)).all()
    # Classes still come from z, need and the counts.
    assert adjusted_rand_score(cls, model.predict(odd)) > 0.8


# --- prior-shift adaptation ----------------------------------------------------------


def _two_classes(n_a: int, n_b: int, seed: int) -> pd.DataFrame:
    """One Gaussian column: class A around 0, class B around 4 (sd 1), A rows first."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"x": np.r_[rng.normal(0.0, 1.0, n_a), rng.normal(4.0, 1.0, n_b)]})


@pytest.fixture(scope="module")
def fifty_fifty() -> MixedMixture:
    return MixedMixture(n_components=2, gaussian=("x",), var_floor=1e-3, random_state=0).fit(
        _two_classes(1000, 1000, 1)
    )


def test_adapted_weights_find_a_new_mix_and_move_the_posteriors(fifty_fifty: MixedMixture) -> None:
    a = int(np.argmin(fifty_fifty.means_[:, 0]))
    assert fifty_fifty.weights_[a] == pytest.approx(0.5, abs=0.02)
    ninety_ten = _two_classes(1800, 200, 2)
    w = fifty_fifty.adapt_weights(ninety_ten, pseudo_count=0.0)
    assert w.shape == (2000, 2)
    assert np.allclose(w, w[0])
    assert w[0, a] == pytest.approx(0.9, abs=0.015)
    # Bayes: the posterior odds of A move by exactly the change in its prior odds, about
    # 9 (from 50/50 to 90/10); near the boundary that turns about even into about 0.9.
    x = pd.DataFrame({"x": np.linspace(-1.0, 5.0, 13)})
    before, after = fifty_fifty.predict_proba(x), fifty_fifty.predict_proba(x, w[0])
    shift = np.log(after[:, a] / after[:, 1 - a]) - np.log(before[:, a] / before[:, 1 - a])
    w0 = fifty_fifty.weights_
    assert np.allclose(shift, np.log(w[0, a] / w[0, 1 - a]) - np.log(w0[a] / w0[1 - a]))
    boundary = int(np.argmin(np.abs(before[:, a] - 0.5)))
    assert 0.35 < before[boundary, a] < 0.65
    assert after[boundary, a] > 0.8
    # Rows far from the midpoint keep their class.
    proba = fifty_fifty.predict_proba(ninety_ten, w)
    truth = np.r_[np.full(1800, a), np.full(200, 1 - a)]
    assert (proba.argmax(axis=1) == truth).mean() > 0.97


def test_each_group_gets_its_own_weights_whatever_the_row_order(fifty_fifty: MixedMixture) -> None:
    a = int(np.argmin(fifty_fifty.means_[:, 0]))
    X = pd.concat([_two_classes(900, 100, 3), _two_classes(100, 900, 4)], ignore_index=True)
    groups = np.r_[np.full(1000, "2025-01-31"), np.full(1000, "2025-02-28")]
    w = fifty_fifty.adapt_weights(X, groups, pseudo_count=0.0)
    assert w[0, a] == pytest.approx(0.9, abs=0.02)
    assert w[-1, a] == pytest.approx(0.1, abs=0.02)
    order = np.random.default_rng(5).permutation(len(X))
    w_shuffled = fifty_fifty.adapt_weights(X.iloc[order], groups[order], pseudo_count=0.0)
    assert np.allclose(w_shuffled, w[order], atol=1e-6)


def test_a_small_group_stays_near_the_fitted_weights(fifty_fifty: MixedMixture) -> None:
    one = pd.DataFrame({"x": [0.0]})
    alone = fifty_fifty.adapt_weights(one, pseudo_count=0.0)
    assert alone.max() > 0.99  # unregularised, one person takes all the weight
    held = fifty_fifty.adapt_weights(one, pseudo_count=100.0)
    assert np.abs(held[0] - fifty_fifty.weights_).max() < 0.01
    assert fifty_fifty.adapt_weights(one.iloc[:0]).shape == (0, 2)
