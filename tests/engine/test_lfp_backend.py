"""The LFP on every backend: the GPU (its connectome built on the device, currents read
there, drawn weights only as keys) gives the CPU's LFP, both methods, bit for bit; on the
CPU a run repeats exactly."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from sim_core.engine.simulation import Simulation
from sim_core.spec import from_dict

_path = Path(__file__).resolve().parents[1] / "lfp" / "small_spec.py"
_mod = importlib.util.spec_from_file_location("lfp_small_spec", _path)
small = importlib.util.module_from_spec(_mod)
_mod.loader.exec_module(small)
spec = small.spec


@pytest.mark.parametrize("method", ["kernel", "proxy"])
def test_lfp_equals_the_cpu_one(backend, method):
    s = from_dict(spec(method=method, size=(40, 10), drawn=True))
    ref = Simulation(s, backend="cpu")
    ref.run(10.0)
    sim = Simulation(s, backend=backend)
    sim.run(10.0)
    (t0, d0), (t1, d1) = ref.lfp.data(), sim.lfp.data()
    assert d0.shape == (16, 20) and np.abs(d0).max() > 0
    np.testing.assert_array_equal(t1, t0)
    np.testing.assert_array_equal(d1, d0)
