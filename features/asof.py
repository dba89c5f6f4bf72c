"""As-of dates and time windows: the one module where the temporal split is decided.

Every date rule the features stage applies lives here, so that "what could be known at
``t``" has one definition:

* training as-of dates are quarter ends from ``train_start`` to the last date whose
  label window is complete (contract: ``t + 365 + 183 days <= extract_date``);
* the panel date (default: the extract date) is scored but has no label;
* a look-back window of ``k`` months at ``t`` is the half-open interval
  ``(t - k months, t]``;
* no feature looks back further than ``history_months`` (the history window), and
  every training as-of date must have that much record history before it: the
  records start (``records_start``) is on or before ``t - history_months``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import pandas as pd

from features.params import FeatureParams
from iom_config import IomError
from iom_contract import LABEL_PROOF_DAYS, LABEL_WINDOW_DAYS

logger = logging.getLogger(__name__)

# A label at t needs the 365-day reoffending window plus 183 days for the offence to be
# proven. Worked example: t = 2024-03-31 -> window ends 2025-03-31, proof deadline
# 2025-09-30; the label is complete only for an extract pulled on or after 2025-09-30.
LABEL_HORIZON_DAYS = LABEL_WINDOW_DAYS + LABEL_PROOF_DAYS


class TemporalWindowError(IomError, ValueError):
    """An as-of date or window that cannot exist for this extract."""


def _ts(value: object) -> pd.Timestamp:
    ts = pd.Timestamp(value)  # type: ignore[arg-type]
    if ts is pd.NaT:
        raise TemporalWindowError("a date is missing (NaT)")
    return ts.normalize()


def last_complete_date(extract_date: pd.Timestamp) -> pd.Timestamp:
    """The latest as-of date whose label window is complete at ``extract_date``."""
    return _ts(extract_date) - pd.Timedelta(days=LABEL_HORIZON_DAYS)


def is_label_complete(as_of: pd.Timestamp, extract_date: pd.Timestamp) -> bool:
    """Whether the contract label at ``as_of`` can be decided from an extract pulled on ``extract_date``."""
    return _ts(as_of) + pd.Timedelta(days=LABEL_HORIZON_DAYS) <= _ts(extract_date)


def window_start(as_of: pd.Timestamp, months: int) -> pd.Timestamp:
    """Exclusive lower bound of the ``months``-month window ending at ``as_of``.

    The window is ``(as_of - months, as_of]``. Worked example: 12 months at 2024-03-31
    starts after 2023-03-31, so an offence on 2023-03-31 is outside and one on
    2023-04-01 inside. Month arithmetic clips to month ends (24 months before
    2024-02-29 is 2022-02-28).
    """
    if months < 1:
        raise TemporalWindowError(f"a window must be at least one month (got {months})")
    return _ts(as_of) - pd.DateOffset(months=months)


def check_as_of(as_of: pd.Timestamp, extract_date: pd.Timestamp) -> None:
    """Raise when an as-of date lies after the extract date (nothing is known about it)."""
    if _ts(as_of) > _ts(extract_date):
        raise TemporalWindowError(
            f"as-of date {_ts(as_of).date()} is after the extract date {_ts(extract_date).date()}: "
            "the extract holds nothing about that day"
        )


def quarter_ends(start: pd.Timestamp, end: pd.Timestamp) -> list[pd.Timestamp]:
    """Quarter ends ``q`` with ``start <= q <= end``."""
    return list(pd.date_range(_ts(start), _ts(end), freq="QE", unit="ms"))


def records_start(tables: Mapping[str, pd.DataFrame]) -> pd.Timestamp | None:
    """When the extract's record history starts: the earliest police offence date.

    The police system holds the nominal index and the offending history that the
    career features count, and the offences table is the one every extract has; other
    agencies' tables are optional and may be sparse, and a prison table may hold people
    received before the police records start. A manifest ``records_start`` (when the
    agencies state it) is better than this inference. None when no offence is dated.
    """
    offences = tables.get("offences")
    if offences is None or "offence_date" not in offences or not offences["offence_date"].notna().any():
        return None
    return _ts(offences["offence_date"].min())


def history_start(as_of: pd.Timestamp, history_months: int) -> pd.Timestamp:
    """Exclusive lower bound of the history window at ``as_of`` (as ``window_start``)."""
    return window_start(as_of, history_months)


def check_history(
    dates: Sequence[pd.Timestamp],
    history_months: int,
    start: pd.Timestamp,
    source: str = "the earliest offence in the extract",
) -> None:
    """Raise when an as-of date has less than ``history_months`` of records before it.

    A date ``t`` needs ``start <= t - history_months``: otherwise its career features
    see a shorter span than later dates' and the model reads the difference as a change
    in risk. Worked example: records from 2016-11-15 and 60 months -> the earliest
    allowed as-of date is 2021-11-15, so the first allowed quarter end is 2021-12-31.

    Raises
    ------
    TemporalWindowError
        Naming the dates concerned and the earliest allowed quarter end.
    """
    start = _ts(start)
    short = [d for d in dates if history_start(d, history_months) < start]
    if not short:
        return
    earliest = (start + pd.DateOffset(months=history_months)).normalize()
    first_ok = quarter_ends(earliest, earliest + pd.DateOffset(months=3))[0]
    names = ", ".join(str(_ts(d).date()) for d in short[:6]) + (" ..." if len(short) > 6 else "")
    raise TemporalWindowError(
        f"{len(short)} as-of date(s) ({names}) have less than history_months={history_months} months "
        f"of records before them: records start on {start.date()} ({source}), so the earliest "
        f"as-of date with a full history window is {earliest.date()}. Set features.train_start to "
        f"{first_ok.date()} or later, lower features.history_months, or use an extract holding more years"
    )


def as_of_dates(
    params: FeatureParams,
    extract_date: pd.Timestamp,
    records_from: pd.Timestamp | None = None,
    source: str = "the earliest offence in the extract",
) -> tuple[list[pd.Timestamp], pd.Timestamp]:
    """Training as-of dates (labels complete) and the panel date (no label).

    Parameters
    ----------
    params
        ``train_start``, ``panel_date`` and ``history_months`` are read.
    extract_date
        The day the extract was pulled.
    records_from
        When the extract's records start (``records_start``); given, every as-of date
        must have ``history_months`` of records before it.
    source
        What ``records_from`` is, for the error message.

    Returns
    -------
    train_dates, panel_date
        Quarter ends from ``train_start`` to the last label-complete date, and the
        panel date (``params.panel_date`` or the extract date).

    Raises
    ------
    TemporalWindowError
        When no quarter end has a complete label (``train_start`` too late or the
        extract covers too little time), the panel date is after the extract date, or
        an as-of date lacks ``history_months`` of records before it.

    Examples
    --------
    With an extract pulled on 2026-10-31 the last complete date is 2025-05-01
    (2026-10-31 minus 548 days), so the last training quarter end is 2025-03-31.
    """
    extract = _ts(extract_date)
    start = _ts(params.train_start)
    last = last_complete_date(extract)
    if start > last:
        raise TemporalWindowError(
            f"train_start {start.date()} is after {last.date()}, the last as-of date whose 12-month "
            f"reoffending label (plus {LABEL_PROOF_DAYS} days to prove it) is complete in an extract "
            f"pulled on {extract.date()}: move train_start earlier"
        )
    train = quarter_ends(start, last)
    if not train:
        raise TemporalWindowError(f"no quarter end between {start.date()} and {last.date()}")
    panel = extract if params.panel_date is None else _ts(params.panel_date)
    if panel > extract:
        raise TemporalWindowError(
            f"panel_date {panel.date()} is after the extract date {extract.date()}: a panel cannot be "
            "scored on data that has not been pulled yet"
        )
    if records_from is not None:
        check_history([*train, panel], params.history_months, records_from, source)
    logger.debug(
        "as-of dates: %d training quarters %s..%s, panel %s",
        len(train),
        train[0].date(),
        train[-1].date(),
        panel.date(),
    )
    return train, panel


def all_as_of_dates(train_dates: Sequence[pd.Timestamp], panel_date: pd.Timestamp) -> list[pd.Timestamp]:
    """Training dates plus the panel date, sorted, each once."""
    return sorted({_ts(d) for d in [*train_dates, panel_date]})
