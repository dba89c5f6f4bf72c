"""The panel pack's HTML: self-contained, data embedded safely, the gate flag shown."""

from __future__ import annotations

import json
import re
from typing import Any

import pandas as pd

from iom_panel.cohort import build_cohort_list, summarise_cohort
from iom_panel.decisions import previous_panel
from iom_panel.pack import DATA_COLUMNS, bar_chart_svg, render_pack
from models.tiering import TieringRule

T = pd.Timestamp("2026-10-31")


def _pack(
    gate: dict[str, Any],
    reasons: str = "3 offences (+9 pts)",
    fairness: dict[str, Any] | None = None,
) -> str:
    scores = pd.DataFrame(
        {
            "pseudo_id": ["Pa", "Pb"],
            "as_of_date": [T, T],
            "in_custody": [False, False],
            "risk_12m": [0.7, 0.2],
            "risk_12m_low": [0.6, 0.1],
            "risk_12m_high": [0.8, 0.3],
            "reasons_up": [reasons, ""],
            "reasons_down": ["", ""],
            "contributions": ['[{"feature":"f","label":"x","kind":"static","value":3,"points":9.0}]', ""],
            "base_risk": [0.3, 0.3],
        }
    )
    persons = pd.DataFrame(
        {
            "pseudo_id": ["Pa", "Pb"],
            "sources_linked": ["police", "police;health"],
            **{
                f"in_{a}": [True, a == "health"]
                for a in ("police", "prison", "probation", "health", "housing")
            },
        }
    )
    persons["in_police"] = True
    cohort = build_cohort_list(
        scores,
        None,
        persons,
        None,
        previous_panel(None, T),
        TieringRule.model_validate({"red": 1, "amber": 0}),
        "3",
    )
    result = {
        **summarise_cohort(cohort, persons),
        "model_version": "3",
        "model_name": "iom-risk",
        "trained_on": "2025-03-31",
        "registered_at": None,
        "tiering": {"description": TieringRule.model_validate({"red": 1, "amber": 0}).describe()},
        "overrides": None,
        "previous_panel_date": None,
    }
    return render_pack(cohort, result, gate, interval="a 90% interval", fairness=fairness)


PASS: dict[str, Any] = {
    "mode": "report",
    "status": "pass",
    "flagged": [],
    "summary": "All in band.",
    "model_version": "3",
}
FLAG: dict[str, Any] = {
    **PASS,
    "status": "flagged",
    "flagged": ["selection_rate_ratio:sex=F"],
    "summary": "One flagged.",
}


def _blob(page: str) -> dict[str, object]:
    m = re.search(r'<script type="application/json" id="pack-data">(.*?)</script>', page, re.S)
    assert m is not None
    return json.loads(m.group(1))


def test_self_contained() -> None:
    page = _pack(PASS)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "<link" not in page and "@import" not in page and "url(" not in page
    assert "<img" not in page
    assert page.count("<script") == 2  # the data blob and the inline script, nothing fetched
    assert "default-src 'none'" in page  # the page may not fetch anything even if asked
    assert "@media print" in page


def test_data_blob_round_trips_and_is_escaped() -> None:
    page = _pack(PASS, reasons="</script><script>alert(1)</script> & more")
    data = _blob(page)
    assert data["columns"] == list(DATA_COLUMNS)
    rows = {r[1]: r for r in data["rows"]}  # type: ignore[attr-defined]
    assert rows["Pa"][DATA_COLUMNS.index("reasons_up")] == "</script><script>alert(1)</script> & more"
    assert rows["Pa"][DATA_COLUMNS.index("suggested_tier")] == "red"
    assert rows["Pb"][DATA_COLUMNS.index("risk_12m")] == 0.2
    assert "alert(1)</script>" not in page


def test_gate_flag_prominent_only_when_flagged_and_in_plain_words() -> None:
    words = {
        "sentences": [
            {"characteristic": "sex", "verdict": "disparity found", "sentence": "Sex: disparity found <b>."}
        ],
        "covered": True,
        "audit_dates": ["2026-10-31"],
        "report": "fairness_report.html",
    }
    flagged = _pack(FLAG, fairness=words)
    assert 'id="gate-banner"' in flagged
    assert "Sex: disparity found &lt;b&gt;." in flagged  # escaped by the template
    assert "selection_rate_ratio" not in flagged  # no metric codes for a panel to decode
    assert 'href="fairness_report.html"' in flagged  # the report beside the pack, linked relatively
    assert 'id="audit-scope"' not in flagged
    ok = _pack(PASS, fairness={**words, "covered": False, "audit_dates": ["2026-07-31"]})
    assert 'id="gate-banner"' not in ok
    assert 'id="audit-scope"' in ok and "2026-07-31" in ok  # an audit of another panel date says so


def test_print_list_is_red_and_amber_with_interval_and_no_empty_columns() -> None:
    page = _pack(PASS)
    m = re.search(r'<section id="print-list".*?</section>', page, re.S)
    assert m is not None
    printed = m.group(0)
    assert "Pa" in printed and "Pb" not in printed.split("<tbody>")[1]  # Pb is green
    assert "70% (likely 60\u201380%)" in printed
    assert "Release due" not in printed  # nobody is due out: the column is left out
    assert "Since last panel" not in printed  # a first panel: nothing to compare


def test_skip_link_and_keyboard_affordances() -> None:
    page = _pack(PASS)
    assert re.search(r'<body>\s*<a class="skip" href="#list">', page)
    assert '<section id="list"' in page
    assert 'class="sort"' in page  # headings sort with the keyboard (buttons)


def test_bar_chart_svg() -> None:
    svg = bar_chart_svg([("red", 10, "#f00"), ("green", 5, "#0f0")], "t")
    assert svg.startswith("<svg") and svg.count("<rect") == 2
    widths = [float(w) for w in re.findall(r'<rect [^>]*width="([\d.]+)"', svg)]
    assert widths[0] == 2 * widths[1]


def test_bar_chart_leaves_room_for_a_long_value_after_the_longest_bar() -> None:
    # A national list's coverage reads "100% (258,247)": it must end inside the chart.
    def text_end(value_text: str) -> float:
        svg = bar_chart_svg([("Police", 1.0, "#00f")], "t", [value_text], width=520)
        x = float(re.findall(r'<text x="([\d.]+)"[^>]*>' + re.escape(value_text), svg)[0])
        return x + 7 * len(value_text)  # about 7 px a character at the chart's font size

    assert text_end("100% (258,247)") <= 520
    short = bar_chart_svg([("Police", 1.0, "#00f")], "t", ["100% (5,178)"])
    assert 'width="180.0"' in short  # up to 12 characters: the 90 px the charts always had


def test_compact_contributions_keeps_meaning() -> None:
    from iom_panel.pack import compact_contributions

    raw = pd.Series(
        [
            '[{"feature": "f1", "label": "a \\", \\" b", "kind": "static", "value": 1.5, "points": -2.0}, '
            '{"feature": "f2", "label": "need: 2", "kind": "dynamic", "value": null, "points": 3.25}]',
            None,
        ]
    )
    got = compact_contributions(raw)
    assert json.loads(got[0]) == [
        {"label": 'a ", " b', "kind": "static", "value": 1.5, "points": -2.0},
        {"label": "need: 2", "kind": "dynamic", "value": None, "points": 3.25},
    ]
    assert got[1] == ""
    assert len(got[0]) < len(raw[0])
