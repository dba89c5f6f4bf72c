"""Hand-built extracts in the contract shape: typed frames written as CSV or Parquet."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from iom_contract import CONTRACT_VERSION, TABLES_BY_NAME

EXTRACT_DATE = "2026-10-31"


def _dates(*values: str | None) -> pd.Series:
    return pd.Series(list(values), dtype="datetime64[ms]")


def valid_tables() -> dict[str, pd.DataFrame]:
    """A small extract that passes every rule: typed frames, a few rows per table."""
    nominals = pd.DataFrame(
        {
            "pnc_id": ["09/123456K", "10/1A", "98/7654321Z"],
            "forename": ["Amy", "Ben", "Cal"],
            "surname": ["Smith", "Jones", "Khan"],
            "date_of_birth": _dates("1990-01-01", "2016-10-31", "1950-06-15"),
            "sex": ["F", "M", "U"],
            "ethnicity": ["White", "Black", "Not stated"],
            "postcode_district": ["L36", None, "ST1"],
        }
    )
    offences = pd.DataFrame(
        {
            "offence_id": ["O1", "O2", "O3", "O4"],
            "pnc_id": ["09/123456K", "09/123456K", "10/1A", "98/7654321Z"],
            "offence_date": _dates("2020-01-01", "2026-10-31", "2024-05-05", "2025-01-01"),
            "offence_group": ["burglary", "theft", "violence_with_injury", "drugs"],
            "domestic_abuse": [False, True, False, False],
            "gravity": pd.Series([3, 1, 6, 2], dtype="Int64"),
            "outcome": ["convicted", "pending", "caution", "no_further_action"],
            "outcome_date": _dates("2020-02-01", None, "2024-05-05", "2025-03-01"),
        }
    )
    custody = pd.DataFrame(
        {
            "noms_id": ["A1234BC", "B9999ZZ", "C0001AA"],
            "pnc_id": ["09/123456K", None, "10/1A"],
            "reception_date": _dates("2021-01-01", "2026-01-01", "2025-06-01"),
            "release_date": _dates("2021-06-01", None, "2025-06-01"),
            "expected_release_date": _dates(None, "2027-03-01", None),
            "release_type": ["licence", None, "remand"],
        }
    )
    orders = pd.DataFrame(
        {
            "crn": ["X123456", "X123456", "Y000001"],
            "pnc_id": ["09/123456K", "09/123456K", None],
            "forename": ["Amy", "Amy", "Dee"],
            "surname": ["Smith", "Smith", "Ross"],
            "date_of_birth": _dates("1990-01-01", "1990-01-01", "1985-12-31"),
            "sex": ["F", "F", "X"],
            "ethnicity": ["White", "White", "Mixed"],
            "order_type": ["community_order", "licence", "suspended_sentence"],
            "start_date": _dates("2021-06-01", "2025-01-01", "2026-10-31"),
            "end_date": _dates("2022-06-01", "2027-01-01", "2028-10-31"),
            "breached": [True, False, False],
        }
    )
    needs = {
        "accommodation": [0, 2],
        "education_training_employment": [1, None],
        "finance": [2, 0],
        "relationships": [None, None],
        "lifestyle": [1, 1],
        "drugs": [2, 2],
        "alcohol": [0, 0],
        "emotional_wellbeing": [1, 0],
        "thinking_behaviour": [2, 1],
        "attitudes": [0, 2],
    }
    assessments = pd.DataFrame(
        {
            "crn": ["X123456", "Y000001"],
            "assessment_date": _dates("2021-07-01", "2026-10-31"),
            **{k: pd.Series(v, dtype="Int64") for k, v in needs.items()},
        }
    )
    contacts = pd.DataFrame(
        {
            "crn": ["X123456", "X123456", "Y000001"],
            "contact_date": _dates("2021-07-01", "2021-07-08", "2026-10-30"),
            "outcome": ["attended", "unacceptable_absence", "acceptable_absence"],
        }
    )
    health = pd.DataFrame(
        {
            "health_id": ["H-001", "H-002", "H-003"],
            "forename": ["Amy", None, "Ben"],
            "surname": ["Smyth", None, "Jones"],
            "date_of_birth": _dates("1990-01-01", None, "2016-10-31"),
            "sex": ["F", None, "M"],
            "postcode_district": ["L36", None, None],
            "service": ["drug_treatment", "mental_health", "liaison_diversion"],
            "referral_date": _dates("2022-01-01", "2023-03-03", "2026-10-31"),
            "discharge_date": _dates("2022-04-01", None, None),
            "discharge_reason": ["completed", None, None],
        }
    )
    housing = pd.DataFrame(
        {
            "council_id": ["C1", "C2"],
            "forename": ["Amy", None],
            "surname": ["Smith", None],
            "date_of_birth": _dates("1990-01-01", None),
            "postcode_district": [None, "L36"],
            "event_date": _dates("2023-01-01", "2024-02-02"),
            "event_type": ["homeless_application", "rough_sleeping"],
        }
    )
    panel = pd.DataFrame(
        {
            "pseudo_id": ["P-1", "P-2"],
            "panel_date": _dates("2026-09-30", "2026-09-30"),
            "suggested_tier": ["red", "green"],
            "decided_tier": ["amber", "not_adopted"],
            "reason": ["capacity", None],
        }
    )
    frames = {
        "police_nominals": nominals,
        "police_offences": offences,
        "custody_episodes": custody,
        "probation_orders": orders,
        "probation_assessments": assessments,
        "probation_contacts": contacts,
        "health_episodes": health,
        "housing_events": housing,
        "panel_decisions": panel,
    }
    for name, frame in frames.items():
        assert tuple(frame.columns) == TABLES_BY_NAME[name].column_names, name
    return frames


def to_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Render a typed frame as the text a CSV carries (None for an empty cell)."""
    out = {}
    for name, col in frame.items():
        if pd.api.types.is_datetime64_any_dtype(col):
            text = col.dt.strftime("%Y-%m-%d")
        elif pd.api.types.is_bool_dtype(col):
            text = col.map({True: "true", False: "false"})
        else:
            text = col.astype("string")
        out[name] = text.astype(object).where(col.notna(), None)
    return pd.DataFrame(out, index=frame.index)


def write_extract(
    root: Path,
    tables: Mapping[str, pd.DataFrame] | None = None,
    *,
    fmt: str | Mapping[str, str] = "csv",
    manifest: Mapping[str, Any] | None = None,
    parquet_as_text: bool = False,
) -> Path:
    """Write ``tables`` (default: ``valid_tables()``) as an extract with a correct manifest.

    Typed frames are rendered as text for CSV (and for Parquet with
    ``parquet_as_text``); frames already holding text are written as they are.
    ``manifest`` entries override the computed manifest's top-level keys.
    """
    root.mkdir(parents=True, exist_ok=True)
    tables = valid_tables() if tables is None else tables
    for name, frame in tables.items():
        kind = fmt if isinstance(fmt, str) else fmt.get(name, "csv")
        if kind == "csv":
            to_text(frame).to_csv(root / f"{name}.csv", index=False, lineterminator="\n")
        else:
            (to_text(frame) if parquet_as_text else frame).to_parquet(root / f"{name}.parquet", index=False)
    content: dict[str, Any] = {
        "contract": CONTRACT_VERSION,
        "area": "Test Borough",
        "extract_date": EXTRACT_DATE,
        "row_counts": {name: len(frame) for name, frame in tables.items()},
    }
    content.update(manifest or {})
    (root / "manifest.json").write_text(json.dumps(content), encoding="utf-8")
    return root


# --- a hand-made dirty extract with the known answer ------------------------------

# (table, base row of valid_tables() to copy, overrides): each appended row breaks
# the rule(s) in EXPECTED_REJECTS (or none, where the contract allows the value).
BAD_ROWS: list[tuple[str, int, dict[str, str | None]]] = [
    # police_nominals: valid rows 1-3
    ("police_nominals", 0, {"forename": "Amy2"}),  # 4 repeats pnc_id of row 1
    ("police_nominals", 0, {"pnc_id": "bad-id"}),  # 5
    ("police_nominals", 0, {"pnc_id": "12/3C", "sex": "Q"}),  # 6
    ("police_nominals", 0, {"pnc_id": "13/4D", "date_of_birth": "2016-11-01"}),  # 7 aged 9
    ("police_nominals", 0, {"pnc_id": "14/5E", "date_of_birth": "1899-12-31"}),  # 8
    ("police_nominals", 0, {"pnc_id": "15/6F", "date_of_birth": "31/12/1990"}),  # 9
    ("police_nominals", 0, {"pnc_id": "16/7G", "forename": None}),  # 10
    ("police_nominals", 0, {"pnc_id": "17/8H", "ethnicity": "white", "date_of_birth": "2020-01-01"}),  # 11
    # police_offences: valid rows 1-4
    ("police_offences", 0, {"offence_id": "O5", "offence_date": "2026-11-01", "outcome": "pending",
                            "outcome_date": None}),  # 5
    ("police_offences", 0, {"offence_id": "O6", "outcome_date": "2019-12-31"}),  # 6
    ("police_offences", 0, {"offence_id": "O7", "outcome": "pending"}),  # 7
    ("police_offences", 0, {"offence_id": "O8", "outcome_date": None}),  # 8
    ("police_offences", 0, {"offence_id": "O9", "gravity": "7"}),  # 9
    ("police_offences", 0, {"offence_id": "O10", "gravity": "2.5"}),  # 10
    ("police_offences", 0, {"offence_id": "O11", "domestic_abuse": "yes"}),  # 11
    ("police_offences", 0, {"offence_id": "O12", "domestic_abuse": "TRUE"}),  # 12 accepted
    ("police_offences", 0, {}),  # 13 repeats offence_id O1
    ("police_offences", 0, {"offence_id": "O14", "pnc_id": "55/5Z"}),  # 14
    ("police_offences", 0, {"offence_id": "O15", "pnc_id": "12/3C"}),  # 15
    ("police_offences", 0, {"offence_id": "O16", "offence_group": "arson"}),  # 16
    ("police_offences", 0, {"offence_id": "O17", "offence_date": "2021-02-30"}),  # 17
    ("police_offences", 0, {"offence_id": "O18", "pnc_id": "bad-id"}),  # 18
    ("police_offences", 0, {"offence_id": "O19"}),  # 19 accepted: first 09/123456K kept
    # custody_episodes: valid rows 1-3
    ("custody_episodes", 0, {"release_date": None}),  # 4
    ("custody_episodes", 0, {"release_type": None}),  # 5
    ("custody_episodes", 0, {"expected_release_date": "2021-07-01"}),  # 6
    ("custody_episodes", 0, {"release_date": None, "release_type": None,
                             "expected_release_date": "2030-01-01"}),  # 7 accepted: planned
    ("custody_episodes", 0, {"reception_date": "2021-07-01"}),  # 8
    ("custody_episodes", 0, {"noms_id": "a1234bc"}),  # 9
    ("custody_episodes", 0, {"pnc_id": "55/5Z"}),  # 10 accepted: no foreign key
    # probation_orders: valid rows 1-3
    ("probation_orders", 0, {"crn": "Z000009", "breached": "maybe"}),  # 4
    ("probation_orders", 0, {"order_type": "fine"}),  # 5 X123456 also has accepted rows
    ("probation_orders", 0, {"crn": "W000001", "start_date": "2027-01-01", "end_date": "2028-01-01"}),  # 6
    ("probation_orders", 0, {"crn": "V000001", "end_date": "2030-01-01"}),  # 7 accepted: planned
    ("probation_orders", 0, {"crn": "U000001", "end_date": "2021-01-01"}),  # 8
    # probation_assessments: valid rows 1-2
    ("probation_assessments", 0, {"drugs": "3"}),  # 3
    ("probation_assessments", 0, {"attitudes": "-1"}),  # 4
    ("probation_assessments", 0, {"crn": "Q999999"}),  # 5
    ("probation_assessments", 0, {"crn": "Z000009"}),  # 6
    ("probation_assessments", 0, dict.fromkeys(
        ["accommodation", "education_training_employment", "finance", "relationships", "lifestyle",
         "drugs", "alcohol", "emotional_wellbeing", "thinking_behaviour", "attitudes"])),  # 7 accepted
    # probation_contacts: valid rows 1-3
    ("probation_contacts", 0, {"crn": "Z000009"}),  # 4
    ("probation_contacts", 0, {"outcome": "missed"}),  # 5
    ("probation_contacts", 0, {"contact_date": None}),  # 6
    ("probation_contacts", 0, {"contact_date": "2021-07-09"}),  # 7 accepted
    ("probation_contacts", 0, {"crn": "X12345"}),  # 8
    # health_episodes: valid rows 1-3
    ("health_episodes", 0, {"discharge_reason": None}),  # 4
    ("health_episodes", 0, {"discharge_date": "2021-12-31"}),  # 5
    ("health_episodes", 0, {"health_id": None}),  # 6
    ("health_episodes", 0, {"date_of_birth": "2020-05-05"}),  # 7
    ("health_episodes", 0, {"discharge_date": None}),  # 8
    # housing_events: valid rows 1-2
    ("housing_events", 0, {"event_type": "eviction"}),  # 3
    ("housing_events", 0, {"event_date": "1850-01-01"}),  # 4
    ("housing_events", 0, {"forename": None, "surname": None, "date_of_birth": None}),  # 5 accepted
    # panel_decisions: valid rows 1-2
    ("panel_decisions", 0, {"decided_tier": "purple"}),  # 3
    ("panel_decisions", 0, {"panel_date": "2027-01-01"}),  # 4
]  # fmt: skip

# (table, source_row, first rule, all rules)
EXPECTED_REJECTS: list[tuple[str, int, str, str]] = [
    ("police_nominals", 4, "unique", "unique"),
    ("police_nominals", 5, "pattern", "pattern"),
    ("police_nominals", 6, "in_set", "in_set"),
    ("police_nominals", 7, "date_range", "date_range"),
    ("police_nominals", 8, "date_range", "date_range"),
    ("police_nominals", 9, "type", "type"),
    ("police_nominals", 10, "not_null", "not_null"),
    ("police_nominals", 11, "in_set", "in_set;date_range"),
    ("police_offences", 5, "future_date", "future_date"),
    ("police_offences", 6, "date_order", "date_order"),
    ("police_offences", 7, "null_when", "null_when"),
    ("police_offences", 8, "null_when", "null_when"),
    ("police_offences", 9, "range", "range"),
    ("police_offences", 10, "type", "type"),
    ("police_offences", 11, "type", "type"),
    ("police_offences", 13, "unique", "unique"),
    ("police_offences", 14, "orphan", "orphan"),
    ("police_offences", 15, "parent_rejected", "parent_rejected"),
    ("police_offences", 16, "in_set", "in_set"),
    ("police_offences", 17, "type", "type"),
    ("police_offences", 18, "pattern", "pattern;parent_rejected"),
    ("custody_episodes", 4, "null_when", "null_when"),
    ("custody_episodes", 5, "null_when", "null_when"),
    ("custody_episodes", 6, "null_when", "null_when"),
    ("custody_episodes", 8, "date_order", "date_order"),
    ("custody_episodes", 9, "pattern", "pattern"),
    ("probation_orders", 4, "type", "type"),
    ("probation_orders", 5, "in_set", "in_set"),
    ("probation_orders", 6, "future_date", "future_date"),
    ("probation_orders", 8, "date_order", "date_order"),
    ("probation_assessments", 3, "range", "range"),
    ("probation_assessments", 4, "range", "range"),
    ("probation_assessments", 5, "orphan", "orphan"),
    ("probation_assessments", 6, "parent_rejected", "parent_rejected"),
    ("probation_contacts", 4, "parent_rejected", "parent_rejected"),
    ("probation_contacts", 5, "in_set", "in_set"),
    ("probation_contacts", 6, "not_null", "not_null"),
    ("probation_contacts", 8, "pattern", "pattern;orphan"),
    ("health_episodes", 4, "null_when", "null_when"),
    ("health_episodes", 5, "date_order", "date_order"),
    ("health_episodes", 6, "not_null", "not_null"),
    ("health_episodes", 7, "date_range", "date_range"),
    ("health_episodes", 8, "null_when", "null_when"),
    ("housing_events", 3, "in_set", "in_set"),
    ("housing_events", 4, "date_range", "date_range"),
    ("panel_decisions", 3, "in_set", "in_set"),
    ("panel_decisions", 4, "future_date", "future_date"),
]


def dirty_tables() -> dict[str, pd.DataFrame]:
    """``valid_tables()`` as text with ``BAD_ROWS`` appended in order."""
    tables = {name: to_text(frame) for name, frame in valid_tables().items()}
    for name, base, overrides in BAD_ROWS:
        frame = tables[name]
        row = frame.iloc[[base]].copy()
        for column, value in overrides.items():
            assert column in frame.columns, (name, column)
            row[column] = value
        tables[name] = pd.concat([frame, row], ignore_index=True)
    return tables
