"""A long list's pack: above ``publish.pack_max_in_full`` it shows in full everyone the panel
must discuss and counts the rest exactly; at or under it, the pack is the whole list, unchanged."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pandas as pd
import pytest

from iom_panel.pack import DATA_COLUMNS, PACK_MAX_IN_FULL, _script, render_pack, summarised_view

sys.path.insert(0, str(Path(__file__).resolve().parent))
import panel_testkit as kit

GATE = {"mode": "report", "status": "pass", "flagged": [], "summary": "", "model_version": "3"}


def _blob(page: str) -> dict[str, object]:
    m = re.search(r'<script type="application/json" id="pack-data">(.*?)</script>', page, re.S)
    assert m is not None
    return dict(json.loads(m.group(1)))


def _shown(page: str) -> set[str]:
    rows = _blob(page)["rows"]
    assert isinstance(rows, list)
    return {r[DATA_COLUMNS.index("pseudo_id")] for r in rows}


def _must_discuss(cohort: pd.DataFrame, first_panel: bool) -> pd.Series:
    """Written out here, apart from the module's rules, so a rule dropped there fails here."""
    c = cohort
    return (
        c["suggested_tier"].isin(["red", "amber"])
        | c["borderline"].astype(bool)
        | (c["new_to_list"].astype(bool) & (not first_panel))
        | c["tier_movement"].isin(["up", "down"])
        | c["previous_tier"].isin(["red", "amber", "not_adopted"])
        | (c["atypical_reason"] != "")
        | c["release_due"].notna()
    )


def _count(page: str, table: str) -> dict[str, int]:
    m = re.search(rf'<table class="small" id="{table}">.*?</table>', page, re.S)
    assert m is not None
    cells = re.findall(r"<tr><td>(.*?)</td><td class=\"num\">([\d,]+)</td></tr>", m.group(0))
    return {k: int(v.replace(",", "")) for k, v in cells}


def test_long_list_shows_everyone_to_discuss_and_counts_the_rest() -> None:
    cohort, result = kit.long_list(240)
    page = render_pack(cohort, result, GATE, interval="a 90% interval", max_in_full=100)
    must = _must_discuss(cohort, first_panel=False)
    rest = cohort.loc[~must]
    assert 0 < len(rest) < len(cohort) - 18  # the synthetic list exercises every side

    shown = _shown(page)
    assert shown == set(cohort.loc[must, "pseudo_id"])
    for col in ("red", "amber"):
        assert set(cohort.loc[cohort["suggested_tier"] == col, "pseudo_id"]) <= shown
    assert set(cohort.loc[cohort["borderline"], "pseudo_id"]) <= shown
    assert set(cohort.loc[cohort["new_to_list"], "pseudo_id"]) <= shown
    assert cohort["new_to_list"].any() and cohort["tier_movement"].isin(["up", "down"]).any()
    # Everyone summarised is routine: green, settled, decided green last time.
    assert set(rest["suggested_tier"]) == {"green"} and set(rest["tier_movement"]) == {"same"}

    assert _blob(page)["n_listed"] == len(cohort)
    assert f"Not shown in full: {len(rest):,} people" in page
    assert re.search(rf"other <strong>{len(rest):,}</strong>", page)
    assert "every one of them is in <code>cohort_list.csv</code>" in page
    assert _count(page, "rest-tiers") == {"red": 0, "amber": 0, "green": len(rest)}
    assert _count(page, "rest-movement") == {
        "moved up": 0,
        "moved down": 0,
        "same tier": len(rest),
        "new to the list": 0,
    }
    typologies = _count(page, "rest-typologies")
    assert sum(typologies.values()) == len(rest)
    assert sorted(typologies.values()) == sorted(rest["typology"].value_counts().tolist())
    why = _count(page, "in-full-why")
    assert why["suggested red or amber"] == 18
    assert why["new to the list since the previous panel"] == int(cohort["new_to_list"].sum())
    decided = cohort["previous_tier"].isin(["red", "amber", "not_adopted"])
    assert why["the previous panel decided red, amber or not adopted"] == int(decided.sum()) > 0
    assert why["atypical for their typology"] == 3 and why["in custody and due out"] == 2
    # The script counts ranks against the whole list, not the page.
    assert "D.n_listed" in page and "shown in full of" in page


def test_first_panel_new_singles_no_one_out_and_the_page_says_so() -> None:
    cohort, result = kit.long_list(240, previous=False)
    assert cohort["new_to_list"].all()
    page = render_pack(cohort, result, GATE, interval="a 90% interval", max_in_full=100)
    assert _shown(page) == set(cohort.loc[_must_discuss(cohort, first_panel=True), "pseudo_id"])
    assert len(_shown(page)) < len(cohort)
    assert "everyone is new to the list, so being new singles" in page
    assert "new to the list since the previous panel" not in _count(page, "in-full-why")


def test_at_or_under_the_threshold_nothing_changes() -> None:
    cohort, result = kit.long_list(240)
    whole = render_pack(cohort, result, GATE, interval="a 90% interval")
    for limit in (240, PACK_MAX_IN_FULL):
        assert render_pack(cohort, result, GATE, interval="a 90% interval", max_in_full=limit) == whole
    assert _shown(whole) == set(cohort["pseudo_id"])
    assert "n_listed" not in _blob(whole)
    assert 'id="not-in-full"' not in whole and 'id="summarised-note"' not in whole
    assert summarised_view(cohort, result, 240)[1] is None
    # The script is pack.js with its template markup gone: the whole list's words.
    assert '" listed).";' in _script(False) and "D.n_listed" not in _script(False)
    assert "shown in full of" in _script(True)
    assert "{%" not in _script(False) and "{%" not in _script(True)


def test_threshold_is_a_declared_param(tmp_path: Path) -> None:
    import yaml

    from iom_config import DEFAULT_PARAMS, load_params
    from pipelines.publish import PublishParams

    declared = yaml.safe_load(DEFAULT_PARAMS.read_text(encoding="utf-8"))["publish"]["pack_max_in_full"]
    assert declared == PACK_MAX_IN_FULL == PublishParams.model_validate({}).pack_max_in_full
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump({"publish": {"pack_max_in_full": None}}))
    assert load_params("publish", PublishParams, path).pack_max_in_full is None
    path.write_text(yaml.safe_dump({"publish": {"pack_max_in_full": 0}}))
    with pytest.raises(Exception, match="pack_max_in_full"):
        load_params("publish", PublishParams, path)
