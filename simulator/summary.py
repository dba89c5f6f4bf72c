"""Describe a simulated world: the figures the README quotes and the tests check."""

from __future__ import annotations

import numpy as np
import pandas as pd

from iom_contract import LABEL_PROOF_DAYS, LABEL_WINDOW_DAYS, PROVEN_OUTCOMES
from simulator.world import World


def cohort_label_rates(world: World, min_age: int = 18, proven_months: int = 24) -> pd.DataFrame:
    """Observed label rate and mean oracle probability per labelled quarter end.

    Uses the contract's cohort (adult, proven offence in the last 24 months with its
    outcome known by t, not in custody at t) and label, straight from the truth-side
    records, so it is independent of the pipeline it is used to check.
    """
    off = world.offences
    proven = off[off["outcome"].isin(PROVEN_OUTCOMES)]
    label_ok = proven["outcome_date"] <= proven["offence_date"] + pd.Timedelta(days=LABEL_PROOF_DAYS)
    quick = proven[label_ok]
    dob = world.persons.set_index("person_id")["date_of_birth"]
    last_labelled = world.extract_date - pd.Timedelta(days=LABEL_WINDOW_DAYS + LABEL_PROOF_DAYS)
    rows = []
    for t in sorted(pd.to_datetime(world.oracle["as_of_date"].unique())):
        if t > last_labelled:
            continue
        recent = proven[
            (proven["outcome_date"] <= t)
            & (proven["offence_date"] <= t)
            & (proven["offence_date"] > t - pd.DateOffset(months=proven_months))
        ]["person_id"].unique()
        c = world.custody
        inside = c[(c["reception_date"] <= t) & (c["release_date"].isna() | (c["release_date"] > t))][
            "person_id"
        ]
        cohort = np.setdiff1d(recent, inside.unique())
        age = (t - dob.reindex(cohort)).dt.days / 365.25
        cohort = cohort[(age >= min_age).to_numpy()]
        later = quick[
            (quick["offence_date"] > t) & (quick["offence_date"] <= t + pd.Timedelta(days=LABEL_WINDOW_DAYS))
        ]
        label = np.isin(cohort, later["person_id"].unique())
        o = world.oracle[world.oracle["as_of_date"] == t].set_index("person_id")["p_true"].reindex(cohort)
        rows.append(
            {
                "as_of_date": t,
                "n": int(cohort.size),
                "label_rate": float(label.mean()) if cohort.size else np.nan,
                "oracle_mean": float(o.mean()) if cohort.size else np.nan,
                "oracle_missing": int(o.isna().sum()),
            }
        )
    return pd.DataFrame(rows)
