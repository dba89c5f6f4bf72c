"""Params errors a person can act on: unknown keys get the closest known key."""

from __future__ import annotations

import pytest

from iom_config import IomError, ParamsError, load_params, parse_params
from iom_config._params import did_you_mean
from simulator import SimulateParams


def test_did_you_mean_picks_the_closest_key_or_nothing() -> None:
    assert (
        did_you_mean("histroy_months", ["history_months", "train_start"])
        == " (did you mean 'history_months'?)"
    )
    assert did_you_mean("zzz", ["history_months"]) == ""


def test_unknown_nested_key_suggests_from_the_nested_model() -> None:
    with pytest.raises(ParamsError, match=r"identity\.typoo: unknown key \(did you mean 'typo'\?\)"):
        parse_params({"identity": {"typoo": 0.1}}, SimulateParams)


def test_missing_section_suggests_a_close_one(tmp_path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("simulat:\n  seed: 1\n", encoding="utf-8")
    with pytest.raises(ParamsError, match=r"no 'simulate:' section \(did you mean 'simulat'\?\)"):
        load_params("simulate", SimulateParams, path)


def test_params_error_is_the_project_error() -> None:
    assert issubclass(ParamsError, IomError)
    assert issubclass(ParamsError, ValueError)
