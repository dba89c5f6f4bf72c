"""Fairness audit of the risk model and the panel's decisions, and the publish gate."""

from fairness.audit import FairnessAudit, audit_fairness, measure_name, metric_token
from fairness.gate import GateBlocked, enforce
from fairness.params import FairnessParams, SignOff
from fairness.selection import top_k, top_share
from fairness.verdicts import read_verdicts

__all__ = [
    "FairnessAudit",
    "FairnessParams",
    "GateBlocked",
    "SignOff",
    "audit_fairness",
    "enforce",
    "measure_name",
    "metric_token",
    "read_verdicts",
    "top_k",
    "top_share",
]
