"""Validate partner-record extracts against the data contract."""

from validation.core import ValidationResult, read_extract, validate_extract
from validation.errors import TABLE_RULES, ExtractError, Problem
from validation.outputs import write_validation_outputs
from validation.params import ValidateParams

__all__ = [
    "TABLE_RULES",
    "ExtractError",
    "Problem",
    "ValidateParams",
    "ValidationResult",
    "read_extract",
    "validate_extract",
    "write_validation_outputs",
]
