"""Fixtures of the linkage tests."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from linkage_fixtures import KEY, known_answer_tables

from linkage import LinkParams, LinkResult, link_extract
from linkage.keys import KEY_ENV


@pytest.fixture(autouse=True)
def _no_key_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests decide where the key comes from; never inherit one from the shell."""
    monkeypatch.delenv(KEY_ENV, raising=False)


@pytest.fixture(scope="session")
def linked() -> tuple[dict[str, pd.DataFrame], LinkResult]:
    tables, truth = known_answer_tables()
    # Fewer random pairs for u than the default, so the tests run in seconds.
    return tables, link_extract(tables, LinkParams(max_pairs=300_000), KEY, truth)


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A real Spark session in local mode (the one the engine builder makes), for the whole run."""
    from iom_spark import SparkParams, spark_session

    checkpoints = tmp_path_factory.mktemp("spark_checkpoints")
    return spark_session(
        SparkParams(master="local[2]", shuffle_partitions=2, checkpoint_dir=str(checkpoints))
    )
