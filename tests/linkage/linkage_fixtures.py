"""A small synthetic extract with hand-placed known-answer people (shared by the linkage tests)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from linkage.synthetic import synthetic_extract

KEY = b"test-key-0123456789abcdef"

# Hand-placed people (surnames absent from the synthetic name lists).
WILLIAM = "98/1000001W"  # police: William Harrowgate; health records him as "Bill"
REBECCA = "98/1000002R"  # police: Rebecca Thornbury 09/04/1985; housing swaps day and month
KATHERINE = "98/1000003K"  # police: Katherine Ashdown; probation order without a PNC ID
DANIEL = "98/1000004D"  # police: Daniel Quillfeather; prison rows, one without the PNC ID
LUCY = "98/1000005L"  # police: Lucy Fairweather; housing knows her by her married name
KNOWN_ANSWER_PNCS = (WILLIAM, REBECCA, KATHERINE, DANIEL, LUCY)


def _append(frame: pd.DataFrame, rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Append rows, copying unspecified columns from the frame's first row."""
    template = frame.iloc[[0] * len(rows)].reset_index(drop=True)
    for i, row in enumerate(rows):
        for col, value in row.items():
            template.loc[i, col] = value
    template["source_row"] = np.arange(len(frame) + 1, len(frame) + len(rows) + 1, dtype="int64")
    out = pd.concat([frame, template], ignore_index=True)
    return out.astype(frame.dtypes.to_dict())


def known_answer_tables(
    n_nominals: int = 1500, seed: int = 3
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """A synthetic population plus the hand-placed known-answer records."""
    tables, truth = synthetic_extract(n_nominals, np.random.default_rng(seed))
    dob = pd.Timestamp
    tables["police_nominals"] = _append(
        tables["police_nominals"],
        [
            dict(
                pnc_id=WILLIAM,
                forename="William",
                surname="Harrowgate",
                date_of_birth=dob("1980-03-07"),
                sex="M",
                ethnicity="White",
                postcode_district="ST4",
            ),
            dict(
                pnc_id=REBECCA,
                forename="Rebecca",
                surname="Thornbury",
                date_of_birth=dob("1985-04-09"),
                sex="F",
                ethnicity="Black",
                postcode_district="L12",
            ),
            dict(
                pnc_id=KATHERINE,
                forename="Katherine",
                surname="Ashdown",
                date_of_birth=dob("1992-11-23"),
                sex="F",
                ethnicity="Asian",
                postcode_district="M14",
            ),
            dict(
                pnc_id=DANIEL,
                forename="Daniel",
                surname="Quillfeather",
                date_of_birth=dob("1978-06-30"),
                sex="M",
                ethnicity="Mixed",
                postcode_district="L5",
            ),
            dict(
                pnc_id=LUCY,
                forename="Lucy",
                surname="Fairweather",
                date_of_birth=dob("1990-02-17"),
                sex="F",
                ethnicity="White",
                postcode_district="L7",
            ),
        ],
    )
    tables["health_episodes"] = _append(
        tables["health_episodes"],
        [
            # Nickname: Bill for William, everything else as police hold it.
            dict(
                health_id="HK0000001",
                forename="Bill",
                surname="Harrowgate",
                date_of_birth=dob("1980-03-07"),
                sex="M",
                postcode_district="ST4",
            ),
            dict(
                health_id="HK0000001",
                forename="Bill",
                surname="Harrowgate",
                date_of_birth=dob("1980-03-07"),
                sex="M",
                postcode_district="ST4",
            ),
            # His brother: same surname and address, different forename and DOB; never a nominal.
            dict(
                health_id="HK0000002",
                forename="Thomas",
                surname="Harrowgate",
                date_of_birth=dob("1983-05-02"),
                sex="M",
                postcode_district="ST4",
            ),
        ],
    )
    tables["housing_events"] = _append(
        tables["housing_events"],
        [
            # Married name: a different surname, everything else agrees.
            dict(
                council_id="CK0000002",
                forename="Lucy",
                surname="Ormerod",
                date_of_birth=dob("1990-02-17"),
                postcode_district="L7",
            ),
            # Day and month swapped: 04/09/1985 recorded as 09/04/1985.
            dict(
                council_id="CK0000001",
                forename="Rebecca",
                surname="Thornbury",
                date_of_birth=dob("1985-09-04"),
                postcode_district="L12",
            ),
        ],
    )
    tables["probation_orders"] = _append(
        tables["probation_orders"],
        [
            dict(
                crn="K000001",
                pnc_id=pd.NA,
                forename="Kate",
                surname="Ashdown",
                date_of_birth=dob("1992-11-23"),
                sex="F",
                ethnicity="Asian",
            ),
            # A probation-only person: nobody else knows him.
            dict(
                crn="K000002",
                pnc_id=pd.NA,
                forename="Ezekiel",
                surname="Brackenridge",
                date_of_birth=dob("1969-01-15"),
                sex="M",
                ethnicity="White",
            ),
        ],
    )
    tables["custody_episodes"] = _append(
        tables["custody_episodes"],
        [
            dict(noms_id="K1000AA", pnc_id=DANIEL, reception_date=dob("2021-01-10")),
            dict(noms_id="K1000AA", pnc_id=pd.NA, reception_date=dob("2023-02-11")),
            # Prison-only: no PNC ID on any row.
            dict(noms_id="K1000BB", pnc_id=pd.NA, reception_date=dob("2022-03-12")),
        ],
    )
    next_id = int(truth["person_id"].max()) + 1
    people = [
        [("police", WILLIAM), ("health", "HK0000001")],
        [("health", "HK0000002")],
        [("police", REBECCA), ("housing", "CK0000001")],
        [("police", LUCY), ("housing", "CK0000002")],
        [("police", KATHERINE), ("probation", "K000001")],
        [("probation", "K000002")],
        [("police", DANIEL), ("prison", "K1000AA")],
        [("prison", "K1000BB")],
    ]
    placed = pd.DataFrame(
        [(next_id + i, source, source_id) for i, ids in enumerate(people) for source, source_id in ids],
        columns=["person_id", "source", "source_id"],
    )
    return tables, pd.concat([truth, placed.astype(truth.dtypes.to_dict())], ignore_index=True)
