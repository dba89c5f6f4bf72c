"""Figures for the panel pack's readability, from a repository's published outputs.

Usage: ``.venv/bin/python scripts/measure_pack.py ROOT [--browser]`` where ROOT holds
``data/panel/cohort_list.csv``, ``data/panel/panel_pack.html``, ``data/model/scores.parquet``
and ``data/linked/``. Works on lists published before reason families existed (the first
reason's family is then read from the feature-level contributions). ``--browser`` also
prints page counts (Chromium ``page.pdf``, A4 landscape) and axe-core's serious and critical
violations. Aggregates only; prints, writes nothing.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pandas as pd

from features.reasons import FAMILIES, reason_problems
from iom_panel.cohort import stands_out
from iom_panel.typology_check import contradicted_typology
from models.explain import column_reasons
from models.typology_naming import SEED_TYPOLOGIES

HEADINGS = {f.raise_heading: k for k, f in FAMILIES.items()}
# Facts that state a positive step (being in treatment, a need falling or absent, settled
# housing, attending): none may appear in a "can change" reason that raises the estimate.
POSITIVE_STEP = re.compile(
    r"in (?:drug|alcohol|mental health) treatment now|fell by|settled accommodation|"
    r"\bno [a-z ,]+ need\b|attended (?!only)"
)


def first_families(root: Path, ra: pd.DataFrame) -> pd.Series:
    """The family of each person's first reason."""
    first = ra["reasons_up"].str.split("; ").str[0]
    head = first.str.split(r"[:,]", regex=True).str[0]
    if head.isin(list(HEADINGS)).all():
        return head.map(HEADINGS)
    scores = pd.read_parquet(root / "data/model/scores.parquet").set_index("pseudo_id")
    items = scores.loc[ra["pseudo_id"], "contributions"].map(json.loads)
    feature = items.map(
        lambda xs: max((i for i in xs if i["points"] > 0), key=lambda i: i["points"])["feature"]
    )
    fam = {cr.column: cr.family for cr in column_reasons(sorted(set(feature)))}
    return feature.map(fam).set_axis(ra.index)


def main(root: Path, browser: bool) -> None:
    cl = pd.read_csv(root / "data/panel/cohort_list.csv", dtype={"pseudo_id": "str"}, keep_default_na=False)
    ra = cl[cl["suggested_tier"].isin(["red", "amber"])]
    fams = first_families(root, ra)
    print(f"red+amber: {len(ra)}; first-reason family: {fams.value_counts().to_dict()}")
    print(f"  share with the commonest first family: {fams.value_counts().iloc[0] / len(ra):.1%}")
    print(f"  distinct first-reason families: {fams.nunique()}")
    scores = pd.read_parquet(root / "data/model/scores.parquet")
    if any(c.startswith("points__") for c in scores.columns):
        s = scores.set_index("pseudo_id").loc[cl["pseudo_id"]].reset_index()
        s["suggested_tier"] = cl["suggested_tier"].to_numpy()
        out = stands_out(s)[s["suggested_tier"].isin(["red", "amber"]).to_numpy()]
        fam = out.str.split(" (", regex=False).str[0]
        fam = fam[fam != ""]
        print(
            f"  'stands out' family: {fam.nunique()} distinct, commonest "
            f"{fam.value_counts().iloc[0] / len(ra):.1%} ({fam.value_counts().index[0]})"
        )
    reasons = pd.concat([cl["reasons_up"], cl["reasons_down"]]).str.split("; ").explode()
    reasons = reasons[reasons != ""]
    bad = reasons[reasons.map(lambda t: bool(reason_problems(t)))]
    kinds = bad.str.replace(r"-?\d+(?:\.\d+)?", "N", regex=True)
    print(f"reasons shown: {len(reasons)}; unreadable: {len(bad)} ({kinds.nunique()} distinct phrasings)")
    change = {f.raise_heading for f in FAMILIES.values() if f.can_change}
    up = reasons[
        reasons.str.contains(r"\(\+\d+ pts\)") & reasons.str.split(r"[:,]", regex=True).str[0].isin(change)
    ]
    steps = int(up.str.contains(POSITIVE_STEP).sum())
    print(f"'can change' reasons raising: {len(up)}; stating a positive step: {steps}")
    if "borderline" in cl:
        b = cl["borderline"].astype(str).str.lower() == "true"
        print(f"borderline: {int(b.sum())} listed, {int(b[ra.index].sum())} of red+amber")
    persons = pd.read_parquet(root / "data/linked/persons.parquet")
    custody = pd.read_parquet(root / "data/linked/custody.parquet")
    why = contradicted_typology(cl, persons, custody, pd.Timestamp(cl["panel_date"].iloc[0]), 120)
    named = cl["typology"].isin(SEED_TYPOLOGIES)
    hit = (why != "") & named
    print(
        f"typology labels contradicted by the person's record: {int(hit.sum())} of {int(named.sum())} "
        f"({hit.sum() / named.sum():.1%}); by typology {cl.loc[hit, 'typology'].value_counts().to_dict()}"
    )
    if browser:
        measure_browser(root / "data/panel/panel_pack.html")


def measure_browser(pack: Path) -> None:
    from playwright.sync_api import sync_playwright

    axe = next((Path(__file__).resolve().parents[1] / "vendor").glob("axe-core@*/axe.min.js")).read_text()

    def pages(pdf: bytes) -> int:
        return len(re.findall(rb"/Type\s*/Page[^s]", pdf))

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
        pg = b.new_page(viewport={"width": 1440, "height": 900})
        pg.goto(pack.resolve().as_uri())
        pg.add_script_tag(content=axe)
        found = pg.evaluate(
            "axe.run(document, {resultTypes: ['violations']})"
            ".then(r => r.violations.map(v => [v.id, v.impact, v.nodes.length]))"
        )
        print(f"axe-core violations (rule, impact, nodes): {found}")
        print(f"printed pack (page.pdf, A4 landscape): {pages(pg.pdf(format='A4', landscape=True))} pages")
        pg.set_viewport_size({"width": 1024, "height": 768})
        w = pg.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        print(f"at 1024x768: page width {w[0]} for a viewport of {w[1]}")
        b.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]), "--browser" in sys.argv[2:])
