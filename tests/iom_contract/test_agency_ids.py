"""The agency identifier map is declared once, in the contract, and fits its tables."""

from __future__ import annotations

from iom_contract import AGENCIES, AGENCY_IDS, AGENCY_OF_ID, TABLES_BY_NAME


def test_each_agency_names_people_by_an_identifying_column_of_its_table() -> None:
    assert AGENCIES == ("police", "prison", "probation", "health", "housing")
    for agency, where in AGENCY_IDS.items():
        column = TABLES_BY_NAME[where.table].column(where.column)
        assert column.identifying, (agency, where)
        assert AGENCY_OF_ID[where.column] == agency


def test_the_users_of_the_map_take_it_from_the_contract() -> None:
    from linkage import SOURCES
    from pipelines.publish import ID_COLUMNS

    assert SOURCES == AGENCIES
    assert {agency: where.column for agency, where in AGENCY_IDS.items()} == ID_COLUMNS
