"""PNC ID inheritance through noms_id / crn."""

from __future__ import annotations

import pandas as pd

from linkage.deterministic import resolve_pnc


def _rows() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "crn": ["X000001", "X000001", "X000001", "X000002", "X000003", "X000003", "X000003"],
            "pnc_id": pd.array(["09/1K", None, "09/1K", None, "01/2A", "01/3B", "01/2A"], dtype="string"),
            "source_row": range(1, 8),
        }
    )


def test_null_pnc_rows_inherit_the_pnc_of_their_crn() -> None:
    out = resolve_pnc(_rows(), "crn").set_index("crn")
    assert out.loc["X000001", "pnc_id"] == "09/1K"
    assert out.loc["X000001", "method"] == "source_id"
    assert out.loc["X000001", "n_rows_inherited"] == 1


def test_an_id_without_any_pnc_stays_unresolved() -> None:
    out = resolve_pnc(_rows(), "crn").set_index("crn")
    assert pd.isna(out.loc["X000002", "pnc_id"])
    assert pd.isna(out.loc["X000002", "method"])
    assert out.loc["X000002", "n_rows_inherited"] == 0


def test_conflicting_pncs_resolve_to_the_majority() -> None:
    out = resolve_pnc(_rows(), "crn").set_index("crn")
    assert out.loc["X000003", "pnc_id"] == "01/2A"
    assert out.loc["X000003", "method"] == "pnc_id"
    assert out.loc["X000003", "n_rows_conflicting"] == 1


def test_ties_go_to_the_most_recent_row() -> None:
    rows = pd.DataFrame(
        {"noms_id": ["A1234BC", "A1234BC"], "pnc_id": pd.array(["01/1A", "01/2B"], dtype="string"),
         "source_row": [7, 3]}
    )  # fmt: skip
    assert resolve_pnc(rows, "noms_id")["pnc_id"].item() == "01/1A"
