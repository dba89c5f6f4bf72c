"""The fairness report: verdicts, plain-language summary, plots and tables in one self-contained page.

The page is rendered from the Jinja2 template ``templates/fairness_report.html.j2``;
this module prepares what it shows (numbers formatted, sentences written from the
measure registry :mod:`fairness.measures` and the verdicts of :mod:`fairness.verdicts`).
Everything is an aggregate over groups of at least ``min_group_size`` people;
suppressed groups appear by name only. Plots are PNGs (matplotlib's object API, no
global pyplot state) embedded as base64 so the file can be emailed or archived alone.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jinja2
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from fairness.audit import FairnessAudit
from fairness.measures import BY_NAME, CALIBRATION_MEASURE, label_of, measures_for
from fairness.verdicts import CHARACTERISTIC_WORDS, DISPARITY, NO_DISPARITY

DECISION_LABELS = {"red": "red", "red_or_amber": "red or amber", "": ""}
PLOT_MEASURES = ("selection_rate", "fpr", "fnr")
PLOT_LIMITS = (0.2, 5.0)
VERDICT_CSS = {DISPARITY: "disparity", NO_DISPARITY: "none"}
STATUS_CSS = {"flag": "flag", "not enough data": "nodata", "suppressed": "suppressed"}

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("fairness", "templates"),
    autoescape=jinja2.select_autoescape(["html", "j2"]),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


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
    if x is None or x is pd.NA or (isinstance(x, float) and not np.isfinite(x)):
        return "–"
    return f"{float(x):.{digits}f}"


def _interval(lo: Any, hi: Any, digits: int = 3) -> str:
    return "" if _fmt(lo) == "–" else f"{_fmt(lo, digits)}–{_fmt(hi, digits)}"


def _label(measure: str) -> str:
    return label_of(measure)


def _decision(decision: str) -> str:
    return DECISION_LABELS.get(decision, decision.replace("_", " "))


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    return buf.getvalue()


def _image(png: bytes, alt: str) -> dict[str, str]:
    return {"alt": alt, "data": base64.b64encode(png).decode("ascii")}


# ---------------------------------------------------------------------------------------
# Plain language


def base_rate_words(audit: FairnessAudit, grouping: str, group: str) -> str:
    """The group's base rate against the reference group's, in words (empty when not known)."""
    d = audit.disparities
    row = d.loc[d["grouping"].eq(grouping) & d["group"].eq(group) & d["measure"].eq("base_rate")]
    if row.empty or not np.isfinite(float(row["ratio"].iloc[0])):
        return ""
    r = row.iloc[0]
    if np.isfinite(r["ci_low"]) and r["ci_low"] > 1:
        how = "higher than"
    elif np.isfinite(r["ci_high"]) and r["ci_high"] < 1:
        how = "lower than"
    else:
        how = "not clearly different from"
    return (
        f"its base rate (share who reoffended) is {how} {r['reference']}'s: {float(r['ratio']):.2f} times, "
        f"95% interval {_interval(r['ci_low'], r['ci_high'], 2)}"
    )


def describe_disparity(
    row: Mapping[str, Any], with_meaning: bool = True, audit: FairnessAudit | None = None
) -> str:
    """One sentence for one disparity row: ratio, interval, what it could mean, and the base rates."""
    direction_high = float(row["ratio"]) > 1
    measure = BY_NAME.get(str(row["measure"]))
    at = f" at {_decision(str(row['decision']))}" if row["decision"] else ""
    meaning = ((measure.high if direction_high else measure.low) if measure else "") if with_meaning else ""
    text = (
        f"{row['grouping']} {row['group']}: {_label(str(row['measure']))}{at} is "
        f"{float(row['ratio']):.2f} times the reference group's ({row['reference']}), 95% interval "
        f"{_fmt(row['ci_low'], 2)}–{_fmt(row['ci_high'], 2)}" + (f": {meaning}" if meaning else "")
    )
    base = (
        base_rate_words(audit, str(row["grouping"]), str(row["group"]))
        if audit is not None and row["measure"] != "base_rate"
        else ""
    )
    return text + (f"; {base}." if base else ".")


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


def gating_text(gated_measures: Sequence[str]) -> str:
    """Why these measures gate (the fairness tree), generated from the registry and params."""
    labels = " and ".join(f"the {label_of(m)}" for m in gated_measures)
    return (
        f"The verdicts and the gate rest on {labels} at each decision (params: fairness.gated_measures), "
        "chosen by the fairness tree of the bias-audit literature (Aequitas): a place on IOM's red tier is "
        "both an intrusion, intensive supervision that harms someone who would not have reoffended (so the "
        "false positive rate must not differ between groups), and support, which someone who needed it "
        "misses when left off (so the false negative rate must not differ either). The selection rate "
        "(demographic parity) is reported, not gated: the list is meant to follow need and risk, not to "
        "mirror the population, so a group can rightly be selected more or less often when its base rate "
        "differs. Calibration by group gets its own verdict."
    )


IMPOSSIBILITY = (
    "Base rates differ between groups ({examples}). When they do, no risk score can at the same time "
    "be calibrated within every group and give every group equal false positive and false negative "
    "rates (Kleinberg, Mullainathan and Raghavan 2016; Chouldechova 2017). A choice is unavoidable: "
    "this report shows calibration, false positive parity (the intrusion lens) and false negative "
    "parity (the support lens) side by side so that the panel can make it knowingly, and record it."
)

RECORDING_CAVEAT = (
    "The outcome is proven reoffending as recorded by the police and courts. If one group's offending "
    "is recorded more than another's, both the model's inputs and its outcome carry that bias: the "
    "audit can then show a higher base rate rather than a model error. Read a higher base rate "
    "together with what is known about how the area is policed."
)

METHOD = (
    "Point estimates: fairlearn MetricFrame per grouping and decision, from the measure registry "
    "(fairness/measures.py). Intervals: {n_bootstrap} person-level bootstrap replicates (a person's rows "
    "are resampled together), 2.5th and 97.5th percentiles; a measure undefined in half the replicates "
    "or more has no interval. Ratios are computed within each replicate. For rates, the interval is the "
    "wider of the bootstrap's and Wilson's score interval (the bootstrap alone is overconfident when a "
    "rate rests on a few events, and gives no width at all to 0 of 80); a ratio's interval is widened "
    "likewise to the group's Wilson bounds over the reference rate. Calibration deciles are cut on the "
    "whole audited population; cells under {min_cell_size} rows are blank.",
    "A ratio's status: wholly outside the band (flag), wholly inside (within band), or not enough data. "
    "The intervals are per measure and not adjusted for the number of comparisons. Requiring the whole "
    "interval to lie outside the band makes a chance flag rare when a group is treated alike, but with "
    "dozens of gated measures one can still arise, most often for a small group at the narrow red "
    "decision. A flag that recurs across model versions, or at both decisions, is more credible than a "
    "single one.",
)


# ---------------------------------------------------------------------------------------
# Plots


def plot_disparities(
    audit: FairnessAudit, decision: str, measures: Sequence[str] = PLOT_MEASURES
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
            color = {"flag": "#c0392b", "not enough data": "#d68910"}.get(str(r.status), "#2c3e50")
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
        f"band {lo_band:g}–{hi_band:g} shaded; red = wholly outside, amber = not enough data",
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
# Tables (as data for the template)


def _table_rows(bg: pd.DataFrame, cols: Sequence[tuple[str, str]], digits: int = 3) -> list[dict[str, Any]]:
    rows = []
    for group, g in bg.groupby("group", sort=True):
        if bool(g["suppressed"].all()):
            rows.append({"group": str(group), "suppressed": True})
            continue
        idx = g.set_index(["measure", "decision"])
        cells = []
        for m, k in cols:
            r = idx.loc[(m, k)]
            if m == "size":
                cells.append({"value": str(int(r["value"])), "interval": ""})
            else:
                cells.append(
                    {
                        "value": _fmt(r["value"], digits),
                        "interval": _interval(r["ci_low"], r["ci_high"], digits),
                    }
                )
        rows.append(
            {
                "group": str(group),
                "suppressed": False,
                "reference": bool(g["reference"].any()),
                "cells": cells,
            }
        )
    return rows


def group_tables(audit: FairnessAudit, grouping: str) -> list[dict[str, Any]]:
    """Per-group measures of one grouping: one table of the score measures, one per decision.

    Split so that no table is wider than about eight columns (it reads at 1024 px).
    """
    bg = audit.by_group.loc[audit.by_group["grouping"].eq(grouping)]
    present = set(zip(bg["measure"], bg["decision"], strict=True))
    tables = []
    score_cols = [("size", "")] + [(m.name, "") for m in measures_for("score", True, True)]
    score_cols = [c for c in score_cols if c in present]
    if len(score_cols) > 1:
        tables.append(
            {
                "caption": "The risk score",
                "head": [{"label": _label(m), "sub": ""} for m, _ in score_cols],
                "rows": _table_rows(bg, score_cols),
            }
        )
    for k in audit.decisions:
        cols = [(m.name, k) for m in measures_for("decision", True, True) if (m.name, k) in present]
        if len(score_cols) <= 1:
            cols = [("size", ""), *cols]
        tables.append(
            {
                "caption": f"Decision: {_decision(k)}",
                "head": [{"label": _label(m), "sub": _decision(kk)} for m, kk in cols],
                "rows": _table_rows(bg, cols),
            }
        )
    return tables


def share_tables(audit: FairnessAudit, grouping: str, prefix: str) -> list[dict[str, Any]]:
    """Selection-rate shares (e.g. typology shares) per group: rows groups, columns decisions."""
    bg = audit.by_group.loc[audit.by_group["grouping"].eq(grouping)]
    decisions = [k for k in audit.decisions if k.startswith(prefix)]
    cols = [("size", ""), *[("selection_rate", k) for k in decisions]]
    head = [
        {"label": "people", "sub": ""},
        *[{"label": k.removeprefix(prefix).replace("_", " "), "sub": "share"} for k in decisions],
    ]
    return [
        {"caption": "Share of each group in each typology", "head": head, "rows": _table_rows(bg, cols, 2)}
    ]


def disparity_tables(audit: FairnessAudit, only_gated: bool = True) -> list[dict[str, Any]]:
    """Ratios to the reference group with intervals and status, one table per grouping."""
    d = audit.disparities.loc[audit.disparities["status"].ne("suppressed")]
    if only_gated:
        d = d.loc[d["gated"]]
    tables = []
    for grouping in audit.reference:
        sub = d.loc[d["grouping"].eq(grouping)]
        if sub.empty:
            continue
        rows = [
            {
                "css": STATUS_CSS.get(str(r.status), ""),
                "group": str(r.group),
                "decision": _decision(str(r.decision)) or "–",
                "measure": _label(str(r.measure)),
                "lens": str(r.lens),
                "ratio": _fmt(r.ratio, 2),
                "interval": _interval(r.ci_low, r.ci_high, 2),
                "status": str(r.status),
                "name": str(r.name),
            }
            for r in sub.itertuples()
        ]
        tables.append({"grouping": grouping, "reference": audit.reference[grouping] or "–", "rows": rows})
    return tables


def overall_rows(audit: FairnessAudit) -> list[dict[str, Any]]:
    """fairlearn's between-group summaries with intervals."""
    return [
        {
            "grouping": str(r.grouping),
            "decision": _decision(str(r.decision)),
            "measure": str(r.measure).replace("_", " "),
            "value": _fmt(r.value),
            "interval": _interval(r.ci_low, r.ci_high),
            "n_groups": int(r.n_groups),
        }
        for r in audit.overall.itertuples()
    ]


def non_pass_list(
    audit: FairnessAudit, statuses: Sequence[str] = ("flag",), only_gated: bool = True
) -> list[str]:
    """Sentences for the disparities with the given statuses (with the group's base rate)."""
    d = audit.disparities
    rows = d.loc[d["status"].isin(statuses) & (d["gated"] if only_gated else True)]
    return [describe_disparity(r, audit=audit if audit.labelled else None) for r in rows.to_dict("records")]


# ---------------------------------------------------------------------------------------
# The page


def _verdict_view(verdicts: Mapping[str, Any] | None, decisions: Sequence[str]) -> list[dict[str, Any]]:
    if not verdicts:
        return []
    out = []
    for name, entry in verdicts["characteristics"].items():
        cells = []
        for decided in [*(entry["decisions"][k] for k in decisions), entry["calibration"]]:
            first = decided["deciding_measures"][0] if decided["deciding_measures"] else None
            detail = (
                f"{first['group']}: {label_of(first['name'].removesuffix('_ratio'))} "
                f"{_fmt(first['ratio'], 2)}× ({_interval(first['ci_low'], first['ci_high'], 2)})"
                if first
                else ""
            )
            cells.append(
                {
                    "verdict": decided["verdict"],
                    "css": VERDICT_CSS.get(decided["verdict"], "nodata"),
                    "detail": detail,
                }
            )
        out.append(
            {
                "label": CHARACTERISTIC_WORDS.get(name, name),
                "cells": cells,
                "summary": entry["summary_sentence"],
                "base_rates": entry.get("base_rate_sentence", ""),
                "sentences": [
                    *(entry["decisions"][k]["sentence"] for k in decisions),
                    entry["calibration"]["sentence"],
                ],
            }
        )
    return out


def _section_view(sec: ReportSection, plots: dict[str, bytes]) -> dict[str, Any]:
    a = sec.audit
    images = []
    for k in a.decisions:
        if k.startswith("typology_"):
            continue
        png = plot_disparities(a, k, PLOT_MEASURES if a.labelled else ("selection_rate",))
        if png is None:
            continue
        fname = f"{sec.key}_disparities_{k}.png"
        plots[fname] = png
        images.append(_image(png, f"disparities at {_decision(k)}"))
    groupings = []
    typology = any(k.startswith("typology_") for k in a.decisions)
    for grouping in a.reference:
        g_images = []
        if sec.show_calibration and a.labelled and grouping != "ethnicity_x_sex":
            png = plot_calibration(a, grouping)
            fname = f"{sec.key}_calibration_{grouping}.png"
            plots[fname] = png
            g_images.append(_image(png, f"calibration by {grouping}"))
        groupings.append(
            {
                "grouping": grouping,
                "reference": a.reference[grouping] or "–",
                "tables": share_tables(a, grouping, "typology_") if typology else group_tables(a, grouping),
                "images": g_images,
            }
        )
    return {
        "key": sec.key,
        "title": sec.title,
        "intro": sec.intro,
        "images": images,
        "disparity_heading": (
            "Gated disparities (ratio to the reference group)"
            if a.labelled
            else "Ratios to the reference group"
        ),
        "disparity_tables": disparity_tables(a, only_gated=a.labelled),
        "overall": overall_rows(a) if a.labelled else [],
        "groupings": groupings,
    }


def render_report(
    sections: Sequence[ReportSection],
    gate: Mapping[str, Any],
    context: Mapping[str, str],
    verdicts: Mapping[str, Any] | None = None,
    gated_measures: Sequence[str] = ("fpr", "fnr"),
    min_cell_size: int = 10,
) -> RenderedReport:
    """The whole report, from the template ``fairness_report.html.j2``.

    Parameters
    ----------
    sections
        The audits, the first being the model on the out-of-time test block.
    gate
        The gate block (``mode``, ``status``, ``summary``).
    context
        Key facts shown at the top (model version, test dates, tiering rule, ...).
    verdicts
        The verdicts (:func:`fairness.verdicts.audit_verdicts`), shown first.
    gated_measures
        The decision measures that gate (``fairness.gated_measures``).
    min_cell_size
        Calibration cells with fewer rows are blank (said in the method).
    """
    plots: dict[str, bytes] = {}
    main = sections[0].audit
    lo, hi = main.band
    flagged = [
        (sec.title, non_pass_list(sec.audit, ("flag",), only_gated=True))
        for sec in sections
        if sec.audit.flagged
    ]
    noted = [
        f"{sec.title}: {s}"
        for sec in sections
        if not sec.audit.disparities["gated"].any()
        for s in non_pass_list(sec.audit, ("flag",), only_gated=False)
    ]
    differ = base_rates_differ(main) if main.labelled else []
    examples = "; ".join(differ[:4]) + (" and others" if len(differ) > 4 else "")
    first = next(iter(verdicts["characteristics"].values()), None) if verdicts else None
    decisions = list(first["decisions"]) if first else []
    gated = [
        {"label": label_of(m), "lens": BY_NAME[m].lens, "high": BY_NAME[m].high, "low": BY_NAME[m].low}
        for m in [*gated_measures, CALIBRATION_MEASURE]
    ]
    page = _ENV.get_template("fairness_report.html.j2").render(
        model=context.get("model", "risk model"),
        facts=list(context.items()),
        band_text=f"{lo:g}–{hi:g}",
        decisions=[{"label": _decision(k)} for k in decisions],
        characteristics=_verdict_view(verdicts, decisions),
        gating_text=gating_text(gated_measures),
        gated=gated,
        gate_status=str(gate.get("status", "pass")),
        gate_mode=str(gate.get("mode", "report")),
        gate_summary=str(gate.get("summary", "")),
        rule_text=(
            f"A ratio to the reference group is flagged only when its whole 95% interval lies outside "
            f"{lo:g}–{hi:g} (the four-fifths rule), and within band only when its whole interval lies "
            "inside; an interval that reaches across an edge is not enough data, whatever the point "
            f"estimate. Groups with fewer than {main.min_group_size} people are suppressed and never "
            "shown as numbers."
        ),
        flagged=flagged,
        noted=noted,
        impossibility=IMPOSSIBILITY.format(examples=examples) if differ else "",
        recording_caveat=RECORDING_CAVEAT if main.labelled else "",
        sections=[_section_view(sec, plots) for sec in sections],
        min_group_size=main.min_group_size,
        method=[p.format(n_bootstrap=main.n_bootstrap, min_cell_size=min_cell_size) for p in METHOD],
    )
    return RenderedReport(html=page, plots=plots)
