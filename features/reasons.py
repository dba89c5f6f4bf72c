"""Reason families and reason templates: how each catalogue feature reads to a tiering panel.

A panel member thinks in *families* ("a long record", "drugs", "missed appointments"),
not in columns, so a reason is a family's summed contribution with the one or two facts
that carry it: ``Long record: 68 recorded offences in the last 10 years, 26 proven
offences in the last 10 years (+34 pts)``. This module declares, once:

- :data:`FAMILIES`: every family, its heading when it raises and when it lowers the
  estimate, and whether it is a need an intervention can change (``can_change``) or
  history;
- :data:`REASONS`: one record per catalogue feature *template* (the keys are
  :data:`features.catalogue.TEMPLATES` names, so a feature added to the catalogue without
  a record here fails ``tests/features/test_features_reasons.py``), with its family and
  the wording of its fact: for a value, zero, a missing value, yes/no for flags, a fall
  (negative change), and optional raise/lower wording that replaces the value wording when
  the fact raises or lowers the estimate.

Words used throughout, defined once in the pack: **recorded** offences were reported to
the police, whatever the outcome (most are never proven); **proven** offences ended in a
conviction or caution.

Placeholders: ``{v}`` the value, shown by the record's ``fmt``; ``{a}`` its size without
sign; ``{s}`` a plural ``s`` (empty when the value is 1); ``{w}`` the feature's window
("in the last 12 months"); ``{h}`` the history window ("in the last 10 years").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from iom_contract import NEEDS, OFFENCE_GROUPS

Fmt = Literal["count", "days", "share", "level", "change", "years", "decimal", "flag", "whole"]


@dataclass(frozen=True)
class Family:
    """A group of features a practitioner thinks of as one thing.

    Attributes
    ----------
    key
        Stable identifier (``offending_history``).
    raise_heading, lower_heading
        The reason's heading when the family's points raise / lower the estimate.
    can_change
        True for needs an intervention can change; False for history and status.
    uses_assessment
        Its facts come from the latest needs assessment (labelled when that is old).
    """

    key: str
    raise_heading: str
    lower_heading: str
    can_change: bool
    uses_assessment: bool = False


@dataclass(frozen=True)
class ReasonTemplate:
    """How one catalogue feature template reads as a fact (see the module docstring)."""

    family: str
    fmt: Fmt
    value: str = ""
    zero: str = ""
    missing: str = ""
    yes: str = ""
    no: str = ""
    negative: str = ""
    raise_: str = ""
    lower: str = ""
    # Windowed templates: the family of the short windows (months), when it differs
    # from the family of the whole history window ("recent offending" vs "long record").
    recent_family: str = ""


def _needs_family(need: str) -> str:
    return {
        "accommodation": "accommodation",
        "education_training_employment": "ete",
        "finance": "finance",
        "relationships": "relationships",
        "lifestyle": "lifestyle",
        "drugs": "drugs",
        "alcohol": "alcohol",
        "emotional_wellbeing": "mental_health",
        "thinking_behaviour": "thinking",
        "attitudes": "attitudes",
    }[need]


_NEED_WORDS = {
    "accommodation": "accommodation",
    "education_training_employment": "education, training and employment",
    "finance": "finance",
    "relationships": "relationships",
    "lifestyle": "lifestyle and associates",
    "drugs": "drug misuse",
    "alcohol": "alcohol misuse",
    "emotional_wellbeing": "emotional wellbeing",
    "thinking_behaviour": "thinking and behaviour",
    "attitudes": "attitudes",
}

FAMILIES: dict[str, Family] = {
    f.key: f
    for f in (
        Family("offending_history", "Long record", "Short record", False),
        Family("recent_offending", "Recent offending", "Little recent offending", False),
        Family("violence", "Violence and weapons", "Little violence or weapons", False),
        Family("custody_breach", "Custody and breach", "Custody and breach", False),
        Family("compliance", "Missed appointments", "Keeps appointments", False),
        Family("age", "Age", "Age", False),
        Family("treatment_history", "Treatment history", "Treatment history", False),
        Family("agency_records", "Agency records", "Agency records", False),
        Family("accommodation", "Accommodation", "Accommodation", True, True),
        Family("drugs", "Drugs", "Drugs", True, True),
        Family("alcohol", "Alcohol", "Alcohol", True, True),
        Family("mental_health", "Mental health", "Mental health", True, True),
        Family("thinking", "Thinking and behaviour", "Thinking and behaviour", True, True),
        Family("attitudes", "Attitudes", "Attitudes", True, True),
        Family("ete", "Education, training and employment", "Education, training and employment", True, True),
        Family("relationships", "Relationships", "Relationships", True, True),
        Family("finance", "Finance", "Finance", True, True),
        Family("lifestyle", "Lifestyle and associates", "Lifestyle and associates", True, True),
        Family("needs_overall", "Many needs", "Few needs", True, True),
        # Model inputs outside the catalogue (none by default): shown, never hidden.
        Family("other", "Other factors", "Other factors", False),
    )
}

_VIOLENT_GROUPS = (
    "robbery",
    "violence_with_injury",
    "violence_without_injury",
    "sexual",
    "possession_of_weapons",
)
_GROUP_WORDS = {
    "burglary": "burglary",
    "robbery": "robbery",
    "theft": "theft",
    "vehicle_crime": "vehicle crime",
    "violence_with_injury": "violence with injury",
    "violence_without_injury": "violence without injury",
    "sexual": "sexual",
    "criminal_damage": "criminal damage",
    "drugs": "drug",
    "public_order": "public order",
    "possession_of_weapons": "weapon possession",
    "fraud": "fraud",
    "other": "other",
}


def _count(family: str, what: str, recent_family: str = "", *, window: str = "{w}") -> ReasonTemplate:
    """A count: ``3 proven burglary offences in the last 12 months``.

    ``what`` marks where the plural ``s`` goes with ``{s}`` (at the end when it has none).
    """
    what = what if "{s}" in what else what + "{s}"
    return ReasonTemplate(
        family,
        "count",
        value=f"{{v}} {what} {window}",
        zero=f"no {what.replace('{s}', 's')} {window}",
        recent_family=recent_family,
    )


def _group_records() -> dict[str, ReasonTemplate]:
    out: dict[str, ReasonTemplate] = {}
    for g in OFFENCE_GROUPS:
        words = _GROUP_WORDS[g]
        violent = g in _VIOLENT_GROUPS
        fam, recent = ("violence", "violence") if violent else ("offending_history", "recent_offending")
        out[f"n_proven_{g}_{{w}}"] = _count(fam, f"proven {words} offence", recent)
        out[f"n_recorded_{g}_12m"] = _count(
            "violence" if violent else "recent_offending",
            f"recorded {words} offence",
            window="in the last 12 months",
        )
    return out


def _need_records() -> dict[str, ReasonTemplate]:
    out: dict[str, ReasonTemplate] = {}
    for n in NEEDS:
        words, fam = _NEED_WORDS[n], _needs_family(n)
        out[f"need_{n}"] = ReasonTemplate(
            fam,
            "level",
            value=f"{{v}} {words} need at the latest assessment",
            zero=f"no {words} need at the latest assessment",
            missing=f"{words} need not assessed",
        )
        out[f"need_{n}_change"] = ReasonTemplate(
            fam,
            "change",
            value=f"{words} need rose by {{a}} since the previous assessment",
            negative=f"{words} need fell by {{a}} since the previous assessment",
            zero=f"{words} need unchanged since the previous assessment",
            missing=f"{words} need assessed only once",
        )
    return out


_TREATMENT_FAMILY = {
    "drug_treatment": "drugs",
    "alcohol_treatment": "alcohol",
    "mental_health": "mental_health",
}
_TREATMENT_WORDS = {
    "drug_treatment": "drug treatment",
    "alcohol_treatment": "alcohol treatment",
    "mental_health": "mental health treatment",
}

R = ReasonTemplate
REASONS: dict[str, ReasonTemplate] = {
    # Offending: counts over the params windows and the history window.
    "n_recorded_offences_{w}": _count("offending_history", "recorded offence", "recent_offending"),
    "n_proven_offences_{w}": _count("offending_history", "proven offence", "recent_offending"),
    **_group_records(),
    "n_domestic_abuse_recorded_{w}": _count("violence", "recorded domestic abuse offence", "violence"),
    "n_domestic_abuse_proven_all": _count("violence", "proven domestic abuse offence", window="{h}"),
    "gravity_max_proven_all": R(
        "offending_history",
        "whole",
        value="most serious proven offence {h}: gravity {v} of 6",
        missing="no proven offence {h}",
    ),
    "gravity_mean_proven_all": R(
        "offending_history",
        "decimal",
        value="proven offences {h} of average gravity {v} of 6",
        missing="no proven offence {h}",
    ),
    "gravity_max_recorded_12m": R(
        "recent_offending",
        "whole",
        value="most serious recorded offence in the last 12 months: gravity {v} of 6",
        missing="no recorded offence in the last 12 months",
    ),
    "n_outstanding_offences": _count(
        "recent_offending", "recorded offence{s} awaiting an outcome", window=""
    ),
    "days_since_last_offence": R(
        "recent_offending",
        "days",
        value="last recorded offence {v} ago",
        raise_="last recorded offence only {v} ago",
        lower="no recorded offence for {v}",
        missing="no recorded offence {h}",
    ),
    "days_since_last_proven_offence": R(
        "recent_offending",
        "days",
        value="last proven offence {v} ago",
        raise_="last proven offence only {v} ago",
        lower="no proven offence for {v}",
        missing="no proven offence {h}",
    ),
    "age": R("age", "whole", value="aged {v}", missing="age not known"),
    "age_first_proven": R(
        "offending_history",
        "whole",
        value="earliest proven offence {h} at age {v}",
        missing="no proven offence {h}",
    ),
    "career_years": R(
        "offending_history",
        "years",
        value="first recorded offence {h} was {v} ago",
        missing="no recorded offence {h}",
    ),
    "n_sanction_occasions": _count("offending_history", "occasion{s} convicted or cautioned", window="{h}"),
    # Proven-offence features of issue 14 (features.evidence).
    "n_sanctions_{w}": _count(
        "offending_history", "offence{s} convicted or cautioned (by outcome date)", "recent_offending"
    ),
    "days_since_last_sanction": R(
        "recent_offending",
        "days",
        value="last conviction or caution {v} ago",
        raise_="last conviction or caution only {v} ago",
        lower="no conviction or caution for {v}",
        missing="no conviction or caution {h}",
    ),
    "n_proven_offence_groups_all": _count("offending_history", "kind{s} of offence proven", window="{h}"),
    "proven_career_years": R(
        "offending_history",
        "years",
        value="first proven offence {h} was {v} ago",
        missing="no proven offence {h}",
    ),
    "copas_rate": R(
        "offending_history",
        "flag",
        value="convictions and cautions {h} at the rate usual for this career length",
        raise_="many convictions and cautions {h} for the length of the career",
        lower="few convictions and cautions {h} for the length of the career",
        missing="no conviction or caution {h}",
    ),
    # Custody and supervision status, breach.
    "in_custody": R("custody_breach", "flag", yes="in prison now", no="in the community now"),
    "n_custody_episodes_{w}": _count("custody_breach", "prison reception", "custody_breach"),
    "days_in_custody_{w}": R(
        "custody_breach",
        "days",
        value="{v} in prison {w}",
        zero="no time in prison {w}",
        recent_family="custody_breach",
    ),
    "days_since_release": R(
        "custody_breach",
        "days",
        value="released from prison {v} ago",
        missing="no release from prison {h}",
    ),
    "on_community_order": R(
        "custody_breach",
        "flag",
        yes="on a community or suspended sentence order now",
        no="not on a community or suspended sentence order now",
    ),
    "on_licence": R(
        "custody_breach",
        "flag",
        yes="on licence or post-sentence supervision now",
        no="not on licence or post-sentence supervision now",
    ),
    "n_orders_all": _count("custody_breach", "probation order{s} or licence{s}", window="{h}"),
    "n_breached_orders_{w}": _count("custody_breach", "breached order{s} or licence{s}", "custody_breach"),
    "share_contacts_attended_{w}": R(
        "compliance",
        "share",
        value="attended {v} of probation appointments {w}",
        raise_="attended only {v} of probation appointments {w}",
        missing="no probation appointments {w}",
    ),
    "n_unacceptable_absences_{w}": _count(
        "compliance", "unacceptable absence{s} from probation", "compliance"
    ),
    # Needs (latest assessment) and their change since the previous one.
    **_need_records(),
    "need_total": R(
        "needs_overall",
        "whole",
        value="total need score {v} of 20 at the latest assessment",
        zero="no needs at the latest assessment",
        missing="needs not assessed",
    ),
    "need_total_change": R(
        "needs_overall",
        "change",
        value="total need score rose by {a} since the previous assessment",
        negative="total need score fell by {a} since the previous assessment",
        zero="total need score unchanged since the previous assessment",
        missing="needs assessed only once",
    ),
    "days_since_assessment": R(
        "agency_records",
        "days",
        value="latest needs assessment {v} ago",
        missing="no needs assessment on record",
    ),
    # Health: being in treatment now belongs with the need it treats (it can change);
    # completions and drop-outs over the years are treatment history.
    **{
        f"in_{s}": R(_TREATMENT_FAMILY[s], "flag", yes=f"in {w} now", no=f"not in {w} now")
        for s, w in _TREATMENT_WORDS.items()
    },
    "n_treatment_dropouts_12m": _count(
        "treatment_history", "drop-out{s} from treatment", window="in the last 12 months"
    ),
    "n_treatment_dropouts_all": _count("treatment_history", "drop-out{s} from treatment", window="{h}"),
    "n_treatment_completed_all": R(
        "treatment_history",
        "count",
        value="{v} treatment episode{s} completed {h} (a long treatment history)",
        zero="no treatment episodes completed {h}",
    ),
    # Housing.
    "n_homelessness_events_{w}": _count("accommodation", "homelessness record", "accommodation"),
    "n_rough_sleeping_12m": _count("accommodation", "rough sleeping record", window="in the last 12 months"),
    "housing_unstable": R(
        "accommodation",
        "flag",
        yes="latest housing record: homeless or in temporary accommodation",
        no="latest housing record: settled accommodation",
    ),
    # Which agencies hold records: history, not something to change.
    **{
        f"known_to_{a}": R(
            "agency_records",
            "flag",
            yes=f"known to {a} services {{h}}",
            no=f"not known to {a} services {{h}}",
        )
        for a in ("prison", "probation", "health", "housing")
    },
    "n_agencies_known": R(
        "agency_records",
        "count",
        value="records held by {v} of the 5 agencies {h}",
        zero="records held by the police alone {h}",
    ),
}

# A positive step an intervention aims at, per feature: the direction of the value that is
# the step (-1: less of it is the step, +1: more of it is). No "can change" reason may say
# that such a step raises the estimate; tests/features/test_features_reasons.py checks the
# catalogue's monotone directions make it impossible.
POSITIVE_STEPS: dict[str, int] = {
    "share_contacts_attended_{w}": 1,
    "housing_unstable": -1,
    **{f"in_{s}": 1 for s in _TREATMENT_WORDS},
    **{f"need_{n}": -1 for n in NEEDS},
    **{f"need_{n}_change": -1 for n in NEEDS},
    "need_total": -1,
    "need_total_change": -1,
    "n_homelessness_events_{w}": -1,
    "n_rough_sleeping_12m": -1,
}


def family_of(template: str, window: str | None) -> str:
    """The family of a feature column: ``window`` is ``12m``-style, ``all`` or None (fixed)."""
    rec = REASONS[template]
    if window and window != "all" and rec.recent_family:
        return rec.recent_family
    return rec.family


_RAW_NAME = re.compile(r"\b[a-z]+_[a-z0-9_]+\b")
_PROBLEMS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("a 1/0 flag", re.compile(r"\((?:0|1|True|False)\)|:\s*(?:True|False)\b")),
    ("a bare value after a colon", re.compile(r":\s*-?\d+(?:\.\d+)?\s*(?:\(|$|;)")),
    ("a double negative", re.compile(r"\bnot\b[^;,:]*\bnot\b|\bnot (?:no|un)|\bno\b[^;,:]*\bnot\b")),
    ("an unexplained decimal", re.compile(r"-?\d+\.\d{2,}")),
    ("jargon or a placeholder", re.compile(r"OGRS|Copas|SHAP|\bnan\b|\bNone\b|<NA>|[{}]|\bunknown\b")),
    ("a number before a label", re.compile(r"\b\d+ (?:number|rate|share|change|days) (?:of|since)\b")),
    ("an unfilled fact", re.compile(r"^\s*\(|:\s*\(|\(\s*\)")),
)


def reason_problems(text: str) -> list[str]:
    """What makes a reason unreadable to a panel (empty when it reads as plain English).

    Checks for a raw feature name (``housing_unstable``), ``(1)``/``(0)`` flags, a bare
    value after a colon (``...assessment: 0``), a double negative (``not ... is not``), an
    unexplained decimal (``-0.33``), jargon or an unfilled placeholder.

    Examples
    --------
    >>> reason_problems("not latest housing event is not settled accommodation (-1 pts)")
    ['a double negative']
    >>> reason_problems("Accommodation: latest housing record: settled accommodation (-1 pts)")
    []
    """
    found = [what for what, rx in _PROBLEMS if rx.search(text)]
    if _RAW_NAME.search(text):
        found.insert(0, "a raw feature name")
    return found
