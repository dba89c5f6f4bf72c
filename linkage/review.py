"""Clerical review: the data controller's decisions on uncertain pairs, applied on every run.

The link stage writes the pairs it cannot decide (``linkage.decide``) to a review file
in the re-identification folder. The data controller fills in its ``decision`` column
(``match``, ``no_match`` or blank) and records the file (``iom review``): the
decisions go to a ledger keyed on stable source identifiers (the agency identity's
``source`` and ``source_id``, the candidate's ``candidate_source`` and
``candidate_id``), never on pseudo_ids or row numbers, so they hold for a later extract
and a new pseudonymisation key. Every later run applies the ledger before the model's
thresholds: a ``match`` links the pair whatever the model scores, a ``no_match`` keeps
the two apart however high a later model scores them, and a decided pair is never
queued again. A decision whose identity or candidate is no longer a link candidate in
the extract is reported as stale, not silently dropped.

Worked example: health identity ``health:RJE1`` has candidates ``police:09/1K``
(p = 0.81) and ``police:09/2M`` (p = 0.64). The controller writes ``no_match`` for the
first pair and leaves the second blank. Next run, the first pair is removed before the
thresholds: ``09/2M`` is the best candidate left, still uncertain, so it alone is
queued again. Had they written ``match`` on the first, health:RJE1 would be linked to
09/1K and neither pair queued again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from linkage.decide import decide_links
from linkage.keys import keyed_hash
from linkage.params import LinkParams

logger = logging.getLogger(__name__)

MATCH, NO_MATCH = "match", "no_match"
DECISION_WORDS: tuple[str, ...] = (MATCH, NO_MATCH)
"""What the ``decision`` column may hold (or blank: not decided yet)."""

PAIR_KEY: tuple[str, ...] = ("source", "source_id", "candidate_source", "candidate_id")
"""The stable identifiers a decision is keyed on."""

LEDGER_COLUMNS: tuple[str, ...] = (
    *PAIR_KEY,
    "decision",
    "decided_on",
    "match_probability_when_decided",
    "reviewer",
    "note",
)
"""The decisions ledger: identifiers and the decision only, no names or dates of birth."""

STALE_REASONS: tuple[str, ...] = ("identity_gone", "candidate_gone")

# Not a secret: the check detects a row edited into another pair, not forgery (the file
# and the ledger are both the data controller's).
_CHECK_KEY = b"iom clerical review pair check v1"
_CHECK_HEX = 10
# A cell starting with one of these is a formula to a spreadsheet (CSV injection).
_FORMULA_START = r"^[=+\-@\t\r]"
_MAX_LISTED = 10


class ReviewFileError(ValueError):
    """A review file or decisions ledger that cannot be applied; nothing was taken from it."""


@dataclass(frozen=True)
class AppliedDecisions:
    """The ledger applied to one run's scored pairs.

    Attributes
    ----------
    open_pairs
        The scored pairs left for the model's thresholds: without ``no_match`` pairs
        and without any pair of an identity decided ``match``.
    matched
        One row per identity linked by a person: unique_id, candidate,
        match_probability (the model's score now; null when it no longer scores the pair).
    stale
        Ledger rows that no longer apply, with ``stale_reason``.
    counts
        ``match``/``no_match`` applied, ``stale``, and the conflicts with the model:
        ``match_below_review_low`` (a person linked a pair the model now scores below
        ``review_low`` or not at all), ``match_where_model_links_another`` (the model
        alone would link the identity to another candidate) and
        ``no_match_where_model_links`` (a person kept apart a pair the model alone would
        link).
    """

    open_pairs: pd.DataFrame
    matched: pd.DataFrame
    stale: pd.DataFrame
    counts: dict[str, int]


def empty_ledger() -> pd.DataFrame:
    """A ledger with no decisions."""
    out = pd.DataFrame({c: pd.Series(dtype="str") for c in LEDGER_COLUMNS})
    out["match_probability_when_decided"] = pd.Series(dtype="float64")
    return out


def left_key(frame: pd.DataFrame) -> pd.Series:
    """``source:source_id``, the unique_id of an agency identity in the scored pairs."""
    return (frame["source"].astype("str") + ":" + frame["source_id"].astype("str")).astype("str")


def right_key(frame: pd.DataFrame) -> pd.Series:
    """``candidate_source:candidate_id``, the unique_id of a candidate in the scored pairs."""
    return (frame["candidate_source"].astype("str") + ":" + frame["candidate_id"].astype("str")).astype("str")


def pair_check(frame: pd.DataFrame) -> pd.Series:
    """A short checksum of a row's four identifiers: an edited identifier no longer matches it."""
    text = left_key(frame) + "|" + right_key(frame)
    return keyed_hash(text, _CHECK_KEY, prefix="", n_hex=_CHECK_HEX).astype("str")


def neutralise_formulas(values: pd.Series) -> pd.Series:
    """Text a spreadsheet would run as a formula (``=HYPERLINK(...)``) gets a leading quote."""
    text = values.astype("str")
    return text.where(~text.str.contains(_FORMULA_START, regex=True, na=False), "'" + text)


def _row_numbers(index: pd.Index) -> list[int]:
    # Row 1 of the file is the header: the data row at position i is spreadsheet row i + 2.
    return [int(i) + 2 for i in index]


def _problem(where: str, rows: list[int], column: str, rule: str, detail: str) -> str:
    listed = ", ".join(str(r) for r in rows[:_MAX_LISTED])
    more = f" (and {len(rows) - _MAX_LISTED} more)" if len(rows) > _MAX_LISTED else ""
    noun = "row" if len(rows) == 1 else f"{len(rows)} rows"
    return f"{where}: {noun} {listed}{more}, column '{column}', {rule}: {detail}"


def parse_review_file(frame: pd.DataFrame, where: str) -> pd.DataFrame:
    """Check a filled-in review file and return its decided rows.

    Every row is checked before anything is taken: one bad row and the whole file is
    refused, so a half-applied file never happens.

    Parameters
    ----------
    frame
        The file as read, every column as text (``dtype=str``, blanks as ``""``); rows
        in file order (the first data row is spreadsheet row 2).
    where
        The file's path, for the messages.

    Returns
    -------
    pd.DataFrame
        The rows with a decision: :data:`PAIR_KEY`, ``decision`` (normalised),
        ``match_probability_when_decided``, ``reviewer``, ``note``, ``row`` (spreadsheet row).

    Raises
    ------
    ReviewFileError
        Naming each problem's rows, column and rule: a missing column, an unknown
        decision word, a duplicated pair, a row whose identifiers were edited (its
        ``pair_check`` no longer matches), or one identity decided ``match`` with two
        candidates.
    """
    needed = (*PAIR_KEY, "decision", "pair_check")
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise ReviewFileError(
            f"{where}: column(s) {missing} missing; record the file the link stage wrote "
            "(add a decision in its 'decision' column, change nothing else)"
        )
    frame = frame.reset_index(drop=True)
    text = {c: frame[c].fillna("").astype("str").str.strip() for c in (*PAIR_KEY, "decision", "pair_check")}
    keys = pd.DataFrame({c: text[c] for c in PAIR_KEY})
    decision = text["decision"].str.lower().str.replace(r"[\s-]+", "_", regex=True)
    problems: list[str] = []

    unknown = ~decision.isin(["", *DECISION_WORDS])
    if unknown.any():
        examples = sorted(set(text["decision"][unknown]))[:3]
        problems.append(
            _problem(
                where,
                _row_numbers(frame.index[unknown]),
                "decision",
                "unknown decision",
                f"{examples} (write match, no_match, or leave it blank)",
            )
        )
    edited = pair_check(keys) != text["pair_check"]
    if edited.any():
        problems.append(
            _problem(
                where,
                _row_numbers(frame.index[edited]),
                "pair_check",
                "row edited into another pair",
                "its source, source_id, candidate_source or candidate_id no longer match the pair "
                "the link stage wrote (undo the edit, or delete the row)",
            )
        )
    duplicated = keys.duplicated(keep=False)
    if duplicated.any():
        problems.append(
            _problem(
                where,
                _row_numbers(frame.index[duplicated]),
                "source_id",
                "duplicated pair",
                "the same source, source_id, candidate_source and candidate_id appear on more than one row "
                "(keep one)",
            )
        )
    matched = decision == MATCH
    twice = matched & keys[["source", "source_id"]].where(matched).duplicated(keep=False)
    if twice.any():
        problems.append(
            _problem(
                where,
                _row_numbers(frame.index[twice]),
                "decision",
                "one identity matched to two candidates",
                "an agency identity is one person: write match on one candidate at most",
            )
        )
    if problems:
        raise ReviewFileError(
            "the review file cannot be recorded; nothing was taken from it.\n  " + "\n  ".join(problems)
        )

    decided = decision != ""
    out = keys[decided].copy()
    out["decision"] = decision[decided].astype("str")
    probability = (
        frame["match_probability"] if "match_probability" in frame else pd.Series("", index=frame.index)
    )
    out["match_probability_when_decided"] = pd.to_numeric(probability[decided], errors="coerce").astype(
        "float64"
    )
    for col in ("reviewer", "note"):
        values = frame[col] if col in frame else pd.Series("", index=frame.index)
        out[col] = values[decided].fillna("").astype("str").str.strip()
    out["row"] = np.asarray(_row_numbers(frame.index[decided]), dtype="int64")
    return out.reset_index(drop=True)


def merge_decisions(
    ledger: pd.DataFrame, new: pd.DataFrame, decided_on: str
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Add a review file's decisions to the ledger (a later decision on a pair replaces it).

    Parameters
    ----------
    ledger
        The decisions so far (:data:`LEDGER_COLUMNS`).
    new
        Output of :func:`parse_review_file`.
    decided_on
        ISO date the decisions are recorded on.

    Returns
    -------
    ledger : pd.DataFrame
        Sorted by :data:`PAIR_KEY`.
    counts : dict
        ``added``, ``changed`` (a pair decided the other way before), ``unchanged``.

    Raises
    ------
    ReviewFileError
        When a ``match`` would give an identity a second matched candidate.
    """
    key = list(PAIR_KEY)
    rows = new.assign(decided_on=decided_on)[list(LEDGER_COLUMNS)].reset_index(drop=True)
    before = ledger.set_index(key)["decision"]
    previous = pd.Series(before.reindex(pd.MultiIndex.from_frame(rows[key])).to_numpy(), index=rows.index)
    same = (previous == rows["decision"]).to_numpy()
    n_added = int(previous.isna().sum())
    n_changed = int((previous.notna() & (previous != rows["decision"])).sum())
    # An unchanged decision keeps the date it was first made; a changed one replaces it.
    merged = pd.concat([ledger[list(LEDGER_COLUMNS)], rows[~same]], ignore_index=True).drop_duplicates(
        key, keep="last"
    )
    matches = merged[merged["decision"] == MATCH]
    twice = matches.duplicated(["source", "source_id"], keep=False)
    if twice.any():
        ids = sorted(set(left_key(matches[twice])))
        raise ReviewFileError(
            f"identity {ids[:_MAX_LISTED]} would be matched to two candidates (one in the ledger already); "
            "record no_match for the earlier pair in the same file if the earlier match was wrong; "
            "nothing was recorded"
        )
    merged = merged[list(LEDGER_COLUMNS)].sort_values(key, ignore_index=True)
    counts = {"added": n_added, "changed": n_changed, "unchanged": int(same.sum())}
    return merged, counts


def apply_decisions(
    pairs: pd.DataFrame,
    ledger: pd.DataFrame,
    identities: pd.Series,
    canonical: pd.Series,
    params: LinkParams,
) -> AppliedDecisions:
    """Apply the ledger to scored pairs, before any threshold.

    A decision is about a person: a candidate stands for the person its identifier
    resolves to in this extract (``canonical``). Worked example: a health identity was
    decided ``no_match`` with ``probation:X12`` when X12 was probation-only; this month
    X12's orders carry PNC ID 09/1K, so X12 is the person ``pnc:09/1K`` and the decision
    also keeps the health identity apart from the police nominal 09/1K.

    Parameters
    ----------
    pairs
        unique_id_l, unique_id_r, match_weight, match_probability (all passes).
    ledger
        The decisions (:data:`LEDGER_COLUMNS`).
    identities
        unique_id of every agency identity linked on personal details in this run.
    canonical
        Candidate unique_id (``police:<pnc_id>``, ``probation:<crn>``) -> the person's
        canonical identifier, for every candidate identifier in the extract (probation
        crns that resolve to a police nominal too).
    params
        ``accept``, ``review_low``, ``ambiguity_margin`` (to count conflicts with the model).

    Returns
    -------
    AppliedDecisions
    """
    decisions = ledger.assign(unique_id_l=left_key(ledger), unique_id_r=right_key(ledger))
    has_identity = decisions["unique_id_l"].isin(pd.Index(identities))
    person = decisions["unique_id_r"].map(canonical)
    reason = pd.Series(
        np.select([~has_identity, person.isna()], list(STALE_REASONS), ""),
        index=decisions.index,
        dtype="str",
    )
    stale = decisions[reason != ""].assign(stale_reason=reason[reason != ""])
    active = decisions[reason == ""].assign(person=person[reason == ""]).reset_index(drop=True)

    scored_pairs = pairs[["unique_id_l", "unique_id_r", "match_probability"]].assign(
        person=pairs["unique_id_r"].map(canonical).to_numpy()
    )
    best_by_person = (
        scored_pairs.groupby(["unique_id_l", "person"], sort=False)["match_probability"]
        .max()
        .rename("model_p")
    )
    scored = active.join(best_by_person, on=["unique_id_l", "person"])
    is_match = scored["decision"] == MATCH
    p = scored["model_p"]
    # What the model alone would do with these identities, to count disagreements.
    decided_ids = pd.Index(scored["unique_id_l"].unique())
    alone, _ = decide_links(pairs[pairs["unique_id_l"].isin(decided_ids)], pd.Series(decided_ids), params)
    model_person = scored["unique_id_l"].map(
        alone.loc[alone["decision"] == "linked"].set_index("unique_id")["candidate"].map(canonical)
    )
    links_this = (model_person == scored["person"]).to_numpy()
    links_another = (model_person.notna() & (model_person != scored["person"])).to_numpy()
    counts = {
        "match": int(is_match.sum()),
        "no_match": int((~is_match).sum()),
        "stale": len(stale),
        "match_below_review_low": int((is_match & ~(p >= params.review_low)).sum()),
        "match_where_model_links_another": int((is_match & links_another).sum()),
        "no_match_where_model_links": int((~is_match & links_this).sum()),
    }
    matched = scored.loc[is_match, ["unique_id_l", "unique_id_r", "model_p"]].rename(
        columns={"unique_id_l": "unique_id", "unique_id_r": "candidate", "model_p": "match_probability"}
    )
    matched = matched.sort_values("unique_id", ignore_index=True)

    closed = pd.MultiIndex.from_frame(scored.loc[~is_match, ["unique_id_l", "person"]])
    pair_person = pd.MultiIndex.from_frame(scored_pairs[["unique_id_l", "person"]])
    keep = ~pair_person.isin(closed) & ~pairs["unique_id_l"].isin(pd.Index(matched["unique_id"])).to_numpy()
    open_pairs = pairs[keep].reset_index(drop=True)
    if len(stale):
        logger.warning(
            "%d clerical decisions no longer apply (identity or candidate no longer a link candidate "
            "in this extract); listed in stale_decisions.csv",
            len(stale),
        )
    stale_cols = [*LEDGER_COLUMNS, "stale_reason"]
    return AppliedDecisions(
        open_pairs=open_pairs,
        matched=matched,
        stale=stale[stale_cols].reset_index(drop=True),
        counts=counts,
    )
