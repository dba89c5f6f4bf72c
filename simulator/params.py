"""Parameters of the partner-record simulator (params.yaml section ``simulate``)."""

from __future__ import annotations

import datetime as dt
from typing import Literal, Self

from pydantic import Field, field_validator, model_validator

from iom_config import StageParams
from iom_contract import ETHNICITY
from simulator.identity import IdentityNoise
from simulator.names import MAX_AREAS, areas_for
from simulator.typologies import TYPOLOGY_NAMES


class RecordingBias(StageParams):
    """Police record offences for ``group`` at ``factor`` times the rate of true offending.

    The extra records are weak cases (mostly no further action, some community resolutions
    and cautions), as over-policing produces. ``factor: 1.0`` is off.
    """

    group: str = "Black"
    factor: float = Field(default=1.0, ge=1.0, le=5.0)

    @field_validator("group")
    @classmethod
    def _known_group(cls, v: str) -> str:
        if v not in ETHNICITY:
            raise ValueError(f"must be one of {ETHNICITY}")
        return v


class SimulateParams(StageParams):
    """The simulated world and the extract drawn from it."""

    out: str = "data/extract"
    nominals: int = Field(20_000, ge=10)
    seed: int = 20261031
    extract_date: dt.date = dt.date(2026, 10, 31)
    history_years: int = Field(10, ge=2, le=30)
    # The world runs on past the extract date so later extracts of the same world can be
    # drawn (a second panel cycle) and so the oracle exists for every labelled date.
    future_years: int = Field(2, ge=1, le=5)
    # Set only when drawing a later extract of an existing world (`iom simulate
    # --continue-from`): the world's first and last months stay those of the first run.
    world_first_month: dt.date | None = None
    world_last_month: dt.date | None = None
    area: str = "North Staffordshire (simulated)"
    nominals_per_area: int | None = Field(
        20_000,
        ge=1_000,
        description=(
            "nominals of one IOM area: a larger extract (regional, national) spans "
            "ceil(nominals / nominals_per_area) areas, each with its own postcode districts, "
            "so people per district stay those of one area; None: one area at any size"
        ),
    )
    format: Literal["csv", "parquet"] = "csv"
    dirty_rate: float = Field(0.0, ge=0.0, le=0.5)
    typology_shares: dict[str, float] = Field(
        default_factory=lambda: {
            "general": 0.70,
            "young_last_chance": 0.08,
            "older_prison": 0.07,
            "vulnerable": 0.07,
            "control_only": 0.08,
        }
    )
    recording_bias: RecordingBias = RecordingBias()
    identity: IdentityNoise = IdentityNoise()
    distractor_share: float = Field(
        0.3,
        ge=0.0,
        le=2.0,
        description="people in health/housing data who are not police nominals, per linked person",
    )

    @property
    def n_areas(self) -> int:
        """Areas the extract spans (:func:`simulator.names.areas_for`)."""
        return areas_for(self.nominals, self.nominals_per_area)

    @model_validator(mode="after")
    def _areas_fit(self) -> Self:
        if self.n_areas > MAX_AREAS:
            raise ValueError(
                f"nominals / nominals_per_area gives {self.n_areas} areas; at most {MAX_AREAS} "
                "(raise nominals_per_area)"
            )
        return self

    @field_validator("typology_shares")
    @classmethod
    def _shares(cls, v: dict[str, float]) -> dict[str, float]:
        if set(v) != set(TYPOLOGY_NAMES):
            raise ValueError(f"needs exactly the typologies {TYPOLOGY_NAMES}")
        if any(s < 0 for s in v.values()) or abs(sum(v.values()) - 1.0) > 1e-6:
            raise ValueError("shares must be non-negative and sum to 1")
        return v
