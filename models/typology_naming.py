"""Cluster profiles in plain units, and the documented rules that name them.

A cluster is named from its *profile* (average age, share ever in prison, needs ...),
never from its number: the same rules applied to a refit with the clusters in another
order give the same names. The rules live in ``params.yaml`` (``typology.rules``) as
bounds on the profile measures below, tried in the order written; the first rule whose
bounds all hold names the cluster. A cluster that fits none of the four North
Staffordshire typologies is called ``general`` when its offending is at or below the
population average (``general_max_offending_ratio``), and ``other`` otherwise: an
honest "a real group, but not one of the four".
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, model_validator

from iom_contract import OFFENCE_GROUPS

SEED_TYPOLOGIES: tuple[str, ...] = ("young_last_chance", "older_prison", "vulnerable", "control_only")
GENERAL = "general"
OTHER = "other"
UNASSIGNED = "unassigned"
# Shown instead of any typology when the data give no evidence of real, stable types.
NO_STRUCTURE_MESSAGE = "no stable typology structure in this extract"
# Every name a person can be given, in the order reports list them.
TYPOLOGY_LABELS: tuple[str, ...] = (*SEED_TYPOLOGIES, GENERAL, OTHER, UNASSIGNED)
PANEL_LABELS: dict[str, str] = {
    "young_last_chance": "younger, last chance before custody",
    "older_prison": "older, long prison record",
    "vulnerable": "vulnerable non-coper",
    "control_only": "control only, not ready for change",
    GENERAL: "general (lower-rate majority)",
    OTHER: "other (fits none of the four)",
    UNASSIGNED: "unassigned (membership too uncertain)",
}

VIOLENT_GROUPS: tuple[str, ...] = (
    "violence_with_injury",
    "violence_without_injury",
    "robbery",
    "possession_of_weapons",
)
# Acquisitive offending (the "last chance" careers are theft, burglary and vehicle crime).
ACQUISITIVE_GROUPS: tuple[str, ...] = ("theft", "burglary", "vehicle_crime")
if not set(VIOLENT_GROUPS) | set(ACQUISITIVE_GROUPS) <= set(OFFENCE_GROUPS):  # pragma: no cover
    raise ImportError("an offence-group list names a group the contract does not have")

# Profile measures: name -> plain-English meaning (per cluster, averaged over its members
# weighted by membership probability). The naming rules may bound any of these.
PROFILE_MEASURES: dict[str, str] = {
    "share": "share of people in the cluster",
    "age_mean": "average age (years)",
    "age_first_proven_mean": "average age at first proven offence (years)",
    "custody_ever": "share ever received into prison",
    "custody_days_mean": "average days ever spent in prison",
    "offences_12m_mean": "average recorded offences in the last 12 months",
    "offending_ratio": "recorded offences in the last 12 months, relative to everyone (1 = average)",
    "violence_share": "share of proven offences that are violence, robbery or weapons",
    "mental_health_need": "share with an emotional-wellbeing need at latest assessment",
    "drugs_need": "share with a drugs need at latest assessment",
    "accommodation_need": "share with an accommodation need at latest assessment",
    "attitudes_need": "share with a pro-criminal attitudes need at latest assessment",
    "thinking_need": "share with a thinking-and-behaviour need at latest assessment",
    "homeless_recent": "share with a homelessness event in the recent window",
    "housing_unstable": "share whose latest housing event is not settled accommodation",
    "attendance_share": "average share of probation contacts attended (people with contacts)",
    "absences_mean": "average unacceptable absences from probation in the recent window",
    "breaches_mean": "average orders or licences breached, ever",
    "vulnerability_any": (
        "share with a mental-health need, a recent homelessness event or unstable housing"
        " (missing when the need was never assessed and no housing problem is recorded)"
    ),
}


class Bound(BaseModel):
    """Inclusive bounds on one profile measure (either may be omitted)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Bound:
        if self.min is None and self.max is None:
            raise ValueError("a bound needs min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self


Rules = Mapping[str, Mapping[str, Bound]]

# The default rules, written as a practitioner would state each typology. Every number
# is a params default the unit can change in params.yaml.
DEFAULT_RULES: dict[str, dict[str, Bound]] = {
    # "Older people with long prison records who cannot face another term."
    "older_prison": {"age_mean": Bound(min=35), "custody_ever": Bound(min=0.5)},
    # "Younger people for whom IOM is the last chance before custody": young, offending
    # well above average, and mostly not yet imprisoned.
    "young_last_chance": {
        "age_mean": Bound(max=25),
        "offending_ratio": Bound(min=1.3),
        "custody_ever": Bound(max=0.5),
    },
    # "Vulnerable non-copers": mental-health need and housing instability together.
    "vulnerable": {"mental_health_need": Bound(min=0.4), "homeless_recent": Bound(min=0.4)},
    # "Control only, not ready for change": pro-criminal attitudes and a violent mix.
    "control_only": {"attitudes_need": Bound(min=0.4), "violence_share": Bound(min=0.3)},
}


# Person-level rules: what a person's OWN record must not contradict to carry a typology's
# name without qualification. The cluster rules above describe a group's average; a
# member may sit far from its centre. A person rule states only what a record can
# positively rule out about the typology's meaning in the North Staffordshire evaluation,
# on the same measures for one person (``age_mean`` is that person's age,
# ``custody_days_mean`` their days in prison in the history window). A value that was
# never recorded (NaN) contradicts nothing.
DEFAULT_PERSON_RULES: dict[str, dict[str, Bound]] = {
    # "Younger people for whom IOM is the last chance BEFORE custody": 30 or older is not
    # younger, and two years or more served in the last 10 years is a custodial career
    # already. (Short spells do not contradict it: a young prolific offender often has had
    # one, and in the simulated world 16% of the true type have served 180+ days.)
    "young_last_chance": {"custody_days_mean": Bound(max=730), "age_mean": Bound(max=29)},
    # "Older people with long prison records": under 30 is not older. No prison reception
    # in the 10-year window does NOT contradict a long prison record: the features look
    # back 10 years only, and a 45-year-old's prison terms may lie before that.
    "older_prison": {"age_mean": Bound(min=30)},
    # "Vulnerable non-copers": no mental-health need (assessed), no recent homelessness
    # and settled housing contradicts it.
    "vulnerable": {"vulnerability_any": Bound(min=1)},
    # "Control only, not ready for change": an assessment finding no pro-criminal
    # attitudes need contradicts it.
    "control_only": {"attitudes_need": Bound(min=1)},
}


def check_rules(rules: Rules) -> None:
    """Raise ``ValueError`` if a rule names an unknown typology or measure."""
    for name, bounds in rules.items():
        if name not in SEED_TYPOLOGIES:
            raise ValueError(f"rule for unknown typology {name!r}; expected one of {SEED_TYPOLOGIES}")
        unknown = set(bounds) - set(PROFILE_MEASURES)
        if unknown:
            raise ValueError(f"rule {name!r} bounds unknown measures {sorted(unknown)}")
        if not bounds:
            raise ValueError(f"rule {name!r} has no bounds")


def _longest(columns: pd.Index, prefix: str) -> str:
    """The longest months window ``{prefix}{n}m`` among ``columns``."""
    found = [(int(c[len(prefix) : -1]), c) for c in columns if c.startswith(prefix) and c.endswith("m")]
    found = [f for f in found if str(f[0]) == f[1][len(prefix) : -1]]
    if not found:
        raise KeyError(f"features have no {prefix}<n>m column")
    return max(found)[1]


def person_measures(features: pd.DataFrame, keep_missing_needs: bool = False) -> pd.DataFrame:
    """Per-person values of the profile measures (before averaging within a cluster).

    Needs not assessed count as "no need recorded" (0) unless ``keep_missing_needs``
    (then they are NaN, as a person-level check needs); a person with no proven
    offence has a violence share of 0.
    """
    f = features
    cols = f.columns
    proven = f["n_proven_offences_all"].to_numpy(dtype=np.float64)
    violent = sum(f[f"n_proven_{g}_all"].to_numpy(dtype=np.float64) for g in VIOLENT_GROUPS)

    def need(n: str) -> np.ndarray:
        return (f[f"need_{n}"].astype("Float64").fillna(0).to_numpy(dtype=np.float64) >= 1).astype(float)

    def need_or_nan(n: str) -> np.ndarray:
        v = f[f"need_{n}"].astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)
        return np.where(np.isnan(v), np.nan, (v >= 1).astype(float))

    def num(c: str) -> np.ndarray:
        return f[c].astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)

    off12 = num("n_recorded_offences_12m")
    out = pd.DataFrame(
        {
            "age_mean": num("age"),
            "age_first_proven_mean": num("age_first_proven"),
            "custody_ever": (num("n_custody_episodes_all") > 0).astype(float),
            "custody_days_mean": num("days_in_custody_all"),
            "offences_12m_mean": off12,
            "offending_ratio": off12,  # divided by the population mean in profile_clusters
            "violence_share": np.divide(violent, proven, out=np.zeros_like(proven), where=proven > 0),
            "mental_health_need": need("emotional_wellbeing"),
            "drugs_need": need("drugs"),
            "accommodation_need": need("accommodation"),
            "attitudes_need": need("attitudes"),
            "thinking_need": need("thinking_behaviour"),
            "homeless_recent": (num(_longest(cols, "n_homelessness_events_")) > 0).astype(float),
            "housing_unstable": f["housing_unstable"].astype("boolean").fillna(False).to_numpy(dtype=float),
            "attendance_share": num(_longest(cols, "share_contacts_attended_")),
            "absences_mean": num(_longest(cols, "n_unacceptable_absences_")),
            "breaches_mean": num("n_breached_orders_all"),
        },
        index=features.index,
    )
    housing = np.maximum(out["homeless_recent"].to_numpy(), out["housing_unstable"].to_numpy())
    mh = need_or_nan("emotional_wellbeing")
    out["vulnerability_any"] = np.where(housing > 0, 1.0, mh)
    if not keep_missing_needs:
        return out
    # For person-level checks an unassessed need is unknown, not "no need".
    for measure, n in (
        ("mental_health_need", "emotional_wellbeing"),
        ("drugs_need", "drugs"),
        ("accommodation_need", "accommodation"),
        ("attitudes_need", "attitudes"),
        ("thinking_need", "thinking_behaviour"),
    ):
        out[measure] = need_or_nan(n)
    return out


def contradicted_rules(
    features: pd.DataFrame, typology: np.ndarray, person_rules: Rules = DEFAULT_PERSON_RULES
) -> np.ndarray:
    """Per row, the person-rule bounds of its typology that its own record breaks ("" if none).

    Parameters
    ----------
    features
        Feature rows.
    typology
        The typology name of each row (any name; only those with person rules are checked).
    person_rules
        Typology -> bounds on :data:`PROFILE_MEASURES` for one person. Missing values
        break no bound.

    Returns
    -------
    numpy.ndarray of str
        For example ``"custody_days_mean > 179"``; several joined by ``"; "``.

    Examples
    --------
    >>> f = pd.DataFrame({"custody_days_mean": [0.0, 400.0]})
    >>> rules = {"young_last_chance": {"custody_days_mean": Bound(max=179)}}
    >>> list(contradicted_rules(f, np.array(["young_last_chance"] * 2), rules))
    ['', 'custody_days_mean > 179']
    """
    per = features if set(features.columns) <= set(PROFILE_MEASURES) else person_measures(features, True)
    names = np.asarray(typology, dtype=object)
    reasons = np.full(len(names), "", dtype=object)
    for typ, bounds in person_rules.items():
        rows = names == typ
        if not rows.any():
            continue
        for measure, bound in bounds.items():
            v = per[measure].to_numpy(dtype=np.float64)
            with np.errstate(invalid="ignore"):
                if bound.min is not None:
                    low = rows & (v < bound.min)
                    reasons[low] = reasons[low] + f"; {measure} < {bound.min:g}"
                if bound.max is not None:
                    high = rows & (v > bound.max)
                    reasons[high] = reasons[high] + f"; {measure} > {bound.max:g}"
    return pd.Series(reasons, dtype="str").str.removeprefix("; ").to_numpy(dtype=object)


def profile_clusters(
    features: pd.DataFrame, responsibilities: np.ndarray, population_mean_offences: float | None = None
) -> pd.DataFrame:
    """Profile of each cluster: the ``PROFILE_MEASURES`` averaged over its members.

    Parameters
    ----------
    features
        Feature rows (the features stage's columns).
    responsibilities
        Membership probability of each row in each cluster, shape (n_rows, n_clusters).
    population_mean_offences
        Mean recorded offences in 12 months that ``offending_ratio`` is relative to;
        default the mean over ``features``.

    Returns
    -------
    pandas.DataFrame
        One row per cluster (index ``cluster``), one column per measure.
    """
    per = person_measures(features)
    values = per.to_numpy(dtype=np.float64)
    present = ~np.isnan(values)
    filled = np.where(present, values, 0.0)
    # Membership-weighted means, skipping unknown values measure by measure.
    num = responsibilities.T @ filled
    den = responsibilities.T @ present.astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = num / den
    prof = pd.DataFrame(means, columns=per.columns)
    pop = population_mean_offences
    if pop is None:
        pop = float(np.nanmean(per["offences_12m_mean"])) if len(per) else np.nan
    prof["offending_ratio"] = prof["offending_ratio"] / pop if pop and pop > 0 else np.nan
    prof.insert(0, "share", responsibilities.sum(axis=0) / max(len(features), 1))
    prof.index = pd.RangeIndex(len(prof), name="cluster")
    return prof[list(PROFILE_MEASURES)]


def name_clusters(
    profiles: pd.DataFrame, rules: Rules = DEFAULT_RULES, general_max_offending_ratio: float = 1.0
) -> list[str]:
    """Name each cluster from its profile by the rules, in the rules' order.

    A measure that is unknown (NaN) fails any bound on it, so a cluster is never named
    on missing evidence.

    Examples
    --------
    >>> prof = pd.DataFrame({"age_mean": [21.0, 45.0], "custody_ever": [0.0, 0.9],
    ...                      "offending_ratio": [2.0, 1.5]})
    >>> name_clusters(prof, {"older_prison": {"age_mean": Bound(min=35),
    ...                                       "custody_ever": Bound(min=0.5)}})
    ['other', 'older_prison']
    """
    check_rules(rules)
    names: list[str] = []
    for _, prof in profiles.iterrows():
        chosen = None
        for typology, bounds in rules.items():
            if all(_holds(prof.get(m, np.nan), b) for m, b in bounds.items()):
                chosen = typology
                break
        if chosen is None:
            ratio = prof.get("offending_ratio", np.nan)
            chosen = GENERAL if _holds(ratio, Bound(max=general_max_offending_ratio)) else OTHER
        names.append(chosen)
    return names


def _holds(value: float, bound: Bound) -> bool:
    value = float(value)
    if np.isnan(value):
        return False
    if bound.min is not None and value < bound.min:
        return False
    return not (bound.max is not None and value > bound.max)
