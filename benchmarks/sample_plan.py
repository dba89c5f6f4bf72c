"""What the sample-size benchmarks share: their sizes-and-seeds options and the order of the fits.

``bench_train_sample.py`` (``train.sample_persons``) and ``bench_typology_sample.py``
(``typology.fit_sample``) refit one step at several sample sizes and seeds and compare each fit
with the largest size's at the stage's own seed (the reference).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pandas as pd


def add_sample_arguments(ap: argparse.ArgumentParser, seed_param: str, result: Path) -> None:
    """The options both benchmarks take (``seed_param``: the params key that ``--seeds`` varies)."""
    ap.add_argument(
        "--run", type=Path, required=True, help="a pipeline folder (data/features, data/linked ...)"
    )
    ap.add_argument(
        "--sizes", type=int, nargs="+", required=True, help="people; the largest is the reference"
    )
    ap.add_argument("--seeds", type=int, nargs="*", default=[], help=f"further {seed_param} values")
    ap.add_argument(
        "--seed-sizes",
        type=int,
        nargs="*",
        default=None,
        help="sizes refitted per further seed (default: the ref)",
    )
    ap.add_argument("--cache", type=Path, default=None, help="per-fit results: a stopped run resumes")
    ap.add_argument("--out", type=Path, default=result, help="the Markdown table (and .json beside it)")


def fit_order(
    sizes: list[int], seeds: list[int], seed_sizes: list[int] | None, base_seed: int
) -> tuple[tuple[int, int], list[tuple[int, int]]]:
    """The reference ``(largest size, base_seed)`` and every ``(size, seed)`` to fit, in order.

    The reference first, then its refits with the further seeds (the seed floor), then the
    smaller sizes (largest first), then the smaller sizes' seed refits: the most telling fits
    finish first. ``seed_sizes`` (default: the reference's size) are refitted per further seed.
    """
    ref = (max(sizes), base_seed)
    refit = [ref[0]] if seed_sizes is None else seed_sizes
    order = [ref]
    order += [(ref[0], s) for s in seeds if ref[0] in refit]
    order += [(n, base_seed) for n in sorted(set(sizes), reverse=True) if n != ref[0]]
    order += [(n, s) for n in sorted(set(refit), reverse=True) if n != ref[0] for s in seeds]
    return ref, order


def read_fit(cache: Path | None, stem: str) -> tuple[dict[str, Any], pd.DataFrame] | None:
    """A fit's row and frame kept in ``cache`` by :func:`keep_fit` (None when it is not there)."""
    if cache is None or not (cache / f"{stem}.json").exists():
        return None
    row = json.loads((cache / f"{stem}.json").read_text(encoding="utf-8"))
    return row, pd.read_parquet(cache / f"{stem}.parquet")


def keep_fit(cache: Path | None, stem: str, row: dict[str, Any], frame: pd.DataFrame) -> None:
    """Keep a fit's row (JSON) and frame (Parquet) in ``cache``, so a stopped run resumes."""
    if cache is None:
        return
    cache.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(cache / f"{stem}.parquet")
    (cache / f"{stem}.json").write_text(json.dumps(row) + "\n", encoding="utf-8")


def write_results(out: Path, rows: list[dict[str, Any]], pairs: list[dict[str, Any]], markdown: str) -> None:
    """The Markdown table at ``out`` and the rows and seed pairs as JSON beside it."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(
        json.dumps({"rows": rows, "same_size_seed_pairs": pairs}, indent=2) + "\n", encoding="utf-8"
    )
    out.write_text(markdown, encoding="utf-8")
