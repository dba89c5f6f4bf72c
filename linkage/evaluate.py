"""Metrics of a linkage run, and its precision and recall against a simulator's truth."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from iom_contract import AGENCY_IDS
from linkage.params import LinkParams
from linkage.standardise import is_in

if TYPE_CHECKING:
    from linkage.model import LinkModel
    from linkage.review import AppliedDecisions

logger = logging.getLogger(__name__)

PROBABILITY_BINS: tuple[float, ...] = (
    0.0,
    0.01,
    0.05,
    0.1,
    0.2,
    0.3,
    0.4,
    0.5,
    0.6,
    0.7,
    0.8,
    0.9,
    0.95,
    0.99,
    0.999,
    1.0,
)
QUANTILES: tuple[float, ...] = (0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9)
LINKED_SOURCES: tuple[str, ...] = ("prison", "probation", "health", "housing")


def _counts(series: pd.Series) -> dict[str, int]:
    return {str(k): int(v) for k, v in series.value_counts().sort_index().items()}


def truth_metrics(index: pd.DataFrame, truth: pd.DataFrame, present: dict[str, pd.Series]) -> dict[str, Any]:
    """Pairwise precision and recall of the links to other agencies' people, per source.

    A predicted link source_id -> canonical identifier (``pnc:<id>`` for a person known
    to police, ``crn:<id>`` for a probation-only person) is correct when the truth puts
    both in the same person. Recall's denominator is the source's ids (present in the
    extract after validation) whose person has a police record in the extract, or, for
    health and housing, a police or probation record.

    Parameters
    ----------
    index
        source, source_id, canonical, method.
    truth
        person_id, source, source_id.
    present
        Source -> the source ids in the linked extract.

    Returns
    -------
    dict
        Source -> n_predicted, n_correct, n_true, precision, recall; the same
        restricted to links made by Splink (``splink``), and for health and housing to
        links to probation-only people (``to_probation_only``).
    """
    truth = truth.drop_duplicates(["source", "source_id"])
    person = truth.set_index(["source", "source_id"])["person_id"]
    police = truth[(truth["source"] == "police") & is_in(truth["source_id"], present["police"])]
    probation = truth[(truth["source"] == "probation") & is_in(truth["source_id"], present["probation"])]
    everyone_pnc = truth[truth["source"] == "police"]
    person_of = pd.concat(
        [
            pd.Series(everyone_pnc["person_id"].to_numpy(), index="pnc:" + everyone_pnc["source_id"]),
            pd.Series(probation["person_id"].to_numpy(), index="crn:" + probation["source_id"]),
        ]
    )
    person_of = person_of[~person_of.index.duplicated()]
    probation_only = probation.loc[~probation["person_id"].isin(police["person_id"]), "person_id"]
    out: dict[str, Any] = {}
    for source in LINKED_SOURCES:
        rows = index[index["source"] == source]
        if source in ("prison", "probation"):
            rows = rows[
                is_in(rows["canonical"].str.slice(4), present["police"])
                & rows["canonical"].str.startswith("pnc:")
            ]
        keys = pd.MultiIndex.from_arrays([rows["source"], rows["source_id"]])
        true_person = pd.Series(person.reindex(keys).to_numpy(), index=rows.index)
        linked_person = rows["canonical"].map(person_of)
        correct = (true_person == linked_person) & true_person.notna()
        truth_ids = truth[(truth["source"] == source) & is_in(truth["source_id"], present[source])]
        reachable = police["person_id"]
        if source in ("health", "housing"):
            reachable = pd.concat([reachable, probation_only])
        n_true = int(truth_ids["person_id"].isin(reachable).sum())
        splink = rows["method"].isin(["splink", "clerical"]).to_numpy()
        entry: dict[str, Any] = _precision_recall(len(rows), int(correct.sum()), n_true)
        if splink.any():
            # Denominator: true links not already made deterministically.
            n_true_splink = n_true - int(correct[~splink].sum())
            entry["splink"] = _precision_recall(int(splink.sum()), int(correct[splink].sum()), n_true_splink)
        if source in ("health", "housing"):
            to_alone = (
                rows["canonical"].map(person_of).isin(probation_only).to_numpy()
                | ~rows["canonical"].str.startswith("pnc:").to_numpy()
            )
            n_true_alone = int(truth_ids["person_id"].isin(probation_only).sum())
            entry["to_probation_only"] = _precision_recall(
                int(to_alone.sum()), int(correct[to_alone].sum()), n_true_alone
            )
        out[source] = entry
    return out


def _precision_recall(n_predicted: int, n_correct: int, n_true: int) -> dict[str, Any]:
    return {
        "n_predicted": n_predicted,
        "n_correct": n_correct,
        "n_true": n_true,
        "precision": round(n_correct / n_predicted, 5) if n_predicted else None,
        "recall": round(n_correct / n_true, 5) if n_true else None,
    }


def _probability_distribution(decisions: pd.DataFrame) -> dict[str, Any]:
    """Histogram and quantiles of each identity's best match probability, per source."""
    counts: dict[str, list[int]] = {}
    quantiles: dict[str, dict[str, float]] = {}
    no_candidate: dict[str, int] = {}
    for source, group in decisions.groupby("source", sort=True):
        p = group["match_probability"].dropna().to_numpy()
        counts[str(source)] = [int(c) for c in np.histogram(p, bins=PROBABILITY_BINS)[0]]
        no_candidate[str(source)] = int(group["match_probability"].isna().sum())
        if len(p):
            quantiles[str(source)] = {
                f"q{int(q * 100):02d}": round(float(np.quantile(p, q)), 6) for q in QUANTILES
            }
    return {
        "of": "each identity's best police candidate",
        "bin_edges": list(PROBABILITY_BINS),
        "counts": counts,
        "no_candidate_above_floor": no_candidate,
        "quantiles": quantiles,
    }


def linkage_metrics(
    *,
    tables: dict[str, pd.DataFrame],
    decisions: pd.DataFrame,
    index: pd.DataFrame,
    prison: pd.DataFrame,
    probation: pd.DataFrame,
    persons: pd.DataFrame,
    review: pd.DataFrame,
    model: LinkModel,
    params: LinkParams,
    truth: pd.DataFrame | None,
    applied: AppliedDecisions | None = None,
    n_ledger: int = 0,
    n_probation_only_candidates: int = 0,
) -> dict[str, Any]:
    """Gather the link stage's metrics into one JSON-ready mapping.

    Returns
    -------
    dict
        persons, links by source and method, deterministic PNC ID resolution, the
        Splink model and decisions, clerical review, unlinked counts and, when
        ``truth`` is given, precision and recall per source.
    """
    links = {str(source): _counts(group["method"]) for source, group in index.groupby("source", sort=True)}
    deterministic = {
        source: {
            "ids": len(resolved),
            "ids_with_pnc": int(resolved["pnc_id"].notna().sum()),
            "rows": int(resolved["n_rows"].sum()),
            "rows_inherited_pnc": int(resolved["n_rows_inherited"].sum()),
            "ids_with_conflicting_pnc": int((resolved["n_rows_conflicting"] > 0).sum()),
            "rows_conflicting_pnc": int(resolved["n_rows_conflicting"].sum()),
        }
        for source, resolved in (("prison", prison), ("probation", probation))
    }
    by_source = decisions.groupby("source", sort=True)
    unlinked: dict[str, Any] = {}
    for source in ("health", "housing"):
        table_name, id_col = AGENCY_IDS[source].table, AGENCY_IDS[source].column
        rows = tables[table_name]
        # The linked table keeps the rows of ids linked to a person (linkage.tables).
        kept = int(is_in(rows[id_col], index.loc[index["source"] == source, "source_id"]).sum())
        unlinked[source] = {
            "ids_in": int(rows[id_col].nunique()),
            "ids_dropped": int(rows[id_col].nunique() - (index["source"] == source).sum()),
            "rows_in": len(rows),
            "rows_dropped": len(rows) - kept,
        }
    canonical = index[index["method"] == "canonical"]
    unlinked["prison_only_people"] = int((canonical["source"] == "prison").sum())
    unlinked["probation_only_people"] = int((canonical["source"] == "probation").sum())
    unlinked["probation_only_candidates"] = n_probation_only_candidates

    metrics: dict[str, Any] = {
        "persons": {
            "n": len(persons),
            "by_sources_linked": _counts(persons["sources_linked"]),
        },
        "links": links,
        "deterministic": deterministic,
        "splink": {
            "identities": _counts(decisions["source"]),
            "police_nominals": len(tables["police_nominals"]),
            "prior_probability_two_records_match": model.prior,
            "known_matches_for_dob_m": model.n_labelled_pairs,
            "blocked_pairs": model.n_blocked_pairs,
            "training_passes": list(model.training),
            "pairs_above_floor": len(model.pairs),
            "thresholds": {
                "accept": params.accept,
                "review_low": params.review_low,
                "ambiguity_margin": params.ambiguity_margin,
                "predict_floor": params.predict_floor,
            },
            "decisions": {str(s): _counts(g["decision"]) for s, g in by_source},
            "reasons": {str(s): _counts(g["reason"]) for s, g in by_source},
            "best_match_probability": _probability_distribution(decisions),
            "parameters": [
                {
                    k: (
                        round(v, 6)
                        if isinstance(v, float) and not np.isnan(v)
                        else (None if isinstance(v, float) else v)
                    )
                    for k, v in record.items()
                }
                for record in model.parameters.to_dict("records")
            ],
        },
        "clerical_review": {
            "pairs": len(review),
            "pairs_pending": len(review),
            "pairs_pending_by_source": _counts(review["source"]),
            "identities": int(review[["source", "source_id"]].drop_duplicates().shape[0]),
            "identities_by_source": _counts(review.drop_duplicates(["source", "source_id"])["source"]),
            "identities_in_cohort": int(
                review.loc[review["in_cohort"] == "yes", ["source", "source_id"]].drop_duplicates().shape[0]
            )
            if "in_cohort" in review
            else 0,
            "decisions_in_ledger": n_ledger,
            "pairs_decided_by_person": {
                "match": applied.counts["match"] if applied else 0,
                "no_match": applied.counts["no_match"] if applied else 0,
            },
            "decisions_conflicting_with_model": {
                name: applied.counts[name] if applied else 0
                for name in (
                    "match_below_review_low",
                    "match_where_model_links_another",
                    "no_match_where_model_links",
                )
            },
            "decisions_stale": (
                _counts(applied.stale["stale_reason"]) if applied is not None and len(applied.stale) else {}
            ),
            "note": (
                "pending pairs are NOT linked automatically: health and housing ones are dropped, probation "
                "ones stay probation-only people, until a person decides them (iom review); decided pairs "
                "are applied on every run before the model's thresholds and never queued again"
            ),
        },
        "unlinked": unlinked,
    }
    if truth is not None:
        present = {s: tables[a.table][a.column].dropna().drop_duplicates() for s, a in AGENCY_IDS.items()}
        metrics["truth"] = truth_metrics(index, truth, present)
    return metrics
