"""Fixtures of the linkage tests."""

from __future__ import annotations

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
