"""The train stage on the small simulated area: outputs, registration, identical retrain."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from models.risk import model_fingerprint
from models.risk_train import SCORE_COLUMNS
from pipelines import train

# mlflow.pyfunc warns on import about its own type hints (mlflow.types.responses): not ours.
pytestmark = pytest.mark.filterwarnings("ignore:.*Any type hint is inferred as AnyType:UserWarning")

FAST = {"n_bootstrap": 2, "n_estimators": 300}  # fewer refits/trees: same code paths, quicker


def train_params(
    small_pipeline: dict[str, Path], folder: Path, log_mlflow: bool = True, **extra: object
) -> Path:
    """A copy of the fixture's params with a quicker ``train:`` section (and ``mlflow.log``)."""
    params = yaml.safe_load(small_pipeline["params"].read_text())
    params["train"].update({**FAST, **extra})
    params["mlflow"] = {"log": log_mlflow}
    path = folder / "params.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return path


def run_train(small_pipeline: dict[str, Path], root: Path, params: Path) -> dict[str, Path]:
    paths = {"out": root / "model", "metrics": root / "metrics" / "model.json", "reports": root / "reports"}
    train.run(
        small_pipeline["features"],
        small_pipeline["linked"] / "persons.parquet",
        paths["out"],
        paths["metrics"],
        paths["reports"],
        params,
        truth_dir=small_pipeline["truth"],
        reid=small_pipeline["reid"],
    )
    return paths


@pytest.fixture(scope="module")
def trained(small_model: dict[str, Path]) -> dict[str, Path]:
    """The session's small model (tests/conftest.py), trained with ``FAST`` like ``train_params``."""
    return small_model


def test_stage_writes_every_output(trained: dict[str, Path]) -> None:
    out, reports = trained["out"], trained["reports"]
    for name in ("risk_model.ubj", "risk_model.json", "bootstrap_000.ubj", "bootstrap_001.ubj"):
        assert (out / name).exists(), name
    assert not (out / "bootstrap_002.ubj").exists()
    for name in (
        "splits.png",
        "roc.csv",
        "calibration.csv",
        "precision_at_k.csv",
        "shap_bar.png",
        "shap_beeswarm.png",
        "evaluation.json",
    ):
        assert (reports / name).exists(), name

    scores = pd.read_parquet(out / "scores.parquet")
    assert tuple(scores.columns[: len(SCORE_COLUMNS)]) == SCORE_COLUMNS
    extra = set(scores.columns[len(SCORE_COLUMNS) :])  # reason families for publish
    assert extra and all(c.startswith(("points__", "facts__")) or c == "assessment_days" for c in extra)
    assert scores["as_of_date"].nunique() == 1
    assert scores["rank"].tolist() == list(range(1, len(scores) + 1))
    assert scores["risk_12m"].is_monotonic_decreasing
    assert (scores["risk_12m_low"] <= scores["risk_12m"]).all()
    assert (scores["risk_12m"] <= scores["risk_12m_high"]).all()
    assert scores["base_risk"].nunique() == 1
    first = json.loads(scores["contributions"].iloc[0])
    assert len(first) >= 3
    assert {item["can_change"] for item in first} <= {True, False}
    sizes = [abs(item["points"]) for item in first]
    assert sizes == sorted(sizes, reverse=True)
    assert scores["reasons_up"].str.contains(r"\(\+\d+ pts\)").any()

    preds = pd.read_parquet(out / "predictions.parquet")
    assert set(preds["block"].dropna()) == {"train", "valid", "calib", "test"}
    assert {"pseudo_id", "as_of_date", "label", "risk_model", "ogrs3", "rfg", "oracle"} <= set(preds.columns)

    headline = json.loads(trained["metrics"].read_text())
    # metrics/model.json: the headline only (dvc metrics show); the detail is in evaluation.json.
    assert set(headline) == {"auc", "brier", "ece", "auc_ogrs3", "auc_rfg"}
    evaluation = json.loads((reports / "evaluation.json").read_text())
    metrics = evaluation["metrics"]
    assert headline["auc"] == round(metrics["test"]["risk_model"]["auc"], 4)
    assert evaluation["learned_from_dates"][-1] == "2023-06-30"  # train + valid (refit_on_valid)
    for model in ("risk_model", "ogrs3", "rfg", "oracle"):
        figures = metrics["test"][model]
        for key in (
            "auc",
            "brier",
            "log_loss",
            "ece",
            "calibration_slope",
            "calibration_intercept",
            "precision_at_100",
            "recall_at_100",
        ):
            assert key in figures, (model, key)
    assert 0.5 < metrics["test"]["risk_model"]["auc"] <= 1
    calibration = pd.read_csv(reports / "plots" / "calibration.csv")
    assert list(calibration.columns) == ["model", "n", "mean_predicted", "observed"]
    assert (calibration["n"] > 0).all()  # empty bins left out
    assert calibration.groupby("model")["n"].sum().nunique() <= 2  # every test row counted (oracle: fewer)


def test_model_is_registered_with_its_fingerprint(trained: dict[str, Path]) -> None:
    from mlflow import MlflowClient

    reg = json.loads((trained["out"] / "registration.json").read_text())
    assert set(reg) == {"name", "version", "run_id", "fingerprint", "trained_on", "registered_at"}
    assert reg["name"] == "iom-risk" and reg["version"].isdigit()
    assert reg["fingerprint"] == model_fingerprint(trained["out"])
    assert reg["trained_on"] == "2023-06-30"  # valid_end: the trees are regrown on train + valid
    client = MlflowClient()
    version = client.get_model_version("iom-risk", reg["version"])
    assert version.tags["fingerprint"] == reg["fingerprint"]
    assert version.run_id == reg["run_id"]
    import mlflow

    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=f"models:/iom-risk/{reg['version']}"))
    names = {p.name for p in (local / "artifacts").iterdir()}
    assert {"risk_model.ubj", "risk_model.json", "bootstrap_000.ubj"} <= names


def test_identical_retrain_gives_identical_bytes_and_reuses_the_version(
    small_pipeline: dict[str, Path], trained: dict[str, Path]
) -> None:
    from mlflow import MlflowClient

    again = run_train(small_pipeline, trained["root"] / "b", trained["params"])
    first = trained["root"] / "a"
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(
        p.relative_to(trained["root"] / "b") for p in (trained["root"] / "b").rglob("*") if p.is_file()
    )
    differ = [str(f) for f in files if (first / f).read_bytes() != (trained["root"] / "b" / f).read_bytes()]
    assert differ == []
    reg = json.loads((again["out"] / "registration.json").read_text())
    found = MlflowClient().search_model_versions(
        f"name='iom-risk' and tag.fingerprint='{reg['fingerprint']}'"
    )
    assert [str(v.version) for v in found] == [reg["version"]]


def test_without_mlflow_the_model_is_unregistered(small_pipeline: dict[str, Path], tmp_path: Path) -> None:
    params = train_params(small_pipeline, tmp_path, log_mlflow=False, n_bootstrap=0, n_estimators=50)
    paths = run_train(small_pipeline, tmp_path / "run", params)
    reg = json.loads((paths["out"] / "registration.json").read_text())
    assert reg["version"] == "unregistered" and reg["run_id"] is None and reg["registered_at"] is None
    assert reg["fingerprint"] == model_fingerprint(paths["out"])


def test_the_person_sample_is_declared_in_the_metrics(
    small_pipeline: dict[str, Path],
    trained: dict[str, Path],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The default sample is larger than a small area: everyone is used, and the record says
    so; a smaller train.sample_persons grows the trees on that many people, logged and
    recorded, while the test and the panel still score everyone."""
    full = json.loads((trained["reports"] / "evaluation.json").read_text())["metrics"]["model"]["sample"]
    assert full["persons_used"] == full["persons"] and full["person_dates_used"] == full["person_dates"]
    assert full["sample_persons"] == 100_000

    params = train_params(small_pipeline, tmp_path, log_mlflow=False, n_bootstrap=0, sample_persons=200)
    with caplog.at_level("INFO", logger="models.risk_train"):
        paths = run_train(small_pipeline, tmp_path / "run", params)
    record = json.loads((paths["reports"] / "evaluation.json").read_text())["metrics"]
    sample = record["model"]["sample"]
    assert sample["persons_used"] == 200 < sample["persons"] == full["persons"]
    assert 0 < sample["person_dates_used"] < sample["person_dates"]
    assert "trees grow on 200 of" in caplog.text
    scores = pd.read_parquet(paths["out"] / "scores.parquet")
    assert len(scores) == len(pd.read_parquet(trained["out"] / "scores.parquet"))
    assert (
        record["split"]["rows"]
        == json.loads((trained["reports"] / "evaluation.json").read_text())["metrics"]["split"]["rows"]
    )


ROOT = Path(__file__).resolve().parents[2]


def test_dvc_plots_render_offline_with_the_vendored_template(
    trained: dict[str, Path], tmp_path: Path
) -> None:
    """`dvc plots show` with dvc.yaml's own plots and templates: one colour per model, offline."""
    import re
    import shutil
    import subprocess
    import sys

    template = ROOT / "vendor" / "vega" / "dvc_plots_template.html"
    shutil.copytree(trained["reports"], tmp_path / "reports" / "model")
    plots = {"plots": yaml.safe_load((ROOT / "dvc.yaml").read_text())["plots"]}
    (tmp_path / "dvc.yaml").write_text(yaml.safe_dump(plots, sort_keys=False))
    dvc = [sys.executable, "-m", "dvc"]
    subprocess.run([*dvc, "init", "--no-scm", "-q"], cwd=tmp_path, check=True)
    shutil.copytree(ROOT / ".dvc" / "plots", tmp_path / ".dvc" / "plots")
    subprocess.run([*dvc, "config", "plots.html_template", str(template)], cwd=tmp_path, check=True)
    subprocess.run([*dvc, "plots", "show", "-o", "out"], cwd=tmp_path, check=True, capture_output=True)
    page = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    assert page.count("vegaEmbed('#") == 3
    assert "vegaEmbed=" in page or "vegaEmbed" in page.split("<body>")[0]
    # Each model its own colour (the templates colour by the `model` column, not by revision).
    assert page.count('"color": {"field": "model"') == 3
    assert '"size": {"field": "n"' in page  # calibration bins sized by their rows
    remote = re.findall(
        r"<(?:script|link|img)\b[^>]*(?:src|href)\s*=\s*[\"']?(?:https?:)?//", page, flags=re.I
    )
    assert remote == []
    assert "sourceMappingURL" not in page


def test_vendored_vega_matches_its_checksums() -> None:
    """vendor/vega/ is what scripts/vendor_vega.sh wrote (SHA256SUMS), licences included."""
    import hashlib

    folder = Path(__file__).resolve().parents[2] / "vendor" / "vega"
    lines = (folder / "SHA256SUMS").read_text().splitlines()
    sums = {name.removeprefix("./"): digest for digest, name in (line.split("  ", 1) for line in lines)}
    assert {n for n in sums if n.endswith("LICENSE")} == {
        "vega@5.20.2/LICENSE",
        "vega-lite@5.2.0/LICENSE",
        "vega-embed@6.18.2/LICENSE",
    }
    for name, digest in sums.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, name
