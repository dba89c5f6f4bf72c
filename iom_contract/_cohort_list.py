"""The scored cohort list's columns: the output contract the publish stage writes."""

from __future__ import annotations

from dataclasses import dataclass

COHORT_LIST_VERSION = "1.1"


@dataclass(frozen=True)
class OutputColumn:
    """One column of ``cohort_list.csv``: its type as the contract writes it, its meaning, and
    the contract version that added it."""

    name: str
    type: str
    meaning: str
    since: str = "1"


COHORT_LIST_COLUMNS: tuple[OutputColumn, ...] = (
    OutputColumn(
        "pseudo_id", "str", "stable across runs for the same person and the same pseudonymisation key"
    ),
    OutputColumn("panel_date", "date", "the as-of date scored"),
    OutputColumn("rank", "int", "1 = highest estimated risk; ties broken by pseudo_id"),
    OutputColumn("risk_12m", "float 0..1", "calibrated probability of proven reoffending within 12 months"),
    OutputColumn("risk_12m_low", "float 0..1", "a stated interval around risk_12m (say which in the pack)"),
    OutputColumn("risk_12m_high", "float 0..1", "a stated interval around risk_12m (say which in the pack)"),
    OutputColumn(
        "suggested_tier",
        "cat{red, amber, green}",
        "from the tiering rule in params.yaml (capacity or cut-points)",
    ),
    OutputColumn("typology", "str", "one of the named typologies, or `unassigned`"),
    OutputColumn(
        "reasons_up",
        "str",
        "up to 3 factors that raise this person's estimate most, in plain words with their size, "
        "e.g. `4 proven offences in last 12 months (+9 pts)`",
    ),
    OutputColumn("reasons_down", "str", "up to 2 factors that lower it most, same form"),
    OutputColumn("release_due", "date?", "expected release, for people listed while still in custody"),
    OutputColumn("new_to_list", "bool", "not on the previous panel's list"),
    OutputColumn(
        "previous_tier",
        "cat{red, amber, green, not_adopted}?",
        "what the previous panel decided, when known",
    ),
    OutputColumn(
        "tier_movement",
        "cat{up, down, same, new}",
        "suggested tier against the previous panel's decided tier",
    ),
    OutputColumn(
        "sources_linked",
        "str",
        "which agencies' records were linked for this person, e.g. `police;probation;health`",
    ),
    OutputColumn("model_version", "str", "the registered model version that produced the score"),
    OutputColumn(
        "borderline",
        "bool",
        "the person's interval crosses a tier boundary: the panel should look at them whichever side "
        "they fall",
        since="1.1",
    ),
    OutputColumn(
        "previous_rank",
        "int?",
        "rank on the previous published list, when the person was on it",
        since="1.1",
    ),
    OutputColumn(
        "previous_risk_12m",
        "float 0..1?",
        "risk_12m on the previous published list, when the person was on it",
        since="1.1",
    ),
    OutputColumn(
        "typology_probability",
        "float 0..1",
        "membership probability of the typology shown (`unassigned` shows the highest)",
        since="1.1",
    ),
)
