"""Earlier panels' decisions: the previous list, movement since it, and override rates.

The previous panel is the latest ``panel_date`` in ``panel_decisions`` strictly before
this list's panel date. Its decisions give each person on this list:

- ``new_to_list``: the person has no decision at the previous panel (was not on its list);
- ``previous_tier``: what that panel decided for them (``red``, ``amber``, ``green`` or
  ``not_adopted``);
- ``tier_movement``: this list's suggested tier against that decided tier, ``up``,
  ``down`` or ``same``, and ``new`` for people new to the list.

Tier order for movement: red > amber > green > not_adopted. ``not_adopted`` (the panel
chose not to take the person onto IOM) counts as *below* green, because green is still
managed, at the lowest intensity: someone not adopted last time and suggested green now
has moved ``up`` (worked example: previous decided ``not_adopted``, suggested ``green``
-> ``up``; previous ``amber``, suggested ``amber`` -> ``same``).

With no earlier panel at all (the first panel, or an extract without
``panel_decisions``), everyone is ``new_to_list`` with movement ``new``.

An override is a decision whose ``decided_tier`` differs from the ``suggested_tier``;
``not_adopted`` for anyone is an override (downwards).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from iom_contract import DECIDED_TIERS, TIERS
from iom_contract import table as contract_table

logger = logging.getLogger(__name__)

MOVEMENTS = ("up", "down", "same", "new")
# Higher is more intensive management; not_adopted sits below green (see module docstring).
TIER_LEVEL: dict[str, int] = {"red": 3, "amber": 2, "green": 1, "not_adopted": 0}
DECISION_COLUMNS: tuple[str, ...] = contract_table("panel_decisions").column_names


def read_decisions(linked: Path) -> pd.DataFrame | None:
    """``linked/panel_decisions.parquet`` when the extract carried one, else None."""
    path = Path(linked) / "panel_decisions.parquet"
    if not path.exists():
        return None
    frame = pd.read_parquet(path)
    missing = [c for c in DECISION_COLUMNS if c not in frame]
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(missing)}")
    return frame


def _levels(tiers: pd.Series) -> np.ndarray:
    return tiers.astype("str").map(TIER_LEVEL).to_numpy(dtype="float64", na_value=np.nan)


def previous_panel(decisions: pd.DataFrame | None, panel_date: pd.Timestamp) -> pd.DataFrame:
    """The decisions of the latest panel strictly before ``panel_date`` (empty when none).

    A person decided on twice at that panel keeps the last row as written.
    """
    if decisions is None or decisions.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in DECISION_COLUMNS})
    dates = pd.to_datetime(decisions["panel_date"])
    earlier = dates < pd.Timestamp(panel_date)
    if not earlier.any():
        return decisions.iloc[:0].copy()
    last = dates[earlier].max()
    rows = decisions.loc[(dates == last).to_numpy()]
    n_dupes = int(rows["pseudo_id"].duplicated().sum())
    if n_dupes:
        logger.warning("panel %s: %d people decided twice; keeping the last row", last.date(), n_dupes)
    return rows.drop_duplicates("pseudo_id", keep="last").reset_index(drop=True)


def movement(listed: pd.DataFrame, previous: pd.DataFrame) -> pd.DataFrame:
    """``new_to_list``, ``previous_tier`` and ``tier_movement`` for each listed person.

    Parameters
    ----------
    listed
        This list: ``pseudo_id`` and ``suggested_tier``.
    previous
        The previous panel's decisions (:func:`previous_panel`); empty for a first panel.

    Returns
    -------
    pandas.DataFrame
        Same index as ``listed``; ``new_to_list`` (bool), ``previous_tier`` and
        ``tier_movement`` (categoricals over the contract's values, ``previous_tier``
        null for people new to the list).
    """
    prev = previous.set_index("pseudo_id")["decided_tier"].astype("str")
    before = listed["pseudo_id"].map(prev)
    new = before.isna().to_numpy()
    now_level = _levels(listed["suggested_tier"])
    before_level = _levels(before)
    move = np.select(
        [new, now_level > before_level, now_level < before_level],
        ["new", "up", "down"],
        default="same",
    )
    return pd.DataFrame(
        {
            "new_to_list": new,
            "previous_tier": pd.Categorical(before, categories=list(DECIDED_TIERS)),
            "tier_movement": pd.Categorical(move, categories=list(MOVEMENTS)),
        },
        index=listed.index,
    )


def override_rates(decisions: pd.DataFrame) -> dict[str, Any]:
    """Override figures of one panel's decisions.

    Returns
    -------
    dict
        ``n_decisions``, ``n_overrides``, ``override_rate`` (share with decided !=
        suggested, None when there are no decisions), ``overrides_up`` / ``overrides_down``
        (counts; ``not_adopted`` counts as down), ``by_suggested_tier``: per suggested
        tier ``{n, n_overrides, override_rate}``, and ``decided_counts``.
    """
    suggested = decisions["suggested_tier"].astype("str")
    decided = decisions["decided_tier"].astype("str")
    changed = (suggested != decided).to_numpy()
    s_level, d_level = _levels(suggested), _levels(decided)
    n = len(decisions)
    by_tier: dict[str, dict[str, Any]] = {}
    for tier in TIERS:
        mask = (suggested == tier).to_numpy()
        k = int(mask.sum())
        hits = int(changed[mask].sum())
        by_tier[tier] = {
            "n": k,
            "n_overrides": hits,
            "override_rate": round(hits / k, 4) if k else None,
        }
    return {
        "n_decisions": n,
        "n_overrides": int(changed.sum()),
        "override_rate": round(float(changed.mean()), 4) if n else None,
        "overrides_up": int((d_level > s_level).sum()),
        "overrides_down": int((d_level < s_level).sum()),
        "by_suggested_tier": by_tier,
        "decided_counts": {t: int((decided == t).sum()) for t in DECIDED_TIERS},
    }


def override_history(decisions: pd.DataFrame | None, before: pd.Timestamp) -> list[dict[str, Any]]:
    """Override rate of every panel before ``before``, oldest first."""
    if decisions is None or decisions.empty:
        return []
    dates = pd.to_datetime(decisions["panel_date"])
    out = []
    for day in sorted(dates[dates < pd.Timestamp(before)].unique()):
        rates = override_rates(decisions.loc[(dates == day).to_numpy()])
        out.append(
            {
                "panel_date": pd.Timestamp(day).date().isoformat(),
                "n_decisions": rates["n_decisions"],
                "override_rate": rates["override_rate"],
            }
        )
    return out
