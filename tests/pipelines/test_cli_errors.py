"""The ``iom`` command: an expected error is one message and exit status 2, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _iom(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
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


def _params(tmp_path: Path, **sections: dict[str, object]) -> Path:
    raw = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    raw.update(sections)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def test_missing_extract_folder_is_named_as_missing(tmp_path: Path) -> None:
    params = _params(tmp_path)
    done = _iom("validate", "--extract", "no/such/extract", "--params", str(params), cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "no/such/extract was not found (no such folder)" in done.stderr
    assert "problems with its files" not in done.stderr + done.stdout
    assert "Traceback" not in done.stderr


def test_typo_in_a_params_key_suggests_the_key(tmp_path: Path) -> None:
    params = _params(tmp_path, validate={"extrat": "data/extract"})
    done = _iom("validate", "--params", str(params), cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "extrat: unknown key (did you mean 'extract'?)" in done.stderr
    assert "extract: required, but not given" in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) <= 5


def test_bad_value_names_the_key(tmp_path: Path) -> None:
    raw = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    params = _params(tmp_path, features={**raw["features"], "history_months": -3})
    done = _iom("features", "--linked", "x", "--params", str(params), cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "history_months" in done.stderr
    assert "Traceback" not in done.stderr


def test_missing_input_file_says_what_to_run(tmp_path: Path) -> None:
    params = _params(tmp_path)
    done = _iom("train", "--features", "data/features", "--params", str(params), cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "data/features" in done.stderr
    assert "Traceback" not in done.stderr


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    params = _params(tmp_path)
    done = _iom("--debug", "validate", "--extract", "nope", "--params", str(params), cwd=tmp_path)
    assert done.returncode not in (0, 2)
    assert "Traceback" in done.stderr
    assert "ExtractNotFoundError" in done.stderr
