"""Reasons from probability points: families, their facts, and the policy that composes them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from features.reasons import reason_problems
from models.explain import (
    compose_reasons,
    contributions_json,
    family_points,
    panel_reasons,
    plot_global,
    plot_rows,
)


def _frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    X = pd.DataFrame(
        {
            "n_recorded_offences_all": [68, 3],
            "n_proven_offences_all": [26, 1],
            "n_proven_offences_12m": [4, 0],
            "age": pd.array([45, 19], dtype="Int32"),
            "in_custody": [False, False],
            "need_drugs": pd.array([2, 0], dtype="Int32"),
            "housing_unstable": [True, False],
            "share_contacts_attended_3m": [0.5, 1.0],
            "days_since_assessment": pd.array([2923, 30], dtype="Int32"),
        }
    )
    points = pd.DataFrame(
        {
            "n_recorded_offences_all": [20.0, -6.0],
            "n_proven_offences_all": [14.0, -2.0],
            "n_proven_offences_12m": [9.2, -1.0],
            "age": [-3.4, 2.0],
            "in_custody": [0.2, 0.0],
            "need_drugs": [4.0, -0.5],
            "housing_unstable": [2.6, -1.0],
            "share_contacts_attended_3m": [1.0, -0.3],
            "days_since_assessment": [0.1, 0.0],
        }
    )
    return X, points


def test_family_points_sum_exactly_to_the_persons_points() -> None:
    X, points = _frames()
    fam = family_points(points, X)
    F = fam[[c for c in fam if c.startswith("points__")]]
    assert np.allclose(F.sum(axis=1), points.sum(axis=1), atol=1e-12)
    assert fam.loc[0, "points__offending_history"] == 34.0


def test_reasons_known_answer() -> None:
    X, points = _frames()
    r = panel_reasons(points, X).iloc[0]
    assert r["reasons_up"] == (
        "Long record: 68 recorded offences in the last 10 years, 26 proven offences in the last 10 years "
        "(+34 pts); Recent offending: 4 proven offences in the last 12 months (+9 pts); "
        "Drugs: significant drug misuse need at the latest assessment (+4 pts)"
    )
    assert r["reasons_down"] == "Age: aged 45 (-3 pts)"
    assert r["reasons_up_dynamic"] == (
        "Drugs: significant drug misuse need at the latest assessment (+4 pts); "
        "Accommodation: latest housing record: homeless or in temporary accommodation (+3 pts)"
    )
    assert r["reasons_up_static"].startswith("Long record:")
    low = panel_reasons(points, X).iloc[1]
    assert low["reasons_down"].startswith("Short record: 3 recorded offences in the last 10 years")
    for text in (*r[["reasons_up", "reasons_down"]], *low[["reasons_up", "reasons_down"]]):
        for reason in text.split("; "):
            assert not reason_problems(reason), reason


def test_policy_number_of_reasons_and_stale_assessment() -> None:
    X, points = _frames()
    fam = family_points(points, X)
    one = compose_reasons(fam, n_up=1, n_down=0, stale_days=365.0)
    assert one.loc[0, "reasons_up"].startswith("Long record:") and "; " not in one.loc[0, "reasons_up"]
    assert one.loc[0, "reasons_down"] == ""
    assert one.loc[0, "reasons_up_dynamic"] == (
        "Drugs, from an assessment 8 years old: "
        "significant drug misuse need at the latest assessment (+4 pts)"
    )
    fresh = compose_reasons(fam, stale_days=None)
    assert "assessment 8 years old" not in fresh.loc[0, "reasons_up_dynamic"]
    # A housing record in the accommodation family is not from the assessment: no label.
    assert one.loc[0, "reasons_up_dynamic"].count("years old") == 1
    two = compose_reasons(fam, n_up=2, stale_days=365.0).loc[0, "reasons_up_dynamic"]
    assert "Accommodation: latest housing record" in two


def test_contributions_are_families_largest_first() -> None:
    X, points = _frames()
    items = json.loads(contributions_json(family_points(points, X)).iloc[0])
    assert [i["family"] for i in items[:3]] == ["offending_history", "recent_offending", "drugs"]
    assert items[0] == {
        "family": "offending_history",
        "heading": "Long record",
        "can_change": False,
        "points": 34.0,
        "facts": "68 recorded offences in the last 10 years, 26 proven offences in the last 10 years",
    }
    assert items[2]["can_change"] is True
    assert abs(sum(i["points"] for i in items) - points.iloc[0].sum()) < 0.01


def test_labels_name_the_history_window_the_features_used() -> None:
    X = pd.DataFrame({"n_proven_offences_all": [14], "age": pd.array([30], dtype="Int32")})
    points = pd.DataFrame({"n_proven_offences_all": [6.0], "age": [-1.0]})
    assert panel_reasons(points, X).iloc[0]["reasons_up"] == (
        "Long record: 14 proven offences in the last 10 years (+6 pts)"
    )
    five = panel_reasons(points, X, history_months=60).iloc[0]
    assert five["reasons_up"] == "Long record: 14 proven offences in the last 5 years (+6 pts)"
    short = panel_reasons(points, X, history_months=30).iloc[0]
    assert short["reasons_up_static"] == "Long record: 14 proven offences in the last 30 months (+6 pts)"


def test_inputs_outside_the_catalogue_are_other_factors_never_named() -> None:
    X = pd.DataFrame({"sex_M": [1.0], "age": pd.array([30], dtype="Int32")})
    points = pd.DataFrame({"sex_M": [2.0], "age": [-1.0]})
    r = panel_reasons(points, X).iloc[0]
    assert r["reasons_up"] == "Other factors (+2 pts)"


def test_plots_of_presampled_rows_are_the_plots_of_the_whole_block(tmp_path: Path) -> None:
    """The train stage computes SHAP values only for the rows the plots draw
    (``plot_rows``, then ``sampled=True``): the PNGs are those drawn from the whole block,
    byte for byte, and fewer rows than the sample size are all drawn."""
    rng = np.random.default_rng(3)
    n = 300
    X = pd.DataFrame(
        {
            "n_proven_offences_12m": rng.poisson(1.0, n).astype("float64"),
            "age": rng.integers(18, 65, n).astype("float64"),
            "need_total": rng.integers(0, 12, n).astype("float64"),
        }
    )
    phi = rng.normal(size=(n, 3))
    whole = plot_global(phi, X, tmp_path / "whole", np.random.default_rng(1), n_sample=100)
    draw = np.random.default_rng(1)
    take = plot_rows(n, draw, n_sample=100)
    assert len(take) == 100 and np.all(np.diff(take) > 0)
    part = plot_global(phi[take], X.iloc[take], tmp_path / "part", draw, n_sample=100, sampled=True)
    assert [p.name for p in whole] == [p.name for p in part]
    for a, b in zip(whole, part, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name
    assert np.array_equal(plot_rows(50, np.random.default_rng(0), n_sample=100), np.arange(50))
