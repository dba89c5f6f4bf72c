"""The panel pack: the cohort list as one self-contained HTML page.

No network, no external scripts, fonts or images: the page works from a USB stick. The
summary comes first (tiers, typologies, movement since the last panel, people due out of
custody, data coverage by agency, the model and the fairness audit's result, flagged
prominently); then the list, sortable, filterable and searchable, each person's detail
one click away (risk with its interval, the reasons as a chart with static and dynamic
factors apart, typology, release date, the previous decision). Charts are inline SVG;
the list's data is a JSON blob rendered by plain JavaScript, a page of rows at a time,
so an area of 20,000 people (about 5,000 listed) stays quick. A print stylesheet gives
paper copies.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from models.typology_naming import PANEL_LABELS

TIER_COLOURS = {"red": "#c0392b", "amber": "#d68910", "green": "#1e8449", "not_adopted": "#7f8c8d"}
AGENCY_LABELS = {
    "police": "Police",
    "prison": "Prison",
    "probation": "Probation",
    "health": "Health",
    "housing": "Housing",
}
MOVEMENT_LABELS = {
    "up": "moved up",
    "down": "moved down",
    "same": "same tier",
    "new": "new to the list",
}
# Columns of the embedded data, in this order (the script reads them by name).
DATA_COLUMNS: tuple[str, ...] = (
    "rank",
    "pseudo_id",
    "suggested_tier",
    "risk_12m",
    "risk_12m_low",
    "risk_12m_high",
    "typology",
    "reasons_up",
    "reasons_down",
    "release_due",
    "new_to_list",
    "previous_tier",
    "tier_movement",
    "sources_linked",
    "membership_probability",
    "in_custody",
    "base_risk",
    "contributions",
)


def _asset(name: str) -> str:
    """The pack's stylesheet or script (kept beside this module as plain files)."""
    return (Path(__file__).parent / name).read_text(encoding="utf-8")


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def bar_chart_svg(
    items: Sequence[tuple[str, float, str]],
    title: str,
    value_text: Sequence[str] | None = None,
    width: int = 520,
) -> str:
    """A horizontal bar chart as inline SVG.

    Parameters
    ----------
    items
        ``(label, value, colour)`` per bar, drawn top to bottom.
    title
        The chart's accessible title.
    value_text
        Text shown after each bar (default: the value).
    """
    bar_h, gap, label_w, text_w = 18, 6, 250, 90
    height = len(items) * (bar_h + gap) + gap
    top = max((v for _, v, _ in items), default=0.0) or 1.0
    span = width - label_w - text_w
    parts = [
        f'<svg class="chart" role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{_e(title)}</title>'
    ]
    for i, (label, value, colour) in enumerate(items):
        y = gap + i * (bar_h + gap)
        w = max(0.0, span * float(value) / top)
        text = value_text[i] if value_text is not None else f"{value:,.0f}"
        parts.append(
            f'<text x="{label_w - 6}" y="{y + bar_h - 5}" text-anchor="end">{_e(label)}</text>'
            f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{colour}"></rect>'
            f'<text x="{label_w + w + 4:.1f}" y="{y + bar_h - 5}">{_e(text)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _json_blob(data: Mapping[str, Any]) -> str:
    """JSON safe inside a ``<script>`` element (no ``</script>``, no HTML-significant bytes)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for ch, esc in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(ch, esc)
    return text


def compact_contributions(contributions: pd.Series) -> pd.Series:
    """The contributions JSON without the (unused) feature names and spaces: a smaller page.

    Text-level and vectorised; a ``"`` inside a label is escaped in JSON, so the patterns
    cannot match inside one.
    """
    s = contributions.astype("str").where(contributions.notna(), "")
    s = s.str.replace(r'"feature": ?"(?:[^"\\]|\\.)*", ?', "", regex=True)
    return (
        s.str.replace('", "', '","', regex=False)
        .str.replace('": ', '":', regex=False)
        .str.replace(', "', ',"', regex=False)
    )


def pack_rows(cohort: pd.DataFrame) -> list[list[Any]]:
    """The list's rows for the embedded data: :data:`DATA_COLUMNS`, JSON-ready values."""
    frame = pd.DataFrame(index=cohort.index)
    for col in DATA_COLUMNS:
        if col not in cohort:
            frame[col] = None
            continue
        s = cohort[col]
        if col == "release_due":
            frame[col] = pd.to_datetime(s).dt.strftime("%Y-%m-%d").astype("object")
        elif col == "contributions":
            frame[col] = compact_contributions(s).astype("object")
        elif col in ("new_to_list", "in_custody"):
            frame[col] = s.astype("bool").astype("object")
        elif col == "rank":
            frame[col] = s.astype("int64").astype("object")
        elif pd.api.types.is_float_dtype(s.dtype):
            frame[col] = s.round(6).astype("object")
        else:
            frame[col] = s.astype("str").where(s.notna(), None).astype("object")
    frame = frame.astype("object").where(frame.notna(), None)
    return frame.to_numpy(dtype=object).tolist()


def _tier_items(counts: Mapping[str, int]) -> list[tuple[str, float, str]]:
    return [(t, float(counts.get(t, 0)), TIER_COLOURS[t]) for t in ("red", "amber", "green")]


def _gate_html(gate: Mapping[str, Any]) -> tuple[str, str]:
    """The fairness block, and a banner for the top of the page when anything is flagged."""
    flagged = list(gate.get("flagged") or [])
    summary = _e(gate.get("summary") or "")
    if not flagged and gate.get("status") != "flagged":
        block = (
            f'<div class="gate ok" id="gate"><strong>Fairness audit: no measure flagged.</strong> '
            f"{summary} (gate mode: {_e(gate.get('mode'))}; audited model version "
            f"{_e(gate.get('model_version'))})</div>"
        )
        return block, ""
    items = "".join(f"<li><code>{_e(m)}</code></li>" for m in flagged)
    signed = (
        f"<p>Signed off by {_e(gate['signed_off_by'])} on {_e(gate['signed_off_on'])}.</p>"
        if gate.get("signed_off_by")
        else "<p>Not signed off: read the fairness report before deciding.</p>"
    )
    block = (
        f'<div class="gate flagged" id="gate" role="alert"><strong>Fairness audit: '
        f"{len(flagged)} measure(s) FLAGGED.</strong> {summary}<ul>{items}</ul>{signed}"
        f"<p>Gate mode: {_e(gate.get('mode'))}; audited model version {_e(gate.get('model_version'))}. "
        "The fairness report (reports/fairness/fairness_report.html) explains each measure.</p></div>"
    )
    banner = (
        f'<div class="banner" id="gate-banner" role="alert">&#9888; The fairness audit flagged '
        f'{len(flagged)} measure(s) for this model: see <a href="#gate">Fairness audit</a> below.</div>'
    )
    return block, banner


def _release_table(cohort: pd.DataFrame) -> str:
    due = cohort.loc[cohort["release_due"].notna()].sort_values(["release_due", "rank"])
    if due.empty:
        return "<p>Nobody on the list is due out of custody within the window.</p>"
    pid = due["pseudo_id"].astype("str").map(html.escape)
    tier = due["suggested_tier"].astype("str")
    body = (
        '<tr><td><a href="#'
        + pid
        + '" class="pid">'
        + pid
        + "</a></td><td>"
        + pd.to_datetime(due["release_due"]).dt.strftime("%Y-%m-%d")
        + '</td><td><span class="tier t-'
        + tier
        + '">'
        + tier
        + "</span></td><td>"
        + due["rank"].astype("str")
        + "</td></tr>"
    ).str.cat()
    return (
        f"<p>{len(due)} people on the list are in custody and due out soon: plan the first day out.</p>"
        '<div class="scroll"><table class="small"><thead><tr><th>pseudo_id</th><th>expected release</th>'
        f"<th>suggested tier</th><th>rank</th></tr></thead><tbody>{body}</tbody></table></div>"
    )


def _pct(v: float | None) -> str:
    return "" if v is None else f"{v:.0%}"


def _overrides_html(result: Mapping[str, Any]) -> str:
    ov = result.get("overrides")
    if not ov:
        return "<p>No earlier panel's decisions are known: everyone is new to the list.</p>"
    by = ov["by_suggested_tier"]
    cells = "".join(
        f"<tr><td>{t}</td><td>{by[t]['n']}</td><td>{by[t]['n_overrides']}</td>"
        f"<td>{_pct(by[t]['override_rate'])}</td></tr>"
        for t in ("red", "amber", "green")
    )
    rate = ov["override_rate"]
    return (
        f"<p>At the previous panel ({_e(result.get('previous_panel_date'))}) the panel changed the "
        f"suggested tier for {ov['n_overrides']} of {ov['n_decisions']} people "
        f"({_pct(rate)}): {ov['overrides_up']} up, {ov['overrides_down']} down "
        f"(not adopted counts as down). {result.get('n_left_list', 0)} people on that list "
        "are not on this one.</p>"
        '<table class="small"><thead><tr><th>suggested tier</th><th>people</th><th>overridden</th>'
        f"<th>override rate</th></tr></thead><tbody>{cells}</tbody></table>"
    )


def render_pack(
    cohort: pd.DataFrame,
    result: Mapping[str, Any],
    gate: Mapping[str, Any],
    interval: str,
) -> str:
    """The panel pack HTML.

    Parameters
    ----------
    cohort
        The cohort list (:func:`panel.cohort.build_cohort_list`, with its pack columns).
    result
        The publish metrics (:func:`panel.cohort.summarise_cohort` plus model, tiering and
        previous-panel figures).
    gate
        The fairness gate as shown (``pipelines.publish.gate_view``).
    interval
        One sentence on what ``risk_12m_low``/``risk_12m_high`` are.
    """
    n = int(result["n_listed"])
    tiers = result["tier_counts"]
    typ_counts: Mapping[str, int] = result["typology_counts"]
    typ_items = [
        (PANEL_LABELS.get(k, k), float(v), "#5d6d7e")
        for k, v in sorted(typ_counts.items(), key=lambda kv: -kv[1])
    ]
    moves = result["movement_counts"]
    move_items = [
        (MOVEMENT_LABELS[m], float(moves.get(m, 0)), "#2e86c1") for m in ("up", "down", "same", "new")
    ]
    cov = result["coverage_by_agency"]
    cov_items = [(AGENCY_LABELS[a], float(v["share"]), "#7d3c98") for a, v in cov.items()]
    cov_text = [f"{v['share']:.0%} ({v['n']:,})" for v in cov.values()]
    gate_block, banner = _gate_html(gate)
    typologies = {k: PANEL_LABELS.get(k, k) for k in typ_counts}
    data = {
        "columns": list(DATA_COLUMNS),
        "rows": pack_rows(cohort),
        "typologies": typologies,
        "panel_date": result["panel_date"],
        "previous_panel_date": result.get("previous_panel_date"),
        "interval": interval,
    }
    tier_opts = "".join(f'<option value="{t}">{t}</option>' for t in ("red", "amber", "green"))
    typ_opts = "".join(f'<option value="{_e(k)}">{_e(typologies[k])}</option>' for k in sorted(typologies))
    move_opts = "".join(f'<option value="{m}">{MOVEMENT_LABELS[m]}</option>' for m in MOVEMENT_LABELS)
    model_date = result.get("registered_at") or result.get("trained_on") or "not recorded"
    headers = "".join(
        f'<th data-key="{k}" tabindex="0" scope="col">{_e(label)}</th>'
        for k, label in (
            ("rank", "Rank"),
            ("pseudo_id", "pseudo_id"),
            ("suggested_tier", "Suggested tier"),
            ("risk_12m", "Risk 12m"),
            ("typology", "Typology"),
            ("reasons_up", "Main reasons up"),
            ("tier_movement", "Movement"),
            ("previous_tier", "Previous decision"),
            ("release_due", "Release due"),
            ("sources_linked", "Agencies"),
        )
    )
    mean_risk = result.get("risk_12m_mean")
    body = f"""<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy"
 content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>Tiering panel pack: {_e(result["panel_date"])}</title>
<style>{_asset("pack.css")}</style>
</head>
<body>
{banner}
<header>
<h1>Tiering panel pack</h1>
<p class="lede">Panel date <strong id="panel-date">{_e(result["panel_date"])}</strong>.
{n:,} people are in the cohort. The list <em>suggests</em> a tier; the panel decides.
Tiers are set {_e(result["tiering"]["description"])}.</p>
</header>
<main>
<section id="summary">
<h2>Summary</h2>
<div class="grid">
<div class="card"><h3>Suggested tiers</h3>{bar_chart_svg(_tier_items(tiers), "People by suggested tier")}
<p id="tier-counts">red {tiers["red"]:,} &middot; amber {tiers["amber"]:,}
 &middot; green {tiers["green"]:,}</p></div>
<div class="card"><h3>Typology mix</h3>{bar_chart_svg(typ_items, "People by typology")}</div>
<div class="card"><h3>Movement since the last panel</h3>
{bar_chart_svg(move_items, "Movement against the previous panel's decisions")}
{_overrides_html(result)}</div>
<div class="card"><h3>Due out of custody</h3>{_release_table(cohort)}</div>
<div class="card"><h3>Data coverage by agency</h3>
{bar_chart_svg(cov_items, "Share of listed people with records from each agency", cov_text)}
<p>Share of the listed people on whom each agency's records were linked. A person with no health or
housing records may simply have none, or may not have been linked.</p></div>
<div class="card"><h3>Model</h3>
<p>Model <strong id="model-version">{_e(result.get("model_name") or "")}
 version {_e(result["model_version"])}</strong>,
trained on data up to {_e(result.get("trained_on") or "not recorded")}; registered {_e(model_date)}.</p>
<p><em>Risk 12m</em> is the estimated probability of a proven reoffence within 12 months (average on this list
{_pct(mean_risk)}). The range shown with it (low&ndash;high) is {_e(interval)}.</p></div>
</div>
<h3>Fairness audit</h3>
{gate_block}
</section>
<section id="list">
<h2>The list</h2>
<div class="controls" role="search">
<label>Search pseudo_id <input id="q" type="search" autocomplete="off"></label>
<label>Tier <select id="f-tier"><option value="">all</option>{tier_opts}</select></label>
<label>Typology <select id="f-typology"><option value="">all</option>{typ_opts}</select></label>
<label>Movement <select id="f-move"><option value="">all</option>{move_opts}</select></label>
<label><input id="f-release" type="checkbox"> due out of custody</label>
<label><input id="f-new" type="checkbox"> new to the list</label>
<label>Rows per page <select id="page-size"><option>50</option><option selected>100</option>
<option>500</option><option value="0">all</option></select></label>
</div>
<p id="count" aria-live="polite"></p>
<table id="cohort"><thead><tr>{headers}</tr></thead><tbody id="rows"></tbody></table>
<div class="pager"><button id="prev" type="button">&larr; previous</button> <span id="page"></span>
<button id="next" type="button">next &rarr;</button></div>
<p class="hint">Click a column heading to sort; click a row to see why.
Printing prints the rows matching the filters.</p>
</section>
</main>
<dialog id="detail" aria-labelledby="d-title"><div id="detail-body"></div>
<form method="dialog"><button id="d-close" type="submit">Close</button></form></dialog>
<script type="application/json" id="pack-data">{_json_blob(data)}</script>
<script>{_asset("pack.js")}</script>
</body>
</html>
"""
    return body
