"""The auditor's path in a real MLflow server and real Chromium: list -> model version -> verdict.

Train, drift, audit, card and publish run against a real ``mlflow server`` on 127.0.0.1
(started here, stopped by its process group id); Chromium (Debian's, driven by
Playwright) opens the UI at the published list's ``model_version`` and finds the verdict
text; the REST API shows the audit run's headline metrics (at most 100) and its table.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from mlflow_server import get, mlflow_server

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[2]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"headless Chromium not installed at {CHROMIUM}"),
    # mlflow.pyfunc warns on import about its own type hints (train registers a pyfunc model).
    pytest.mark.filterwarnings("ignore:.*Any type hint is inferred as AnyType:UserWarning"),
]


@pytest.fixture(scope="module")
def served(small_pipeline: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    from typer.testing import CliRunner

    from pipelines import audit, card, drift, train
    from pipelines.cli import app

    root = tmp_path_factory.mktemp("card_server")
    with mlflow_server(root) as server, pytest.MonkeyPatch.context() as mp:
        base = server.base
        mp.setenv("MLFLOW_TRACKING_URI", base)
        params = yaml.safe_load(small_pipeline["params"].read_text())
        params["train"].update({"n_bootstrap": 2, "n_estimators": 300})
        params["fairness"]["n_bootstrap"] = 50
        params_path = root / "params.yaml"
        params_path.write_text(yaml.safe_dump(params, sort_keys=False))
        model, reports = root / "model", root / "reports"
        persons = small_pipeline["linked"] / "persons.parquet"
        train.run(
            small_pipeline["features"],
            persons,
            model,
            root / "m" / "model.json",
            reports / "model",
            params_path,
        )
        drift.run(
            small_pipeline["features"], reports / "model" / "evaluation.json", root / "no_typology",
            reports / "drift", root / "m" / "drift.json", params_path,
        )  # fmt: skip
        audit.run(
            model, small_pipeline["features"], persons, root / "no_typology", small_pipeline["linked"],
            reports / "fairness", root / "m" / "fairness.json", params_path,
        )  # fmt: skip
        card.run(
            model,
            reports / "model",
            reports / "fairness" / "verdicts.json",
            reports / "drift" / "drift.json",
            reports / "card",
        )
        published = CliRunner().invoke(
            app,
            [
                "publish", "--model", str(model), "--typology", str(root / "no_typology"),
                "--linked", str(small_pipeline["linked"]), "--reid", str(small_pipeline["reid"]),
                "--fairness", str(root / "m" / "fairness.json"), "--out", str(root / "panel"),
                "--reid-out", str(root / "reid_key"), "--metrics", str(root / "m" / "publish.json"),
                "--params", str(params_path),
            ],
        )  # fmt: skip
        assert published.exit_code == 0, published.output
        area = json.loads((small_pipeline["validated"] / "manifest.json").read_text())["area"]
        yield {
            "base": base,
            "root": root,
            "experiment": f"iom/{area}",
            "seconds_to_health": server.seconds_to_health,
        }


def _published_version(root: Path) -> str:
    with (root / "panel" / "cohort_list.csv").open(newline="", encoding="utf-8") as f:
        versions = {row["model_version"] for row in csv.DictReader(f)}
    assert len(versions) == 1
    return versions.pop()


def _verdict_phrases(root: Path) -> list[str]:
    from fairness.verdicts import read_verdicts
    from models.card import CHARACTERISTIC_LABELS

    verdicts = read_verdicts(root / "reports" / "fairness" / "verdicts.json")
    return [
        f"{CHARACTERISTIC_LABELS[k]}: in red, {c['decisions']['red']['verdict']}"
        for k, c in verdicts["characteristics"].items()
    ]


def _dismiss_first_visit_dialog(page: Any) -> int:
    """MLflow 3.17 shows a one-time tour on an experiment's GenAI view: "Got it" (a click)."""
    button = page.get_by_role("button", name="Got it")
    try:
        button.wait_for(timeout=5_000)
    except Exception:  # no tour (already dismissed in this browser)
        return 0
    button.click()
    return 1


def _auditor_path(page: Any, base: str, experiment: str, version: str, phrases: list[str]) -> tuple[int, Any]:
    """Home page -> the area's experiment -> the link to the version in its description."""
    page.goto(f"{base}/")
    page.get_by_role("link", name=experiment).first.click()
    clicks = 1 + _dismiss_first_visit_dialog(page)
    with page.context.expect_page() as opened:  # the description's links open a tab
        page.get_by_role("link", name=f"iom-risk version {version}").first.click()
    clicks += 1
    version_page = opened.value
    for phrase in phrases:
        version_page.get_by_text(phrase, exact=False).first.wait_for(timeout=60_000)
    return clicks, version_page


def test_the_version_page_shows_the_verdicts_in_chromium(served: dict) -> None:
    from playwright.sync_api import sync_playwright

    base, root = served["base"], served["root"]
    version = _published_version(root)
    mv = get(base, "/api/2.0/mlflow/model-versions/get", name="iom-risk", version=version)["model_version"]
    assert "panel" in mv.get("aliases", [])
    phrases = _verdict_phrases(root)
    experiment = served["experiment"]
    shots = root / "screenshots"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        context = browser.new_context(viewport={"width": 1024, "height": 900})
        page = context.new_page()
        # From the published list's model_version straight to the version page.
        page.goto(f"{base}/#/models/iom-risk/versions/{version}")
        for phrase in phrases:
            page.get_by_text(phrase, exact=False).first.wait_for(timeout=60_000)
        assert page.get_by_role("link", name="audit run").first.is_visible()
        page.screenshot(path=str(shots / "model_version.png"), full_page=True)
        # The auditor's path from the home page, in a fresh browser then a returning one.
        first, tab = _auditor_path(page, base, experiment, version, phrases)
        tab.close()
        again, tab = _auditor_path(page, base, experiment, version, phrases)
        tab.screenshot(path=str(shots / "auditor_path.png"), full_page=True)
        (shots / "clicks.json").write_text(json.dumps({"first_visit": first, "returning": again}))
        assert again == 2 and first <= 3
        # Once the reader picks "Model training", the experiment opens on its runs.
        page.goto(f"{base}/")
        page.get_by_text("Model training", exact=True).first.click()
        page.get_by_role("link", name=experiment).first.click()
        page.get_by_role("link", name="audit", exact=True).first.wait_for(timeout=60_000)
        page.screenshot(path=str(shots / "experiment_runs.png"))
        browser.close()
    exp = get(base, "/api/2.0/mlflow/experiments/get-by-name", experiment_name=experiment)["experiment"]
    tags = {t["key"]: t["value"] for t in exp.get("tags", [])}
    assert tags["mlflow.experimentKind"] == "custom_model_development"
    names = [
        e["name"] for e in get(base, "/api/2.0/mlflow/experiments/search", max_results="100")["experiments"]
    ]
    assert sorted(names) == sorted(["Default", experiment])  # one experiment per area, no stray ones


def test_the_audit_run_has_a_headline_and_the_full_table(served: dict) -> None:
    base = served["base"]
    version = _published_version(served["root"])
    mv = get(base, "/api/2.0/mlflow/model-versions/get", name="iom-risk", version=version)["model_version"]
    tags = {t["key"]: t["value"] for t in mv.get("tags", [])}
    assert tags["audit_run_id"] == tags["fairness_run_id"]
    run = get(base, "/api/2.0/mlflow/runs/get", run_id=tags["audit_run_id"])["run"]
    assert len(run["data"].get("metrics", [])) <= 100
    run_tags = {t["key"]: t["value"] for t in run["data"]["tags"]}
    tables = [
        a["path"] for a in json.loads(run_tags.get("mlflow.loggedArtifacts", "[]")) if a["type"] == "table"
    ]
    assert tables, "no mlflow.log_table artifact on the audit run"
    files = get(base, "/api/2.0/mlflow/artifacts/list", run_id=tags["audit_run_id"]).get("files", [])
    assert {t.split("/")[0] for t in tables} <= {f["path"] for f in files}


def test_the_card_sits_at_the_top_of_the_model_artifacts(served: dict) -> None:
    import mlflow

    version = _published_version(served["root"])
    mlflow.set_tracking_uri(served["base"])
    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=f"models:/iom-risk/{version}"))
    assert (local / "model_card.html").exists() and (local / "MLmodel").exists()
    assert not (local / "artifacts" / "model_card.html").exists()
    html = (local / "model_card.html").read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") >= 3
