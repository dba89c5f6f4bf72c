"""Reasons text from probability points."""

from __future__ import annotations

import json

import pandas as pd

from models.explain import contributions_json, panel_reasons


def _frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    X = pd.DataFrame(
        {
            "n_proven_offences_12m": [4],
            "age": pd.array([45], dtype="Int32"),
            "in_custody": [False],
            "need_total": pd.array([7], dtype="Int32"),
            "housing_unstable": [True],
            "share_contacts_attended_3m": [0.5],
        }
    )
    points = pd.DataFrame(
        {
            "n_proven_offences_12m": [9.2],
            "age": [-3.4],
            "in_custody": [0.2],  # rounds to 0: not a reason
            "need_total": [4.0],
            "housing_unstable": [2.6],
            "share_contacts_attended_3m": [-1.0],
        }
    )
    return X, points


def test_panel_reason_columns_known_answer() -> None:
    X, points = _frames()
    r = panel_reasons(points, X).iloc[0]
    assert r["reasons_up"] == (
        "4 proven offences in the last 12 months (+9 pts); "
        "total need score at latest assessment: 7 (+4 pts); "
        "latest housing event is not settled accommodation (+3 pts)"
    )
    assert r["reasons_down"] == (
        "age in years: 45 (-3 pts); "
        "share of probation appointments attended in the last 3 months: 0.5 (-1 pts)"
    )
    assert r["reasons_up_static"] == "4 proven offences in the last 12 months (+9 pts)"
    assert r["reasons_up_dynamic"] == (
        "total need score at latest assessment: 7 (+4 pts); "
        "latest housing event is not settled accommodation (+3 pts)"
    )


def test_contributions_are_json_largest_first() -> None:
    X, points = _frames()
    X = X.assign(age=pd.array([pd.NA], dtype="Int32"))
    items = json.loads(contributions_json(points, X, n_top=3).iloc[0])
    assert items == [
        {
            "feature": "n_proven_offences_12m",
            "label": "proven offences in the last 12 months",
            "kind": "static",
            "value": 4.0,
            "points": 9.2,
        },
        {
            "feature": "need_total",
            "label": "total need score at latest assessment",
            "kind": "dynamic",
            "value": 7.0,
            "points": 4.0,
        },
        {"feature": "age", "label": "age in years", "kind": "static", "value": None, "points": -3.4},
    ]


def test_labels_name_the_history_window_the_features_used() -> None:
    X = pd.DataFrame({"n_proven_offences_all": [14], "age": pd.array([30], dtype="Int32")})
    points = pd.DataFrame({"n_proven_offences_all": [6.0], "age": [-1.0]})
    default = panel_reasons(points, X).iloc[0]
    assert default["reasons_up"] == "14 proven offences in the last 10 years (+6 pts)"
    five = panel_reasons(points, X, history_months=60).iloc[0]
    assert five["reasons_up"] == "14 proven offences in the last 5 years (+6 pts)"
    items = json.loads(five["contributions"])
    assert items[0]["label"] == "proven offences in the last 5 years"
    short = panel_reasons(points, X, history_months=30).iloc[0]
    assert short["reasons_up_static"] == "14 proven offences in the last 30 months (+6 pts)"
