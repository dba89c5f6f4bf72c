"""Clerical review: the file a person fills in, its checks, and decisions that stick across runs."""

from __future__ import annotations

import pandas as pd
import pytest

from linkage import LinkParams
from linkage.review import (
    LEDGER_COLUMNS,
    ReviewFileError,
    apply_decisions,
    empty_ledger,
    merge_decisions,
    pair_check,
    parse_review_file,
)

PARAMS = LinkParams(accept=0.95, review_low=0.5)


def _review(rows: list[tuple[str, str, str, str, str]]) -> pd.DataFrame:
    frame = pd.DataFrame(
        rows, columns=["source", "source_id", "candidate_source", "candidate_id", "decision"]
    )
    frame["match_probability"] = "0.7"
    frame["pair_check"] = pair_check(frame)
    return frame


def _ledger(rows: list[tuple[str, str, str, str, str]]) -> pd.DataFrame:
    new = parse_review_file(_review(rows), "test.csv")
    return merge_decisions(empty_ledger(), new, "2026-11-01")[0]


GOOD = [
    ("health", "H1", "police", "01/1A", "match"),
    ("health", "H2", "police", "01/2B", "No Match"),
    ("housing", "C1", "police", "01/3C", ""),
]


def test_a_good_file_gives_its_decisions() -> None:
    decided = parse_review_file(_review(GOOD), "r.csv")
    assert decided["decision"].tolist() == ["match", "no_match"]
    assert decided["row"].tolist() == [2, 3]  # spreadsheet rows: the header is row 1


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda f: f.assign(decision=f["decision"].where(f.index != 2, "yes")),
            r"row 4, column 'decision', unknown",
        ),
        (
            lambda f: pd.concat([f, f.iloc[[0]]], ignore_index=True),
            r"rows 2, 5, column 'source_id', duplicated pair",
        ),
        (
            lambda f: f.assign(candidate_id=f["candidate_id"].where(f.index != 1, "01/9Z")),
            r"row 3, column 'pair_check'",
        ),
    ],
    ids=["unknown word", "duplicated pair", "row edited into another pair"],
)
def test_a_malformed_file_is_refused_naming_the_row(edit, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ReviewFileError, match=message) as caught:
        parse_review_file(edit(_review(GOOD)), "data/reid/clerical_review.csv")
    assert "data/reid/clerical_review.csv" in str(caught.value)
    assert "nothing was taken" in str(caught.value)


def test_one_identity_cannot_match_two_candidates() -> None:
    rows = [("health", "H1", "police", "01/1A", "match"), ("health", "H1", "police", "01/2B", "match")]
    with pytest.raises(ReviewFileError, match="rows 2, 3, column 'decision', one identity matched to two"):
        parse_review_file(_review(rows), "r.csv")


def test_ledger_keeps_first_date_and_counts_changes() -> None:
    ledger = _ledger(GOOD)
    assert list(ledger.columns) == list(LEDGER_COLUMNS)
    assert not {"forename", "surname", "date_of_birth"} & set(ledger.columns)
    again = parse_review_file(_review([GOOD[0], ("health", "H2", "police", "01/2B", "match")]), "r.csv")
    merged, counts = merge_decisions(ledger, again, "2026-12-01")
    assert counts == {"added": 0, "changed": 1, "unchanged": 1}
    by_id = merged.set_index("source_id")
    assert by_id.loc["H1", "decided_on"] == "2026-11-01"
    assert by_id.loc["H2", ["decision", "decided_on"]].tolist() == ["match", "2026-12-01"]


def _pairs() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "unique_id_l": ["health:H1", "health:H1", "health:H2", "housing:C1"],
            "unique_id_r": ["police:01/1A", "police:01/5E", "police:01/2B", "police:01/3C"],
            "match_weight": [2.0, 5.0, 9.0, 1.0],
            "match_probability": [0.3, 0.7, 0.99, 0.6],
        }
    )


def test_decisions_apply_before_thresholds_and_stale_ones_are_reported() -> None:
    ledger = _ledger([*GOOD, ("health", "H9", "police", "01/1A", "no_match")])
    identities = pd.Series(["health:H1", "health:H2", "housing:C1"])
    candidates = ["police:01/1A", "police:01/5E", "police:01/2B", "police:01/3C"]
    persons = pd.Series([c.replace("police:", "pnc:") for c in candidates], index=candidates)
    applied = apply_decisions(_pairs(), ledger, identities, persons, PARAMS)
    # H1 matched by a person to a candidate the model scores 0.3: linked, all its pairs closed.
    assert applied.matched[["unique_id", "candidate"]].values.tolist() == [["health:H1", "police:01/1A"]]
    # H2's no_match removes a pair the model would have accepted; C1 undecided stays open.
    assert applied.open_pairs["unique_id_l"].tolist() == ["housing:C1"]
    assert applied.counts == {
        "match": 1,
        "no_match": 1,
        "stale": 1,
        "match_below_review_low": 1,
        "match_where_model_links_another": 0,
        "no_match_where_model_links": 1,
    }
    assert applied.stale[["source_id", "stale_reason"]].values.tolist() == [["H9", "identity_gone"]]


def test_simulated_reviewer_decides_from_the_truth_with_its_error_rate() -> None:
    from simulator.reviewer import simulate_review

    n = 400
    review = pd.DataFrame(
        {
            "queue_position": [str(i // 2 + 1) for i in range(n)],
            "queue_size": str(n // 2),
            "rank": [str(i % 2 + 1) for i in range(n)],
            "source": "health",
            "source_id": [f"H{i // 2}" for i in range(n)],
            "candidate_source": "police",
            "candidate_id": [f"P{i}" for i in range(n)],
            "decision": "",
        }
    )
    # Each health identity is the person of its rank-1 candidate.
    truth = pd.concat(
        [
            pd.DataFrame({"person_id": range(n // 2), "source": "health",
                          "source_id": [f"H{i}" for i in range(n // 2)]}),
            pd.DataFrame({"person_id": [i // 2 if i % 2 == 0 else -1 for i in range(n)], "source": "police",
                          "source_id": [f"P{i}" for i in range(n)]}),
        ]
    )  # fmt: skip
    right = simulate_review(review, truth, error_rate=0.0)
    assert right["decision"].tolist() == ["match", "no_match"] * (n // 2)
    noisy = simulate_review(review, truth, error_rate=0.2, seed=3)
    # Rank 1 (the true match here) is wrong at the stated rate; a wrong match on rank 2
    # is undone when rank 1 is matched (one person per identity), so fewer errors there.
    first = noisy["rank"] == "1"
    wrong = (noisy.loc[first, "decision"] != right.loc[first, "decision"]).mean()
    assert 0.12 < wrong < 0.28
    # Never two matches for one identity, and the same seed gives the same decisions.
    assert not noisy[noisy["decision"] == "match"].duplicated("source_id").any()
    pd.testing.assert_frame_equal(noisy, simulate_review(review, truth, error_rate=0.2, seed=3))
    half = simulate_review(review, truth, error_rate=0.0, share=0.5)
    assert (half["decision"] != "").sum() == n // 2


def test_a_decision_follows_the_person_its_candidate_resolves_to() -> None:
    """no_match with a probation crn that now carries a PNC ID keeps the nominal apart too."""
    ledger = _ledger([("health", "H2", "probation", "X12", "no_match")])
    persons = pd.Series(["pnc:01/2B", "pnc:01/2B"], index=["police:01/2B", "probation:X12"])
    applied = apply_decisions(_pairs(), ledger, pd.Series(["health:H2"]), persons, PARAMS)
    assert applied.stale.empty
    assert "health:H2" not in set(applied.open_pairs["unique_id_l"])
    assert applied.counts["no_match_where_model_links"] == 1
