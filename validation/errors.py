"""Table-level extract problems, reported together in one message an analyst can act on."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from iom_config import IomError

# Table-level rules: any of these stops the stage before a single row is validated,
# because the extract as a whole cannot be trusted (row-level rules are in
# ``iom_contract.ROW_RULES``).
TABLE_RULES: dict[str, str] = {
    "manifest_missing": "manifest.json is not in the extract directory",
    "manifest_invalid": "manifest.json is not a readable JSON object",
    "contract_version": "manifest.json names a different contract version",
    "manifest_field": "a required manifest.json field is missing or malformed",
    "file_missing": "a required table has no .csv or .parquet file",
    "file_ambiguous": "a table has both a .csv and a .parquet file",
    "file_unreadable": "a table file cannot be read",
    "column_missing": "a required column is not in the file",
    "column_duplicated": "a column name appears more than once in the header",
    "row_count_missing": "manifest.json row_counts has no entry for a table",
    "row_count_mismatch": "the file's data-row count differs from manifest.json row_counts",
}


@dataclass(frozen=True)
class Problem:
    """One table-level problem with an extract.

    Attributes
    ----------
    file
        File name inside the extract directory (e.g. ``police_offences.csv``).
    column
        Column concerned, or ``""`` when the problem is about the whole file.
    rule
        One of ``TABLE_RULES``.
    count
        How many things are affected (rows, columns or files), for the message.
    example
        An example value or name, ``""`` when there is none.
    message
        What is wrong and what to do, in plain words.
    """

    file: str
    column: str
    rule: str
    count: int
    example: str
    message: str

    def __str__(self) -> str:
        where = self.file + (f', column "{self.column}"' if self.column else "")
        example = f' (example: "{self.example}")' if self.example else ""
        return f"{where} [{self.rule}, {self.count}]{example}: {self.message}"


class ExtractError(IomError):
    """The extract fails table-level checks; ``problems`` lists every one found.

    ``str(err)`` is a single message, readable without the traceback, that names
    each file and column, the rule, a count, an example and what to do.
    """

    def __init__(self, extract_dir: Path, problems: list[Problem]) -> None:
        self.extract_dir = Path(extract_dir)
        self.problems = list(problems)
        super().__init__(self._message())

    def _message(self) -> str:
        n = len(self.problems)
        head = (
            f"The extract in {self.extract_dir} cannot be validated: {n} problem"
            f"{'s' if n != 1 else ''} with its files. No rows were checked and nothing was "
            "written. Fix each problem below in the extract (or ask the agency that sent it "
            "to re-send it), then run the stage again."
        )
        lines = [f"  {i}. {p}" for i, p in enumerate(self.problems, start=1)]
        return "\n".join([head, *lines])

    def __str__(self) -> str:
        return self._message()


class ExtractNotFoundError(IomError, FileNotFoundError):
    """The extract folder does not exist (a mistyped path, an unmounted share)."""

    def __init__(self, extract_dir: Path) -> None:
        self.extract_dir = Path(extract_dir)
        what = "is a file, not a folder" if self.extract_dir.exists() else "no such folder"
        super().__init__(
            f"The extract folder {self.extract_dir} was not found ({what}). Check the path given "
            "with --extract or as validate.extract in params.yaml (relative paths start from the "
            "project folder), and that the share holding it is mounted."
        )

    def __str__(self) -> str:
        return str(self.args[0])
