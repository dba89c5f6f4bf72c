"""What changed since the last panel, and how fresh each agency's data is.

- The **published lists** are kept per panel date in an archive folder
  (``publish.archive``, default ``data/published/<panel_date>/cohort_list.csv``): the
  previous list is the latest one with a panel date before this one. It gives each
  listed person ``previous_rank`` and ``previous_risk_12m`` and names who has left.
- **Who left and why**, from the linked records at this panel date, in this order: no
  longer in the area's records (not among the linked persons); in custody beyond the
  release window; otherwise no proven offence within the cohort window.
- **What moved each person** between the two panel dates, from the linked events dated
  after the previous panel and on or before this one: new proven offences, new recorded
  offences, prison receptions and releases, a new needs assessment.
- **Data freshness**: per agency, the latest record date on or before the panel date; an
  agency whose records stop more than ``publish.freshness_warning_days`` before the panel
  date is flagged (its absence would read as "nothing happened").
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from iom_contract import PROVEN_OUTCOMES

logger = logging.getLogger(__name__)

ARCHIVE_FILE = "cohort_list.csv"
# Agency -> (linked table, date columns that say when something was recorded).
AGENCY_DATES: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "police": (("offences", ("offence_date", "outcome_date")),),
    "prison": (("custody", ("reception_date", "release_date")),),
    "probation": (
        ("orders", ("start_date", "end_date")),
        ("contacts", ("contact_date",)),
        ("assessments", ("assessment_date",)),
    ),
    "health": (("health", ("referral_date", "discharge_date")),),
    "housing": (("housing", ("event_date",)),),
}
LEFT_REASONS = (
    "no longer in the area's records",
    "in custody beyond the release window",
    "no proven offence in the cohort window",
)


def archive_list(cohort_csv: str, archive: Path, panel_date: str) -> Path:
    """Keep this published list as ``archive/<panel_date>/cohort_list.csv``."""
    path = Path(archive) / panel_date / ARCHIVE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(cohort_csv, encoding="utf-8", newline="")
    return path


def read_previous_list(
    archive: Path | None, panel_date: pd.Timestamp
) -> tuple[pd.DataFrame | None, str | None]:
    """The latest archived list with a panel date before ``panel_date``, and that date.

    Folders whose name is not a date, or lists missing the columns needed, are skipped
    with a warning naming them (nothing else is read from them).
    """
    if archive is None or not Path(archive).is_dir():
        return None, None
    dated = []
    for folder in Path(archive).iterdir():
        try:
            day = pd.Timestamp(folder.name)
        except ValueError:
            logger.warning("%s: not a panel date (YYYY-MM-DD); skipped", folder)
            continue
        if day < pd.Timestamp(panel_date) and (folder / ARCHIVE_FILE).exists():
            dated.append((day, folder / ARCHIVE_FILE))
    if not dated:
        return None, None
    day, path = max(dated)
    try:
        frame = pd.read_csv(path, dtype={"pseudo_id": "str"}, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        logger.warning("%s: not a readable CSV (%s); not used as the previous list", path, exc)
        return None, None
    need = ("pseudo_id", "rank", "risk_12m", "suggested_tier")
    missing = [c for c in need if c not in frame]
    if missing:
        logger.warning("%s: missing column(s) %s; not used as the previous list", path, ", ".join(missing))
        return None, None
    frame["rank"] = pd.to_numeric(frame["rank"], errors="coerce").astype("Int64")
    frame["risk_12m"] = pd.to_numeric(frame["risk_12m"], errors="coerce")
    return frame, day.date().isoformat()


def left_list(
    previous_list: pd.DataFrame | None,
    cohort: pd.DataFrame,
    persons: pd.DataFrame,
    custody: pd.DataFrame | None,
    panel_date: pd.Timestamp,
) -> pd.DataFrame:
    """People on the previous list who are not on this one, with the reason (see module docstring)."""
    cols = ["pseudo_id", "previous_rank", "previous_tier", "reason"]
    if previous_list is None or previous_list.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in cols})
    gone = previous_list.loc[~previous_list["pseudo_id"].isin(cohort["pseudo_id"])]
    ids = gone["pseudo_id"].astype("str")
    known = ids.isin(persons["pseudo_id"]).to_numpy()
    inside = np.zeros(len(gone), dtype=bool)
    if custody is not None and not custody.empty:
        t = pd.Timestamp(panel_date)
        release = pd.to_datetime(custody["release_date"])
        open_at = (pd.to_datetime(custody["reception_date"]) <= t) & (release.isna() | (release > t))
        inside = ids.isin(custody.loc[open_at.to_numpy(), "pseudo_id"]).to_numpy()
    reason = np.select([~known, inside], LEFT_REASONS[:2], LEFT_REASONS[2])
    return (
        pd.DataFrame(
            {
                "pseudo_id": ids.to_numpy(),
                "previous_rank": gone["rank"].to_numpy(),
                "previous_tier": gone["suggested_tier"].astype("str").to_numpy(),
                "reason": reason,
            }
        )
        .sort_values("previous_rank")
        .reset_index(drop=True)
    )


def _count_between(
    frame: pd.DataFrame | None,
    column: str,
    ids: pd.Series,
    start: pd.Timestamp,
    end: pd.Timestamp,
    mask: np.ndarray | None = None,
) -> np.ndarray:
    if frame is None or frame.empty or column not in frame:
        return np.zeros(len(ids), dtype=np.int64)
    day = pd.to_datetime(frame[column])
    keep = ((day > start) & (day <= end)).to_numpy()
    if mask is not None:
        keep = keep & mask
    counts = frame.loc[keep, "pseudo_id"].value_counts()
    return ids.map(counts).fillna(0).to_numpy(dtype=np.int64)


def _n_phrase(n: np.ndarray, one: str, many: str) -> np.ndarray:
    text = pd.Series(n).astype(str).to_numpy(dtype=object) + " " + np.where(n == 1, one, many).astype(object)
    return np.where(n > 0, text, "")


def what_changed(
    cohort: pd.DataFrame, linked: dict[str, pd.DataFrame | None], since: str | None, panel_date: pd.Timestamp
) -> pd.Series:
    """Per listed person, a line of what happened between the previous panel and this one.

    Empty when there was no previous panel or nothing was recorded.
    """
    if since is None:
        return pd.Series("", index=cohort.index, dtype="str")
    start, end = pd.Timestamp(since), pd.Timestamp(panel_date)
    ids = cohort["pseudo_id"].astype("str")
    off = linked.get("offences")
    proven = off["outcome"].astype("str").isin(PROVEN_OUTCOMES).to_numpy() if off is not None else None
    parts = [
        _n_phrase(
            _count_between(off, "outcome_date", ids, start, end, proven),
            "new proven offence",
            "new proven offences",
        ),
        _n_phrase(
            _count_between(off, "offence_date", ids, start, end),
            "new recorded offence",
            "new recorded offences",
        ),
        np.where(
            _count_between(linked.get("custody"), "reception_date", ids, start, end) > 0,
            "received into prison",
            "",
        ),
        np.where(
            _count_between(linked.get("custody"), "release_date", ids, start, end) > 0,
            "released from prison",
            "",
        ),
        np.where(
            _count_between(linked.get("assessments"), "assessment_date", ids, start, end) > 0,
            "new needs assessment",
            "",
        ),
    ]
    text = np.full(len(ids), "", dtype=object)
    for p in parts:
        p = np.asarray(p, dtype=object)
        sep = np.where((text != "") & (p != ""), "; ", "")
        text = text + sep + p
    return pd.Series(text, index=cohort.index, dtype="str")


def data_freshness(
    linked: dict[str, pd.DataFrame | None], panel_date: pd.Timestamp, warning_days: int
) -> list[dict[str, Any]]:
    """Per agency: the latest record date on or before the panel date, days before it, and a warning flag."""
    t = pd.Timestamp(panel_date)
    out = []
    for agency, sources in AGENCY_DATES.items():
        latest = pd.NaT
        for table, columns in sources:
            frame = linked.get(table)
            if frame is None or frame.empty:
                continue
            for col in columns:
                if col in frame:
                    day = pd.to_datetime(frame[col])
                    m = day[day <= t].max()
                    if pd.notna(m) and (pd.isna(latest) or m > latest):
                        latest = m
        gap = None if pd.isna(latest) else int((t - pd.Timestamp(latest)).days)
        out.append(
            {
                "agency": agency,
                "latest_record": None if pd.isna(latest) else pd.Timestamp(latest).date().isoformat(),
                "days_before_panel": gap,
                "stale": gap is None or gap > warning_days,
            }
        )
    return out
