"""The MLflow store belongs to the project being run, not to where the code is installed.

Two checkouts share this one environment (its interpreter and its installed ``pipelines``
package): a stage's MLflow run from each lands in that checkout's own ``mlflow.db``, and
a command typed in a subfolder still finds its project's store.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import pipelines

# Each new SQLite store runs MLflow's migrations (about 20 s).
pytestmark = pytest.mark.slow

LOG_ONE_RUN = """
import sys
from pathlib import Path
from pipelines.tracking import log_stage_run
print(log_stage_run("features", "Testshire", Path(sys.argv[1]), {"features": {"k": 1}}))
"""


def _checkout(root: Path) -> Path:
    """A project folder as a clone has it (a DVC root), holding one stage's metrics file."""
    (root / ".dvc").mkdir(parents=True)
    (root / "dvc.yaml").write_text("stages: {}\n", encoding="utf-8")
    (root / "metrics").mkdir()
    (root / "metrics" / "features.json").write_text(json.dumps({"n_people": 7}), encoding="utf-8")
    return root


def _log_from(cwd: Path, metrics: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env["MLFLOW_DISABLE_TELEMETRY"] = "true"
    done = subprocess.run(
        [sys.executable, "-c", LOG_ONE_RUN, str(metrics)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


def _run_ids(store: Path) -> set[str]:
    import sqlite3

    with sqlite3.connect(store) as db:
        return {row[0] for row in db.execute("select run_uuid from runs")}


def test_two_checkouts_sharing_one_environment_keep_their_own_store(tmp_path: Path) -> None:
    code_root = Path(pipelines.__file__).resolve().parent.parent
    code_store_before = (
        (code_root / "mlflow.db").stat().st_mtime_ns if (code_root / "mlflow.db").exists() else None
    )
    first = _checkout(tmp_path / "first")
    second = _checkout(tmp_path / "second")
    (second / "reports").mkdir()

    run_first = _log_from(first, first / "metrics" / "features.json")
    # From a subfolder of the second checkout: the store is still at its root.
    run_second = _log_from(second / "reports", second / "metrics" / "features.json")

    assert _run_ids(first / "mlflow.db") == {run_first}
    assert _run_ids(second / "mlflow.db") == {run_second}
    assert (first / "mlartifacts").is_dir() and (second / "mlartifacts").is_dir()
    assert not (second / "reports" / "mlflow.db").exists()
    code_store_after = (
        (code_root / "mlflow.db").stat().st_mtime_ns if (code_root / "mlflow.db").exists() else None
    )
    assert code_store_after == code_store_before, "a run was written to the store beside the code"
