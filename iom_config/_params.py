"""Load one params.yaml section into a validated, frozen pydantic model."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from iom_config._errors import IomError

DEFAULT_PARAMS = Path("params.yaml")


class StageParams(BaseModel):
    """Base class for a stage's params section: frozen, and unknown keys are errors."""

    model_config = ConfigDict(frozen=True, extra="forbid")


P = TypeVar("P", bound=StageParams)


class ParamsError(IomError, ValueError):
    """params.yaml is missing, unreadable, or a section does not fit its stage."""


def read_params(path: Path = DEFAULT_PARAMS) -> dict[str, Any]:
    """Read the whole params file as a mapping."""
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ParamsError(
            f"{path}: file not found. Run from the repository root, or pass --params."
        ) from None
    except yaml.YAMLError as exc:
        raise ParamsError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ParamsError(f"{path}: expected a mapping of stage sections at the top level")
    return raw


def load_params(section: str, model: type[P], path: Path = DEFAULT_PARAMS) -> P:
    """Load ``section`` of ``path`` into ``model``, failing with a message that names the key.

    Examples
    --------
    >>> from simulator import SimulateParams  # doctest: +SKIP
    >>> load_params("simulate", SimulateParams)  # doctest: +SKIP
    """
    raw = read_params(path)
    if section not in raw:
        hint = did_you_mean(section, raw)
        raise ParamsError(f"{path}: no '{section}:' section{hint}; add one (see README, 'Parameters').")
    return parse_params(raw[section] or {}, model, where=f"{path} [{section}]")


def parse_params(values: dict[str, Any], model: type[P], where: str = "params") -> P:
    """Validate a mapping against ``model`` with readable errors."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"]) or "(section)"
            if err["type"] == "extra_forbidden":
                known = _field_names(model, err["loc"][:-1])
                hint = did_you_mean(str(err["loc"][-1]), known)
                lines.append(f"  {key}: unknown key{hint}")
            elif err["type"] == "missing":
                lines.append(f"  {key}: required, but not given")
            else:
                lines.append(f"  {key}: {err['msg']} (got {err.get('input')!r})")
        raise ParamsError(f"{where}: invalid parameters:\n" + "\n".join(lines)) from None


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """``" (did you mean 'x'?)"`` for the closest known name, or ``""`` when none is close."""
    close = difflib.get_close_matches(name, [str(k) for k in known], n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _field_names(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    """The field names of the (possibly nested) model at ``loc``; [] when it cannot be followed."""
    current: Any = model
    for part in loc:
        field = current.model_fields.get(part) if isinstance(part, str) else None
        annotation = field.annotation if field is not None else None
        candidates = [annotation, *getattr(annotation, "__args__", ())]
        nested = [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]
        if not nested:
            return []
        current = nested[0]
    return list(current.model_fields)
