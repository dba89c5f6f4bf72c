"""The fairness report: plain-language summary, plots and tables in one self-contained HTML file.

Everything here is an aggregate over groups of at least ``min_group_size`` people;
suppressed groups appear by name only. Plots are PNGs (matplotlib's object API, no
global pyplot state) embedded as base64 so the file can be emailed or archived alone.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from fairness.audit import MEASURE_LABELS, FairnessAudit

DECISION_LABELS = {
    "red": "red",
    "red_or_amber": "red or amber",
    "": "",
}
GATED_PLOT_MEASURES = ("selection_rate", "fpr", "fnr")
PLOT_LIMITS = (0.2, 5.0)


@dataclass(frozen=True)
class ReportSection:
    """One audit shown in the report, with its heading and what it covers."""

    key: str
    title: str
    intro: str
    audit: FairnessAudit
    show_calibration: bool = False


@dataclass(frozen=True)
class RenderedReport:
    """The HTML and the plots (PNG bytes by file name) that it embeds."""

    html: str
    plots: dict[str, bytes] = field(default_factory=dict)


def _fmt(x: Any, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and not np.isfinite(x)) or x is pd.NA:
        return "–"
    return f"{float(x):.{digits}f}"


def _label(measure: str) -> str:
    return MEASURE_LABELS.get(measure, measure.replace("_", " "))


def _decision(decision: str) -> str:
    return DECISION_LABELS.get(decision, decision.replace("_", " "))


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    return buf.getvalue()


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


# ---------------------------------------------------------------------------------------
# Plain language


MEANING = {
    ("fpr", "high"): (
        "people in this group who did not go on to reoffend were put forward more often than in the "
        "reference group: under the enforcement lens, more of them carry the cost of a wrong "
        "selection (more intensive control)"
    ),
    ("fpr", "low"): (
        "people in this group who did not go on to reoffend were put forward less often than in the "
        "reference group"
    ),
    ("fnr", "high"): (
        "people in this group who went on to reoffend were missed more often: under the support "
        "lens, fewer of those who needed it were offered what the list brings"
    ),
    (
        "fnr",
        "low",
    ): "people in this group who went on to reoffend were missed less often than in the reference group",
    ("selection_rate", "high"): (
        "this group is selected more often than the reference group; part of it can be a real "
        "difference in reoffending (see the base rates), part can be how offending is recorded"
    ),
    ("selection_rate", "low"): (
        "this group is selected less often than the reference group; check whether its base rate "
        "is lower too, or whether the model misses its risk"
    ),
    ("obs_exp", "high"): (
        "the model under-predicts for this group relative to the reference (more reoffended than predicted)"
    ),
    ("obs_exp", "low"): (
        "the model over-predicts for this group relative to the reference (fewer reoffended than "
        "predicted): a pattern that recording bias (e.g. more weak cases recorded for one group) "
        "produces"
    ),
}


def describe_disparity(row: Mapping[str, Any], with_meaning: bool = True) -> str:
    """One sentence for one disparity row (ratio, interval, and what it could mean)."""
    direction = "high" if float(row["ratio"]) > 1 else "low"
    at = f" at {_decision(str(row['decision']))}" if row["decision"] else ""
    meaning = MEANING.get((str(row["measure"]), direction), "") if with_meaning else ""
    return (
        f"{row['grouping']} {row['group']}: {_label(str(row['measure']))}{at} is "
        f"{float(row['ratio']):.2f} times the reference group's ({row['reference']}), 95% interval "
        f"{_fmt(row['ci_low'], 2)}–{_fmt(row['ci_high'], 2)}" + (f": {meaning}." if meaning else ".")
    )


def gate_summary(flagged: Sequence[str], n_gated: int, band: tuple[float, float], mode: str) -> str:
    """The gate's one plain sentence."""
    lo, hi = band
    if not flagged:
        return (
            f"No gated measure (of {n_gated}) has its 95% interval wholly outside {lo:g}–{hi:g} "
            f"for any group large enough to report (gate: {mode})."
        )
    head = ", ".join(flagged[:5]) + (f" and {len(flagged) - 5} more" if len(flagged) > 5 else "")
    return (
        f"{len(flagged)} of {n_gated} gated measures have their 95% interval wholly outside "
        f"{lo:g}–{hi:g}: {head} (gate: {mode})."
    )


def base_rates_differ(audit: FairnessAudit) -> list[str]:
    """Groups whose base rate differs from the reference's (the ratio's interval excludes 1)."""
    d = audit.disparities
    rows = d.loc[d["measure"].eq("base_rate") & d["ci_low"].notna()]
    rows = rows.loc[(rows["ci_low"] > 1) | (rows["ci_high"] < 1)]
    return [f"{r.grouping} {r.group} ({r.ratio:.2f}× {r.reference})" for r in rows.itertuples()]


IMPOSSIBILITY = (
    "Base rates differ between groups ({examples}). When they do, no risk score can at the same time "
    "be calibrated within every group and give every group equal false positive and false negative "
    "rates (Kleinberg, Mullainathan and Raghavan 2016; Chouldechova 2017). A choice is unavoidable: "
    "this report shows calibration, false positive parity (the lens for enforcement actions) and false "
    "negative parity (the lens for support) side by side so that the panel can make it knowingly, and "
    "record it."
)

RECORDING_CAVEAT = (
    "The outcome is proven reoffending as recorded by the police and courts. If one group's offending "
    "is recorded more than another's, both the model's inputs and its outcome carry that bias: the "
    "audit can then show a higher base rate rather than a model error. Read a higher base rate "
    "together with what is known about how the area is policed."
)


# ---------------------------------------------------------------------------------------
# Plots


def plot_disparities(
    audit: FairnessAudit, decision: str, measures: Sequence[str] = GATED_PLOT_MEASURES
) -> bytes | None:
    """Forest plot: each group's ratio to its reference with the 95% interval and the band.

    None when no group besides the references is large enough to show.
    """
    d = audit.disparities
    rows = d.loc[d["decision"].eq(decision) & d["measure"].isin(measures) & d["status"].ne("suppressed")]
    groups = rows[["grouping", "group"]].drop_duplicates()
    if groups.empty:
        return None
    labels = [f"{g.grouping}: {g.group}" for g in groups.itertuples()]
    fig = Figure(figsize=(3.2 * len(measures) + 1.5, 0.28 * max(len(labels), 4) + 1.2))
    axes = fig.subplots(1, len(measures), sharey=True, squeeze=False)[0]
    y_of = {lab: i for i, lab in enumerate(labels)}
    lo_band, hi_band = audit.band
    ticks = [0.25, 0.5, lo_band, 1.0, hi_band, 2.0, 4.0]
    for ax, m in zip(axes, measures, strict=True):
        sub = rows.loc[rows["measure"].eq(m)]
        ax.axvspan(lo_band, hi_band, color="#e8f2e8", zorder=0)
        ax.axvline(1.0, color="#777777", lw=0.8)
        for r in sub.itertuples():
            yy = y_of[f"{r.grouping}: {r.group}"]
            if not np.isfinite(r.ratio):
                continue
            color = {"flag": "#c0392b", "uncertain": "#d68910"}.get(str(r.status), "#2c3e50")
            if np.isfinite(r.ci_low) and np.isfinite(r.ci_high):
                # Intervals reaching 0 or beyond the axis are clipped to it (drawn to the edge).
                ax.plot(
                    [max(r.ci_low, PLOT_LIMITS[0]), min(r.ci_high, PLOT_LIMITS[1])],
                    [yy, yy],
                    color=color,
                    lw=1.5,
                )
            ax.plot([min(max(r.ratio, PLOT_LIMITS[0]), PLOT_LIMITS[1])], [yy], "o", color=color, ms=4)
        ax.set_xscale("log")
        ax.set_xlim(*PLOT_LIMITS)
        ax.set_xticks(ticks)
        ax.set_xticklabels([f"{t:g}" for t in ticks])
        ax.minorticks_off()
        ax.set_title(_label(m), fontsize=9)
        ax.tick_params(labelsize=7)
        ax.set_xlabel("ratio to reference (log scale)", fontsize=7)
    axes[0].set_yticks(range(len(labels)))
    axes[0].set_yticklabels(labels)
    axes[0].set_ylim(len(labels) - 0.5, -0.5)
    fig.suptitle(
        f"Disparities at {_decision(decision)}: ratio to the reference group, 95% interval; "
        f"band {lo_band:g}–{hi_band:g} shaded; red = flagged, amber = uncertain",
        fontsize=9,
        y=1.04,
    )
    return _png(fig)


def plot_calibration(audit: FairnessAudit, grouping: str) -> bytes:
    """Observed reoffending against mean predicted risk by risk decile, one line per group."""
    cal = audit.calibration
    sub = cal.loc[cal["grouping"].eq(grouping) & cal["observed"].notna()]
    fig = Figure(figsize=(5.0, 4.2))
    ax = fig.subplots()
    top = float(np.nanmax([sub["mean_risk"].max(), sub["observed"].max(), 0.1])) if len(sub) else 1.0
    ax.plot([0, top], [0, top], color="#999999", lw=0.8, ls="--", label="perfect calibration")
    for group, g in sub.groupby("group", sort=True):
        ax.plot(g["mean_risk"], g["observed"], marker="o", ms=3, lw=1, label=str(group))
    ax.set_xlabel("mean predicted risk (decile of risk)", fontsize=8)
    ax.set_ylabel("observed proven reoffending", fontsize=8)
    ax.set_title(f"Calibration by {grouping}", fontsize=10)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7)
    return _png(fig)


# ---------------------------------------------------------------------------------------
# Tables


def group_table(audit: FairnessAudit, grouping: str, decisions: Sequence[str] | None = None) -> str:
    """Per-group measures of one grouping as an HTML table (value and 95% interval)."""
    bg = audit.by_group.loc[audit.by_group["grouping"].eq(grouping)]
    decisions = list(audit.decisions if decisions is None else decisions)
    cols = [(m, "") for m in ("size", "base_rate", "mean_risk", "obs_exp", "auc", "brier")] + [
        (m, k) for k in decisions for m in ("selection_rate", "tpr", "fpr", "fnr", "precision", "fdr", "for")
    ]
    present = set(zip(bg["measure"], bg["decision"], strict=True))
    cols = [c for c in cols if c in present]
    head = "".join(
        "<th>"
        + html.escape(_label(m))
        + (f"<br><small>{html.escape(_decision(k))}</small>" if k else "")
        + "</th>"
        for m, k in cols
    )
    body = []
    for group, g in bg.groupby("group", sort=True):
        ref = " (reference)" if bool(g["reference"].any()) else ""
        name = f"<th>{html.escape(str(group))}{ref}</th>"
        if bool(g["suppressed"].all()):
            body.append(
                f"<tr class='suppressed'>{name}<td colspan='{len(cols)}'>suppressed: fewer than "
                f"{audit.min_group_size} people</td></tr>"
            )
            continue
        cells = []
        idx = g.set_index(["measure", "decision"])
        for m, k in cols:
            r = idx.loc[(m, k)]
            if m == "size":
                cells.append(f"<td>{int(r['value'])}</td>")
            else:
                ci = (
                    f"<br><small>{_fmt(r['ci_low'])}–{_fmt(r['ci_high'])}</small>"
                    if np.isfinite(r["ci_low"])
                    else ""
                )
                cells.append(f"<td>{_fmt(r['value'])}{ci}</td>")
        body.append(f"<tr>{name}{''.join(cells)}</tr>")
    return (
        f"<table><thead><tr><th>{html.escape(grouping)}</th>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def disparity_table(audit: FairnessAudit, only_gated: bool = True) -> str:
    """Ratios to the reference group with intervals and status, as an HTML table."""
    d = audit.disparities.loc[audit.disparities["status"].ne("suppressed")]
    if only_gated:
        d = d.loc[d["gated"]]
    rows = []
    for r in d.itertuples():
        cls = {"flag": "flag", "uncertain": "uncertain", "suppressed": "suppressed"}.get(str(r.status), "")
        if r.status == "suppressed":
            vals = "<td colspan='2'>suppressed</td>"
        else:
            vals = f"<td>{_fmt(r.ratio, 2)}</td><td>{_fmt(r.ci_low, 2)}–{_fmt(r.ci_high, 2)}</td>"
        rows.append(
            f"<tr class='{cls}'><td>{html.escape(str(r.grouping))}</td><td>{html.escape(str(r.group))}</td>"
            f"<td>{html.escape(str(r.reference))}</td><td>{html.escape(_decision(str(r.decision)))}</td>"
            f"<td>{html.escape(_label(str(r.measure)))}</td><td>{html.escape(str(r.lens))}</td>{vals}"
            f"<td>{html.escape(str(r.status))}</td><td><code>{html.escape(str(r.name))}</code></td></tr>"
        )
    return (
        "<table><thead><tr><th>grouping</th><th>group</th><th>reference</th><th>decision</th><th>measure</th>"
        "<th>lens</th><th>ratio</th><th>95% interval</th><th>status</th><th>metric name</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def overall_table(audit: FairnessAudit) -> str:
    """fairlearn's between-group summaries with intervals."""
    if audit.overall.empty:
        return "<p>Fewer than two groups large enough to compare.</p>"
    rows = "".join(
        f"<tr><td>{html.escape(str(r.grouping))}</td><td>{html.escape(_decision(str(r.decision)))}</td>"
        f"<td>{html.escape(str(r.measure).replace('_', ' '))}</td><td>{_fmt(r.value)}</td>"
        f"<td>{_fmt(r.ci_low)}–{_fmt(r.ci_high)}</td><td>{int(r.n_groups)}</td></tr>"
        for r in audit.overall.itertuples()
    )
    return (
        "<table><thead><tr><th>grouping</th><th>decision</th><th>measure (fairlearn)</th><th>value</th>"
        f"<th>95% interval</th><th>groups compared</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def share_table(audit: FairnessAudit, grouping: str, prefix: str) -> str:
    """Selection-rate shares (e.g. typology shares) per group: rows groups, columns decisions."""
    bg = audit.by_group.loc[audit.by_group["grouping"].eq(grouping)]
    decisions = [k for k in audit.decisions if k.startswith(prefix)]
    head = "".join(f"<th>{html.escape(k.removeprefix(prefix))}</th>" for k in decisions)
    body = []
    for group, g in bg.groupby("group", sort=True):
        name = f"<th>{html.escape(str(group))}{' (reference)' if bool(g['reference'].any()) else ''}</th>"
        if bool(g["suppressed"].all()):
            body.append(
                f"<tr class='suppressed'>{name}<td colspan='{len(decisions) + 1}'>suppressed</td></tr>"
            )
            continue
        idx = g.set_index(["measure", "decision"])
        size = int(idx.loc[("size", ""), "value"])
        cells = []
        for k in decisions:
            r = idx.loc[("selection_rate", k)]
            cells.append(
                f"<td>{_fmt(r['value'], 2)}<br>"
                f"<small>{_fmt(r['ci_low'], 2)}–{_fmt(r['ci_high'], 2)}</small></td>"
            )
        body.append(f"<tr>{name}<td>{size}</td>{''.join(cells)}</tr>")
    return (
        f"<table><thead><tr><th>{html.escape(grouping)}</th><th>people</th>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def non_pass_list(
    audit: FairnessAudit, statuses: Sequence[str] = ("flag",), only_gated: bool = True
) -> list[str]:
    """Sentences for the disparities with the given statuses."""
    d = audit.disparities
    rows = d.loc[d["status"].isin(statuses) & (d["gated"] if only_gated else True)]
    return [describe_disparity(r) for r in rows.to_dict("records")]


# ---------------------------------------------------------------------------------------
# The page

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:1200px;
color:#222;line-height:1.45;padding:0 1em}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.8em 0;font-size:.8em}
th,td{border:1px solid #ddd;padding:.25em .45em;text-align:right;vertical-align:top}
thead th{background:#f3f3f3;position:sticky;top:0}
tbody th{text-align:left;background:#fafafa}
tr.flag td{background:#fbe3e1}tr.uncertain td{background:#fdf2dc}
tr.suppressed td{color:#888;font-style:italic}
.gate{padding:.8em 1em;border-radius:6px;margin:1em 0}
.gate.pass{background:#e8f5e9;border:1px solid #7cb342}
.gate.flagged{background:#fdecea;border:1px solid #e57373}
.note{background:#f5f7fa;border-left:4px solid #90a4ae;padding:.6em 1em}
small{color:#666}img{max-width:100%}code{font-size:.9em}
"""


def render_report(
    sections: Sequence[ReportSection],
    gate: Mapping[str, Any],
    context: Mapping[str, str],
    extra_html: str = "",
) -> RenderedReport:
    """The whole report.

    Parameters
    ----------
    sections
        The audits, the first being the model on the out-of-time test block.
    gate
        The gate block of ``metrics/fairness.json``.
    context
        Key facts shown at the top (model version, test dates, tiering rule, ...).
    extra_html
        Further sections (already HTML).
    """
    plots: dict[str, bytes] = {}
    main = sections[0].audit
    parts = [f"<h1>Fairness audit: {html.escape(context.get('model', 'risk model'))}</h1>"]
    facts = "".join(
        f"<tr><th>{html.escape(k)}</th><td style='text-align:left'>{html.escape(v)}</td></tr>"
        for k, v in context.items()
    )
    parts.append(f"<table>{facts}</table>")
    status = str(gate.get("status", "pass"))
    parts.append(
        f"<div class='gate {html.escape(status)}'><b>Gate ({html.escape(str(gate.get('mode')))}): "
        f"{html.escape(status)}.</b> {html.escape(str(gate.get('summary', '')))}</div>"
    )

    # Plain-language summary.
    parts.append("<h2>Summary</h2>")
    flagged_sentences = {
        sec.title: non_pass_list(sec.audit, ("flag",), only_gated=True)
        for sec in sections
        if sec.audit.flagged
    }
    lo, hi = main.band
    rule = (
        f"A ratio to the reference group is <b>flagged</b> only when its whole 95% bootstrap interval lies "
        f"outside {lo:g}–{hi:g} (the four-fifths rule); a point estimate outside the band whose interval "
        "still reaches into it is shown as <b>uncertain</b> (there is not enough data to say). Groups with "
        f"fewer than {main.min_group_size} people are suppressed and never shown as numbers."
    )
    parts.append(f"<p>{rule}</p>")
    if flagged_sentences:
        parts.append("<p>What is flagged, and what it could mean:</p>")
        for title, sentences in flagged_sentences.items():
            parts.append(f"<p><b>{html.escape(title)}</b></p><ul>")
            parts.extend(f"<li>{html.escape(s)}</li>" for s in sentences)
            parts.append("</ul>")
    else:
        parts.append("<p>Nothing is flagged.</p>")
    uncertain = [
        f"{sec.title}: {s}"
        for sec in sections
        for s in non_pass_list(sec.audit, ("uncertain",), only_gated=True)
    ]
    if uncertain:
        parts.append(
            f"<details><summary>{len(uncertain)} uncertain measure(s): outside the band, interval reaches "
            "into it</summary><ul>"
        )
        parts.extend(f"<li>{html.escape(s)}</li>" for s in uncertain)
        parts.append("</ul></details>")
    noted = [
        f"{sec.title}: {s}"
        for sec in sections
        if not sec.audit.disparities["gated"].any()
        for s in non_pass_list(sec.audit, ("flag",), only_gated=False)
    ]
    if noted:
        parts.append(
            f"<details><summary>Also noted: {len(noted)} share(s) outside the band in the typology "
            "assignment or the panel's own decisions (reported, not gated)</summary><ul>"
        )
        parts.extend(f"<li>{html.escape(s)}</li>" for s in noted)
        parts.append("</ul></details>")
    differ = base_rates_differ(main) if main.labelled else []
    if differ:
        examples = "; ".join(differ[:4]) + (" and others" if len(differ) > 4 else "")
        parts.append(f"<p class='note'>{html.escape(IMPOSSIBILITY.format(examples=examples))}</p>")
    if main.labelled:
        parts.append(f"<p class='note'>{html.escape(RECORDING_CAVEAT)}</p>")

    for sec in sections:
        a = sec.audit
        parts.append(f"<h2>{html.escape(sec.title)}</h2><p>{html.escape(sec.intro)}</p>")
        if any(not k.startswith("typology_") for k in a.decisions) or a.labelled:
            for k in a.decisions:
                if k.startswith("typology_"):
                    continue
                png = plot_disparities(
                    a,
                    k,
                    GATED_PLOT_MEASURES if a.labelled else ("selection_rate",),
                )
                if png is None:
                    continue
                fname = f"{sec.key}_disparities_{k}.png"
                plots[fname] = png
                parts.append(_img(png, f"disparities at {k}"))
        if a.labelled:
            parts.append("<h3>Gated disparities (ratio to the reference group)</h3>")
            parts.append(disparity_table(a, only_gated=True))
            parts.append("<h3>Between-group summaries</h3>" + overall_table(a))
        for grouping in a.reference:
            parts.append(
                f"<h3>By {html.escape(grouping)} "
                f"(reference: {html.escape(a.reference[grouping] or '–')})</h3>"
            )
            if any(k.startswith("typology_") for k in a.decisions):
                parts.append(share_table(a, grouping, "typology_"))
            else:
                parts.append(group_table(a, grouping))
            if sec.show_calibration and a.labelled and grouping != "ethnicity_x_sex":
                png = plot_calibration(a, grouping)
                fname = f"{sec.key}_calibration_{grouping}.png"
                plots[fname] = png
                parts.append(_img(png, f"calibration by {grouping}"))
        if not a.labelled:
            parts.append("<h3>Ratios to the reference group</h3>" + disparity_table(a, only_gated=False))

    parts.append(extra_html)
    parts.append(
        "<h2>Method</h2><p>Point estimates: fairlearn MetricFrame per grouping and decision. Intervals: "
        f"{main.n_bootstrap} person-level bootstrap replicates (a person's rows are resampled together), "
        "2.5th and 97.5th percentiles; a measure undefined in half the replicates or more has no interval. "
        "Ratios are computed within each replicate. For rates, the interval is the wider of the bootstrap's "
        "and Wilson's score interval (the bootstrap alone is overconfident when a rate rests on a few "
        "events, and gives no width at all to 0 of 80); a ratio's interval is widened likewise to the "
        "group's Wilson bounds over the reference rate. Calibration deciles are cut on the whole audited "
        "population; cells under 10 rows are blank. Gated measures: selection rate, false positive rate, "
        "false negative rate (at each decision) and observed/expected.</p>"
        "<p>The intervals are per measure and not adjusted for the number of comparisons. Requiring the "
        "whole interval to lie outside the band makes a chance flag rare when a group is treated alike, "
        "but with dozens of gated measures one can still arise, most often for a small group at the "
        "narrow red decision. A flag that recurs across model versions, or at both decisions, is more "
        "credible than a single one.</p>"
    )
    page = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>Fairness audit</title><style>{CSS}</style></head><body>{''.join(parts)}</body></html>"
    )
    return RenderedReport(html=page, plots=plots)
