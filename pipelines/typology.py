"""Stage ``typology``: features -> a typology and membership probability per person-date.

Fits :class:`models.TypologyModel` on the training window (one row per person), assigns
every as-of date including the panel date, and writes ``typology.parquet`` and
``model.json`` to ``out``, ``metrics/typology.json``, and a profile table and two charts
to ``reports``. With ``engine: spark`` the fit stays in this process (on its declared,
seeded ``typology.fit_sample``) and the assignment of every person-date runs on Spark, per
partition of people, read from the features partitions by the executors
(:func:`models.spark.assign_typology_spark`): the same rows. On a simulated extract
(``truth_dir`` given), the metrics also compare the typologies with the simulator's truth;
the truth is never used to fit or name.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score

from features.partitions import read_features
from iom_config import DEFAULT_PARAMS, load_params
from iom_io import write_parquet
from iom_spark import EngineChoice, load_engine
from models.typology import (
    TypologyModel,
    TypologyParams,
    assign_typology,
    fit_typology_model,
    profile_typologies,
    save_model,
    select_training_rows,
)
from models.typology_naming import PANEL_LABELS, SEED_TYPOLOGIES, TYPOLOGY_LABELS, UNASSIGNED
from pipelines.tracking import mlflow_enabled

logger = logging.getLogger(__name__)

OUTPUT_COLUMNS = (
    "pseudo_id",
    "as_of_date",
    "typology",
    "membership_probability",
    "cluster",
    "atypical",
    "atypical_reason",
)
REPORT_FILES = ("profiles.csv", "profile_heatmap.png", "typology_mix.png")
# The goals against the simulator's truth (reported, never used to fit or decide).
GOALS = {"ari": 0.75, "stability": 0.85, "precision": 0.8, "contradicted_share": 0.02}
STRUCTURE_FILE = "structure.json"
DETAIL_FILE = "typology.json"  # every figure, in the reports folder; metrics/typology.json is the headline


def headline(result: dict[str, Any]) -> dict[str, Any]:
    """The figures ``metrics/typology.json`` keeps for ``dvc metrics show``.

    Whether structure was found, the clusters chosen, their bootstrap stability, the share
    of the panel whose record contradicts their typology and, on a simulated extract, the
    agreement (ARI) with the true typologies on the fitting rows and at the panel date.
    Every figure is in ``<reports>/typology.json``.
    """
    out: dict[str, Any] = {
        "structure_found": result.get("structure_found"),
        "n_clusters": result.get("n_clusters"),
        "stability": result.get("stability"),
        "contradicted": (result.get("consistency_panel") or {}).get("contradicted_share"),
    }
    truth = result.get("truth") or {}
    for key, rows in (("ari_fit", "fit_rows"), ("ari_panel", "panel_date")):
        if rows in truth:
            out[key] = truth[rows].get("ari_typology")
    return out


def truth_by_pseudo_id(truth_dir: Path, reid: Path) -> pd.DataFrame:
    """pseudo_id -> true typology, through the police source identifier (simulated extracts)."""
    persons = pd.read_parquet(Path(truth_dir) / "persons.parquet", columns=["person_id", "typology"])
    ids = pd.read_parquet(Path(truth_dir) / "identities.parquet")
    index = pd.read_parquet(Path(reid) / "person_index.parquet", columns=["pseudo_id", "source", "source_id"])
    police = index[index["source"] == "police"].merge(
        ids[ids["source"] == "police"], on=["source", "source_id"], how="inner"
    )
    out = police.merge(persons, on="person_id", how="inner")[["pseudo_id", "typology"]]
    return out.drop_duplicates("pseudo_id").rename(columns={"typology": "true_typology"})


def truth_metrics(assignments: pd.DataFrame, truth: pd.DataFrame, at: pd.Series) -> dict[str, Any]:
    """ARI, confusion table and per-typology precision/recall against the truth.

    ``at`` selects the rows compared (for example each person's training row).
    """
    rows = assignments[at.to_numpy(dtype=bool)].merge(truth, on="pseudo_id", how="inner")
    named = rows["typology"].astype(str).to_numpy(dtype=object)
    true = rows["true_typology"].astype(str).to_numpy(dtype=object)
    confusion = pd.crosstab(pd.Series(named, name="typology"), pd.Series(true, name="truth"))
    per: dict[str, dict[str, float | None]] = {}
    for t in SEED_TYPOLOGIES:
        hit = float(((named == t) & (true == t)).sum())
        n_named, n_true = float((named == t).sum()), float((true == t).sum())
        per[t] = {
            "precision": round(hit / n_named, 4) if n_named else None,
            "recall": round(hit / n_true, 4) if n_true else None,
            "n_named": int(n_named),
            "n_true": int(n_true),
        }
    return {
        "n_people": len(rows),
        "ari_typology": round(float(adjusted_rand_score(true, named)), 4),
        "ari_cluster": round(float(adjusted_rand_score(true, rows["cluster"].to_numpy())), 4),
        "seed_typologies": per,
        "confusion": {str(r): {str(c): int(v) for c, v in row.items()} for r, row in confusion.iterrows()},
    }


def _plot_heatmap(profiles: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = profiles.drop(columns=["n_person_dates"])
    # Colour is each measure relative to the other typologies (column z-score); the
    # numbers printed are the measures in their own units.
    z = (shown - shown.mean()) / shown.std(ddof=0).replace(0, 1)
    fig, ax = plt.subplots(figsize=(1.0 + 0.9 * shown.shape[1], 1.5 + 0.6 * shown.shape[0]))
    ax.imshow(z.to_numpy(dtype=float), cmap="RdBu_r", vmin=-2, vmax=2, aspect="auto")
    ax.set_xticks(
        range(shown.shape[1]), [c.replace("_", " ") for c in shown.columns], rotation=60, ha="right"
    )
    ax.set_yticks(
        range(shown.shape[0]),
        [f"{PANEL_LABELS.get(t, t)} (n={n:,})" for t, n in profiles["n_person_dates"].items()],
    )
    for i in range(shown.shape[0]):
        for j in range(shown.shape[1]):
            v = shown.iat[i, j]
            ax.text(j, i, _fmt(v), ha="center", va="center", fontsize=7)
    ax.set_title("Typology profiles (colour: high/low relative to other typologies)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _fmt(v: float) -> str:
    if pd.isna(v):
        return ""
    return f"{v:,.0f}" if abs(v) >= 10 else f"{v:.2g}"


def _plot_mix(assignments: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mix = pd.crosstab(assignments["as_of_date"], assignments["typology"].astype(str), normalize="index")
    mix = mix[[t for t in TYPOLOGY_LABELS if t in mix.columns]]
    fig, ax = plt.subplots(figsize=(10, 5))
    ax.stackplot(mix.index, mix.T.to_numpy(dtype=float), labels=[PANEL_LABELS[t] for t in mix.columns])
    ax.set_ylabel("share of the cohort")
    ax.set_xlabel("as-of date")
    ax.set_ylim(0, 1)
    ax.set_title("Typology mix of the cohort over time")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def build_metrics(
    model: TypologyModel,
    features: pd.DataFrame,
    assignments: pd.DataFrame,
    train_rows: pd.Series,
    truth: pd.DataFrame | None,
) -> dict[str, Any]:
    """The contents of ``metrics/typology.json``."""
    panel = features["is_panel_date"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    seed_named = assignments["typology"].isin(SEED_TYPOLOGIES).to_numpy(dtype=bool) & panel
    atypical = assignments["atypical"].to_numpy(dtype=bool) & seed_named
    n_named = int(seed_named.sum())
    result: dict[str, Any] = {
        "structure_found": bool(model.structure_["found"]),
        "structure_message": model.structure_["message"],
        "structure": model.structure_,
        "shown_names": list(model.shown_names_),
        "consistency_panel": {
            # Among people listed at the panel date with one of the four names: how many
            # have a record that breaks that typology's person rule. They keep the name
            # (the cluster they belong to), marked atypical with the reason, so this is
            # also the share still carrying a seed name their own record contradicts
            # (goal <= 2%), and no label without the marker contradicts a record.
            "n_seed_labelled": n_named,
            "n_atypical": int(atypical.sum()),
            "contradicted_share": round(float(atypical.sum() / n_named), 4) if n_named else 0.0,
            "atypical_by_typology": assignments.loc[atypical, "typology"].value_counts().to_dict(),
        },
        "n_clusters": int(model.n_clusters_),
        "criterion": {
            str(k): {
                "bic": round(v["bic"], 2),
                "stability": round(v["stability"], 4),
                "stability_clusters": round(v.get("stability_clusters", v["stability"]), 4),
                "typology_stability": {t: round(s, 4) for t, s in v.get("typology_stability", {}).items()},
            }
            for k, v in model.criterion_.items()
        },
        "stability": round(float(model.stability_), 4),
        "cluster_names": list(model.cluster_names_),
        "n_fit_people": int(train_rows.sum()),
        "size_fit": assignments.loc[train_rows.to_numpy(dtype=bool), "typology"].value_counts().to_dict(),
        "size_panel": assignments.loc[panel, "typology"].value_counts().to_dict(),
    }
    if truth is not None:
        result["truth"] = {"fit_rows": truth_metrics(assignments, truth, train_rows)}
        result["truth"]["panel_date"] = truth_metrics(assignments, truth, pd.Series(panel))
        fit = result["truth"]["fit_rows"]
        result["goals"] = {
            "ari_typology": fit["ari_typology"] >= GOALS["ari"],
            "ari_typology_panel_date": result["truth"]["panel_date"]["ari_typology"] >= GOALS["ari"],
            "stability": result["stability"] >= GOALS["stability"],
            **{
                f"precision_{t}": (p := fit["seed_typologies"][t]["precision"]) is not None
                and p >= GOALS["precision"]
                for t in SEED_TYPOLOGIES
            },
        }
    return result


def assign_everyone(
    model: TypologyModel, frame: pd.DataFrame, features: Path, engine: EngineChoice
) -> pd.DataFrame:
    """:func:`models.typology.assign_typology` of every row of ``frame`` (the features
    stage's partitions in ``features``), on ``engine``: the same frame on both."""
    if not engine.is_spark:
        return assign_typology(model, frame)
    from features.spark import read_features_spark
    from iom_spark import open_spark
    from models.spark import assign_typology_spark, n_partitions_for

    spark = open_spark(engine.spark)
    template = frame.iloc[:0]
    n_partitions = n_partitions_for(len(frame), engine.spark)
    logger.info("typology: assigning %d person-dates on spark in %d partitions", len(frame), n_partitions)
    rows = read_features_spark(spark, Path(features), template)
    return assign_typology_spark(model, rows, template, n_partitions)


def run(
    features: Path,
    out: Path,
    metrics: Path,
    reports: Path,
    params_path: Path = DEFAULT_PARAMS,
    truth_dir: Path | None = None,
    reid: Path | None = None,
    experiment: str = "typology",
) -> dict[str, Any]:
    """Fit, assign and report the typologies; return the metrics written.

    Parameters
    ----------
    features
        The features stage's output folder.
    out
        Folder for ``typology.parquet`` and ``model.json``.
    metrics
        Path of ``typology.json``.
    reports
        Folder for ``profiles.csv``, ``profile_heatmap.png`` and ``typology_mix.png``.
    params_path
        params.yaml holding the ``typology:`` section.
    truth_dir, reid
        The simulator's ``_truth`` folder and the re-identification folder (for the
        pseudo_id -> person map); both needed for the truth metrics, which are skipped
        when either is missing.
    experiment
        MLflow experiment suffix (``iom/<experiment>``); the run is skipped when
        ``mlflow.log`` is false.
    """
    params = load_params("typology", TypologyParams, params_path)
    engine = load_engine(Path(params_path))
    if engine.is_spark:  # before the fit, not after it
        from models.spark import refuse_adapted_priors

        refuse_adapted_priors(params.adapt_priors)
    frame = read_features(features)
    logger.info("typology: %d person-dates over %d as-of dates", len(frame), frame["as_of_date"].nunique())
    model = fit_typology_model(frame, params)
    assigned = assign_everyone(model, frame, Path(features), engine)
    # Align the features with the (sorted) assignments for profiles and metrics.
    frame = frame.sort_values(["as_of_date", "pseudo_id"], kind="stable").reset_index(drop=True)
    train_end = pd.Timestamp(params.train_end) if params.train_end else None
    fit_keys = select_training_rows(frame, train_end)[["pseudo_id", "as_of_date"]].assign(_fit=True)
    train_rows = frame[["pseudo_id", "as_of_date"]].merge(fit_keys, how="left")["_fit"].notna()

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_parquet(assigned[list(OUTPUT_COLUMNS)], out / "typology.parquet")
    save_model(model, out / "model.json")
    # What the panel pack shows about the typologies as a whole (plain fields).
    structure = {
        "structure_found": bool(model.structure_["found"]),
        "structure_message": model.structure_["message"],
        "shown_typologies": [str(c) for c in model.classes_ if c != UNASSIGNED],
        "reasons": list(model.structure_["reasons"]),
    }
    text = json.dumps(structure, indent=2, sort_keys=True) + "\n"
    (out / STRUCTURE_FILE).write_text(text, encoding="utf-8")

    reports = Path(reports)
    reports.mkdir(parents=True, exist_ok=True)
    profiles = profile_typologies(frame, assigned, model.population_mean_offences_)
    profiles.round(4).to_csv(reports / "profiles.csv")
    _plot_heatmap(profiles, reports / "profile_heatmap.png")
    _plot_mix(assigned, reports / "typology_mix.png")

    truth = None
    if truth_dir is not None and reid is not None and (Path(truth_dir) / "persons.parquet").exists():
        truth = truth_by_pseudo_id(Path(truth_dir), Path(reid))
    result = build_metrics(model, frame, assigned, train_rows, truth)
    (reports / DETAIL_FILE).write_text(
        json.dumps(result, indent=2, sort_keys=True, default=_jsonable) + "\n", encoding="utf-8"
    )
    metrics = Path(metrics)
    metrics.parent.mkdir(parents=True, exist_ok=True)
    metrics.write_text(json.dumps(headline(result), indent=2, default=_jsonable) + "\n", encoding="utf-8")

    if mlflow_enabled(Path(params_path)):
        from pipelines.tracking import area_near  # the extract's experiment, iom/<area>

        _log_mlflow(
            area_near(Path(features), experiment), params, result, metrics, out / "model.json", reports
        )
    return result


def _jsonable(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    raise TypeError(f"not JSON serialisable: {type(v)}")


def _log_mlflow(
    experiment: str,
    params: TypologyParams,
    result: dict[str, Any],
    metrics: Path,
    model_json: Path,
    reports: Path,
) -> str:
    """Log aggregates only (params, numbers, metrics JSON, model JSON, reports); return the run id."""
    import mlflow

    from pipelines.tracking import configure_mlflow, flatten_numbers

    configure_mlflow(experiment)
    with mlflow.start_run(run_name="typology", tags={"stage": "typology"}) as run:
        flat = params.model_dump(mode="json", exclude={"rules", "person_rules"})
        for key, rules in (("rules", params.rules), ("person_rules", params.person_rules)):
            for typology, bounds in rules.items():
                for measure, bound in bounds.items():
                    for side, value in bound.model_dump(exclude_none=True).items():
                        flat[f"{key}.{typology}.{measure}.{side}"] = value
        mlflow.log_params({k: str(v)[:500] for k, v in flat.items()})
        numbers = {k: v for k, v in flatten_numbers(result).items() if "/confusion/" not in k}
        mlflow.log_metrics(numbers)
        mlflow.log_artifact(str(metrics), artifact_path="metrics")
        mlflow.log_artifact(str(reports / DETAIL_FILE), artifact_path="reports")
        mlflow.log_artifact(str(model_json), artifact_path="model")
        for name in REPORT_FILES:
            mlflow.log_artifact(str(reports / name), artifact_path="reports")
        return str(run.info.run_id)
