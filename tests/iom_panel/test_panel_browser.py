"""The panel pack in a real browser: headless Chromium from disk, no network.

Opens ``panel_pack.html`` via ``file://``, sorts by risk, filters to red, opens one
person's detail with the mouse and others with Enter and Space, follows the skip link,
and checks what is shown against ``cohort_list.csv``. axe-core (vendored in
``vendor/axe-core@*/``, injected from disk) must find no serious or critical violation,
with and without a person open. At 1024x768 the key columns fit without horizontal
scrolling. Printed with Chromium's ``page.pdf`` (A4 landscape), the red and amber list
holds at least 15 rows a page and one person's case summary is one page. Every request
the page makes is recorded (and anything not ``file:``/``data:``/``about:`` is aborted, so
the test can never reach a network); the test asserts there were none. Screenshots and
PDFs are kept under pytest's tmp dir, and copied into ``$IOM_TEST_ARTIFACTS`` when set.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import panel_testkit as kit

CHROMIUM = Path("/usr/bin/chromium")
AXE = next((Path(__file__).resolve().parents[2] / "vendor").glob("axe-core@*/axe.min.js"))
MIN_ROWS_PER_PAGE = 15
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
    """As the page's script writes a probability: a whole percentage."""
    return f"{round(100 * v)}%"


def _pdf_pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page[^s]", pdf))


def _axe(page) -> list[tuple[str, str, int]]:  # type: ignore[no-untyped-def]
    """Serious and critical axe-core violations on the page as it stands: (rule, impact, nodes)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    found = page.evaluate(
        "axe.run(document, {resultTypes: ['violations']})"
        ".then(r => r.violations.map(v => [v.id, v.impact, v.nodes.length]))"
    )
    return [tuple(v) for v in found if v[1] in ("serious", "critical")]


@contextmanager
def _offline_pack(
    pack: Path, width: int, height: int, requests: list[str], errors: list[str]
) -> Iterator[Any]:
    """Chromium from disk with ``pack`` open at ``width`` x ``height``: yields (context, page).

    Every request is recorded in ``requests``; anything not ``file:``/``data:``/``about:``
    is aborted, so the page can never reach a network. Page errors go to ``errors``.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            context = browser.new_context(viewport={"width": width, "height": height})

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
            yield context, page
        finally:
            browser.close()


def test_pack_in_chromium(small_pipeline: dict[str, Path], tmp_path: Path) -> None:
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
    shots: list[Path] = []
    with _offline_pack(pack, 1440, 900, requests, errors) as (context, page):
        assert page.is_visible("#gate-banner")  # the flagged audit is prominent
        header = page.locator('#cohort th[data-key="risk_12m"]')
        header.click()  # first click: highest risk first
        assert header.get_attribute("aria-sort") == "descending"
        page.select_option("#f-tier", "red")
        assert f"of {len(red)} matching" in page.inner_text("#count")

        shown = page.locator("#rows tr").evaluate_all("rows => rows.map(r => r.dataset.id)")
        assert shown == red["pseudo_id"].tolist()[: len(shown)]
        tiers = page.locator("#rows tr td:nth-child(3) .tier").all_inner_texts()
        assert set(tiers) == {"red"}

        person = red.iloc[1]
        page.click(f'#rows tr[data-id="{person["pseudo_id"]}"]')
        page.wait_for_selector("#detail[open]")
        assert page.inner_text("#d-title").startswith(person["pseudo_id"])
        assert page.inner_text("#d-rank") == f"{person['rank']} of {len(cl)}"
        assert page.inner_text("#d-risk") == (
            f"{_pct(person['risk_12m'])} (likely {round(100 * person['risk_12m_low'])}\u2013"
            f"{_pct(person['risk_12m_high'])})"
        )
        assert page.inner_text("#d-tier").startswith("red")
        assert page.get_attribute("#d-typology", "data-typology") == person["typology"]
        assert page.inner_text("#d-up") == (person["reasons_up"] or "none")
        expected_release = person["release_due"] or "not in custody"
        assert page.inner_text("#d-release") == expected_release
        assert "New to the list" in page.inner_text("#d-previous")
        # Reasons by family: history and needs that can change apart, as bars.
        assert page.locator("#detail table.why").count() >= 1
        assert page.locator("#detail h4.kind-title").all_inner_texts() == [
            "History (cannot change)",
            "Needs (can change)",
        ]
        assert not _axe(page), "axe-core: serious/critical violations with a person open"
        shots.append(tmp_path / "panel_pack_detail.png")
        page.screenshot(path=str(shots[-1]), full_page=False)
        # One person's case summary prints on one A4 page.
        case_pdf = page.pdf(format="A4", landscape=True, print_background=True)
        (tmp_path / "case_summary.pdf").write_bytes(case_pdf)
        assert _pdf_pages(case_pdf) == 1
        page.keyboard.press("Escape")
        page.wait_for_selector("#detail", state="hidden")

        # Keyboard: every row opens with Enter and with Space.
        rows = page.locator("#rows tr")
        for i, key in ((0, "Enter"), (2, " ")):
            pid = rows.nth(i).get_attribute("data-id")
            rows.nth(i).focus()
            page.keyboard.press(key)
            page.wait_for_selector("#detail[open]")
            assert page.inner_text("#d-title").startswith(str(pid))
            page.keyboard.press("Escape")
            page.wait_for_selector("#detail", state="hidden")
        assert page.evaluate("document.querySelectorAll('#rows tr:not([tabindex=\"0\"])').length") == 0

        # The skip link is the first stop and lands on the list.
        page.goto(pack.as_uri())
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.className") == "skip"
        assert page.is_visible("a.skip")
        page.keyboard.press("Enter")
        assert page.evaluate("location.hash") == "#list"
        assert page.evaluate("document.getElementById('list').getBoundingClientRect().top") < 50

        assert not _axe(page), "axe-core: serious/critical violations on the pack"
        # Borderline people are marked in the list.
        page.select_option("#page-size", "0")
        n_border = int(cl["borderline"].astype(str).str.lower().eq("true").sum())
        assert page.locator("#rows .flag-b").count() == n_border

        # Printed: the red and amber list at 15 rows a page or more (the summary pages
        # are hidden here so the list's own pages are counted).
        page.add_style_tag(
            content="@media print{header,.banner,#summary,#fairness,#left{display:none!important}}"
        )
        list_pdf = page.pdf(format="A4", landscape=True, print_background=True)
        (tmp_path / "red_amber_list.pdf").write_bytes(list_pdf)
        n_ra = int(cl["suggested_tier"].isin(["red", "amber"]).sum())
        assert page.locator("#print-list tbody tr").count() == n_ra
        assert _pdf_pages(list_pdf) <= max(1, math.ceil(n_ra / MIN_ROWS_PER_PAGE))

        # At 1024x768 the key columns fit without horizontal scrolling.
        small = context.new_page()
        small.set_viewport_size({"width": 1024, "height": 768})
        small.goto(pack.as_uri())
        widths = small.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert widths[0] <= widths[1], widths
        rights = small.evaluate(
            "Array.from(document.querySelectorAll('#cohort th')).map(t => t.getBoundingClientRect().right)"
        )
        assert max(rights) <= 1024, rights
        small.evaluate("document.getElementById('list').scrollIntoView()")
        shots.append(tmp_path / "panel_pack_1024.png")
        small.screenshot(path=str(shots[-1]))

    assert not errors, errors
    assert requests and all(u.startswith(("file:", "data:", "about:")) for u in requests), [
        u for u in requests if not u.startswith(("file:", "data:", "about:"))
    ]
    assert all(p.stat().st_size > 10_000 for p in shots)
    target = os.environ.get("IOM_TEST_ARTIFACTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        for p in (*shots, tmp_path / "case_summary.pdf", tmp_path / "red_amber_list.pdf"):
            shutil.copy2(p, Path(target) / p.name)


def test_long_list_pack_in_chromium_at_1024(tmp_path: Path) -> None:
    """A list over the threshold, in Chromium at 1024x768: the counts of the rest are on
    screen and on paper, ranks read against the whole list, search says where the rest are,
    axe-core finds nothing serious, and nothing is fetched."""
    from iom_panel.pack import render_pack

    cohort, result = kit.long_list(240)
    gate = {"mode": "report", "status": "pass", "flagged": [], "summary": "", "model_version": "3"}
    pack = tmp_path / "panel_pack.html"
    pack.write_text(render_pack(cohort, result, gate, interval="a 90% interval", max_in_full=100))
    n = len(cohort)
    hidden = cohort.loc[(cohort["tier_movement"] == "same") & (cohort["suggested_tier"] == "green")]
    hidden = hidden.loc[
        ~hidden["borderline"] & hidden["release_due"].isna() & (hidden["atypical_reason"] == "")
    ]

    requests: list[str] = []
    errors: list[str] = []
    with _offline_pack(pack, 1024, 768, requests, errors) as (_, page):
        page.wait_for_selector("#rows tr")
        assert page.is_visible("#summarised-note")
        assert f"Not shown in full: {len(hidden):,} people" in page.inner_text("#not-in-full-h")
        shown = n - len(hidden)
        assert f"of {shown} matching ({shown} shown in full of {n} listed" in page.inner_text("#count")
        widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert widths[0] <= widths[1], widths
        assert not _axe(page), "axe-core: serious/critical violations on the long list's pack"
        page.screenshot(path=str(tmp_path / "long_pack_1024.png"), full_page=True)

        first = page.locator("#rows tr").first
        first.click()
        page.wait_for_selector("#detail[open]")
        assert page.inner_text("#d-rank").endswith(f" of {n}")
        assert not _axe(page), "axe-core: serious/critical violations with a person open"
        page.keyboard.press("Escape")
        page.wait_for_selector("#detail", state="hidden")

        page.fill("#q", str(hidden["pseudo_id"].iloc[0]))
        assert "everyone listed is in cohort_list.csv" in page.inner_text("#count")

        page.emulate_media(media="print")
        assert page.is_visible("#not-in-full") and page.is_visible("#print-list")
        assert page.locator("#print-list tbody tr").count() == int(
            cohort["suggested_tier"].isin(["red", "amber"]).sum()
        )
        pdf = page.pdf(format="A4", landscape=True, print_background=True)
        (tmp_path / "long_pack.pdf").write_bytes(pdf)
        assert _pdf_pages(pdf) >= 2
    assert not errors, errors
    assert all(u.startswith(("file:", "data:", "about:")) for u in requests), requests
    assert (tmp_path / "long_pack_1024.png").stat().st_size > 10_000
