"""End to end on a small population with hand-placed known-answer people."""

from __future__ import annotations

import pandas as pd
from linkage_fixtures import DANIEL, KATHERINE, KEY, LUCY, REBECCA, WILLIAM

from iom_contract import TABLES
from linkage import LinkResult, pseudonymise

IDENTIFYING = {c.name for t in TABLES for c in t.columns if c.identifying} | {"source_row"}


def _person(result: LinkResult, source: str, source_id: str) -> str | None:
    index = result.person_index
    hit = index[(index["source"] == source) & (index["source_id"] == source_id)]
    return None if hit.empty else str(hit["pseudo_id"].item())


def _pseudo(pnc: str) -> str:
    return str(pseudonymise(pd.Series([f"pnc:{pnc}"]), KEY).item())


def test_nickname_links_to_the_nominal(linked: tuple[dict, LinkResult]) -> None:
    _, result = linked
    assert _person(result, "health", "HK0000001") == _pseudo(WILLIAM)
    row = result.person_index[result.person_index["source_id"] == "HK0000001"]
    assert row["method"].item() == "splink"
    assert row["match_probability"].item() >= 0.95


def test_day_month_swap_links_to_the_nominal(linked: tuple[dict, LinkResult]) -> None:
    _, result = linked
    assert _person(result, "housing", "CK0000001") == _pseudo(REBECCA)


def test_married_name_links_to_the_nominal(linked: tuple[dict, LinkResult]) -> None:
    _, result = linked
    assert _person(result, "housing", "CK0000002") == _pseudo(LUCY)


def test_relative_with_same_surname_and_postcode_is_not_linked(linked: tuple[dict, LinkResult]) -> None:
    _, result = linked
    assert _person(result, "health", "HK0000002") is None
    review = result.clerical_review
    assert "HK0000002" not in set(review["source_id"])


def test_null_pnc_rows_inherit_through_noms_id(linked: tuple[dict, LinkResult]) -> None:
    _, result = linked
    assert _person(result, "prison", "K1000AA") == _pseudo(DANIEL)
    index = result.person_index.set_index("source_id")
    assert index.loc["K1000AA", "method"] == "source_id"
    # Both of his custody stays, the one without a PNC ID too, are his.
    receptions = pd.to_datetime(["2021-01-10", "2023-02-11"])
    custody = result.tables["custody"]
    his = custody[custody["pseudo_id"] == _pseudo(DANIEL)]
    assert set(his["reception_date"]) == set(receptions)


def test_probation_without_pnc_links_on_details(linked: tuple[dict, LinkResult]) -> None:
    _, result = linked
    assert _person(result, "probation", "K000001") == _pseudo(KATHERINE)


def test_agency_only_people_keep_their_own_identity(linked: tuple[dict, LinkResult]) -> None:
    _, result = linked
    prisoner = _person(result, "prison", "K1000BB")
    assert prisoner == str(pseudonymise(pd.Series(["noms:K1000BB"]), KEY).item())
    supervised = _person(result, "probation", "K000002")
    assert supervised == str(pseudonymise(pd.Series(["crn:K000002"]), KEY).item())
    persons = result.persons.set_index("pseudo_id")
    assert persons.loc[prisoner, "sources_linked"] == "prison"
    assert persons.loc[prisoner, "sex"] == "U"  # prison records carry no personal details
    assert pd.isna(persons.loc[prisoner, "birth_month"])
    assert persons.loc[supervised, "sources_linked"] == "probation"
    assert persons.loc[supervised, "birth_month"] == pd.Timestamp("1969-01-01")


def test_persons_carry_police_attributes_and_source_flags(linked: tuple[dict, LinkResult]) -> None:
    _, result = linked
    persons = result.persons.set_index("pseudo_id")
    william = persons.loc[_pseudo(WILLIAM)]
    assert william["birth_month"] == pd.Timestamp("1980-03-01")
    assert william["sex"] == "M"
    assert william["ethnicity"] == "White"
    assert william["sources_linked"] == "police;health"
    assert bool(william["in_health"]) and not bool(william["in_housing"])
    assert persons.index.is_unique
    assert persons.loc[_pseudo(DANIEL), "sources_linked"] == "police;prison"


def test_no_identifying_column_in_any_linked_output(linked: tuple[dict, LinkResult]) -> None:
    tables, result = linked
    outputs = {"persons": result.persons, **result.tables}
    # No source identifier anywhere, in any column.
    secrets = set()
    for table, column in (("police_nominals", "pnc_id"), ("custody_episodes", "noms_id"),
                          ("probation_orders", "crn"), ("health_episodes", "health_id"),
                          ("housing_events", "council_id")):  # fmt: skip
        secrets |= set(tables[table][column].dropna())
    for name, frame in outputs.items():
        assert not IDENTIFYING & set(frame.columns), name
        assert frame["pseudo_id"].str.fullmatch(r"P[0-9a-f]{16}").all(), name
        for col in frame.select_dtypes(include=["object", "string", "str"]).columns:
            assert not secrets & set(frame[col].dropna().astype(str)), (name, col)


def test_every_row_of_a_linked_person_is_kept(linked: tuple[dict, LinkResult]) -> None:
    tables, result = linked
    assert len(result.tables["offences"]) == len(tables["police_offences"])
    assert len(result.tables["custody"]) == len(tables["custody_episodes"])
    assert len(result.tables["orders"]) == len(tables["probation_orders"])
    assert result.tables["custody"]["episode_id"].is_unique
    assert result.tables["orders"]["order_id"].is_unique


def test_unlinked_health_and_housing_are_dropped_and_counted(linked: tuple[dict, LinkResult]) -> None:
    tables, result = linked
    dropped = result.metrics["unlinked"]["health"]
    kept = len(result.tables["health"])
    assert dropped["rows_in"] == len(tables["health_episodes"])
    assert dropped["rows_dropped"] == dropped["rows_in"] - kept > 0
    assert set(result.tables["health"]["pseudo_id"]) <= set(result.persons["pseudo_id"])


def test_clerical_review_shows_both_sides(linked: tuple[dict, LinkResult]) -> None:
    _, result = linked
    review = result.clerical_review
    assert {
        "agency_forename",
        "candidate_forename",
        "agency_date_of_birth",
        "candidate_date_of_birth",
        "decision",
    } <= set(review)
    assert review["match_probability"].between(0.5, 1.0).all()
    # Nobody in review is linked automatically.
    pending = review.loc[review["source"].isin(["health", "housing"]), "source_id"]
    assert not set(pending) & set(result.person_index["source_id"])


def test_metrics_against_truth(linked: tuple[dict, LinkResult]) -> None:
    _, result = linked
    truth = result.metrics["truth"]
    for source in ("health", "housing"):
        assert truth[source]["precision"] >= 0.98
        assert truth[source]["recall"] >= 0.85
    assert truth["prison"]["precision"] == 1.0
    # Date-of-birth m was measured on probation records carrying the PNC ID.
    assert result.metrics["splink"]["known_matches_for_dob_m"] > 100
    histogram = result.metrics["splink"]["best_match_probability"]
    assert (
        sum(histogram["counts"]["health"]) + histogram["no_candidate_above_floor"]["health"]
        == (result.metrics["splink"]["identities"]["health"])
    )


def test_same_key_same_pseudo_ids_across_runs(linked: tuple[dict, LinkResult]) -> None:
    from linkage import LinkParams, link_extract

    tables, result = linked
    again = link_extract(tables, LinkParams(max_pairs=300_000), KEY, None)
    pd.testing.assert_frame_equal(again.person_index, result.person_index)
    assert "truth" not in again.metrics


def test_without_known_matches_em_estimates_dob(linked: tuple[dict, LinkResult]) -> None:
    from linkage import LinkParams, link_extract

    tables, _ = linked
    params = LinkParams(max_pairs=300_000, min_labelled_pairs=10**9)
    result = link_extract(tables, params, KEY, None)
    assert result.metrics["splink"]["known_matches_for_dob_m"] == 0
    assert _person(result, "health", "HK0000001") == _pseudo(WILLIAM)
    assert _person(result, "health", "HK0000002") is None
