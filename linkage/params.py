"""Parameters of the ``link`` stage (the ``link:`` section of params.yaml)."""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pydantic import Field, field_validator, model_validator

from iom_config import StageParams

# Columns a blocking rule may name. Each is derived from the recorded details by
# ``linkage.standardise`` on both sides of the link (see there for their meaning).
BLOCKING_COLUMNS: tuple[str, ...] = (
    "forename_std",
    "forename_key",
    "surname_std",
    "surname_sdx",
    "forename_sdx",
    "dob",
    "dob_unordered",
    "birth_year",
    "birth_year_month",
    "postcode_district",
    "sex",
)

# Every rule pairs two records only when they agree on a date-of-birth key AND a name or
# area key, or on a name pair AND a birth year or area key. A block then holds the people
# who share a birthday and a sound-alike name (or a name and a district), never everyone
# born on one day or everyone called John Smith: blocks stay small however large the
# area, and the blocked pairs grow about linearly with the population. Rules on the date
# of birth alone, or on a surname or name pair without a date or district, made blocks
# that grow with the area: 17.8 million pairs at 200,000 nominals against 0.2 million at
# 20,000 (x90 for x10 people), and the 1,000,000 run out of memory.
_DEFAULT_PREDICTION_BLOCKS: tuple[tuple[str, ...], ...] = (
    # Same date of birth (or day and month swapped) and a sound-alike forename or
    # surname, the formal forename or the postcode district: a true match with the same
    # date of birth almost always agrees on one of them (a married or maiden surname
    # keeps the forename, a move keeps the names).
    ("dob_unordered", "forename_sdx"),
    ("dob_unordered", "surname_sdx"),
    ("dob_unordered", "postcode_district"),
    ("dob_unordered", "forename_key"),
    # Same (formal) forename, surname and birth year: a typo in the day or month of birth.
    ("forename_key", "surname_std", "birth_year"),
    # Same (formal) forename, surname and postcode district: a missing or badly wrong DOB.
    ("forename_key", "surname_std", "postcode_district"),
    # Sound-alike forename and surname with the birth year or the district: typos in
    # both names, with a DOB typo or a missing DOB.
    ("forename_sdx", "surname_sdx", "birth_year"),
    ("forename_sdx", "surname_sdx", "postcode_district"),
    # Same forename, postcode district, birth year and month: a maiden or married
    # surname with a typo in the day of birth.
    ("forename_key", "postcode_district", "birth_year_month"),
)

# Each EM pass estimates m for the comparisons its rule does not constrain. Pairs with
# the same date of birth leave names, postcode and sex free to tell matches from
# chance agreement. Date of birth itself is measured on known matches (see
# ``linkage.model.LABELLED_COMPARISONS``); only without enough of them does an EM pass
# on ``dob_training_block`` estimate it, a weaker estimate (namesakes in the same
# district pass for matches with a wrong DOB). A same-DOB block grows with the square of
# the people (everyone born on one day is paired): above ``max_training_pairs`` an EM
# pass runs on a seeded random share of its pairs (``linkage.model.training_plan``).
_DEFAULT_TRAINING_BLOCKS: tuple[tuple[str, ...], ...] = (("dob",),)
_DEFAULT_DOB_TRAINING_BLOCK: tuple[str, ...] = ("forename_key", "surname_std", "postcode_district")


def _check_rule(rule: tuple[str, ...]) -> None:
    if not rule:
        raise ValueError("a blocking rule needs at least one column")
    unknown = sorted(set(rule) - set(BLOCKING_COLUMNS))
    if unknown:
        raise ValueError(f"unknown blocking column(s) {unknown}; choose from {', '.join(BLOCKING_COLUMNS)}")


class LinkParams(StageParams):
    """Settings of the probabilistic linkage and the pseudonymisation.

    Attributes
    ----------
    accept
        Link a health, housing or probation identity to its best police candidate
        automatically when the match probability is at least this.
    review_low
        Candidates with ``review_low <= p < accept`` go to clerical review and are not
        linked; below ``review_low`` there is no link.
    ambiguity_margin
        When a second police candidate scores within this many match-weight units
        (log2 Bayes factor) of the best, the pair is ambiguous (twins, a father and son
        of the same name) and goes to clerical review even above ``accept``.
    key_file
        File holding the pseudonymisation key, used when ``IOM_PSEUDONYM_KEY`` is unset.
    allow_dev_key
        Permit the built-in development key, and only for a simulated extract (one with
        a ``_truth/`` folder).
    seed
        Seed of the random pairs that estimate u and of the EM passes' pair samples.
    max_pairs
        Number of random pairs sampled to estimate u (the chance that a non-matching
        pair agrees at each comparison level).
    deterministic_recall
        Assumed recall of an exact match on forename, surname and DOB; sets the prior
        probability that two random records match.
    prediction_blocks, training_blocks
        Blocking rules (each a list of columns that must be equal) for scoring pairs,
        and for the expectation-maximisation passes that estimate m.
    dob_training_block
        Blocking rule of the EM pass that estimates m for date of birth when there are
        fewer than ``min_labelled_pairs`` known matches.
    max_training_pairs
        At most about this many pairs per EM pass. A training rule that blocks more
        pairs (the same-DOB block pairs everyone born on one day: 0.03 million pairs at
        20,000 nominals, 70 million at 1,000,000) is trained on a random share of them,
        1 pair in ``k``, drawn by a seeded hash of each record's id: every comparison it
        leaves free is still estimated, from the same mix of matches and non-matches.
    name_thresholds
        Jaro-Winkler similarity thresholds for the forename and surname levels.
    min_labelled_pairs
        Known matches (probation records carrying the PNC ID, with a date of birth)
        needed before they, rather than EM, set m for date of birth.
    m_floor
        Smallest m probability a comparison level keeps after training. EM can drive
        m to ~0 for a disagreement never seen among matches in this extract (sex
        recorded differently), which would veto every such pair whatever else agrees.
    predict_floor
        Pairs below this probability are not kept at all (they only feed the
        distribution in the metrics as "no candidate").
    review_candidates
        At most this many candidates per identity go to clerical review.
    decisions_dir
        The data controller's folder of clerical decisions (``decisions.csv``, written
        by ``iom review``): not a stage output, so ``dvc repro`` never deletes it;
        the link stage reads it as a dependency and applies it on every run.
    """

    accept: float = Field(default=0.95, gt=0.0, le=1.0)
    review_low: float = Field(default=0.5, gt=0.0, le=1.0)
    ambiguity_margin: float = Field(default=2.0, ge=0.0)
    key_file: Path | None = None
    allow_dev_key: bool = False
    seed: int = 42
    max_pairs: int = Field(default=1_000_000, ge=10_000)
    deterministic_recall: float = Field(default=0.6, gt=0.0, le=1.0)
    prediction_blocks: tuple[tuple[str, ...], ...] = _DEFAULT_PREDICTION_BLOCKS
    training_blocks: tuple[tuple[str, ...], ...] = _DEFAULT_TRAINING_BLOCKS
    dob_training_block: tuple[str, ...] = _DEFAULT_DOB_TRAINING_BLOCK
    max_training_pairs: int = Field(default=1_000_000, ge=10_000)
    name_thresholds: tuple[float, ...] = (0.92, 0.85)
    min_labelled_pairs: int = Field(default=100, ge=1)
    m_floor: float = Field(default=0.002, ge=0.0, lt=0.1)
    predict_floor: float = Field(default=0.01, gt=0.0, lt=1.0)
    review_candidates: int = Field(default=3, ge=1)
    decisions_dir: Path = Path("clerical")

    @field_validator("prediction_blocks", "training_blocks")
    @classmethod
    def _known_columns(cls, blocks: tuple[tuple[str, ...], ...]) -> tuple[tuple[str, ...], ...]:
        if not blocks:
            raise ValueError("give at least one blocking rule")
        for rule in blocks:
            _check_rule(rule)
        return blocks

    @field_validator("dob_training_block")
    @classmethod
    def _known_dob_columns(cls, rule: tuple[str, ...]) -> tuple[str, ...]:
        _check_rule(rule)
        if {"dob", "dob_unordered", "birth_year", "birth_year_month"} & set(rule):
            raise ValueError("dob_training_block must leave the date of birth free (no DOB columns)")
        return rule

    @field_validator("name_thresholds")
    @classmethod
    def _descending(cls, thresholds: tuple[float, ...]) -> tuple[float, ...]:
        if not thresholds or any(not 0 < t < 1 for t in thresholds):
            raise ValueError("give one or more Jaro-Winkler thresholds strictly between 0 and 1")
        if list(thresholds) != sorted(thresholds, reverse=True) or len(set(thresholds)) != len(thresholds):
            raise ValueError("Jaro-Winkler thresholds must be strictly decreasing, e.g. [0.92, 0.85]")
        return thresholds

    @model_validator(mode="after")
    def _ordered_band(self) -> Self:
        if not self.predict_floor <= self.review_low <= self.accept:
            raise ValueError(
                "need predict_floor <= review_low <= accept "
                f"(got {self.predict_floor}, {self.review_low}, {self.accept})"
            )
        return self
