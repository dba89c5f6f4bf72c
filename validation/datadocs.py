"""Render Great Expectations Data Docs for a validation, viewable with no network.

GE's page templates load bootstrap, jquery, font-awesome, vega and friends from CDNs,
and its logo from an S3 bucket. The exact files are vendored under
``vendor/datadocs/`` (see ``scripts/vendor_assets.sh`` and ``assets.json`` there); after
GE renders the site, every such reference is rewritten to a relative path into
``<docs_dir>/static/vendor/``, and Subresource-Integrity attributes are dropped
(browsers refuse SRI and CORS checks on ``file://`` pages; the hashes were verified
when the files were vendored).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import logging
import os
import re
import shutil
from pathlib import Path
from typing import Any

import great_expectations as gx
from great_expectations.core import ExpectationSuiteValidationResult, ExpectationValidationResult
from great_expectations.core.run_identifier import RunIdentifier
from great_expectations.data_context.types.resource_identifiers import (
    ExpectationSuiteIdentifier,
    ValidationResultIdentifier,
)

logger = logging.getLogger(__name__)

VENDOR_DIR = Path(__file__).resolve().parent.parent / "vendor" / "datadocs"
VENDOR_SUBDIR = Path("static") / "vendor"
GX_WEB_ASSETS = "https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/"
SITE_NAME = "validation"
RUN_NAME = "validate"
# What GE writes into a docs directory; only these are cleared before a rebuild.
GX_SITE_ENTRIES = ("index.html", "static", "expectations", "validations")
# Result keys kept for the docs: counts, plus the examples added below. The full
# lists of failing rows stay in the quarantine files, not in HTML.
_KEEP = (
    "element_count",
    "unexpected_count",
    "unexpected_percent",
    "unexpected_percent_nonmissing",
    "unexpected_percent_total",
    "missing_count",
    "missing_percent",
    "observed_value",
)
_REMOTE_REF = re.compile(r"""<(script|link|img)\b[^>]*?\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.I)
_CSS_REMOTE_URL = re.compile(r"""url\(\s*["']?\s*(?:https?:)?//""", re.I)
_SRI_ATTRS = re.compile(r"""\s+(?:integrity|crossorigin)\s*=\s*("[^"]*"|'[^']*')""", re.I)
# Relative references to GE's own static images; GE miscounts the depth of some
# (the favicon of validation pages), so all are recomputed.
_GX_STATIC_IMAGE = re.compile(r"""(?<=["'(])(?:\.\./|\./)*static/images/([\w.-]+)""")
_GX_ASSET = re.compile(re.escape(GX_WEB_ASSETS) + r"""([\w.-]+)(\?[^"')\s>]*)?""")


def load_asset_map(vendor_dir: Path = VENDOR_DIR) -> dict[str, str]:
    """CDN URL -> vendored file path (relative to ``vendor_dir``)."""
    assets_file = vendor_dir / "assets.json"
    if not assets_file.is_file():
        raise FileNotFoundError(
            f"{assets_file} is missing: the vendored Data Docs assets are not in this checkout. "
            "Run scripts/vendor_assets.sh once (needs npm) and commit vendor/datadocs/."
        )
    urls: dict[str, str] = json.loads(assets_file.read_text(encoding="utf-8"))["urls"]
    return urls


def docs_result(
    result: ExpectationSuiteValidationResult, examples: dict[int, list[str]], run_id: RunIdentifier
) -> ExpectationSuiteValidationResult:
    """A copy of ``result`` fit for HTML: counts only, plus example failing values.

    Examples (``row <n>: <value as sent>``) go in ``partial_unexpected_list``, which GE
    renders as "Sampled Unexpected Values".
    """
    results = []
    for i, res in enumerate(result.results):
        kept = {k: res.result[k] for k in _KEEP if k in res.result}
        if i in examples:
            kept["partial_unexpected_list"] = list(examples[i])
        results.append(
            ExpectationValidationResult(
                success=res.success,
                expectation_config=copy.deepcopy(res.expectation_config),
                result=kept,
                meta=dict(res.meta or {}),
                exception_info=dict(res.exception_info or {}),
            )
        )
    return ExpectationSuiteValidationResult(
        success=result.success,
        results=results,
        suite_name=result.suite_name,
        suite_parameters=dict(result.suite_parameters or {}),
        statistics=dict(result.statistics or {}),
        meta={
            **{k: v for k, v in dict(result.meta or {}).items() if k != "batch_markers"},
            "run_id": run_id,
            "batch_spec": {"data_asset_name": result.suite_name, "batch_data": "PandasDataFrame"},
        },
    )


def render_data_docs(
    suites: dict[str, gx.ExpectationSuite],
    results: dict[str, ExpectationSuiteValidationResult],
    examples: dict[str, dict[int, list[str]]],
    run_time: dt.datetime,
    docs_dir: Path,
    vendor_dir: Path = VENDOR_DIR,
) -> Path:
    """Build the Data Docs site for one validation into ``docs_dir``; return index.html.

    Pages are keyed by a fixed run name and ``run_time`` (the extract date), so the
    same extract always renders to the same paths.
    """
    # GE's filesystem store needs an absolute path.
    docs_dir = Path(docs_dir).resolve()
    asset_map = load_asset_map(vendor_dir)
    docs_dir.mkdir(parents=True, exist_ok=True)
    for entry in GX_SITE_ENTRIES:
        target = docs_dir / entry
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()

    context = gx.get_context(mode="ephemeral")
    for site in list(context.list_data_docs_sites()):
        context.delete_data_docs_site(site)
    site_config: Any = {
        "class_name": "SiteBuilder",
        "show_how_to_buttons": False,
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    }
    context.add_data_docs_site(SITE_NAME, site_config)
    run_id = RunIdentifier(run_name=RUN_NAME, run_time=run_time)
    for name, suite in suites.items():
        context.suites.add(copy.deepcopy(suite))
        key = ValidationResultIdentifier(ExpectationSuiteIdentifier(name), run_id, name)
        context.validation_results_store.set(key, docs_result(results[name], examples.get(name, {}), run_id))
    context.build_data_docs(site_names=[SITE_NAME])
    n_refs = make_offline(docs_dir, asset_map, vendor_dir)
    logger.info("Data Docs written to %s (%d CDN references pointed at vendored copies)", docs_dir, n_refs)
    return docs_dir / "index.html"


def _relative(target: Path, start: Path) -> str:
    return Path(os.path.relpath(target, start)).as_posix()


def make_offline(docs_dir: Path, asset_map: dict[str, str], vendor_dir: Path = VENDOR_DIR) -> int:
    """Copy the vendored assets into ``docs_dir`` and point every page at them.

    Returns the number of references rewritten. Raises ``RuntimeError`` if any page
    still loads a script, stylesheet, image or CSS ``url()`` from the network (a new
    GE version referencing a CDN file that is not vendored yet).
    """
    docs_dir = Path(docs_dir)
    static_vendor = docs_dir / VENDOR_SUBDIR
    for rel in sorted(set(asset_map.values())):
        package = rel.split("/", 1)[0]
        for src in (vendor_dir / package).rglob("*"):
            if src.is_file():
                dest = static_vendor / src.relative_to(vendor_dir)
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, dest)
    images = docs_dir / "static" / "images"
    # Longest URL first, so that no URL is rewritten inside a longer one.
    ordered = sorted(asset_map.items(), key=lambda kv: -len(kv[0]))
    n_refs = 0
    leftovers: list[str] = []
    for page in sorted([*docs_dir.rglob("*.html"), *docs_dir.rglob("*.css")]):
        if static_vendor in page.parents:
            continue
        text = page.read_text(encoding="utf-8")
        before = text
        for url, rel in ordered:
            n = text.count(url)
            if n:
                text = text.replace(url, _relative(static_vendor / rel, page.parent))
                n_refs += n

        def _gx_asset(match: re.Match[str], page: Path = page) -> str:
            name = match.group(1)
            local = images / name if (images / name).is_file() else images / "logo-long.png"
            return _relative(local, page.parent)

        text, n = _GX_ASSET.subn(_gx_asset, text)
        n_refs += n
        if page.suffix == ".html":

            def _static_image(match: re.Match[str], page: Path = page) -> str:
                return _relative(images / match.group(1), page.parent)

            text = _GX_STATIC_IMAGE.sub(_static_image, text)
        text = _SRI_ATTRS.sub("", text)
        if text != before:
            page.write_text(text, encoding="utf-8")
        if _REMOTE_REF.search(text) or _CSS_REMOTE_URL.search(text):
            leftovers.append(page.relative_to(docs_dir).as_posix())
    if leftovers:
        raise RuntimeError(
            "Data Docs still load files from the network in: "
            + ", ".join(leftovers)
            + ". The installed Great Expectations references a CDN file that is not vendored: add it "
            "to vendor/datadocs/assets.json and run scripts/vendor_assets.sh."
        )
    return n_refs
