"""An extract spanning several areas: more postcode districts, people per district bounded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from iom_config import ParamsError, parse_params
from simulator import SimulateParams, names, simulate_extract
from simulator.identity import IdentityNoise, _record_identity_with_flags, draw_true_identity

ONE_AREA = names.postcode_districts(names.DEFAULT_AREA)


def _truth(persons: pd.DataFrame, n_areas: int, seed: int = 1) -> pd.DataFrame:
    drawn = draw_true_identity(persons, np.random.default_rng(seed), n_areas=n_areas)
    return persons.merge(drawn, on="person_id")


def _persons(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return pd.DataFrame(
        {
            "person_id": np.arange(1, n + 1, dtype=np.int64),
            "sex": pd.array(rng.choice(["M", "F"], n), dtype="str"),
            "date_of_birth": (
                np.datetime64("1970-01-01") + rng.integers(0, 12000, n) * np.timedelta64(1, "D")
            ).astype("datetime64[ms]"),
        }
    )


def test_one_area_is_the_named_areas_districts_whatever_the_size() -> None:
    districts, p = names.postcode_districts(names.DEFAULT_AREA, 1)
    assert districts == ONE_AREA[0] and (p == ONE_AREA[1]).all()
    assert districts[0] == "ST1" and len(districts) == 21
    assert names.areas_for(20_000, 20_000) == 1
    assert names.areas_for(5_000_000, None) == 1  # None: one area at any size
    assert SimulateParams().n_areas == 1 and SimulateParams(nominals=20_000).n_areas == 1


def test_several_areas_give_each_its_own_districts_and_an_equal_share() -> None:
    districts, p = names.postcode_districts(names.DEFAULT_AREA, 50)
    assert len(districts) == len(set(districts)) == 50 * 21
    assert districts[:21] == ONE_AREA[0]  # the named area first, unchanged
    assert districts[21:23] == ("AA1", "AA2") and districts[-1] == "BW21"  # AA..AZ, then BA..BW
    assert p.sum() == pytest.approx(1.0)
    per_area = p.reshape(50, 21)
    assert np.allclose(per_area.sum(axis=1), 1 / 50)
    assert np.allclose(per_area / per_area.sum(axis=1, keepdims=True), ONE_AREA[1])  # same pattern in each
    assert SimulateParams(nominals=1_000_000).n_areas == 50
    assert SimulateParams(nominals=200_001, nominals_per_area=20_000).n_areas == 11
    with pytest.raises(ValueError, match="n_areas"):
        names.postcode_districts(names.DEFAULT_AREA, names.MAX_AREAS + 1)


def test_too_many_areas_is_refused_with_a_message() -> None:
    with pytest.raises(ParamsError, match="at most"):
        parse_params({"nominals": 100_000_000, "nominals_per_area": 1_000}, SimulateParams, where="simulate")


@pytest.mark.parametrize("n", [20_000, 100_000])
def test_people_per_district_stay_those_of_one_area_as_the_extract_grows(n: int) -> None:
    persons = _persons(n)
    areas = names.areas_for(n, 20_000)
    truth = draw_true_identity(persons, np.random.default_rng(1), n_areas=areas)
    per_district = truth["postcode_district"].value_counts()
    assert len(per_district) == 21 * areas  # every district of every area is lived in
    # The largest district holds what ST1 holds in one area of 20,000 (11% of it), not 5x that.
    assert per_district.max() < 0.13 * 20_000
    one = draw_true_identity(persons, np.random.default_rng(1), n_areas=1)["postcode_district"].value_counts()
    assert one.max() > 0.1 * n  # one area at any size: its districts grow with the extract


def test_a_move_stays_in_the_persons_own_area() -> None:
    persons = _persons(20_000)
    truth = _truth(persons, 5)
    rec, flags = _record_identity_with_flags(
        truth, "health", IdentityNoise(postcode_moved=0.5), np.random.default_rng(2), n_areas=5
    )
    moved = flags["postcode_moved"] & rec["postcode_district"].notna()
    assert moved.sum() > 5_000
    before = truth.loc[moved, "postcode_district"]
    after = rec.loc[moved, "postcode_district"]
    assert (before != after).all()
    letters = r"^([A-Z]+)"
    assert (before.str.extract(letters)[0] == after.str.extract(letters)[0]).all()
    assert after.str.extract(letters)[0].nunique() == 5


def test_one_area_draws_are_unchanged_by_the_geography_argument() -> None:
    persons = _persons(5_000)
    noise = IdentityNoise(postcode_moved=0.3)
    base = persons.merge(draw_true_identity(persons, np.random.default_rng(4)), on="person_id")
    same = _truth(persons, 1, seed=4)
    pd.testing.assert_frame_equal(base, same)
    rec, _ = _record_identity_with_flags(base, "housing", noise, np.random.default_rng(5))
    rec1, _ = _record_identity_with_flags(base, "housing", noise, np.random.default_rng(5), n_areas=1)
    pd.testing.assert_frame_equal(rec, rec1)


def test_a_one_area_extract_is_byte_identical_to_one_simulated_without_the_setting(tmp_path: Path) -> None:
    # nominals_per_area (default 20,000) gives one area here: the files, world.json
    # included, are those of nominals_per_area: null (one area at any size), as before it existed.
    simulate_extract(SimulateParams(nominals=600, seed=5), tmp_path / "a", show_progress=False)
    simulate_extract(
        SimulateParams(nominals=600, seed=5, nominals_per_area=None), tmp_path / "b", show_progress=False
    )
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*") if p.is_file())
    for f in files:
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f
    assert "nominals_per_area" not in (tmp_path / "a" / "_truth" / "world.json").read_text()
