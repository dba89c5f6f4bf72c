"""Where the project being run lives: the DVC root above the working directory (a leaf).

Everything a run writes by default (the MLflow store, its artifacts) belongs to the
project being run, never to wherever the code is installed: two checkouts sharing one
environment, or a non-editable install in site-packages, each keep their own store.
"""

from __future__ import annotations

from pathlib import Path


def project_root(start: Path | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: the working directory) holding ``.dvc/``
    or ``dvc.yaml``; ``start`` itself when there is none.

    ``dvc repro`` runs every stage from the DVC root, so there this is the working
    directory; an ``iom`` command typed in a subfolder of the project still finds it.
    """
    here = Path.cwd() if start is None else Path(start)
    here = here.resolve()
    for folder in (here, *here.parents):
        if (folder / ".dvc").is_dir() or (folder / "dvc.yaml").is_file():
            return folder
    return here
