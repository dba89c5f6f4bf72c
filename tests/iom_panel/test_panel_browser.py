"""The panel pack in a real browser: headless Chromium from disk, no network.

Opens ``panel_pack.html`` via ``file://``, sorts by risk, filters to red, opens one
person's detail and checks what is shown against ``cohort_list.csv``. Every request the
page makes is recorded (and anything not ``file:``/``data:``/``about:`` is aborted, so
the test can never reach a network); the test asserts there were none. A screenshot is
kept under pytest's tmp dir, and copied into ``$IOM_TEST_ARTIFACTS`` when that is set.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import panel_testkit as kit

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"headless Chromium not installed at {CHROMIUM}"),
]


def _pct(v: float) -> str:
    """As the page's script writes a probability: one decimal, then %."""
    return f"{100 * v:.1f}%"


def test_pack_in_chromium(small_pipeline: dict[str, Path], tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    scores = kit.write_model_dir(small_pipeline["features"], tmp_path / "model")
    kit.write_typology(scores, tmp_path / "typology")
    kit.write_fairness(tmp_path / "fairness.json", flagged=["fpr_ratio:age_band=18-24"])
    kit.publish_into(
        tmp_path,
        tmp_path / "model",
        tmp_path / "typology",
        small_pipeline["linked"],
        small_pipeline["reid"],
        small_pipeline["params"],
    )
    pack = tmp_path / "panel" / "panel_pack.html"
    cl = pd.read_csv(
        tmp_path / "panel" / "cohort_list.csv", dtype={"pseudo_id": "str"}, keep_default_na=False
    )
    red = cl[cl["suggested_tier"] == "red"].sort_values(["risk_12m", "pseudo_id"], ascending=[False, True])

    requests: list[str] = []
    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})

            def guard(route):  # type: ignore[no-untyped-def]
                requests.append(route.request.url)
                if route.request.url.split(":", 1)[0] in ("file", "data", "about"):
                    route.continue_()
                else:
                    route.abort()

            context.route("**/*", guard)
            page = context.new_page()
            page.on("request", lambda r: requests.append(r.url))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(pack.as_uri())

            assert page.is_visible("#gate-banner")  # the flagged audit is prominent
            header = page.locator('#cohort th[data-key="risk_12m"]')
            header.click()  # first click: highest risk first
            assert header.get_attribute("aria-sort") == "descending"
            page.select_option("#f-tier", "red")
            assert f"of {len(red)} matching" in page.inner_text("#count")

            shown = page.locator("#rows tr").evaluate_all("rows => rows.map(r => r.dataset.id)")
            assert shown == red["pseudo_id"].tolist()[: len(shown)]
            tiers = page.locator("#rows tr td:nth-child(3)").all_inner_texts()
            assert set(tiers) == {"red"}

            person = red.iloc[1]
            page.click(f'#rows tr[data-id="{person["pseudo_id"]}"]')
            page.wait_for_selector("#detail[open]")
            assert page.inner_text("#d-title").startswith(person["pseudo_id"])
            assert page.inner_text("#d-rank") == f"{person['rank']} of {len(cl)}"
            assert page.inner_text("#d-risk") == (
                f"{_pct(person['risk_12m'])} (range {_pct(person['risk_12m_low'])} to "
                f"{_pct(person['risk_12m_high'])})"
            )
            assert page.inner_text("#d-tier") == "red"
            assert page.get_attribute("#d-typology", "data-typology") == person["typology"]
            assert page.inner_text("#d-up") == (person["reasons_up"] or "none")
            expected_release = person["release_due"] or "not in custody"
            assert page.inner_text("#d-release") == expected_release
            assert "New to the list" in page.inner_text("#d-previous")
            # The contribution chart: static and dynamic drawn apart, as inline SVG.
            assert page.locator("#detail svg.contrib").count() == 2

            shot = tmp_path / "panel_pack_detail.png"
            page.screenshot(path=str(shot), full_page=False)
        finally:
            browser.close()

    assert not errors, errors
    assert requests and all(u.startswith(("file:", "data:", "about:")) for u in requests), [
        u for u in requests if not u.startswith(("file:", "data:", "about:"))
    ]
    assert shot.stat().st_size > 10_000
    target = os.environ.get("IOM_TEST_ARTIFACTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy2(shot, Path(target) / shot.name)
