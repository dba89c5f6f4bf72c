"""Tests for simulator.ids: formats, uniqueness, check characters, determinism."""

from __future__ import annotations

import re

import numpy as np
import pytest

from iom_contract import CRN_PATTERN, NOMS_PATTERN, PNC_PATTERN
from simulator import ids

N = 50_000


@pytest.mark.parametrize(
    ("pnc", "year2", "serial", "check"),
    [
        # PNC IDs quoted in the Ministry of Justice's person-record service tests.
        ("2003/0062845E", 3, 62845, "E"),
        ("2003/0011985X", 3, 11985, "X"),
        ("1979/0026538X", 79, 26538, "X"),
        ("2001/0171310W", 1, 171310, "W"),
        ("1981/0154257C", 81, 154257, "C"),
        ("2012/394773H", 12, 394773, "H"),
    ],
)
def test_pnc_check_letter_matches_real_ids(pnc, year2, serial, check):
    assert ids.pnc_check_letter([year2], [serial]).tolist() == [check], pnc


def test_pnc_ids_format_year_check_and_uniqueness():
    rng = np.random.default_rng(0)
    years = rng.integers(1975, 2025, size=N)
    out = ids.draw_pnc_ids(years, rng)
    assert len(out) == N
    assert len(set(out)) == N
    pattern = re.compile(PNC_PATTERN)
    assert all(pattern.match(v) for v in out)
    yy = np.array([int(v[:2]) for v in out])
    assert (yy == years % 100).all()
    serial = np.array([int(v[3:-1]) for v in out])
    assert (np.array([v[-1] for v in out]) == ids.pnc_check_letter(yy, serial)).all()


def test_pnc_serials_can_repeat_across_years_but_ids_stay_unique():
    rng = np.random.default_rng(1)
    # 3,000 ids in each of two years from the million-serial space: repeats across years
    # are allowed, whole ids are not.
    out = ids.draw_pnc_ids(np.repeat([2001, 2002], 3000), rng)
    assert len(set(out)) == 6000


@pytest.mark.parametrize(
    ("draw", "pattern"),
    [(ids.draw_noms_ids, NOMS_PATTERN), (ids.draw_crns, CRN_PATTERN)],
)
def test_prison_and_probation_ids(draw, pattern):
    out = draw(N, np.random.default_rng(2))
    assert len(set(out)) == N
    rx = re.compile(pattern)
    assert all(rx.match(v) for v in out)


def test_health_and_council_ids_are_unique_and_differ_in_style():
    rng = np.random.default_rng(3)
    health = ids.draw_health_ids(N, rng)
    council = ids.draw_council_ids(N, rng)
    assert len(set(health)) == N and len(set(council)) == N
    assert all(re.fullmatch(r"RJE\d{8}", v) for v in health)
    assert all(re.fullmatch(r"HSG-[0-9A-Z]{6}", v) for v in council)
    # Opaque ids must not look like PNC, NOMIS or CRN ids.
    for p in (PNC_PATTERN, NOMS_PATTERN, CRN_PATTERN):
        assert not any(re.match(p, v) for v in (*health[:1000], *council[:1000]))


def test_offence_ids_unique():
    out = ids.draw_offence_ids(N, np.random.default_rng(4))
    assert len(set(out)) == N


def test_ids_are_deterministic_given_the_generator():
    a = ids.draw_pnc_ids([2010, 2011, 2010], np.random.default_rng(7))
    b = ids.draw_pnc_ids([2010, 2011, 2010], np.random.default_rng(7))
    assert a.tolist() == b.tolist()
    assert (
        ids.draw_crns(5, np.random.default_rng(7)).tolist()
        == ids.draw_crns(5, np.random.default_rng(7)).tolist()
    )


def test_identifier_spaces_and_keys_are_checked():
    with pytest.raises(ValueError, match="permuted"):
        ids.permute([5], 5, 1)
    with pytest.raises(ValueError, match="unique"):
        ids.draw_crns([3, 3], np.random.default_rng(0))
    with pytest.raises(ValueError):
        ids.draw_crns(np.array([3_000_000]), np.random.default_rng(0))


def test_permute_is_a_bijection():
    for space in (1, 7, 1000, 12_345):
        out = ids.permute(np.arange(space), space, key=99)
        assert sorted(out.tolist()) == list(range(space))
    # Not the identity, and the key matters.
    a, b = ids.permute(np.arange(100), 1000, 1), ids.permute(np.arange(100), 1000, 2)
    assert (a != np.arange(100)).mean() > 0.9 and (a != b).mean() > 0.9


def test_keyed_ids_do_not_depend_on_who_else_is_drawn():
    everyone = np.arange(0, 40_000, 3)
    some = everyone[::7]
    for draw in (ids.draw_noms_ids, ids.draw_crns, ids.draw_health_ids, ids.draw_council_ids):
        full = dict(zip(everyone, draw(everyone, np.random.default_rng(5)), strict=True))
        part = draw(some, np.random.default_rng(5))
        assert part.tolist() == [full[k] for k in some], draw.__name__
    years = 2000 + everyone % 20
    full_pnc = dict(
        zip(everyone, ids.draw_pnc_ids(years, np.random.default_rng(5), keys=everyone), strict=True)
    )
    part_pnc = ids.draw_pnc_ids(2000 + some % 20, np.random.default_rng(5), keys=some)
    assert part_pnc.tolist() == [full_pnc[k] for k in some]


def test_stable_uniform_looks_uniform_and_depends_on_every_salt():
    u = ids.stable_uniform(3, np.arange(100_000), 1, 2)
    assert u.min() >= 0 and u.max() < 1
    assert abs(u.mean() - 0.5) < 0.005
    assert np.histogram(u, bins=10, range=(0, 1))[0].min() > 9_500
    assert (u != ids.stable_uniform(3, np.arange(100_000), 1, 3)).all()
    assert (u != ids.stable_uniform(4, np.arange(100_000), 1, 2)).all()


def test_offence_ids_from_row_keys():
    keys = ids.combine_keys(
        np.repeat(np.arange(1000), 3), np.tile([19000, 19000, 19001], 1000), np.tile([0, 1, 0], 1000)
    )
    out = ids.draw_offence_ids(keys, np.random.default_rng(1))
    assert len(set(out)) == 3000
    assert all(re.fullmatch(r"CR[0-9A-F]{16}", v) for v in out)


def test_empty_draws():
    rng = np.random.default_rng(0)
    assert len(ids.draw_pnc_ids([], rng)) == 0
    assert len(ids.draw_noms_ids(0, rng)) == 0
    assert len(ids.draw_council_ids(0, rng)) == 0
