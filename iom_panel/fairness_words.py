"""The fairness audit in plain words: one sentence per protected characteristic.

Read from the audit's verdicts (``verdicts.json`` beside the fairness report, one
``disparity found`` / ``no disparity found`` / ``not enough data`` per characteristic)
when the audit wrote them; otherwise derived here from the audit's panel measures with
the same rule, a small adapter until every audit writes verdicts:

- **disparity found** when a measure of the characteristic is flagged (its 95% interval
  wholly outside the band);
- **no disparity found** when every gated measure passed (interval wholly inside);
- **not enough data** otherwise (an interval reaches across the band, or groups are too
  small to report).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

CHARACTERISTIC_WORDS = {
    "ethnicity": "Ethnicity",
    "sex": "Sex",
    "age_band": "Age band",
    "ethnicity_x_sex": "Ethnicity and sex combined",
}
DECISION_WORDS = {"red": "red", "red_or_amber": "red or amber"}


def _derived(audit: Mapping[str, Any]) -> list[dict[str, str]]:
    panel = audit.get("panel") or {}
    disparities: Mapping[str, Mapping[str, Any]] = panel.get("disparities") or {}
    suppressed: Mapping[str, list[str]] = panel.get("suppressed") or {}
    out = []
    for char, words in CHARACTERISTIC_WORDS.items():
        # ".ethnicity." does not match ".ethnicity_x_sex.": each measure counts once.
        rows = [(name, d) for name, d in disparities.items() if f".{char}." in name and d.get("gated")]
        if not rows:
            continue
        flagged = [n for n, d in rows if d.get("status") == "flag"]
        uncertain = [n for n, d in rows if d.get("status") != "pass"]
        groups = sorted({n.split(f".{char}.", 1)[1] for n in flagged})
        decisions = sorted({d for n in flagged for d in DECISION_WORDS if f".{d}.{char}." in n}, key=len)
        if flagged:
            verdict = "disparity found"
            sentence = (
                f"{words}: disparity found. People in the {', '.join(groups)} group"
                f"{'s' if len(groups) > 1 else ''} are suggested "
                f"{' or '.join(DECISION_WORDS[d] for d in decisions) or 'a tier'} at a rate outside "
                "the four-fifths band compared with the reference group."
            )
        elif uncertain:
            verdict = "not enough data"
            sentence = (
                f"{words}: not enough data to tell. The list's differences between groups could be "
                "inside or outside the four-fifths band."
            )
        else:
            verdict = "no disparity found"
            sentence = f"{words}: no disparity found in who is suggested red or amber."
        small = suppressed.get(char) or []
        if small:
            sentence += f" Too few people to assess: {', '.join(small)}."
        out.append({"characteristic": char, "verdict": verdict, "sentence": sentence})
    return out


def fairness_sentences(audit: Mapping[str, Any], verdicts_path: Path | None) -> list[dict[str, str]]:
    """``[{characteristic, verdict, sentence}]``: from ``verdicts_path`` when readable, else derived."""
    if verdicts_path is not None and Path(verdicts_path).exists():
        try:
            data = json.loads(Path(verdicts_path).read_text(encoding="utf-8"))
            out = []
            for char, entry in (data.get("characteristics") or {}).items():
                decisions = entry.get("decisions") or {}
                worst = [v.get("verdict") for v in decisions.values()]
                verdict = next(
                    (v for v in ("disparity found", "not enough data") if v in worst), "no disparity found"
                )
                sentence = str(entry.get("summary_sentence") or "")
                if sentence:
                    out.append({"characteristic": char, "verdict": verdict, "sentence": sentence})
            if out:
                return out
        except (OSError, ValueError, AttributeError) as exc:
            logger.warning("%s: not readable (%s); deriving the sentences from the audit", verdicts_path, exc)
    return _derived(audit)


def audit_covers(audit: Mapping[str, Any], panel_date: str) -> tuple[bool, list[str]]:
    """Whether the audit's panel measures were computed on this panel date, and the dates they were."""
    dates = [str(d) for d in ((audit.get("panel") or {}).get("dates") or [])]
    return panel_date in dates, dates
