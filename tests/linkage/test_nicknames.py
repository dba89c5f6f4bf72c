"""The embedded nickname table."""

from __future__ import annotations

from linkage.nicknames import FORMAL_NAMES, NICKNAMES


def test_short_form_points_to_its_formal_name() -> None:
    assert FORMAL_NAMES["bill"] == ("william",)
    assert FORMAL_NAMES["liam"] == ("william",)
    assert FORMAL_NAMES["peggy"] == ("margaret",)


def test_ambiguous_short_form_stands_for_every_formal_name() -> None:
    assert FORMAL_NAMES["chris"] == ("christian", "christine", "christopher")


def test_formal_name_stands_for_itself() -> None:
    assert "william" in FORMAL_NAMES["william"]
    assert all(formal in FORMAL_NAMES[formal] for formal in NICKNAMES)


def test_table_is_lower_case_letters_only() -> None:
    names = set(NICKNAMES) | {v for vs in NICKNAMES.values() for v in vs}
    assert all(name.isalpha() and name.islower() for name in names)
