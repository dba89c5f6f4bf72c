"""From scored pairs to decisions: link, send to clerical review, or leave unlinked.

Each agency identity links to at most one police nominal: its best-scoring
candidate, and only when that candidate's match probability reaches ``accept`` and
no other nominal scores nearly as well. A second nominal within ``ambiguity_margin``
match-weight units means the details cannot tell two nominals apart (a duplicated
police record, father and son of the same name at the same address): a human
decides. Candidates in ``[review_low, accept)`` also go to a human and are *not*
linked automatically.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from linkage.params import LinkParams

DECISIONS = ("linked", "review", "unlinked")


def decide_links(
    pairs: pd.DataFrame, identities: pd.Series, params: LinkParams
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Decide each agency identity's link from its scored candidate pairs.

    Parameters
    ----------
    pairs
        unique_id_l (agency identity), unique_id_r (candidate: ``police:<pnc_id>`` or
        ``probation:<crn>``), match_weight, match_probability.
    identities
        Every agency identity's unique_id (those without any candidate pair too).
    params
        ``accept``, ``review_low``, ``ambiguity_margin``, ``review_candidates``.

    Returns
    -------
    decisions : pd.DataFrame
        One row per identity, sorted: unique_id, candidate (the best candidate, null
        without one), match_probability, match_weight (best candidate's),
        runner_up_weight, decision (``linked``/``review``/``unlinked``), reason
        (``accepted``, ``uncertain``, ``ambiguous``, ``below_review``, ``no_candidate``).
    review : pd.DataFrame
        The candidate pairs of identities sent to review (at most
        ``review_candidates`` each, best first): unique_id, candidate, rank (1 = best),
        match_weight, match_probability, reason, and the pairs' ``level_*`` columns.
    """
    ranked = pairs.sort_values(
        ["unique_id_l", "match_weight", "unique_id_r"], ascending=[True, False, True], kind="stable"
    ).reset_index(drop=True)
    ranked["rank"] = ranked.groupby("unique_id_l", sort=False).cumcount() + 1
    best = ranked[ranked["rank"] == 1].set_index("unique_id_l")
    runner_up = ranked[ranked["rank"] == 2].set_index("unique_id_l")

    out = pd.DataFrame(
        {"unique_id": identities.astype("str").drop_duplicates().sort_values(ignore_index=True)}
    )
    out["candidate"] = out["unique_id"].map(best["unique_id_r"]).astype("str")
    out["match_probability"] = out["unique_id"].map(best["match_probability"]).astype("float64")
    out["match_weight"] = out["unique_id"].map(best["match_weight"]).astype("float64")
    out["runner_up_weight"] = out["unique_id"].map(runner_up["match_weight"]).astype("float64")
    runner_up_p = out["unique_id"].map(runner_up["match_probability"]).astype("float64")

    p = out["match_probability"]
    ambiguous = (
        (p >= params.review_low)
        & (runner_up_p >= params.review_low)
        & ((out["match_weight"] - out["runner_up_weight"]) < params.ambiguity_margin)
    )
    conditions = [
        p.isna(),
        p < params.review_low,
        ambiguous,
        p < params.accept,
    ]
    out["reason"] = pd.Series(
        np.select(conditions, ["no_candidate", "below_review", "ambiguous", "uncertain"], "accepted"),
        index=out.index,
        dtype="str",
    )
    out["decision"] = pd.Series(
        np.select(
            [out["reason"] == "accepted", out["reason"].isin(["ambiguous", "uncertain"])],
            ["linked", "review"],
            "unlinked",
        ),
        index=out.index,
        dtype="str",
    )

    reasons = out.set_index("unique_id")["reason"]
    to_review = ranked[ranked["unique_id_l"].map(reasons).isin(["ambiguous", "uncertain"]).to_numpy()]
    to_review = to_review[
        (to_review["rank"] <= params.review_candidates)
        & (to_review["match_probability"] >= params.review_low)
    ]
    review = pd.DataFrame(
        {
            "unique_id": to_review["unique_id_l"].astype("str"),
            "candidate": to_review["unique_id_r"].astype("str"),
            "rank": to_review["rank"].astype("int64"),
            "match_weight": to_review["match_weight"],
            "match_probability": to_review["match_probability"],
            "reason": to_review["unique_id_l"].map(reasons).astype("str"),
        }
    )
    for col in (c for c in ranked.columns if c.startswith("level_")):
        review[col] = to_review[col]
    review = review.reset_index(drop=True)
    return out, review
