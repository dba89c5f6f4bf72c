"""The panel's outputs: the scored cohort list, the panel pack, and the panel's decisions back."""

from iom_panel.changes import data_freshness, left_list, read_previous_list, what_changed
from iom_panel.cohort import (
    COHORT_COLUMNS,
    borderline,
    build_cohort_list,
    format_cohort_csv,
    stands_out,
    summarise_cohort,
    tier_boundaries,
)
from iom_panel.decisions import movement, override_history, override_rates, previous_panel, read_decisions
from iom_panel.fairness_words import fairness_sentences
from iom_panel.pack import render_pack
from iom_panel.typology_check import contradicted_typology

__all__ = [
    "COHORT_COLUMNS",
    "borderline",
    "build_cohort_list",
    "contradicted_typology",
    "data_freshness",
    "fairness_sentences",
    "format_cohort_csv",
    "left_list",
    "movement",
    "override_history",
    "override_rates",
    "previous_panel",
    "read_decisions",
    "read_previous_list",
    "render_pack",
    "stands_out",
    "summarise_cohort",
    "tier_boundaries",
    "what_changed",
]
