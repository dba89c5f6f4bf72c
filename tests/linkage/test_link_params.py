"""Validation of the link: params section."""

from __future__ import annotations

import pytest

from iom_config import ParamsError, parse_params
from linkage import LinkParams


def test_defaults_are_valid() -> None:
    params = LinkParams()
    assert params.review_low <= params.accept


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"accept": 0.5, "review_low": 0.9}, "review_low <= accept"),
        ({"prediction_blocks": [["dob", "shoe_size"]]}, "unknown blocking column"),
        ({"name_thresholds": [0.8, 0.9]}, "strictly decreasing"),
        ({"acept": 0.9}, "acept"),
    ],
)
def test_bad_values_fail_with_a_readable_message(values: dict[str, object], message: str) -> None:
    with pytest.raises(ParamsError, match=message):
        parse_params(values, LinkParams, where="params.yaml [link]")
