"""The risk model's card: what it is for, how it was validated, its figures and limits."""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from models.risk_params import TrainParams
    from models.risk_train import TrainResult

METRIC_KEYS = ("auc", "brier", "log_loss", "ece", "calibration_slope", "calibration_intercept")


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


def atrs_table(result: TrainResult, params: TrainParams) -> str:
    """The ATRS fields the pipeline can fill, as a Markdown table."""
    m = result.metrics
    test = m["test"].get("risk_model", {})
    protected = (
        " (and model features: " + ", ".join(params.protected_features) + ")"
        if params.protected_features
        else ""
    )
    rows = [
        ("Name", f"IOM 12-month reoffending risk (`{params.register_name}`)"),
        (
            "Description",
            "Ranks the IOM cohort by the estimated probability of proven reoffending within "
            "12 months, with reasons, for a human tiering panel",
        ),
        *ATRS_FIXED[:5],
        (
            "Model performance",
            f"Out-of-time test: AUC {test.get('auc', 'n/a')}, Brier {test.get('brier', 'n/a')}, "
            f"ECE {test.get('ece', 'n/a')} (baselines above)",
        ),
        *ATRS_FIXED[5:7],
        ("Data quantities", f"{sum(m['split'].get('rows', {}).values()):,} person-dates"),
        ("Sensitive attributes", f"Sex and ethnicity: audit only{protected}; age is a model feature"),
        *ATRS_FIXED[7:],
    ]
    return "| ATRS field | entry |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in rows)


def model_card_markdown(result: TrainResult, params: TrainParams) -> str:
    """The model card as Markdown."""
    m, split = result.metrics, result.split
    cap = params.capacity
    keys = (*METRIC_KEYS, f"precision_at_{cap}", f"recall_at_{cap}")
    rows = [
        f"| {name} | " + " | ".join(str(v.get(k, "")) for k in keys) + " |" for name, v in m["test"].items()
    ]
    goals = "\n".join(f"- {k}: **{v}**" for k, v in m["goals"].items())
    return f"""# Model card: IOM 12-month reoffending risk (`{params.register_name}`)

## Purpose
Estimates, for each person in the IOM cohort at an as-of date, the probability of a proven
offence in the next 12 months (`risk_12m`). It informs, and does not replace, the tiering
panel's judgement. Sex and ethnicity are {
        "used: " + ", ".join(params.protected_features)
        if params.protected_features
        else "not used as features"
    }; they are used in the fairness audit.

## Intended use, and misuse
- **Use**: ordering the IOM cohort for a multi-agency tiering panel, which reads each
  score with its reasons, decides the tier, and records its decision (overrides are
  audited). Suggested tiers follow the unit's capacity or cut-points in params.
- **Not for**: decisions about an individual without the panel (charging, bail,
  sentencing, licence recall, disclosure, eligibility for services); people outside the
  cohort definition (under 18, no proven offence in the look-back window); other areas or
  periods without re-validation; inferring anything about a person's ethnicity or sex.
  A high score is not evidence of an offence.

## Data
Partner-record extract in the contract shape (`partner-records/1`): police nominals and
offences, custody episodes, probation orders, contacts and assessments, health and
housing events, linked across agencies without a shared key and pseudonymised. One row
per person per quarter-end as-of date in the cohort (aged 18+, a proven offence in the
preceding 24 months, not in custody, or due out within 56 days). Rows used: {
        ", ".join(f"{b} {n:,}" for b, n in m["split"].get("rows", {}).items())
    }.

## Outcome
**Proven reoffending within 12 months** (after the Ministry of Justice definition): a
proven offence dated after the as-of date and within 365 days of it, proven within 183
days of the offence. Only as-of dates at least 548 days before the extract date have a
label; nothing dated after the as-of date enters its features. The outcome is recorded,
proven offending: what the police detect and the courts prove, not all offending.

## Model
xgboost, {m["model"]["n_trees"]} trees of depth {params.max_depth} (early stopping on the
validation dates{
        "; the same number of trees then regrown on the training and validation dates together"
        if params.refit_on_valid
        else ""
    }), monotone constraints from the feature catalogue (e.g. more proven
offences never lowers the risk), {m["model"]["n_features"]} features. Calibrated on held-out
dates by **{params.calibration}** scaling of the trees' log-odds: Platt has two parameters,
is strictly increasing (keeps the ranking and the monotone constraints) and smooth (so
explanations map to probability points).

## Interval
`risk_12m_low`/`risk_12m_high`: {params.n_bootstrap} bootstrap refits (trees and calibrator)
in which each person gets a Poisson(1) weight, so all of a person's as-of dates are
resampled together. The interval is `risk_12m` moved, in log-odds, by the central
{params.interval:.0%} of the refits' deviations from their mean for that person (the
refits give the spread, the fitted model the centre, so the interval always contains
`risk_12m`). It reflects estimation uncertainty, not the person's own uncertainty (a 30%
risk is already a statement of that). The refits are logged with the model, so a
registered version reproduces its intervals.

## Temporal validation
Train: {split.train[0].date()}..{split.train[-1].date()} ({len(split.train)} as-of dates);
early stopping: {split.valid[0].date()}..{split.valid[-1].date()} ({len(split.valid)});
calibration: {split.calib[0].date()}..{split.calib[-1].date()} ({len(split.calib)});
out-of-time test: {split.test[0].date()}..{split.test[-1].date()} ({len(split.test)}).

## Out-of-time test figures
| model | {" | ".join(keys)} |
|---|{"---|" * len(keys)}
{chr(10).join(rows)}

Capacity: {cap} people per as-of date. Oracle: the simulator's true probability (simulated
extracts only).

## Calibration
On the out-of-time test the model's expected calibration error (10 bins) is {
        m["test"].get("risk_model", {}).get("ece", "n/a")
    }, slope {m["test"].get("risk_model", {}).get("calibration_slope", "n/a")} and intercept {
        m["test"].get("risk_model", {}).get("calibration_intercept", "n/a")
    } (a perfectly calibrated model has 0, 1 and 0). The calibration plot is
`reports/model/plots/calibration_*.csv` (`dvc plots show`).

## Goals
{goals}

## Fairness
The audit stage (`iom audit`) runs after training on the same out-of-time test dates and
at the panel's decisions (red; red or amber), across ethnicity, sex, age band and
ethnicity x sex, with bootstrap intervals and small groups suppressed. Its result is
attached to this registered version as the tags `fairness_gate` and `fairness_run_id`
(the run holds the report `fairness_report.html`); the panel pack shows it on its first
page.

## Explanations
Reasons are exact TreeSHAP contributions (log-odds) shared out of the calibrated
probability change from the base risk, so base + points = risk_12m; history (static) and
needs (dynamic) are listed apart.

## Limits
Trained on recorded, proven offending: policing patterns shape the label. Check the
fairness audit before use. Probabilities drift as the cohort changes: recalibrate on
recent dates. Career and history features look back a fixed window
(`features.history_months`), never to the start of the agencies' records: counts "ever"
would grow with the calendar date for everyone (records start somewhere) and the model
would read that growth as risk. The window must fit inside the records before the first
training date (the features stage refuses otherwise).

## Algorithmic Transparency Recording Standard (fields the pipeline can fill)
{atrs_table(result, params)}

## Registry
Registered in MLflow as `{params.register_name}`; the version's `fingerprint` tag is the
sha256 of the model files (trees, calibrator, bootstrap refits), so an identical retrain
reuses the version. `iom score --extract DIR --panel-date D --model-version V` scores a new
extract with a registered version without retraining.
"""


def markdown_to_html(md: str) -> str:
    """A minimal Markdown-to-HTML rendering (headings, tables, lists, paragraphs)."""
    out: list[str] = []
    table: list[str] = []
    para: list[str] = []

    def flush() -> None:
        if para:
            out.append("<p>" + " ".join(para) + "</p>")
            para.clear()
        if table:
            cells = [[c.strip() for c in r.strip().strip("|").split("|")] for r in table if "---" not in r]
            head = "".join(f"<th>{c}</th>" for c in cells[0])
            body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in cells[1:])
            out.append(f"<table><tr>{head}</tr>{body}</table>")
            table.clear()

    for raw in md.splitlines():
        line = html.escape(raw).replace("**", "")
        if raw.startswith("|"):
            if para:
                flush()
            table.append(line)
            continue
        if table:
            flush()
        if not raw.strip():
            flush()
        elif raw.startswith("#"):
            flush()
            level = len(raw) - len(raw.lstrip("#"))
            out.append(f"<h{level}>{line.lstrip('#').strip()}</h{level}>")
        elif raw.startswith("- "):
            flush()
            out.append(f"<li>{line[2:]}</li>")
        else:
            para.append(line)
    flush()
    style = (
        "body{font-family:sans-serif;max-width:60em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 6px}"
    )
    head = f"<head><meta charset='utf-8'><style>{style}</style></head>"
    return f"<!doctype html><html>{head}<body>{''.join(out)}</body></html>"


def write_model_card(
    result: TrainResult, params: TrainParams, folder: Path, all_params: dict[str, Any] | None = None
) -> list[Path]:
    """Write ``model_card.md`` and ``model_card.html`` to ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    md = model_card_markdown(result, params)
    paths = [folder / "model_card.md", folder / "model_card.html"]
    paths[0].write_text(md, encoding="utf-8")
    paths[1].write_text(markdown_to_html(md), encoding="utf-8")
    return paths
