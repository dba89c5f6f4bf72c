"""Stage `simulate`: write a simulated partner-record extract and its truth sidecar."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from pipelines.config import load_params, parse_params, read_params
from simulator import SimulateParams, simulate_extract

log = logging.getLogger(__name__)


def run(
    params_path: Path,
    overrides: dict[str, Any],
    continue_from: Path | None = None,
    progress: bool = True,
    metrics: Path = Path("metrics/simulation.json"),
) -> Path:
    """Simulate with params.yaml's ``simulate`` section, command-line overrides on top.

    Returns the extract directory written.

    With ``continue_from``, the world of that earlier extract is re-drawn (same seed,
    people and months) and cut at the new extract date.
    """
    if continue_from is not None:
        world = json.loads((continue_from / "_truth" / "world.json").read_text(encoding="utf-8"))
        base = {
            **world["params"],
            "world_first_month": world["world_first_month"],
            "world_last_month": world["world_last_month"],
        }
        base.pop("out", None)
        params = parse_params(
            {**base, **overrides}, SimulateParams, where=f"{continue_from}/_truth/world.json"
        )
    elif overrides:
        section = read_params(params_path).get("simulate") or {}
        params = parse_params(
            {**section, **overrides}, SimulateParams, where=f"{params_path} [simulate] + options"
        )
    else:
        params = load_params("simulate", SimulateParams, params_path)
    summary = simulate_extract(params, Path(params.out), show_progress=progress)
    metrics.parent.mkdir(parents=True, exist_ok=True)
    metrics.write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    log.info("Wrote %s: %s", params.out, ", ".join(f"{k} {v:,}" for k, v in summary["row_counts"].items()))
    log.info(
        "Cohort proven-reoffending rate %.3f (oracle mean %.3f) over %d labelled quarter ends",
        summary["cohort_label_rate"],
        summary["cohort_oracle_mean"],
        summary["n_labelled_dates"],
    )
    return Path(params.out)
