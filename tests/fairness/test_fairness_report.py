"""The report: self-contained HTML, suppressed groups without numbers, the summary says what is flagged."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from fairness import audit_fairness
from fairness.report import ReportSection, base_rates_differ, describe_disparity, gate_summary, render_report
from fairness.verdicts import audit_verdicts


def _audit():  # type: ignore[no-untyped-def]
    # A: 400 rows, base rate .5, half selected at random (FPR about .5); B: 400 rows, base rate
    # .25, every reoffender and one non-reoffender in 6 selected (FPR 1/6); C: 7 rows (suppressed).
    rng = np.random.default_rng(4)
    y = np.r_[np.tile([1, 0], 200), np.tile([1, 0, 0, 0], 100), np.ones(7)]
    sel = np.r_[rng.random(400) < 0.5, np.tile([1, 1, 0, 0, 1, 0, 0, 0], 50) == 1, np.zeros(7, bool)]
    p = np.clip(y * 0.6 + 0.2, 0, 1)
    g = pd.Series(["A"] * 400 + ["B"] * 400 + ["C"] * 7, name="grp")
    return audit_fairness(
        y, p, sensitive_features=g, selected={"red": sel}, reference_groups={"grp": "B"}, n_bootstrap=50
    )


def test_report_is_self_contained_and_never_shows_suppressed_numbers() -> None:
    audit = _audit()
    gate = {"mode": "report", "status": "flagged", "flagged": audit.flagged, "summary": "s"}
    verdicts = audit_verdicts(audit, ["fpr", "fnr"], as_of_dates=["2025-03-31"], panel_date="2026-10-31")
    rendered = render_report(
        [ReportSection("test", "Test block", "intro", audit, True)], gate, {"model": "m v1"}, verdicts
    )
    page = rendered.html
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page
    assert "<script" not in page and "<link" not in page and "http" not in page.replace("http-equiv", "")
    assert page.count("data:image/png;base64,") == len(rendered.plots) >= 2
    starts = [i for i in range(len(page)) if page.startswith("<th>C</th>", i)]
    assert len(starts) == 2  # the score table and the table of decision red
    for i in starts:
        row = page[i : page.index("</tr>", i)]
        cell = re.sub(r'colspan="\d+"', "", row.removeprefix("<th>C</th>")).replace(
            "fewer than 50 people", ""
        )
        assert "suppressed" in row and not any(ch.isdigit() for ch in cell), row
    assert "fpr_ratio.red.grp.A" in audit.flagged
    assert "false positive rate at red" in page
    assert "Base rates differ" in page  # A's base rate is twice B's: the impossibility trade-off is stated
    # The verdicts come first, with the deciding measure; the gating measures are explained.
    assert page.index('id="verdicts"') < page.index('id="summary"')
    assert "disparity found" in page and "A: false positive rate 2.46×" in page
    assert "Which measures decide, and why" in page and "Aequitas" in page and "intrusion" in page
    # The summary compares the base rates itself (no "check whether its base rate is lower too").
    assert "its base rate (share who reoffended) is higher than B&#39;s: 2.00 times" in page
    assert "check whether" not in page
    # No per-group table is wider than eight columns (it must read at 1024 px).
    for head in re.findall(r"<thead>(.*?)</thead>", page, flags=re.S):
        assert head.count("<th") <= 8, head


def test_sentences() -> None:
    audit = _audit()
    assert base_rates_differ(audit) == ["grp A (2.00× B)"]
    row = audit.disparities.set_index("name").loc["fpr_ratio.red.grp.A"].to_dict()
    row["name"] = "fpr_ratio.red.grp.A"
    text = describe_disparity(row)
    assert text.startswith("grp A: false positive rate at red is") and "(intrusion)" in text
    with_base = describe_disparity(row, audit=audit)
    assert with_base.endswith(
        "its base rate (share who reoffended) is higher than B's: 2.00 times, 95% interval "
        + with_base.rsplit("interval ", 1)[1]
    )
    assert gate_summary([], 12, (0.8, 1.25), "report").startswith("No gated measure (of 12)")
    assert gate_summary(["x", "y"], 12, (0.8, 1.25), "block").startswith("2 of 12 gated measures")
