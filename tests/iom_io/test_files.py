"""One Parquet writer and one private-file writer."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pandas as pd
import pytest

from iom_io import private_file, write_parquet, write_private_text


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_private_file_is_never_readable_by_others_and_replaces_atomically(tmp_path: Path) -> None:
    target = tmp_path / "reid_key.csv"
    target.write_text("old\n", encoding="utf-8")
    os.chmod(target, 0o644)  # an older, world-readable file
    old_umask = os.umask(0)  # the most permissive umask: modes come from the code alone
    try:
        with private_file(target, "w") as f:
            f.write("pseudo_id,pnc_id\n")
            # While writing: the target is untouched and the file being written is 0600.
            assert target.read_text(encoding="utf-8") == "old\n"
            (partial,) = [p for p in tmp_path.iterdir() if p != target]
            assert _mode(partial) == 0o600
    finally:
        os.umask(old_umask)
    assert target.read_text(encoding="utf-8") == "pseudo_id,pnc_id\n"
    assert _mode(target) == 0o600
    assert sorted(tmp_path.iterdir()) == [target]


def test_private_file_leaves_the_old_file_on_error(tmp_path: Path) -> None:
    target = tmp_path / "key.csv"
    target.write_text("old\n", encoding="utf-8")
    with pytest.raises(RuntimeError), private_file(target, "w") as f:
        f.write("half")
        raise RuntimeError("disk full")
    assert target.read_text(encoding="utf-8") == "old\n"
    assert sorted(tmp_path.iterdir()) == [target]


def test_write_private_text_makes_the_folder_private(tmp_path: Path) -> None:
    path = tmp_path / "reid_key" / "reid_key.csv"
    write_private_text("a,b\n", path)
    assert _mode(path.parent) == 0o700 and _mode(path) == 0o600
    assert path.read_text(encoding="utf-8") == "a,b\n"


def test_write_parquet_is_deterministic_and_matches_pandas(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"pseudo_id": ["b", "a"], "risk": [0.25, 0.5], "as_of": pd.to_datetime(["2024-03-31"] * 2)},
        index=[7, 3],
    )
    write_parquet(frame, tmp_path / "one.parquet")
    write_parquet(frame, tmp_path / "two.parquet", private=True)
    frame.to_parquet(tmp_path / "pandas.parquet", index=False, engine="pyarrow", compression="snappy")
    one = (tmp_path / "one.parquet").read_bytes()
    assert one == (tmp_path / "two.parquet").read_bytes() == (tmp_path / "pandas.parquet").read_bytes()
    assert _mode(tmp_path / "two.parquet") == 0o600
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "one.parquet"), frame.reset_index(drop=True))
