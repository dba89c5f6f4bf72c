"""The risk model's card: what it is for, how it was validated, its figures, fairness and drift.

The card is rendered after the audit (stage ``card``), because its verdicts come from the
audit: from the train stage's evaluation (``reports/model/evaluation.json``), the audit's
verdicts (``reports/fairness/verdicts.json``) and the drift (``reports/drift/drift.json``).
The Markdown comes from a Jinja2 template (``templates/model_card.md.j2``) and the HTML
from markdown-it-py, with the charts embedded as data URIs so the page works offline. The
registered version's MLflow description is the card's headline
(``templates/version_description.md.j2``).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markdown_it import MarkdownIt

TEMPLATES = Path(__file__).resolve().parent / "templates"

MODEL_LABELS = {
    "risk_model": "risk model",
    "ogrs3": "OGRS3-style baseline",
    "rfg": "recency-frequency-gravity matrix",
    "oracle": "oracle (the simulator's truth)",
}
MODEL_COLOURS = {"risk_model": "#1f77b4", "ogrs3": "#ff7f0e", "rfg": "#2ca02c", "oracle": "#7f7f7f"}

MIN_BIN_ROWS = 30  # calibration bins with fewer rows are shown apart, not joined to the curve

CHARACTERISTIC_LABELS = {
    "ethnicity": "Ethnicity",
    "sex": "Sex",
    "age_band": "Age band",
    "ethnicity_x_sex": "Ethnicity × sex",
}


@dataclass(frozen=True)
class Goal:
    """One of the model's goals on the out-of-time test, stated in words."""

    key: str
    text: str
    figure: Callable[[Mapping[str, Any]], str]


def _fmt(x: Any, nd: int = 3) -> str:
    return "n/a" if x is None else f"{float(x):.{nd}f}"


def _precision_figure(test: Mapping[str, Any]) -> str:
    key = next((k for k in test.get("risk_model", {}) if k.startswith("precision_at_")), None)
    if key is None:
        return ""
    return f"{_fmt(test['risk_model'].get(key))} against {_fmt(test.get('ogrs3', {}).get(key))}"


def _precision_gap_figure(test: Mapping[str, Any]) -> str:
    gap = test.get(PRECISION_GAP)
    if not gap:
        return ""
    return (
        f"difference {gap['difference']:+.3f}, {100 * gap['level']:.0f}% paired bootstrap interval "
        f"{gap['low']:+.3f} to {gap['high']:+.3f} (people resampled, the lists re-selected; "
        f"{100 * gap['share_below_zero']:.0f}% of {gap['n_boot']:,} replicates below 0)"
    )


# Where goals_in_words finds the train stage's paired interval of the precision difference.
PRECISION_GAP = "precision_at_capacity_vs_ogrs3"


# The train stage's goal keys (models.risk_train.evaluate), each said in words with its figure.
GOALS: tuple[Goal, ...] = (
    Goal("ece_le_0.02", "Calibration error at most 0.02", lambda t: _fmt(t["risk_model"].get("ece"), 4)),
    Goal(
        "slope_0.9_1.1",
        "Calibration slope between 0.9 and 1.1",
        lambda t: _fmt(t["risk_model"].get("calibration_slope")),
    ),
    Goal(
        "auc_above_ogrs3",
        "AUC above the OGRS3-style baseline's",
        lambda t: f"{_fmt(t['risk_model'].get('auc'))} against {_fmt(t.get('ogrs3', {}).get('auc'))}",
    ),
    Goal(
        "auc_above_rfg",
        "AUC above the recency-frequency-gravity matrix's",
        lambda t: f"{_fmt(t['risk_model'].get('auc'))} against {_fmt(t.get('rfg', {}).get('auc'))}",
    ),
    Goal(
        "precision_at_capacity_at_least_ogrs3",
        "Precision at capacity (the panel's red tier) at least the OGRS3-style baseline's",
        _precision_figure,
    ),
    Goal(
        "precision_at_capacity_not_significantly_below_ogrs3",
        "Precision at capacity not significantly below the OGRS3-style baseline's "
        "(the 95% interval of the difference reaches 0; the goal above is the point estimate)",
        _precision_gap_figure,
    ),
    Goal(
        "auc_within_0.015_of_oracle",
        "AUC within 0.015 of the oracle's (the best any model could do)",
        lambda t: f"{_fmt(t['risk_model'].get('auc'))} against {_fmt(t.get('oracle', {}).get('auc'))}",
    ),
)

# Fields of the UK Algorithmic Transparency Recording Standard that do not depend on the run.
ATRS_FIXED: tuple[tuple[str, str], ...] = (
    ("Phase", "set by the IOM unit (pilot / production)"),
    (
        "Process integration",
        "Suggests a tier (red / amber / green) on the panel's cohort list; the panel decides "
        "and its decisions are read back and audited",
    ),
    (
        "Human decisions and review",
        "Every tier is decided by the multi-agency panel; overrides are recorded in `panel_decisions`",
    ),
    ("Frequency and scale of usage", "Each panel (typically monthly), every person in the cohort"),
    (
        "System architecture",
        "DVC pipeline: validate (Great Expectations), link (Splink), features, typology, "
        "xgboost with Platt calibration, fairness audit (fairlearn), publish; MLflow registry",
    ),
    (
        "Source data name",
        "Police, prison, probation, health and housing partner records (contract `partner-records/1`)",
    ),
    ("Data modality", "Tabular, event histories"),
    (
        "Data access and storage",
        "Stays within the agency; only pseudonymised, linked tables leave the link stage; "
        "the re-identification key is for the data controller alone",
    ),
    (
        "Risks and mitigations",
        "Recording bias in police data (audited by group); drift (recalibrate, see Limits); "
        "automation bias (the panel decides, reasons shown)",
    ),
    ("Owner, SRO, contact, impact assessment, appeals", "to be completed by the IOM unit"),
)


def goals_in_words(
    goals: Mapping[str, Any], test: Mapping[str, Any], precision_gap: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """The goals the train stage checked, as sentences with met / not met and the figure.

    Booleans are goals; numbers (``auc_gap_to_oracle``) are figures, shown beside theirs.
    A goal key this table does not know is still shown, its underscores read as spaces.
    ``precision_gap`` is the train stage's ``precision_at_capacity_vs_ogrs3`` (the paired
    bootstrap interval of the precision difference), shown with its goal.
    """
    known = {g.key: g for g in GOALS}
    test = {**test, PRECISION_GAP: precision_gap}
    out = []
    for key, met in goals.items():
        if not isinstance(met, bool):
            continue
        goal = known.get(key)
        out.append(
            {
                "key": key,
                "text": goal.text if goal else key.replace("_", " "),
                "met": met,
                "figure": goal.figure(test) if goal else "",
            }
        )
    return out


def test_rows(test: Mapping[str, Mapping[str, Any]], capacity: int) -> list[dict[str, str]]:
    """One row per model on the out-of-time test, formatted for the card's tables."""
    rows = []
    for key, m in test.items():
        rows.append(
            {
                "key": key,
                "label": MODEL_LABELS.get(key, key),
                "auc": _fmt(m.get("auc")),
                "brier": _fmt(m.get("brier")),
                "log_loss": _fmt(m.get("log_loss")),
                "ece": _fmt(m.get("ece"), 4),
                "calibration_slope": _fmt(m.get("calibration_slope"), 2),
                "calibration_intercept": _fmt(m.get("calibration_intercept"), 2),
                "precision": _fmt(m.get(f"precision_at_{capacity}"), 2),
                "recall": _fmt(m.get(f"recall_at_{capacity}"), 3),
            }
        )
    return rows


def _span(dates: Sequence[str]) -> str:
    return f"{dates[0]} to {dates[-1]}" if dates else "–"


def split_context(split: Mapping[str, Any]) -> dict[str, Any]:
    """The temporal split (as ``evaluation.json`` holds it) for the card."""
    names = {
        "train": "training",
        "valid": "early stopping",
        "calib": "calibration",
        "test": "out-of-time test",
    }
    rows = split.get("rows", {})
    test = list(split.get("test", []))
    return {
        "blocks": [
            {"name": names[b], "span": _span(split.get(b, [])), "n": len(split.get(b, []))} for b in names
        ],
        "rows": rows,
        "rows_text": ", ".join(f"{names.get(b, b)} {n:,}" for b, n in rows.items()),
        "test_first": test[0] if test else "–",
        "test_last": test[-1] if test else "–",
        "n_test": len(test),
    }


def _decision_text(decision: Mapping[str, Any] | None) -> str:
    if not decision:
        return "not audited"
    verdict = str(decision.get("verdict", "not audited"))
    measures = decision.get("deciding_measures") or []
    if verdict == "disparity found" and measures:
        m = measures[0]
        why = m.get("why") or f"{m.get('name')} for {m.get('group')}"
        return f"**disparity found**: {why}"
    return verdict


def fairness_context(verdicts: Mapping[str, Any] | None, report: str) -> dict[str, Any] | None:
    """The audit's verdicts (``fairness.read_verdicts`` schema) as card rows, or None."""
    if not verdicts or not verdicts.get("characteristics"):
        return None
    rows = []
    for key, c in verdicts["characteristics"].items():
        decisions = c.get("decisions", {})
        cells = {
            "red": _decision_text(decisions.get("red")),
            "red_or_amber": _decision_text(decisions.get("red_or_amber")),
            "calibration": _decision_text(c.get("calibration")),
        }
        short = "; ".join(
            f"{where}, {cells[k].replace('**', '')}"
            for k, where in (
                ("red", "in red"),
                ("red_or_amber", "in red or amber"),
                ("calibration", "calibration"),
            )
        )
        rows.append(
            {
                "key": key,
                "label": CHARACTERISTIC_LABELS.get(key, key.replace("_", " ")),
                **cells,
                "short": short,
                "sentence": c.get("summary_sentence") or short,
            }
        )
    scope = verdicts.get("audit_date_scope", {})
    band = verdicts.get("band") or []
    return {
        "rows": rows,
        "dates": _span(list(scope.get("as_of_dates", []))),
        "band": f"{band[0]:g} to {band[1]:g}" if len(band) == 2 else "declared in params",
        "report": report,
    }


def drift_context(drift: Mapping[str, Any] | None, top: int = 10) -> dict[str, Any] | None:
    """``reports/drift/drift.json`` for the card: the verdict, the top features, the typology mix."""
    if not drift:
        return None
    threshold = float(drift["threshold"])
    labels = {f["name"]: f["label"] for f in drift["features"]}
    beyond = list(drift.get("beyond", []))
    mix = drift.get("typology_mix") or {}
    if beyond:
        named = "; ".join(f"{labels.get(n, n)} (`{n}`)" for n in beyond)
        verdict = f"**{len(beyond)} feature(s) beyond the threshold {threshold:g}**: {named}."
    else:
        verdict = f"No feature is beyond the threshold {threshold:g}."
    if mix.get("beyond"):
        verdict += f" The typology mix is beyond it too (PSI {mix.get('psi')})."
    feats = drift["features"][:top]
    dates = list(drift.get("train_dates", []))
    return {
        "threshold": f"{threshold:g}",
        "verdict": verdict,
        "top": [{**f, "psi": f"{f['psi']:.3f}", "beyond": f["name"] in beyond} for f in feats],
        "mix": [
            {"typology": t, "train": f"{mix['train'][t]:.1%}", "panel": f"{mix['panel'].get(t, 0.0):.1%}"}
            for t in mix.get("train", {})
        ],
        "typology_psi": "n/a" if mix.get("psi") is None else f"{mix['psi']:.3f}",
        "typology_beyond": bool(mix.get("beyond")),
        "panel_date": drift.get("panel_date", "–"),
        "train_span": _span(dates),
        "n_train": f"{int(drift.get('n_train_rows', 0)):,}",
        "n_panel": f"{int(drift.get('n_panel_rows', 0)):,}",
    }


def atrs_rows(evaluation: Mapping[str, Any], params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The ATRS fields the pipeline can fill."""
    m = evaluation
    test = m["test"].get("risk_model", {})
    protected = params.get("protected_features") or []
    protected_text = f" (and model features: {', '.join(protected)})" if protected else ""
    return [
        ("Name", f"IOM 12-month reoffending risk (`{params['register_name']}`)"),
        (
            "Description",
            "Ranks the IOM cohort by the estimated probability of proven reoffending within "
            "12 months, with reasons, for a human tiering panel",
        ),
        *ATRS_FIXED[:5],
        (
            "Model performance",
            f"Out-of-time test: AUC {_fmt(test.get('auc'))}, Brier {_fmt(test.get('brier'))}, "
            f"calibration error {_fmt(test.get('ece'), 4)} (baselines above)",
        ),
        *ATRS_FIXED[5:7],
        ("Data quantities", f"{sum(m['split'].get('rows', {}).values()):,} person-dates"),
        ("Sensitive attributes", f"Sex and ethnicity: audit only{protected_text}; age is a model feature"),
        *ATRS_FIXED[7:],
    ]


@dataclass
class CardInputs:
    """Everything the card and the version description are rendered from.

    Attributes
    ----------
    evaluation
        The train stage's ``reports/model/evaluation.json``: ``metrics`` (test, goals, model,
        split) and ``params`` (the ``train:`` section).
    verdicts
        The audit's verdicts (``fairness.read_verdicts``), or None before the audit.
    drift
        ``reports/drift/drift.json``, or None.
    version
        The registered version ("unregistered" without MLflow).
    report
        How the card names the fairness report (a Markdown link or a path).
    links
        ``(text, url)`` pairs for the version description (audit run, train run, report).
    limits_extra
        Further Markdown sections placed at the end of the Limits section.
    """

    evaluation: Mapping[str, Any]
    verdicts: Mapping[str, Any] | None = None
    drift: Mapping[str, Any] | None = None
    version: str = "unregistered"
    report: str = "`reports/fairness/fairness_report.html`"
    links: list[tuple[str, str]] = field(default_factory=list)
    limits_extra: list[str] = field(default_factory=list)


def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # Markdown out; markdown-it escapes when it makes the HTML
    )


def bootstrap_m_of_n(sample: Mapping[str, Any]) -> dict[str, Any] | None:
    """``{"m", "n", "scale"}`` when the refits were an m-out-of-n bootstrap (m < n), else None."""
    m, n = sample.get("bootstrap_persons_used"), sample.get("bootstrap_persons_of")
    if m is None or n is None or m >= n:
        return None
    return {"m": f"{int(m):,}", "n": f"{int(n):,}", "scale": f"{float(sample['bootstrap_scale']):.3f}"}


def card_context(inputs: CardInputs) -> dict[str, Any]:
    """The template context shared by the card and the version description."""
    metrics, params = inputs.evaluation["metrics"], inputs.evaluation["params"]
    capacity = int(params["capacity"])
    test = metrics["test"]
    protected = params.get("protected_features") or []
    fairness = fairness_context(inputs.verdicts, inputs.report)
    drift = drift_context(inputs.drift)
    return {
        "name": params["register_name"],
        "version": inputs.version,
        "protected": "model features: " + ", ".join(protected) if protected else "not model features",
        "capacity": capacity,
        "test_rows": test_rows(test, capacity),
        "has_oracle": "oracle" in test,
        "goals": goals_in_words(metrics.get("goals", {}), test, metrics.get(PRECISION_GAP)),
        "precision_gap": metrics.get(PRECISION_GAP),
        "split": split_context(metrics["split"]),
        "model": {
            "n_trees": metrics["model"]["n_trees"],
            "n_features": metrics["model"]["n_features"],
            "max_depth": params["max_depth"],
            "refit_on_valid": params.get("refit_on_valid", False),
            "calibration": params["calibration"],
            "n_bootstrap": params["n_bootstrap"],
            "interval": f"{float(params['interval']):.0%}",
            "bootstrap_m_of_n": bootstrap_m_of_n(metrics["model"].get("sample", {})),
        },
        "fairness": fairness,
        "drift": drift,
        "links": inputs.links,
        "limits_extra": inputs.limits_extra,
        "atrs": atrs_rows(metrics, params),
        "headline": headline(fairness, drift),
    }


def headline(fairness: Mapping[str, Any] | None, drift: Mapping[str, Any] | None) -> str:
    """One paragraph at the top of the card: the verdicts and the drift, in short."""
    parts = []
    if fairness:
        found = [r["label"] for r in fairness["rows"] if "disparity found" in r["short"]]
        parts.append(
            "**Fairness**: disparity found for " + ", ".join(found) + " (see below)."
            if found
            else "**Fairness**: no disparity found for any audited characteristic at the tested decisions."
        )
    else:
        parts.append("**Fairness**: the audit has not run for this version yet.")
    parts.append(f"**Drift**: {drift['verdict']}" if drift else "**Drift**: not measured yet.")
    return " ".join(parts)


def render_description(inputs: CardInputs) -> str:
    """The registered version's MLflow description (Markdown): the card's headline and links."""
    return (
        _environment().get_template("version_description.md.j2").render(**card_context(inputs)).strip() + "\n"
    )


def render_markdown(inputs: CardInputs, image: Callable[[str], str]) -> str:
    """The model card as Markdown; ``image(name)`` gives each chart's address."""
    text = _environment().get_template("model_card.md.j2").render(**card_context(inputs), image=image)
    return "\n".join(line.rstrip() for line in text.splitlines()).strip() + "\n"


def markdown_to_html(md: str, title: str) -> str:
    """A self-contained HTML page of Markdown (CommonMark and tables, by markdown-it-py)."""
    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(md)
    page = _environment().get_template("model_card.html.j2")
    return str(page.render(title=title, body=body))


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def plot_roc(roc: pd.DataFrame, path: Path) -> Path:
    """ROC curve per model (one colour each) from ``reports/model/roc.csv`` (fpr, tpr, model)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.2, 4.6), dpi=110)
    for key, rows in roc.groupby("model", sort=False):
        ax.plot(
            rows["fpr"],
            rows["tpr"],
            label=MODEL_LABELS.get(str(key), str(key)),
            color=MODEL_COLOURS.get(str(key)),
        )
    ax.plot([0, 1], [0, 1], color="#bbbbbb", linestyle=":", linewidth=1)
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC, out-of-time test")
    ax.legend(loc="lower right", fontsize=8)
    return _save(fig, path)


def plot_calibration(cal: pd.DataFrame, path: Path) -> Path:
    """Observed rate against mean predicted risk per bin, one colour per model, counts for the model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.2, 4.6), dpi=110)
    cal = cal.loc[cal["n"] > 0]
    for key, all_rows in cal.groupby("model", sort=False):
        # A bin of a handful of rows says little: drawn as an open marker with its count,
        # not joined to the curve (a bin of 2 rows at 0.9 observed 0 is not a collapse).
        sparse = all_rows.loc[all_rows["n"] < MIN_BIN_ROWS]
        rows = all_rows.loc[all_rows["n"] >= MIN_BIN_ROWS]
        ax.scatter(
            sparse["mean_predicted"],
            sparse["observed"],
            s=14,
            facecolors="none",
            edgecolors=MODEL_COLOURS.get(str(key)),
        )
        if key == "risk_model":
            for r in sparse.itertuples():
                ax.annotate(
                    f"{r.n:,}",
                    (r.mean_predicted, r.observed),
                    fontsize=6,
                    xytext=(3, 3),
                    textcoords="offset points",
                )
        ax.plot(
            rows["mean_predicted"],
            rows["observed"],
            marker="o",
            markersize=3,
            label=MODEL_LABELS.get(str(key), str(key)),
            color=MODEL_COLOURS.get(str(key)),
        )
        if key == "risk_model":
            for r in rows.itertuples():
                ax.annotate(
                    f"{r.n:,}",
                    (r.mean_predicted, r.observed),
                    fontsize=6,
                    xytext=(3, -8),
                    textcoords="offset points",
                )
    ax.plot([0, 1], [0, 1], color="#bbbbbb", linestyle=":", linewidth=1)
    ax.set(
        xlabel="mean predicted risk",
        ylabel="observed reoffending rate",
        title=(
            f"Calibration, out-of-time test (10 bins; risk model's rows per bin;\n"
            f"open markers: bins under {MIN_BIN_ROWS} rows)"
        ),
        xlim=(0, 1),
        ylim=(0, 1),
    )
    ax.title.set_fontsize(9)
    ax.legend(loc="upper left", fontsize=8)
    return _save(fig, path)


def _save(fig: Any, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, format="png", metadata={"Software": None})  # no version stamp: same bytes each run
    plt.close(fig)
    return path


CHARTS = ("roc.png", "calibration.png", "shap_bar.png", "shap_beeswarm.png")


def write_model_card(inputs: CardInputs, model_reports: Path, folder: Path) -> list[Path]:
    """Write ``model_card.md``, ``model_card.html`` (self-contained) and its charts to ``folder``.

    ``model_reports`` is the train stage's report folder (``roc.csv``, ``calibration.csv``,
    the SHAP charts). Returns the card's two files.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model_reports = Path(model_reports)
    plot_roc(pd.read_csv(model_reports / "roc.csv"), folder / "roc.png")
    plot_calibration(pd.read_csv(model_reports / "calibration.csv"), folder / "calibration.png")
    for name in CHARTS[2:]:
        src = model_reports / name
        if src.exists():
            (folder / name).write_bytes(src.read_bytes())
    md = render_markdown(inputs, image=lambda name: name)
    inline = render_markdown(
        inputs, image=lambda name: _data_uri(folder / name) if (folder / name).exists() else name
    )
    name = inputs.evaluation["params"]["register_name"]
    html = markdown_to_html(inline, title=f"Model card: {name} version {inputs.version}")
    paths = [folder / "model_card.md", folder / "model_card.html"]
    paths[0].write_text(md, encoding="utf-8")
    paths[1].write_text(html, encoding="utf-8")
    return paths
