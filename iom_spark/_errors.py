"""Spark failures as one message: Java missing, an unreachable cluster, a failed job."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from iom_config import IomError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from iom_spark._engine import SparkParams

T = TypeVar("T")


class SparkEngineError(IomError, RuntimeError):
    """Spark could not start or run (Java missing, an unreachable cluster, a failed job)."""


_PYTHON_ERROR = re.compile(r"^(?:\w+\.)*(\w*Error): (.+)$", re.MULTILINE)


def spark_message(exc: BaseException) -> str:
    """One line saying what failed: the Java exception, or the last ``SomeError: message`` line
    of a Python worker's traceback; the full trace stays for ``--debug``."""
    java = getattr(exc, "java_exception", None)  # Py4JJavaError: the Java exception says what failed
    if java is not None:
        with contextlib.suppress(Exception):  # the JVM may be gone: keep pyspark's message
            first = str(java.toString()).strip().splitlines()
            if first:
                return first[0].rstrip(".")
    found = _PYTHON_ERROR.findall(str(exc))
    text = found[-1][1] if found else (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return text.strip().rstrip(".")


def _is_spark_error(exc: BaseException) -> bool:
    return type(exc).__module__.startswith(("pyspark", "py4j"))


def spark_call(what: str, call: Callable[[], T]) -> T:
    """Run ``call``; a Spark or Java failure becomes one :class:`SparkEngineError` naming ``what``."""
    try:
        with warnings.catch_warnings():
            # pyspark 4.3 warns on every pandas conversion that its pandas 3 support is new;
            # the engine-equality tests check the answers instead.
            warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas", FutureWarning)
            return call()
    except IomError:
        raise
    except Exception as exc:  # pyspark's and py4j's errors share no base class but Exception
        if not _is_spark_error(exc):
            raise
        raise SparkEngineError(f"spark engine: {what} failed: {spark_message(exc)}") from exc


def check_java() -> None:
    """Raise :class:`SparkEngineError` when no ``java`` can be found (JAVA_HOME, then PATH)."""
    home = os.environ.get("JAVA_HOME")
    if home:
        if not (Path(home) / "bin" / "java").exists():
            raise SparkEngineError(
                f"the Spark engine needs Java 17: JAVA_HOME is {home}, which holds no bin/java; "
                "install Java 17 or correct JAVA_HOME (or set engine: local)"
            )
        return
    if shutil.which("java") is None:
        raise SparkEngineError(
            "the Spark engine needs Java 17 and none is on PATH: install it (e.g. apt-get install "
            "openjdk-17-jre-headless) or set JAVA_HOME (or set engine: local)"
        )


def open_spark(params: SparkParams) -> SparkSession:
    """The Spark session for ``params``, with an expected failure as one message.

    The master URL is checked when params are loaded (:class:`SparkParams`); Java missing or
    an unreachable cluster raise :class:`SparkEngineError` naming what to fix.
    """
    from iom_spark._engine import spark_session

    if not params.remote:
        check_java()
    try:
        return spark_call("starting Spark", lambda: spark_session(params))
    except SparkEngineError as exc:
        cause = exc.__cause__ or exc
        raise SparkEngineError(
            f"Spark could not be started at {params.remote or params.master}: {spark_message(cause)}. "
            "Check the spark: section of params.yaml, that Java 17 runs (java -version) and, on a "
            "cluster, that the address is reachable; or set engine: local"
        ) from cause
