"""One clerical review cycle end to end through the link stage, with a simulated reviewer."""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from linkage_fixtures import KEY, known_answer_tables
from typer.testing import CliRunner

from linkage import LinkParams, link_extract
from linkage.review import ReviewFileError
from linkage.synthetic import without_police_nominals
from pipelines import link as stage
from pipelines.cli import app
from simulator.reviewer import simulate_review

SMALL_AREA_BLOCKS = (("dob_unordered",), ("forename_key", "surname_std"), ("forename_sdx", "surname_sdx"))


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


class Layout:
    """A validated extract with its truth, and the stage's folders, under one tmp folder."""

    def __init__(self, root: Path) -> None:
        tables, truth = known_answer_tables(n_nominals=800, seed=11)
        self.root = root
        self.truth = truth
        extract = root / "extract"
        (extract / "_truth").mkdir(parents=True)
        truth.to_parquet(extract / "_truth" / "identities.parquet")
        self.validated = root / "validated"
        self.validated.mkdir()
        for name, frame in tables.items():
            frame.to_parquet(self.validated / f"{name}.parquet")
        (self.validated / "manifest.json").write_text(
            json.dumps({"area": "Testshire", "extract_date": "2026-10-31"})
        )
        self.decisions = root / "clerical"
        self.reid = root / "reid"
        self.extract = extract

    def params(self, **link: Any) -> Path:
        path = self.root / "params.yaml"
        values = {
            "allow_dev_key": True,
            "max_pairs": 200_000,
            "decisions_dir": str(self.decisions),
            # The default blocks, plus the wide ones a small unit can afford (DOB alone, a
            # name pair alone): they bring the weak candidates a review cycle is about.
            # 800 nominals leave the default blocks almost nothing to review.
            "prediction_blocks": [*LinkParams().prediction_blocks, *SMALL_AREA_BLOCKS],
            **link,
        }
        path.write_text(yaml.safe_dump({"validate": {"extract": str(self.extract)}, "link": values}))
        return path

    def run(self, **link: Any) -> dict[str, Any]:
        return stage.run(
            self.validated,
            out=self.root / "linked",
            reid=self.reid,
            metrics=self.root / "linkage.json",
            reports=self.root / "reports",
            params_path=self.params(**link),
        )

    def review_file(self) -> Path:
        return self.reid / stage.CLERICAL_REVIEW

    def fill(self, error_rate: float = 0.0) -> pd.DataFrame:
        filled = simulate_review(stage.read_review_file(self.review_file()), self.truth, error_rate, seed=1)
        with stage.private_file(self.review_file(), "w", encoding=stage.CSV_ENCODING) as f:
            filled.to_csv(f, index=False)
        return filled


@pytest.fixture(scope="module")
def cycle(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Layout, dict[str, Any], pd.DataFrame, dict[str, Any]]:
    """Run, review every queued pair (truth, no errors), record, run again."""
    layout = Layout(tmp_path_factory.mktemp("review_cycle"))
    before = layout.run()
    shutil.copy2(layout.review_file(), layout.root / "first_review.csv")
    filled = layout.fill()
    stage.record_review(layout.review_file(), params_path=layout.params())
    after = layout.run()
    return layout, before, filled, after


def test_review_file_is_private_ordered_and_opens_in_a_spreadsheet(cycle: tuple) -> None:
    layout, before, _, _ = cycle
    assert _mode(layout.review_file()) == 0o600 and _mode(layout.reid) == 0o700
    path = layout.root / "first_review.csv"  # as the first run wrote it
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel reads names right
    review = stage.read_review_file(path)
    assert review.columns[:4].tolist() == ["queue_position", "decision", "source", "source_id"]
    assert {"agency_surname", "candidate_surname", "level_dob", "level_forename", "pair_check"} <= set(review)
    assert (review["decision"] == "").all()
    positions = review["queue_position"].astype(int)
    assert positions.is_monotonic_increasing
    assert int(review["queue_size"].iloc[0]) == positions.max() == before["clerical_review"]["identities"]
    # People in the cohort first, then by records the link would bring.
    per_identity = review.drop_duplicates("queue_position")
    cohort = (per_identity["in_cohort"] == "yes").to_numpy()
    assert not (np.diff(cohort.astype(int)) > 0).any()


def test_one_cycle_raises_recall_holds_precision_and_never_requeues(cycle: tuple) -> None:
    layout, before, filled, after = cycle
    decided = filled[filled["decision"] != ""]
    assert after["clerical_review"]["pairs_decided_by_person"] == {
        "match": int((decided["decision"] == "match").sum()),
        "no_match": int((decided["decision"] == "no_match").sum()),
    }
    for source in ("health", "housing"):
        b, a = before["truth"][source], after["truth"][source]
        assert a["recall"] > b["recall"], source
        assert a["precision"] >= 0.99, source
    requeued = stage.read_review_file(layout.review_file()).merge(
        decided[["source", "source_id", "candidate_source", "candidate_id"]]
    )
    assert requeued.empty
    assert after["clerical_review"]["pairs_pending"] < before["clerical_review"]["pairs_pending"]


def test_ledger_holds_identifiers_only_and_is_private(cycle: tuple) -> None:
    layout, _, filled, after = cycle
    ledger_path = layout.decisions / stage.DECISIONS
    assert _mode(ledger_path) == 0o600 and _mode(layout.decisions) == 0o700
    ledger = pd.read_csv(ledger_path, dtype="str", keep_default_na=False)
    assert not any("forename" in c or "surname" in c or "birth" in c for c in ledger.columns)
    metrics_text = (layout.root / "linkage.json").read_text() + (
        layout.root / "reports" / stage.DETAIL_FILE
    ).read_text()
    for name in filled["agency_surname"].dropna().unique()[:50]:
        assert f'"{name}"' not in metrics_text
    assert after["clerical_review"]["decisions_in_ledger"] == len(ledger)


def test_no_match_survives_a_rerun_with_a_lower_threshold(cycle: tuple) -> None:
    layout = cycle[0]
    # The model would now link every identity's best candidate above 0.5 on its own.
    metrics = layout.run(accept=0.5, review_low=0.5, ambiguity_margin=0.0)
    ledger = stage.read_decisions(layout.decisions)
    index = pd.read_parquet(layout.reid / stage.PERSON_INDEX)
    pseudo = index.set_index(["source", "source_id"])["pseudo_id"]
    kept_apart = ledger[ledger["decision"] == "no_match"]
    left = pseudo.reindex(pd.MultiIndex.from_frame(kept_apart[["source", "source_id"]])).to_numpy()
    right = pseudo.reindex(
        pd.MultiIndex.from_frame(kept_apart[["candidate_source", "candidate_id"]])
    ).to_numpy()
    assert len(kept_apart) > 0
    assert not ((left == right) & pd.notna(left)).any()
    assert metrics["clerical_review"]["decisions_conflicting_with_model"]["no_match_where_model_links"] > 0
    matched = ledger[ledger["decision"] == "match"]
    left = pseudo.reindex(pd.MultiIndex.from_frame(matched[["source", "source_id"]])).to_numpy()
    right = pseudo.reindex(pd.MultiIndex.from_frame(matched[["candidate_source", "candidate_id"]])).to_numpy()
    assert (left == right).all()


def test_malformed_file_records_nothing(cycle: tuple, tmp_path: Path) -> None:
    layout = cycle[0]
    ledger_before = (layout.decisions / stage.DECISIONS).read_bytes()
    review = stage.read_review_file(layout.review_file())
    review.loc[0, "decision"] = "yes"
    review.loc[1, "decision"] = "match"
    bad = tmp_path / "clerical_review.csv"
    review.to_csv(bad, index=False)
    result = CliRunner().invoke(
        app, ["review", "--review", str(bad), "--params", str(layout.params())], catch_exceptions=False
    )
    assert result.exit_code == 2
    assert "row 2, column 'decision', unknown decision" in result.output
    assert (layout.decisions / stage.DECISIONS).read_bytes() == ledger_before


def test_unrecorded_decisions_are_never_overwritten(cycle: tuple) -> None:
    layout = cycle[0]
    review = stage.read_review_file(layout.root / "first_review.csv")
    ledger = stage.read_decisions(layout.decisions).set_index(["source", "source_id", "candidate_id"])
    recorded = ledger.loc[tuple(review.loc[0, ["source", "source_id", "candidate_id"]]), "decision"]
    review.loc[0, "decision"] = "match" if recorded == "no_match" else "no_match"  # a change of mind
    with stage.private_file(layout.review_file(), "w", encoding=stage.CSV_ENCODING) as f:
        review.to_csv(f, index=False)
    typed = layout.review_file().read_bytes()
    with pytest.raises(ReviewFileError, match="1 decision\\(s\\) typed in but not recorded"):
        layout.run()
    assert layout.review_file().read_bytes() == typed
    layout.review_file().unlink()


def test_stale_decision_is_reported(cycle: tuple) -> None:
    layout = cycle[0]
    saved = layout.root / "ledger.bak"
    shutil.copy(layout.decisions / stage.DECISIONS, saved)
    ledger = stage.read_decisions(layout.decisions)
    gone = pd.DataFrame(
        [{"source": "health", "source_id": "H-GONE", "candidate_source": "police", "candidate_id": "99/9Z",
          "decision": "match", "decided_on": "2026-11-01", "match_probability_when_decided": 0.8,
          "reviewer": "", "note": ""}]
    )  # fmt: skip
    stage.write_decisions(pd.concat([ledger, gone], ignore_index=True), layout.decisions)
    try:
        metrics = layout.run()
    finally:
        shutil.copy(saved, layout.decisions / stage.DECISIONS)
    assert metrics["clerical_review"]["decisions_stale"] == {"identity_gone": 1}
    stale = pd.read_csv(layout.reid / stage.STALE_DECISIONS, dtype="str")
    assert stale["source_id"].tolist() == ["H-GONE"]
    assert _mode(layout.reid / stage.STALE_DECISIONS) == 0o600


def test_probation_only_people_are_candidates_for_health_and_housing() -> None:
    tables, truth = known_answer_tables()
    tables, dropped = without_police_nominals(tables, 0.4, np.random.default_rng(5))
    assert len(dropped) > 50
    result = link_extract(tables, LinkParams(max_pairs=300_000), KEY, truth)
    assert result.metrics["unlinked"]["probation_only_candidates"] >= len(dropped)
    for source in ("health", "housing"):
        alone = result.metrics["truth"][source]["to_probation_only"]
        assert alone["n_predicted"] > 10, source
        assert alone["precision"] >= 0.99, source
        assert alone["recall"] >= 0.8, source
