"""Known-answer tests for the model metrics."""

from __future__ import annotations

import numpy as np
import pytest

from models.metrics import (
    calibration_slope_intercept,
    capacity_metrics,
    expected_calibration_error,
    precision_at_k,
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
