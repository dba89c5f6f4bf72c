"""A second panel cycle on the small simulated area, with the real model.

The risk model is trained (and registered in the test's MLflow store) on the fixture
and list 1 is published at the fixture's extract date. The simulator continues the same
world three months on and writes plausible decisions on list 1 into the new extract;
``iom score`` validates, links and featurises the new extract and scores it with the
registered version; list 2 is published. Movement and override figures must equal those
computed here by hand from the decisions. (Typologies are hand-assigned: fitting them is
the typology stage's business and slow.)
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from pipelines import score, simulate, train

sys.path.insert(0, str(Path(__file__).resolve().parent))
import panel_testkit as kit

LEVEL = {"red": 3, "amber": 2, "green": 1, "not_adopted": 0}


def _publish(model: Path, typology: Path, linked: Path, reid: Path, out: Path, params: Path) -> pd.DataFrame:
    kit.write_fairness(out / "fairness.json")
    kit.publish_into(out, model, typology, linked, reid, params)
    return pd.read_csv(out / "panel" / "cohort_list.csv", dtype={"pseudo_id": "str"}, keep_default_na=False)


@pytest.mark.slow
# MLflow warns that the risk model's pyfunc wrapper has an untyped predict (registering it,
# in models/risk_mlflow.py, not ours); nothing in this test depends on that validation.
@pytest.mark.filterwarnings("ignore:.*Any type hint is inferred as AnyType:UserWarning")
def test_second_panel_cycle(small_pipeline: dict[str, Path], tmp_path: Path) -> None:
    fx = small_pipeline
    params = yaml.safe_load(fx["params"].read_text())
    params["train"].update({"n_bootstrap": 3})
    params["mlflow"] = {"log": True}
    params["publish"]["archive"] = str(tmp_path / "published")  # both cycles keep their lists here
    params_path = tmp_path / "params.yaml"
    params_path.write_text(yaml.safe_dump(params, sort_keys=False))

    one = tmp_path / "cycle1"
    train.run(
        fx["features"],
        fx["linked"] / "persons.parquet",
        one / "model",
        one / "model.json",
        one / "rep",
        params_path,
    )
    version = json.loads((one / "model" / "registration.json").read_text())["version"]
    assert version != "unregistered"
    kit.write_typology(pd.read_parquet(one / "model" / "scores.parquet"), one / "typology")
    list1 = _publish(one / "model", one / "typology", fx["linked"], fx["reid"], one, params_path)
    assert (list1["model_version"].astype("str") == version).all()

    two = tmp_path / "cycle2"
    params["simulate"]["out"] = str(two / "extract")
    params_path.write_text(yaml.safe_dump(params, sort_keys=False))
    simulate.run(
        params_path,
        {"out": str(two / "extract"), "extract_date": dt.date(2027, 1, 31)},
        continue_from=fx["extract"],
        progress=False,
        metrics=two / "m" / "simulation.json",
        decide_on=one / "panel" / "cohort_list.csv",
    )
    manifest = json.loads((two / "extract" / "manifest.json").read_text())
    assert manifest["row_counts"]["panel_decisions"] == len(list1)
    work = two / "work"
    score.run(two / "extract", None, version, two / "model", params_path, tmp_path / "no-typology.json", work)
    vm = json.loads((work / "docs" / "validation.json").read_text())["tables"]["panel_decisions"]
    assert vm["reconciled"] and vm["rejected"] == 0
    kit.write_typology(pd.read_parquet(two / "model" / "scores.parquet"), two / "typology")
    list2 = _publish(two / "model", two / "typology", work / "linked", work / "reid", two, params_path)

    decisions = pd.read_parquet(work / "linked" / "panel_decisions.parquet")
    # Same people, same key: the decisions are on list 1's pseudo_ids and suggested tiers.
    d = decisions.set_index("pseudo_id")
    assert set(d.index) == set(list1["pseudo_id"])
    assert (
        d.loc[list1["pseudo_id"], "suggested_tier"].to_numpy() == list1["suggested_tier"].to_numpy()
    ).all()
    assert set(pd.to_datetime(decisions["panel_date"]).dt.date) == {dt.date(2026, 10, 31)}
    changed = decisions["decided_tier"] != decisions["suggested_tier"]
    assert 0.02 < changed.mean() < 0.4  # plausible: mostly accepted, some overrides

    # Movement by hand.
    assert (list2["panel_date"] == "2027-01-31").all()
    prev = list2["pseudo_id"].map(d["decided_tier"])
    new = prev.isna()
    assert (list2["new_to_list"] == new).all()
    assert (list2["previous_tier"] == prev.fillna("")).all()
    now_l, prev_l = list2["suggested_tier"].map(LEVEL), prev.map(LEVEL)
    expected = pd.Series("same", index=list2.index)
    expected[now_l > prev_l] = "up"
    expected[now_l < prev_l] = "down"
    expected[new] = "new"
    assert (list2["tier_movement"] == expected).all()
    assert {"up", "down", "same", "new"} <= set(expected)  # every kind of movement occurs

    m = json.loads((two / "panel" / "publish.json").read_text())
    assert m["previous_panel_date"] == "2026-10-31"
    assert m["movement_counts"] == {k: int((expected == k).sum()) for k in ("up", "down", "same", "new")}
    assert m["n_left_list"] == len(set(list1["pseudo_id"]) - set(list2["pseudo_id"]))
    ov = m["overrides"]
    assert ov["n_decisions"] == len(decisions)
    assert ov["override_rate"] == pytest.approx(round(changed.mean(), 4))
    for tier in ("red", "amber", "green"):
        rows = decisions["suggested_tier"] == tier
        assert ov["by_suggested_tier"][tier]["n_overrides"] == int(changed[rows].sum())
        assert ov["by_suggested_tier"][tier]["override_rate"] == pytest.approx(round(changed[rows].mean(), 4))

    # The previous published list: each person's rank and risk on it, and who left and why.
    one_by_id = list1.set_index("pseudo_id")
    stayed = list2["pseudo_id"].isin(one_by_id.index)
    got_rank = pd.to_numeric(list2.loc[stayed, "previous_rank"]).astype("int64")
    assert (got_rank.to_numpy() == list2.loc[stayed, "pseudo_id"].map(one_by_id["rank"]).to_numpy()).all()
    assert (list2.loc[~stayed, "previous_rank"] == "").all()
    assert (tmp_path / "published" / "2026-10-31" / "cohort_list.csv").exists()
    assert (tmp_path / "published" / "2027-01-31" / "cohort_list.csv").exists()
    assert m["previous_list_date"] == "2026-10-31"
    assert sum(m["left_list_reasons"].values()) == len(set(list1["pseudo_id"]) - set(list2["pseudo_id"]))
    pack = (two / "panel" / "panel_pack.html").read_text(encoding="utf-8")
    assert "Left the list since the last panel" in pack and "2026-10-31" in pack
