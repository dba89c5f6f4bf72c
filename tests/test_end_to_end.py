"""One small end-to-end run of the real pipeline under DVC, in a scratch copy of the repo.

Checks what `make repro` promises: every stage runs under `dvc repro`, the outputs
reconcile, and a second `dvc repro` with nothing changed runs nothing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from features.partitions import read_features

ROOT = Path(__file__).resolve().parent.parent


def _copied() -> list[str]:
    """dvc.yaml, params.yaml and every stage's dependency that is in git (a package whole,
    a data file as itself), read from dvc.yaml: a new dependency cannot be forgotten here."""
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))

    def resolve(path: str) -> str:  # dvc.yaml's ${section.key} templating
        def value(m: re.Match[str]) -> str:
            node: Any = params
            for key in m.group(1).split("."):
                node = node[key]
            return str(node)

        return re.sub(r"\$\{([\w.]+)\}", value, path).rstrip("/")

    deps = {resolve(str(d)) for st in stages.values() for d in st.get("deps", [])}
    generated = ("data/", "metrics/", "reports/")
    keep = set()
    for dep in deps:
        if dep.startswith(generated):
            continue
        top = dep.split("/")[0]
        keep.add(top if (ROOT / top / "__init__.py").exists() else dep)
    # vendor/: the offline assets the reports inline (Data Docs, Splink's charts).
    return ["dvc.yaml", "params.yaml", "vendor", *sorted(keep - {"vendor/datadocs"})]


COPY = _copied()
STAGES = ("simulate", "validate", "link", "features", "typology", "train", "audit", "publish")

pytestmark = pytest.mark.slow


def _dvc(cwd: Path, *args: str) -> str:
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "DVC_NO_ANALYTICS": "1",
    }
    res = subprocess.run(
        [str(Path(sys.executable).parent / "dvc"), *args], cwd=cwd, env=env, capture_output=True, text=True
    )
    assert res.returncode == 0, f"dvc {' '.join(args)} failed:\n{res.stdout}\n{res.stderr}"
    return res.stdout + res.stderr


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("repo")
    for name in COPY:
        src = ROOT / name
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(
                src, root / name, ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True
            )
        elif src.exists():
            shutil.copy2(src, root / name)
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["simulate"]["nominals"] = 1500
    params["train"]["n_bootstrap"] = 5
    params["typology"]["n_bootstrap"] = 2
    params["fairness"]["n_bootstrap"] = 50
    params["publish"]["tiering"].update({"red": 20, "amber": 40})
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    _dvc(root, "init", "--no-scm", "-q")
    return root


@pytest.fixture(scope="module")
def first_run(repo: Path) -> str:
    return _dvc(repo, "repro")


def test_every_stage_runs_and_validation_reconciles(repo: Path, first_run: str) -> None:
    for stage in STAGES:
        assert f"Running stage '{stage}'" in first_run
    detail = json.loads((repo / "reports" / "validation" / "validation.json").read_text())
    tables = detail["tables"]
    assert tables, "no tables in reports/validation/validation.json"
    for name, t in tables.items():
        assert t["rows_in_file"] == t["accepted"] + t["rejected"] == t["manifest_count"], name
    headline = json.loads((repo / "metrics" / "validation.json").read_text())
    assert headline == {k: detail["totals"][k] for k in ("accepted", "rejected", "reconciled")}
    assert headline["reconciled"] is True
    assert (repo / "reports" / "validation" / "index.html").exists()
    parts = sorted((repo / "data" / "features").glob("as_of_date=*/*.parquet"))
    assert parts, "no feature partitions written"
    df = pd.read_parquet(parts[-1])
    assert len(df) > 0


def test_second_repro_does_nothing(repo: Path, first_run: str) -> None:
    again = _dvc(repo, "repro")
    assert "Running stage" not in again, again


def test_outputs_are_deterministic(repo: Path, first_run: str) -> None:
    def snapshot() -> dict[Path, bytes]:
        files = [*(repo / "data").rglob("*"), *(repo / "metrics").rglob("*")]
        return {p: p.read_bytes() for p in sorted(files) if p.is_file()}

    before = snapshot()
    _dvc(repo, "repro", "--force")
    after = snapshot()
    assert before.keys() == after.keys()
    changed = [str(p.relative_to(repo)) for p in before if before[p] != after[p]]
    assert not changed, f"outputs differ between identical runs: {changed}"


def test_label_rate_matches_the_oracle_within_sampling_error(repo: Path, first_run: str) -> None:
    """The pipeline's label and the simulator's oracle mean the same thing."""
    feats = read_features(repo / "data" / "features")
    feats = feats[feats["label_complete"]]
    index = pd.read_parquet(repo / "data" / "reid" / "person_index.parquet")
    truth = repo / "data" / "extract" / "_truth"
    ids = pd.read_parquet(truth / "identities.parquet")
    police = index[index["source"] == "police"].merge(ids, on=["source", "source_id"])
    police = police[["pseudo_id", "person_id"]]
    oracle = pd.read_parquet(truth / "oracle.parquet")
    oracle["as_of_date"] = pd.to_datetime(oracle["as_of_date"])
    feats["as_of_date"] = pd.to_datetime(feats["as_of_date"])
    rows = feats.merge(police, on="pseudo_id").merge(oracle, on=["person_id", "as_of_date"], how="left")
    assert rows["p_true"].notna().mean() > 0.99, "the oracle covers the pipeline's cohort"
    rows = rows.dropna(subset=["p_true"])
    n_dates = feats["as_of_date"].nunique()
    observed, expected = rows["label"].astype(float).mean(), rows["p_true"].mean()
    # A person appears on many dates: inflate the binomial error by sqrt(dates).
    se = (expected * (1 - expected) / len(rows)) ** 0.5 * n_dates**0.5
    assert abs(observed - expected) < 3 * se, (observed, expected, se)


def test_the_cohort_list_follows_the_rule_and_names_the_audited_model(repo: Path, first_run: str) -> None:
    """What `make repro` leaves for the panel: ranks follow risk, tiers obey the rule, and the
    model version named on the list is the registered one whose fairness report is in MLflow."""
    from mlflow.tracking import MlflowClient

    from models.tiering import TieringRule

    params = yaml.safe_load((repo / "params.yaml").read_text())
    rule = TieringRule(**params["publish"]["tiering"])
    cohort = pd.read_csv(repo / "data" / "panel" / "cohort_list.csv")
    assert len(cohort) > rule.red + rule.amber
    ordered = cohort.sort_values("rank")
    assert ordered["rank"].tolist() == list(range(1, len(cohort) + 1))
    assert ordered["risk_12m"].is_monotonic_decreasing
    counts = cohort["suggested_tier"].value_counts()
    assert counts["red"] == rule.red and counts["amber"] == rule.amber
    assert (ordered["suggested_tier"].iloc[: rule.red] == "red").all()

    versions = cohort["model_version"].astype(str).unique()
    assert len(versions) == 1
    registration = json.loads((repo / "data" / "model" / "registration.json").read_text())
    assert versions[0] == str(registration["version"])
    client = MlflowClient()
    mv = client.get_model_version(registration["name"], versions[0])
    audit_run = mv.tags["fairness_run_id"]
    names = {a.path for a in client.list_artifacts(audit_run)} | {
        a.path
        for d in client.list_artifacts(audit_run)
        if d.is_dir
        for a in client.list_artifacts(audit_run, d.path)
    }
    assert any(n.endswith("fairness_report.html") for n in names), names
    fairness = json.loads((repo / "metrics" / "fairness.json").read_text())
    assert str(fairness["model_version"]) == versions[0]
