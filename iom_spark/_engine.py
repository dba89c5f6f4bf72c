"""Which engine runs the population-sized stages, and how the Spark session is made."""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

from pydantic import Field, field_validator

from iom_config import DEFAULT_PARAMS, ParamsError, StageParams, parse_params, read_params
from iom_config._params import did_you_mean

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

Engine = Literal["local", "spark"]
ENGINES: tuple[str, ...] = get_args(Engine)


# What spark-submit accepts as a master (a JVM started with anything else dies with a Java
# stack trace on stderr before Python hears of it, so the URL is checked with the params).
_MASTER = re.compile(
    r"^(local(\[(\*|\d+)(,\s*\d+)?\])?|local-cluster\[\d+,\s*\d+,\s*\d+\]|spark://\S+|yarn|k8s://\S+|mesos://\S+)$"
)


class SparkParams(StageParams):
    """The ``spark:`` section: where Spark runs and how it is tuned (used only with ``engine: spark``)."""

    master: str = "local[2]"
    """A Spark master URL: ``local[N]`` on one machine, ``spark://host:7077``, ``yarn``, ``k8s://...``."""
    remote: str | None = None
    """A Spark Connect address (``sc://host:15002``); when set, ``master`` is not used."""
    app_name: str = "iom-tiering"
    shuffle_partitions: int = Field(default=8, ge=1)
    """``spark.sql.shuffle.partitions``: about 2-4 per core of the whole cluster."""
    checkpoint_dir: str = ".spark/checkpoints"
    """Splink checkpoints here (relative to the project; use shared storage on a cluster)."""
    conf: dict[str, str | int | float | bool] = Field(default_factory=dict)
    """Any other ``spark.*`` setting, passed as is (e.g. ``spark.driver.memory: 8g``)."""

    @field_validator("master")
    @classmethod
    def _master_url(cls, master: str) -> str:
        if not _MASTER.match(master.strip()):
            raise ValueError(
                f"{master!r} is not a Spark master URL: use local[N] (N cores on this machine), "
                "local[*], spark://host:7077, yarn or k8s://https://host:port, or spark.remote "
                "(sc://host:15002) for Spark Connect"
            )
        return master.strip()


@dataclass(frozen=True)
class EngineChoice:
    """The analyst's choice: ``name`` and, for ``spark``, the Spark settings."""

    name: Engine
    spark: SparkParams

    @property
    def is_spark(self) -> bool:
        return self.name == "spark"


def load_engine(path: Path = DEFAULT_PARAMS) -> EngineChoice:
    """Read ``engine:`` (default ``local``) and the ``spark:`` section from ``path``."""
    raw = read_params(path)
    name = raw.get("engine", "local")
    if name not in ENGINES:
        hint = did_you_mean(str(name), ENGINES)
        raise ParamsError(f"{path} [engine]: must be one of {', '.join(ENGINES)}, got {name!r}{hint}")
    spark = parse_params(raw.get("spark") or {}, SparkParams, where=f"{path} [spark]")
    return EngineChoice(name=name, spark=spark)


def spark_session(params: SparkParams, root: Path | None = None) -> SparkSession:
    """The Spark session for ``params`` (created once per process, then reused).

    Sets what every stage relies on: UTC session time, Arrow transfer, the Python workers on
    this interpreter, Splink's similarity-function jar on ``spark.jars`` and a checkpoint
    directory. Nothing is downloaded: the jar ships inside the splink wheel.
    """
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    from pyspark.sql import SparkSession
    from splink.backends.spark import similarity_jar_location

    builder: Any = SparkSession.builder.appName(params.app_name)
    builder = builder.remote(params.remote) if params.remote else builder.master(params.master)
    settings: dict[str, Any] = {
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.shuffle.partitions": str(params.shuffle_partitions),
    }
    if not params.remote:
        # Settings fixed when a Spark application starts. A Spark Connect server is already
        # running: its operator sets these (and Splink's jar, `spark.jars`) when starting it.
        settings |= {
            "spark.ui.enabled": "false",
            "spark.ui.showConsoleProgress": "false",
            "spark.jars": similarity_jar_location(),
        }
    settings |= {k: str(v) for k, v in params.conf.items()}
    for key, value in settings.items():
        builder = builder.config(key, value)
    session: SparkSession = builder.getOrCreate()
    if not params.remote:
        checkpoints = Path(params.checkpoint_dir)
        if not checkpoints.is_absolute():
            from iom_config import project_root

            checkpoints = (root or project_root()) / checkpoints
        checkpoints.mkdir(parents=True, exist_ok=True)
        session.sparkContext.setCheckpointDir(str(checkpoints))
    return session


def is_connect(session: Any) -> bool:
    """Whether ``session`` is a Spark Connect client (no SparkContext, no JVM on this side)."""
    return type(session).__module__.startswith("pyspark.sql.connect")


def checkpoint_dir(session: Any) -> str | None:
    """The session's checkpoint folder (a URI, e.g. ``file:/...``), or None: none was set, or
    the session is a Spark Connect client, whose server keeps its own."""
    if session is None or is_connect(session):
        return None
    folder: str | None = session.sparkContext.getCheckpointDir()
    return folder


def stop_spark() -> None:
    """Stop this process's Spark session, if there is one."""
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        active.stop()
