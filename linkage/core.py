"""Link an extract: resolve who is who across agencies, then pseudonymise.

Order of work (each step only adds links the previous ones could not make):

1. police nominals are the people known to police (``pnc_id``);
2. prison and probation ids link on the ``pnc_id`` their rows carry, rows without
   one inheriting it through their noms_id / crn (``linkage.deterministic``);
3. probation crns still without a PNC ID, and every health and housing id, link to a
   police nominal on personal details (``linkage.model``, ``linkage.decide``);
4. every person gets a pseudo_id from their canonical identifier: ``pnc:<id>`` when a
   PNC ID is known, else ``noms:<id>`` / ``crn:<id>`` for prison- or probation-only
   people. Health and housing ids that link to nobody are dropped (they are not in
   the IOM population) and counted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from iom_contract import AGENCIES, AGENCY_IDS, PROVEN_OUTCOMES
from iom_contract import table as contract_table
from linkage.decide import decide_links
from linkage.deterministic import resolve_pnc
from linkage.evaluate import linkage_metrics
from linkage.keys import pseudonymise
from linkage.model import DBFactory, duckdb_api, fit_link_model, score_pairs
from linkage.params import LinkParams
from linkage.review import apply_decisions, empty_ledger, neutralise_formulas, pair_check
from linkage.standardise import is_in, linkage_keys, recorded_identity
from linkage.tables import LINKED_TABLES, linked_table

logger = logging.getLogger(__name__)

SOURCES: tuple[str, ...] = AGENCIES
"""Agencies, in the order ``sources_linked`` lists them (the contract's ``AGENCIES``)."""

_DETAIL_COLUMNS = ("forename", "surname", "date_of_birth", "sex", "postcode_district")

OFFENCE_COLUMNS: tuple[str, ...] = ("pnc_id", "offence_date", "outcome", "outcome_date")
"""What the review queue's cohort proxy reads of the offences (:func:`_recent_proven`)."""


def _identity_columns() -> dict[str, tuple[str, ...]]:
    out = {}
    for agency in AGENCY_IDS.values():
        spec = contract_table(agency.table)
        # source_row: the most recent row wins a tie between recorded details.
        out[agency.table] = (*(c.name for c in spec.columns if c.identifying or c.protected), "source_row")
    out["police_offences"] = OFFENCE_COLUMNS
    return out


IDENTITY_COLUMNS: dict[str, tuple[str, ...]] = _identity_columns()
"""Table -> the columns :func:`link_identities` reads: each agency's identifier, PNC ID,
personal details and row order, and the offences the review queue ranks by. Every
other column (and every other table) is only copied into the linked tables."""
COHORT_PROXY_MONTHS = 24
"""Review queue order: people with a proven offence in this many months come first."""


@dataclass(frozen=True)
class LinkResult:
    """Everything the link stage produces.

    Attributes
    ----------
    persons
        One row per pseudo_id: birth_month, sex, ethnicity, in_<source> flags,
        sources_linked.
    tables
        The event tables keyed by pseudo_id (``offences``, ``custody``, ``orders``,
        ``assessments``, ``contacts``, ``health``, ``housing`` and, when given,
        ``panel_decisions``): no names, dates of birth, postcodes or source ids.
        Empty from :func:`link_identities` (the stage writes them from the files).
    person_index
        The re-identification key: pseudo_id, source, source_id, match_probability,
        method. Store apart from the outputs, readable by the data controller only.
    clerical_review
        Uncertain or ambiguous candidate pairs not decided yet, with both sides'
        details, in the order a person should review them (``linkage.review``).
    metrics
        Counts, match-probability distribution and (with a truth table) precision
        and recall per source.
    charts
        File name -> content (self-contained HTML of the fitted model's weights).
    stale_decisions
        Clerical decisions that no longer apply (identity or candidate gone).
    """

    persons: pd.DataFrame
    tables: dict[str, pd.DataFrame]
    person_index: pd.DataFrame
    clerical_review: pd.DataFrame
    metrics: dict[str, Any]
    charts: dict[str, str] = field(default_factory=dict)
    stale_decisions: pd.DataFrame = field(default_factory=pd.DataFrame)


def _identity_frame(source: str, ids: pd.Series, canonical: pd.Series, method: Any, p: Any) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "source": pd.Series(source, index=ids.index, dtype="str"),
            "source_id": ids.astype("str"),
            "canonical": canonical.astype("str"),
            "method": pd.Series(method, index=ids.index).astype("str"),
            "match_probability": pd.Series(p, index=ids.index).astype("float64"),
        }
    )


def link_sides(
    tables: dict[str, pd.DataFrame],
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, pd.DataFrame], pd.DataFrame]:
    """The two sides of the personal-details link, from the validated tables.

    Returns the police nominals (one row per PNC id, sorted), the probation orders
    resolved to PNC ids, each agency's recorded identities by source, and the agency
    identities that only personal details can link (probation ones without a PNC id,
    all health and housing ones) with ``unique_id`` (``source:id``), ``source`` and
    ``source_id``.
    """
    nominals = tables["police_nominals"].drop_duplicates("pnc_id").sort_values("pnc_id", ignore_index=True)
    probation = resolve_pnc(tables["probation_orders"], "crn")
    identities = {
        "probation": recorded_identity(tables["probation_orders"], "crn"),
        "health": recorded_identity(tables["health_episodes"], "health_id"),
        "housing": recorded_identity(tables["housing_events"], "council_id"),
    }
    unresolved_crn = set(probation.loc[probation["pnc_id"].isna(), "crn"])
    to_link = []
    for source in ("probation", "health", "housing"):
        frame = identities[source]
        id_col = AGENCY_IDS[source].column
        if source == "probation":
            frame = frame[is_in(frame["crn"], unresolved_crn)]
        to_link.append(
            frame.assign(unique_id=source + ":" + frame[id_col], source=source, source_id=frame[id_col])
        )
    return nominals, probation, identities, pd.concat(to_link, ignore_index=True)


def link_extract(
    tables: dict[str, pd.DataFrame],
    params: LinkParams,
    key: bytes,
    truth: pd.DataFrame | None = None,
    decisions: pd.DataFrame | None = None,
    extract_date: pd.Timestamp | None = None,
    db: DBFactory = duckdb_api,
) -> LinkResult:
    """Link the validated tables of one extract and pseudonymise them, all in memory.

    :func:`link_identities`, then every event table through
    :func:`linkage.tables.linked_table` (the link stage writes them from the files
    instead, :func:`linkage.tables.write_linked_table`). ``tables``: every contract
    table (``panel_decisions`` optional); the other arguments as :func:`link_identities`.
    """
    missing = sorted({spec[0] for spec in LINKED_TABLES.values()} - set(tables))
    if missing:
        raise KeyError(f"link needs the validated tables {missing}")
    result = link_identities(tables, params, key, truth, decisions, extract_date, db)
    index = result.person_index
    linked = {name: linked_table(tables[spec[0]], name, index, key) for name, spec in LINKED_TABLES.items()}
    if "panel_decisions" in tables:
        cols = list(contract_table("panel_decisions").column_names)
        linked["panel_decisions"] = tables["panel_decisions"][cols].reset_index(drop=True)
    return replace(result, tables=linked)


def link_identities(
    tables: dict[str, pd.DataFrame],
    params: LinkParams,
    key: bytes,
    truth: pd.DataFrame | None = None,
    decisions: pd.DataFrame | None = None,
    extract_date: pd.Timestamp | None = None,
    db: DBFactory = duckdb_api,
) -> LinkResult:
    """Resolve who is who in one extract and pseudonymise the people (no event tables).

    Needs only :data:`IDENTITY_COLUMNS` of the identity tables, so the link stage never
    holds the event tables (67 million rows at 1,000,000 nominals); its
    ``tables`` is empty: the person index turns the event tables into linked ones.

    Parameters
    ----------
    tables
        Validated contract tables by name (``data/validated``): at least
        :data:`IDENTITY_COLUMNS` of each table named there.
    params
        Link parameters.
    key
        Pseudonymisation key (:func:`linkage.resolve_key`).
    truth
        The simulator's ``_truth/identities.parquet`` (person_id, source, source_id),
        used only to measure precision and recall in the metrics.
    decisions
        The data controller's clerical decisions (:data:`linkage.review.LEDGER_COLUMNS`),
        applied before the model's thresholds (:func:`linkage.review.apply_decisions`).
    extract_date
        The extract's date: the review queue puts people with a proven offence in the
        24 months before it first (default: the latest offence date).
    db
        Where Splink trains and scores the model: :func:`linkage.model.duckdb_api`
        (default, in this process) or :func:`linkage.model.spark_api` (a Spark session).
        Everything else runs here, the same on both.

    Returns
    -------
    LinkResult
    """
    missing = sorted(set(IDENTITY_COLUMNS) - set(tables))
    if missing:
        raise KeyError(f"link needs the validated tables {missing}")
    ledger = empty_ledger() if decisions is None else decisions

    nominals, probation, identities, agency = link_sides(tables)
    prison = resolve_pnc(tables["custody_episodes"], "noms_id")
    left = linkage_keys(agency)
    police = nominals.assign(
        unique_id="police:" + nominals["pnc_id"],
        candidate_source="police",
        candidate_id=nominals["pnc_id"],
        canonical="pnc:" + nominals["pnc_id"],
    )
    right = linkage_keys(police)
    labelled = _known_matches(identities["probation"], probation, nominals)
    logger.info("linking %d agency identities to %d police nominals", len(left), len(right))
    model = fit_link_model(left, right, params, labelled, db=db)

    # Probation identities first: who stays probation-only decides the second pass's candidates.
    is_probation = agency["source"] == "probation"
    probation_pairs = model.pairs[model.pairs["unique_id_l"].str.startswith("probation:")]
    police_person = pd.Series(police["canonical"].to_numpy(), index=police["unique_id"].to_numpy())
    first = apply_decisions(
        probation_pairs,
        ledger[ledger["source"] == "probation"],
        agency.loc[is_probation, "unique_id"],
        police_person,
        params,
    )
    first_decisions, _ = decide_links(first.open_pairs, agency.loc[is_probation, "unique_id"], params)
    linked_ids = first_decisions.loc[first_decisions["decision"] == "linked", "unique_id"]
    linked_crn = set(pd.concat([linked_ids, first.matched["unique_id"]]).str.removeprefix("probation:"))
    alone = _probation_only(identities["probation"], probation, nominals, linked_crn)
    alone_keys = linkage_keys(alone)
    is_health_housing = (~is_probation).to_numpy()
    logger.info(
        "linking %d health and housing identities to %d probation-only people",
        int(is_health_housing.sum()),
        len(alone),
    )
    second = score_pairs(left[is_health_housing], alone_keys, model.settings, params, db=db)
    pairs = pd.concat([model.pairs, second], ignore_index=True) if len(second) else model.pairs

    candidates = pd.concat([police, alone], ignore_index=True)
    canonical = _candidate_persons(police_person, probation, first_decisions, first.matched)
    canonical = pd.concat(
        [canonical, pd.Series(alone["canonical"].to_numpy(), index=alone["unique_id"].to_numpy())]
    )
    canonical = canonical[~canonical.index.duplicated(keep="last")]
    applied = apply_decisions(pairs, ledger, agency["unique_id"], canonical, params)
    decided, review_pairs = decide_links(applied.open_pairs, agency["unique_id"], params)
    decided = _with_person_matches(decided, applied.matched)
    decided = decided.merge(agency[["unique_id", "source", "source_id"]], on="unique_id", how="left")
    decided["canonical"] = decided["candidate"].map(canonical).astype("str")

    index = _build_index(nominals, prison, probation, decided)
    index["pseudo_id"] = pseudonymise(index["canonical"], key)
    person_index = index[["pseudo_id", "source", "source_id", "match_probability", "method"]].sort_values(
        ["pseudo_id", "source", "source_id"], ignore_index=True
    )

    persons = _persons(index, nominals, identities)

    in_cohort = _recent_proven(tables["police_offences"], extract_date)
    review = _clerical_review(review_pairs, agency, candidates, in_cohort)
    metrics = linkage_metrics(
        tables=tables,
        decisions=decided,
        index=index,
        prison=prison,
        probation=probation,
        persons=persons,
        review=review,
        model=model,
        params=params,
        truth=truth,
        applied=applied,
        n_ledger=len(ledger),
        n_probation_only_candidates=len(alone),
    )
    return LinkResult(
        persons=persons,
        tables={},
        person_index=person_index,
        clerical_review=review,
        metrics=metrics,
        charts={f"{name}.html": html for name, html in model.charts.items()},
        stale_decisions=applied.stale,
    )


def _candidate_persons(
    police_person: pd.Series,
    resolved: pd.DataFrame,
    first_decisions: pd.DataFrame,
    first_matched: pd.DataFrame,
) -> pd.Series:
    """Candidate unique_id -> canonical identifier, for every police and probation identifier.

    A probation crn stands for the person it resolves to in this extract: the PNC ID its
    rows carry, else the nominal it was linked to on personal details, else itself.
    """
    linked = first_decisions.loc[first_decisions["decision"] == "linked", ["unique_id", "candidate"]]
    linked = pd.concat([linked, first_matched[["unique_id", "candidate"]]], ignore_index=True)
    via_details = pd.Series(
        linked["candidate"].map(police_person).to_numpy(),
        index=linked["unique_id"].str.removeprefix("probation:"),
    )
    crn = resolved["crn"]
    person = ("pnc:" + resolved["pnc_id"]).fillna(crn.map(via_details)).fillna("crn:" + crn)
    probation = pd.Series(person.astype("str").to_numpy(), index=("probation:" + crn).to_numpy())
    return pd.concat([police_person, probation])


def _probation_only(
    identities: pd.DataFrame, resolved: pd.DataFrame, nominals: pd.DataFrame, linked_crn: set[str]
) -> pd.DataFrame:
    """Probation identities of people with no police nominal in the extract: candidates too.

    A crn whose rows carry no PNC ID and that personal details did not link to a
    nominal, or whose PNC ID names no nominal in this extract (a person known to
    another force). Two crns of the same person (the same PNC ID) give one candidate:
    the one with more rows.
    """
    pnc = resolved.set_index("crn")["pnc_id"]
    frame = identities.assign(pnc_id=identities["crn"].map(pnc).astype("str"))
    no_pnc = frame["pnc_id"].isna() & ~is_in(frame["crn"], linked_crn)
    other_force = frame["pnc_id"].notna() & ~is_in(frame["pnc_id"], nominals["pnc_id"])
    frame = frame[no_pnc | other_force]
    frame = frame.assign(canonical=("pnc:" + frame["pnc_id"]).fillna("crn:" + frame["crn"]).astype("str"))
    frame = frame.sort_values(["canonical", "n_rows", "crn"], ascending=[True, False, True], kind="stable")
    frame = frame.drop_duplicates("canonical").sort_values("crn", ignore_index=True)
    return frame.assign(
        unique_id="probation:" + frame["crn"], candidate_source="probation", candidate_id=frame["crn"]
    )


def _with_person_matches(decided: pd.DataFrame, matched: pd.DataFrame) -> pd.DataFrame:
    """Identities a person decided ``match``: linked to that candidate, whatever the model says."""
    by_person = matched.set_index("unique_id")
    hit = decided["unique_id"].isin(by_person.index)
    if not hit.any():
        return decided
    out = decided.copy()
    ids = out.loc[hit, "unique_id"]
    out.loc[hit, "candidate"] = ids.map(by_person["candidate"]).to_numpy()
    out.loc[hit, "match_probability"] = ids.map(by_person["match_probability"]).to_numpy()
    out.loc[hit, "match_weight"] = np.nan
    out.loc[hit, "runner_up_weight"] = np.nan
    out.loc[hit, "decision"] = "linked"
    out.loc[hit, "reason"] = "person_match"
    return out


def _recent_proven(offences: pd.DataFrame, extract_date: pd.Timestamp | None) -> pd.Index:
    """PNC IDs with a proven offence in the 24 months before the extract date.

    The cohort proxy of the review queue (link runs before the features): the
    contract's cohort is everyone with a proven offence in the last two years.
    Worked example: extract date 2026-10-31 -> offences after 2024-10-31, convicted or
    cautioned by 2026-10-31.
    """
    day = pd.Timestamp(extract_date) if extract_date is not None else offences["offence_date"].max()
    if pd.isna(day):
        return pd.Index([], dtype="str")
    start = day - pd.DateOffset(months=COHORT_PROXY_MONTHS)
    recent = (
        offences["outcome"].isin(list(PROVEN_OUTCOMES))
        & (offences["offence_date"] > start)
        & (offences["outcome_date"] <= day)
    )
    return pd.Index(offences.loc[recent.fillna(False).astype("bool"), "pnc_id"].dropna().unique())


def _known_matches(identities: pd.DataFrame, resolved: pd.DataFrame, nominals: pd.DataFrame) -> pd.DataFrame:
    """Probation identities whose rows carry the PNC ID of a nominal: known matches."""
    pnc = resolved.set_index("crn")["pnc_id"]
    known = identities.assign(pnc_id=identities["crn"].map(pnc))
    known = known[is_in(known["pnc_id"], nominals["pnc_id"])]
    keys = linkage_keys(known.assign(unique_id="label:" + known["crn"]))
    keys["pnc_id"] = ("police:" + known["pnc_id"].astype("str")).to_numpy()
    return keys


def _build_index(
    nominals: pd.DataFrame, prison: pd.DataFrame, probation: pd.DataFrame, decisions: pd.DataFrame
) -> pd.DataFrame:
    """Every agency id with its canonical identifier, link method and probability."""
    parts = [_identity_frame("police", nominals["pnc_id"], "pnc:" + nominals["pnc_id"], "pnc_id", 1.0)]

    for source, resolved, id_col in (("prison", prison, "noms_id"), ("probation", probation, "crn")):
        has_pnc = resolved[resolved["pnc_id"].notna()]
        parts.append(
            _identity_frame(source, has_pnc[id_col], "pnc:" + has_pnc["pnc_id"], has_pnc["method"], 1.0)
        )

    linked = decisions[decisions["decision"] == "linked"]
    method = np.where(linked["reason"] == "person_match", "clerical", "splink")
    parts.append(
        _identity_frame(
            "splink",
            linked["source_id"],
            linked["canonical"],
            method,
            linked["match_probability"].to_numpy(),
        ).assign(source=linked["source"].to_numpy())
    )

    # Prison- and probation-only people: their own id is their identity.
    linked_crn = set(linked.loc[linked["source"] == "probation", "source_id"])
    for source, resolved, id_col, prefix in (
        ("prison", prison, "noms_id", "noms:"),
        ("probation", probation, "crn", "crn:"),
    ):
        alone = resolved[resolved["pnc_id"].isna() & ~is_in(resolved[id_col], linked_crn)]
        parts.append(_identity_frame(source, alone[id_col], prefix + alone[id_col], "canonical", 1.0))
    return pd.concat(parts, ignore_index=True)


def _persons(
    index: pd.DataFrame, nominals: pd.DataFrame, identities: dict[str, pd.DataFrame]
) -> pd.DataFrame:
    """One row per pseudo_id; attributes from police, else probation, health, housing."""
    pseudo = index.set_index(["source", "source_id"])["pseudo_id"]
    candidates = []
    for priority, (source, frame) in enumerate(
        (
            ("police", nominals),
            ("probation", identities["probation"]),
            ("health", identities["health"]),
            ("housing", identities["housing"]),
        )
    ):
        id_col = AGENCY_IDS[source].column
        keys = pd.MultiIndex.from_arrays([pd.Series(source, index=frame.index), frame[id_col]])
        attrs = pd.DataFrame(
            {
                "pseudo_id": pseudo.reindex(keys).to_numpy(),
                "priority": priority,
                "date_of_birth": frame["date_of_birth"].to_numpy() if "date_of_birth" in frame else pd.NaT,
                # "U" (not recorded) and "Not stated" give way to a recorded value elsewhere.
                "sex": frame["sex"].mask(frame["sex"] == "U").to_numpy() if "sex" in frame else None,
                "ethnicity": (
                    frame["ethnicity"].mask(frame["ethnicity"] == "Not stated").to_numpy()
                    if "ethnicity" in frame
                    else None
                ),
            }
        )
        candidates.append(attrs.dropna(subset=["pseudo_id"]))
    attrs = pd.concat(candidates, ignore_index=True).sort_values(["pseudo_id", "priority"], kind="stable")
    first = attrs.groupby("pseudo_id", sort=True)[["date_of_birth", "sex", "ethnicity"]].first()

    people = pd.DataFrame({"pseudo_id": index["pseudo_id"].drop_duplicates().sort_values(ignore_index=True)})
    dob = pd.to_datetime(people["pseudo_id"].map(first["date_of_birth"]))
    people["birth_month"] = dob.dt.to_period("M").dt.start_time.astype("datetime64[ms]")
    people["sex"] = people["pseudo_id"].map(first["sex"]).fillna("U").astype("str")
    people["ethnicity"] = people["pseudo_id"].map(first["ethnicity"]).fillna("Not stated").astype("str")
    listed = pd.Series("", index=people.index, dtype="str")
    for source in SOURCES:
        flag = is_in(people["pseudo_id"], index.loc[index["source"] == source, "pseudo_id"])
        people[f"in_{source}"] = flag.astype("bool")
        listed = listed + flag.map({True: source + ";", False: ""}).astype("str")
    people["sources_linked"] = listed.str.rstrip(";").astype("str")
    return people


def _clerical_review(
    review: pd.DataFrame, agency: pd.DataFrame, candidates: pd.DataFrame, in_cohort: pd.Index
) -> pd.DataFrame:
    """Pairs for a person, details side by side, the pairs that matter most to the panel first.

    Identities are ordered by: a candidate in the cohort (a proven offence in the last
    24 months, :func:`_recent_proven`), then the records the link would bring to the
    person (the agency identity's rows), then the best match probability. Each
    identity's candidates follow each other, best first.
    """
    left = agency.set_index("unique_id")
    right = candidates.set_index("unique_id")
    cand_pnc = right["pnc_id"].astype("str") if "pnc_id" in right else pd.Series(dtype="str")
    cohort = is_in(review["candidate"].map(cand_pnc).astype("str"), pd.Series(in_cohort, dtype="str"))
    priority = pd.DataFrame(
        {
            "unique_id": review["unique_id"],
            "in_cohort": cohort.to_numpy(),
            "n_records": review["unique_id"].map(left["n_rows"]).astype("int64").to_numpy(),
            "best": review["match_probability"].to_numpy(),
        }
    )
    per_identity = priority.groupby("unique_id", sort=True).agg(
        in_cohort=("in_cohort", "max"), n_records=("n_records", "first"), best=("best", "max")
    )
    per_identity = per_identity.sort_values(
        ["in_cohort", "n_records", "best", "unique_id"], ascending=[False, False, False, True], kind="stable"
    )
    position = pd.Series(np.arange(1, len(per_identity) + 1, dtype="int64"), index=per_identity.index)

    out = pd.DataFrame(
        {
            "queue_position": review["unique_id"].map(position).astype("int64"),
            "decision": pd.Series("", index=review.index, dtype="str"),
            "source": review["unique_id"].map(left["source"]).astype("str"),
            "source_id": review["unique_id"].map(left["source_id"]).astype("str"),
            "candidate_source": review["candidate"].map(right["candidate_source"]).astype("str"),
            "candidate_id": review["candidate"].map(right["candidate_id"]).astype("str"),
            "match_probability": review["match_probability"].round(6),
            "reason": review["reason"].astype("str"),
            "rank": review["rank"].astype("int64"),
        }
    )
    for col in _DETAIL_COLUMNS:
        for side, frame, ids in (
            ("agency", left, review["unique_id"]),
            ("candidate", right, review["candidate"]),
        ):
            values = ids.map(frame[col]) if col in frame else pd.Series(pd.NA, index=review.index)
            if col != "date_of_birth":
                values = neutralise_formulas(values.astype("str")).where(values.notna())
            out[f"{side}_{col}"] = values
    for col in (c for c in review.columns if c.startswith("level_")):
        out[col] = review[col].astype("str")
    out["in_cohort"] = review["unique_id"].map(per_identity["in_cohort"]).map({True: "yes", False: "no"})
    out["n_records"] = review["unique_id"].map(per_identity["n_records"]).astype("int64")
    out["match_weight"] = review["match_weight"].round(3)
    out["queue_size"] = len(per_identity)
    out["reviewer"] = ""
    out["note"] = ""
    out["pair_check"] = pair_check(out)
    return out.sort_values(["queue_position", "rank"], ignore_index=True)
