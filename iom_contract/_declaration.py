"""The partner-record data contract v1, declared once.

Everything that needs to know the shape of an extract reads it from here: the
validator (which generates its Great Expectations suites from these objects), the
simulator (which writes exactly these columns and injects violations of these rules)
and the tests; ``docs/contract/partner-records.md`` is generated from it with the
published prose (``iom_contract._documents``). Where the published contract and this
module disagree, the published prose wins and this module is the bug.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

CONTRACT_VERSION = "partner-records/1"

Kind = Literal["str", "date", "int", "bool", "cat"]

SEX = ("M", "F", "X", "U")
ETHNICITY = ("Asian", "Black", "Mixed", "White", "Other", "Not stated")
OFFENCE_GROUPS = (
    "burglary",
    "robbery",
    "theft",
    "vehicle_crime",
    "violence_with_injury",
    "violence_without_injury",
    "sexual",
    "criminal_damage",
    "drugs",
    "public_order",
    "possession_of_weapons",
    "fraud",
    "other",
)
OUTCOMES = ("convicted", "caution", "community_resolution", "no_further_action", "pending")
PROVEN_OUTCOMES = ("convicted", "caution")
RELEASE_TYPES = ("licence", "sentence_expiry", "remand", "other")
ORDER_TYPES = ("community_order", "suspended_sentence", "licence", "post_sentence_supervision")
NEEDS = (
    "accommodation",
    "education_training_employment",
    "finance",
    "relationships",
    "lifestyle",
    "drugs",
    "alcohol",
    "emotional_wellbeing",
    "thinking_behaviour",
    "attitudes",
)
CONTACT_OUTCOMES = ("attended", "acceptable_absence", "unacceptable_absence")
HEALTH_SERVICES = ("drug_treatment", "alcohol_treatment", "mental_health", "liaison_diversion")
DISCHARGE_REASONS = ("completed", "dropped_out", "transferred", "other")
HOUSING_EVENTS = (
    "homeless_application",
    "temporary_accommodation",
    "rough_sleeping",
    "settled_accommodation",
)
TIERS = ("red", "amber", "green")
DECIDED_TIERS = ("red", "amber", "green", "not_adopted")

PNC_PATTERN = r"^\d{2}/\d{1,7}[A-Z]$"
NOMS_PATTERN = r"^[A-Z]\d{4}[A-Z]{2}$"
CRN_PATTERN = r"^[A-Z]\d{6}$"

# Label definition (contract section "The outcome the model predicts").
LABEL_WINDOW_DAYS = 365
LABEL_PROOF_DAYS = 183

# Earliest plausible date anywhere in an extract, and the age of criminal
# responsibility in England and Wales (a date of birth less than 10 years before the
# extract date cannot belong to someone with a police record).
EARLIEST_DATE = "1900-01-01"
MIN_AGE_YEARS = 10


@dataclass(frozen=True)
class Column:
    """One column of a contract table.

    Attributes
    ----------
    planned
        A date that may lie after ``extract_date`` (a planned release or order end).
    identifying
        Names, dates of birth, postcodes and source identifiers: never published.
    protected
        A protected characteristic (sex, ethnicity): used only in aggregate audits.
    """

    name: str
    kind: Kind
    nullable: bool = False
    values: tuple[str, ...] | None = None
    pattern: str | None = None
    min_value: int | None = None
    max_value: int | None = None
    unique: bool = False
    planned: bool = False
    identifying: bool = False
    protected: bool = False


@dataclass(frozen=True)
class DateOrder:
    """``later`` must not be before ``earlier`` (rows where either is null pass)."""

    earlier: str
    later: str


@dataclass(frozen=True)
class ForeignKey:
    """Every non-null ``column`` value must exist in ``parent.parent_column``."""

    column: str
    parent: str
    parent_column: str


@dataclass(frozen=True)
class NullWhen:
    """``column`` is null exactly when ``condition`` holds (a pandas query string).

    ``required_otherwise`` False means only "must be null when condition holds".
    """

    column: str
    condition: str
    description: str
    required_otherwise: bool = True


@dataclass(frozen=True)
class Table:
    """One contract table."""

    name: str
    columns: tuple[Column, ...]
    optional: bool = False
    key: str | None = None
    date_orders: tuple[DateOrder, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    null_when: tuple[NullWhen, ...] = field(default=())

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}")


def _person_details(nullable: bool, with_ethnicity: bool = False) -> tuple[Column, ...]:
    cols = [
        Column("forename", "str", nullable=nullable, identifying=True),
        Column("surname", "str", nullable=nullable, identifying=True),
        Column("date_of_birth", "date", nullable=nullable, identifying=True),
        Column("sex", "cat", nullable=nullable, values=SEX, protected=True),
    ]
    if with_ethnicity:
        cols.append(Column("ethnicity", "cat", nullable=nullable, values=ETHNICITY, protected=True))
    return tuple(cols)


_PNC_NULLABLE = Column("pnc_id", "str", nullable=True, pattern=PNC_PATTERN, identifying=True)
_CRN = Column("crn", "str", pattern=CRN_PATTERN, identifying=True)
_POSTCODE = Column("postcode_district", "str", nullable=True, identifying=True)

TABLES: tuple[Table, ...] = (
    Table(
        "police_nominals",
        (
            Column("pnc_id", "str", pattern=PNC_PATTERN, unique=True, identifying=True),
            *_person_details(nullable=False, with_ethnicity=True),
            _POSTCODE,
        ),
        key="pnc_id",
    ),
    Table(
        "police_offences",
        (
            Column("offence_id", "str", unique=True),
            Column("pnc_id", "str", pattern=PNC_PATTERN, identifying=True),
            Column("offence_date", "date"),
            Column("offence_group", "cat", values=OFFENCE_GROUPS),
            Column("domestic_abuse", "bool"),
            Column("gravity", "int", min_value=1, max_value=6),
            Column("outcome", "cat", values=OUTCOMES),
            Column("outcome_date", "date", nullable=True),
        ),
        key="offence_id",
        date_orders=(DateOrder("offence_date", "outcome_date"),),
        foreign_keys=(ForeignKey("pnc_id", "police_nominals", "pnc_id"),),
        null_when=(
            NullWhen(
                "outcome_date",
                'outcome == "pending"',
                "outcome_date is empty only when the outcome is pending",
            ),
        ),
    ),
    Table(
        "custody_episodes",
        (
            Column("noms_id", "str", pattern=NOMS_PATTERN, identifying=True),
            _PNC_NULLABLE,
            Column("reception_date", "date"),
            Column("release_date", "date", nullable=True),
            Column("expected_release_date", "date", nullable=True, planned=True),
            Column("release_type", "cat", nullable=True, values=RELEASE_TYPES),
        ),
        date_orders=(
            DateOrder("reception_date", "release_date"),
            DateOrder("reception_date", "expected_release_date"),
        ),
        null_when=(
            NullWhen(
                "release_type",
                "release_date.isna()",
                "release_type is empty exactly while the person is in custody (no release_date)",
            ),
            NullWhen(
                "expected_release_date",
                "release_date.notna()",
                "expected_release_date is set only while the person is still in custody",
                required_otherwise=False,
            ),
        ),
    ),
    Table(
        "probation_orders",
        (
            _CRN,
            _PNC_NULLABLE,
            *_person_details(nullable=False, with_ethnicity=True),
            Column("order_type", "cat", values=ORDER_TYPES),
            Column("start_date", "date"),
            Column("end_date", "date", planned=True),
            Column("breached", "bool"),
        ),
        date_orders=(DateOrder("start_date", "end_date"),),
    ),
    Table(
        "probation_assessments",
        (
            Column("crn", "str", pattern=CRN_PATTERN, identifying=True),
            Column("assessment_date", "date"),
            *(Column(n, "int", nullable=True, min_value=0, max_value=2) for n in NEEDS),
        ),
        foreign_keys=(ForeignKey("crn", "probation_orders", "crn"),),
    ),
    Table(
        "probation_contacts",
        (
            Column("crn", "str", pattern=CRN_PATTERN, identifying=True),
            Column("contact_date", "date"),
            Column("outcome", "cat", values=CONTACT_OUTCOMES),
        ),
        foreign_keys=(ForeignKey("crn", "probation_orders", "crn"),),
    ),
    Table(
        "health_episodes",
        (
            Column("health_id", "str", identifying=True),
            *_person_details(nullable=True),
            _POSTCODE,
            Column("service", "cat", values=HEALTH_SERVICES),
            Column("referral_date", "date"),
            Column("discharge_date", "date", nullable=True),
            Column("discharge_reason", "cat", nullable=True, values=DISCHARGE_REASONS),
        ),
        date_orders=(DateOrder("referral_date", "discharge_date"),),
        null_when=(
            NullWhen(
                "discharge_reason",
                "discharge_date.isna()",
                "discharge_reason is empty exactly while the episode is open (no discharge_date)",
            ),
        ),
    ),
    Table(
        "housing_events",
        (
            Column("council_id", "str", identifying=True),
            Column("forename", "str", nullable=True, identifying=True),
            Column("surname", "str", nullable=True, identifying=True),
            Column("date_of_birth", "date", nullable=True, identifying=True),
            _POSTCODE,
            Column("event_date", "date"),
            Column("event_type", "cat", values=HOUSING_EVENTS),
        ),
    ),
    Table(
        "panel_decisions",
        (
            Column("pseudo_id", "str"),
            Column("panel_date", "date"),
            Column("suggested_tier", "cat", values=TIERS),
            Column("decided_tier", "cat", values=DECIDED_TIERS),
            Column("reason", "str", nullable=True),
        ),
        optional=True,
    ),
)

TABLES_BY_NAME: dict[str, Table] = {t.name: t for t in TABLES}
REQUIRED_TABLES: tuple[str, ...] = tuple(t.name for t in TABLES if not t.optional)


def table(name: str) -> Table:
    """Return the contract table called ``name``."""
    try:
        return TABLES_BY_NAME[name]
    except KeyError:
        raise KeyError(f"no contract table {name!r}; the contract has {', '.join(TABLES_BY_NAME)}") from None


# Row-level rules. A quarantined row names the rule(s) it failed; the simulator's
# ``--dirty`` injector uses the same names for the kinds of violation it injects.
ROW_RULES: dict[str, str] = {
    "not_null": "a required value is empty",
    "type": "the value cannot be read as its type (dates YYYY-MM-DD, whole numbers, true/false)",
    "in_set": "the value is not one of the allowed categories",
    "pattern": "the identifier does not have the required format",
    "range": "the number is outside its allowed range",
    "date_range": (
        "the date is implausible (before 1900, or a date of birth less than 10 years before the extract date)"
    ),
    "future_date": "the date is after the extract date",
    "date_order": "two dates are in an impossible order",
    "null_when": "a value is present or absent against the rule for the record's state",
    "unique": "the identifier repeats an earlier row (the first occurrence is kept)",
    "orphan": "the row refers to an identifier that is not in the parent table",
    "parent_rejected": "the row refers to a parent row that was itself quarantined",
}
# Kinds of violation the simulator injects (every row rule except the cascade).
DIRTY_KINDS: tuple[str, ...] = tuple(r for r in ROW_RULES if r != "parent_rejected")


@dataclass(frozen=True)
class AgencyId:
    """Where an agency names a person: its table and its identifier column."""

    table: str
    column: str


# "Identifiers: who is who across agencies": each agency's own identifier, in the order
# the linkage reports them. No key is shared; linkage resolves people across them.
AGENCY_IDS: dict[str, AgencyId] = {
    "police": AgencyId("police_nominals", "pnc_id"),
    "prison": AgencyId("custody_episodes", "noms_id"),
    "probation": AgencyId("probation_orders", "crn"),
    "health": AgencyId("health_episodes", "health_id"),
    "housing": AgencyId("housing_events", "council_id"),
}
AGENCIES: tuple[str, ...] = tuple(AGENCY_IDS)
AGENCY_OF_ID: dict[str, str] = {a.column: agency for agency, a in AGENCY_IDS.items()}
