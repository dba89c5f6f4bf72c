"""Simulate multi-agency partner-record extracts, with the truth the pipeline is measured on.

``simulate_extract`` runs the generative world (``simulator.generate``), cuts it at the
extract date (``simulator.censor``), gives people their agency identities and identifiers
with real-system errors (``simulator.assemble``) and writes the contract's files plus a
``_truth/`` sidecar (``simulator.writer``).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulator.censor import censor_world
from simulator.generate import generate_world, world_months
from simulator.params import RecordingBias, SimulateParams
from simulator.summary import cohort_label_rates
from simulator.world import World

log = logging.getLogger(__name__)

__all__ = [
    "RecordingBias",
    "SimulateParams",
    "World",
    "cohort_label_rates",
    "simulate_extract",
    "simulate_world",
]


def simulate_world(params: SimulateParams, show_progress: bool = False) -> World:
    """The simulated world as known on ``params.extract_date`` (no identities, no files)."""
    return censor_world(
        generate_world(params, show_progress=show_progress), pd.Timestamp(params.extract_date)
    )


def simulate_extract(params: SimulateParams, out_dir: Path, show_progress: bool = True) -> dict[str, Any]:
    """Simulate a world, write its extract to ``out_dir`` and return summary figures.

    The same params (seed included) give byte-identical files.
    """
    from simulator.assemble import assemble_extract
    from simulator.writer import write_extract

    world = simulate_world(params, show_progress=show_progress)
    with_agency = pd.concat([world.health["person_id"], world.housing["person_id"]]).nunique()
    rng = np.random.default_rng([params.seed, 2])
    tables, truth = assemble_extract(
        world,
        params.identity,
        rng,
        area=params.area,
        n_distractors=round(params.distractor_share * with_agency),
        n_areas=params.n_areas,
    )
    truth["oracle"] = world.oracle
    # Summary figures come from the world, which is then let go before the tables are
    # formatted and written (the two largest things a national run holds).
    rates = cohort_label_rates(world)
    by_typology = world.persons["typology"].value_counts(normalize=True).sort_index()
    del world
    first, last = world_months(params)
    world_json = {
        # A one-area extract leaves nominals_per_area out, as before it existed: its files
        # stay byte-identical to those simulated then.
        "params": json.loads(
            params.model_dump_json(exclude={"nominals_per_area"} if params.n_areas == 1 else None)
        ),
        "world_first_month": first.date().isoformat(),
        "world_last_month": last.date().isoformat(),
    }
    write_extract(
        out_dir,
        tables,
        truth,
        area=params.area,
        extract_date=pd.Timestamp(params.extract_date),
        fmt=params.format,
        dirty_rate=params.dirty_rate,
        rng=np.random.default_rng([params.seed, 3]),
        extra_truth_files={"world.json": json.dumps(world_json, indent=2, sort_keys=True) + "\n"},
    )
    n = int(rates["n"].sum())
    return {
        "nominals": params.nominals,
        "extract_date": params.extract_date.isoformat(),
        "row_counts": {name: len(df) for name, df in sorted(tables.items())},
        "typology_shares": {k: round(float(v), 4) for k, v in by_typology.items()},
        "cohort_label_rate": round(float((rates["label_rate"] * rates["n"]).sum() / n), 4) if n else None,
        "cohort_oracle_mean": round(float((rates["oracle_mean"] * rates["n"]).sum() / n), 4) if n else None,
        "mean_cohort_size": round(n / max(len(rates), 1), 1),
        "n_labelled_dates": len(rates),
        "dirty_rate": params.dirty_rate,
    }
