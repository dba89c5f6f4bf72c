"""The human-readable contract documents, generated from the declaration.

``docs/contract/partner-records.md`` and ``docs/contract/cohort-list.md`` are rendered
from Jinja2 templates (``iom_contract/templates/``) that hold the published prose; every
table, column, type, category list, identifier format and label constant comes from the
declaration, so the documents cannot drift from what the validator enforces. Regenerate
with ``python -m iom_contract docs/contract`` (a test fails when they are stale).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined

from iom_contract._cohort_list import COHORT_LIST_COLUMNS, COHORT_LIST_VERSION
from iom_contract._declaration import (
    AGENCY_IDS,
    CONTRACT_VERSION,
    LABEL_PROOF_DAYS,
    LABEL_WINDOW_DAYS,
    NEEDS,
    PROVEN_OUTCOMES,
    TABLES,
    Column,
    Table,
)

DOCUMENTS = ("partner-records.md", "cohort-list.md")

# The prose the declaration does not carry: what a row of each table is, and the notes
# beside columns (keyed by table, then column).
TABLE_ROWS: dict[str, str] = {
    "police_nominals": "one row per person known to police",
    "police_offences": "one row per offence a nominal was recorded for",
    "custody_episodes": "one row per prison stay",
    "probation_orders": "one row per court order or licence supervised by probation",
    "probation_assessments": "one row per structured needs assessment",
    "probation_contacts": "one row per supervision appointment",
    "health_episodes": "one row per referral to a health service",
    "housing_events": "one row per housing event recorded by the council",
    "panel_decisions": "what earlier tiering panels decided",
}
NOTES: dict[str, dict[str, str]] = {
    "police_nominals": {
        "pnc_id": "unique",
        "sex": "U = not recorded",
        "ethnicity": "ONS 2021 broad groups; protected characteristic",
        "postcode_district": "e.g. `L36`, `ST1`",
    },
    "police_offences": {
        "offence_id": "unique",
        "pnc_id": "must exist in police_nominals",
        "offence_group": "Home Office crime groups",
        "gravity": "police gravity score, 6 most serious",
        "outcome_date": "null only when outcome is `pending`; not before offence_date",
    },
    "custody_episodes": {
        "release_date": "null = still in custody at extract_date",
        "expected_release_date": "set only while still in custody; may be after extract_date",
        "release_type": "null while in custody",
    },
    "probation_orders": {
        "crn": "one person can have several orders",
        "end_date": "planned or actual end; may be after extract_date",
        "breached": "order breached (returned to court or recalled)",
    },
    "probation_assessments": {
        need: "criminogenic need score: 0 none, 1 some, 2 significant; null = not assessed" for need in NEEDS
    },
    "probation_contacts": {},
    "health_episodes": {
        "discharge_date": "null = still open",
        "discharge_reason": "null while open",
    },
    "housing_events": {},
    "panel_decisions": {
        "pseudo_id": "as published on that panel's cohort list",
        "suggested_tier": "what the list suggested",
        "decided_tier": "what the panel decided",
        "reason": "free text or a reason code",
    },
}
# Columns a table shares with another, written once as "as <table>".
SAME_AS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "probation_orders": (
        ("forename", "surname", "date_of_birth", "sex", "ethnicity"),
        "police_nominals",
        "as probation recorded them; may disagree with police",
    ),
}
ID_FORMATS: dict[str, str] = {
    "police": "e.g. `09/123456K`",
    "prison": "e.g. `A1234BC`",
    "probation": "e.g. `X123456`",
}
CARRIES_PNC: dict[str, str] = {
    "police": "is it",
    "prison": "yes, `pnc_id` column, may be null",
    "probation": "yes, `pnc_id` column, may be null",
    "health": "no: names, date of birth, sex, postcode district only",
    "housing": "no: names, date of birth, postcode district only",
}
AFTER_TABLE: dict[str, str] = {
    "police_offences": "A **proven** offence is one with outcome "
    + " or ".join(f"`{o}`" for o in PROVEN_OUTCOMES)
    + ".",
}


def column_type(column: Column) -> str:
    """The contract's type notation: ``str``, ``date``, ``int 1..6``, ``cat{a, b}``; ``?`` = nullable."""
    q = "?" if column.nullable else ""
    if column.kind == "cat":
        return "cat{" + ", ".join(column.values or ()) + "}" + q
    if column.kind == "int" and column.min_value is not None and column.max_value is not None:
        return f"int{q} {column.min_value}..{column.max_value}"
    return f"{column.kind}{q}"


def _row(cells: Sequence[str]) -> str:
    *first, last = cells
    return "| " + " | ".join(first) + (f" | {last} |" if last else " | |")


def _grouped(rows: Iterable[tuple[str, str, str]]) -> list[str]:
    """Markdown rows, consecutive rows with the same type and note written as one."""
    merged: list[tuple[list[str], str, str]] = []
    for name, kind, note in rows:
        if merged and merged[-1][1:] == (kind, note):
            merged[-1][0].append(name)
        else:
            merged.append(([name], kind, note))
    return [_row([", ".join(names), kind, note]) for names, kind, note in merged]


def _table_section(table: Table) -> str:
    optional = " (optional)" if table.optional else ""
    lines = [
        f"### {table.name}{optional} — {TABLE_ROWS[table.name]}",
        "| column | type | notes |",
        "|---|---|---|",
    ]
    notes = NOTES[table.name]
    same_names, same_table, same_note = SAME_AS.get(table.name, ((), "", ""))
    rows: list[tuple[str, str, str]] = []
    for column in table.columns:
        if column.name in same_names:
            rows.append((column.name, f"as {same_table}", same_note))
        else:
            rows.append((column.name, column_type(column), notes.get(column.name, "")))
    lines.extend(_grouped(rows))
    if table.name in AFTER_TABLE:
        lines.extend(["", AFTER_TABLE[table.name]])
    return "\n".join(lines)


def _identifiers() -> str:
    by_column = {c.name: c for t in TABLES for c in t.columns}
    lines = ["| agency | identifier | format | carries the police PNC ID? |", "|---|---|---|---|"]
    for agency, where in AGENCY_IDS.items():
        pattern = by_column[where.column].pattern
        fmt = f"`{pattern}` {ID_FORMATS[agency]}" if pattern else "opaque string"
        lines.append(_row([agency, f"`{where.column}`", fmt, CARRIES_PNC[agency]]))
    return "\n".join(lines)


def _cohort_columns(since: Sequence[str]) -> str:
    lines = ["| column | type | meaning |", "|---|---|---|"]
    rows = [(c.name, c.type, c.meaning) for c in COHORT_LIST_COLUMNS if c.since in since]
    return "\n".join([*lines, *_grouped(rows)])


def render_contract_documents() -> dict[str, str]:
    """The contract documents by file name (``partner-records.md``, ``cohort-list.md``)."""
    env = Environment(
        loader=PackageLoader("iom_contract", "templates"),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # Markdown, not HTML
    )
    v1 = [c for c in COHORT_LIST_COLUMNS if c.since == "1"]
    return {
        "partner-records.md": env.get_template("partner-records.md.j2").render(
            version=CONTRACT_VERSION,
            version_number=CONTRACT_VERSION.rpartition("/")[2],
            identifiers=_identifiers(),
            tables="\n\n".join(_table_section(t) for t in TABLES),
            label_window_days=LABEL_WINDOW_DAYS,
            label_proof_days=LABEL_PROOF_DAYS,
        ),
        "cohort-list.md": env.get_template("cohort-list.md.j2").render(
            version=COHORT_LIST_VERSION,
            last_v1=v1[-1].name,
            columns_v1=_cohort_columns(["1"]),
            columns_added=_cohort_columns([COHORT_LIST_VERSION]),
        ),
    }


def write_contract_documents(folder: Path) -> list[Path]:
    """Write the contract documents into ``folder``; return their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render_contract_documents().items():
        path = folder / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
