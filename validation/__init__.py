"""Validate partner-record extracts against the data contract."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from validation.errors import TABLE_RULES, ExtractError, ExtractNotFoundError, Problem
from validation.params import ValidateParams

if TYPE_CHECKING:
    from validation.core import ValidationResult, read_extract, validate_extract
    from validation.outputs import write_validation_outputs

# Great Expectations takes seconds to import; the simulator and linkage only need
# ``iom_contract``, so the GE-backed API is imported on first use.
_LAZY = {
    "ValidationResult": "validation.core",
    "read_extract": "validation.core",
    "validate_extract": "validation.core",
    "write_validation_outputs": "validation.outputs",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'validation' has no attribute {name!r}")


__all__ = [
    "TABLE_RULES",
    "ExtractError",
    "ExtractNotFoundError",
    "Problem",
    "ValidateParams",
    "ValidationResult",
    "read_extract",
    "validate_extract",
    "write_validation_outputs",
]
