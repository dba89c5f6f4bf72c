"""The features stage entry point (pipelines.features): files, metrics, deterministic bytes."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from features_testkit import linked, qualifying

from features.partitions import partition_path
from pipelines.features import DETAIL_FILE, run

PARAMS = """\
simulate:
  seed: 1
features:
  train_start: "2024-03-31"
  panel_date: null
  min_age: 18
  proven_window_months: 24
  release_window_days: 56
  windows: [3, 12, 36]
  history_months: 60
"""


@pytest.fixture
def workspace(tmp_path: Path) -> dict[str, Path]:
    tables = linked(
        offences=[
            qualifying("b"),
            qualifying("a", "2024-05-01", "2024-06-01"),
            qualifying("a", "2024-09-01", "2024-10-01"),
            {
                "pseudo_id": "c",
                "offence_date": "2026-06-01",
                "outcome": "caution",
                "outcome_date": "2026-06-02",
            },
        ],
        custody=[{"pseudo_id": "c", "reception_date": "2026-07-01", "expected_release_date": "2026-11-20"}],
    )
    folder = tmp_path / "linked"
    folder.mkdir()
    for name, df in tables.items():
        df.to_parquet(folder / f"{name}.parquet", index=False)
    manifest = tmp_path / "manifest.json"
    # The agencies state how far back their records go (the offences alone start in 2024).
    stated = {"contract": "partner-records/1", "extract_date": "2026-10-31", "records_start": "2019-01-01"}
    manifest.write_text(json.dumps(stated))
    params = tmp_path / "params.yaml"
    params.write_text(PARAMS)
    return {"linked": folder, "manifest": manifest, "params": params, "root": tmp_path}


def _run(ws: dict[str, Path], out: str) -> dict:
    return run(
        ws["linked"], ws["manifest"], ws["root"] / out, ws["root"] / f"{out}.json", params_path=ws["params"]
    )


def test_stage_writes_partitions_and_metrics(workspace):
    out = workspace["root"] / "features"
    (out / "as_of_date=2000-01-01").mkdir(parents=True)  # stale partition from an earlier run
    m = _run(workspace, "features")
    dates = sorted(p.name for p in out.iterdir())
    # Quarter ends 2024-03-31..2025-03-31 (last complete at 2026-10-31) plus the panel date.
    assert dates == [
        f"as_of_date={d}"
        for d in ("2024-03-31", "2024-06-30", "2024-09-30", "2024-12-31", "2025-03-31", "2026-10-31")
    ] + [DETAIL_FILE]
    q2 = pd.read_parquet(partition_path(out, pd.Timestamp("2024-06-30")))
    assert list(q2["pseudo_id"]) == ["a", "b"]
    assert list(q2["label"]) == [1, 0]  # a reoffends 2024-09-01
    panel = pd.read_parquet(partition_path(out, pd.Timestamp("2026-10-31")))
    assert list(panel["pseudo_id"]) == ["c"]
    assert panel["is_panel_date"].all() and panel["label"].isna().all()
    assert panel["release_due"].iloc[0] == pd.Timestamp("2026-11-20")

    on_disk = json.loads((out / DETAIL_FILE).read_text())
    assert on_disk == json.loads(json.dumps(m))  # every figure, beside the partitions
    # The tracked metrics file holds the headline only, for `dvc metrics show`.
    headline = json.loads((workspace["root"] / "features.json").read_text())
    assert headline == {
        "n_as_of_dates": 6,
        "rows_total": m["rows_total"],
        "panel_cohort": m["dates"]["2026-10-31"]["cohort_size"],
    }
    assert m["n_as_of_dates"] == 6 and m["panel_date"] == "2026-10-31"
    assert m["records_start"] == "2019-01-01" and m["history_months"] == 60
    assert m["dates"]["2024-06-30"] == {
        "rows": 2,
        "cohort_size": 2,
        "n_release_due": 0,
        "label_complete": True,
        "label_rate": 0.5,
    }
    assert m["dates"]["2026-10-31"]["n_release_due"] == 1
    assert m["dates"]["2026-10-31"]["label_rate"] is None
    assert m["n_features"] == len(q2.columns) - 5  # the file holds no as_of_date (its folder does)


def test_stage_output_is_byte_identical_across_runs(workspace):
    _run(workspace, "one")
    _run(workspace, "two")
    one = sorted((workspace["root"] / "one").rglob("*.parquet"))
    two = sorted((workspace["root"] / "two").rglob("*.parquet"))
    assert [p.relative_to(workspace["root"] / "one") for p in one] == [
        p.relative_to(workspace["root"] / "two") for p in two
    ]
    for a, b in zip(one, two, strict=True):
        assert a.read_bytes() == b.read_bytes()
    assert (workspace["root"] / "one.json").read_bytes() == (workspace["root"] / "two.json").read_bytes()


def test_stage_refuses_dates_without_a_full_history_window(workspace):
    # Without the manifest's statement the records start at the earliest offence
    # (2024-01-10): no training date has 60 months of records before it.
    unstated = {"contract": "partner-records/1", "extract_date": "2026-10-31"}
    workspace["manifest"].write_text(json.dumps(unstated))
    with pytest.raises(ValueError, match=r"2024-03-31, 2024-06-30.*records start on 2024-01-10") as err:
        _run(workspace, "features")
    assert "the earliest offence in the extract" in str(err.value)
    assert not (workspace["root"] / "features").exists()
