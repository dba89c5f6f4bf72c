"""Leakage-free features and labels for the IOM cohort as of a date."""

from features.asof import TemporalWindowError, all_as_of_dates, as_of_dates, is_label_complete
from features.build import (
    as_of_dates_before_panel,
    build_features,
    build_features_at,
    default_as_of_dates,
    features_from_encoded,
    iter_features,
)
from features.catalogue import (
    FeatureSpec,
    feature_names,
    feature_specs,
    monotone_constraints,
    specs_for_columns,
)
from features.encode import LinkedTablesError, encode_tables
from features.params import FeatureParams

__all__ = [
    "FeatureParams",
    "FeatureSpec",
    "LinkedTablesError",
    "TemporalWindowError",
    "all_as_of_dates",
    "as_of_dates",
    "as_of_dates_before_panel",
    "build_features",
    "build_features_at",
    "default_as_of_dates",
    "encode_tables",
    "feature_names",
    "feature_specs",
    "features_from_encoded",
    "is_label_complete",
    "iter_features",
    "monotone_constraints",
    "specs_for_columns",
]
