"""Decisions from scored pairs: accept, clerical review, ambiguity, no link."""

from __future__ import annotations

import pandas as pd

from linkage.decide import decide_links
from linkage.params import LinkParams

PARAMS = LinkParams(accept=0.95, review_low=0.5, ambiguity_margin=2.0, review_candidates=2)


def _pairs(rows: list[tuple[str, str, float, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["unique_id_l", "unique_id_r", "match_weight", "match_probability"])


def test_each_identity_gets_one_decision() -> None:
    pairs = _pairs(
        [
            ("health:sure", "01/1A", 12.0, 0.999),
            ("health:sure", "01/2B", -3.0, 0.02),
            ("health:maybe", "01/3C", 1.0, 0.80),
            ("health:twins", "01/4D", 9.0, 0.998),
            ("health:twins", "01/5E", 8.5, 0.997),
            ("health:twins", "01/6F", 8.0, 0.996),
            ("health:weak", "01/7G", -1.0, 0.30),
        ]
    )
    ids = pd.Series(["health:sure", "health:maybe", "health:twins", "health:weak", "health:none"])
    decisions, review = decide_links(pairs, ids, PARAMS)
    d = decisions.set_index("unique_id")
    assert d.loc["health:sure", ["decision", "reason", "candidate"]].tolist() == [
        "linked",
        "accepted",
        "01/1A",
    ]
    assert d.loc["health:maybe", ["decision", "reason"]].tolist() == ["review", "uncertain"]
    assert d.loc["health:twins", ["decision", "reason"]].tolist() == ["review", "ambiguous"]
    assert d.loc["health:weak", ["decision", "reason"]].tolist() == ["unlinked", "below_review"]
    assert d.loc["health:none", ["decision", "reason"]].tolist() == ["unlinked", "no_candidate"]
    assert pd.isna(d.loc["health:none", "candidate"])
    assert len(decisions) == 5

    # Review lists the uncertain and the ambiguous, best first, capped per identity.
    assert set(review["unique_id"]) == {"health:maybe", "health:twins"}
    twins = review[review["unique_id"] == "health:twins"]
    assert twins["candidate"].tolist() == ["01/4D", "01/5E"]
    assert twins["rank"].tolist() == [1, 2]


def test_runner_up_far_behind_is_not_ambiguous() -> None:
    pairs = _pairs([("h:a", "01/1A", 12.0, 0.999), ("h:a", "01/2B", 9.0, 0.99)])
    decisions, review = decide_links(pairs, pd.Series(["h:a"]), PARAMS)
    assert decisions["decision"].item() == "linked"
    assert review.empty


def test_an_identity_links_to_at_most_one_nominal() -> None:
    pairs = _pairs([("h:a", f"01/{i}A", 10.0 + 3 * i, 0.999) for i in range(5)])
    decisions, _ = decide_links(pairs, pd.Series(["h:a"]), PARAMS)
    assert decisions["candidate"].tolist() == ["01/4A"]
