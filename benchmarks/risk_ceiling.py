"""Where the risk model's AUC gap to the oracle goes, and what proven evidence can reach.

The oracle (``simulator.oracle``) is the exact P(label = 1) given everything the
simulator knows at the as-of date: the person's latent offending rate (typology rate x
frailty), the housing, treatment and recall states and the custody/licence/order
schedule. The label is the same quantity (an offence in the next 365 days proven within
183 days: proven reoffending, as OGRS predicts), so the gap is information, not a
mismatch of definitions. This script refits the risk model on the temporal split of
params.yaml's ``train:`` section (no bootstrap, no MLflow) with inputs that isolate each
part of the gap; rows marked *measurement only* read the simulator's truth or the future
and could never be model inputs:

- ``proven`` / ``recorded``: the two evidence settings (``features.evidence``);
- ``proven + latent rate`` (measurement only): the truth's log offending rate and
  typology added: what is left is the states, the schedule and estimation error;
- ``proven + latent typology`` (measurement only): the typology alone (not the frailty);
- ``proven + outcomes pending at t`` (measurement only): offences committed by t and
  proven after t, counted as if known: the cost of outcome delay;
- ``proven + whole record``: proven offences, first proven offence and age at it over
  the whole extract rather than the ``history_months`` window (legitimate evidence, but
  it breaks the features' history rule: later dates see longer records);
- ``proven + rate at liberty``, ``proven + recency-weighted``: candidate proven features
  (per year outside prison in the window, 10 years, 36 and 12 months; exponentially
  weighted counts, 1- and 3-year half-lives);
- ``proven, 1/4 and 1/2 of training people``: the learning curve (people sampled from
  the training, validation and calibration dates; the test dates are untouched).

Run (after ``dvc repro train``): ``.venv/bin/python benchmarks/risk_ceiling.py [--json out.json]
[--variant NAME ...]``.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import models.risk_train as risk_train
from features import FeatureParams
from features.catalogue import Evidence, evidence_columns
from features.partitions import read_features
from iom_config import load_params
from models.risk_params import TrainParams
from pipelines.train import read_truth
from simulator.typologies import TYPOLOGIES

PROVEN = ("convicted", "caution")
YEAR = 365.25


def _per_date(frame: pd.DataFrame, fn: Callable[[pd.Timestamp], pd.DataFrame]) -> pd.DataFrame:
    """``fn(t)`` (indexed by pseudo_id) for every as-of date, aligned to ``frame``'s rows."""
    parts = [fn(pd.Timestamp(t)).assign(as_of_date=pd.Timestamp(t)) for t in frame["as_of_date"].unique()]
    got = pd.concat([p.reset_index() for p in parts], ignore_index=True)
    got["as_of_date"] = got["as_of_date"].astype("datetime64[ms]")
    keys = frame[["pseudo_id", "as_of_date"]].astype({"as_of_date": "datetime64[ms]"})
    out = keys.merge(got, on=["pseudo_id", "as_of_date"], how="left").drop(
        columns=["pseudo_id", "as_of_date"]
    )
    out.index = frame.index
    return out


def extra_columns(
    frame: pd.DataFrame, offences: pd.DataFrame, persons: pd.DataFrame, truth: pd.DataFrame, months: int
) -> pd.DataFrame:
    """Every candidate and measurement-only column, one row per features row."""
    proven = offences.loc[offences["outcome"].isin(PROVEN)]

    def window(t: pd.Timestamp) -> pd.DataFrame:
        start = t - pd.DateOffset(months=months)
        o = proven.loc[(proven["offence_date"] <= t) & (proven["offence_date"] > start)]
        known = o.loc[o["outcome_date"] <= t]
        age = (t - known["offence_date"]).dt.days.to_numpy() / YEAR
        w = known.assign(w1=np.exp(-age * np.log(2)), w3=np.exp(-age * np.log(2) / 3))
        pending = o.loc[o["outcome_date"] > t]
        whole = proven.loc[(proven["offence_date"] <= t) & (proven["outcome_date"] <= t)]
        return pd.concat(
            [
                w.groupby("pseudo_id")[["w1", "w3"]].sum().rename(columns=lambda c: f"recency_{c[1]}y"),
                pending.groupby("pseudo_id").size().rename("pending_proven_all"),
                pending.loc[pending["offence_date"] > t - pd.DateOffset(months=12)]
                .groupby("pseudo_id")
                .size()
                .rename("pending_proven_12m"),
                whole.groupby("pseudo_id").size().rename("whole_n_proven"),
                whole.groupby("pseudo_id")["offence_date"].min().rename("whole_first"),
            ],
            axis=1,
        )

    got = _per_date(frame, window)
    out = pd.DataFrame(index=frame.index)
    for c in ("recency_1y", "recency_3y", "pending_proven_all", "pending_proven_12m", "whole_n_proven"):
        out[c] = got[c].fillna(0.0).astype("float64")
    birth = frame[["pseudo_id"]].merge(persons[["pseudo_id", "birth_month"]], on="pseudo_id", how="left")
    first = pd.to_datetime(got["whole_first"])
    out["whole_age_first"] = (first - birth["birth_month"].to_numpy()).dt.days.to_numpy() / YEAR
    out["whole_years_since_first"] = (pd.to_datetime(frame["as_of_date"]) - first).dt.days.to_numpy() / YEAR
    # Years at liberty in each window: the window less time in prison, and less any part
    # of it before age 10 (no offence can be recorded there).
    age = frame["age"].astype("float64").to_numpy()
    for sfx, years in (("all", months / 12), ("36m", 3.0), ("12m", 1.0)):
        custody = frame[f"days_in_custody_{sfx}"].astype("float64").to_numpy() / YEAR
        liberty = np.clip(np.minimum(years, age - 10.0) - custody, 0.1, None)
        n = frame[f"n_proven_offences_{sfx}"].astype("float64").to_numpy()
        out[f"rate_at_liberty_{sfx}"] = n / liberty
    out["years_at_liberty_all"] = np.clip(
        np.minimum(months / 12, age - 10.0)
        - frame["days_in_custody_all"].astype("float64").to_numpy() / YEAR,
        0.1,
        None,
    )
    t = frame[["pseudo_id"]].merge(truth, on="pseudo_id", how="left")
    out["truth_log_rate"] = np.log(t["true_rate"].to_numpy())
    out["truth_typology"] = t["typology_code"].to_numpy()
    return out


def truth_traits(truth_dir: Path, reid: Path) -> pd.DataFrame:
    """Latent rate and typology per pseudo_id (the police identity's person)."""
    index = pd.read_parquet(reid / "person_index.parquet", columns=["pseudo_id", "source", "source_id"])
    ids = pd.read_parquet(truth_dir / "identities.parquet")
    people = pd.read_parquet(truth_dir / "persons.parquet", columns=["person_id", "typology", "frailty"])
    bridge = (
        index.loc[index["source"] == "police"]
        .merge(ids.loc[ids["source"] == "police"], on=["source", "source_id"])
        .loc[:, ["pseudo_id", "person_id"]]
        .drop_duplicates("pseudo_id")
    )
    people = people.merge(bridge, on="person_id")
    rate = {t.name: t.rate for t in TYPOLOGIES}
    people["true_rate"] = people["typology"].map(rate) * people["frailty"]
    people["typology_code"] = people["typology"].map({t.name: i for i, t in enumerate(TYPOLOGIES)})
    return people[["pseudo_id", "true_rate", "typology_code"]]


VARIANTS: dict[str, dict[str, Any]] = {
    "proven": {"evidence": "proven"},
    "recorded": {"evidence": "recorded"},
    "proven + latent rate (measurement only)": {
        "evidence": "proven",
        "add": ["truth_log_rate", "truth_typology"],
    },
    "proven + latent typology (measurement only)": {"evidence": "proven", "add": ["truth_typology"]},
    "proven + outcomes pending at t (measurement only)": {
        "evidence": "proven",
        "add": ["pending_proven_all", "pending_proven_12m"],
    },
    "proven + whole record": {
        "evidence": "proven",
        "add": ["whole_n_proven", "whole_age_first", "whole_years_since_first"],
    },
    "proven + rate at liberty": {
        "evidence": "proven",
        "add": ["rate_at_liberty_all", "rate_at_liberty_36m", "rate_at_liberty_12m", "years_at_liberty_all"],
    },
    "proven + recency-weighted": {"evidence": "proven", "add": ["recency_1y", "recency_3y"]},
    "proven, 1/2 of training people": {"evidence": "proven", "share": 0.5},
    "proven, 1/4 of training people": {"evidence": "proven", "share": 0.25},
    "recorded, 1/2 of training people": {"evidence": "recorded", "share": 0.5},
    "recorded, 1/4 of training people": {"evidence": "recorded", "share": 0.25},
}


def fit_variant(
    frame: pd.DataFrame,
    people: pd.DataFrame,
    train: TrainParams,
    p_true: pd.Series,
    history_months: int,
    evidence: Evidence,
    add: list[str] | None = None,
    share: float = 1.0,
) -> dict[str, Any]:
    """Test-block metrics of the risk model, the OGRS3-style baseline and the oracle."""
    add = list(add or [])
    extra = [c for c in frame.columns if c.startswith(EXTRA_PREFIX)]
    named = [f"{EXTRA_PREFIX}{c}" for c in add]

    def admitted(columns: list[str], ev: Evidence = evidence) -> list[str]:
        return evidence_columns([c for c in columns if c not in extra], ev) + named

    rows = frame
    if share < 1.0:
        ids = np.sort(frame["pseudo_id"].unique())
        keep = set(np.random.default_rng(0).choice(ids, int(len(ids) * share), replace=False))
        before_test = pd.to_datetime(frame["as_of_date"]) <= pd.Timestamp(train.calib_end)
        rows = frame.loc[~before_test | frame["pseudo_id"].isin(keep)]
    # The model reads catalogue columns only: let the named extra columns through.
    saved = risk_train.evidence_columns, risk_train.feature_columns
    risk_train.evidence_columns = admitted  # type: ignore[assignment]
    risk_train.feature_columns = lambda cols, drop=(): [c for c in cols if c not in set(drop)]  # type: ignore[assignment]
    try:
        result = risk_train.train_and_evaluate(
            rows, people, train, p_true.loc[rows.index], history_months, evidence
        )
    finally:
        risk_train.evidence_columns, risk_train.feature_columns = saved
    test = result.metrics["test"]
    cap = f"precision_at_{train.capacity}"
    m, o = test["risk_model"], test["ogrs3"]
    return {
        "n_features": result.metrics["model"]["n_features"],
        "blend_weight": result.metrics["model"]["blend_weight"],
        "auc": m["auc"],
        "brier": m["brier"],
        "auc_gap_to_oracle": test["oracle"]["auc"] - m["auc"],
        "precision_at_capacity": m[cap],
        "ogrs3_precision_at_capacity": o[cap],
        "oracle_auc": test["oracle"]["auc"],
    }


EXTRA_PREFIX = "x__"


def run(
    params_path: Path,
    features: Path,
    truth: Path,
    reid: Path,
    linked: Path,
    only: list[str] | None = None,
) -> pd.DataFrame:
    train = load_params("train", TrainParams, params_path).model_copy(update={"n_bootstrap": 0})
    fp = load_params("features", FeatureParams, params_path)
    frame = read_features(features)
    people = pd.read_parquet(
        linked / "persons.parquet", columns=["pseudo_id", "sex", "ethnicity", "birth_month"]
    )
    p_true = read_truth(frame, truth, reid)
    if p_true is None:
        raise SystemExit(f"no simulator truth at {truth}: the ceiling needs the oracle")
    offences = pd.read_parquet(
        linked / "offences.parquet", columns=["pseudo_id", "offence_date", "outcome", "outcome_date"]
    )
    extra = extra_columns(frame, offences, people, truth_traits(truth, reid), fp.history_months)
    frame = pd.concat([frame, extra.add_prefix(EXTRA_PREFIX)], axis=1)
    rows = []
    for name, spec in VARIANTS.items():
        if only and name not in only:
            continue
        row = {"variant": name, **fit_variant(frame, people, train, p_true, fp.history_months, **spec)}
        rows.append(row)
        print(json.dumps({k: round(v, 5) if isinstance(v, float) else v for k, v in row.items()}), flush=True)
    return pd.DataFrame(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--params", type=Path, default=Path("params.yaml"))
    ap.add_argument("--features", type=Path, default=Path("data/features"))
    ap.add_argument("--truth", type=Path, default=Path("data/extract/_truth"))
    ap.add_argument("--reid", type=Path, default=Path("data/reid"))
    ap.add_argument("--linked", type=Path, default=Path("data/linked"))
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--variant", action="append", default=None, help="run only these variants (repeatable)")
    args = ap.parse_args()
    table = run(args.params, args.features, args.truth, args.reid, args.linked, args.variant)
    print(table.round(4).to_markdown(index=False))
    if args.json is not None:
        args.json.write_text(json.dumps(table.round(5).to_dict("records"), indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
