"""The engine switch: ``engine: local | spark`` in params.yaml, and the one Spark session builder.

A leaf package (imports only :mod:`iom_config`): stages that can run on Spark ask
:func:`load_engine` which engine the analyst chose and, for ``spark``, take their session from
:func:`spark_session`. pyspark is imported only when the Spark engine is used.
"""

from iom_spark._engine import (
    ENGINES,
    Engine,
    EngineChoice,
    SparkParams,
    checkpoint_dir,
    is_connect,
    load_engine,
    spark_session,
    stop_spark,
)
from iom_spark._errors import SparkEngineError, check_java, open_spark, spark_call, spark_message

__all__ = [
    "ENGINES",
    "Engine",
    "EngineChoice",
    "SparkEngineError",
    "SparkParams",
    "check_java",
    "checkpoint_dir",
    "is_connect",
    "load_engine",
    "open_spark",
    "spark_call",
    "spark_message",
    "spark_session",
    "stop_spark",
]
