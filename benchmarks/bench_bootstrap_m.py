"""The m-out-of-n bootstrap interval against the full bootstrap, per person on the panel date.

The train stage's refits can grow on ``train.bootstrap_persons`` (m) persons drawn with
replacement from the n the trees grew on, their spread rescaled by sqrt(m / n)
(:class:`models.RiskModel`, ``bootstrap_persons``). That assumes the spread of the
model's log-odds shrinks as one over the square root of the persons. This script
measures how far that holds: on a features folder it fits the train stage's model (the
same split, the same ``train.sample_persons`` sample, the same seed) once with every
refit on all n persons, and once per m, and compares each panel person's interval
width in log-odds (``logit(high) - logit(low)``) and in probability points:

- the median and the 10th/90th percentiles of the ratio m-width / n-width;
- the Pearson and Spearman correlation of the widths across people;
- the refits' wall time.

The main fit is the same in every run (only the refits differ), so the risks are equal
and only the intervals move::

    python benchmarks/bench_bootstrap_m.py --run . --m 2000 4000          # the default extract
    python benchmarks/bench_bootstrap_m.py --run benchmarks/runs/n200000 \\
        --sample-persons 40000 --m 10000 --out benchmarks/results/train_bootstrap_m.md

Results are printed and, with ``--out``, appended to a Markdown file.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features import FeatureParams
from features.partitions import read_features
from iom_config import load_params
from models.risk import _logit
from models.risk_params import TrainParams
from models.risk_train import build_model, fit_rows, model_matrix


def fit_inputs(run: Path, params: TrainParams) -> dict[str, Any]:
    """The train stage's fit arguments and the panel's model inputs, as ``train_and_evaluate`` makes them."""
    evidence = load_params("features", FeatureParams, run / "params.yaml").evidence
    features = read_features(run / "data" / "features")
    persons = pd.read_parquet(
        run / "data" / "linked" / "persons.parquet", columns=["pseudo_id", "sex", "ethnicity"]
    )
    rows = fit_rows(features, persons, params, evidence)
    lab, X, y, masks = rows.lab, rows.X, rows.y, rows.masks
    tr, va, ca = masks["train"] & rows.in_sample, masks["valid"] & rows.in_sample, masks["calib"]
    panel = features.loc[features["is_panel_date"].astype("bool").to_numpy()]
    return {
        "columns": list(X.columns),
        "fit": {
            "X": X.loc[tr],
            "y": y.loc[tr],
            "eval_set": (X.loc[va], y.loc[va]),
            "calib_set": (X.loc[ca], y.loc[ca]),
            "groups": lab.loc[tr, "pseudo_id"],
            "calib_groups": lab.loc[ca, "pseudo_id"],
            "eval_groups": lab.loc[va, "pseudo_id"],
        },
        "panel": model_matrix(panel, persons, params, evidence),
    }


def widths(model: Any, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Each row's interval width in log-odds and in probability points (0-100)."""
    iv = model.predict_interval(X)
    lo, hi = iv["low"].to_numpy(), iv["high"].to_numpy()
    return _logit(hi) - _logit(lo), 100.0 * (hi - lo)


def compare(full: tuple[np.ndarray, np.ndarray], part: tuple[np.ndarray, np.ndarray]) -> dict[str, float]:
    """Ratio and correlation of the m-out-of-n widths against the full bootstrap's."""
    out: dict[str, float] = {}
    for scale, a, b in (("logodds", full[0], part[0]), ("points", full[1], part[1])):
        ratio = b / a
        out[f"{scale}_median_ratio"] = float(np.median(ratio))
        out[f"{scale}_ratio_p10"] = float(np.quantile(ratio, 0.1))
        out[f"{scale}_ratio_p90"] = float(np.quantile(ratio, 0.9))
        out[f"{scale}_pearson"] = float(np.corrcoef(a, b)[0, 1])
        out[f"{scale}_spearman"] = float(pd.Series(a).corr(pd.Series(b), method="spearman"))
        out[f"{scale}_median_full"] = float(np.median(a))
        out[f"{scale}_median_m"] = float(np.median(b))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", type=Path, default=Path("."), help="folder with params.yaml and data/")
    ap.add_argument("--m", type=int, nargs="+", required=True, help="bootstrap_persons values to compare")
    ap.add_argument("--sample-persons", type=int, default=None, help="override train.sample_persons (n)")
    ap.add_argument("--n-bootstrap", type=int, default=20)
    ap.add_argument("--out", type=Path, default=None, help="append the table to this Markdown file")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    params = load_params("train", TrainParams, args.run / "params.yaml")
    update: dict[str, Any] = {"n_bootstrap": args.n_bootstrap}
    if args.sample_persons is not None:
        update["sample_persons"] = args.sample_persons
    params = params.model_copy(update=update)
    inputs = fit_inputs(args.run, params)
    fit = inputs["fit"]
    results: dict[str, Any] = {"run": str(args.run), "sample_persons": params.sample_persons}
    models = {}
    for m in [None, *args.m]:
        model = build_model(params.model_copy(update={"bootstrap_persons": m}), columns=inputs["columns"])
        clock = time.perf_counter()
        X, y = fit.pop("X"), fit.pop("y")
        model.fit(X, y, **fit)
        fit["X"], fit["y"] = X, y
        models[m] = model
        results[f"fit_s_m{m}"] = round(time.perf_counter() - clock, 1)
        results[f"sizes_m{m}"] = list(model.bootstrap_sizes_ or ())
    full = widths(models[None], inputs["panel"])
    rows = []
    for m in args.m:
        stats = compare(full, widths(models[m], inputs["panel"]))
        results[f"m{m}"] = stats
        m_used, n = models[m].bootstrap_sizes_ or (0, 1)
        rows.append(
            f"| {args.run.name or 'default'} | {n:,} | {m_used:,} | {m_used / n:.2f} | "
            f"{stats['logodds_median_ratio']:.3f} "
            f"({stats['logodds_ratio_p10']:.2f}–{stats['logodds_ratio_p90']:.2f}) | "
            f"{stats['logodds_pearson']:.3f} / {stats['logodds_spearman']:.3f} | "
            f"{stats['points_median_ratio']:.3f} | {stats['points_pearson']:.3f} | "
            f"{stats['points_median_full']:.2f} → {stats['points_median_m']:.2f} | "
            f"{results['fit_s_mNone']:.0f} s → {results[f'fit_s_m{m}']:.0f} s |"
        )
    print(json.dumps(results, indent=2))
    table = "\n".join(rows)
    print(table)
    if args.out is not None:
        with args.out.open("a", encoding="utf-8") as fh:
            fh.write(table + "\n")


if __name__ == "__main__":
    main()
