"""The files the pipeline writes: one Parquet writer, one private-file writer (a leaf)."""

from iom_io._files import (
    PRIVATE_DIR_MODE,
    PRIVATE_FILE_MODE,
    private_dir,
    private_file,
    write_parquet,
    write_private_text,
)

__all__ = [
    "PRIVATE_DIR_MODE",
    "PRIVATE_FILE_MODE",
    "private_dir",
    "private_file",
    "write_parquet",
    "write_private_text",
]
