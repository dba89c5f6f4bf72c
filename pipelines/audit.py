"""Stage ``audit``: the fairness audit of the model, the tiers, the typologies and the panel.

Reads the train stage's outputs (``predictions.parquet``: the out-of-time test block with
its labels; ``scores.parquet``: the panel-date list; ``registration.json``), the
features stage's age at each as-of date, the linked persons' sex and ethnicity (used
here only, in aggregate), the typology assignment and, when present, the panel's own
decisions. Writes ``metrics/fairness.json`` (headline only: the model version, the
``gate`` block the publish stage reads, and the verdict counts), ``reports/fairness/``
(``verdicts.json``: one verdict per characteristic and decision; the self-contained HTML
report and its plots; ``audit.json`` and CSV tables: every rate and ratio), and an
MLflow run ``audit`` tagged with the model version and the verdicts, holding at most 100
headline metrics and the full per-group table; the registered model version gets the
tags ``fairness_run_id`` and ``fairness_gate``.

Audits:

1. ``test``: the model on the out-of-time test block (labelled), with the tiering rule
   (``publish.tiering``) applied per as-of date: decisions ``red`` and ``red_or_amber``.
2. ``panel``: the panel-date list, label-free (size, mean risk, selection rates).
3. ``typology``: the share of each group assigned to each typology at the panel date.
4. ``overrides``: the panel's own decisions, where ``panel_decisions`` exist: how often
   the panel changed the suggested tier, moved someone up, or down / did not adopt.

Only the ``test`` and ``panel`` audits feed the gate; the typology and override audits
are reported (and flagged in the report) for the auditor.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from fairness.audit import FairnessAudit, audit_fairness, metric_token
from fairness.groups import build_groups
from fairness.measures import CALIBRATION_MEASURE
from fairness.params import FairnessParams
from fairness.report import RenderedReport, ReportSection, gate_summary, render_report
from fairness.verdicts import (
    DISPARITY,
    NO_DISPARITY,
    NOT_ENOUGH,
    audit_verdicts,
    empty_verdicts,
    verdict_counts,
    write_verdicts,
)
from features.cohort import age_on_dates
from features.partitions import read_features
from iom_config import DEFAULT_PARAMS, ParamsError, load_params, read_params
from models.tiering import TieringRule, assign_tiers
from pipelines.tracking import mlflow_enabled

logger = logging.getLogger(__name__)

FALLBACK_AREA = "risk-model"  # the train stage's experiment (iom/risk-model) when its run is not found
TIER_ORDER = {"red": 0, "amber": 1, "green": 2, "not_adopted": 3}


# ---------------------------------------------------------------------------------------
# Inputs


def read_ages(features: Path, dates: list[pd.Timestamp] | None = None) -> pd.DataFrame:
    """pseudo_id, as_of_date, age from the features partitions (only the dates asked for)."""
    out = read_features(features, columns=["pseudo_id", "as_of_date", "age"], dates=dates)
    out["as_of_date"] = pd.to_datetime(out["as_of_date"]).astype("datetime64[ms]")
    return out


def tiering_rule(params_path: Path) -> TieringRule:
    """``publish.tiering`` from params (the rule's defaults when absent)."""
    raw = (read_params(params_path).get("publish") or {}).get("tiering") or {}
    try:
        return TieringRule.model_validate(raw)
    except ValidationError as exc:
        raise ParamsError(f"{params_path} [publish.tiering]: invalid parameters:\n{exc}") from None


def decisions_of(frame: pd.DataFrame, rule: TieringRule, risk: str) -> dict[str, np.ndarray]:
    """The panel's operational decisions per row: red, and red or amber."""
    tier = assign_tiers(frame, rule, risk=risk, by="as_of_date").astype(str).to_numpy()
    return {"red": tier == "red", "red_or_amber": np.isin(tier, ["red", "amber"])}


def _with_age(rows: pd.DataFrame, ages: pd.DataFrame) -> pd.DataFrame:
    keyed = rows[["pseudo_id", "as_of_date"]].astype({"as_of_date": "datetime64[ms]"})
    merged = keyed.merge(ages, on=["pseudo_id", "as_of_date"], how="left", validate="many_to_one")
    merged.index = rows.index
    return merged


# ---------------------------------------------------------------------------------------
# The four audits


def audit_settings(params: FairnessParams) -> dict[str, Any]:
    """The audit settings every audit in this stage shares (reference, band, size, bootstrap)."""
    return {
        "reference_groups": params.reference_groups,
        "band": params.band,
        "min_group_size": params.min_group_size,
        "n_bootstrap": params.n_bootstrap,
        "seed": params.seed,
        "min_cell_size": params.min_cell_size,
    }


def audit_test_block(
    predictions: pd.DataFrame,
    ages: pd.DataFrame,
    persons: pd.DataFrame,
    params: FairnessParams,
    rule: TieringRule,
) -> tuple[FairnessAudit, dict[str, Any]]:
    """The model on the out-of-time test block, at the tiering rule's decisions."""
    test = predictions.loc[predictions["block"].eq("test").fillna(False).to_numpy(dtype=bool)]
    test = test.loc[test["label"].notna() & test["risk_model"].notna()].reset_index(drop=True)
    if test.empty:
        raise ValueError("predictions.parquet has no labelled rows in block 'test'")
    test = test.assign(as_of_date=pd.to_datetime(test["as_of_date"]).astype("datetime64[ms]"))
    groups = build_groups(_with_age(test, ages), persons, params.groups, params.age_bands)
    audit = audit_fairness(
        test["label"].to_numpy(dtype=np.float64),
        test["risk_model"].to_numpy(dtype=np.float64),
        sensitive_features=groups,
        selected=decisions_of(test, rule, "risk_model"),
        **audit_settings(params),
        cluster=test["pseudo_id"].to_numpy(),
        gated=params.gated,
    )
    dates = sorted(pd.to_datetime(test["as_of_date"]).dt.strftime("%Y-%m-%d").unique().tolist())
    info = {"rows": len(test), "people": int(test["pseudo_id"].nunique()), "dates": dates}
    return audit, info


def audit_panel_list(
    scores: pd.DataFrame, ages: pd.DataFrame, persons: pd.DataFrame, params: FairnessParams, rule: TieringRule
) -> tuple[FairnessAudit, dict[str, Any]]:
    """The panel-date list without labels: who is on it, their mean risk, who is red / amber."""
    frame = scores.assign(as_of_date=pd.to_datetime(scores["as_of_date"]).astype("datetime64[ms]"))
    frame = frame.loc[frame["risk_12m"].notna()].reset_index(drop=True)
    groups = build_groups(_with_age(frame, ages), persons, params.groups, params.age_bands)
    audit = audit_fairness(
        None,
        frame["risk_12m"].to_numpy(dtype=np.float64),
        sensitive_features=groups,
        selected=decisions_of(frame, rule, "risk_12m"),
        **audit_settings(params),
        cluster=frame["pseudo_id"].to_numpy(),
        gated=params.gated,
        name_prefix="panel.",
    )
    dates = sorted(frame["as_of_date"].dt.strftime("%Y-%m-%d").unique().tolist())
    return audit, {"rows": len(frame), "dates": dates}


def audit_typology(
    typology: pd.DataFrame,
    panel_dates: list[str],
    ages: pd.DataFrame,
    persons: pd.DataFrame,
    params: FairnessParams,
) -> FairnessAudit | None:
    """Share of each group assigned to each typology at the panel date (not gated)."""
    t = typology.assign(as_of_date=pd.to_datetime(typology["as_of_date"]).astype("datetime64[ms]"))
    # The panel date's rows by their calendar day (every person-date is read: formatting
    # each as text to compare took longer than the audit of the panel date's rows).
    days = pd.to_datetime(pd.Series(panel_dates, dtype="str")).astype("datetime64[ms]")
    at = t.loc[t["as_of_date"].dt.normalize().isin(days)].reset_index(drop=True)
    if at.empty:
        return None
    labels = at["typology"].astype(str).to_numpy()
    selected = {f"typology_{name}": labels == name for name in sorted(set(labels))}
    groups = build_groups(_with_age(at, ages), persons, params.groups, params.age_bands)
    return audit_fairness(
        None,
        None,
        sensitive_features=groups,
        selected=selected,
        **audit_settings(params),
        cluster=at["pseudo_id"].to_numpy(),
        gated=(),
        name_prefix="typology.",
    )


def audit_overrides(
    decisions: pd.DataFrame, persons: pd.DataFrame, params: FairnessParams
) -> FairnessAudit | None:
    """The panel's own decisions by group: overridden, moved up, moved down or not adopted."""
    if decisions.empty:
        return None
    d = decisions.reset_index(drop=True)
    d = d.assign(as_of_date=pd.to_datetime(d["panel_date"]).astype("datetime64[ms]"))
    birth = d["pseudo_id"].map(persons.drop_duplicates("pseudo_id").set_index("pseudo_id")["birth_month"])
    rows = d.assign(age=age_on_dates(birth, d["as_of_date"]))
    suggested = d["suggested_tier"].astype(str).map(TIER_ORDER).to_numpy(dtype=np.float64)
    decided = d["decided_tier"].astype(str).map(TIER_ORDER).to_numpy(dtype=np.float64)
    selected = {
        "override": suggested != decided,
        "moved_up": decided < suggested,
        "moved_down_or_not_adopted": decided > suggested,
    }
    return audit_fairness(
        None,
        None,
        sensitive_features=build_groups(rows, persons, params.groups, params.age_bands),
        selected=selected,
        **audit_settings(params),
        cluster=d["pseudo_id"].to_numpy(),
        gated=(),
        name_prefix="overrides.",
    )


# ---------------------------------------------------------------------------------------
# Metrics, gate, MLflow


def _num(x: Any) -> float | None:
    return None if x is None or not np.isfinite(float(x)) else round(float(x), 6)


def audit_metrics(audit: FairnessAudit) -> dict[str, Any]:
    """An audit as JSON-able aggregates: every measure and ratio with its interval."""
    bg = audit.by_group
    measures = {
        r.name: {"value": _num(r.value), "ci_low": _num(r.ci_low), "ci_high": _num(r.ci_high)}
        for r in bg.loc[~bg["suppressed"]].itertuples()
    }
    disparities = {
        r.name: {
            "ratio": _num(r.ratio),
            "ci_low": _num(r.ci_low),
            "ci_high": _num(r.ci_high),
            "status": r.status,
            "gated": bool(r.gated),
        }
        for r in audit.disparities.itertuples()
    }
    overall = {
        r.name: {"value": _num(r.value), "ci_low": _num(r.ci_low), "ci_high": _num(r.ci_high)}
        for r in audit.overall.itertuples()
    }
    suppressed = {
        g: sorted(bg.loc[bg["grouping"].eq(g) & bg["suppressed"], "group"].tolist()) for g in audit.reference
    }
    statuses = audit.disparities["status"].value_counts().to_dict()
    return {
        "reference": audit.reference,
        "suppressed": suppressed,
        "flagged": audit.flagged,
        "status_counts": {str(k): int(v) for k, v in statuses.items()},
        "measures": measures,
        "disparities": disparities,
        "overall": overall,
    }


def gate_block(audits: list[FairnessAudit], params: FairnessParams) -> dict[str, Any]:
    """The gate: ``mode``, ``status``, ``flagged`` and a short ``summary`` (docs: fairness/gate.py)."""
    flagged = [name for a in audits for name in a.flagged]
    n_gated = int(
        sum(int((a.disparities["gated"] & a.disparities["status"].ne("suppressed")).sum()) for a in audits)
    )
    return {
        "mode": params.gate,
        "status": "flagged" if flagged else "pass",
        "flagged": flagged,
        "summary": gate_summary(flagged, n_gated, params.band, params.gate),
        "n_gated": n_gated,
    }


def headline_metrics(result: dict[str, Any], verdicts: dict[str, Any]) -> dict[str, Any]:
    """``metrics/fairness.json``: the headline only, so ``dvc metrics show`` reads in a terminal.

    The audited model version, the gate (the publish stage reads it) and how many
    verdicts (characteristic x decision, and calibration) are of each kind. Everything
    else is in ``reports/fairness/audit.json`` and ``verdicts.json``.
    """
    counts = verdict_counts(verdicts)
    return {
        "model_version": result["model_version"],
        "gate": {k: result["gate"][k] for k in ("mode", "status", "flagged")}
        | {
            "summary": f"{len(result['gate']['flagged'])} of {result['gate']['n_gated']} gated ratios flagged"
        },
        "disparity_found": counts[DISPARITY],
        "no_disparity": counts[NO_DISPARITY],
        "not_enough_data": counts[NOT_ENOUGH],
    }


_METRIC_NAME = re.compile(r"[^0-9A-Za-z_\-. /]")


def _tightest(rows: pd.DataFrame, band: tuple[float, float]) -> pd.Series | None:
    """The ratio whose interval comes nearest the band's far side (or goes furthest past it).

    That is the strongest evidence of a disparity among the rows: ``max(log(lo / high),
    log(low / hi))`` is positive exactly when the whole interval lies outside the band.
    """
    ok = rows.loc[rows["ci_low"].notna() & rows["ci_high"].notna() & rows["ratio"].notna()]
    if ok.empty:
        return None
    with np.errstate(divide="ignore"):
        lo = np.log(np.maximum(ok["ci_low"].to_numpy(dtype=float), 1e-12))
        hi = np.log(np.maximum(ok["ci_high"].to_numpy(dtype=float), 1e-12))
    score = np.maximum(lo - np.log(band[1]), np.log(band[0]) - hi)
    return ok.iloc[int(np.argmax(score))]


def mlflow_headline(
    audit: FairnessAudit | None, verdicts: dict[str, Any], gated: list[str]
) -> dict[str, float]:
    """At most 100 headline metrics, named ``<characteristic>.<decision>.<measure>_ratio.<what>``.

    Per characteristic and decision, for each gated measure and for calibration: the
    ratio nearest to (or furthest past) the band with its interval (``.tightest``,
    ``.tightest.ci_low``, ``.tightest.ci_high``); fairlearn's between-group summaries;
    and the verdict counts (``verdicts.disparity_found`` ...). A search for ``ethnicity``,
    ``fpr`` or ``verdicts`` in the MLflow UI finds them. The full per-group table is logged
    as a table (``tables/by_group.json``), not as metrics.
    """
    out: dict[str, float] = {}
    counts = verdict_counts(verdicts)
    out["verdicts.disparity_found"] = float(counts[DISPARITY])
    out["verdicts.no_disparity_found"] = float(counts[NO_DISPARITY])
    out["verdicts.not_enough_data"] = float(counts[NOT_ENOUGH])
    if audit is None:
        return out
    out["verdicts.flagged_ratios"] = float(len(audit.flagged))
    d = audit.disparities.loc[audit.disparities["status"].ne("suppressed")]
    slots: list[tuple[str, str]] = [
        (k, m) for k in ("red", "red_or_amber") if k in audit.decisions for m in gated
    ]
    slots.append(("", CALIBRATION_MEASURE))
    for grouping in audit.reference:
        for k, m in slots:
            row = _tightest(
                d.loc[d["grouping"].eq(grouping) & d["decision"].eq(k) & d["measure"].eq(m)], audit.band
            )
            if row is None:
                continue
            name = ".".join([metric_token(grouping), *([k] if k else ["calibration"]), f"{m}_ratio.tightest"])
            out[name] = float(row["ratio"])
            out[f"{name}.ci_low"] = float(row["ci_low"])
            out[f"{name}.ci_high"] = float(row["ci_high"])
    for r in audit.overall.itertuples():
        if np.isfinite(r.value):
            out[f"{metric_token(r.grouping)}.{r.decision}.{r.measure}"] = float(r.value)
    if len(out) > MAX_HEADLINE_METRICS:
        raise ValueError(
            f"{len(out)} headline metrics; MLflow's headline is capped at {MAX_HEADLINE_METRICS}"
        )
    return {_METRIC_NAME.sub("_", k): v for k, v in out.items()}


MAX_HEADLINE_METRICS = 100


def full_table(sections: dict[str, FairnessAudit]) -> pd.DataFrame:
    """Every per-group value and every ratio of every audit, one row each (for ``mlflow.log_table``)."""
    frames = []
    for key, audit in sections.items():
        bg = audit.by_group.assign(audit=key, kind="value", ratio=np.nan, status="")
        d = audit.disparities.assign(audit=key, kind="ratio", value=np.nan)
        d = d.rename(columns={"reference": "reference_group"})
        bg = bg.assign(reference_group=bg["grouping"].map(audit.reference))
        frames += [bg, d]
    cols = [
        "audit", "kind", "grouping", "group", "reference_group", "decision", "measure", "name",
        "value", "ratio", "ci_low", "ci_high", "status", "suppressed", "size",
    ]  # fmt: skip
    table = pd.concat(frames, ignore_index=True).reindex(columns=cols)
    table["suppressed"] = table["suppressed"].astype("boolean").fillna(False).astype(bool)
    table["size"] = table["size"].astype("Float64").astype(float)
    for c in ("value", "ratio", "ci_low", "ci_high"):
        table[c] = table[c].astype(float).round(6)
    return table


def log_audit_run(
    result: dict[str, Any],
    headline: dict[str, float],
    verdicts: dict[str, Any],
    table: pd.DataFrame,
    params: FairnessParams,
    rule: TieringRule,
    artifacts: list[Path],
) -> str | None:
    """Log the audit as MLflow run ``audit`` and tag the registered model version; return the run id.

    The run holds the headline metrics (at most 100), one tag per verdict
    (``verdict.<characteristic>.<decision>``), the full per-group table as an MLflow
    table (``tables/by_group.json``), and the report, its charts, the verdicts and the
    detail JSON as artifacts.
    """
    from pipelines.tracking import area_of_run, configure_mlflow

    configure_mlflow(area_of_run(result.get("train_run_id"), FALLBACK_AREA))  # not an empty iom/risk-model
    import mlflow
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    name, version = str(result.get("model_name") or ""), str(result.get("model_version") or "")
    train_run = result.get("train_run_id")
    if train_run:
        try:  # the same experiment as the model's training run
            mlflow.set_experiment(experiment_id=client.get_run(str(train_run)).info.experiment_id)
        except Exception:  # the training run is in another store: keep the default experiment
            logger.info(
                "train run %s not in this MLflow store; audit logged to iom/%s", train_run, FALLBACK_AREA
            )
    gate = result["gate"]
    tags = {
        "stage": "audit",
        "model_name": name,
        "model_version": version,
        "fairness_gate": gate["status"],
        "fairness_gate_mode": gate["mode"],
        "fairness_flagged": str(len(gate["flagged"])),
    }
    for characteristic, entry in verdicts["characteristics"].items():
        for decision, decided in entry["decisions"].items():
            tags[f"verdict.{characteristic}.{decision}"] = decided["verdict"]
        tags[f"verdict.{characteristic}.calibration"] = entry["calibration"]["verdict"]
    if train_run:
        tags["train_run_id"] = str(train_run)
    with mlflow.start_run(run_name="audit", tags=tags) as run:
        flat = {f"fairness.{k}": str(v)[:500] for k, v in params.model_dump(mode="json").items()}
        flat.update({f"tiering.{k}": str(v) for k, v in rule.model_dump().items()})
        mlflow.log_params(flat)
        mlflow.log_metrics(dict(sorted(headline.items())))
        mlflow.log_table(table, artifact_file="tables/by_group.json")
        for path in artifacts:
            sub = {".png": "plots", ".csv": "tables"}.get(path.suffix)
            mlflow.log_artifact(str(path), artifact_path=sub)
        run_id = str(run.info.run_id)
    if name and version and version != "unregistered":
        try:
            client.set_model_version_tag(name, version, "fairness_run_id", run_id)
            client.set_model_version_tag(name, version, "fairness_gate", gate["status"])
        except Exception as exc:  # the version is registered in another store
            logger.warning("could not tag model version %s/%s: %s", name, version, exc)
    return run_id


# ---------------------------------------------------------------------------------------
# The stage


def _tables(audit: FairnessAudit, key: str, out: Path) -> list[Path]:
    paths = []
    for attr in ("by_group", "disparities", "overall", "calibration"):
        frame: pd.DataFrame = getattr(audit, attr)
        if attr == "calibration" and frame.empty:
            continue
        path = out / f"{key}_{attr}.csv"
        frame.round(6).to_csv(path, index=False)
        paths.append(path)
    return paths


def run(
    model_dir: Path,
    features: Path,
    persons: Path,
    typology_dir: Path,
    linked: Path,
    out: Path,
    metrics: Path,
    params_path: Path = DEFAULT_PARAMS,
) -> dict[str, Any]:
    """Run every audit, write the report, metrics and tables, log to MLflow; return the metrics."""
    params = load_params("fairness", FairnessParams, params_path)
    rule = tiering_rule(Path(params_path))
    model_dir, out, metrics = Path(model_dir), Path(out), Path(metrics)
    registration_path = model_dir / "registration.json"
    registration = (
        json.loads(registration_path.read_text(encoding="utf-8")) if registration_path.exists() else {}
    )
    people = pd.read_parquet(persons, columns=["pseudo_id", "sex", "ethnicity", "birth_month"])
    # `iom score` output has no predictions (no labels yet): then the label-free audits only.
    predictions_path = model_dir / "predictions.parquet"
    predictions = pd.read_parquet(predictions_path) if predictions_path.exists() else None
    scores = pd.read_parquet(model_dir / "scores.parquet")
    test_dates = (
        pd.to_datetime(predictions.loc[predictions["block"].eq("test"), "as_of_date"]).unique().tolist()
        if predictions is not None
        else []
    )
    panel_dates = pd.to_datetime(scores["as_of_date"]).unique().tolist()
    ages = read_ages(Path(features), [*test_dates, *panel_dates])

    sections: list[ReportSection] = []
    test_audit: FairnessAudit | None = None
    test_info: dict[str, Any] = {}
    if predictions is not None:
        test_audit, test_info = audit_test_block(predictions, ages, people, params, rule)
        sections.append(
            ReportSection(
                "test",
                "The model on the out-of-time test block",
                f"{test_info['rows']} person-dates ({test_info['people']} people) at "
                f"{', '.join(test_info['dates'])}, with their observed outcome. Decisions: the tiering rule "
                f"applied at each date ({rule.describe()}).",
                test_audit,
                show_calibration=True,
            )
        )
    else:
        logger.warning("%s not found: no labelled test block, label-free audits only", predictions_path)
    panel_audit, panel_info = audit_panel_list(scores, ages, people, params, rule)
    sections.append(
        ReportSection(
            "panel",
            "The panel-date list (no outcomes yet)",
            f"{panel_info['rows']} people at {', '.join(panel_info['dates'])}: who is on the list, their "
            "mean estimated risk and who the rule puts in red / amber. Without outcomes, only these can be "
            "audited.",
            panel_audit,
        )
    )
    typology_path = Path(typology_dir) / "typology.parquet"
    typology_audit = None
    if typology_path.exists():
        typology_audit = audit_typology(
            pd.read_parquet(typology_path, columns=["pseudo_id", "as_of_date", "typology"]),
            panel_info["dates"],
            ages,
            people,
            params,
        )
    if typology_audit is not None:
        sections.append(
            ReportSection(
                "typology",
                "Typology assignment by group (panel date)",
                "Share of each group assigned to each typology (not gated: typologies describe, they do not "
                "select; a group concentrated in an enforcement-led typology deserves a look).",
                typology_audit,
            )
        )
    decisions_path = Path(linked) / "panel_decisions.parquet"
    override_audit = None
    if decisions_path.exists():
        override_audit = audit_overrides(pd.read_parquet(decisions_path), people, params)
    if override_audit is not None:
        sections.append(
            ReportSection(
                "overrides",
                "The panel's own decisions by group",
                "How often the panel changed the suggested tier, moved someone up to a more intensive "
                "tier, or down / did not adopt them (human decisions are audited too; not gated).",
                override_audit,
            )
        )

    gate = gate_block([a for a in (test_audit, panel_audit) if a is not None], params)
    audits = {s.key: s.audit for s in sections}
    result: dict[str, Any] = {
        "model_name": registration.get("name"),
        "model_version": str(registration.get("version", "unknown")),
        "model_fingerprint": registration.get("fingerprint"),
        "train_run_id": registration.get("run_id"),
        "gate": gate,
        "band": list(params.band),
        "min_group_size": params.min_group_size,
        "n_bootstrap": params.n_bootstrap,
        "tiering": rule.describe(),
        "panel": {**panel_info, **audit_metrics(panel_audit)},
    }
    if test_audit is not None:
        result["test"] = {**test_info, **audit_metrics(test_audit)}
    if typology_audit is not None:
        result["typology"] = audit_metrics(typology_audit)
    if override_audit is not None:
        result["overrides"] = audit_metrics(override_audit)

    out.mkdir(parents=True, exist_ok=True)
    panel_date = panel_info["dates"][-1] if panel_info["dates"] else None
    if test_audit is not None:
        verdicts = audit_verdicts(
            test_audit, params.gated_measures, as_of_dates=test_info["dates"], panel_date=panel_date
        )
    else:
        verdicts = empty_verdicts(params.groups, params.band, params.gated_measures, panel_date=panel_date)
    verdicts_path = write_verdicts(verdicts, out / "verdicts.json")
    context = {
        "model": f"{result['model_name'] or 'risk model'} version {result['model_version']}",
        "model fingerprint": str(result["model_fingerprint"] or "–")[:16],
        "trained on as-of dates up to": str(registration.get("trained_on", "–")),
        "tiering rule": rule.describe(),
        "groups": ", ".join(params.groups),
        "reference groups": ", ".join(f"{k}: {v}" for k, v in sections[0].audit.reference.items()),
        "band": f"{params.band[0]:g}–{params.band[1]:g}",
        "smallest group shown": f"{params.min_group_size} people",
        "bootstrap replicates": str(params.n_bootstrap),
    }
    rendered: RenderedReport = render_report(
        sections, gate, context, verdicts, params.gated_measures, min_cell_size=params.min_cell_size
    )
    report_path = out / "fairness_report.html"
    report_path.write_text(rendered.html, encoding="utf-8")
    artifacts = [report_path, verdicts_path]
    for fname, png in rendered.plots.items():
        (out / fname).write_bytes(png)
        artifacts.append(out / fname)
    for key, audit in audits.items():
        artifacts.extend(_tables(audit, key, out))
    # The detail (every rate and ratio with its interval) is a report, not a DVC metric.
    detail_path = out / "audit.json"
    detail_path.write_text(json.dumps(result, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    artifacts.append(detail_path)

    headline = headline_metrics(result, verdicts)
    metrics.parent.mkdir(parents=True, exist_ok=True)
    metrics.write_text(json.dumps(headline, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    artifacts.append(metrics)
    run_id = (
        log_audit_run(
            result,
            mlflow_headline(test_audit, verdicts, params.gated_measures),
            verdicts,
            full_table(audits),
            params,
            rule,
            artifacts,
        )
        if mlflow_enabled(Path(params_path))
        else None
    )
    logger.info(
        "fairness audit: gate %s (%d flagged), MLflow run %s", gate["status"], len(gate["flagged"]), run_id
    )
    return {**result, "headline": headline, "verdicts": verdicts}
