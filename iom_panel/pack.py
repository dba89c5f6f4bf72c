"""The panel pack: the cohort list as one self-contained HTML page (Jinja2 template).

No network, no external scripts, fonts or images: the page works from a USB stick. The
summary comes first (tiers and borderline people, data freshness per agency, typologies
and contradicted labels, movement since the last panel, people due out of custody,
coverage, the model, the words used); then the fairness audit in one sentence per
protected characteristic, who left the list and why, and the list: sortable, filterable,
each person's detail one click or key press away (risk with its likely range, reasons by
family with history and "can change" needs apart, what changed since the last panel,
typology, release date, assessment date). Charts are inline SVG; the list's data is a
JSON blob rendered by plain JavaScript, a page of rows at a time, so an area of 20,000
people stays quick. Printed (A4 landscape), the pack gives the summary and a compact
red and amber list; with a person open, a one-page case summary.

A list longer than ``publish.pack_max_in_full`` (a national one) gives a pack that shows
in full the people the panel must discuss (:data:`IN_FULL_RULES`) and counts the rest
exactly, saying they are all in ``cohort_list.csv``; a shorter one is the whole list.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from models.typology_naming import PANEL_LABELS

# Badge colours with white text at 4.5:1 or more (WCAG AA): amber is a dark amber.
TIER_COLOURS = {"red": "#c0392b", "amber": "#a05a00", "green": "#1e8449", "not_adopted": "#5d6d7e"}
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
    "borderline",
    "previous_rank",
    "previous_risk_12m",
    "what_changed",
    "atypical_reason",
    "assessment_days",
    "stands_out",
)


# Above this many listed people the pack shows in full only the people the panel must discuss
# (:data:`IN_FULL_RULES`) and counts the rest, who are all in ``cohort_list.csv``. Every unit's
# list (20,000-300,000 nominals give 5,000-80,000 listed people) stays under it, whole.
PACK_MAX_IN_FULL = 100_000


def _red_amber(c: pd.DataFrame, first: bool) -> pd.Series:
    return c["suggested_tier"].astype("str").isin(["red", "amber"])


def _borderline(c: pd.DataFrame, first: bool) -> pd.Series:
    return c["borderline"].fillna(False).astype("bool") if "borderline" in c else _none(c)


def _new(c: pd.DataFrame, first: bool) -> pd.Series:
    # At a first panel everyone is new: the flag singles no one out (the pack says so).
    return _none(c) if first else c["new_to_list"].fillna(False).astype("bool")


def _moved(c: pd.DataFrame, first: bool) -> pd.Series:
    return c["tier_movement"].astype("str").isin(["up", "down"])


def _decided(c: pd.DataFrame, first: bool) -> pd.Series:
    # Decided green and still green is routine; red, amber or not adopted is a decision to revisit.
    # (Such a person is always red or amber now, or has moved: the rule names why, for the pack.)
    return c["previous_tier"].astype("str").isin(["red", "amber", "not_adopted"])


def _atypical(c: pd.DataFrame, first: bool) -> pd.Series:
    return c["atypical_reason"].fillna("").astype("str") != "" if "atypical_reason" in c else _none(c)


def _release(c: pd.DataFrame, first: bool) -> pd.Series:
    return c["release_due"].notna()


def _none(c: pd.DataFrame) -> pd.Series:
    return pd.Series(False, index=c.index, dtype="bool")


# Who a large pack shows in full, one record per rule: (key, words, rule(cohort, first_panel)).
# Anyone any rule picks is shown in full; due out of custody keeps the release table's links live.
IN_FULL_RULES: tuple[tuple[str, str, Callable[[pd.DataFrame, bool], pd.Series]], ...] = (
    ("red_amber", "suggested red or amber", _red_amber),
    ("borderline", "borderline (likely range crosses a tier boundary)", _borderline),
    ("new", "new to the list since the previous panel", _new),
    ("moved", "suggested tier moved up or down against the previous panel's decision", _moved),
    ("decided", "the previous panel decided red, amber or not adopted", _decided),
    ("atypical", "atypical for their typology", _atypical),
    ("release", "in custody and due out", _release),
)


def in_full_reasons(cohort: pd.DataFrame, first_panel: bool) -> pd.DataFrame:
    """One boolean column per :data:`IN_FULL_RULES` record: why each person is shown in full."""
    return pd.DataFrame(
        {key: rule(cohort, first_panel).to_numpy(dtype=bool) for key, _, rule in IN_FULL_RULES},
        index=cohort.index,
    )


def summarised_view(
    cohort: pd.DataFrame, result: Mapping[str, Any], max_in_full: int | None
) -> tuple[pd.DataFrame, dict[str, Any] | None]:
    """The people a pack shows in full, and what it says of the rest (None: everyone in full).

    Up to ``max_in_full`` listed people (None: any number), the pack is the whole list.
    Above it, it shows in full everyone an :data:`IN_FULL_RULES` rule picks, and counts
    the others exactly (by tier, typology and movement, with their ranks and risks);
    every one of them stays in ``cohort_list.csv``.
    """
    n = len(cohort)
    if max_in_full is None or n <= max_in_full:
        return cohort, None
    first = not result.get("previous_panel_date")
    why = in_full_reasons(cohort, first)
    shown = why.any(axis=1).to_numpy()
    rest = cohort.loc[~shown]
    typ = rest["typology"].astype("str")
    tiers = rest["suggested_tier"].astype("str")
    rules = [(key, words) for key, words, _ in IN_FULL_RULES if not (first and key == "new")]
    moves = rest["tier_movement"].astype("str").value_counts()
    view: dict[str, Any] = {
        "n_listed": n,
        "n_in_full": int(shown.sum()),
        "n_summarised": len(rest),
        "max_in_full": max_in_full,
        "first_panel": first,
        "why": [(words, int(why[key].sum())) for key, words in rules],
        "tiers": [(t, int((tiers == t).sum())) for t in ("red", "amber", "green")],
        "typologies": [
            (PANEL_LABELS.get(str(k), str(k)), int(v))
            for k, v in sorted(typ.value_counts().items(), key=lambda kv: (-kv[1], str(kv[0])))
        ],
        "movement": [(MOVEMENT_LABELS[m], int(moves.get(m, 0))) for m in ("up", "down", "same", "new")],
        "ranks": (int(rest["rank"].min()), int(rest["rank"].max())) if len(rest) else None,
        "risks": (float(rest["risk_12m"].min()), float(rest["risk_12m"].max())) if len(rest) else None,
    }
    return cohort.loc[shown], view


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
    texts = [value_text[i] if value_text is not None else f"{v:,.0f}" for i, (_, v, _) in enumerate(items)]
    # Room after the longest bar for its text: 90 px, more for a long one ("100% (258,247)").
    bar_h, gap, label_w = 18, 6, 250
    text_w = max(90, 7 * max((len(t) for t in texts), default=0) + 6)
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
        text = texts[i]
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
        elif col == "previous_rank":
            frame[col] = s.astype("Int64").astype("object")
        elif col in ("new_to_list", "in_custody", "borderline"):
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


def risk_words(cohort: pd.DataFrame) -> pd.Series:
    """The estimate and its interval as a panel reads them: ``71% (likely 67–75%)``."""

    def pct(col: str) -> pd.Series:
        return (100 * cohort[col].astype("float64")).round().astype("Int64").astype("str")

    return pct("risk_12m") + "% (likely " + pct("risk_12m_low") + "\u2013" + pct("risk_12m_high") + "%)"


def _first(reasons: pd.Series, k: int) -> pd.Series:
    return reasons.astype("str").str.split("; ").str[:k].str.join("; ").fillna("")


def change_words(cohort: pd.DataFrame) -> pd.Series:
    """Movement in words for the list: ``new``, ``up from amber``, ``rank 130 -> 95``."""
    move = cohort["tier_movement"].astype("str").map(MOVEMENT_LABELS).fillna("")
    prev = cohort["previous_rank"] if "previous_rank" in cohort else pd.Series(pd.NA, index=cohort.index)
    had = prev.notna()
    rank_txt = "was rank " + prev.astype("Int64").astype("str")
    return move.where(~had, move + "; " + rank_txt)


def print_table(cohort: pd.DataFrame) -> tuple[list[tuple[str, str]], list[dict[str, str]]]:
    """The red and amber rows for paper, and the columns that hold anything (empty ones left out)."""
    ra = cohort.loc[cohort["suggested_tier"].astype("str").isin(["red", "amber"])]
    typ = ra["typology"].astype("str").map(lambda k: PANEL_LABELS.get(k, k))
    if "atypical_reason" in ra:
        typ = typ.where(ra["atypical_reason"].astype("str") == "", typ + " (atypical)")
    frame = pd.DataFrame(
        {
            "rank": ra["rank"].astype("int64").astype("str"),
            "pseudo_id": ra["pseudo_id"].astype("str"),
            "suggested_tier": ra["suggested_tier"].astype("str"),
            "risk": risk_words(ra),
            "borderline": pd.Series(ra["borderline"].to_numpy(dtype=bool), index=ra.index).map(
                {True: "B", False: ""}
            ),
            "typology": typ,
            "reasons": _first(ra["reasons_up"], 2),
            "change": change_words(ra).where(ra["tier_movement"].astype("str") != "new", "new"),
            "release_due": pd.to_datetime(ra["release_due"]).dt.strftime("%Y-%m-%d").fillna(""),
        }
    )
    labels = {
        "rank": "Rank",
        "pseudo_id": "Person",
        "suggested_tier": "Tier",
        "risk": "Risk 12m",
        "borderline": "B",
        "typology": "Typology",
        "reasons": "Main reasons up",
        "change": "Since last panel",
        "release_due": "Release due",
    }
    keep = [c for c in frame.columns if (frame[c] != "").any()]
    if set(frame["change"]) <= {"new"}:
        keep = [c for c in keep if c != "change"]  # a first panel: nothing to compare
    return [(c, labels[c]) for c in keep], frame[keep].to_dict("records")


def render_pack(
    cohort: pd.DataFrame,
    result: Mapping[str, Any],
    gate: Mapping[str, Any],
    interval: str,
    left: pd.DataFrame | None = None,
    fairness: Mapping[str, Any] | None = None,
    max_in_full: int | None = None,
) -> str:
    """The panel pack HTML, from the Jinja2 template ``templates/pack.html.j2``.

    Parameters
    ----------
    cohort
        The cohort list (:func:`iom_panel.cohort.build_cohort_list`, with its pack columns).
    result
        The publish metrics (:func:`iom_panel.cohort.summarise_cohort` plus model, tiering,
        previous-panel, freshness and typology-check figures).
    gate
        The fairness gate as shown (``pipelines.publish.gate_view``).
    interval
        One sentence on what ``risk_12m_low``/``risk_12m_high`` are.
    left
        People on the previous published list who are not on this one, with the reason.
    fairness
        ``sentences`` (one per characteristic), ``covered`` (the audit's panel date is this
        one), ``audit_dates``, ``report`` (relative link to the copied report, or None).
    max_in_full
        Above this many listed people, only the people the panel must discuss are shown
        in full and the rest are counted (:func:`summarised_view`); None: everyone.
    """
    result = {
        "n_borderline": 0,
        "n_borderline_red_amber": 0,
        "data_freshness": [],
        "typology_check": {"n_contradicted": 0, "n_named": 0},
        **result,
    }
    fairness = fairness or {"sentences": [], "covered": True, "audit_dates": [], "report": None}
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
    typologies = {k: PANEL_LABELS.get(k, k) for k in typ_counts}
    shown, summarised = summarised_view(cohort, result, max_in_full)
    data = {
        "columns": list(DATA_COLUMNS),
        "rows": pack_rows(shown),
        "typologies": typologies,
        "panel_date": result["panel_date"],
        "previous_panel_date": result.get("previous_panel_date"),
        "previous_list_date": result.get("previous_list_date"),
        "interval": interval,
    }
    if summarised is not None:
        data["n_listed"] = summarised["n_listed"]
    due = cohort.loc[cohort["release_due"].notna()].sort_values(["release_due", "rank"])
    release = [
        {"pseudo_id": p, "release_due": d, "tier": t, "rank": int(k)}
        for p, d, t, k in zip(
            due["pseudo_id"].astype("str"),
            pd.to_datetime(due["release_due"]).dt.strftime("%Y-%m-%d"),
            due["suggested_tier"].astype("str"),
            due["rank"],
            strict=True,
        )
    ]
    print_columns, print_rows = print_table(cohort)
    base = cohort["base_risk"].dropna() if "base_risk" in cohort else pd.Series(dtype="float64")
    policy = result.get("reason_policy") or {}
    headers = (
        ("rank", "Rank"),
        ("pseudo_id", "Person"),
        ("suggested_tier", "Tier"),
        ("risk_12m", "Risk 12m (likely range)"),
        ("typology", "Typology"),
        ("reasons_up", "Main reasons up"),
        ("tier_movement", "Since last panel"),
        ("release_due", "Release due"),
        ("sources_linked", "Agencies"),
    )
    gate_view = {**gate, "flagged_any": bool(gate.get("flagged")) or gate.get("status") == "flagged"}
    left_rows = [] if left is None else left.astype("object").where(left.notna(), "").to_dict("records")
    return _template().render(
        r=result,
        gate=gate_view,
        css=_asset("pack.css"),
        js=_script(summarised is not None),
        data_blob=_json_blob(data),
        charts={
            "tiers": bar_chart_svg(_tier_items(tiers), "People by suggested tier"),
            "typologies": bar_chart_svg(typ_items, "People by typology"),
            "movement": bar_chart_svg(move_items, "Movement against the previous panel's decisions"),
            "coverage": bar_chart_svg(
                cov_items, "Share of listed people with records from each agency", cov_text
            ),
        },
        overrides=_overrides_html(result),
        release=release,
        agency_labels=AGENCY_LABELS,
        freshness_days=result.get("freshness_warning_days", 60),
        model_date=result.get("registered_at") or result.get("trained_on") or "not recorded",
        mean_risk=_pct(result.get("risk_12m_mean")),
        base_risk=_pct(float(base.iloc[0])) if len(base) else "the cohort's average",
        interval=interval,
        stale_months=policy.get("stale_assessment_months"),
        fairness=fairness,
        left=left_rows,
        left_date=result.get("previous_list_date"),
        archive=result.get("archive"),
        typologies=sorted(typologies.items()),
        movements=list(MOVEMENT_LABELS.items()),
        headers=headers,
        print_columns=print_columns,
        print_rows=print_rows,
        summarised=summarised,
    )


def _script(summarised: bool) -> str:
    """``pack.js`` (a Jinja2 template only for the summarised pack's few words; else as written)."""
    env = jinja2.Environment(autoescape=False, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    return env.from_string(_asset("pack.js")).render(summarised=summarised)


def _template() -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("iom_panel", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    return env.get_template("pack.html.j2")
