"""Stage `simulate`: write a simulated partner-record extract and its truth sidecar."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from iom_config import load_params, parse_params, read_params
from iom_io import write_parquet
from simulator import SimulateParams, simulate_extract

log = logging.getLogger(__name__)

# Every figure, in the extract's truth sidecar; metrics/simulation.json is the headline.
DETAIL_FILE = "_truth/simulation.json"


def headline(summary: dict[str, Any]) -> dict[str, Any]:
    """The figures ``metrics/simulation.json`` keeps for ``dvc metrics show``: rows in the
    extract, nominals, and the simulated cohort's proven-reoffending rate."""
    return {
        "rows_total": sum(summary["row_counts"].values()),
        "nominals": summary["nominals"],
        "reoffending": summary["cohort_label_rate"],
    }


def run(
    params_path: Path,
    overrides: dict[str, Any],
    continue_from: Path | None = None,
    progress: bool = True,
    metrics: Path = Path("metrics/simulation.json"),
    decide_on: Path | None = None,
) -> Path:
    """Simulate with params.yaml's ``simulate`` section, command-line overrides on top.

    Returns the extract directory written.

    With ``continue_from``, the world of that earlier extract is re-drawn (same seed,
    people and months) and cut at the new extract date. With ``decide_on`` too (a
    published ``cohort_list.csv``), the new extract carries ``panel_decisions``: the
    earlier extract's, plus plausible decisions on that list (:func:`write_decisions`).
    """
    if decide_on is not None and continue_from is None:
        raise ValueError(
            "--decide-on needs --continue-from: decisions are made on a list of an earlier extract"
        )
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
    if decide_on is not None and continue_from is not None:
        n = write_decisions(
            Path(decide_on), Path(continue_from), Path(params.out), params.seed, params.format
        )
        summary["row_counts"]["panel_decisions"] = n
    # Every figure goes with the simulator's truth (what a real extract never has); the
    # tracked metrics file holds the headline, for `dvc metrics show`.
    detail = Path(params.out) / DETAIL_FILE
    detail.parent.mkdir(parents=True, exist_ok=True)
    detail.write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    metrics.parent.mkdir(parents=True, exist_ok=True)
    metrics.write_text(json.dumps(headline(summary), indent=2) + "\n", encoding="utf-8")
    log.info("Wrote %s: %s", params.out, ", ".join(f"{k} {v:,}" for k, v in summary["row_counts"].items()))
    log.info(
        "Cohort proven-reoffending rate %.3f (oracle mean %.3f) over %d labelled quarter ends",
        summary["cohort_label_rate"],
        summary["cohort_oracle_mean"],
        summary["n_labelled_dates"],
    )
    return Path(params.out)


def _read_table(extract: Path, name: str) -> pd.DataFrame | None:
    for suffix in ("csv", "parquet"):
        path = extract / f"{name}.{suffix}"
        if path.exists():
            if suffix == "parquet":
                return pd.read_parquet(path)
            return pd.read_csv(path, dtype="str", keep_default_na=False, na_values=[""])
    return None


def true_risk_by_pseudo_id(truths: list[Path], panel_date: pd.Timestamp) -> pd.Series:
    """The simulator's true risk at ``panel_date`` by pseudo_id (simulated extracts only).

    Read from the first truth folder whose oracle has that date (the earlier extract's
    holds its own extract date), else the latest oracle date before it. pseudo_ids are
    re-derived from the police identifiers with the development key, the only key a
    simulated extract is linked with by default; a list pseudonymised with another key
    matches nobody, and the panel then decides without the truth.
    """
    from linkage.keys import DEV_KEY, pseudonymise

    frames = [pd.read_parquet(t / "oracle.parquet") for t in truths if (t / "oracle.parquet").exists()]
    if not frames:
        return pd.Series(dtype="float64")
    oracle = pd.concat(frames, ignore_index=True)
    days = pd.to_datetime(oracle["as_of_date"])
    known = days[days <= panel_date]
    if known.empty:
        return pd.Series(dtype="float64")
    oracle = oracle.loc[(days == known.max()).to_numpy()].drop_duplicates("person_id")
    ids = pd.read_parquet(truths[0] / "identities.parquet")
    police = ids.loc[ids["source"].eq("police").to_numpy()]
    pseudo = pseudonymise("pnc:" + police["source_id"].astype("str"), DEV_KEY)
    by_person = pd.Series(pseudo.to_numpy(), index=police["person_id"].to_numpy())
    risk = oracle.assign(pseudo_id=oracle["person_id"].map(by_person)).dropna(subset=["pseudo_id"])
    return risk.drop_duplicates("pseudo_id").set_index("pseudo_id")["p_true"]


def write_decisions(cohort_list: Path, earlier: Path, extract: Path, seed: int, fmt: str) -> int:
    """Write ``panel_decisions`` into ``extract``: the earlier extract's plus decisions on the list.

    Updates the manifest's ``row_counts`` so that validation reconciles. Returns the rows written.
    """
    from simulator.panel import decide_panel
    from simulator.writer import csv_bytes, format_table

    listed = pd.read_csv(cohort_list, dtype={"pseudo_id": "str"}, parse_dates=["panel_date"])
    dates = listed["panel_date"].dropna().unique()
    if len(dates) != 1:
        raise ValueError(f"{cohort_list}: expected one panel_date, found {len(dates)}")
    panel_date = pd.Timestamp(dates[0])
    manifest_path = extract / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if panel_date > pd.Timestamp(manifest["extract_date"]):
        raise ValueError(
            f"{cohort_list}: panel date {panel_date.date()} is after the new extract date "
            f"{manifest['extract_date']}; decisions cannot come from the future"
        )
    truth = true_risk_by_pseudo_id([earlier / "_truth", extract / "_truth"], panel_date)
    true_risk = listed["pseudo_id"].map(truth)
    log.info(
        "Panel of %s: true risk known for %d of %d listed people",
        panel_date.date(),
        int(true_risk.notna().sum()),
        len(listed),
    )
    rng = np.random.default_rng([seed, 4, panel_date.toordinal()])
    decisions = decide_panel(listed, true_risk, rng)
    before = _read_table(earlier, "panel_decisions")
    if before is not None and len(before):
        before = before.assign(panel_date=pd.to_datetime(before["panel_date"]).astype("datetime64[ms]"))
        keep = (before["panel_date"] != panel_date).to_numpy()
        decisions = pd.concat([before.loc[keep, list(decisions.columns)], decisions], ignore_index=True)
    decisions = decisions.sort_values(["panel_date", "pseudo_id"], kind="mergesort").reset_index(drop=True)
    for suffix in ("csv", "parquet"):
        (extract / f"panel_decisions.{suffix}").unlink(missing_ok=True)
    if fmt == "csv":
        (extract / "panel_decisions.csv").write_bytes(csv_bytes(format_table(decisions, "panel_decisions")))
    else:
        write_parquet(decisions, extract / "panel_decisions.parquet")
    manifest["row_counts"] = dict(
        sorted({**manifest["row_counts"], "panel_decisions": len(decisions)}.items())
    )
    manifest_path.write_text(json.dumps(manifest, sort_keys=True, indent=2) + "\n", encoding="utf-8")
    return len(decisions)
