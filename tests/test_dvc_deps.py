"""dvc.yaml's code dependencies cannot drift from the imports.

Each stage's ``cmd`` is ``iom <stage>``, which runs ``pipelines/<stage>.py``. Its import
closure over our own packages (every ``import`` anywhere in a module, function bodies
included, since the stage layer imports lazily; a submodule import also runs its parent
packages' ``__init__.py``) must be covered by the stage's ``deps``: otherwise editing a
module the stage runs (a monotone direction in ``features/catalogue.py``, say) would not
rerun the stage, and DVC would keep a stale model.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
OUR_PACKAGES = frozenset(p.parent.name for p in ROOT.glob("*/__init__.py") if p.parent.name != "tests")


def _module_files(dotted: str) -> list[Path]:
    """The files importing ``dotted`` executes: each package's ``__init__.py`` on the way, then the module."""
    parts = dotted.split(".")
    files: list[Path] = []
    for i in range(1, len(parts) + 1):
        base = ROOT.joinpath(*parts[:i])
        if (base / "__init__.py").is_file():
            files.append(base / "__init__.py")
        elif base.with_suffix(".py").is_file():
            files.append(base.with_suffix(".py"))
            break
        else:
            break
    return files


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported_modules(path: Path) -> set[str]:
    """Dotted names of our modules that ``path`` imports when it runs (not under TYPE_CHECKING)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    # The package relative imports start from (``a/b/__init__.py`` and ``a/b/c.py``: ``a.b``).
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            skip.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            found.add(base)
            # ``from pkg import name`` runs pkg/name.py when name is a submodule.
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {m for m in found if m.split(".")[0] in OUR_PACKAGES}


def import_closure(entry: Path) -> set[Path]:
    """Every file of ours that running ``entry`` can execute, as paths relative to the root."""
    seen: set[Path] = set()
    todo = [entry]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for module in _imported_modules(path):
            todo.extend(f for f in _module_files(module) if f not in seen)
    return {p.relative_to(ROOT) for p in seen}


def _stages() -> dict[str, dict]:
    return yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]


def _covered(path: Path, deps: list[str]) -> bool:
    for dep in deps:
        dep_path = Path(dep.rstrip("/"))
        if path == dep_path or dep_path in path.parents:
            return True
    return False


@pytest.mark.parametrize("stage", sorted(_stages()))
def test_deps_cover_import_closure(stage: str) -> None:
    spec = _stages()[stage]
    assert spec["cmd"].split()[:2] == ["iom", stage], f"{stage}: cmd should be `iom {stage} ...`"
    entry = ROOT / "pipelines" / f"{stage}.py"
    deps = [d for d in spec.get("deps", []) if "${" not in d]
    missing = sorted(str(p) for p in import_closure(entry) if not _covered(p, deps))
    assert not missing, (
        f"dvc.yaml stage {stage!r} runs these modules but does not depend on them "
        f"(add them, or their folder, to its deps): {missing}"
    )


def test_closure_follows_lazy_and_package_imports() -> None:
    """The walk sees imports inside functions and the package __init__ a submodule import runs."""
    closure = import_closure(ROOT / "pipelines" / "train.py")
    assert Path("features/catalogue.py") in closure  # via features/__init__.py
    assert Path("iom_contract/_declaration.py") in closure
    assert Path("pipelines/train.py") in closure


def test_uncovered_module_is_reported() -> None:
    closure = import_closure(ROOT / "pipelines" / "train.py")
    assert not all(_covered(p, ["pipelines/train.py", "models/"]) for p in closure)
