"""Shared configuration: the base class of every stage's params section and its loader (a leaf)."""

from iom_config._errors import IomError
from iom_config._params import (
    DEFAULT_PARAMS,
    ParamsError,
    StageParams,
    load_params,
    parse_params,
    read_params,
)
from iom_config._project import project_root

__all__ = [
    "DEFAULT_PARAMS",
    "IomError",
    "ParamsError",
    "StageParams",
    "load_params",
    "parse_params",
    "project_root",
    "read_params",
]
