"""The ``iom`` command: an expected error is one message and exit status 2, no traceback."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def _iom(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``iom ARGS`` in a fresh process, as a user runs it."""
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _iom_here(
    *args: str, cwd: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    """``iom ARGS`` in this process (quicker: the heavy imports are shared); (status, stderr)."""
    from pipelines import cli

    monkeypatch.chdir(cwd)
    monkeypatch.setattr(sys, "argv", ["iom", *args])
    # The command configures logging for its process: put this process's back afterwards.
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {name: logging.getLogger(name).level for name in logging.root.manager.loggerDict}
    try:
        with pytest.raises(SystemExit) as done:
            cli.main()
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        for name, old in levels.items():
            logging.getLogger(name).setLevel(old)
    return int(done.value.code or 0), capsys.readouterr().err


def _params(tmp_path: Path, **sections: dict[str, object]) -> Path:
    raw = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    raw.update(sections)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.slow  # a fresh process imports everything (8 s idle, far more on a loaded box)
def test_missing_extract_folder_is_named_as_missing(tmp_path: Path) -> None:
    params = _params(tmp_path)
    done = _iom("validate", "--extract", "no/such/extract", "--params", str(params), cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "no/such/extract was not found (no such folder)" in done.stderr
    assert "problems with its files" not in done.stderr + done.stdout
    assert "Traceback" not in done.stderr


def test_typo_in_a_params_key_suggests_the_key(tmp_path: Path, monkeypatch, capsys) -> None:
    params = _params(tmp_path, validate={"extrat": "data/extract"})
    status, err = _iom_here(
        "validate", "--params", str(params), cwd=tmp_path, monkeypatch=monkeypatch, capsys=capsys
    )
    assert status == 2, err
    assert "extrat: unknown key (did you mean 'extract'?)" in err
    assert "extract: required, but not given" in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) <= 5


def test_bad_value_names_the_key(tmp_path: Path, monkeypatch, capsys) -> None:
    raw = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    params = _params(tmp_path, features={**raw["features"], "history_months": -3})
    status, err = _iom_here(
        "features",
        "--linked",
        "x",
        "--params",
        str(params),
        cwd=tmp_path,
        monkeypatch=monkeypatch,
        capsys=capsys,
    )
    assert status == 2, err
    assert "history_months" in err
    assert "Traceback" not in err


def test_missing_input_file_says_what_to_run(tmp_path: Path, monkeypatch, capsys) -> None:
    params = _params(tmp_path)
    status, err = _iom_here(
        "train",
        "--features",
        "data/features",
        "--params",
        str(params),
        cwd=tmp_path,
        monkeypatch=monkeypatch,
        capsys=capsys,
    )
    assert status == 2, err
    assert "data/features" in err
    assert "Traceback" not in err


@pytest.mark.slow  # a fresh process, as above
def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    params = _params(tmp_path)
    done = _iom("--debug", "validate", "--extract", "nope", "--params", str(params), cwd=tmp_path)
    assert done.returncode not in (0, 2)
    assert "Traceback" in done.stderr
    assert "ExtractNotFoundError" in done.stderr
