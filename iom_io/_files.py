"""Write Parquet tables the same way everywhere, and private files no one else can read."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def private_dir(path: Path) -> None:
    """Create ``path`` (and parents) and restrict it to its owner (0700)."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, PRIVATE_DIR_MODE)


@contextlib.contextmanager
def private_file(path: Path, mode: str = "wb", encoding: str = "utf-8") -> Iterator[IO[Any]]:
    """Open ``path`` for writing, readable by its owner alone, replaced atomically when done.

    The content goes to a new temporary file in the same folder, created with mode 0600
    (``mkstemp``: ``O_CREAT | O_EXCL``, so it is never readable by others, not even for
    an instant, whatever the umask or an older file's mode), then renamed over ``path``
    once complete: a reader sees the old file or the whole new one, never half of it.
    On error the temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, PRIVATE_FILE_MODE)  # exact, whatever mkstemp's platform default
        text = "b" not in mode
        with os.fdopen(fd, mode, encoding=encoding if text else None, newline="" if text else None) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_private_text(text: str, path: Path) -> None:
    """Write ``text`` (UTF-8) to ``path`` in a private folder: folder 0700, file 0600."""
    path = Path(path)
    private_dir(path.parent)
    with private_file(path, "w") as f:
        f.write(text)


def write_parquet(frame: pd.DataFrame, path: Path, private: bool = False) -> None:
    """Write ``frame`` as Parquet the same way every time: pyarrow, snappy, no index.

    The same frame gives byte-identical files. ``private`` writes it with
    :func:`private_file` (mode 0600, replaced atomically).
    """
    table = pa.Table.from_pandas(frame, preserve_index=False)
    if private:
        with private_file(path) as f:
            pq.write_table(table, f, compression="snappy")
    else:
        pq.write_table(table, path, compression="snappy")
