"""Decisions from scores for :func:`fairness.audit_fairness`: the k highest, or the top share.

A tiering panel's decision is usually "the k highest risks" (a caseload) or "the top x%"
of the cohort. These helpers make that boolean decision from scores, within each
as-of date (``by``) when given, so an audit can be run on the rule rather than on a
hand-made mask. Ties are broken by row order (the first rows win), so the same scores
always give the same decision; missing scores are never selected.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd


def _ranks(scores: Any, by: Any) -> tuple[np.ndarray, np.ndarray]:
    """Rank of each row by descending score within its ``by`` group (1 = highest), and group sizes."""
    s = pd.Series(np.asarray(scores, dtype=np.float64))
    keys = pd.Series(np.zeros(len(s), dtype=np.int8) if by is None else np.asarray(by))
    if len(keys) != len(s):
        raise ValueError(f"by has {len(keys)} rows, scores {len(s)}")
    grouped = s.groupby(keys.to_numpy(), sort=False)
    ranks = grouped.rank(method="first", ascending=False).to_numpy()
    sizes = grouped.transform("count").to_numpy()
    return ranks, sizes


def top_k(scores: Any, k: int, by: Any = None) -> np.ndarray:
    """True for the ``k`` highest scores (within each ``by`` group when given).

    Examples
    --------
    >>> top_k([0.2, 0.9, 0.5, 0.9], 2).tolist()
    [False, True, False, True]
    >>> top_k([0.2, 0.9, 0.5, 0.7], 1, by=["a", "a", "b", "b"]).tolist()
    [False, True, False, True]
    """
    if k < 0:
        raise ValueError(f"k must be at least 0, got {k}")
    ranks, _ = _ranks(scores, by)
    return np.nan_to_num(ranks, nan=np.inf) <= k


def top_share(scores: Any, share: float, by: Any = None) -> np.ndarray:
    """True for the highest ``share`` of scores (rounded up to whole people, within each ``by`` group).

    Examples
    --------
    >>> top_share([0.1, 0.2, 0.3, 0.4, 0.5], 0.2).tolist()
    [False, False, False, False, True]
    >>> top_share([0.1, 0.2, 0.3, 0.4, 0.5], 0.3).tolist()  # 1.5 people: 2
    [False, False, False, True, True]
    """
    if not 0 <= share <= 1 or math.isnan(share):
        raise ValueError(f"share must be between 0 and 1, got {share}")
    ranks, sizes = _ranks(scores, by)
    return np.nan_to_num(ranks, nan=np.inf) <= np.ceil(share * sizes - 1e-9)
