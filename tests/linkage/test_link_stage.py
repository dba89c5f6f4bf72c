"""The link stage entry point: files, modes, metrics, charts."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pandas as pd
import pytest
import yaml
from linkage_fixtures import known_answer_tables

from linkage import PseudonymKeyError
from pipelines import link as stage


def _layout(tmp_path: Path, simulated: bool) -> tuple[Path, Path]:
    tables, truth = known_answer_tables(n_nominals=800, seed=11)
    extract = tmp_path / "extract"
    extract.mkdir()
    if simulated:
        (extract / "_truth").mkdir()
        truth.to_parquet(extract / "_truth" / "identities.parquet")
    validated = tmp_path / "validated"
    validated.mkdir()
    for name, frame in tables.items():
        frame.to_parquet(validated / f"{name}.parquet")
    (validated / "manifest.json").write_text(json.dumps({"area": "Testshire", "extract_date": "2026-10-31"}))
    params = {
        "validate": {"extract": str(extract)},
        "link": {"allow_dev_key": True, "max_pairs": 200_000},
    }
    params_path = tmp_path / "params.yaml"
    params_path.write_text(yaml.safe_dump(params))
    return validated, params_path


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(scope="module")
def stage_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    tmp_path = tmp_path_factory.mktemp("link_stage")
    validated, params_path = _layout(tmp_path, simulated=True)
    metrics = stage.run(
        validated,
        out=tmp_path / "linked",
        reid=tmp_path / "reid",
        metrics=tmp_path / "metrics" / "linkage.json",
        reports=tmp_path / "reports" / "linkage",
        params_path=params_path,
    )
    return tmp_path, metrics


def test_reidentification_files_are_private(stage_run: tuple[Path, dict]) -> None:
    tmp_path, _ = stage_run
    assert _mode(tmp_path / "reid") == 0o700
    assert _mode(tmp_path / "reid" / "person_index.parquet") == 0o600
    assert _mode(tmp_path / "reid" / "clerical_review.csv") == 0o600
    index = pd.read_parquet(tmp_path / "reid" / "person_index.parquet")
    assert list(index.columns) == ["pseudo_id", "source", "source_id", "match_probability", "method"]


def test_linked_tables_are_written_without_identifiers(stage_run: tuple[Path, dict]) -> None:
    tmp_path, _ = stage_run
    expected = {"persons", "offences", "custody", "orders", "assessments", "contacts", "health", "housing"}
    assert {p.stem for p in (tmp_path / "linked").glob("*.parquet")} == expected
    persons = pd.read_parquet(tmp_path / "linked" / "persons.parquet")
    assert list(persons.columns) == [
        "pseudo_id", "birth_month", "sex", "ethnicity", "in_police", "in_prison", "in_probation",
        "in_health", "in_housing", "sources_linked",
    ]  # fmt: skip
    assert persons["birth_month"].dtype == "datetime64[ms]"
    custody = pd.read_parquet(tmp_path / "linked" / "custody.parquet")
    assert list(custody.columns) == [
        "pseudo_id", "episode_id", "reception_date", "release_date", "expected_release_date", "release_type",
    ]  # fmt: skip


def test_metrics_and_offline_charts(stage_run: tuple[Path, dict]) -> None:
    tmp_path, metrics = stage_run
    written = json.loads((tmp_path / "reports" / "linkage" / stage.DETAIL_FILE).read_text())
    assert written == json.loads(json.dumps(metrics))  # every figure, in the reports folder
    assert written["clerical_review"]["pairs"] >= 0
    # The tracked metrics file holds the headline only, for `dvc metrics show`.
    headline = json.loads((tmp_path / "metrics" / "linkage.json").read_text())
    truth = metrics["truth"]
    assert headline == {
        "people": metrics["persons"]["n"],
        "review_pending": metrics["clerical_review"]["pairs_pending"],
        "precision_min": min(truth[s]["precision"] for s in ("prison", "probation", "health", "housing")),
        "recall_min": min(truth[s]["recall"] for s in ("prison", "probation", "health", "housing")),
    }
    charts = sorted((tmp_path / "reports" / "linkage").glob("*.html"))
    assert [c.name for c in charts] == ["m_u_parameters.html", "match_weights.html"]
    for chart in charts:
        html = chart.read_text()
        assert "vegaEmbed" in html or "vega-embed" in html  # the libraries are inlined
        assert "<script src" not in html and "cdn.jsdelivr" not in html  # nothing to download


def test_dev_key_refused_without_truth(tmp_path: Path) -> None:
    validated, params_path = _layout(tmp_path, simulated=False)
    with pytest.raises(PseudonymKeyError, match="not a simulated extract"):
        stage.run(
            validated, tmp_path / "l", tmp_path / "r", tmp_path / "m.json", tmp_path / "rep", params_path
        )
    assert not (tmp_path / "l").exists()
