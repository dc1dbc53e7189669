"""One memory estimate before anything is allocated: a network too large for the machine
(or the GPU) is refused at once with a one-line error that says how much it needs and
what is available, whatever part is too large."""
import subprocess
import sys

import pytest

from sim_core.connectivity.build import available_memory
from sim_core.errors import CapacityError
from sim_core.network import memory
from sim_core.spec import from_dict


def _spec(size=100, k=10, delay=1.5, voltmeter=None):
    spec = {"format": "spikescope/1", "name": "big",
            "populations": {"E": {"model": "iaf_psc_exp", "size": size}},
            "projections": [{"source": "E", "target": "E", "rule": {"rule": "fixed_indegree", "indegree": k},
                             "synapse": {"weight": 1.0, "delay": delay}}]}
    if voltmeter:
        spec["recorders"] = {"voltmeter": voltmeter}
    return from_dict(spec)


def test_many_neurons_without_synapses_are_refused_before_allocation():
    """Found in review of issue 14: 4e10 neurons with few synapses failed in NumPy with a
    traceback while allocating 37 GiB; the old check counted synapses only."""
    with pytest.raises(CapacityError, match=r"about .* GiB needed \(.*neurons .*available on this machine"):
        memory.check(_spec(size=40_000_000_000, k=0))


def test_long_delays_count_their_ring_buffers():
    parts = memory.estimate(_spec(size=1_000_000, k=1, delay=10_000.0))
    assert parts["ring buffers"] >= 2 * 8 * 100_000 * 1_000_000
    with pytest.raises(CapacityError, match="ring buffers"):
        memory.check(_spec(size=1_000_000, k=1, delay=10_000.0))


def test_gpu_memory_is_checked_with_the_device_estimate():
    spec = _spec(size=10_000, k=100)
    memory.check(spec, device_free=available_memory())  # fits
    with pytest.raises(CapacityError, match="available on the GPU"):
        memory.check(spec, device_free=10 * 2**20)


def test_small_networks_pass():
    parts = memory.check(_spec())
    assert sum(parts.values()) < 2**30


def test_command_line_refuses_in_one_line(tmp_path):
    import yaml
    path = tmp_path / "big.yaml"
    path.write_text(yaml.safe_dump({"format": "spikescope/1", "name": "big",
                                    "populations": {"E": {"model": "iaf_psc_exp", "size": 40_000_000_000}}}))
    res = subprocess.run([sys.executable, "-m", "sim_core.cli", "run", str(path), "--t-sim", "1", "--no-record"],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 2, res.stderr
    errors = [line for line in res.stderr.strip().splitlines() if "error" in line]
    assert len(errors) == 1 and "GiB needed" in errors[0] and "Traceback" not in res.stderr
