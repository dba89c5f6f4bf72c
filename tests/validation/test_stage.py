"""The stage entry point ``pipelines.validate.run`` (lives here with the validation tests)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from validation_extracts import dirty_tables, write_extract

from pipelines.validate import EXIT_EXTRACT_ERROR, failure_summary, run
from validation import ValidationResult


def _params(tmp_path: Path, extract: Path) -> Path:
    path = tmp_path / "params.yaml"
    path.write_text(f"validate:\n  extract: {extract}\n  max_examples: 3\n", encoding="utf-8")
    return path


def test_failure_summary_known_answer(dirty: ValidationResult) -> None:
    summary = failure_summary(dirty)
    offences = summary[summary["table"] == "police_offences"].set_index(["column", "rule"])
    assert offences.loc[("gravity", "range"), "count"] == 1
    assert offences.loc[("gravity", "range"), "example"] == 'row 9: "7"'
    assert offences.loc[("outcome_date", "null_when"), "count"] == 2
    assert offences.loc[("outcome_date", "null_when"), "example"] == 'row 7: "2020-02-01"'
    assert summary["count"].sum() == sum(len(f) for f in dirty.rejects.values())


def test_extract_error_is_logged_and_exits_2(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    extract = write_extract(tmp_path / "extract")
    (extract / "housing_events.csv").unlink()
    with caplog.at_level(logging.ERROR), pytest.raises(SystemExit) as info:
        run(None, tmp_path / "out", tmp_path / "m.json", tmp_path / "docs", _params(tmp_path, extract))
    assert info.value.code == EXIT_EXTRACT_ERROR
    assert any(
        "housing_events.csv" in r.getMessage() and "file_missing" in r.getMessage() for r in caplog.records
    )
    assert not (tmp_path / "out").exists()


def test_run_writes_outputs_and_logs_the_failures(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    extract = write_extract(tmp_path / "extract", dirty_tables())
    with caplog.at_level(logging.INFO):
        run(
            extract,
            tmp_path / "out",
            tmp_path / "metrics.json",
            tmp_path / "docs",
            _params(tmp_path, Path("x")),
        )
    assert (tmp_path / "out" / "police_offences.parquet").is_file()
    assert (tmp_path / "out" / "rejects" / "police_offences.parquet").is_file()
    assert (tmp_path / "metrics.json").is_file() and (tmp_path / "docs" / "index.html").is_file()
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "police_offences" in text and "gravity" in text and "range" in text and 'row 9: "7"' in text
