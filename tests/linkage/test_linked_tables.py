"""The linked event tables written from the validated files: the same bytes as in memory."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from linkage_fixtures import KEY

from iom_io import write_parquet
from linkage import (
    IDENTITY_COLUMNS,
    LINKED_TABLES,
    LinkParams,
    LinkResult,
    link_identities,
    write_linked_table,
)
from linkage.tables import linked_table
from pipelines.link import read_validated


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def validated(tmp_path_factory: pytest.TempPathFactory, linked: tuple[dict, LinkResult]) -> Path:
    """The fixture extract's tables as the validate stage writes them."""
    tables, _ = linked
    folder = tmp_path_factory.mktemp("validated")
    for name, frame in tables.items():
        write_parquet(frame, folder / f"{name}.parquet")
    return folder


@pytest.mark.parametrize("name", list(LINKED_TABLES))
def test_streamed_table_is_byte_identical_to_the_in_memory_one(
    name: str, validated: Path, linked: tuple[dict, LinkResult], tmp_path: Path
) -> None:
    _, result = linked
    source = validated / f"{LINKED_TABLES[name][0]}.parquet"
    streamed = tmp_path / "streamed.parquet"
    n_rows = write_linked_table(source, name, result.person_index, KEY, streamed)
    in_memory = tmp_path / "in_memory.parquet"
    write_parquet(linked_table(pd.read_parquet(source), name, result.person_index, KEY), in_memory)
    assert n_rows == len(result.tables[name]) > 0
    assert _md5(streamed) == _md5(in_memory)


def test_small_batches_give_the_same_rows_in_row_groups_of_that_size(
    validated: Path, linked: tuple[dict, LinkResult], tmp_path: Path
) -> None:
    _, result = linked
    path = tmp_path / "contacts.parquet"
    n_rows = write_linked_table(
        validated / "probation_contacts.parquet", "contacts", result.person_index, KEY, path, batch_rows=997
    )
    meta = pq.ParquetFile(path).metadata
    assert meta.num_row_groups == -(-n_rows // 997)
    assert {meta.row_group(i).num_rows for i in range(meta.num_row_groups - 1)} == {997}
    expected = linked_table(
        pd.read_parquet(validated / "probation_contacts.parquet"), "contacts", result.person_index, KEY
    )
    pd.testing.assert_frame_equal(pd.read_parquet(path), expected)


def test_rows_of_one_person_on_one_day_keep_the_file_order(tmp_path: Path) -> None:
    index = pd.DataFrame({"source": ["probation"] * 2, "source_id": ["X1", "X2"], "pseudo_id": ["P2", "P1"]})
    rows = pd.DataFrame(
        {
            "crn": pd.array(["X1", "X9", "X1", "X2", "X1"], dtype="str"),
            "contact_date": pd.to_datetime(["2025-01-02", "2025-01-01", "2025-01-02", None, None]).astype(
                "datetime64[ms]"
            ),
            "outcome": pd.array(["third", "dropped", "fourth", "first", "fifth"], dtype="str"),
            "source_row": [1, 2, 3, 4, 5],
        }
    )
    source = tmp_path / "probation_contacts.parquet"
    write_parquet(rows, source)
    path = tmp_path / "contacts.parquet"
    assert write_linked_table(source, "contacts", index, KEY, path) == 4
    out = pd.read_parquet(path)
    # P1 first; then P2's rows by date, a missing date last, ties in file order; X9 links to nobody.
    assert out["outcome"].tolist() == ["first", "third", "fourth", "fifth"]
    in_memory = tmp_path / "in_memory.parquet"
    write_parquet(linked_table(rows, "contacts", index, KEY), in_memory)
    assert _md5(path) == _md5(in_memory)


def test_a_table_linking_nobody_is_written_empty_with_its_columns(
    validated: Path, linked: tuple[dict, LinkResult], tmp_path: Path
) -> None:
    _, result = linked
    nobody = result.person_index.iloc[:0]
    source = validated / "health_episodes.parquet"
    path = tmp_path / "health.parquet"
    assert write_linked_table(source, "health", nobody, KEY, path) == 0
    in_memory = tmp_path / "in_memory.parquet"
    write_parquet(linked_table(pd.read_parquet(source), "health", nobody, KEY), in_memory)
    assert _md5(path) == _md5(in_memory)


def test_the_link_reads_only_the_identity_columns(validated: Path) -> None:
    tables = read_validated(validated, IDENTITY_COLUMNS)
    assert set(tables) == set(IDENTITY_COLUMNS)
    assert "probation_contacts" not in tables and "probation_assessments" not in tables
    for name, frame in tables.items():
        assert list(frame.columns) == [c for c in IDENTITY_COLUMNS[name] if c in frame.columns]
    # Dates, outcomes and scores of events are copied, never read by the link.
    assert list(tables["police_offences"].columns) == ["pnc_id", "offence_date", "outcome", "outcome_date"]
    assert list(tables["custody_episodes"].columns) == ["noms_id", "pnc_id", "source_row"]
    assert "service" not in tables["health_episodes"]


def test_linking_the_identity_columns_gives_what_linking_everything_gives(
    validated: Path, linked: tuple[dict, LinkResult]
) -> None:
    _, everything = linked
    tables = read_validated(validated, IDENTITY_COLUMNS)
    identities = link_identities(tables, LinkParams(max_pairs=300_000), KEY, None)
    pd.testing.assert_frame_equal(identities.person_index, everything.person_index)
    pd.testing.assert_frame_equal(identities.persons, everything.persons)
    pd.testing.assert_frame_equal(identities.clerical_review, everything.clerical_review)
    assert identities.tables == {}
    assert identities.metrics["unlinked"] == everything.metrics["unlinked"]
