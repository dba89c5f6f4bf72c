"""Stage ``publish`` on the small simulated area, with hand-shaped scores (documented shape)."""

from __future__ import annotations

import json
import re
import stat
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from fairness.gate import GateBlocked
from iom_contract import TABLES
from iom_panel.cohort import COHORT_COLUMNS
from models.tiering import rank_by_risk

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "iom_panel"))
import panel_testkit as kit


@pytest.fixture(scope="module")
def published(small_pipeline: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("publish")
    scores = kit.write_model_dir(small_pipeline["features"], root / "model")
    kit.write_typology(scores, root / "typology")
    kit.write_fairness(root / "fairness.json")
    paths = {
        "root": root,
        "model": root / "model",
        "typology": root / "typology",
        "fairness": root / "fairness.json",
        "out": root / "panel",
        "reid_out": root / "reid_key",
        "metrics": root / "publish.json",
    }
    kit.publish_into(
        root,
        paths["model"],
        paths["typology"],
        small_pipeline["linked"],
        small_pipeline["reid"],
        small_pipeline["params"],
    )
    return paths


def _read_list(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"pseudo_id": "str", "model_version": "str"}, keep_default_na=False)


def test_cohort_list_contract(published: dict[str, Path], small_pipeline: dict[str, Path]) -> None:
    text = (published["out"] / "cohort_list.csv").read_text(encoding="utf-8")
    assert text.splitlines()[0] == ",".join(COHORT_COLUMNS)
    cl = _read_list(published["out"] / "cohort_list.csv")
    scores = pd.read_parquet(published["model"] / "scores.parquet")
    assert sorted(cl["pseudo_id"]) == sorted(scores["pseudo_id"])
    assert (cl["panel_date"] == "2026-10-31").all()
    assert cl["rank"].tolist() == list(range(1, len(cl) + 1))
    # Ranks follow risk_12m as published, ties by pseudo_id.
    assert (rank_by_risk(cl, "risk_12m", by=None) == cl["rank"]).all()
    assert cl["risk_12m"].is_monotonic_decreasing
    params = yaml.safe_load(small_pipeline["params"].read_text())["publish"]["tiering"]
    counts = cl["suggested_tier"].value_counts()
    assert counts["red"] == min(params["red"], len(cl))
    assert counts["amber"] == min(params["amber"], len(cl) - counts["red"])
    assert set(cl["new_to_list"]) == {True} and set(cl["tier_movement"]) == {"new"}
    assert (cl["model_version"] == "3").all()
    due = cl["release_due"] != ""
    assert due.sum() == scores["release_due"].notna().sum()
    assert cl.loc[due, "release_due"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    assert set(cl["typology"]) <= {
        "general",
        "young_last_chance",
        "older_prison",
        "vulnerable",
        "control_only",
        "other",
        "unassigned",
    }
    assert cl["sources_linked"].str.startswith("police").all()


def test_metrics(published: dict[str, Path]) -> None:
    m = json.loads((published["out"] / "publish.json").read_text())  # every figure, beside the list
    cl = _read_list(published["out"] / "cohort_list.csv")
    # The tracked metrics file holds the headline only, for `dvc metrics show`.
    assert json.loads(published["metrics"].read_text()) == {
        **m["tier_counts"],
        "n_borderline": m["n_borderline"],
    }
    assert m["model_version"] == "3"
    assert m["n_listed"] == len(cl)
    assert m["tier_counts"] == {t: int((cl["suggested_tier"] == t).sum()) for t in ("red", "amber", "green")}
    assert sum(m["typology_counts"].values()) == len(cl)
    assert m["movement_counts"]["new"] == len(cl)
    assert m["overrides"] is None and m["previous_panel_date"] is None
    assert m["coverage_by_agency"]["police"]["share"] == 1.0
    assert m["fairness_gate"]["status"] == "pass"


def test_reid_key_private(published: dict[str, Path], small_pipeline: dict[str, Path]) -> None:
    path = published["reid_out"] / "reid_key.csv"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    key = pd.read_csv(path, dtype="str", keep_default_na=False)
    assert list(key.columns) == ["pseudo_id", "pnc_id", "noms_id", "crn", "health_id", "council_id"]
    cl = _read_list(published["out"] / "cohort_list.csv")
    assert key["pseudo_id"].tolist() == cl["pseudo_id"].tolist()
    index = pd.read_parquet(small_pipeline["reid"] / "person_index.parquet")
    police = index[index["source"] == "police"].set_index("pseudo_id")["source_id"]
    assert (key["pnc_id"] == key["pseudo_id"].map(police)).all()


def _identifying_values(extract: Path) -> set[str]:
    values: set[str] = set()
    for table in TABLES:
        cols = [c.name for c in table.columns if c.identifying]
        path = extract / f"{table.name}.csv"
        if not cols or not path.exists():
            continue
        frame = pd.read_csv(path, usecols=cols, dtype="str", keep_default_na=False)
        for col in cols:
            values |= set(frame[col].str.strip())
    values.discard("")
    return values


def test_privacy_no_identifying_values_published(
    published: dict[str, Path], small_pipeline: dict[str, Path]
) -> None:
    secret = _identifying_values(small_pipeline["extract"])
    assert len(secret) > 1000  # names, dates of birth, postcodes, every source id
    files = [
        published["out"] / "cohort_list.csv",
        published["out"] / "panel_pack.html",
        published["out"] / "publish.json",
        published["metrics"],
    ]
    for path in files:
        text = path.read_text(encoding="utf-8")
        tokens = set(re.findall(r"[A-Za-z0-9/'\-]+", text))
        leaked = sorted(tokens & secret)
        assert not leaked, f"{path.name} carries identifying values: {leaked[:10]}"
        lowered = text.lower()
        assert '"sex"' not in lowered and '"ethnicity"' not in lowered, path.name
    header = (published["out"] / "cohort_list.csv").read_text().splitlines()[0].split(",")
    assert not {"sex", "ethnicity", "date_of_birth", "birth_month", "postcode_district"} & set(header)
    # The check can fail: the re-identification key does carry them.
    key_tokens = set(re.findall(r"[A-Za-z0-9/'\-]+", (published["reid_out"] / "reid_key.csv").read_text()))
    assert key_tokens & secret


def test_gate_block_refuses_without_sign_off(
    published: dict[str, Path], small_pipeline: dict[str, Path], tmp_path: Path
) -> None:
    params = yaml.safe_load(small_pipeline["params"].read_text())
    params["fairness"]["gate"] = "block"
    params["fairness"]["sign_off"] = None
    params_path = tmp_path / "params.yaml"
    params_path.write_text(yaml.safe_dump(params))
    kit.write_fairness(tmp_path / "fairness.json", flagged=["fpr_ratio:ethnicity=Black"])
    args = (
        tmp_path,
        published["model"],
        published["typology"],
        small_pipeline["linked"],
        small_pipeline["reid"],
    )
    with pytest.raises(GateBlocked, match=r"fpr_ratio:ethnicity=Black[\s\S]*sign_off"):
        kit.publish_into(*args, params_path)
    assert not (tmp_path / "panel").exists() and not (tmp_path / "reid_key").exists()
    # Signed off naming the measure: published, and the pack says who signed.
    params["fairness"]["sign_off"] = {
        "by": "A. Analyst, IOM lead",
        "date": "2026-11-02",
        "measures": ["fpr_ratio:ethnicity=Black"],
        "reason": "reviewed at the board",
    }
    params_path.write_text(yaml.safe_dump(params))
    kit.publish_into(*args, params_path)
    page = (tmp_path / "panel" / "panel_pack.html").read_text()
    assert 'id="gate-banner"' in page and "Signed off by A. Analyst, IOM lead on 2026-11-02" in page


def test_missing_fairness_metrics_is_an_error(
    published: dict[str, Path], small_pipeline: dict[str, Path], tmp_path: Path
) -> None:
    with pytest.raises(FileNotFoundError, match="fairness audit"):
        kit.publish_into(
            tmp_path,
            published["model"],
            published["typology"],
            small_pipeline["linked"],
            small_pipeline["reid"],
            small_pipeline["params"],
            fairness=tmp_path / "missing.json",
        )


def test_contract_v1_1_columns_and_reasons(published: dict[str, Path]) -> None:
    from features.reasons import reason_problems

    cl = _read_list(published["out"] / "cohort_list.csv")
    assert set(cl["borderline"]) <= {True, False}
    assert (cl["previous_rank"] == "").all() and (cl["previous_risk_12m"] == "").all()  # a first list
    assert (cl["typology_probability"] == 0.8).all()
    reasons = pd.concat([cl["reasons_up"], cl["reasons_down"]]).str.split("; ").explode()
    reasons = reasons[reasons != ""]
    assert len(reasons) and not [r for r in reasons if reason_problems(r)]
    # The list is kept for the next panel, beside the output folder.
    kept = published["root"] / "published" / "2026-10-31" / "cohort_list.csv"
    assert kept.read_text() == (published["out"] / "cohort_list.csv").read_text()


def test_monthly_publish_writes_metrics_beside_its_list(
    published: dict[str, Path], small_pipeline: dict[str, Path], tmp_path: Path
) -> None:
    from pipelines import publish

    publish.run(
        published["model"],
        published["typology"],
        small_pipeline["linked"],
        small_pipeline["reid"],
        published["fairness"],
        tmp_path / "panel-2026-11",
        tmp_path / "reid_key",
        None,
        small_pipeline["params"],
    )
    assert (tmp_path / "panel-2026-11" / "publish.json").exists()


def test_long_list_keeps_everyone_in_the_csv_and_counts_the_rest_in_the_pack(
    published: dict[str, Path], small_pipeline: dict[str, Path], tmp_path: Path
) -> None:
    """Over ``publish.pack_max_in_full`` the CSV is unchanged (everyone, the contract), the pack
    shows the people to discuss in full and counts the rest, and ``publish.json`` says how many."""
    from pipelines import publish

    params = yaml.safe_load(small_pipeline["params"].read_text(encoding="utf-8"))
    params["publish"]["pack_max_in_full"] = 50
    params_path = tmp_path / "params.yaml"
    params_path.write_text(yaml.safe_dump(params, sort_keys=False))
    out = tmp_path / "panel"
    result = publish.run(
        published["model"],
        published["typology"],
        small_pipeline["linked"],
        small_pipeline["reid"],
        published["fairness"],
        out,
        tmp_path / "reid_key",
        None,
        params_path,
    )
    whole = (published["out"] / "cohort_list.csv").read_text(encoding="utf-8")
    assert (out / "cohort_list.csv").read_text(encoding="utf-8") == whole
    cl = _read_list(out / "cohort_list.csv")
    pack = result["pack"]
    assert pack["n_listed"] == len(cl) > 50 and pack["max_in_full"] == 50
    assert 0 < pack["n_summarised"] == len(cl) - pack["n_in_full"]
    page = (out / "panel_pack.html").read_text(encoding="utf-8")
    m = re.search(r'<script type="application/json" id="pack-data">(.*?)</script>', page, re.S)
    assert m is not None
    data = json.loads(m.group(1))
    shown = {r[data["columns"].index("pseudo_id")] for r in data["rows"]}
    assert len(shown) == pack["n_in_full"] and data["n_listed"] == len(cl)
    must = cl["suggested_tier"].isin(["red", "amber"]) | cl["borderline"].astype(str).eq("true")
    assert set(cl.loc[must, "pseudo_id"]) <= shown
    assert f"Not shown in full: {pack['n_summarised']:,} people" in page
    assert json.loads((out / "publish.json").read_text(encoding="utf-8"))["pack"] == pack
    assert "pack" not in json.loads((published["out"] / "publish.json").read_text(encoding="utf-8"))


def test_publish_reads_only_what_it_uses(
    published: dict[str, Path], small_pipeline: dict[str, Path], tmp_path: Path
) -> None:
    """The pruned reads (linked columns, typology rows at the panel date) give what the whole
    tables give to every function that uses them."""
    from iom_panel.changes import data_freshness, what_changed
    from pipelines.publish import LINKED_TABLES, read_linked_tables, read_typology_at

    linked = small_pipeline["linked"]
    whole = {
        n: pd.read_parquet(linked / f"{n}.parquet") if (linked / f"{n}.parquet").exists() else None
        for n in LINKED_TABLES
    }
    pruned = read_linked_tables(linked)
    assert all(pruned[n] is not None for n in LINKED_TABLES)
    t = pd.Timestamp("2026-10-31")
    assert data_freshness(pruned, t, 60) == data_freshness(whole, t, 60)
    cohort = pd.DataFrame({"pseudo_id": pd.read_parquet(linked / "persons.parquet")["pseudo_id"]})
    for since in ("2026-07-31", "2025-10-31"):
        changed = what_changed(cohort, pruned, since, t)
        assert changed.equals(what_changed(cohort, whole, since, t)) and (changed != "").any()
    at = pd.read_parquet(published["typology"] / "typology.parquet")
    earlier = at.assign(as_of_date=pd.Timestamp("2026-09-30"), typology="unassigned")
    pd.concat([earlier, at, earlier], ignore_index=True).to_parquet(tmp_path / "typology.parquet")
    typ = pd.read_parquet(tmp_path / "typology.parquet")
    expected = typ.loc[(pd.to_datetime(typ["as_of_date"]) == t).to_numpy()].reset_index(drop=True)
    assert len(expected) == len(at) > 0
    pd.testing.assert_frame_equal(read_typology_at(tmp_path / "typology.parquet", t), expected)
