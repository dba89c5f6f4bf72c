"""One verdict per protected characteristic and decision, with the measures that decided it.

The rule, for one characteristic (e.g. ethnicity) and one decision (red; red or amber),
over the gating measures' ratios to the reference group of every group large enough to
report:

- **disparity found** when some ratio's whole 95% interval lies outside the band
  (default 0.8-1.25): the data show a difference beyond the four-fifths rule;
- **no disparity found** only when every ratio's whole interval lies inside the band:
  the data show any difference is within it;
- **not enough data** otherwise: an interval reaches across an edge of the band (or is
  wider than the band on both sides, or cannot be estimated), so the data cannot tell.

Calibration by group (observed / expected, as a ratio to the reference group's) gets a
verdict by the same rule. Groups below ``min_group_size`` are not assessed and are named.

The verdicts are written to ``reports/fairness/verdicts.json`` (schema in
:func:`read_verdicts`); the model card and the panel pack read them with
:func:`read_verdicts`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fairness.measures import BY_NAME, CALIBRATION_MEASURE, label_of

DISPARITY = "disparity found"
NO_DISPARITY = "no disparity found"
NOT_ENOUGH = "not enough data"
VERDICTS = (DISPARITY, NO_DISPARITY, NOT_ENOUGH)
DECISION_WORDS = {"red": "red", "red_or_amber": "red or amber"}
CHARACTERISTIC_WORDS = {
    "ethnicity": "ethnicity",
    "sex": "sex",
    "age_band": "age band",
    "ethnicity_x_sex": "ethnicity and sex combined",
}
MAX_NAMED = 3  # deciding measures named in a sentence (all are listed in the JSON)


def _words(decision: str) -> str:
    return DECISION_WORDS.get(decision, decision.replace("_", " "))


def _num(x: Any, digits: int = 4) -> float | None:
    return None if x is None or x is pd.NA or not math.isfinite(float(x)) else round(float(x), digits)


def _fmt(x: Any) -> str:
    return "–" if _num(x) is None else f"{float(x):.2f}"


def interval_position(lo: float, hi: float, band: tuple[float, float]) -> str:
    """Where a 95% interval lies against the band: ``outside``, ``inside`` or ``across``.

    ``across`` covers an interval that reaches over an edge, one wider than the band on
    both sides, and one that could not be estimated.

    Examples
    --------
    >>> cis = [(1.3, 2), (0.9, 1.1), (0.7, 1.1), (0.5, 2), (0, float("nan"))]
    >>> [interval_position(lo, hi, (0.8, 1.25)) for lo, hi in cis]
    ['outside', 'inside', 'across', 'across', 'across']
    """
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return "across"
    if hi < band[0] or lo > band[1]:
        return "outside"
    if lo >= band[0] and hi <= band[1]:
        return "inside"
    return "across"


def _distance(ratio: float, band: tuple[float, float]) -> float:
    """How far a ratio lies from the band on the log scale (0 inside); NaN ratios sort last."""
    if not math.isfinite(ratio):
        return -1.0
    if ratio <= 0:
        return math.inf
    return max(math.log(band[0]) - math.log(ratio), math.log(ratio) - math.log(band[1]), 0.0)


def _why(row: Mapping[str, Any], position: str, band: tuple[float, float]) -> str:
    """One clause for one deciding ratio: its value, interval and what it means."""
    measure = BY_NAME.get(str(row["measure"]))
    label = label_of(str(row["measure"]))
    at = f" at {_words(str(row['decision']))}" if row["decision"] else ""
    ratio = float(row["ratio"])
    head = (
        f"{row['group']}'s {label}{at} is {_fmt(ratio)} times {row['reference']}'s "
        f"(95% interval {_fmt(row['ci_low'])}–{_fmt(row['ci_high'])})"
    )
    if not math.isfinite(ratio):
        return f"{row['group']}'s {label}{at} cannot be compared with {row['reference']}'s (no events)"
    if row["measure"] == CALIBRATION_MEASURE and ratio > 0 and abs(ratio - 1) >= 0.05:
        # Observed / expected 0.61 of the reference's: 39% fewer reoffended than the model predicts.
        how = "over" if ratio < 1 else "under"
        head += (
            f" — the model {how}-predicts for {row['group']} by about {abs(1 - ratio):.0%} "
            f"relative to {row['reference']}"
        )
    if position == "outside":
        meaning = (measure.high if ratio > 1 else measure.low) if measure else ""
        return head + (f": {meaning}" if meaning else "")
    if position == "inside":
        return head + f", within {band[0]:g}–{band[1]:g}"
    return head + f", an interval reaching across the band {band[0]:g}–{band[1]:g}"


def _by_distance(
    picked: np.ndarray, ratio: np.ndarray, rows: pd.DataFrame, band: tuple[float, float]
) -> list[int]:
    """Row positions, the ratio furthest from the band first (then by name, for a stable order)."""
    return sorted(
        (int(i) for i in picked), key=lambda i: (-_distance(float(ratio[i]), band), str(rows["name"].iloc[i]))
    )


def decide(rows: pd.DataFrame, band: tuple[float, float]) -> dict[str, Any]:
    """The verdict over some ratios (one characteristic, one decision or calibration).

    Parameters
    ----------
    rows
        Disparity rows (``group``, ``reference``, ``decision``, ``measure``, ``name``,
        ``ratio``, ``ci_low``, ``ci_high``) of the groups large enough to report.
    band
        The band a ratio must stay within.

    Returns
    -------
    dict
        ``verdict`` and ``deciding_measures`` (the ratios that decided it, most extreme
        first): for a disparity, those wholly outside the band; for not enough data,
        those whose interval reaches across the band; for no disparity, the one whose
        interval comes nearest an edge.
    """
    if rows.empty:
        return {"verdict": NOT_ENOUGH, "deciding_measures": []}
    lo = rows["ci_low"].astype(float).to_numpy()
    hi = rows["ci_high"].astype(float).to_numpy()
    position = np.array([interval_position(a, b, band) for a, b in zip(lo, hi, strict=True)])
    ratio = rows["ratio"].astype(float).to_numpy()
    if (position == "outside").any():
        verdict, pick = DISPARITY, position == "outside"
        order = _by_distance(np.flatnonzero(pick), ratio, rows, band)
    elif (position == "inside").all():
        verdict = NO_DISPARITY
        # The ratio whose interval comes nearest an edge of the band (log scale).
        margin = np.minimum(np.log(lo) - math.log(band[0]), math.log(band[1]) - np.log(hi))
        order = [int(np.argmin(margin))]
    else:
        verdict, pick = NOT_ENOUGH, position == "across"
        order = _by_distance(np.flatnonzero(pick), ratio, rows, band)
    deciding = []
    for i in order:
        r = rows.iloc[int(i)]
        deciding.append(
            {
                "name": f"{r['measure']}_ratio",
                "metric": str(r["name"]),
                "measure": str(r["measure"]),
                "group": str(r["group"]),
                "reference": str(r["reference"]),
                "ratio": _num(r["ratio"]),
                "ci_low": _num(r["ci_low"]),
                "ci_high": _num(r["ci_high"]),
                "why": _why(r, str(position[int(i)]), band),
            }
        )
    return {"verdict": verdict, "deciding_measures": deciding}


def _sentence(
    subject: str, decided: Mapping[str, Any], measures: Sequence[str], band: tuple[float, float]
) -> str:
    """One plain-English sentence for one verdict."""
    deciding = decided["deciding_measures"]
    labels = " and ".join(label_of(m) for m in measures)
    lo, hi = band
    if decided["verdict"] == DISPARITY:
        more = f"; {len(deciding) - 1} more ratio(s) also lie wholly outside" if len(deciding) > 1 else ""
        return f"{subject}: disparity found — {deciding[0]['why']}{more}."
    if decided["verdict"] == NO_DISPARITY:
        return (
            f"{subject}: no disparity found — every group's {labels} lies within {lo:g}–{hi:g} of the "
            f"reference group's, with 95% confidence (nearest the edge: {deciding[0]['why']})."
        )
    if not deciding:
        return f"{subject}: not enough data — no group besides the reference is large enough to compare."
    return (
        f"{subject}: not enough data to tell — {len(deciding)} ratio(s) have 95% intervals that neither "
        f"lie wholly inside nor wholly outside the band, e.g. {deciding[0]['why']}."
    )


def _summary(characteristic: str, entry: Mapping[str, Any], not_assessed: Sequence[str]) -> str:
    """One sentence per characteristic: each verdict, grouped, and which groups were too small."""
    by_verdict: dict[str, list[str]] = {}
    for decision, decided in entry["decisions"].items():
        by_verdict.setdefault(decided["verdict"], []).append(f"at {_words(decision)}")
    by_verdict.setdefault(entry["calibration"]["verdict"], []).append("in calibration")
    words = CHARACTERISTIC_WORDS.get(characteristic, characteristic.replace("_", " "))
    found = [
        f"{d['group']}'s {label_of(d['measure'])} {_fmt(d['ratio'])}× {d['reference']}'s"
        f"{' at ' + _words(dec) if dec else ''}"
        for dec, decided in [*entry["decisions"].items(), ("", entry["calibration"])]
        if decided["verdict"] == DISPARITY
        for d in decided["deciding_measures"][:1]
    ]
    parts = [
        f"{verdict} {' and '.join(where)}" + (f" ({', '.join(found)})" if verdict == DISPARITY else "")
        for verdict, where in by_verdict.items()
    ]
    text = f"By {words}: " + "; ".join(parts)
    if not_assessed:
        text += f"; too few people to assess: {', '.join(not_assessed)}"
    return text + "."


def base_rate_sentence(rows: pd.DataFrame, band: tuple[float, float]) -> str:
    """The groups' base rates compared with the reference group's, in words.

    ``rows`` are the ``base_rate`` disparity rows of one characteristic (non-suppressed).
    """
    if rows.empty:
        return "No group besides the reference is large enough to compare base rates."
    ref = str(rows["reference"].iloc[0])
    higher, lower, similar = [], [], []
    for r in rows.itertuples():
        text = f"{r.group} {_fmt(r.ratio)}× ({_fmt(r.ci_low)}–{_fmt(r.ci_high)})"
        if math.isfinite(r.ci_low) and r.ci_low > 1:
            higher.append(text)
        elif math.isfinite(r.ci_high) and r.ci_high < 1:
            lower.append(text)
        else:
            similar.append(str(r.group))
    parts = []
    if higher:
        parts.append(f"reoffended more often than {ref}: {', '.join(higher)}")
    if lower:
        parts.append(f"reoffended less often than {ref}: {', '.join(lower)}")
    if similar:
        parts.append(f"no clear difference from {ref}: {', '.join(similar)}")
    return "Base rates — " + "; ".join(parts) + "."


def audit_verdicts(
    audit: Any,
    gated_measures: Sequence[str],
    *,
    as_of_dates: Sequence[str],
    panel_date: str | None,
    decisions: Sequence[str] = ("red", "red_or_amber"),
) -> dict[str, Any]:
    """The verdicts of a labelled audit (a :class:`fairness.audit.FairnessAudit`), as JSON-able dict.

    Parameters
    ----------
    audit
        The audit of the model on the out-of-time test block (needs labels).
    gated_measures
        The decision measures whose ratios decide (``fairness.gated_measures``).
    as_of_dates
        The as-of dates the audit covers (``YYYY-MM-DD``).
    panel_date
        The panel date of the list the model scored.
    decisions
        The decisions that get a verdict.
    """
    band = (float(audit.band[0]), float(audit.band[1]))
    d = audit.disparities
    bg = audit.by_group
    out: dict[str, Any] = {
        "audit_date_scope": {"as_of_dates": list(as_of_dates), "panel_date": panel_date},
        "band": list(band),
        "gated_measures": list(gated_measures),
        "calibration_measure": CALIBRATION_MEASURE,
        "characteristics": {},
    }
    for characteristic in audit.reference:
        rows = d.loc[d["grouping"].eq(characteristic) & d["status"].ne("suppressed")]
        not_assessed = sorted(
            bg.loc[bg["grouping"].eq(characteristic) & bg["suppressed"], "group"].astype(str).tolist()
        )
        words = CHARACTERISTIC_WORDS.get(characteristic, characteristic.replace("_", " "))
        entry: dict[str, Any] = {"decisions": {}}
        for decision in decisions:
            sub = rows.loc[rows["decision"].eq(decision) & rows["measure"].isin(list(gated_measures))]
            decided = decide(sub, band)
            decided["sentence"] = _sentence(
                f"By {words}, at {_words(decision)}", decided, gated_measures, band
            )
            entry["decisions"][decision] = decided
        cal = decide(rows.loc[rows["measure"].eq(CALIBRATION_MEASURE)], band)
        cal["sentence"] = _sentence(f"By {words}, calibration", cal, [CALIBRATION_MEASURE], band)
        entry["calibration"] = cal
        entry["not_assessed"] = not_assessed
        entry["summary_sentence"] = _summary(characteristic, entry, not_assessed)
        entry["base_rate_sentence"] = base_rate_sentence(rows.loc[rows["measure"].eq("base_rate")], band)
        out["characteristics"][characteristic] = entry
    return out


def empty_verdicts(
    characteristics: Sequence[str],
    band: tuple[float, float],
    gated_measures: Sequence[str],
    *,
    panel_date: str | None,
    decisions: Sequence[str] = ("red", "red_or_amber"),
    reason: str = "no outcomes are known yet, so no error rate can be measured",
) -> dict[str, Any]:
    """Verdicts when there is no labelled audit: every one is ``not enough data``, saying why."""
    out: dict[str, Any] = {
        "audit_date_scope": {"as_of_dates": [], "panel_date": panel_date},
        "band": [float(band[0]), float(band[1])],
        "gated_measures": list(gated_measures),
        "calibration_measure": CALIBRATION_MEASURE,
        "characteristics": {},
    }
    for characteristic in characteristics:
        words = CHARACTERISTIC_WORDS.get(characteristic, characteristic.replace("_", " "))
        blank = {"verdict": NOT_ENOUGH, "deciding_measures": []}
        out["characteristics"][characteristic] = {
            "decisions": {
                k: {**blank, "sentence": f"By {words}, at {_words(k)}: not enough data — {reason}."}
                for k in decisions
            },
            "calibration": {**blank, "sentence": f"By {words}, calibration: not enough data — {reason}."},
            "not_assessed": [],
            "summary_sentence": f"By {words}: not enough data — {reason}.",
            "base_rate_sentence": "",
        }
    return out


def verdict_counts(verdicts: Mapping[str, Any]) -> dict[str, int]:
    """How many verdicts (characteristic x decision, and calibration) are of each kind."""
    counts = dict.fromkeys(VERDICTS, 0)
    for entry in verdicts["characteristics"].values():
        for decided in [*entry["decisions"].values(), entry["calibration"]]:
            counts[decided["verdict"]] += 1
    return counts


def write_verdicts(verdicts: Mapping[str, Any], path: Path) -> Path:
    """Write the verdicts as JSON (stable key order, UTF-8); return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(verdicts, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


class VerdictsError(ValueError):
    """``verdicts.json`` is missing or does not have the expected shape."""


def read_verdicts(path: Path | str) -> dict[str, Any]:
    """Read ``reports/fairness/verdicts.json`` and check its shape.

    The file::

        {"audit_date_scope": {"as_of_dates": ["YYYY-MM-DD", ...], "panel_date": "YYYY-MM-DD"},
         "band": [0.8, 1.25],
         "characteristics": {
           "<characteristic>": {
             "decisions": {"red": VERDICT, "red_or_amber": VERDICT},
             "calibration": VERDICT,
             "summary_sentence": "one sentence for the characteristic",
             ...},
           ...}}

    where VERDICT is ``{"verdict": "disparity found" | "no disparity found" | "not enough
    data", "deciding_measures": [{"name": "fpr_ratio", "group": ..., "ratio": ...,
    "ci_low": ..., "ci_high": ..., "why": ...}, ...], "sentence": "one sentence"}``.

    Raises
    ------
    VerdictsError
        Naming the file and what is wrong.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise VerdictsError(f"{path}: not found; run the audit stage (`dvc repro audit`) first") from None
    except json.JSONDecodeError as exc:
        raise VerdictsError(f"{path}: not valid JSON ({exc})") from None
    problems = []
    for key in ("audit_date_scope", "band", "characteristics"):
        if key not in data:
            problems.append(f"missing key {key!r}")
    for name, entry in (data.get("characteristics") or {}).items():
        verdicts = [
            *((entry.get("decisions") or {}).items()),
            ("calibration", entry.get("calibration") or {}),
        ]
        for where, v in verdicts:
            if v.get("verdict") not in VERDICTS:
                problems.append(
                    f"{name}.{where}: verdict {v.get('verdict')!r} is not one of {list(VERDICTS)}"
                )
            if not isinstance(v.get("sentence"), str):
                problems.append(f"{name}.{where}: no sentence")
        if not isinstance(entry.get("summary_sentence"), str):
            problems.append(f"{name}: no summary_sentence")
    if problems:
        raise VerdictsError(f"{path}: " + "; ".join(problems))
    return dict(data)
