"""``pipelines.simulate.write_decisions``: decisions into a later extract, manifest reconciled."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from linkage.keys import DEV_KEY, pseudonymise
from pipelines.simulate import true_risk_by_pseudo_id, write_decisions

PNC = ["01/1A", "02/2B", "03/3C", "04/4D"]


def _world(tmp_path: Path) -> tuple[Path, Path, Path, list[str]]:
    earlier, later = tmp_path / "earlier", tmp_path / "later"
    pseudo = pseudonymise(pd.Series(["pnc:" + p for p in PNC]), DEV_KEY).tolist()
    for extract in (earlier, later):
        (extract / "_truth").mkdir(parents=True)
        pd.DataFrame({"person_id": [1, 2, 3, 4], "source": "police", "source_id": PNC}).to_parquet(
            extract / "_truth" / "identities.parquet"
        )
    pd.DataFrame(
        {
            "person_id": [1, 2, 3, 4, 1],
            "as_of_date": pd.to_datetime(["2026-10-31"] * 4 + ["2026-09-30"]),
            "p_true": [0.9, 0.1, 0.5, 0.2, 0.0],
        }
    ).to_parquet(earlier / "_truth" / "oracle.parquet")
    (later / "manifest.json").write_text(
        json.dumps(
            {
                "area": "x",
                "contract": "partner-records/1",
                "extract_date": "2027-01-31",
                "row_counts": {"a": 1},
            }
        )
    )
    (earlier / "panel_decisions.csv").write_text(
        "pseudo_id,panel_date,suggested_tier,decided_tier,reason\n"
        f"{pseudo[0]},2026-07-31,amber,red,earlier\n"
        f"{pseudo[1]},2026-10-31,green,green,\n"  # superseded: list 1 is the 2026-10-31 panel
    )
    listed = pd.DataFrame(
        {
            "pseudo_id": pseudo,
            "panel_date": "2026-10-31",
            "rank": [1, 2, 3, 4],
            "risk_12m": [0.5, 0.4, 0.3, 0.2],
            "suggested_tier": ["red", "amber", "green", "green"],
        }
    )
    listed.to_csv(tmp_path / "cohort_list.csv", index=False)
    return earlier, later, tmp_path / "cohort_list.csv", pseudo


def test_true_risk_mapped_through_dev_key(tmp_path: Path) -> None:
    earlier, later, _, pseudo = _world(tmp_path)
    risk = true_risk_by_pseudo_id([earlier / "_truth", later / "_truth"], pd.Timestamp("2026-10-31"))
    assert risk.loc[pseudo].tolist() == [0.9, 0.1, 0.5, 0.2]


def test_decisions_written_with_history_and_manifest(tmp_path: Path) -> None:
    earlier, later, cohort_list, pseudo = _world(tmp_path)
    n = write_decisions(cohort_list, earlier, later, seed=5, fmt="csv")
    text = (later / "panel_decisions.csv").read_text()
    got = pd.read_csv(later / "panel_decisions.csv", keep_default_na=False)
    assert n == 5 == len(got)
    assert list(got.columns) == ["pseudo_id", "panel_date", "suggested_tier", "decided_tier", "reason"]
    assert got["panel_date"].tolist() == ["2026-07-31"] + ["2026-10-31"] * 4
    assert got.loc[0, "reason"] == "earlier"
    new = got[got["panel_date"] == "2026-10-31"].set_index("pseudo_id")
    assert new.loc[pseudo, "suggested_tier"].tolist() == ["red", "amber", "green", "green"]
    manifest = json.loads((later / "manifest.json").read_text())
    assert manifest["row_counts"] == {"a": 1, "panel_decisions": 5}
    # Reproducible: the same seed writes the same bytes.
    write_decisions(cohort_list, earlier, later, seed=5, fmt="csv")
    assert (later / "panel_decisions.csv").read_text() == text


def test_decisions_cannot_postdate_the_extract(tmp_path: Path) -> None:
    earlier, later, cohort_list, _ = _world(tmp_path)
    manifest = json.loads((later / "manifest.json").read_text())
    (later / "manifest.json").write_text(json.dumps({**manifest, "extract_date": "2026-10-30"}))
    with pytest.raises(ValueError, match="after the new extract date"):
        write_decisions(cohort_list, earlier, later, seed=5, fmt="csv")


def test_decide_on_needs_continue_from(tmp_path: Path) -> None:
    from pipelines import simulate

    with pytest.raises(ValueError, match="--continue-from"):
        simulate.run(tmp_path / "params.yaml", {}, decide_on=tmp_path / "cohort_list.csv")
