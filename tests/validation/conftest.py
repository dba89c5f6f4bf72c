"""Hand-built extracts in the contract shape for the validation tests."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from validation.contract import CONTRACT_VERSION, TABLES_BY_NAME

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


@pytest.fixture
def make_extract(tmp_path: Path) -> Callable[..., Path]:
    """Write an extract under tmp_path; see ``write_extract`` for the arguments."""
    counter = iter(range(1_000_000))

    def make(tables: Mapping[str, pd.DataFrame] | None = None, **kwargs: Any) -> Path:
        return write_extract(tmp_path / f"extract{next(counter)}", tables, **kwargs)

    return make
