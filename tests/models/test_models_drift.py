"""Drift by the population stability index: known answers, bins, missing values, the typology mix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.drift import DriftParams, measure_drift, psi_categorical, psi_from_shares, psi_numeric


def test_the_module_docstrings_worked_example() -> None:
    expected = np.full(10, 0.1)
    actual = np.array([0.8 / 9] * 9 + [0.2])
    assert psi_from_shares(expected, actual) == pytest.approx(0.081, abs=5e-4)


def test_identical_distributions_have_zero_psi_and_psi_is_symmetric() -> None:
    rng = np.random.default_rng(0)
    x = pd.Series(rng.poisson(2.0, 5000).astype(float))
    assert psi_numeric(x, x) == pytest.approx(0.0, abs=1e-12)
    a, b = np.array([0.2, 0.3, 0.5]), np.array([0.4, 0.4, 0.2])
    assert psi_from_shares(a, b) == pytest.approx(psi_from_shares(b, a))


def test_a_shift_in_a_numeric_feature_is_large_and_a_resample_is_small() -> None:
    rng = np.random.default_rng(1)
    train = pd.Series(rng.normal(0, 1, 20000))
    same = pd.Series(rng.normal(0, 1, 3000))
    shifted = pd.Series(rng.normal(1, 1, 3000))
    assert psi_numeric(train, same) < 0.02
    assert psi_numeric(train, shifted) > 0.5


def test_missing_values_are_their_own_bin() -> None:
    train = pd.Series([1.0, 2.0, 3.0, 4.0] * 250)
    panel = pd.Series([1.0, 2.0, np.nan, np.nan] * 250)
    # Half the panel is missing, none of training: the missing bin alone is (0.5 - 1e-4) ln(0.5 / 1e-4).
    assert psi_numeric(train, panel) > (0.5 - 1e-4) * np.log(0.5 / 1e-4)


def test_categories_unseen_in_training_count() -> None:
    train = pd.Series(["a"] * 50 + ["b"] * 50)
    panel = pd.Series(["a"] * 50 + ["b"] * 25 + ["c"] * 25)
    assert psi_categorical(train, panel) == pytest.approx(
        psi_from_shares(np.array([0.5, 0.5, 0.0]), np.array([0.5, 0.25, 0.25]))
    )


def _frame() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(2)
    dates = pd.to_datetime(["2020-03-31", "2020-06-30", "2026-09-30"])
    n = 2000
    rows = []
    for d in dates:
        late = d.year == 2026
        rows.append(
            pd.DataFrame(
                {
                    "as_of_date": d,
                    "age": rng.normal(40 if late else 30, 8, n),  # the cohort has aged
                    "n_offences": rng.poisson(3, n).astype(float),  # unchanged
                }
            )
        )
    frame = pd.concat(rows, ignore_index=True)
    typ = pd.DataFrame(
        {
            "as_of_date": frame["as_of_date"],
            "typology": np.where(
                frame["as_of_date"].dt.year == 2026,
                rng.choice(["general", "vulnerable"], len(frame), p=[0.5, 0.5]),
                rng.choice(["general", "vulnerable"], len(frame), p=[0.7, 0.3]),
            ),
        }
    )
    return frame, typ


def test_measure_drift_names_the_features_beyond_the_threshold() -> None:
    frame, typ = _frame()
    result = measure_drift(
        frame,
        ["age", "n_offences"],
        {"age": "age at the as-of date"},
        pd.to_datetime(["2020-03-31", "2020-06-30"]).tolist(),
        pd.Timestamp("2026-09-30"),
        DriftParams(threshold=0.25),
        typ,
    )
    assert result.beyond == ["age"]
    record = result.to_json()
    assert record["features"][0] == {
        "name": "age",
        "label": "age at the as-of date",
        "psi": record["features"][0]["psi"],
    }
    assert record["features"][1]["label"] == "n_offences"  # no label: the name
    assert record["n_train_rows"] == 4000 and record["n_panel_rows"] == 2000
    mix = record["typology_mix"]
    assert mix["train"]["vulnerable"] == pytest.approx(0.3, abs=0.03)
    assert mix["panel"]["vulnerable"] == pytest.approx(0.5, abs=0.03)
    assert 0.1 < mix["psi"] < 0.25 and mix["beyond"] is False


def test_a_panel_date_without_rows_is_refused() -> None:
    frame, _ = _frame()
    with pytest.raises(ValueError, match="no feature rows at the panel date 2027-03-31"):
        measure_drift(
            frame, ["age"], {}, [pd.Timestamp("2020-03-31")], pd.Timestamp("2027-03-31"), DriftParams()
        )
