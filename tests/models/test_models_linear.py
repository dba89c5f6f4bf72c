"""The linear start's arithmetic does not depend on how many BLAS threads the machine has."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from models._linear import LinearStart


def _table(n: int = 5000, k: int = 100) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(n, k)), columns=[f"c{i}" for i in range(k)])
    z = X.iloc[:, :5].sum(axis=1).to_numpy()
    return X, (rng.random(n) < 1 / (1 + np.exp(-z))).astype(np.float64)


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs 2 cores for a 2-thread BLAS")
def test_same_bits_whatever_the_blas_threads() -> None:
    """Unpinned, OpenBLAS's 1- and 2-thread products differ in the last bits on this table
    (so the check has teeth); the linear start pins one thread and gives the same
    coefficients and log-odds under either setting."""
    X, y = _table()
    w = np.ones(len(y))
    unpinned = LinearStart.fit.__wrapped__  # type: ignore[attr-defined]
    raw, fitted, margins = [], [], []
    for threads in (1, 2):
        with threadpool_limits(limits=threads, user_api="blas"):
            raw.append(json.dumps(unpinned(LinearStart, X, y, w, {}, {}).to_dict()))
            model = LinearStart.fit(X, y, w, {}, {})
            fitted.append(json.dumps(model.to_dict()))
            margins.append(model.margin(X))
    if raw[0] == raw[1]:
        pytest.skip("this BLAS gives the same bits on 1 and 2 threads here: nothing to pin")
    assert fitted[0] == fitted[1]
    np.testing.assert_array_equal(margins[0], margins[1])
