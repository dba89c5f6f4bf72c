"""The contract documents in docs/contract/ are generated from the declaration and up to date."""

from __future__ import annotations

from pathlib import Path

from iom_contract import COHORT_LIST_COLUMNS, COHORT_LIST_VERSION, TABLES, render_contract_documents
from iom_contract._documents import column_type

DOCS = Path(__file__).resolve().parents[2] / "docs" / "contract"


def test_committed_documents_are_the_generated_ones() -> None:
    for name, text in render_contract_documents().items():
        on_disk = (DOCS / name).read_text(encoding="utf-8")
        assert on_disk == text, f"docs/contract/{name} is stale: run `python -m iom_contract docs/contract`"


def test_every_table_and_column_is_documented() -> None:
    text = render_contract_documents()["partner-records.md"]
    for table in TABLES:
        assert f"### {table.name}" in text
        for column in table.columns:
            assert column.name in text, (table.name, column.name)


def test_a_declaration_change_changes_the_document() -> None:
    """The types are rendered from the declaration, not copied: a category list shows as declared."""
    police = next(t for t in TABLES if t.name == "police_nominals")
    assert column_type(police.column("sex")) == "cat{M, F, X, U}"
    offences = next(t for t in TABLES if t.name == "police_offences")
    assert column_type(offences.column("gravity")) == "int 1..6"
    assert column_type(offences.column("outcome_date")) == "date?"


def test_cohort_list_document_lists_every_column_in_order() -> None:
    text = render_contract_documents()["cohort-list.md"]
    assert text.startswith(f"# Scored cohort list: output contract v{COHORT_LIST_VERSION}\n")
    positions = [
        text.index(f"| {c.name}") if f"| {c.name}" in text else text.index(f", {c.name} |")
        for c in COHORT_LIST_COLUMNS
    ]
    assert positions == sorted(positions)


def test_the_published_list_writes_the_declared_columns_in_order() -> None:
    from iom_panel import COHORT_COLUMNS

    declared = [c.name for c in COHORT_LIST_COLUMNS]
    assert list(COHORT_COLUMNS) == declared[: len(COHORT_COLUMNS)]
    assert set(declared[: len(COHORT_COLUMNS)]) >= {c.name for c in COHORT_LIST_COLUMNS if c.since == "1"}
