"""Engine behaviour that needs no reference simulator: determinism, lifecycle, recording."""
import dataclasses

import numba
import numpy as np
import pytest

from sim_core.engine.simulation import Simulation
from sim_core.errors import BackendError
from sim_core.spec import from_dict, load
from sim_core.spec.model import Recorders, Voltmeter


@pytest.fixture(scope="module")
def brunel(tmp_path_factory):
    from conftest import SHARED_SPECS
    return load([p for p in SHARED_SPECS if p.stem == "brunel_small"][0])


def _all_spikes(sim):
    return {n: sim.spikes(n) for n in sim.spec.populations}


def _same(a, b):
    return all(np.array_equal(a[n][0], b[n][0]) and np.array_equal(a[n][1], b[n][1]) for n in a)


def test_same_seed_identical_other_seed_different(brunel):
    runs = []
    for seed in (11, 11, 12):
        sim = Simulation(brunel, seed=seed)
        sim.run(200.0)
        runs.append(_all_spikes(sim))
    assert sum(len(t) for t, _ in runs[0].values()) > 1000
    assert _same(runs[0], runs[1])
    assert not _same(runs[0], runs[2])


def test_spikes_do_not_depend_on_thread_count(brunel):
    out = []
    for threads in (1, numba.config.NUMBA_NUM_THREADS):
        sim = Simulation(brunel, seed=5, threads=threads)
        sim.run(150.0)
        out.append(_all_spikes(sim))
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    assert _same(out[0], out[1])


def test_min_delay_batches_equal_single_steps(brunel):
    """Steps go in parallel batches up to the smallest delay (15 steps here); the spikes
    and membrane traces must be those of one step at a time, on any thread count."""
    spec = dataclasses.replace(brunel, recorders=Recorders("all", Voltmeter(("E", "I"), 3, 0.3)))
    out = []
    for batch, threads in ((1, 1), (None, 1), (None, numba.config.NUMBA_NUM_THREADS)):
        sim = Simulation(spec, seed=2, threads=threads)
        assert sim.backend.batch == 15
        if batch:
            sim.backend.batch = batch
        sim.run(73.3)  # not a multiple of the batch
        sim.run(26.7)
        out.append((_all_spikes(sim), sim.voltages.data()))
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    for spikes, (t, v) in out[1:]:
        assert _same(out[0][0], spikes)
        assert v.shape == (333, 6) and np.array_equal(out[0][1][1], v) and np.array_equal(out[0][1][0], t)


def test_batches_with_drawn_delays_and_spike_generator():
    """Drawn delays up to the ring's length and a spike generator whose delay is the
    smallest (its spikes fall inside batches): batched and single steps agree bit for bit."""
    spec = from_dict({
        "format": "spikescope/1", "name": "batches", "seed": 4,
        "populations": {"E": {"model": "iaf_psc_exp", "size": 300, "params": {"I_e": 300.0},
                              "initial": {"V_m": {"dist": "uniform", "low": -70.0, "high": -55.0}}}},
        "inputs": {"sg": {"model": "spike_generator", "params": {"spike_times": [2.0, 2.1, 7.3, 7.4, 15.0, 33.3]}}},
        "projections": [
            {"source": "E", "target": "E", "rule": {"rule": "fixed_indegree", "indegree": 30},
             "synapse": {"weight": {"dist": "normal", "mean": 30.0, "std": 10.0}, "delay":
                         {"dist": "uniform", "low": 0.7, "high": 4.0}}},
            {"source": "sg", "target": "E", "rule": {"rule": "all_to_all"}, "synapse": {"weight": 400.0, "delay": 0.7}}],
        "recorders": {"voltmeter": {"populations": ["E"], "n": 5, "interval": 0.1}}})
    out = []
    for batch in (1, None):
        sim = Simulation(spec, threads=numba.config.NUMBA_NUM_THREADS)
        assert sim.backend.batch == 7
        if batch:
            sim.backend.batch = batch
        sim.run(41.3)
        sim.run(18.7)
        out.append((_all_spikes(sim), sim.voltages.data()[1]))
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    assert sum(len(t) for t, _ in out[0][0].values()) > 300
    assert _same(out[0][0], out[1][0]) and np.array_equal(out[0][1], out[1][1])


def test_reset_reproduces_and_step_equals_run(brunel):
    sim = Simulation(brunel, seed=3)
    sim.run(100.0)
    first = _all_spikes(sim)
    sim.reset()
    assert sim.t == 0.0 and sim.spike_record.n_spikes == 0
    for _ in range(10):
        sim.step(100)  # 10 x 10 ms
    assert sim.t == pytest.approx(100.0)
    assert _same(first, _all_spikes(sim))
    sim.reset()
    sim.run(100.0, progress=True)
    assert _same(first, _all_spikes(sim))


def test_spike_buffer_drains_in_chunks(brunel):
    """More spikes than the output buffer holds: the host must drain it between chunks."""
    sim = Simulation(brunel, seed=3)
    sim._out_step = np.empty(3000, np.int64)  # tiny buffer: many early returns
    sim._out_id = np.empty(3000, np.int64)
    sim.run(100.0)
    ref = Simulation(brunel, seed=3)
    ref.run(100.0)
    assert _same(_all_spikes(sim), _all_spikes(ref))


def test_voltmeter_and_refractoriness():
    spec = from_dict({
        "format": "spikescope/1", "name": "vm",
        "populations": {"n": {"model": "iaf_psc_exp", "size": 3, "params": {"I_e": 800.0, "t_ref": 5.0}}},
        "recorders": {"voltmeter": {"populations": ["n"], "n": 2, "interval": 0.5}}})
    sim = Simulation(spec)
    sim.run(100.0)
    t, v = sim.voltages.data()
    assert v.shape == (200, 2) and t[0] == pytest.approx(0.5) and t[-1] == pytest.approx(100.0)
    times, ids = sim.spikes("n")
    isi = np.diff(times[ids == 0])
    assert np.allclose(isi, isi[0]) and isi[0] > 5.0  # regular firing, longer than t_ref
    assert v.max() < -55.0  # the reset comes before anyone can read a supra-threshold V


def test_gpu_backend_without_gpu_is_a_clear_error(brunel):
    from sim_core.backends import gpu_available
    if gpu_available():
        pytest.skip("a GPU is present")
    with pytest.raises(BackendError, match="--backend gpu"):
        Simulation(brunel, backend="gpu")
    sim = Simulation(brunel, backend="auto")
    assert sim.backend_name == "cpu"


def test_one_chunk_kernel_equals_the_chunked_one(brunel, monkeypatch):
    """Small networks run as one chunk in one parallel region (``kernels.advance_one``):
    bit for bit the spikes and voltages of the chunked kernel, with drawn delays, a spike
    generator, a voltmeter, and output buffers so small that calls end early."""
    from sim_core.backends.cpu import engine
    spec = from_dict({
        "format": "spikescope/1", "name": "one", "seed": 6,
        "populations": {"E": {"model": "iaf_psc_exp", "size": 120, "params": {"I_e": 300.0},
                              "initial": {"V_m": {"dist": "uniform", "low": -70.0, "high": -55.0}}},
                        "D": {"model": "iaf_psc_delta", "size": 40, "params": {"refractory_input": True}}},
        "inputs": {"sg": {"model": "spike_generator", "params": {"spike_times": [2.0, 2.1, 7.3, 15.0, 33.3]}},
                   "pz": {"model": "poisson_generator", "params": {"rate": 8000.0}}},
        "projections": [
            {"source": "E", "target": "E", "rule": {"rule": "fixed_indegree", "indegree": 12},
             "synapse": {"weight": {"dist": "normal", "mean": 30.0, "std": 10.0},
                         "delay": {"dist": "uniform", "low": 0.1, "high": 4.0}}},
            {"source": "E", "target": "D", "rule": {"rule": "pairwise_bernoulli", "p": 0.2},
             "synapse": {"weight": 0.5, "delay": 0.1}},
            {"source": "pz", "target": "D", "rule": {"rule": "all_to_all"}, "synapse": {"weight": 0.3, "delay": 0.1}},
            {"source": "pz", "target": "E", "rule": {"rule": "all_to_all"}, "synapse": {"weight": 12.0, "delay": 0.1}},
            {"source": "sg", "target": "E", "rule": {"rule": "all_to_all"}, "synapse": {"weight": 400.0, "delay": 0.1}}],
        "recorders": {"voltmeter": {"populations": ["E", "D"], "n": 3, "interval": 0.2}}})
    out = []
    for small_work, out_size in ((0, None), (10**9, None), (10**9, 200)):
        monkeypatch.setattr(engine, "SMALL_WORK", small_work)
        sim = Simulation(spec, threads=numba.config.NUMBA_NUM_THREADS)
        assert sim.backend.lo.shape[0] == (1 if small_work else min(2, numba.config.NUMBA_NUM_THREADS)) or \
            numba.config.NUMBA_NUM_THREADS == 1
        if out_size:  # calls end early when the spike or voltmeter buffer could overflow
            sim._out_step, sim._out_id = np.empty(out_size, np.int64), np.empty(out_size, np.int64)
            sim.voltages.buf = np.zeros((7, sim.voltages.index.shape[0]))
        sim.run(81.3)
        sim.step(17)
        sim.run(58.7)
        out.append((_all_spikes(sim), sim.voltages.data()))
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    assert sum(len(t) for t, _ in out[0][0].values()) > 1000
    for spikes, (t, v) in out[1:]:
        assert _same(out[0][0], spikes)
        assert np.array_equal(out[0][1][0], t) and np.array_equal(out[0][1][1], v)
