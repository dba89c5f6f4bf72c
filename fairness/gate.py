"""The fairness gate: whether the publish stage may go ahead after the audit.

Two modes, chosen in params (``fairness.gate``):

- ``report`` (default): flagged measures are shown in the report, MLflow and the panel
  pack, and publishing goes ahead.
- ``block``: when the audit flagged anything, publishing stops unless params carry a
  written sign-off (``fairness.sign_off: {by, date, measures, reason}``) that names
  every flagged measure. A sign-off is a person taking responsibility for a known
  disparity in writing; one that leaves a flagged measure out does not cover it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from iom_config import IomError

logger = logging.getLogger(__name__)

GATE_MODES = ("report", "block")
SIGN_OFF_KEYS = ("by", "date", "measures", "reason")


class GateBlocked(IomError):  # noqa: N818 (the name is the shared interface)
    """Publishing is blocked by the fairness gate; the message says what to do."""


def _as_mapping(params: Any) -> Mapping[str, Any]:
    if params is None:
        return {}
    if isinstance(params, Mapping):
        return params
    dump = getattr(params, "model_dump", None)  # a pydantic params model
    if callable(dump):
        return dict(dump())
    raise TypeError(f"fairness params must be a mapping, got {type(params).__name__}")


def _missing_sign_off_fields(sign_off: Mapping[str, Any]) -> list[str]:
    missing = []
    for key in SIGN_OFF_KEYS:
        value = sign_off.get(key)
        empty = isinstance(value, str | list | tuple) and len(value) == 0
        blank = isinstance(value, str) and not value.strip()
        if value is None or empty or blank:
            missing.append(key)
    return missing


def uncovered_measures(fairness_metrics: Mapping[str, Any], fairness_params: Any) -> list[str]:
    """Flagged measures that the params' sign-off does not name (all of them when none).

    Parameters
    ----------
    fairness_metrics
        The contents of ``metrics/fairness.json`` (needs the ``gate`` block).
    fairness_params
        The ``fairness:`` params section (mapping or params model).
    """
    gate = fairness_metrics.get("gate") or {}
    flagged = [str(m) for m in gate.get("flagged") or []]
    raw = _as_mapping(fairness_params).get("sign_off")
    if not raw:
        return flagged
    sign_off = _as_mapping(raw)
    if _missing_sign_off_fields(sign_off):
        return flagged
    named = {str(m) for m in sign_off.get("measures") or []}
    return [m for m in flagged if m not in named]


def enforce(fairness_metrics: dict, fairness_params: dict) -> None:
    """Raise :class:`GateBlocked` when the gate blocks publishing; otherwise return.

    Blocks only when the mode is ``block``, the audit's status is ``flagged``, and the
    sign-off is missing, incomplete (``by``, ``date``, ``measures``, ``reason`` are all
    required) or does not name every flagged measure.

    Parameters
    ----------
    fairness_metrics
        The contents of ``metrics/fairness.json``.
    fairness_params
        The ``fairness:`` section of params.yaml (a mapping, or the params model).

    Raises
    ------
    GateBlocked
        With an analyst-readable message: what is flagged, what the sign-off lacks, and
        how to write one in params.yaml.
    """
    params = _as_mapping(fairness_params)
    gate = fairness_metrics.get("gate")
    if not isinstance(gate, Mapping):
        raise GateBlocked(
            "metrics/fairness.json has no 'gate' block: the fairness audit has not run (or is older "
            "than this pipeline). Run the audit stage (`iom audit` or `dvc repro audit`) first."
        )
    # The params decide the mode (the analyst's current choice); the metrics file records
    # the mode the audit ran under and is used when params do not say.
    mode = str(params.get("gate") or gate.get("mode") or "report")
    if mode not in GATE_MODES:
        raise GateBlocked(f"fairness.gate must be one of {list(GATE_MODES)}, got {mode!r}.")
    status = str(gate.get("status", "pass"))
    flagged = [str(m) for m in gate.get("flagged") or []]
    if mode == "report" or status != "flagged":
        if flagged:
            logger.warning("Fairness audit flagged %d measure(s) (gate: report): %s", len(flagged), flagged)
        return
    uncovered = uncovered_measures(fairness_metrics, params)
    if not uncovered:
        sign_off = _as_mapping(params.get("sign_off"))
        logger.warning(
            "Fairness gate: %d flagged measure(s) signed off by %s on %s: %s",
            len(flagged),
            sign_off.get("by"),
            sign_off.get("date"),
            sign_off.get("reason"),
        )
        return
    raw_sign_off = params.get("sign_off")
    if not raw_sign_off:
        problem = "There is no sign-off (fairness.sign_off is empty)."
    else:
        missing = _missing_sign_off_fields(_as_mapping(raw_sign_off))
        if missing:
            problem = f"The sign-off is incomplete: it lacks {', '.join(missing)}."
        else:
            problem = f"The sign-off does not name: {', '.join(uncovered)}."
    summary = str(gate.get("summary") or "").strip()
    listed = "\n".join(f"  - {m}" for m in flagged)
    example = "\n".join(f"      - {m}" for m in flagged)
    raise GateBlocked(
        "Publishing is blocked by the fairness gate (fairness.gate: block).\n"
        f"The audit flagged {len(flagged)} measure(s):\n{listed}\n"
        + (f"Audit summary: {summary}\n" if summary else "")
        + f"{problem}\n"
        "Read reports/fairness/fairness_report.html. To publish anyway, a responsible person records a "
        "written sign-off in params.yaml naming every flagged measure, for example:\n"
        "  fairness:\n"
        "    sign_off:\n"
        "      by: <name and role>\n"
        "      date: <YYYY-MM-DD>\n"
        "      measures:\n"
        f"{example}\n"
        "      reason: <why publishing is justified despite these disparities, and what will be done>\n"
        "or set fairness.gate: report."
    )
