"""The ``iom`` command: one subcommand per pipeline stage.

Each subcommand is a thin shell: it parses options, configures logging, and calls the
stage's ``run`` in ``pipelines/<stage>.py``. Heavy imports happen inside the commands so
that ``iom --help`` is instant.

Expected failures (``iom_config.IomError``: bad params, a broken contract, a missing
key; and a missing input file) print one message and exit with status 2; ``iom --debug``
shows the traceback too. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="Integrated Offender Management tiering pipeline. Run the whole pipeline with `dvc repro`; "
    "each stage is also a subcommand here.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

ParamsOpt = Annotated[Path, typer.Option("--params", help="The params file with one section per stage.")]
EXIT_USER_ERROR = 2
_debug = False


def _track(stage: str, manifest: Path, metrics: Path, params_path: Path, sections: tuple[str, ...]) -> None:
    """Log a finished stage's metrics to MLflow (aggregates only), unless ``mlflow.log`` is false."""
    from iom_config import read_params
    from pipelines.tracking import area_of, log_stage_run, mlflow_enabled

    if not mlflow_enabled(params_path):
        return
    raw = read_params(params_path)
    run_id = log_stage_run(stage, area_of(manifest), metrics, {s: raw.get(s) for s in sections})
    logging.getLogger("iom").info("MLflow run %s (stage %s)", run_id, stage)


def _point_panel_alias(name: str, version: str) -> None:
    import mlflow

    from models.risk_mlflow import set_panel_alias
    from pipelines.tracking import tracking_uri

    mlflow.set_tracking_uri(tracking_uri())
    set_panel_alias(name, version)


@app.callback()
def _main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show debug messages.")] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the traceback of an expected error too (implies -v).")
    ] = False,
) -> None:
    """Configure logging for every subcommand (modules never configure it themselves)."""
    from rich.logging import RichHandler

    global _debug
    _debug = debug
    verbose = verbose or debug

    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    # MLflow installs its own handler; keep its start-up chatter out of stage logs.
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        datefmt="[%X]",
        handlers=[RichHandler(show_path=False, markup=False)],
        force=True,
    )
    noisy = ("great_expectations", "mlflow", "alembic", "urllib3", "matplotlib", "splink", "numba")
    for name in noisy:
        logging.getLogger(name).setLevel(logging.WARNING)

    # Some libraries reset their own logger levels when first imported (after this
    # runs), so their chatter is also filtered at the handler.
    def _quiet(record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or not record.name.startswith(noisy)

    for handler in logging.getLogger().handlers:
        handler.addFilter(_quiet)


@app.command()
def simulate(
    out: Annotated[
        Path | None, typer.Option(help="Extract directory to write (default: params simulate.out).")
    ] = None,
    nominals: Annotated[int | None, typer.Option(help="Number of police nominals (people).")] = None,
    seed: Annotated[
        int | None, typer.Option(help="Random seed: same seed and params give byte-identical files.")
    ] = None,
    extract_date: Annotated[
        dt.datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Day the extract is pulled.")
    ] = None,
    format: Annotated[str | None, typer.Option("--format", help="csv or parquet.")] = None,
    dirty: Annotated[
        float | None, typer.Option(help="Share of rows to corrupt with contract violations (0 = clean).")
    ] = None,
    continue_from: Annotated[
        Path | None,
        typer.Option(
            help="An extract written earlier: draw a later extract of the same world "
            "(same people, time moved on)."
        ),
    ] = None,
    decide_on: Annotated[
        Path | None,
        typer.Option(
            help="A published cohort_list.csv: write the panel's plausible decisions on it into "
            "the new extract's panel_decisions (use with --continue-from)."
        ),
    ] = None,
    metrics: Annotated[
        Path, typer.Option(help="Headline figures JSON (every figure: EXTRACT/_truth/simulation.json).")
    ] = Path("metrics/simulation.json"),
    params: ParamsOpt = Path("params.yaml"),
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Simulate a multi-agency partner-record extract (and its truth sidecar in DIR/_truth/)."""
    from pipelines import simulate as stage

    overrides = {
        "out": str(out) if out else None,
        "nominals": nominals,
        "seed": seed,
        "extract_date": extract_date.date() if extract_date else None,
        "format": format,
        "dirty_rate": dirty,
    }
    written = stage.run(
        params,
        {k: v for k, v in overrides.items() if v is not None},
        continue_from=continue_from,
        decide_on=decide_on,
        progress=progress,
        metrics=metrics,
    )
    _track("simulate", written / "manifest.json", written / stage.DETAIL_FILE, params, ("simulate",))


@app.command()
def validate(
    extract: Annotated[
        Path | None, typer.Option(help="Extract directory (default: params validate.extract).")
    ] = None,
    out: Annotated[Path, typer.Option(help="Where accepted tables and rejects/ go.")] = Path(
        "data/validated"
    ),
    metrics: Annotated[
        Path, typer.Option(help="Headline metrics JSON (per table: DOCS/validation.json).")
    ] = Path("metrics/validation.json"),
    docs: Annotated[Path, typer.Option(help="Great Expectations Data Docs folder.")] = Path(
        "reports/validation"
    ),
    params: ParamsOpt = Path("params.yaml"),
) -> None:
    """Validate an extract against the data contract; quarantine bad rows with their reasons."""
    from pipelines import validate as stage
    from validation.outputs import DETAIL_FILE as DETAIL_VALIDATION

    stage.run(extract, out, metrics, docs, params)
    _track("validate", out / "manifest.json", docs / DETAIL_VALIDATION, params, ("validate",))


@app.command()
def link(
    validated: Annotated[Path, typer.Option(help="Output of `iom validate`.")] = Path("data/validated"),
    out: Annotated[Path, typer.Option(help="Pseudonymised, linked tables.")] = Path("data/linked"),
    reid: Annotated[Path, typer.Option(help="Re-identification key folder (data controller only).")] = Path(
        "data/reid"
    ),
    metrics: Annotated[
        Path, typer.Option(help="Headline metrics JSON (every figure: REPORTS/linkage.json).")
    ] = Path("metrics/linkage.json"),
    reports: Annotated[Path, typer.Option(help="Linkage charts.")] = Path("reports/linkage"),
    decisions: Annotated[
        Path | None, typer.Option(help="Clerical decisions folder (default: params link.decisions_dir).")
    ] = None,
    params: ParamsOpt = Path("params.yaml"),
) -> None:
    """Resolve people across agencies (pnc_id, then Splink on personal details) and pseudonymise."""
    from linkage.review import ReviewFileError
    from pipelines import link as stage

    try:
        stage.run(validated, out, reid, metrics, reports, params, decisions)
    except ReviewFileError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    _track("link", validated / "manifest.json", reports / stage.DETAIL_FILE, params, ("link",))


@app.command()
def features(
    linked: Annotated[Path, typer.Option(help="Output of `iom link`.")] = Path("data/linked"),
    manifest: Annotated[Path, typer.Option(help="The validated manifest (gives the extract date).")] = Path(
        "data/validated/manifest.json"
    ),
    out: Annotated[Path, typer.Option(help="Feature partitions, one folder per as-of date.")] = Path(
        "data/features"
    ),
    metrics: Annotated[
        Path, typer.Option(help="Headline metrics JSON (per date: OUT/features.json).")
    ] = Path("metrics/features.json"),
    params: ParamsOpt = Path("params.yaml"),
) -> None:
    """Build leakage-free features and labels for every as-of date and the panel date."""
    from pipelines import features as stage

    stage.run(linked, manifest, out, metrics, params)
    _track("features", manifest, out / stage.DETAIL_FILE, params, ("features",))


TruthOpt = Annotated[
    Path | None,
    typer.Option(
        "--truth",
        help="The simulator's truth sidecar (EXTRACT/_truth): adds comparisons with the truth. "
        "Ignored when the folder does not exist (a real extract).",
    ),
]
ReidOpt = Annotated[Path, typer.Option(help="Re-identification key folder written by `iom link`.")]


def _existing(path: Path | None) -> Path | None:
    return path if path is not None and path.exists() else None


@app.command()
def typology(
    features: Annotated[Path, typer.Option(help="Output of `iom features`.")] = Path("data/features"),
    out: Annotated[Path, typer.Option(help="Typology per person and as-of date, and the model.")] = Path(
        "data/typology"
    ),
    metrics: Annotated[
        Path, typer.Option(help="Headline metrics JSON (every figure: REPORTS/typology.json).")
    ] = Path("metrics/typology.json"),
    reports: Annotated[Path, typer.Option(help="Profile table and charts.")] = Path("reports/typology"),
    truth: TruthOpt = None,
    reid: ReidOpt = Path("data/reid"),
    params: ParamsOpt = Path("params.yaml"),
) -> None:
    """Find offender typologies (latent class model), name them by rule, assign every person-date."""
    from pipelines import typology as stage

    stage.run(features, out, metrics, reports, params, truth_dir=_existing(truth), reid=reid)


@app.command()
def train(
    features: Annotated[Path, typer.Option(help="Output of `iom features`.")] = Path("data/features"),
    persons: Annotated[Path, typer.Option(help="Linked persons table.")] = Path(
        "data/linked/persons.parquet"
    ),
    out: Annotated[Path, typer.Option(help="Model, panel-date scores and test predictions.")] = Path(
        "data/model"
    ),
    metrics: Annotated[Path, typer.Option(help="Model and baseline metrics JSON.")] = Path(
        "metrics/model.json"
    ),
    reports: Annotated[Path, typer.Option(help="Plots, SHAP charts and the model card.")] = Path(
        "reports/model"
    ),
    truth: TruthOpt = None,
    reid: ReidOpt = Path("data/reid"),
    params: ParamsOpt = Path("params.yaml"),
) -> None:
    """Train the calibrated risk model on a temporal split, compare baselines, explain, register."""
    from pipelines import train as stage

    stage.run(features, persons, out, metrics, reports, params, truth_dir=_existing(truth), reid=reid)


@app.command()
def score(
    extract: Annotated[Path, typer.Option(help="A partner-record extract (contract shape).")],
    panel_date: Annotated[
        dt.datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="The panel's as-of date (default: the extract date)."),
    ] = None,
    model_version: Annotated[
        str | None, typer.Option(help="Registered `iom-risk` version (default: the latest).")
    ] = None,
    out: Annotated[Path, typer.Option(help="Where scores.parquet and registration.json go.")] = Path(
        "data/scored"
    ),
    typology_model: Annotated[
        Path, typer.Option(help="Fitted typology model (model.json written by `iom typology`).")
    ] = Path("data/typology/model.json"),
    work: Annotated[
        Path | None, typer.Option(help="Scratch folder for the validated/linked/features tables.")
    ] = None,
    params: ParamsOpt = Path("params.yaml"),
) -> None:
    """Score a new extract with a registered model, without retraining (panels meet monthly)."""
    from pipelines import score as stage

    stage.run(
        extract,
        panel_date.date() if panel_date else None,
        model_version,
        out,
        params,
        typology_model=typology_model,
        work=work,
    )


@app.command()
def audit(
    model: Annotated[Path, typer.Option(help="Output of `iom train` (or `iom score`).")] = Path("data/model"),
    features: Annotated[Path, typer.Option(help="Output of `iom features` (age at each date).")] = Path(
        "data/features"
    ),
    persons: Annotated[Path, typer.Option(help="Linked persons (sex, ethnicity: audit only).")] = Path(
        "data/linked/persons.parquet"
    ),
    typology: Annotated[Path, typer.Option(help="Output of `iom typology`.")] = Path("data/typology"),
    linked: Annotated[Path, typer.Option(help="Linked tables (panel_decisions when present).")] = Path(
        "data/linked"
    ),
    out: Annotated[Path, typer.Option(help="Fairness report folder.")] = Path("reports/fairness"),
    metrics: Annotated[Path, typer.Option(help="Fairness metrics JSON.")] = Path("metrics/fairness.json"),
    params: ParamsOpt = Path("params.yaml"),
) -> None:
    """Audit the model, the tiers, the typologies and the panel's decisions across groups."""
    from pipelines import audit as stage

    stage.run(model, features, persons, typology, linked, out, metrics, params)


@app.command()
def drift(
    features: Annotated[Path, typer.Option(help="Output of `iom features`.")] = Path("data/features"),
    evaluation: Annotated[
        Path, typer.Option(help="The train stage's evaluation.json (the dates the model learned from).")
    ] = Path("reports/model/evaluation.json"),
    typology: Annotated[Path, typer.Option(help="Output of `iom typology`.")] = Path("data/typology"),
    out: Annotated[Path, typer.Option(help="Folder for drift.json.")] = Path("reports/drift"),
    metrics: Annotated[Path, typer.Option(help="Headline drift metrics JSON.")] = Path("metrics/drift.json"),
    params: ParamsOpt = Path("params.yaml"),
) -> None:
    """Measure label-free drift (PSI) between the training as-of dates and the panel date."""
    from pipelines import drift as stage

    stage.run(features, evaluation, typology, out, metrics, params)


@app.command()
def card(
    model: Annotated[Path, typer.Option(help="Output of `iom train` (registration.json).")] = Path(
        "data/model"
    ),
    model_reports: Annotated[Path, typer.Option(help="The train stage's reports folder.")] = Path(
        "reports/model"
    ),
    verdicts: Annotated[Path, typer.Option(help="The audit's verdicts.json.")] = Path(
        "reports/fairness/verdicts.json"
    ),
    drift: Annotated[Path, typer.Option(help="The drift stage's drift.json.")] = Path(
        "reports/drift/drift.json"
    ),
    out: Annotated[Path, typer.Option(help="Folder for the model card.")] = Path("reports/card"),
    params: ParamsOpt = Path("params.yaml"),
) -> None:
    """Render the model card and write the registered version's description in MLflow."""
    from pipelines import card as stage
    from pipelines.tracking import mlflow_enabled

    stage.run(model, model_reports, verdicts, drift, out, track=mlflow_enabled(params))


@app.command()
def publish(
    model: Annotated[Path, typer.Option(help="Output of `iom train` or `iom score`.")] = Path("data/model"),
    typology: Annotated[Path, typer.Option(help="Output of `iom typology`.")] = Path("data/typology"),
    linked: Annotated[Path, typer.Option(help="Linked tables (persons, panel_decisions).")] = Path(
        "data/linked"
    ),
    reid: ReidOpt = Path("data/reid"),
    fairness: Annotated[Path, typer.Option(help="The audit's metrics JSON (gate result).")] = Path(
        "metrics/fairness.json"
    ),
    out: Annotated[Path, typer.Option(help="cohort_list.csv and panel_pack.html.")] = Path("data/panel"),
    reid_out: Annotated[Path, typer.Option(help="reid_key.csv for the data controller only.")] = Path(
        "data/reid_key"
    ),
    metrics: Annotated[
        Path | None, typer.Option(help="Publish metrics JSON (default: publish.json in --out).")
    ] = None,
    params: ParamsOpt = Path("params.yaml"),
) -> None:
    """Publish the scored cohort list and the panel pack for the tiering meeting."""
    from pipelines import publish as stage
    from pipelines.tracking import mlflow_enabled

    # A monthly publish writes its metrics beside its list, never over the pipeline's
    # DVC-tracked metrics/publish.json (dvc.yaml passes --metrics explicitly).
    metrics = out / "publish.json" if metrics is None else metrics
    result = stage.run(model, typology, linked, reid, fairness, out, reid_out, metrics, params)
    # alias `panel`: the version that scored this list
    if mlflow_enabled(params) and result.get("model_name"):
        _point_panel_alias(str(result["model_name"]), str(result["model_version"]))
    # The area's name comes from the validated manifest, beside the linked tables.
    manifest = linked.parent / "validated" / "manifest.json"
    if manifest.exists():
        _track("publish", manifest, out / stage.DETAIL_FILE, params, ("publish",))


@app.command()
def review(
    review_file: Annotated[Path, typer.Option("--review", help="The filled-in clerical review file.")] = Path(
        "data/reid/clerical_review.csv"
    ),
    decisions: Annotated[
        Path | None, typer.Option(help="Clerical decisions folder (default: params link.decisions_dir).")
    ] = None,
    params: ParamsOpt = Path("params.yaml"),
) -> None:
    """Record the data controller's decisions (match / no_match) for every later link run."""
    from linkage.review import ReviewFileError
    from pipelines import link as stage

    try:
        counts = stage.record_review(review_file, decisions, params)
    except ReviewFileError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(
        f"recorded {counts['match']} match and {counts['no_match']} no_match decisions "
        f"({counts['added']} new, {counts['changed']} changed); {counts['left']} pairs in the file left "
        f"undecided; {counts['ledger']} decisions in the ledger. Run `dvc repro` to apply them."
    )


@app.command("simulate-review")
def simulate_review(
    truth: Annotated[Path, typer.Option(help="The simulated extract's _truth folder.")],
    review_file: Annotated[
        Path, typer.Option("--review", help="The clerical review file to fill in.")
    ] = Path("data/reid/clerical_review.csv"),
    error_rate: Annotated[float, typer.Option(help="Probability that a decision is wrong.")] = 0.02,
    share: Annotated[float, typer.Option(help="Share of the queue decided, from the top.")] = 1.0,
    seed: Annotated[int, typer.Option(help="Seed of the reviewer's errors.")] = 0,
) -> None:
    """Simulated extracts only: fill in the review file's decisions from the truth, with errors."""
    import pandas as pd

    from pipelines import link as stage
    from simulator.reviewer import simulate_review as fill

    frame = stage.read_review_file(review_file)
    filled = fill(frame, pd.read_parquet(truth / "identities.parquet"), error_rate, share, seed)
    with stage.private_file(review_file, "w", encoding=stage.CSV_ENCODING) as f:
        filled.to_csv(f, index=False)
    n = int((filled["decision"] != "").sum())
    typer.echo(f"filled in {n} of {len(filled)} decisions in {review_file}; record them with `iom review`")


def _user_message(exc: BaseException) -> str:
    if isinstance(exc, FileNotFoundError) and not _is_iom_error(exc) and exc.filename:
        return (
            f"{exc.filename}: no such file or folder. It is an input of this stage: run the stages "
            "before it first (`dvc repro` runs them in order), or check the path given."
        )
    return str(exc)


def _is_iom_error(exc: BaseException) -> bool:
    from iom_config import IomError

    return isinstance(exc, IomError)


def main() -> None:
    """The ``iom`` entry point: run a subcommand; an expected error is one message and status 2."""
    try:
        app()
    except Exception as exc:
        if _debug or not (_is_iom_error(exc) or isinstance(exc, FileNotFoundError)):
            raise
        print(f"error: {_user_message(exc)}\n(run `iom --debug ...` for the traceback)", file=sys.stderr)
        sys.exit(EXIT_USER_ERROR)


if __name__ == "__main__":  # pragma: no cover
    main()
