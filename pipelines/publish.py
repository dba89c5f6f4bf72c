"""Stage ``publish``: the scored cohort list and panel pack for the tiering meeting.

Reads the model's scores at the panel date (``model_dir/scores.parquet`` and
``registration.json``, from ``iom train`` or ``iom score``), the typologies, the linked
persons, custody episodes and earlier panels' decisions, and the fairness audit's gate
result. Writes (``docs/contract/cohort-list.md``):

- ``out/cohort_list.csv`` and ``out/panel_pack.html`` (the panel's copy: pseudonymous; the
  CSV lists everyone, the pack above ``pack_max_in_full`` people only those to discuss,
  counting the rest);
- ``reid_out/reid_key.csv``: each listed person's source identifiers, for the data
  controller only (folder 0700, file 0600);
- ``metrics``: aggregate figures only (tiers, typologies, movement, overrides, coverage).

In fairness gate ``block`` mode with flagged measures and no sign-off naming them all,
nothing is published and :class:`fairness.gate.GateBlocked` says what to do.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import Field

from fairness.gate import enforce, uncovered_measures
from features.catalogue import DEFAULT_HISTORY_MONTHS
from iom_config import DEFAULT_PARAMS, StageParams, load_params, read_params
from iom_contract import AGENCY_IDS
from iom_io import write_private_text
from iom_panel.changes import archive_list, data_freshness, left_list, read_previous_list, what_changed
from iom_panel.cohort import build_cohort_list, format_cohort_csv, stands_out, summarise_cohort
from iom_panel.decisions import override_history, override_rates, previous_panel, read_decisions
from iom_panel.fairness_words import audit_covers, fairness_sentences
from iom_panel.pack import PACK_MAX_IN_FULL, render_pack, summarised_view
from iom_panel.typology_check import contradicted_typology
from models.explain import compose_reasons
from models.tiering import TieringRule
from models.typology_naming import SEED_TYPOLOGIES

logger = logging.getLogger(__name__)

# Source -> the contract's identifier column (the re-identification key's columns).
ID_COLUMNS: dict[str, str] = {agency: a.column for agency, a in AGENCY_IDS.items()}


class PublishParams(StageParams):
    """``publish:`` in params.yaml."""

    tiering: TieringRule = Field(default_factory=lambda: TieringRule.model_validate({}))
    n_reasons_up: int = Field(3, ge=0, le=10, description="reasons raising the estimate shown per person")
    n_reasons_down: int = Field(2, ge=0, le=10, description="reasons lowering it shown per person")
    stale_assessment_months: int = Field(
        12, ge=1, description="needs reasons from an older assessment say how old it is"
    )
    freshness_warning_days: int = Field(
        60, ge=1, description="warn when an agency's records stop this long before the panel date"
    )
    archive: str | None = Field(
        None,
        description="published lists kept per panel date (previous rank and risk, who left); "
        "null: a folder 'published' beside the output folder (data/published for data/panel)",
    )
    pack_max_in_full: int | None = Field(
        PACK_MAX_IN_FULL,
        ge=1,
        description="above this many listed people the pack shows in full only the people the panel "
        "must discuss and counts the rest (all in cohort_list.csv); null: everyone in full",
    )


def read_registration(model_dir: Path) -> dict[str, Any]:
    """``registration.json`` of the model that produced the scores."""
    path = Path(model_dir) / "registration.json"
    if not path.exists():
        raise FileNotFoundError(
            f"{path}: not found. The list must name the model version that scored it: "
            "run `iom train` (or `iom score`) first."
        )
    reg = json.loads(path.read_text(encoding="utf-8"))
    if not reg.get("version"):
        raise ValueError(f"{path}: no 'version'")
    return dict(reg)


def read_fairness(path: Path) -> dict[str, Any]:
    """The audit's metrics JSON; publishing without an audit is an error."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"{path}: the fairness audit's metrics are missing. A list is published only after "
            "the audit: run `iom audit` (or `dvc repro audit`) first."
        )
    return dict(json.loads(path.read_text(encoding="utf-8")))


def interval_description(model_dir: Path) -> str:
    """How ``risk_12m_low``/``risk_12m_high`` were made, from the saved model's params."""
    path = Path(model_dir) / "risk_model.json"
    params: dict[str, Any] = {}
    if path.exists():
        params = json.loads(path.read_text(encoding="utf-8")).get("params", {})
    level = params.get("interval")
    refits = params.get("n_bootstrap")
    if level is None:
        return "an interval from person-level bootstrap refits of the model"
    return (
        f"a {float(level):.0%} interval from {refits} person-level bootstrap refits of the model "
        "(how much the estimate moves when the model is refitted on resampled people)"
    )


def gate_view(fairness_metrics: dict[str, Any], fairness_params: dict[str, Any]) -> dict[str, Any]:
    """The gate result as the pack shows it (aggregate; no measures' values)."""
    gate = dict(fairness_metrics.get("gate") or {})
    flagged = [str(m) for m in gate.get("flagged") or []]
    sign_off = fairness_params.get("sign_off") or None
    signed = (
        bool(flagged) and sign_off is not None and not uncovered_measures(fairness_metrics, fairness_params)
    )
    return {
        "mode": str(fairness_params.get("gate") or gate.get("mode") or "report"),
        "status": str(gate.get("status", "pass")),
        "flagged": flagged,
        "summary": str(gate.get("summary") or ""),
        "model_version": fairness_metrics.get("model_version"),
        "signed_off_by": str(sign_off.get("by")) if signed and isinstance(sign_off, dict) else None,
        "signed_off_on": str(sign_off.get("date")) if signed and isinstance(sign_off, dict) else None,
    }


def reid_key(index: pd.DataFrame, listed: pd.Series) -> pd.DataFrame:
    """One row per listed person: ``pseudo_id`` and each source's identifiers (``;``-joined)."""
    rows = index.loc[index["pseudo_id"].isin(listed).to_numpy(), ["pseudo_id", "source", "source_id"]]
    rows = rows.assign(column=rows["source"].map(ID_COLUMNS)).dropna(subset=["column"])
    wide = (
        rows.sort_values(["pseudo_id", "column", "source_id"])
        .drop_duplicates(["pseudo_id", "column", "source_id"])
        .groupby(["pseudo_id", "column"])["source_id"]
        .agg(";".join)
        .unstack("column")
    )
    wide = wide.reindex(columns=list(ID_COLUMNS.values()))
    out = pd.DataFrame({"pseudo_id": listed.to_numpy()}).join(wide, on="pseudo_id")
    return out.fillna("")


# The linked tables the pack summarises, and the columns publish reads from each (None: all).
# Every agency's record dates for data freshness (iom_panel.changes.AGENCY_DATES); by person,
# what changed since the last panel (offences, custody, assessments); custody whole (release
# dates, days in prison, who left). At 1,000,000 nominals the other columns (37.7 million
# contacts' outcomes, every offence's group and gravity...) held 8 GiB as Python strings.
LINKED_TABLES: dict[str, tuple[str, ...] | None] = {
    "offences": ("pseudo_id", "offence_date", "outcome_date", "outcome"),
    "custody": None,
    "orders": ("start_date", "end_date"),
    "contacts": ("contact_date",),
    "assessments": ("pseudo_id", "assessment_date"),
    "health": ("referral_date", "discharge_date"),
    "housing": ("event_date",),
}
DAYS_PER_MONTH = 30.44
DETAIL_FILE = "publish.json"  # every figure, beside the list; metrics/publish.json is the headline


def headline(result: dict[str, Any]) -> dict[str, Any]:
    """The figures ``metrics/publish.json`` keeps for ``dvc metrics show``: people per tier
    and how many of them sit on a tier boundary (interval crossing it).

    Every figure (typology mix, coverage, movement, overrides, the gate) is in
    ``<out>/publish.json``.
    """
    tiers = result.get("tier_counts") or {}
    return {
        **{tier: tiers.get(tier, 0) for tier in ("red", "amber", "green")},
        "n_borderline": result.get("n_borderline", 0),
    }


def read_linked_tables(linked: Path) -> dict[str, pd.DataFrame | None]:
    """The linked event tables the pack summarises (None for a table the extract lacks).

    Only the :data:`LINKED_TABLES` columns a table has are read.
    """
    out: dict[str, pd.DataFrame | None] = {}
    for name, wanted in LINKED_TABLES.items():
        path = Path(linked) / f"{name}.parquet"
        if not path.exists():
            out[name] = None
            continue
        columns = None if wanted is None else [c for c in wanted if c in pq.read_schema(path).names]
        out[name] = pd.read_parquet(path, columns=columns)
    return out


def read_typology_at(path: Path, panel_date: pd.Timestamp) -> pd.DataFrame:
    """``typology.parquet``'s rows at the panel date, the only ones publish reads.

    Filtered in Arrow before pandas: at 1,000,000 nominals the file holds 5.5 million
    person-dates, 21 times the 258,247 listed.
    """
    table = pq.read_table(path)
    days = pd.to_datetime(table.column("as_of_date").to_pandas())
    return table.filter(pa.array((days == panel_date).to_numpy(dtype=bool))).to_pandas()


def apply_reason_policy(cohort: pd.DataFrame, params: PublishParams) -> pd.DataFrame:
    """The reason columns recomposed with the publish policy (how many; stale assessments labelled).

    Scores without family columns (an older model's) keep their reasons as written.
    """
    if not any(c.startswith("points__") for c in cohort.columns):
        logger.warning("the scores carry no reason families: reasons shown as the model wrote them")
        return cohort
    reasons = compose_reasons(
        cohort,
        n_up=params.n_reasons_up,
        n_down=params.n_reasons_down,
        stale_days=params.stale_assessment_months * DAYS_PER_MONTH,
    )
    return cohort.assign(**{c: reasons[c] for c in reasons.columns})


def copy_fairness_report(fairness_metrics: Path, out: Path) -> tuple[str | None, Path | None]:
    """Copy the audit's report beside the pack; return its relative link and its verdicts file.

    The report is looked for in ``reports/fairness`` beside the metrics' folder (the
    pipeline's layout) and in the metrics' own folder.
    """
    metrics = Path(fairness_metrics)
    for folder in (metrics.parent.parent / "reports" / "fairness", metrics.parent):
        report = folder / "fairness_report.html"
        if report.exists():
            shutil.copy2(report, Path(out) / "fairness_report.html")
            verdicts = folder / "verdicts.json"
            return "fairness_report.html", verdicts if verdicts.exists() else None
    logger.warning("no fairness_report.html found near %s: the pack cannot link to it", metrics)
    return None, None


def run(
    model_dir: Path,
    typology_dir: Path,
    linked: Path,
    reid: Path,
    fairness_metrics: Path,
    out: Path,
    reid_out: Path,
    metrics: Path | None = None,
    params_path: Path = DEFAULT_PARAMS,
) -> dict[str, Any]:
    """Publish the cohort list, the panel pack and the re-identification key; return the metrics.

    ``metrics`` defaults to ``out/publish.json``: a monthly publish never overwrites the
    pipeline's tracked ``metrics/publish.json`` unless asked to.
    """
    params = load_params("publish", PublishParams, params_path)
    raw_params = read_params(params_path)
    fairness_params = dict(raw_params.get("fairness") or {})
    history_months = int((raw_params.get("features") or {}).get("history_months", DEFAULT_HISTORY_MONTHS))
    audit = read_fairness(fairness_metrics)
    enforce(audit, fairness_params)

    model_dir, linked, out = Path(model_dir), Path(linked), Path(out)
    registration = read_registration(model_dir)
    scores = pd.read_parquet(model_dir / "scores.parquet")
    panel_date = pd.Timestamp(pd.to_datetime(scores["as_of_date"]).max()).normalize()
    typology_path = Path(typology_dir) / "typology.parquet"
    typology = read_typology_at(typology_path, panel_date) if typology_path.exists() else None
    if typology is None:
        logger.warning("%s not found: everyone is listed as unassigned", typology_path)
    persons = pd.read_parquet(linked / "persons.parquet")
    tables = read_linked_tables(linked)
    custody = tables["custody"]
    decisions = read_decisions(linked)

    previous = previous_panel(decisions, panel_date)
    archive = Path(params.archive) if params.archive else Path(out).parent / "published"
    previous_list, previous_list_date = read_previous_list(archive, panel_date)
    cohort = build_cohort_list(
        scores,
        typology,
        persons,
        custody,
        previous,
        params.tiering,
        str(registration["version"]),
        previous_list=previous_list,
    )
    cohort = apply_reason_policy(cohort, params)
    cohort["stands_out"] = stands_out(cohort)
    cohort["what_changed"] = what_changed(cohort, tables, previous_list_date, panel_date)
    if typology is not None and "atypical_reason" in typology:
        at = typology.loc[(pd.to_datetime(typology["as_of_date"]) == panel_date).to_numpy()]
        why = at.drop_duplicates("pseudo_id").set_index("pseudo_id")["atypical_reason"].astype("str")
        cohort["atypical_reason"] = cohort["pseudo_id"].map(why).fillna("").astype("str")
        check = "typology stage"
    else:
        cohort["atypical_reason"] = contradicted_typology(
            cohort, persons, custody, panel_date, history_months
        )
        check = "publish (person-level rules)"
    left = left_list(previous_list, cohort, persons, custody, panel_date)
    summary = summarise_cohort(cohort, persons)
    listed_before = set(previous["pseudo_id"].astype("str"))
    prev_date = (
        pd.Timestamp(pd.to_datetime(previous["panel_date"]).max()).date().isoformat()
        if len(previous)
        else None
    )
    named = cohort["typology"].isin(SEED_TYPOLOGIES).to_numpy()
    contradicted = (cohort["atypical_reason"] != "").to_numpy() & named
    panel_block: dict[str, Any] = {
        "previous_panel_date": prev_date,
        "n_left_list": len(listed_before - set(cohort["pseudo_id"])),
        "overrides": override_rates(previous) if len(previous) else None,
        "override_history": override_history(decisions, panel_date),
        "previous_list_date": previous_list_date,
        "left_list_reasons": {str(k): int(v) for k, v in left["reason"].value_counts().sort_index().items()},
        "n_borderline": int(cohort["borderline"].sum()),
        "n_borderline_red_amber": int(
            (cohort["borderline"] & cohort["suggested_tier"].isin(["red", "amber"])).sum()
        ),
        "typology_check": {
            "by": check,
            "n_named": int(named.sum()),
            "n_contradicted": int(contradicted.sum()),
            "contradicted_share": round(float(contradicted.sum() / named.sum()), 4) if named.any() else 0.0,
            "shown_as_atypical": True,
        },
        "data_freshness": data_freshness(tables, panel_date, params.freshness_warning_days),
        "archive": str(archive) if archive else None,
        "freshness_warning_days": params.freshness_warning_days,
        "reason_policy": {
            "n_reasons_up": params.n_reasons_up,
            "n_reasons_down": params.n_reasons_down,
            "stale_assessment_months": params.stale_assessment_months,
        },
    }
    gate = gate_view(audit, fairness_params)
    if audit.get("model_version") not in (None, registration["version"]):
        logger.warning(
            "the fairness audit is of model version %s, the scores of %s",
            audit.get("model_version"),
            registration["version"],
        )
    covered, audit_dates = audit_covers(audit, panel_date.date().isoformat())
    if not covered:
        logger.warning(
            "the fairness audit's panel measures are for %s, not this panel date %s: the pack says so",
            ", ".join(audit_dates) or "no panel date",
            panel_date.date(),
        )
    out.mkdir(parents=True, exist_ok=True)
    report_link, verdicts_path = copy_fairness_report(Path(fairness_metrics), out)
    fairness_view = {
        "sentences": fairness_sentences(audit, verdicts_path),
        "covered": covered,
        "audit_dates": audit_dates,
        "report": report_link,
    }
    result: dict[str, Any] = {
        "model_version": str(registration["version"]),
        "model_name": registration.get("name"),
        "trained_on": registration.get("trained_on"),
        "registered_at": registration.get("registered_at"),
        "tiering": {**params.tiering.model_dump(), "description": params.tiering.describe()},
        **summary,
        **panel_block,
        "fairness_gate": {k: gate[k] for k in ("mode", "status", "flagged", "model_version")},
        "fairness_audit_covers_panel_date": covered,
    }

    _, pack_view = summarised_view(cohort, result, params.pack_max_in_full)
    if pack_view is not None:
        result["pack"] = {k: pack_view[k] for k in ("n_listed", "n_in_full", "n_summarised", "max_in_full")}
        logger.info(
            "%d people listed, over publish.pack_max_in_full (%d): the pack shows %d in full and counts "
            "the other %d, who are all in cohort_list.csv",
            *(pack_view[k] for k in ("n_listed", "max_in_full", "n_in_full", "n_summarised")),
        )
        if pack_view["n_in_full"] > pack_view["max_in_full"]:
            logger.warning(
                "the people the panel must discuss (%d) are more than publish.pack_max_in_full (%d): "
                "the pack shows them all; a list this long is several panels' (one per force area or unit)",
                pack_view["n_in_full"],
                pack_view["max_in_full"],
            )
    csv_text = format_cohort_csv(cohort)
    (out / "cohort_list.csv").write_text(csv_text, encoding="utf-8", newline="")
    html = render_pack(
        cohort,
        result,
        gate,
        interval=interval_description(model_dir),
        left=left,
        fairness=fairness_view,
        max_in_full=params.pack_max_in_full,
    )
    (out / "panel_pack.html").write_text(html, encoding="utf-8", newline="")
    if archive is not None:
        kept = archive_list(csv_text, archive, panel_date.date().isoformat())
        logger.info("kept this list for the next panel's comparison: %s", kept)

    index = pd.read_parquet(Path(reid) / "person_index.parquet", columns=["pseudo_id", "source", "source_id"])
    write_private_text(
        reid_key(index, cohort["pseudo_id"]).to_csv(index=False), Path(reid_out) / "reid_key.csv"
    )

    (out / DETAIL_FILE).write_text(json.dumps(result, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    if metrics is not None and Path(metrics).resolve() != (out / DETAIL_FILE).resolve():
        metrics = Path(metrics)
        metrics.parent.mkdir(parents=True, exist_ok=True)
        metrics.write_text(json.dumps(headline(result), indent=2) + "\n", encoding="utf-8")
    logger.info(
        "Listed %d people at %s: red %d, amber %d, green %d (model %s)",
        summary["n_listed"],
        summary["panel_date"],
        *(summary["tier_counts"][t] for t in ("red", "amber", "green")),  # type: ignore[index]
        registration["version"],
    )
    return result
