"""The whole simulator, files included: contract shape, determinism, a later extract."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from iom_contract import TABLES
from pipelines import simulate as stage
from simulator import SimulateParams, simulate_extract

N = 600


@pytest.fixture(scope="module")
def extract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sim") / "extract"
    simulate_extract(SimulateParams(nominals=N, seed=5), out, show_progress=False)
    return out


def _read(extract: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(extract / f"{name}.csv", dtype=str, keep_default_na=False)


def test_every_table_has_exactly_the_contract_columns(extract: Path) -> None:
    manifest = json.loads((extract / "manifest.json").read_text())
    assert manifest["contract"] == "partner-records/1"
    for t in TABLES:
        if t.optional:
            assert not (extract / f"{t.name}.csv").exists()
            continue
        df = _read(extract, t.name)
        assert tuple(df.columns) == t.column_names, t.name
        assert manifest["row_counts"][t.name] == len(df), t.name


def test_identifiers_have_their_formats(extract: Path) -> None:
    for t in TABLES:
        if t.optional:
            continue
        df = _read(extract, t.name)
        for c in t.columns:
            if c.pattern:
                values = df[c.name][df[c.name] != ""]
                bad = values[~values.str.match(c.pattern)]
                assert bad.empty, f"{t.name}.{c.name}: {bad.head().tolist()}"
    nominals = _read(extract, "police_nominals")
    assert nominals["pnc_id"].is_unique and len(nominals) == N


def test_dates_are_iso_and_not_after_the_extract(extract: Path) -> None:
    iso = re.compile(r"^\d{4}-\d{2}-\d{2}$")
    for t in TABLES:
        if t.optional:
            continue
        df = _read(extract, t.name)
        for c in t.columns:
            if c.kind != "date":
                continue
            values = df[c.name][df[c.name] != ""]
            assert values.map(lambda v: bool(iso.match(v))).all(), f"{t.name}.{c.name}"
            if not c.planned:
                assert (values <= "2026-10-31").all(), f"{t.name}.{c.name}"


def test_truth_sidecar(extract: Path) -> None:
    truth = extract / "_truth"
    persons = pd.read_parquet(truth / "persons.parquet")
    oracle = pd.read_parquet(truth / "oracle.parquet")
    ids = pd.read_parquet(truth / "identities.parquet")
    assert {"person_id", "typology", "sex", "ethnicity", "date_of_birth"} <= set(persons.columns)
    assert oracle["p_true"].between(0, 1).all()
    assert set(ids["source"]) >= {"police", "probation", "health", "housing"}
    assert json.loads((truth / "world.json").read_text())["params"]["nominals"] == N


def test_same_seed_gives_byte_identical_files(extract: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    simulate_extract(SimulateParams(nominals=N, seed=5), again, show_progress=False)
    first = {p.relative_to(extract): p.read_bytes() for p in extract.rglob("*") if p.is_file()}
    second = {p.relative_to(again): p.read_bytes() for p in again.rglob("*") if p.is_file()}
    assert first.keys() == second.keys()
    assert [k for k in first if first[k] != second[k]] == []


def test_parquet_format_holds_the_same_rows(extract: Path, tmp_path: Path) -> None:
    pq = tmp_path / "pq"
    simulate_extract(SimulateParams(nominals=N, seed=5, format="parquet"), pq, show_progress=False)
    for t in TABLES:
        if t.optional:
            continue
        assert len(pd.read_parquet(pq / f"{t.name}.parquet")) == len(_read(extract, t.name)), t.name


def test_a_later_extract_of_the_same_world_keeps_people_and_identifiers(
    extract: Path, tmp_path: Path
) -> None:
    later = tmp_path / "later"
    stage.run(
        Path("params.yaml"),
        {"out": str(later), "extract_date": pd.Timestamp("2027-01-31").date()},
        continue_from=extract,
        progress=False,
        metrics=tmp_path / "m.json",
    )
    a, b = _read(extract, "police_nominals"), _read(later, "police_nominals")
    pd.testing.assert_frame_equal(a, b)
    off_a, off_b = _read(extract, "police_offences"), _read(later, "police_offences")
    assert len(off_b) > len(off_a)
    kept = off_b[off_b["offence_id"].isin(off_a["offence_id"])]
    assert len(kept) == len(off_a), "every offence of the first extract is in the second, with its id"
    ta = pd.read_parquet(extract / "_truth" / "identities.parquet")
    tb = pd.read_parquet(later / "_truth" / "identities.parquet")
    merged = ta.merge(tb, on=["source", "source_id"], how="left", suffixes=("", "_later"))
    assert (merged["person_id"] == merged["person_id_later"]).all(), "an identifier changed owner"
