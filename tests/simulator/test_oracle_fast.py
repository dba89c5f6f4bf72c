"""The compiled oracle must give the reference recursion's answer for every person."""

from __future__ import annotations

import numpy as np

from simulator.generate import generate_world
from simulator.params import RecordingBias, SimulateParams


def test_fast_oracle_equals_reference() -> None:
    params = SimulateParams(nominals=1000, seed=11, recording_bias=RecordingBias(group="White", factor=1.5))
    fast = generate_world(params, show_progress=False, oracle="fast").oracle
    ref = generate_world(params, show_progress=False, oracle="reference").oracle
    assert len(fast) == len(ref) > 1000
    np.testing.assert_array_equal(fast["person_id"], ref["person_id"])
    np.testing.assert_allclose(fast["p_true"], ref["p_true"], rtol=0, atol=1e-10)
