"""Known-answer tests for the model metrics."""

from __future__ import annotations

import numpy as np
import pytest

from models.metrics import (
    calibration_slope_intercept,
    capacity_metrics,
    expected_calibration_error,
    precision_at_k,
    precision_difference_interval,
)


def test_ece_known_answer() -> None:
    # bin 1 (p=0.1, 2 rows, observed 0.5): |0.2-1| = 0.8; bin 9 (p=0.9, 2 rows, observed 1): |1.8-2| = 0.2
    y = np.array([0, 1, 1, 1])
    p = np.array([0.1, 0.1, 0.9, 0.9])
    assert expected_calibration_error(y, p) == pytest.approx((0.8 + 0.2) / 4)


def test_capacity_precision_and_recall_per_date_averaged() -> None:
    y = np.array([1, 0, 1, 0, 1, 1])
    p = np.array([0.9, 0.8, 0.1, 0.9, 0.8, 0.1])
    d = np.array(["a", "a", "a", "b", "b", "b"])
    precision, recall = capacity_metrics(y, p, d, capacity=2)
    # date a: top 2 hold 1 of 2 positives; date b: top 2 hold 1 of 2 positives
    assert precision == pytest.approx(0.5)
    assert recall == pytest.approx(0.5)


def test_precision_at_k() -> None:
    y = np.array([1, 0, 1, 1])
    p = np.array([0.9, 0.8, 0.7, 0.1])
    out = precision_at_k(y, p, np.zeros(4), np.array([1, 2, 3]))
    assert out["precision"].tolist() == pytest.approx([1.0, 0.5, 2 / 3])


def test_calibration_slope_is_one_for_true_probabilities_and_low_for_overconfident() -> None:
    rng = np.random.default_rng(1)
    z = rng.normal(0, 1.5, 40_000)
    p = 1 / (1 + np.exp(-z))
    y = (rng.random(len(p)) < p).astype(int)
    slope, intercept = calibration_slope_intercept(y, p)
    assert slope == pytest.approx(1.0, abs=0.05)
    assert intercept == pytest.approx(0.0, abs=0.05)
    over = 1 / (1 + np.exp(-2 * z))
    assert calibration_slope_intercept(y, over)[0] == pytest.approx(0.5, abs=0.05)


def _two_dates(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """n people on each of two dates (the same people), a true risk and an outcome."""
    rng = np.random.default_rng(seed)
    persons = np.tile(np.arange(n), 2)
    dates = np.repeat(np.array(["2024-01-31", "2024-04-30"]), n)
    risk = rng.beta(2, 4, size=2 * n)
    y = (rng.random(2 * n) < risk).astype(float)
    return y, risk, dates, persons


def test_precision_interval_of_a_model_against_itself_is_zero() -> None:
    y, risk, dates, persons = _two_dates(2000, 0)
    gap = precision_difference_interval(y, risk, risk, dates, persons, 100, n_boot=200)
    assert gap["difference"] == 0 and gap["low"] == 0 and gap["high"] == 0 and gap["se"] == 0


def test_precision_interval_point_is_capacity_metrics_and_sees_a_real_gap() -> None:
    y, risk, dates, persons = _two_dates(3000, 1)
    noise = risk + np.random.default_rng(2).normal(scale=0.3, size=len(risk))
    gap = precision_difference_interval(y, risk, noise, dates, persons, 200, n_boot=500)
    expected = capacity_metrics(y, risk, dates, 200)[0] - capacity_metrics(y, noise, dates, 200)[0]
    assert gap["difference"] == pytest.approx(expected, abs=1e-5)
    assert gap["low"] > 0 and gap["share_below_zero"] < 0.025, gap  # the true risk ranks better
    assert gap["low"] <= gap["difference"] <= gap["high"]


def test_precision_interval_is_seeded_and_as_wide_as_the_binomial_noise() -> None:
    """Two equally good, different lists of 100 on one date: the interval of their
    difference is about +-2 x sqrt(2 p (1 - p) / 100) wide, and the same seed repeats it."""
    rng = np.random.default_rng(3)
    n = 5000
    y = (rng.random(n) < 0.5).astype(float)
    a, b = rng.random(n), rng.random(n)  # both uninformative
    dates, persons = np.repeat("2024-01-31", n), np.arange(n)
    gap = precision_difference_interval(y, a, b, dates, persons, 100, n_boot=1000, seed=5)
    assert gap == precision_difference_interval(y, a, b, dates, persons, 100, n_boot=1000, seed=5)
    assert 0.05 < gap["se"] < 0.10, gap  # sqrt(2 x 0.25 / 100) = 0.071
