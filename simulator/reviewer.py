"""A simulated data controller who fills in the link stage's clerical review file from the truth.

For tests and measurements only: each pair's decision is the truth (``match`` when
the simulator's truth puts the agency identity and the candidate in the same person,
else ``no_match``), flipped with probability ``error_rate``, as a person working
through the queue sometimes errs. Like a person, the reviewer matches an identity
to one candidate at most: when errors would give it two, the higher-ranked keeps
``match`` and the other becomes ``no_match`` (so wrong ``match`` decisions on lower-ranked
candidates are rarer than ``error_rate``). ``share`` < 1 leaves the bottom of the
queue blank (a unit that reviews only its first pairs this month).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulator.ids import draw_key, stable_uniform

_S_ERROR = 1


def simulate_review(
    review: pd.DataFrame,
    truth: pd.DataFrame,
    error_rate: float = 0.02,
    share: float = 1.0,
    seed: int = 0,
) -> pd.DataFrame:
    """Fill in the ``decision`` column of a clerical review file from the truth.

    Parameters
    ----------
    review
        The review file as written by the link stage (``source``, ``source_id``,
        ``candidate_source``, ``candidate_id``, ``queue_position``, ``queue_size``,
        ``rank``, ``decision``).
    truth
        ``_truth/identities.parquet``: person_id, source, source_id.
    error_rate
        Probability that a decision is the wrong one.
    share
        Share of the queue's identities decided, from the top.
    seed
        Seed of the errors: the same file, truth and seed give the same decisions.

    Returns
    -------
    pd.DataFrame
        A copy of ``review`` with ``decision`` and ``reviewer`` filled in.
    """
    if not 0.0 <= error_rate <= 1.0 or not 0.0 <= share <= 1.0:
        raise ValueError(f"error_rate and share must be in [0, 1], got {error_rate}, {share}")
    person = truth.drop_duplicates(["source", "source_id"]).set_index(["source", "source_id"])["person_id"]

    def person_of(source: str, source_id: str) -> np.ndarray:
        keys = pd.MultiIndex.from_arrays([review[source].astype("str"), review[source_id].astype("str")])
        return person.reindex(keys).to_numpy()

    left, right = person_of("source", "source_id"), person_of("candidate_source", "candidate_id")
    same = pd.notna(left) & pd.notna(right) & (left == right)
    # Errors keyed by the pair's place in the queue: reproducible, independent per pair.
    position = pd.to_numeric(review["queue_position"]).to_numpy(dtype=np.int64)
    rank = pd.to_numeric(review["rank"]).to_numpy(dtype=np.int64)
    wrong = stable_uniform(draw_key(np.random.default_rng(seed)), position * 64 + rank, _S_ERROR) < error_rate
    says_match = same ^ wrong

    out = review.copy()
    frame = pd.DataFrame(
        {"id": out["source"].astype("str") + ":" + out["source_id"].astype("str"), "rank": rank}
    )
    frame["match"] = says_match
    first_match = frame[frame["match"]].sort_values("rank", kind="stable").drop_duplicates("id")
    keep_match = frame.index.isin(first_match.index)
    decision = np.where(keep_match, "match", "no_match")
    size = int(pd.to_numeric(review["queue_size"]).max()) if len(review) else 0
    decided = position <= np.ceil(share * size)
    out["decision"] = np.where(decided, decision, "")
    out["reviewer"] = np.where(decided, "simulated", "")
    return out
