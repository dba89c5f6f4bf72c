"""Property: whatever cells are corrupted, every row read is accepted or quarantined, once.

Each example is a full GE validation (seconds), so the example count is small.
"""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from validation_extracts import to_text, valid_tables, write_extract

from iom_contract import TABLES
from validation import ValidateParams, validate_extract

# Values that break one rule or another (or none), including CSV-hostile text.
NASTY = [
    None, "", " ", "x", "NULL", "2031-01-01", "1800-01-01", "2021-02-30", "2020-01-01", "2016-11-01",
    "9", "-1", "0", "3", "2.5", "TRUE", "false", "09/123456K", "X123456", "O1", "pending", "Q", "é",
    "1,2", 'say "hi"', "line\nbreak",
]  # fmt: skip
RELATIONAL = {"unique", "orphan", "parent_rejected"}

corruption = st.tuples(
    st.sampled_from([t.name for t in TABLES]),
    st.floats(min_value=0, max_value=1, exclude_max=True),
    st.integers(min_value=0, max_value=20),
    st.sampled_from(NASTY),
)


@pytest.mark.slow
@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(corruption, min_size=1, max_size=8))
def test_reconciliation_holds_under_corrupted_cells(
    tmp_path_factory: pytest.TempPathFactory, corruptions: list[tuple[str, float, int, str | None]]
) -> None:
    tables = {name: to_text(frame) for name, frame in valid_tables().items()}
    touched: dict[str, set[int]] = {name: set() for name in tables}
    for name, where, col, value in corruptions:
        frame = tables[name]
        row = int(where * len(frame))
        column = frame.columns[col % len(frame.columns)]
        frame.loc[row, column] = value
        touched[name].add(row + 1)
    extract = write_extract(tmp_path_factory.mktemp("corrupted"), tables)

    result = validate_extract(extract, ValidateParams(extract=str(extract)))

    for name, frame in tables.items():
        accepted = result.accepted[name]["source_row"].tolist()
        rejects = result.rejects[name]
        assert sorted(accepted + rejects["source_row"].tolist()) == list(range(1, len(frame) + 1)), name
        m = result.metrics["tables"][name]
        assert m["rows_in_file"] == m["manifest_count"] == m["accepted"] + m["rejected"] == len(frame)
        assert m["reconciled"]
        # A row nobody touched is quarantined only through another row (repeat, missing parent).
        untouched = rejects[~rejects["source_row"].isin(touched[name])]
        for rules in untouched["rules"]:
            assert set(rules.split(";")) <= RELATIONAL, (name, rules)
    assert result.metrics["totals"]["reconciled"]
    assert pd.Series([len(f) for f in result.rejects.values()]).sum() == result.metrics["totals"]["rejected"]
