"""Baselines: RFG points, OGRS design, oracle join."""

from __future__ import annotations

import numpy as np
import pandas as pd

from iom_contract import OFFENCE_GROUPS
from models.baselines import RFGBaseline, current_offence_group, oracle_risk, rfg_points


def test_rfg_points_known_answer() -> None:
    X = pd.DataFrame(
        {
            "days_since_last_offence": pd.array([60, 200, None], dtype="Int32"),
            "n_recorded_offences_12m": [4, 1, 0],
            "gravity_max_recorded_12m": pd.array([3, 6, None], dtype="Int32"),
        }
    )
    # 3+2+2; 1+1+3; 0+0+0
    assert rfg_points(X).tolist() == [7, 5, 0]


def test_rfg_rate_per_points_total() -> None:
    X = pd.DataFrame(
        {
            "days_since_last_offence": [10, 10, 1000, 1000],
            "n_recorded_offences_12m": [6, 6, 0, 0],
            "gravity_max_recorded_12m": [6, 6, 0, 0],
        }
    )
    model = RFGBaseline(prior_weight=0.0).fit(X, np.array([1, 1, 0, 0]))
    assert model.predict_proba(X)[:, 1].tolist() == [1.0, 1.0, 0.0, 0.0]


def test_current_offence_group_is_most_frequent_recent() -> None:
    counts = {f"n_proven_{g}_12m": [0, 0] for g in OFFENCE_GROUPS}
    counts["n_proven_theft_12m"] = [2, 0]
    counts["n_proven_burglary_12m"] = [1, 0]
    assert current_offence_group(pd.DataFrame(counts)).tolist() == ["theft", "none"]


def test_oracle_joins_through_the_police_identity() -> None:
    rows = pd.DataFrame({"pseudo_id": ["P1", "P2", "P3"], "as_of_date": pd.to_datetime(["2024-03-31"] * 3)})
    index = pd.DataFrame(
        {
            "pseudo_id": ["P1", "P1", "P2"],
            "source": ["police", "prison", "police"],
            "source_id": ["a", "x", "b"],
        }
    )
    ids = pd.DataFrame(
        {"person_id": [10, 10, 20], "source": ["police", "prison", "police"], "source_id": ["a", "x", "b"]}
    )
    oracle = pd.DataFrame(
        {
            "person_id": [10, 20, 20],
            "as_of_date": pd.to_datetime(["2024-03-31", "2024-03-31", "2023-12-31"]),
            "p_true": [0.3, 0.7, 0.1],
        }
    )
    out = oracle_risk(rows, oracle, index, ids)
    assert out.iloc[:2].tolist() == [0.3, 0.7]
    assert np.isnan(out.iloc[2])
