"""Models learned from the features: offender typologies and the risk model."""

from models.latent_class import MixedMixture
from models.risk import RiskModel
from models.risk_params import RiskModelParams, TrainParams
from models.typology import (
    TypologyModel,
    TypologyParams,
    assign_typology,
    assign_typology_at,
    load_model,
    save_model,
    select_training_rows,
    typology_inputs,
)
from models.typology_naming import PROFILE_MEASURES, TYPOLOGY_LABELS, name_clusters, profile_clusters

__all__ = [
    "PROFILE_MEASURES",
    "TYPOLOGY_LABELS",
    "MixedMixture",
    "RiskModel",
    "RiskModelParams",
    "TrainParams",
    "TypologyModel",
    "TypologyParams",
    "assign_typology",
    "assign_typology_at",
    "load_model",
    "name_clusters",
    "profile_clusters",
    "save_model",
    "select_training_rows",
    "typology_inputs",
]
