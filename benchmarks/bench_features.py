"""Benchmark the features stage on scaled synthetic linked tables: seconds and peak RSS.

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_features.py --persons 20000 --train-start 2016-03-31
    .venv/bin/python benchmarks/bench_features.py --persons 1000000 --one-date
    .venv/bin/python benchmarks/bench_features.py --persons 200000 --one-date --compare-duckdb

The synthetic tables have the linked shape (docs/interfaces.md) and roughly the
volumes of the simulator's default extract per person (10 offences, 20 probation
contacts ...); they are not realistic careers, only realistic sizes. The build runs in
a child process so that its peak RSS excludes the generator.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

# Run as a script from anywhere: make the repository's packages importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from iom_contract import (
    CONTACT_OUTCOMES,
    DISCHARGE_REASONS,
    ETHNICITY,
    HEALTH_SERVICES,
    HOUSING_EVENTS,
    NEEDS,
    OFFENCE_GROUPS,
    ORDER_TYPES,
    OUTCOMES,
    RELEASE_TYPES,
    SEX,
)

HISTORY_START = pd.Timestamp("2005-01-01")
# Mean records per person in each table.
RATES = {
    "offences": 10.0,
    "custody": 0.4,
    "orders": 1.2,
    "assessments": 2.0,
    "contacts": 20.0,
    "health": 0.5,
    "housing": 1.0,
}


def _dates(rng: np.random.Generator, n: int, start: pd.Timestamp, end: pd.Timestamp) -> np.ndarray:
    lo, hi = start.to_datetime64().astype("datetime64[D]"), end.to_datetime64().astype("datetime64[D]")
    span = int((hi - lo).astype(np.int64))
    return lo + rng.integers(0, span + 1, n).astype("timedelta64[D]")


def _ms(days: np.ndarray) -> np.ndarray:
    return days.astype("datetime64[ms]")


def synthetic_linked(n_persons: int, extract_date: pd.Timestamp, seed: int = 0) -> dict[str, pd.DataFrame]:
    """Linked tables for ``n_persons`` synthetic people, nothing dated after ``extract_date``."""
    rng = np.random.default_rng(seed)
    ext = extract_date.to_datetime64().astype("datetime64[D]")
    ids = pd.array([f"P{x:09x}" for x in rng.permutation(16 * n_persons)[:n_persons]], dtype="str")
    birth = _dates(rng, n_persons, pd.Timestamp("1950-01-01"), pd.Timestamp("2006-12-31")).astype(
        "datetime64[M]"
    )
    persons = pd.DataFrame(
        {
            "pseudo_id": ids,
            "birth_month": _ms(birth.astype("datetime64[D]")),
            "sex": pd.array(rng.choice(SEX, n_persons), dtype="str"),
            "ethnicity": pd.array(rng.choice(ETHNICITY, n_persons), dtype="str"),
        }
    )

    def owners(table: str) -> np.ndarray:
        counts = rng.poisson(RATES[table], n_persons)
        return np.repeat(np.arange(n_persons), counts)

    who = owners("offences")
    n = len(who)
    off_day = _dates(rng, n, HISTORY_START, extract_date)
    outcome = rng.choice(OUTCOMES, n, p=[0.45, 0.1, 0.1, 0.3, 0.05])
    out_day = off_day + rng.geometric(1 / 90, n).astype("timedelta64[D]")
    pending = (outcome == "pending") | (out_day > ext)
    outcome = np.where(pending, "pending", outcome)
    offences = pd.DataFrame(
        {
            "pseudo_id": ids[who],
            "offence_id": pd.array([f"O{i}" for i in range(n)], dtype="str"),
            "offence_date": _ms(off_day),
            "offence_group": pd.array(rng.choice(OFFENCE_GROUPS, n), dtype="str"),
            "domestic_abuse": rng.random(n) < 0.1,
            "gravity": pd.array(rng.integers(1, 7, n), dtype="Int64"),
            "outcome": pd.array(outcome, dtype="str"),
            "outcome_date": pd.Series(_ms(out_day)).where(~pending),
        }
    )

    who = owners("custody")
    n = len(who)
    rec = _dates(rng, n, HISTORY_START, extract_date)
    rel = rec + rng.integers(7, 900, n).astype("timedelta64[D]")
    inside = rel > ext
    custody = pd.DataFrame(
        {
            "pseudo_id": ids[who],
            "episode_id": pd.array([f"C{i}" for i in range(n)], dtype="str"),
            "reception_date": _ms(rec),
            "release_date": pd.Series(_ms(rel)).where(~inside),
            "expected_release_date": pd.Series(_ms(rel)).where(inside),
            "release_type": pd.Series(pd.array(rng.choice(RELEASE_TYPES, n), dtype="str")).where(~inside),
        }
    )

    who = owners("orders")
    n = len(who)
    start = _dates(rng, n, HISTORY_START, extract_date)
    orders = pd.DataFrame(
        {
            "pseudo_id": ids[who],
            "order_id": pd.array([f"R{i}" for i in range(n)], dtype="str"),
            "order_type": pd.array(rng.choice(ORDER_TYPES, n), dtype="str"),
            "start_date": _ms(start),
            "end_date": _ms(start + rng.integers(90, 1100, n).astype("timedelta64[D]")),
            "breached": rng.random(n) < 0.25,
        }
    )

    who = owners("assessments")
    n = len(who)
    assessments = pd.DataFrame(
        {"pseudo_id": ids[who], "assessment_date": _ms(_dates(rng, n, HISTORY_START, extract_date))}
    )
    for need in NEEDS:
        assessments[need] = pd.Series(pd.array(rng.integers(0, 3, n), dtype="Int64")).where(
            rng.random(n) > 0.05
        )

    who = owners("contacts")
    n = len(who)
    contacts = pd.DataFrame(
        {
            "pseudo_id": ids[who],
            "contact_date": _ms(_dates(rng, n, HISTORY_START, extract_date)),
            "outcome": pd.array(rng.choice(CONTACT_OUTCOMES, n, p=[0.8, 0.1, 0.1]), dtype="str"),
        }
    )

    who = owners("health")
    n = len(who)
    ref = _dates(rng, n, HISTORY_START, extract_date)
    dis = ref + rng.integers(14, 500, n).astype("timedelta64[D]")
    still_open = dis > ext
    health = pd.DataFrame(
        {
            "pseudo_id": ids[who],
            "service": pd.array(rng.choice(HEALTH_SERVICES, n), dtype="str"),
            "referral_date": _ms(ref),
            "discharge_date": pd.Series(_ms(dis)).where(~still_open),
            "discharge_reason": pd.Series(pd.array(rng.choice(DISCHARGE_REASONS, n), dtype="str")).where(
                ~still_open
            ),
        }
    )

    who = owners("housing")
    n = len(who)
    housing = pd.DataFrame(
        {
            "pseudo_id": ids[who],
            "event_date": _ms(_dates(rng, n, HISTORY_START, extract_date)),
            "event_type": pd.array(rng.choice(HOUSING_EVENTS, n), dtype="str"),
        }
    )
    return {
        "persons": persons,
        "offences": offences,
        "custody": custody,
        "orders": orders,
        "assessments": assessments,
        "contacts": contacts,
        "health": health,
        "housing": housing,
    }


def _peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # KiB on Linux


def _child(folder: Path, args: argparse.Namespace) -> None:
    """Read the tables and build features; print a JSON line of timings."""
    from features import FeatureParams, encode_tables, features_from_encoded
    from features.asof import all_as_of_dates, as_of_dates
    from pipelines.features import read_linked

    t0 = time.perf_counter()
    tables = read_linked(folder)  # as the stage reads them: only the columns used
    t_read = time.perf_counter() - t0
    extract = pd.Timestamp(args.extract_date)
    params = FeatureParams(train_start=args.train_start)
    train, panel = as_of_dates(params, extract)
    dates = [panel] if args.one_date else all_as_of_dates(train, panel)
    t1 = time.perf_counter()
    enc = encode_tables(tables)
    t_encode = time.perf_counter() - t1
    del tables
    t2 = time.perf_counter()
    rows = 0
    for d in dates:
        rows += len(features_from_encoded(enc, d, params, extract, is_panel_date=d == panel))
    t_build = time.perf_counter() - t2
    result = {
        "dates": len(dates),
        "rows": rows,
        "read_s": round(t_read, 2),
        "encode_s": round(t_encode, 2),
        "build_s": round(t_build, 2),
        "features_s": round(t_encode + t_build, 2),
        "peak_rss_gib": round(_peak_rss_gib(), 2),
    }
    if args.compare_duckdb:
        del enc
        result.update(_compare_duckdb(folder, panel))
    print(json.dumps(result))


def _compare_duckdb(folder: Path, as_of: pd.Timestamp) -> dict:
    """Time the offence block (counts by window, groups, gravity, first sanction, recency) both ways.

    Same inputs in memory (persons and offences frames) for both: numpy = encode the
    two tables once + the block for one date; DuckDB = one GROUP BY query with FILTER
    aggregates over the pandas frame. The per-extra-date cost is the block alone for
    numpy and the whole query again for DuckDB.
    """
    import duckdb

    from features.build import _Dates, _offending
    from features.encode import encode_tables
    from pipelines.features import read_linked

    tables = read_linked(folder)
    persons, offences = tables["persons"], tables["offences"]
    del tables
    windows = (3, 12, 36)
    t0 = time.perf_counter()
    enc = encode_tables({"persons": persons, "offences": offences})
    t1 = time.perf_counter()
    _offending(enc, _Dates(as_of, sorted({*windows, 12})), windows)
    t2 = time.perf_counter()

    t = as_of.date()
    aggs: list[str] = []
    args: list[object] = [t, t]
    for w in windows:
        start = (as_of - pd.DateOffset(months=w)).date()
        aggs += [
            "count(*) FILTER (WHERE offence_date > ?)",
            "count(*) FILTER (WHERE offence_date > ? AND proven)",
            "count(*) FILTER (WHERE offence_date > ? AND domestic_abuse)",
        ]
        args += [start] * 3
    for grp in OFFENCE_GROUPS:
        aggs.append("count(*) FILTER (WHERE proven AND offence_group = ?)")
        args.append(grp)
    sql = (
        "WITH o AS (SELECT *, outcome IN ('convicted', 'caution') AND outcome_date <= ? AS proven "
        "FROM offences WHERE offence_date <= ?) "
        f"SELECT pseudo_id, {', '.join(aggs)}, count(*), max(gravity) FILTER (WHERE proven), "
        "min(outcome_date) FILTER (WHERE proven), max(offence_date) FROM o GROUP BY pseudo_id"
    )
    con = duckdb.connect()
    con.register("offences", offences)
    t3 = time.perf_counter()
    con.execute(sql, args).fetch_df()
    t4 = time.perf_counter()
    return {
        "offence_block_numpy_encode_s": round(t1 - t0, 2),
        "offence_block_numpy_per_date_s": round(t2 - t1, 2),
        "offence_block_duckdb_per_date_s": round(t4 - t3, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--persons", type=int, default=20_000)
    ap.add_argument("--extract-date", default="2026-10-31")
    ap.add_argument("--train-start", default="2016-03-31")
    ap.add_argument("--one-date", action="store_true", help="build the panel date only")
    ap.add_argument("--compare-duckdb", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(args.child, args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        tables = synthetic_linked(args.persons, pd.Timestamp(args.extract_date), seed=args.seed)
        for name, df in tables.items():
            df.to_parquet(folder / f"{name}.parquet", index=False)
        sizes = {name: len(df) for name, df in tables.items()}
        del tables
        gen_s = time.perf_counter() - t0
        cmd = [sys.executable, __file__, "--child", str(folder), *sys.argv[1:]]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True)
        result = json.loads(out.stdout.strip().splitlines()[-1])
    result = {"persons": args.persons, "rows_in": sizes, "generate_s": round(gen_s, 1), **result}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
