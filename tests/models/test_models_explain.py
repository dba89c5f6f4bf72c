"""Reasons text from probability points."""

from __future__ import annotations

import pandas as pd

from models.explain import explain_reasons


def test_reasons_known_answer() -> None:
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
    r = explain_reasons(points, X).iloc[0]
    assert r["reasons_history_up"] == "4 proven offences in the last 12 months (+9 pts)"
    assert r["reasons_history_down"] == "age in years: 45 (-3 pts)"
    assert r["reasons_needs_up"] == (
        "total need score at latest assessment: 7 (+4 pts); "
        "latest housing event is not settled accommodation (+3 pts)"
    )
    assert (
        r["reasons_needs_down"]
        == "share of probation appointments attended in the last 3 months: 0.5 (-1 pts)"
    )
