"""Pairs each prediction blocking rule makes, on one run folder's validated tables.

Builds the two sides of the link's first pass exactly as ``linkage.link_identities``
does (agency identities that only personal details can link, against the police
nominals), and counts, per rule in ``link.prediction_blocks``, the pairs it blocks
(:func:`linkage.model.blocked_pair_count`, linear in the records) and the largest block;
then the people per postcode district on each side.

    python benchmarks/count_link_blocks.py benchmarks/runs/n200000 [--json out.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd
import yaml

from linkage.core import IDENTITY_COLUMNS, link_sides
from linkage.model import blocked_pair_count
from linkage.params import LinkParams
from linkage.standardise import linkage_keys
from pipelines.link import read_validated


def sides(run: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Both sides of the link exactly as the link stage builds them (:func:`linkage.core.link_sides`)."""
    nominals, _, _, agency = link_sides(read_validated(run / "data" / "validated", IDENTITY_COLUMNS))
    left = linkage_keys(agency)
    right = linkage_keys(nominals.assign(unique_id="police:" + nominals["pnc_id"]))
    return left, right


def largest_block(left: pd.DataFrame, right: pd.DataFrame, rule: tuple[str, ...]) -> int:
    cols = list(rule)
    n_l = left.groupby(cols, dropna=True, observed=True, sort=False).size()
    n_r = right.groupby(cols, dropna=True, observed=True, sort=False).size()
    both = pd.concat([n_l.rename("l"), n_r.rename("r")], axis=1, join="inner")
    return int((both["l"] * both["r"]).max()) if len(both) else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    raw = yaml.safe_load((args.run / "params.yaml").read_text()).get("link", {}) or {}
    params = LinkParams.model_validate({k: v for k, v in raw.items() if k in LinkParams.model_fields})
    left, right = sides(args.run)
    out: dict[str, object] = {"run": str(args.run), "n_left": len(left), "n_right": len(right), "rules": []}
    print(f"{args.run}: {len(left):,} agency identities x {len(right):,} police nominals")
    total = 0
    for rule in params.prediction_blocks:
        n = blocked_pair_count(left, right, rule)
        big = largest_block(left, right, rule)
        total += n
        # Pairs per agency record per 1,000,000 police nominals: for a rule whose keys do not
        # grow with the people (a date of birth and a name), pairs per record grow with
        # the nominals at this rate; for one keyed on a district that grows, they do not.
        per_m = n / len(left) / len(right) * 1e6 if len(left) and len(right) else 0.0
        out["rules"].append(  # type: ignore[attr-defined]
            {"rule": "+".join(rule), "pairs": n, "largest_block": big, "pairs_per_record_per_1m": per_m}
        )
        print(
            f"  {'+'.join(rule):50s} {n:>12,} pairs  largest block {big:>9,}  per record per 1M {per_m:6.2f}"
        )
    print(f"  {'sum over rules (before dedup)':50s} {total:>12,}")
    for name, side in (("agency", left), ("police", right)):
        per = side["postcode_district"].value_counts()
        print(
            f"  {name}: {len(per)} districts, records per district "
            f"median {per.median():,.0f}, max {per.max():,}"
        )
        out[f"{name}_districts"] = len(per)
        out[f"{name}_per_district_max"] = int(per.max())
    out["sum_pairs"] = total
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
