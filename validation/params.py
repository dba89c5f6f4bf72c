"""Parameters of the validate stage (the ``validate:`` section of params.yaml)."""

from __future__ import annotations

import datetime as dt

from pydantic import Field, field_validator

from iom_config import StageParams
from iom_contract import EARLIEST_DATE, MIN_AGE_YEARS


class ValidateParams(StageParams):
    """Validate-stage parameters.

    Attributes
    ----------
    extract
        Directory of the partner-record extract to validate.
    min_age_years
        A date of birth later than ``extract_date`` minus this many years is
        implausible (the age of criminal responsibility in England and Wales is 10).
    earliest_date
        Any date before this (``YYYY-MM-DD``) is implausible.
    max_examples
        How many example values to show per failed check in logs and Data Docs.
    """

    extract: str
    min_age_years: int = Field(default=MIN_AGE_YEARS, ge=0, le=120)
    earliest_date: str = EARLIEST_DATE
    max_examples: int = Field(default=5, ge=1, le=100)

    @field_validator("earliest_date")
    @classmethod
    def _check_earliest_date(cls, value: str) -> str:
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"earliest_date must be a date written YYYY-MM-DD, got {value!r}") from None
        if len(value) != 10:
            raise ValueError(f"earliest_date must be written YYYY-MM-DD, got {value!r}")
        return value
