"""Stage ``typology`` on the small simulated area: outputs, reruns, privacy, leakage."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from features import FeatureParams, build_features_at
from features.partitions import read_features
from iom_config import load_params
from models.typology import assign_typology, load_model
from models.typology_naming import TYPOLOGY_LABELS
from pipelines import typology as stage
from pipelines.features import read_extract_date, read_linked

OUTPUTS = (
    "data/typology.parquet",
    "data/model.json",
    "data/structure.json",
    "metrics/typology.json",
    "reports/typology.json",
    "reports/profiles.csv",
    "reports/profile_heatmap.png",
    "reports/typology_mix.png",
)


def _params(small_pipeline: dict[str, Path], dest: Path) -> Path:
    raw = yaml.safe_load(small_pipeline["params"].read_text(encoding="utf-8"))
    raw["typology"] = {**raw.get("typology", {}), "n_bootstrap": 2, "k_min": 3, "k_max": 6}
    path = dest / "params.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def _run(small_pipeline: dict[str, Path], dest: Path, params: Path) -> dict[str, Any]:
    return stage.run(
        small_pipeline["features"],
        dest / "data",
        dest / "metrics" / "typology.json",
        dest / "reports",
        params,
        truth_dir=small_pipeline["truth"],
        reid=small_pipeline["reid"],
    )


@pytest.fixture(scope="module")
def staged(small_pipeline: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The stage run twice into two folders (same params and inputs)."""
    first = tmp_path_factory.mktemp("typology_a")
    second = tmp_path_factory.mktemp("typology_b")
    params = _params(small_pipeline, first)
    result = _run(small_pipeline, first, params)
    _run(small_pipeline, second, params)
    return {"first": first, "second": second, "params": params, "result": result}


def test_stage_writes_every_output_with_the_interface_columns(
    staged: dict[str, Any], small_pipeline: dict[str, Path]
) -> None:
    root: Path = staged["first"]
    for rel in OUTPUTS:
        assert (root / rel).stat().st_size > 0, rel
    out = pd.read_parquet(root / "data" / "typology.parquet")
    assert list(out.columns) == list(stage.OUTPUT_COLUMNS)
    feats = read_features(small_pipeline["features"])
    # Every person-date, panel date included, gets exactly one typology.
    assert len(out) == len(feats)
    assert not out.duplicated(["pseudo_id", "as_of_date"]).any()
    assert set(out["as_of_date"]) == set(feats["as_of_date"])
    assert set(out["typology"]) <= set(TYPOLOGY_LABELS)
    assert out["membership_probability"].between(0, 1).all()
    # The atypical marker: set exactly where a reason is given, only on the four names.
    assert (out["atypical"] == (out["atypical_reason"] != "")).all()
    assert (
        out.loc[out["atypical"], "typology"]
        .isin(["young_last_chance", "older_prison", "vulnerable", "control_only"])
        .all()
    )


def test_metrics_report_k_curve_stability_sizes_and_truth(staged: dict[str, Any]) -> None:
    m = json.loads((staged["first"] / "reports" / stage.DETAIL_FILE).read_text(encoding="utf-8"))
    # The tracked metrics file holds the headline only, for `dvc metrics show`.
    headline = json.loads((staged["first"] / "metrics" / "typology.json").read_text(encoding="utf-8"))
    assert headline == {
        "structure_found": m["structure_found"],
        "n_clusters": m["n_clusters"],
        "stability": m["stability"],
        "contradicted": m["consistency_panel"]["contradicted_share"],
        "ari_fit": m["truth"]["fit_rows"]["ari_typology"],
        "ari_panel": m["truth"]["panel_date"]["ari_typology"],
    }
    assert 3 <= m["n_clusters"] <= 6
    assert sorted(m["criterion"], key=int) == ["3", "4", "5", "6"]
    assert all({"bic", "stability"} <= set(v) for v in m["criterion"].values())
    assert 0 <= m["stability"] <= 1
    assert sum(m["size_fit"].values()) == m["n_fit_people"]
    # The structure decision and its evidence, as plain fields the panel pack shows.
    assert isinstance(m["structure_found"], bool)
    assert m["structure_message"] == (
        "" if m["structure_found"] else "no stable typology structure in this extract"
    )
    assert {"bic_gain_per_person", "null_bic_gain_per_person", "typologies", "reasons"} <= set(m["structure"])
    structure = json.loads((staged["first"] / "data" / "structure.json").read_text(encoding="utf-8"))
    assert structure["structure_found"] == m["structure_found"]
    assert set(structure["shown_typologies"]) <= set(m["size_fit"])
    c = m["consistency_panel"]
    assert 0 <= c["n_atypical"] <= c["n_seed_labelled"]
    assert c["contradicted_share"] == (
        round(c["n_atypical"] / c["n_seed_labelled"], 4) if c["n_seed_labelled"] else 0
    )
    truth = m["truth"]["fit_rows"]
    assert -1 <= truth["ari_typology"] <= 1
    assert sum(sum(r.values()) for r in truth["confusion"].values()) == truth["n_people"]
    assert set(truth["seed_typologies"]) == {
        "young_last_chance",
        "older_prison",
        "vulnerable",
        "control_only",
    }


def test_rerun_is_byte_identical(staged: dict[str, Any]) -> None:
    def digest(p: Path) -> str:
        return hashlib.sha256(p.read_bytes()).hexdigest()

    for rel in OUTPUTS:
        assert digest(staged["first"] / rel) == digest(staged["second"] / rel), rel


def test_loaded_model_reassigns_the_stage_output(
    staged: dict[str, Any], small_pipeline: dict[str, Path]
) -> None:
    """The score stage's call: ``assign_typology(load_model(path), features)``."""
    model = load_model(staged["first"] / "data" / "model.json")
    feats = read_features(small_pipeline["features"])
    again = assign_typology(model, feats)
    written = pd.read_parquet(staged["first"] / "data" / "typology.parquet")
    pd.testing.assert_frame_equal(again[list(stage.OUTPUT_COLUMNS)], written, check_dtype=False)
    proba = model.predict_proba(feats)
    assert proba.shape == (len(feats), len(model.classes_))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_mlflow_run_holds_aggregates_only(staged: dict[str, Any], small_pipeline: dict[str, Path]) -> None:
    import mlflow

    from pipelines.tracking import area_near, experiment_name

    mlflow.set_tracking_uri(os.environ["MLFLOW_TRACKING_URI"])
    # The stage logs to its extract's area (iom/<area>), as every stage does.
    exp = mlflow.get_experiment_by_name(experiment_name(area_near(small_pipeline["features"], "typology")))
    assert exp is not None
    runs = mlflow.search_runs([exp.experiment_id], "params.k_max = '6'", output_format="list")
    assert len(runs) >= 2
    run = runs[0]
    assert "stability" in run.data.metrics
    assert run.data.params["rules.older_prison.age_mean.min"] == "35.0"
    root = Path(mlflow.artifacts.download_artifacts(run_id=run.info.run_id))
    files = [p for p in root.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"typology.json", "model.json", "profiles.csv", "profile_heatmap.png"}
    ids = set(read_features(small_pipeline["features"])["pseudo_id"].astype(str))
    probe = sorted(ids)[:: max(len(ids) // 200, 1)]
    for p in files:
        text = p.read_bytes().decode("utf-8", errors="ignore")
        assert "pseudo_id" not in text, p.name
        assert not [i for i in probe if i in text], p.name


def test_typology_unchanged_by_records_dated_after_as_of(
    staged: dict[str, Any], small_pipeline: dict[str, Path]
) -> None:
    """Append a later-dated copy of every linked record and rebuild one as-of date."""
    model = load_model(staged["first"] / "data" / "model.json")
    tables = read_linked(small_pipeline["linked"])
    extract = read_extract_date(small_pipeline["validated"] / "manifest.json")
    fparams = load_params("features", FeatureParams, small_pipeline["params"])
    as_of = pd.Timestamp("2022-06-30")
    later = dict(tables)
    for name, table in tables.items():
        dates = [c for c in table.columns if c.endswith("_date")]
        if name == "persons" or not dates:
            continue
        first = table[dates].min().min()
        shift = as_of - first + pd.Timedelta(days=1)
        copy = table.assign(**{c: table[c] + shift for c in dates})
        copy = copy[(copy[dates].min(axis=1) > as_of) & (copy[dates].max(axis=1) <= extract)]
        later[name] = pd.concat([table, copy], ignore_index=True)
    added = sum(len(later[n]) - len(tables[n]) for n in tables)
    assert added > 1000
    before = build_features_at(tables, as_of, fparams, extract)
    after = build_features_at(later, as_of, fparams, extract)
    assert not before["label"].equals(after["label"])  # the later records are really there
    a = assign_typology(model, before.drop(columns=["label", "label_complete"]))
    b = assign_typology(model, after.drop(columns=["label", "label_complete"]))
    pd.testing.assert_frame_equal(a, b)


# --- a world with no typologies ----------------------------------------------------------

NULL_SHARES = {
    "general": 1.0,
    "young_last_chance": 0.0,
    "older_prison": 0.0,
    "vulnerable": 0.0,
    "control_only": 0.0,
}


def _null_world(root: Path, seed: int, nominals: int) -> dict[str, Path]:
    """simulate -> features on a world where one continuous propensity drives everyone."""
    from pipelines import features, link, simulate, validate

    raw = yaml.safe_load((Path(__file__).resolve().parents[2] / "params.yaml").read_text(encoding="utf-8"))
    raw["simulate"].update(
        {"nominals": nominals, "seed": seed, "out": str(root / "extract"), "typology_shares": NULL_SHARES}
    )
    raw["validate"]["extract"] = str(root / "extract")
    # The typology section is the repository's own, unchanged but for MLflow.
    raw["mlflow"] = {"log": False}
    params = root / "params.yaml"
    params.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    m = root / "metrics"
    simulate.run(params, {}, progress=False, metrics=m / "simulation.json")
    validate.run(root / "extract", root / "validated", m / "validation.json", root / "docs", params)
    link.run(root / "validated", root / "linked", root / "reid", m / "linkage.json", root / "linkage", params)
    features.run(
        root / "linked", root / "validated" / "manifest.json", root / "features", m / "features.json", params
    )
    return {
        "params": params,
        "features": root / "features",
        "truth": root / "extract" / "_truth",
        "reid": root / "reid",
    }


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_null_world_gets_no_seed_typology(seed: int, tmp_path: Path) -> None:
    """No typologies in the world: at most 2% of people get one of the four names, and the
    stage says why (issue 15). About a minute per seed."""
    world = _null_world(tmp_path, seed, 3000)
    truth = pd.read_parquet(world["truth"] / "persons.parquet", columns=["typology"])
    assert set(truth["typology"].dropna()) == {"general"}  # distractors have none
    result = stage.run(
        world["features"],
        tmp_path / "data",
        tmp_path / "metrics" / "typology.json",
        tmp_path / "reports",
        world["params"],
        truth_dir=world["truth"],
        reid=world["reid"],
    )
    out = pd.read_parquet(tmp_path / "data" / "typology.parquet")
    seeded = out["typology"].isin(["young_last_chance", "older_prison", "vulnerable", "control_only"])
    panel = out["as_of_date"] == out["as_of_date"].max()
    assert seeded.mean() <= 0.02
    assert seeded[panel].mean() <= 0.02
    fit_sizes = result["size_fit"]
    assert sum(v for k, v in fit_sizes.items() if k in NULL_SHARES and k != "general") <= 0.02 * sum(
        fit_sizes.values()
    )
    structure = json.loads((tmp_path / "data" / "structure.json").read_text(encoding="utf-8"))
    metrics = json.loads((tmp_path / "metrics" / "typology.json").read_text(encoding="utf-8"))
    assert structure["structure_found"] == metrics["structure_found"]
    if not structure["structure_found"]:
        assert structure["structure_message"] == "no stable typology structure in this extract"
        assert structure["reasons"]
        assert set(out["typology"]) == {"unassigned"}
