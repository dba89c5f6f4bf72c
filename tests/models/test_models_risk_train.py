"""The train stage's declared person sample (models.risk_train.sample_persons)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.risk_train import sample_persons


def _ids(n_people: int, seed: int) -> pd.Series:
    """Every person on 1 to 5 as-of dates, rows shuffled."""
    rng = np.random.default_rng(seed)
    people = np.repeat([f"p{i:05d}" for i in range(n_people)], rng.integers(1, 6, n_people))
    return pd.Series(rng.permutation(people))


def test_sample_takes_whole_people_nested_and_seeded() -> None:
    ids = _ids(2000, 0)
    keep = sample_persons(ids, 500, seed=7)
    chosen = set(ids[keep])
    assert len(chosen) == 500
    assert not (ids[~keep].isin(chosen)).any()  # every row of a chosen person, none of the others
    bigger = set(ids[sample_persons(ids, 800, seed=7)])
    assert chosen < bigger  # nested: growing the sample keeps everyone already in it
    assert chosen != set(ids[sample_persons(ids, 500, seed=8)])  # the seed picks the people
    # The rows' order does not matter: the same people whatever order the rows come in.
    shuffled = ids.sample(frac=1.0, random_state=1).reset_index(drop=True)
    assert set(shuffled[sample_persons(shuffled, 500, seed=7)]) == chosen


def test_no_sample_when_there_are_not_more_people_than_asked() -> None:
    ids = _ids(300, 1)
    for n in (None, 300, 100_000):
        assert sample_persons(ids, n, seed=7).all()
    assert sample_persons(ids, 299, seed=7).sum() < len(ids)
