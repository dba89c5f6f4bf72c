"""The scored cohort list for one panel date (``docs/contract/cohort-list.md``).

:func:`build_cohort_list` joins the scores of the panel date with the typologies, the
agencies that hold records on each person, the expected release of people listed while
in custody, and the previous panel's decisions; it ranks and tiers with the tiering rule.
:func:`format_cohort_csv` gives the contract's CSV text (dates ``YYYY-MM-DD``, booleans
``true``/``false``, empty cell = null).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from iom_contract import AGENCIES as CONTRACT_AGENCIES
from iom_contract import COHORT_LIST_COLUMNS
from iom_panel.decisions import movement
from models.tiering import TIERS, TieringRule, assign_tiers, rank_by_risk
from models.typology_naming import UNASSIGNED

logger = logging.getLogger(__name__)

# The contract's columns, in its order (declared once, in iom_contract).
COHORT_COLUMNS: tuple[str, ...] = tuple(c.name for c in COHORT_LIST_COLUMNS)
DATE_COLUMNS = ("panel_date", "release_due")
BOOL_COLUMNS = ("new_to_list", "borderline")
OPTIONAL_FLOAT_COLUMNS = ("previous_risk_12m", "typology_probability")
RISK_COLUMNS = ("risk_12m", "risk_12m_low", "risk_12m_high")
# Published probabilities are rounded to this many decimals *before* ranking and tiering,
# so the ranks in the file follow the risks in the file exactly (ties by pseudo_id).
RISK_DECIMALS = 6
REQUIRED_SCORE_COLUMNS = ("pseudo_id", "as_of_date", *RISK_COLUMNS, "reasons_up", "reasons_down")
AGENCIES = CONTRACT_AGENCIES  # the contract declares the agencies once


def panel_rows(scores: pd.DataFrame) -> tuple[pd.Timestamp, pd.DataFrame]:
    """The panel date (the latest ``as_of_date`` in the scores) and its rows."""
    missing = [c for c in REQUIRED_SCORE_COLUMNS if c not in scores]
    if missing:
        raise ValueError(f"scores: missing column(s) {', '.join(missing)}")
    if scores.empty:
        raise ValueError("scores: no rows; nobody is in the cohort at the panel date")
    dates = pd.to_datetime(scores["as_of_date"])
    panel_date = pd.Timestamp(dates.max()).normalize()
    if dates.nunique() > 1:
        logger.warning(
            "scores hold %d as-of dates; listing the latest, %s", dates.nunique(), panel_date.date()
        )
    rows = scores.loc[(dates == panel_date).to_numpy()]
    if rows["pseudo_id"].duplicated().any():
        raise ValueError(f"scores: pseudo_id repeated at {panel_date.date()}; one row per person expected")
    return panel_date, rows.reset_index(drop=True)


def release_due_dates(
    rows: pd.DataFrame, custody: pd.DataFrame | None, panel_date: pd.Timestamp
) -> pd.Series:
    """Expected release date of each listed person still in custody at the panel date.

    Taken from the scores' ``release_due`` (the features stage's) when it is there;
    otherwise, and for any gap, from the custody episode open at the panel date: received
    on or before it, not released by it; its ``expected_release_date``, or the actual
    ``release_date`` when the list is drawn for a date before a release that has since
    happened.
    """
    due = (
        pd.to_datetime(rows["release_due"])
        if "release_due" in rows
        else pd.Series(pd.NaT, index=rows.index, dtype="datetime64[ms]")
    )
    if custody is not None and not custody.empty:
        t = pd.Timestamp(panel_date)
        release = pd.to_datetime(custody["release_date"])
        open_at = (pd.to_datetime(custody["reception_date"]) <= t) & (release.isna() | (release > t))
        episodes = custody.loc[open_at.to_numpy()].assign(
            due=lambda e: pd.to_datetime(e["expected_release_date"]).fillna(pd.to_datetime(e["release_date"]))
        )
        latest = episodes.sort_values(["pseudo_id", "reception_date"]).drop_duplicates(
            "pseudo_id", keep="last"
        )
        from_custody = rows["pseudo_id"].map(latest.set_index("pseudo_id")["due"])
        due = due.fillna(pd.to_datetime(from_custody))
    in_custody = rows["in_custody"].fillna(False).to_numpy(dtype=bool) if "in_custody" in rows else None
    if in_custody is not None:
        due = due.where(in_custody)
    return due.astype("datetime64[ms]").rename("release_due")


def tier_boundaries(cohort: pd.DataFrame, rule: TieringRule) -> dict[str, float]:
    """The risk at each tier boundary of this list: ``red`` (red/amber), ``amber`` (amber/green).

    By cut-points, the cut-points. By capacity, the midpoint between the last person in
    the higher tier and the first in the lower (worked example: last red 71.1%, first
    amber 71.0% -> boundary 71.05%). A boundary with nobody on one side is left out.
    """
    if rule.method == "cutpoints":
        return {"red": float(rule.red_cut), "amber": float(rule.amber_cut)}
    risk = cohort["risk_12m"].astype("float64")
    tier = cohort["suggested_tier"].astype("str")
    out: dict[str, float] = {}
    for upper, lower in (("red", "amber"), ("amber", "green")):
        above, below = risk[tier == upper], risk[tier == lower]
        if len(above) and len(below):
            out[upper] = float((above.min() + below.max()) / 2)
    return out


def borderline(cohort: pd.DataFrame, boundaries: dict[str, float]) -> pd.Series:
    """True where the person's interval crosses a tier boundary (contract v1.1 ``borderline``)."""
    low = cohort["risk_12m_low"].to_numpy(dtype="float64")
    high = cohort["risk_12m_high"].to_numpy(dtype="float64")
    out = np.zeros(len(cohort), dtype=bool)
    for b in boundaries.values():
        out |= (low < b) & (high > b)
    return pd.Series(out, index=cohort.index, name="borderline")


def previous_list_columns(cohort: pd.DataFrame, previous_list: pd.DataFrame | None) -> pd.DataFrame:
    """``previous_rank`` and ``previous_risk_12m`` from the previous published list (null when absent)."""
    if previous_list is None or previous_list.empty:
        return pd.DataFrame(
            {
                "previous_rank": pd.array([pd.NA] * len(cohort), dtype="Int64"),
                "previous_risk_12m": np.full(len(cohort), np.nan),
            },
            index=cohort.index,
        )
    prev = previous_list.drop_duplicates("pseudo_id").set_index("pseudo_id")
    ids = cohort["pseudo_id"].astype("str")
    return pd.DataFrame(
        {
            "previous_rank": ids.map(prev["rank"]).astype("Int64"),
            "previous_risk_12m": ids.map(prev["risk_12m"]).astype("float64"),
        },
        index=cohort.index,
    )


def build_cohort_list(
    scores: pd.DataFrame,
    typology: pd.DataFrame | None,
    persons: pd.DataFrame,
    custody: pd.DataFrame | None,
    previous: pd.DataFrame,
    rule: TieringRule,
    model_version: str,
    previous_list: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The cohort list at the panel date, in rank order.

    Parameters
    ----------
    scores
        The risk model's scores (``scores.parquet``): the latest ``as_of_date`` is listed.
    typology
        ``typology.parquet`` (any dates; the panel date's rows are used). People without
        a row there are ``unassigned``.
    persons
        Linked persons: ``pseudo_id``, ``sources_linked``.
    custody
        Linked custody episodes (for ``release_due``), or None.
    previous
        The previous panel's decisions (:func:`panel.decisions.previous_panel`).
    rule
        The tiering rule.
    model_version
        The registered model version that produced the scores.
    previous_list
        The previous published list (``pseudo_id``, ``rank``, ``risk_12m``), or None.

    Returns
    -------
    pandas.DataFrame
        The contract columns (:data:`COHORT_COLUMNS`) first, then for the panel pack:
        ``in_custody``, ``membership_probability``, and
        ``contributions`` / ``base_risk`` / ``reasons_up_static`` / ``reasons_up_dynamic``
        when the scores carry them.
    """
    panel_date, rows = panel_rows(scores)
    out = pd.DataFrame({"pseudo_id": rows["pseudo_id"].astype("str")})
    out["panel_date"] = pd.Series(panel_date, index=out.index).astype("datetime64[ms]")
    for col in RISK_COLUMNS:
        out[col] = rows[col].astype("float64").round(RISK_DECIMALS)
    bad = ~out[list(RISK_COLUMNS)].apply(lambda s: s.between(0, 1)).all(axis=1)
    if bad.any():
        raise ValueError(f"scores: {int(bad.sum())} risk values outside 0..1 (or missing)")
    out["rank"] = rank_by_risk(out, "risk_12m", by=None)
    out["suggested_tier"] = assign_tiers(out, rule, "risk_12m", by=None)

    if typology is not None and not typology.empty:
        at = typology.loc[(pd.to_datetime(typology["as_of_date"]) == panel_date).to_numpy()]
        at = at.drop_duplicates("pseudo_id").set_index("pseudo_id")
        out["typology"] = out["pseudo_id"].map(at["typology"].astype("str")).fillna(UNASSIGNED)
        out["membership_probability"] = out["pseudo_id"].map(at["membership_probability"]).astype("float64")
        n_missing = int((~out["pseudo_id"].isin(at.index)).sum())
        if n_missing:
            logger.warning(
                "%d listed people have no typology at %s: unassigned", n_missing, panel_date.date()
            )
    else:
        logger.warning("no typologies: everyone is %s", UNASSIGNED)
        out["typology"] = UNASSIGNED
        out["membership_probability"] = np.nan
    out["typology"] = out["typology"].astype("str")

    for col in ("reasons_up", "reasons_down"):
        out[col] = rows[col].astype("str").where(rows[col].notna(), "")
    out["in_custody"] = rows["in_custody"].fillna(False).astype("bool") if "in_custody" in rows else False
    out["release_due"] = release_due_dates(rows, custody, panel_date)

    out = pd.concat([out, movement(out, previous)], axis=1)
    # The previous panel's free-text `reason` is not carried: a panel may have written a
    # name or other identifying detail there, and the pack must carry none.

    sources = persons.drop_duplicates("pseudo_id").set_index("pseudo_id")["sources_linked"]
    out["sources_linked"] = out["pseudo_id"].map(sources).fillna("").astype("str")
    n_unlinked = int((out["sources_linked"] == "").sum())
    if n_unlinked:
        logger.warning("%d listed people are missing from linked persons", n_unlinked)
    out["model_version"] = str(model_version)
    out["borderline"] = borderline(out, tier_boundaries(out, rule))
    out = pd.concat([out, previous_list_columns(out, previous_list)], axis=1)
    out["typology_probability"] = out["membership_probability"]

    for col in ("contributions", "reasons_up_static", "reasons_up_dynamic"):
        if col in rows:
            out[col] = rows[col].astype("str").where(rows[col].notna(), "")
    if "base_risk" in rows:
        out["base_risk"] = rows["base_risk"].astype("float64")
    # Each reason family's points and facts, for the publish policy (models.explain.compose_reasons).
    family = [c for c in rows.columns if c.startswith(("points__", "facts__")) or c == "assessment_days"]
    if family:
        out = pd.concat([out, rows[family].set_axis(out.index)], axis=1)
    extra = [c for c in out.columns if c not in COHORT_COLUMNS]
    return out[[*COHORT_COLUMNS, *extra]].sort_values("rank").reset_index(drop=True)


def format_cohort_csv(cohort: pd.DataFrame) -> str:
    """The contract CSV of a cohort list (contract columns only, in contract order)."""
    text = pd.DataFrame(index=cohort.index)
    for col in COHORT_COLUMNS:
        s = cohort[col]
        if col in DATE_COLUMNS:
            text[col] = pd.to_datetime(s).dt.strftime("%Y-%m-%d").fillna("")
        elif col in BOOL_COLUMNS:
            text[col] = np.where(s.to_numpy(dtype=bool), "true", "false")
        elif col in RISK_COLUMNS:
            text[col] = s.astype("float64")
        elif col in OPTIONAL_FLOAT_COLUMNS:
            f = s.astype("float64")
            text[col] = f.map(f"{{:.{RISK_DECIMALS}f}}".format).where(f.notna(), "")
        elif col == "previous_rank":
            text[col] = s.astype("Int64").astype("str").where(s.notna(), "")
        elif col == "rank":
            text[col] = s.astype("int64").astype("str")
        else:
            text[col] = s.astype("str").where(s.notna(), "")
    return text.to_csv(index=False, lineterminator="\n", float_format=f"%.{RISK_DECIMALS}f")


def summarise_cohort(cohort: pd.DataFrame, persons: pd.DataFrame) -> dict[str, Any]:
    """Aggregate figures of a cohort list (no row-level data): for the metrics and the pack."""
    n = len(cohort)
    tiers = cohort["suggested_tier"].astype("str")
    typ = cohort["typology"].astype("str")
    flags = persons.drop_duplicates("pseudo_id").set_index("pseudo_id")
    coverage: dict[str, dict[str, float | int]] = {}
    for agency in AGENCIES:
        held = cohort["pseudo_id"].map(flags[f"in_{agency}"]).fillna(False).astype("bool")
        k = int(held.sum())
        coverage[agency] = {"n": k, "share": round(k / n, 4) if n else 0.0}
    movement_counts = cohort["tier_movement"].astype("str").value_counts()
    return {
        "panel_date": pd.Timestamp(cohort["panel_date"].iloc[0]).date().isoformat() if n else None,
        "n_listed": n,
        "tier_counts": {t: int((tiers == t).sum()) for t in TIERS},
        "typology_counts": {str(k): int(v) for k, v in typ.value_counts().sort_index().items()},
        "typology_by_tier": {
            t: {str(k): int(v) for k, v in typ[tiers == t].value_counts().sort_index().items()} for t in TIERS
        },
        "movement_counts": {m: int(movement_counts.get(m, 0)) for m in ("up", "down", "same", "new")},
        "n_release_due": int(cohort["release_due"].notna().sum()),
        "n_in_custody": int(cohort["in_custody"].sum()) if "in_custody" in cohort else 0,
        "coverage_by_agency": coverage,
        "risk_12m_mean": round(float(cohort["risk_12m"].mean()), 4) if n else None,
    }


def stands_out(cohort: pd.DataFrame, min_points: float = 1.0) -> pd.Series:
    """What sets each person apart from the average red or amber person, in one phrase.

    Everyone on a high-risk list has a long record, so the largest reason is the same
    for nearly all of them. Against the red and amber average instead (each family's
    points minus its mean over red and amber), the family that lifts this person most
    differs from person to person; the differences add up exactly to the person's risk
    minus the red and amber mean. Example: ``Recent offending (+6 pts against the red
    and amber average)``. Empty without reason families, or under ``min_points``.
    """
    from features.reasons import FAMILIES

    cols = [c for c in cohort.columns if c.startswith("points__")]
    if not cols:
        return pd.Series("", index=cohort.index, dtype="str")
    P = cohort[cols].to_numpy(dtype="float64")
    top = cohort["suggested_tier"].astype("str").isin(["red", "amber"]).to_numpy()
    ref = P[top].mean(axis=0) if top.any() else P.mean(axis=0)
    delta = P - ref
    j = np.argmax(delta, axis=1)
    size = delta[np.arange(len(P)), j]
    heads = np.array([FAMILIES[c.removeprefix("points__")].raise_heading for c in cols], dtype=object)
    pts = pd.Series(np.round(size).astype(np.int64)).map("{:+d}".format).to_numpy(dtype=object)
    text = heads[j] + " (" + pts + " pts against the red and amber average)"
    return pd.Series(np.where(size >= min_points, text, ""), index=cohort.index, dtype="str")
