"""A real ``mlflow server`` on 127.0.0.1 for the slow tests, started and stopped by its PID group."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# ~16-20 s to /health when idle; far longer on a loaded 2-core CI box.
START_TIMEOUT_S = 150


@dataclass(frozen=True)
class Server:
    base: str
    seconds_to_health: float


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(base: str, endpoint: str, **query: str) -> Any:
    """GET ``endpoint``: parsed JSON for the REST API (``/api/...``), raw bytes otherwise."""
    url = f"{base}{endpoint}?{urllib.parse.urlencode(query)}"
    with urllib.request.urlopen(url, timeout=30) as resp:
        body = resp.read()
    return json.loads(body) if endpoint.startswith("/api/") else body


@contextmanager
def mlflow_server(root: Path) -> Iterator[Server]:
    """Serve a SQLite store and artifact root under ``root``; stop the server's group on exit."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = (root / "server.log").open("wb")
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "mlflow"), "server",
            "--backend-store-uri", f"sqlite:///{root / 'server.db'}",
            "--default-artifact-root", str(root / "artifacts"),
            "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        ],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"},
        start_new_session=True,
    )  # fmt: skip
    try:
        started = time.monotonic()
        while True:
            try:
                if get(base, "/health") == b"OK":
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() - started > START_TIMEOUT_S:
                raise RuntimeError(
                    f"mlflow server did not start: {(root / 'server.log').read_text()[-2000:]}"
                )
            time.sleep(0.5)
        yield Server(base, time.monotonic() - started)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # the server and its workers: the group we started
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        log.close()
