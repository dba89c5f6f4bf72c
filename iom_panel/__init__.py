"""The panel's outputs: the scored cohort list, the panel pack, and the panel's decisions back."""

from iom_panel.cohort import COHORT_COLUMNS, build_cohort_list, format_cohort_csv, summarise_cohort
from iom_panel.decisions import movement, override_history, override_rates, previous_panel, read_decisions
from iom_panel.pack import render_pack

__all__ = [
    "COHORT_COLUMNS",
    "build_cohort_list",
    "format_cohort_csv",
    "movement",
    "override_history",
    "override_rates",
    "previous_panel",
    "read_decisions",
    "render_pack",
    "summarise_cohort",
]
