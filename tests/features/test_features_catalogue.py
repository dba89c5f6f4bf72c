"""The feature catalogue (features.catalogue)."""

from __future__ import annotations

from features.catalogue import (
    DEFAULT_WINDOWS,
    feature_names,
    feature_specs,
    monotone_constraints,
    specs_for_columns,
)


def test_names_are_unique_and_labelled():
    specs = feature_specs()
    names = [s.name for s in specs]
    assert len(names) == len(set(names))
    for s in specs:
        assert s.label and "{" not in s.label and "{" not in s.name
        assert s.kind in ("static", "dynamic")
        assert s.direction in (-1, 0, 1)
        assert s.dtype in ("int32", "Int32", "float64", "bool")


def test_protected_characteristics_are_not_features():
    names = feature_names()
    assert not {"sex", "ethnicity"} & set(names)
    assert not any(n.startswith(("sex_", "ethnicity_")) or n.endswith(("_sex", "_ethnicity")) for n in names)


def test_windows_expand_from_params():
    names = feature_names((6, 24))
    assert "n_proven_offences_6m" in names and "n_proven_offences_24m" in names
    assert "n_proven_offences_all" in names and "n_proven_offences_3m" not in names
    # Group counts keep their fixed 12-month window.
    assert "n_proven_theft_12m" in names
    assert "share_contacts_attended_all" not in names


def test_specs_for_columns_recovers_windows_and_skips_non_features():
    cols = ["pseudo_id", "as_of_date", *feature_names((6, 24)), "label"]
    specs = specs_for_columns(cols, history_months=60)
    assert set(specs) == set(feature_names((6, 24)))
    assert specs["n_proven_offences_6m"].label == "proven offences in the last 6 months"
    assert specs["n_proven_offences_all"].label == "proven offences in the last 5 years"
    assert specs_for_columns(cols, history_months=30)["career_years"].label.startswith(
        "years since first recorded offence in the last 30 months"
    )


def test_no_label_says_ever():
    # "Ever" would be false: an extract holds a limited number of years.
    assert not [s.name for s in feature_specs() if " ever" in s.label or "{" in s.label]


def test_monotone_constraints_follow_declared_directions():
    mono = monotone_constraints(feature_names(DEFAULT_WINDOWS))
    assert mono["n_proven_offences_12m"] == 1
    assert mono["days_since_last_offence"] == -1
    assert mono["share_contacts_attended_3m"] == -1
    assert mono["in_custody"] == 0
