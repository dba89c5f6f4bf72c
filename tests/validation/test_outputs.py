"""Stage outputs: Parquet tables and quarantine, manifest, deterministic metrics, offline Data Docs."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import great_expectations
import pandas as pd
import pytest

from iom_contract import TABLES_BY_NAME
from validation import ValidationResult, write_validation_outputs
from validation.datadocs import VENDOR_DIR, load_asset_map
from validation.outputs import DETAIL_FILE
from validation.quarantine import REJECT_COLUMNS

REMOTE_REF = re.compile(r"""<(?:script|link|img)\b[^>]*?\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.I)
CSS_REMOTE = re.compile(r"""url\(\s*["']?\s*(?:https?:)?//""", re.I)
LOCAL_REF = re.compile(r"""<(?:script|link|img)\b[^>]*?\b(?:src|href)\s*=\s*"([^"#]+)\"""", re.I)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory, dirty: ValidationResult) -> Path:
    root = tmp_path_factory.mktemp("outputs")
    write_validation_outputs(dirty, root / "validated", root / "metrics" / "validation.json", root / "docs")
    return root


def test_accepted_and_rejected_tables_round_trip_through_parquet(
    written: Path, dirty: ValidationResult
) -> None:
    for name, frame in dirty.accepted.items():
        pd.testing.assert_frame_equal(pd.read_parquet(written / "validated" / f"{name}.parquet"), frame)
        rejects = pd.read_parquet(written / "validated" / "rejects" / f"{name}.parquet")
        pd.testing.assert_frame_equal(rejects, dirty.rejects[name])


def test_empty_quarantine_is_written_with_its_columns(tmp_path: Path, clean: ValidationResult) -> None:
    write_validation_outputs(clean, tmp_path / "v", tmp_path / "m.json", tmp_path / "docs")
    for name in clean.accepted:
        rejects = pd.read_parquet(tmp_path / "v" / "rejects" / f"{name}.parquet")
        assert rejects.empty
        assert tuple(rejects.columns) == (*TABLES_BY_NAME[name].column_names, *REJECT_COLUMNS)
        assert rejects["source_row"].dtype == "int64"


def test_manifest_is_written_as_read(written: Path, dirty: ValidationResult) -> None:
    assert json.loads((written / "validated" / "manifest.json").read_text(encoding="utf-8")) == dirty.manifest


def test_metrics_file_is_deterministic_and_has_no_timings(
    written: Path, dirty: ValidationResult, tmp_path: Path
) -> None:
    path = written / "docs" / DETAIL_FILE  # every figure, beside the Data Docs
    text = path.read_text(encoding="utf-8")
    metrics = json.loads(text)
    # The tracked metrics file holds the headline only, for `dvc metrics show`.
    headline = json.loads((written / "metrics" / "validation.json").read_text(encoding="utf-8"))
    totals = metrics["totals"]
    assert headline == {k: totals[k] for k in ("accepted", "rejected", "reconciled")}
    assert "elapsed_seconds" not in metrics and "elapsed_seconds" in dirty.metrics
    assert text == json.dumps(metrics, indent=2, sort_keys=True) + "\n"
    assert metrics["tables"]["police_offences"] == {
        "accepted": 6,
        "manifest_count": 19,
        "reconciled": True,
        "rejected": 13,
        "rejects_by_rule": {
            "date_order": 1,
            "future_date": 1,
            "in_set": 1,
            "null_when": 2,
            "orphan": 1,
            "parent_rejected": 1,
            "pattern": 1,
            "range": 1,
            "type": 3,
            "unique": 1,
        },
        "rows_in_file": 19,
    }
    write_validation_outputs(dirty, tmp_path / "v", tmp_path / "again.json", tmp_path / "docs")
    assert (tmp_path / "docs" / DETAIL_FILE).read_text(encoding="utf-8") == text


def test_data_docs_have_a_page_per_table(written: Path, dirty: ValidationResult) -> None:
    docs = written / "docs"
    assert (docs / "index.html").is_file()
    for name in dirty.accepted:
        assert (docs / "expectations" / f"{name}.html").is_file()
        pages = list((docs / "validations" / name).rglob("*.html"))
        assert len(pages) == 1, name
    page = next((docs / "validations" / "police_offences").rglob("*.html")).read_text(encoding="utf-8")
    assert "row 14: &#34;55/5Z&#34;" in page or 'row 14: "55/5Z"' in page


def test_data_docs_load_nothing_from_the_network(written: Path) -> None:
    pages = [*written.joinpath("docs").rglob("*.html"), *written.joinpath("docs", "static").rglob("*.css")]
    assert len(pages) > 10
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert not REMOTE_REF.search(text), page
        assert not CSS_REMOTE.search(text), page
        assert "integrity=" not in text, page
        for ref in LOCAL_REF.findall(text):
            assert (page.parent / ref).resolve().is_file(), (page, ref)


def test_every_cdn_reference_in_the_installed_gx_templates_is_vendored() -> None:
    templates = Path(great_expectations.__file__).parent / "render" / "view" / "templates"
    urls = set()
    for template in templates.glob("*.j2"):
        text = template.read_text(encoding="utf-8")
        urls |= set(re.findall(r"""<(?:script|link)\b[^>]*?\b(?:src|href)="(https?://[^"]+)\"""", text))
    assert len(urls) >= 16
    asset_map = load_asset_map()
    assert urls - set(asset_map) == set()
    for path in asset_map.values():
        assert (VENDOR_DIR / path).is_file(), path


def test_vendored_files_match_their_checksums_and_carry_licences() -> None:
    sums = (VENDOR_DIR / "SHA256SUMS").read_text(encoding="utf-8").splitlines()
    listed = {}
    for line in sums:
        digest, path = line.split("  ", 1)
        listed[path] = digest
        assert hashlib.sha256((VENDOR_DIR / path).read_bytes()).hexdigest() == digest, path
    packages = json.loads((VENDOR_DIR / "assets.json").read_text(encoding="utf-8"))["packages"]
    for package in packages:
        assert any(p.startswith(f"{package}/LICENSE") for p in listed), package
