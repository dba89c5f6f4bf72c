"""Deterministic links: prison and probation records that carry the police PNC ID.

A prison (noms_id) or probation (crn) record links to the police on its ``pnc_id``.
Rows where the agency left ``pnc_id`` empty inherit the PNC ID that the agency's
other rows for the same noms_id / crn carry; when those rows disagree (a mistyped
PNC ID on one order), the PNC ID carried most often wins, ties going to the most
recent row. Worked example: crn X123456 has three orders with pnc_id ``09/1K``,
null and ``09/1K`` -> all three rows belong to ``09/1K``; the null row is
"inherited" (method ``source_id``).
"""

from __future__ import annotations

import logging

import pandas as pd

from linkage.standardise import modal_value

logger = logging.getLogger(__name__)


def resolve_pnc(rows: pd.DataFrame, id_col: str) -> pd.DataFrame:
    """The PNC ID each agency id resolves to, from the rows that carry one.

    Parameters
    ----------
    rows
        The agency's rows: ``id_col``, ``pnc_id`` (nullable), ``source_row``.
    id_col
        ``noms_id`` or ``crn``.

    Returns
    -------
    pd.DataFrame
        One row per id, sorted: ``id_col``, ``pnc_id`` (null when no row carries one),
        ``method`` (``pnc_id`` when every row carried it, ``source_id`` when some rows
        inherited it through the agency id, null when unresolved), ``n_rows``,
        ``n_rows_inherited`` (null pnc_id, resolved through the id) and
        ``n_rows_conflicting`` (carrying a different PNC ID than the one chosen).
    """
    ids = rows[id_col].dropna().drop_duplicates().sort_values(ignore_index=True)
    out = pd.DataFrame({id_col: ids})
    mode = modal_value(rows, id_col, "pnc_id")
    n_rows = rows.groupby(id_col, sort=False).size()
    n_null = rows["pnc_id"].isna().groupby(rows[id_col], sort=False).sum()
    n_carrying = n_rows - n_null
    out["pnc_id"] = out[id_col].map(mode["pnc_id"]).astype("str")
    out["n_rows"] = out[id_col].map(n_rows).astype("int64")
    resolved = out["pnc_id"].notna()
    nulls = out[id_col].map(n_null).astype("int64")
    out["n_rows_inherited"] = nulls.where(resolved, 0).astype("int64")
    agreeing = out[id_col].map(mode["n"]).fillna(0).astype("int64")
    out["n_rows_conflicting"] = (out[id_col].map(n_carrying).astype("int64") - agreeing).astype("int64")
    out["method"] = pd.Series("pnc_id", index=out.index, dtype="str").where(
        out["n_rows_inherited"] == 0, "source_id"
    )
    out["method"] = out["method"].where(resolved)
    n_conflicts = int((out["n_rows_conflicting"] > 0).sum())
    if n_conflicts:
        logger.info("%d %s values carry conflicting PNC IDs; the most frequent was kept", n_conflicts, id_col)
    return out
