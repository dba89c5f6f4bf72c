"""The ``iom`` command: one subcommand per pipeline stage.

Each subcommand is a thin shell: it parses options, configures logging, and calls the
stage's ``run`` in ``pipelines/<stage>.py``. Heavy imports happen inside the commands so
that ``iom --help`` is instant.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
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
TrackOpt = Annotated[
    bool, typer.Option("--mlflow/--no-mlflow", help="Record the stage's aggregate metrics in MLflow.")
]


def _track(stage: str, manifest: Path, metrics: Path, params_path: Path, sections: tuple[str, ...]) -> None:
    """Log a finished stage's metrics to MLflow (aggregates only)."""
    from pipelines.config import read_params
    from pipelines.tracking import area_of, log_stage_run

    raw = read_params(params_path)
    run_id = log_stage_run(stage, area_of(manifest), metrics, {s: raw.get(s) for s in sections})
    logging.getLogger("iom").info("MLflow run %s (stage %s)", run_id, stage)


@app.callback()
def _main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show debug messages.")] = False,
) -> None:
    """Configure logging for every subcommand (modules never configure it themselves)."""
    from rich.logging import RichHandler

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
    metrics: Annotated[Path, typer.Option(help="Summary figures JSON.")] = Path("metrics/simulation.json"),
    params: ParamsOpt = Path("params.yaml"),
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    mlflow: TrackOpt = True,
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
        progress=progress,
        metrics=metrics,
    )
    if mlflow:
        _track("simulate", written / "manifest.json", metrics, params, ("simulate",))


@app.command()
def validate(
    extract: Annotated[
        Path | None, typer.Option(help="Extract directory (default: params validate.extract).")
    ] = None,
    out: Annotated[Path, typer.Option(help="Where accepted tables and rejects/ go.")] = Path(
        "data/validated"
    ),
    metrics: Annotated[Path, typer.Option(help="Reconciliation metrics JSON.")] = Path(
        "metrics/validation.json"
    ),
    docs: Annotated[Path, typer.Option(help="Great Expectations Data Docs folder.")] = Path(
        "reports/validation"
    ),
    params: ParamsOpt = Path("params.yaml"),
    mlflow: TrackOpt = True,
) -> None:
    """Validate an extract against the data contract; quarantine bad rows with their reasons."""
    from pipelines import validate as stage

    stage.run(extract, out, metrics, docs, params)
    if mlflow:
        _track("validate", out / "manifest.json", metrics, params, ("validate",))


@app.command()
def link(
    validated: Annotated[Path, typer.Option(help="Output of `iom validate`.")] = Path("data/validated"),
    out: Annotated[Path, typer.Option(help="Pseudonymised, linked tables.")] = Path("data/linked"),
    reid: Annotated[Path, typer.Option(help="Re-identification key folder (data controller only).")] = Path(
        "data/reid"
    ),
    metrics: Annotated[Path, typer.Option(help="Linkage metrics JSON.")] = Path("metrics/linkage.json"),
    reports: Annotated[Path, typer.Option(help="Linkage charts.")] = Path("reports/linkage"),
    params: ParamsOpt = Path("params.yaml"),
    mlflow: TrackOpt = True,
) -> None:
    """Resolve people across agencies (pnc_id, then Splink on personal details) and pseudonymise."""
    from pipelines import link as stage

    stage.run(validated, out, reid, metrics, reports, params)
    if mlflow:
        _track("link", validated / "manifest.json", metrics, params, ("link",))


@app.command()
def features(
    linked: Annotated[Path, typer.Option(help="Output of `iom link`.")] = Path("data/linked"),
    manifest: Annotated[Path, typer.Option(help="The validated manifest (gives the extract date).")] = Path(
        "data/validated/manifest.json"
    ),
    out: Annotated[Path, typer.Option(help="Feature partitions, one folder per as-of date.")] = Path(
        "data/features"
    ),
    metrics: Annotated[Path, typer.Option(help="Feature metrics JSON.")] = Path("metrics/features.json"),
    params: ParamsOpt = Path("params.yaml"),
    mlflow: TrackOpt = True,
) -> None:
    """Build leakage-free features and labels for every as-of date and the panel date."""
    from pipelines import features as stage

    stage.run(linked, manifest, out, metrics, params)
    if mlflow:
        _track("features", manifest, metrics, params, ("features",))


if __name__ == "__main__":  # pragma: no cover
    app()
