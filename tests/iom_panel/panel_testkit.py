"""Hand-shaped stage inputs for the publish tests: scores, registration, typologies, audit.

The scores follow the documented shape of ``scores.parquet`` (docs: interfaces v2) so the
publish stage can be tested without training a model: risk is a fixed function of a few
features, the interval a fixed band around it, and ``contributions`` a JSON list per
person whose points add up to ``100 * (risk - base)``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.partitions import read_features

BASE_RISK = 0.3


def panel_features(features: Path) -> pd.DataFrame:
    """The features stage's rows at its panel date."""
    parts = sorted(Path(features).glob("as_of_date=*/part-0.parquet"))
    # Through the reader: the partition files hold no as_of_date (the folder name does).
    frame = read_features(features, dates=[pd.Timestamp(parts[-1].parent.name.split("=", 1)[1])])
    return frame.loc[frame["is_panel_date"].to_numpy(dtype=bool)].reset_index(drop=True)


def hand_scores(features: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """A scores frame of the documented shape for the given panel-date features.

    The reasons come from the real :func:`models.explain.panel_reasons` on hand-made
    points: the person's risk above the base is shared between their proven offences in
    the last 12 months, their accommodation need and their attendance, so the reason
    families, facts and contributions are exactly what a trained model's would look like.
    """
    from models.explain import panel_reasons

    rng = np.random.default_rng(seed)
    n = len(features)
    x = features["n_proven_offences_12m"].to_numpy(dtype="float64")
    risk = np.clip(0.1 + 0.08 * x + rng.uniform(0, 0.2, n), 0.01, 0.99).round(4)
    # Two tied risks, so the tie-break by pseudo_id is exercised.
    if n > 3:
        risk[1] = risk[2]
    total = 100 * (risk - BASE_RISK)
    share = rng.uniform(0.3, 0.9, n)
    cols = [
        "n_proven_offences_12m",
        "need_accommodation",
        "share_contacts_attended_3m",
        "days_since_assessment",
    ]
    X = features.loc[:, cols].reset_index(drop=True)
    points = pd.DataFrame(
        {
            "n_proven_offences_12m": total * share,
            "need_accommodation": total * (1 - share) * 0.7,
            "share_contacts_attended_3m": total * (1 - share) * 0.3,
            "days_since_assessment": 0.0,
        }
    )
    reasons = panel_reasons(points, X)
    out = pd.DataFrame(
        {
            "pseudo_id": features["pseudo_id"].astype("str").to_numpy(),
            "as_of_date": features["as_of_date"].to_numpy(),
            "in_custody": features["in_custody"].astype("bool").to_numpy(),
            "release_due": features["release_due"].to_numpy(),
            "risk_12m": risk,
            "risk_12m_low": np.clip(risk - 0.05, 0, 1),
            "risk_12m_high": np.clip(risk + 0.05, 0, 1),
            "rank": pd.Series(-risk).rank(method="first").astype("int64").to_numpy(),
        }
    )
    out = pd.concat([out, reasons], axis=1)
    out["base_risk"] = BASE_RISK
    return out


def write_model_dir(features: Path, out: Path, version: str = "3", seed: int = 0) -> pd.DataFrame:
    """``scores.parquet``, ``registration.json`` and ``risk_model.json`` in ``out``; returns the scores."""
    out.mkdir(parents=True, exist_ok=True)
    scores = hand_scores(panel_features(features), seed)
    scores.to_parquet(out / "scores.parquet", index=False)
    (out / "registration.json").write_text(
        json.dumps(
            {
                "name": "iom-risk",
                "version": version,
                "run_id": "r0",
                "fingerprint": "0" * 64,
                "trained_on": "2025-03-31",
                "registered_at": "2026-11-01",
            }
        )
    )
    (out / "risk_model.json").write_text(json.dumps({"params": {"interval": 0.9, "n_bootstrap": 20}}))
    return scores


def write_typology(scores: pd.DataFrame, out: Path) -> pd.DataFrame:
    """``typology.parquet`` for the scored people, cycling through the named typologies."""
    out.mkdir(parents=True, exist_ok=True)
    names = np.array(
        ["general", "young_last_chance", "older_prison", "vulnerable", "control_only", "unassigned"]
    )
    frame = pd.DataFrame(
        {
            "pseudo_id": scores["pseudo_id"],
            "as_of_date": scores["as_of_date"],
            "typology": names[np.arange(len(scores)) % len(names)],
            "membership_probability": 0.8,
            "cluster": (np.arange(len(scores)) % len(names)).astype("int32"),
        }
    )
    frame.to_parquet(out / "typology.parquet", index=False)
    return frame


def write_fairness(path: Path, flagged: list[str] | None = None, version: str = "3") -> dict[str, Any]:
    """A fairness metrics JSON with the gate block."""
    flagged = flagged or []
    metrics = {
        "model_version": version,
        "gate": {
            "mode": "report",
            "status": "flagged" if flagged else "pass",
            "flagged": flagged,
            "summary": f"{len(flagged)} measure(s) outside the band." if flagged else "All measures in band.",
        },
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(metrics))
    return metrics


def publish_into(
    root: Path,
    model: Path,
    typology: Path,
    linked: Path,
    reid: Path,
    params: Path,
    fairness: Path | None = None,
) -> None:
    """Run the publish stage with its outputs under ``root``.

    Writes ``root/panel/`` (with every figure in ``publish.json``), ``root/reid_key/`` and
    the headline ``root/publish.json``; the fairness
    metrics are read from ``fairness`` (default ``root/fairness.json``).
    """
    from pipelines import publish

    publish.run(
        model,
        typology,
        linked,
        reid,
        root / "fairness.json" if fairness is None else fairness,
        root / "panel",
        root / "reid_key",
        root / "publish.json",
        params,
    )


def long_list(n: int = 240, seed: int = 0, previous: bool = True) -> tuple[pd.DataFrame, dict[str, Any]]:
    """A synthetic list of ``n`` people (red 6, amber 12) and its summary, for the pack's long-list tests.

    With ``previous``, an earlier panel decided on the first 85% of a shuffled order (most
    green, a few red, amber or not adopted), so the rest are new to the list and some have
    moved tier. Three people are atypical and two are due out of custody. No real data.
    """
    from iom_panel.cohort import build_cohort_list, summarise_cohort
    from iom_panel.decisions import previous_panel
    from models.tiering import TieringRule

    rng = np.random.default_rng(seed)
    t = pd.Timestamp("2026-10-31")
    ids = [f"P{i:05d}" for i in range(n)]
    risk = np.round(rng.uniform(0.05, 0.95, n), 4)
    scores = pd.DataFrame(
        {
            "pseudo_id": ids,
            "as_of_date": t,
            "in_custody": False,
            "risk_12m": risk,
            "risk_12m_low": np.round(np.clip(risk - 0.02, 0, 1), 4),
            "risk_12m_high": np.round(np.clip(risk + 0.02, 0, 1), 4),
            "reasons_up": "4 proven offences in the last 12 months (+9 pts)",
            "reasons_down": "",
            "contributions": "",
            "base_risk": BASE_RISK,
        }
    )
    persons = pd.DataFrame({"pseudo_id": ids, "sources_linked": "police;probation"})
    for agency in ("police", "prison", "probation", "health", "housing"):
        persons[f"in_{agency}"] = agency in ("police", "probation")
    decisions = None
    if previous:
        seen = rng.permutation(n)[: int(0.85 * n)]
        decided = rng.choice(["green", "red", "amber", "not_adopted"], len(seen), p=[0.9, 0.03, 0.04, 0.03])
        decisions = pd.DataFrame(
            {
                "pseudo_id": [ids[i] for i in seen],
                "panel_date": pd.Timestamp("2026-09-30"),
                "suggested_tier": decided,
                "decided_tier": decided,
                "reason": "",
            }
        )
    rule = TieringRule.model_validate({"red": 6, "amber": 12})
    cohort = build_cohort_list(scores, None, persons, None, previous_panel(decisions, t), rule, "3")
    typology = np.array(["general", "acquisitive_drugs", "violent_young", "unassigned"])
    cohort["typology"] = typology[np.arange(n) % 4]
    cohort["atypical_reason"] = ""
    cohort.loc[[n - 3, n - 20, n - 40], "atypical_reason"] = "no proven offence in the last 36 months"
    cohort.loc[[n - 5, n - 50], "release_due"] = pd.Timestamp("2026-11-20")
    result: dict[str, Any] = {
        **summarise_cohort(cohort, persons),
        "model_version": "3",
        "model_name": "iom-risk",
        "trained_on": "2025-03-31",
        "registered_at": None,
        "tiering": {"description": rule.describe()},
        "overrides": None,
        "previous_panel_date": "2026-09-30" if previous else None,
    }
    return cohort, result
