"""The feature catalogue: every feature declared once, with its panel label and model hints.

A feature is declared here as a *template*; windowed templates expand to one column per
window (``n_proven_offences_3m``, ``..._12m``, ``..._all``). ``_all`` is the whole history
window (``history_months``, default ten years), never "ever": an extract holds a limited
number of years, so "ever" would mean "since the extract's records start" and grow with
the calendar date. Labels marked ``{h}`` name that window. The risk model reads its
monotone constraints and the panel reads its explanation labels from this module, so a
column that the features stage writes and that is not described here is a bug.

Sex and ethnicity are deliberately absent: they stay in ``persons.parquet`` for the
fairness audit only.

Evidence: each feature declares whether it counts offences that were never proven
(``recorded``: reported to the police, whatever the outcome) or not (``proven``: it
counts only offences convicted or cautioned with the outcome dated on or before the
as-of date, or no offences at all). ``features.evidence`` (default ``proven``) says
which the risk model may read (:func:`evidence_columns`): recorded offences carry
uneven policing into a score, and the actuarial tools (OGRS3/OGRS4) count only proven
sanctions. The features stage still writes the recorded columns, for the typology and
the RFG comparator, which describe rather than score.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from iom_contract import HEALTH_SERVICES, NEEDS, OFFENCE_GROUPS

Kind = Literal["static", "dynamic"]
Direction = Literal[-1, 0, 1]
Dtype = Literal["int32", "Int32", "float64", "bool"]
Evidence = Literal["proven", "recorded"]
EVIDENCE: tuple[Evidence, ...] = ("proven", "recorded")
DEFAULT_EVIDENCE: Evidence = "proven"

ALL_TIME = "all"
# Offence-group counts use fixed windows so that the column count does not multiply
# with the configurable windows (13 groups x 2 outcomes x 4 windows would be 104 columns).
GROUP_WINDOW_MONTHS = 12
# Health services that are treatment (liaison and diversion is a referral at arrest).
TREATMENT_SERVICES: tuple[str, ...] = tuple(s for s in HEALTH_SERVICES if s != "liaison_diversion")
DEFAULT_WINDOWS: tuple[int, ...] = (3, 12, 36)
# The longest look-back of any feature (features.params.FeatureParams.history_months).
DEFAULT_HISTORY_MONTHS = 120


@dataclass(frozen=True)
class FeatureSpec:
    """One output column.

    Attributes
    ----------
    name
        Column name in the features output.
    label
        Plain-English label for the panel ("proven offences in the last 12 months").
    kind
        ``static`` (history, cannot be changed by intervention) or ``dynamic`` (a
        changeable need or circumstance).
    direction
        Monotone direction for the risk model: +1 more never lowers risk, -1 more
        never raises it, 0 no constraint.
    dtype
        pandas dtype of the column (``Int32`` is a nullable whole number; ``float64``
        may hold NaN for "not defined").
    family
        The group of features it belongs to (offending, custody, supervision, needs,
        health, housing, agencies).
    evidence
        ``recorded`` if it counts offences that were not proven by the as-of date,
        else ``proven`` (see the module docstring).
    """

    name: str
    label: str
    kind: Kind
    direction: Direction
    dtype: Dtype
    family: str
    evidence: Evidence = "proven"


@dataclass(frozen=True)
class _Template:
    """A feature declaration; ``{w}`` in name/label marks a windowed feature, ``{h}`` in a
    label the history window ("in the last 5 years").

    ``windows``: ``none`` (one column), ``params`` (one per params window),
    ``params+all`` (those plus all time), ``group`` (12 months and all time).
    """

    name: str
    label: str
    direction: Direction
    dtype: Dtype
    windows: Literal["none", "params", "params+all", "group"] = "none"
    family: str = ""
    kind: Kind = "static"
    evidence: Evidence = "proven"


def _recorded(tpl: _Template) -> _Template:
    return replace(tpl, evidence="recorded")


def _pretty(code: str) -> str:
    return code.replace("_", " ")


def _section(family: str, kind: Kind, *templates: _Template) -> list[_Template]:
    return [replace(t, family=family, kind=kind) for t in templates]


_M = GROUP_WINDOW_MONTHS
_LAST_M = f"in the last {_M} months"


def _templates() -> tuple[_Template, ...]:
    T = _Template
    offending = _section(
        "offending",
        "static",
        _recorded(T("n_recorded_offences_{w}", "recorded offences {w}", 1, "int32", "params+all")),
        T("n_proven_offences_{w}", "proven offences {w}", 1, "int32", "params+all"),
        *(
            T(f"n_proven_{g}_{{w}}", f"proven {_pretty(g)} offences {{w}}", 1, "int32", "group")
            for g in OFFENCE_GROUPS
        ),
        *(
            _recorded(T(f"n_recorded_{g}_{_M}m", f"recorded {_pretty(g)} offences {_LAST_M}", 1, "int32"))
            for g in OFFENCE_GROUPS
        ),
        _recorded(
            T(
                "n_domestic_abuse_recorded_{w}",
                "domestic abuse offences recorded {w}",
                1,
                "int32",
                "params+all",
            )
        ),
        T("n_domestic_abuse_proven_all", "proven domestic abuse offences {h}", 1, "int32"),
        T("gravity_max_proven_all", "most serious proven offence {h} (gravity 1-6)", 1, "Int32"),
        T("gravity_mean_proven_all", "average gravity of proven offences {h}", 0, "float64"),
        _recorded(
            T(
                f"gravity_max_recorded_{_M}m",
                f"most serious offence recorded {_LAST_M} (gravity 1-6)",
                1,
                "Int32",
            )
        ),
        _recorded(T("n_outstanding_offences", "recorded offences with no outcome yet", 1, "int32")),
        _recorded(T("days_since_last_offence", "days since the last recorded offence", -1, "Int32")),
        T("days_since_last_proven_offence", "days since the last proven offence", -1, "Int32"),
        T("days_since_last_sanction", "days since the last conviction or caution", -1, "Int32"),
        T("n_sanctions_{w}", "offences convicted or cautioned {w} (by outcome date)", 1, "int32", "params"),
        T("n_proven_offence_groups_all", "kinds of offence proven {h} (of 13 groups)", 1, "int32"),
        T("age", "age in years", -1, "Int32"),
        T("age_first_proven", "age at first proven offence {h}", -1, "Int32"),
        _recorded(
            T("career_years", "years since first recorded offence {h} (at most the window)", 0, "float64")
        ),
        T("proven_career_years", "years since first proven offence {h} (at most the window)", 0, "float64"),
        T("n_sanction_occasions", "occasions convicted or cautioned {h}", 1, "int32"),
        T("copas_rate", "rate of sanctions {h} (OGRS3 Copas rate, career capped)", 1, "float64"),
    )
    custody = [
        *_section("custody", "dynamic", T("in_custody", "in prison now", 0, "bool")),
        *_section(
            "custody",
            "static",
            T("n_custody_episodes_{w}", "prison receptions {w}", 1, "int32", "params+all"),
            T("days_in_custody_{w}", "days in prison {w}", 0, "int32", "params+all"),
        ),
        *_section(
            "custody",
            "dynamic",
            T("days_since_release", "days since last release from prison {h}", -1, "Int32"),
        ),
    ]
    supervision = [
        *_section(
            "supervision",
            "dynamic",
            T("on_community_order", "on a community or suspended sentence order now", 0, "bool"),
            T("on_licence", "on licence or post-sentence supervision now", 0, "bool"),
        ),
        *_section(
            "supervision",
            "static",
            T("n_orders_all", "probation orders and licences started {h}", 1, "int32"),
            T("n_breached_orders_{w}", "orders or licences breached (ended) {w}", 1, "int32", "params+all"),
        ),
        *_section(
            "supervision",
            "dynamic",
            T(
                "share_contacts_attended_{w}",
                "share of probation appointments attended {w}",
                -1,
                "float64",
                "params",
            ),
            T(
                "n_unacceptable_absences_{w}",
                "unacceptable absences from probation {w}",
                1,
                "int32",
                "params",
            ),
        ),
    ]
    needs = _section(
        "needs",
        "dynamic",
        *(T(f"need_{n}", f"{_pretty(n)} need at latest assessment (0-2)", 1, "Int32") for n in NEEDS),
        T("need_total", "total need score at latest assessment", 1, "Int32"),
        *(
            T(f"need_{n}_change", f"change in {_pretty(n)} need since previous assessment", 1, "Int32")
            for n in NEEDS
        ),
        T("need_total_change", "change in total need score since previous assessment", 1, "Int32"),
        T("days_since_assessment", "days since latest needs assessment", 0, "Int32"),
    )
    health = _section(
        "health",
        "dynamic",
        # Being in treatment never raises the estimate, and a need falling never does: the
        # panel reads these as "can change", where a positive step must not count against
        # anyone (features/reasons.py POSITIVE_STEPS).
        *(T(f"in_{s}", f"in {_treatment(s)} now", -1, "bool") for s in TREATMENT_SERVICES),
        T(f"n_treatment_dropouts_{_M}m", f"dropped out of treatment {_LAST_M}", 1, "int32"),
        T("n_treatment_dropouts_all", "times dropped out of treatment {h}", 1, "int32"),
        T("n_treatment_completed_all", "treatment episodes completed {h}", 0, "int32"),
    )
    housing = _section(
        "housing",
        "dynamic",
        T("n_homelessness_events_{w}", "homelessness events {w}", 1, "int32", "params"),
        T(f"n_rough_sleeping_{_M}m", f"rough sleeping events {_LAST_M}", 1, "int32"),
        T("housing_unstable", "latest housing event is not settled accommodation", 1, "bool"),
    )
    agencies = _section(
        "agencies",
        "static",
        *(
            T(f"known_to_{a}", f"known to {a} services {{h}}", 0, "bool")
            for a in ("prison", "probation", "health", "housing")
        ),
        T("n_agencies_known", "number of agencies (of 5) holding records {h}", 0, "int32"),
    )
    return (*offending, *custody, *supervision, *needs, *health, *housing, *agencies)


def _treatment(service: str) -> str:
    return _pretty(service) if service.endswith("_treatment") else f"{_pretty(service)} treatment"


TEMPLATES: tuple[_Template, ...] = _templates()


def window_suffix(months: int | None) -> str:
    """Column suffix for a window: ``12m`` for 12 months, ``all`` for all time."""
    return ALL_TIME if months is None else f"{months}m"


def history_phrase(months: int) -> str:
    """Plain-English history window: ``in the last 5 years`` (60), ``in the last 30 months``."""
    return f"in the last {months // 12} years" if months % 12 == 0 else f"in the last {months} months"


def _window_phrase(months: int | None, history_months: int) -> str:
    return history_phrase(history_months) if months is None else f"in the last {months} months"


def _expand(tpl: _Template, windows: Sequence[int], history_months: int) -> list[FeatureSpec]:
    h = history_phrase(history_months)
    if tpl.windows == "none":
        ws: list[int | None] = [None]
        fixed = True
    else:
        fixed = False
        if tpl.windows == "group":
            ws = [GROUP_WINDOW_MONTHS, None]
        elif tpl.windows == "params":
            ws = list(windows)
        else:
            ws = [*windows, None]
    if fixed:
        label = tpl.label.format(h=h)
        return [FeatureSpec(tpl.name, label, tpl.kind, tpl.direction, tpl.dtype, tpl.family, tpl.evidence)]
    return [
        FeatureSpec(
            tpl.name.format(w=window_suffix(w)),
            tpl.label.format(w=_window_phrase(w, history_months), h=h),
            tpl.kind,
            tpl.direction,
            tpl.dtype,
            tpl.family,
            tpl.evidence,
        )
        for w in ws
    ]


def feature_specs(
    windows: Sequence[int] = DEFAULT_WINDOWS, history_months: int = DEFAULT_HISTORY_MONTHS
) -> tuple[FeatureSpec, ...]:
    """All feature columns, in output order, for the given windows and history window (months).

    Examples
    --------
    >>> [s.name for s in feature_specs((12,)) if s.name.startswith("n_proven_offences")]
    ['n_proven_offences_12m', 'n_proven_offences_all']
    """
    out: list[FeatureSpec] = []
    for tpl in TEMPLATES:
        out.extend(_expand(tpl, windows, history_months))
    return tuple(out)


def feature_names(windows: Sequence[int] = DEFAULT_WINDOWS) -> tuple[str, ...]:
    """Feature column names, in output order."""
    return tuple(s.name for s in feature_specs(windows))


_WINDOW_RE = re.compile(r"_(\d+)m$")


def specs_for_columns(
    columns: Iterable[str], history_months: int = DEFAULT_HISTORY_MONTHS
) -> dict[str, FeatureSpec]:
    """Catalogue entries for the feature columns among ``columns``, whatever the windows.

    Columns that are not features (``pseudo_id``, ``label`` ...) are skipped, so a
    model can pass a features frame's columns straight in. The history window cannot be
    read from column names: pass the features stage's ``history_months`` for true labels.
    """
    columns = list(columns)
    windows = sorted({int(m.group(1)) for c in columns if (m := _WINDOW_RE.search(c))})
    specs = {s.name: s for s in feature_specs(windows, history_months)}
    return {c: specs[c] for c in columns if c in specs}


def monotone_constraints(columns: Iterable[str]) -> dict[str, int]:
    """Monotone direction per feature column, for xgboost's ``monotone_constraints``."""
    return {name: int(spec.direction) for name, spec in specs_for_columns(columns).items()}


def evidence_columns(columns: Iterable[str], evidence: Evidence = DEFAULT_EVIDENCE) -> list[str]:
    """The catalogue feature columns among ``columns`` that the evidence setting admits.

    ``proven`` keeps the features that count no unproven offence; ``recorded`` keeps
    every feature. Columns outside the catalogue are dropped (they are not features).

    Examples
    --------
    >>> evidence_columns(["n_recorded_offences_all", "n_proven_offences_all", "age"])
    ['n_proven_offences_all', 'age']
    """
    if evidence not in EVIDENCE:
        raise ValueError(f"unknown evidence {evidence!r}: use one of {list(EVIDENCE)}")
    columns = list(columns)
    specs = specs_for_columns(columns)
    return [c for c in columns if c in specs and (evidence == "recorded" or specs[c].evidence == "proven")]
