"""The default prediction blocking: blocks that do not grow with the area."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from linkage import LinkParams
from linkage.model import TrainingPass, _count_blocked_pairs, training_plan
from linkage.standardise import linkage_keys

DOB_KEYS = {"dob", "dob_unordered", "birth_year", "birth_year_month"}
NAME_KEYS = {"forename_std", "forename_key", "forename_sdx", "surname_std", "surname_sdx"}


def _people(n: int, prefix: str, seed: int) -> pd.DataFrame:
    """``n`` people, all born on one day, in one district, with distinct made-up names."""
    rng = np.random.default_rng(seed)
    letters = np.array(list("bcdfghjklmnprstvwz"))
    forenames = ["".join(w) for w in rng.choice(letters, size=(n, 6))]
    surnames = ["".join(w) for w in rng.choice(letters, size=(n, 7))]
    return pd.DataFrame(
        {
            "unique_id": [f"{prefix}:{i}" for i in range(n)],
            "forename": pd.array(forenames, dtype="string"),
            "surname": pd.array(surnames, dtype="string"),
            "date_of_birth": pd.to_datetime(["1990-03-07"] * n).astype("datetime64[ms]"),
            "sex": pd.array(["M"] * n, dtype="string"),
            "postcode_district": pd.array([None] * n, dtype="string"),
        }
    )


def _blocked(left: pd.DataFrame, right: pd.DataFrame) -> int:
    from splink import DuckDBAPI

    db_api = DuckDBAPI(connection=duckdb.connect(":memory:", config={"threads": 1}))
    tables = [
        db_api.register(
            pa.Table.from_pandas(linkage_keys(frame), preserve_index=False), dataset_display_name=side
        )
        for frame, side in ((left, "agency"), (right, "police"))
    ]
    return _count_blocked_pairs(tables, LinkParams())


def test_every_default_rule_pairs_a_date_or_name_key_with_another_key() -> None:
    for rule in LinkParams().prediction_blocks:
        assert len(rule) >= 2, rule
        if set(rule) & DOB_KEYS:
            assert set(rule) - DOB_KEYS, f"{rule} blocks on the date of birth alone"
        else:
            # No date in the rule: a name pair narrowed by the district.
            assert len(set(rule) & NAME_KEYS) >= 1 and "postcode_district" in rule, rule


@pytest.mark.parametrize("n", [200, 400])
def test_people_born_on_one_day_with_different_names_are_not_all_paired(n: int) -> None:
    left, right = _people(n, "health", seed=1), _people(n, "police", seed=2)
    # A same-DOB block would pair all n * n of them; sound-alike names pair a few.
    pairs = _blocked(left, right)
    assert pairs < n * n / 20


def test_a_true_match_with_the_same_dob_and_one_shared_name_is_blocked() -> None:
    left, right = _people(50, "health", seed=1), _people(50, "police", seed=2)
    # Same person: surname changed, forename and DOB kept.
    right.loc[0, "forename"] = left.loc[0, "forename"]
    assert _blocked(left.iloc[[0]], right.iloc[[0]]) == 1
    # Only the DOB shared: not a candidate (names and district tell nothing in common).
    assert _blocked(left.iloc[[1]], right.iloc[[1]]) == 0


def _training(
    left: pd.DataFrame, right: pd.DataFrame, cap: int
) -> tuple[TrainingPass, pd.DataFrame, pd.DataFrame]:
    passes, train_left, train_right = training_plan(
        linkage_keys(left), linkage_keys(right), [("dob",)], LinkParams(max_training_pairs=cap)
    )
    (training,) = passes
    return training, train_left, train_right


def _splink_pairs(left: pd.DataFrame, right: pd.DataFrame, rule: tuple[str, ...]) -> int:
    from splink import DuckDBAPI, block_on
    from splink.blocking_analysis import count_comparisons_from_blocking_rules

    db_api = DuckDBAPI(connection=duckdb.connect(":memory:", config={"threads": 1}))
    tables = [
        db_api.register(pa.Table.from_pandas(frame, preserve_index=False), dataset_display_name=side)
        for frame, side in ((left, "agency"), (right, "police"))
    ]
    counts = count_comparisons_from_blocking_rules(
        tables, blocking_rules=[block_on(*rule)], link_type="link_only", record_sample_proportion=1.0
    )
    return int(counts[-1]["cumulative_comparison_count"])


@pytest.mark.parametrize("n", [1_000, 2_000])
def test_training_pairs_stay_bounded_however_many_people_share_a_dob(n: int) -> None:
    # Everyone born on one day: the same-DOB block pairs all n * 2n of them.
    training, train_left, train_right = _training(
        _people(n, "health", 1), _people(2 * n, "police", 2), 40_000
    )
    assert training.blocked_pairs == 2 * n * n
    assert training.one_in == -(-2 * n * n // 40_000)
    assert 0.8 * 40_000 < training.pairs <= 1.2 * 40_000
    # What Splink blocks on the rule plus the sampling column is what the plan counted.
    assert training.bucket is not None
    assert _splink_pairs(train_left, train_right, (*training.rule, training.bucket)) == training.pairs
    assert _splink_pairs(train_left, train_right, training.rule) == training.blocked_pairs


def test_a_block_under_the_cap_is_trained_on_every_pair() -> None:
    training, train_left, _ = _training(_people(100, "health", 1), _people(100, "police", 2), 40_000)
    assert (training.blocked_pairs, training.one_in, training.pairs) == (10_000, 1, 10_000)
    assert training.bucket is None and not any(c.startswith("em_sample") for c in train_left.columns)


def test_the_training_sample_depends_on_the_ids_and_seed_only() -> None:
    left, right = _people(1_000, "health", 1), _people(1_000, "police", 2)
    training, train_left, _ = _training(left, right, 40_000)
    shuffled, shuffled_left, _ = _training(left.sample(frac=1.0, random_state=7), right, 40_000)
    bucket = training.bucket
    assert shuffled == training and bucket is not None
    by_id = train_left.set_index("unique_id")[bucket]
    pd.testing.assert_series_equal(shuffled_left.set_index("unique_id")[bucket].loc[by_id.index], by_id)
    # Buckets spread evenly: each holds about 1 / one_in of the records.
    share = by_id.value_counts(normalize=True)
    assert len(share) == training.one_in and share.max() < 2.0 / training.one_in
