"""Every backend against the CPU engine, spike for spike, on small random networks: every
connection rule, drawn weights and delays, Poisson, DC and spike-generator input, the three
neuron models; plus determinism, live edits and recording through the backend protocol.

In the main test process `backend` is `cpu` (the tests then check the CPU against
itself across thread counts and batch lengths, and the protocol); in the simulator
process (`NUMBA_ENABLE_CUDASIM=1`) it is the GPU kernels, with both drivers."""
import numpy as np
import pytest

from sim_core.backends.protocol import Backend
from sim_core.engine.live import apply_live, can_apply_live
from sim_core.engine.simulation import Simulation
from sim_core.spec import from_dict, to_plain

NORMAL_W = {"dist": "normal", "mean": 60.0, "std": 20.0}
UNIFORM_D = {"dist": "uniform", "low": 0.2, "high": 2.0}


def _random(model="iaf_psc_exp", n_e=40, n_i=10, weights_e=None, delay_e=None, rules=None, dc=0.0, w=(90.0, -300.0)):
    """A small E/I network driven by Poisson input and a spike generator."""
    wd = 1.0 if model == "iaf_psc_delta" else None
    rules = rules or [{"rule": "fixed_indegree", "indegree": 8}, {"rule": "pairwise_bernoulli", "p": 0.2}]
    we = weights_e or (w[0] * (wd and 0.02 or 1.0))
    spec = {
        "format": "spikescope/1", "name": "rand", "seed": 7, "dt": 0.1,
        "populations": {"E": {"model": model, "size": n_e, "params": {"I_e": 100.0 if wd is None else 0.0}},
                        "I": {"model": model, "size": n_i}},
        "inputs": {"bg": {"model": "poisson_generator", "params": {"rate": 9000.0 if wd is None else 12000.0}},
                   "sg": {"model": "spike_generator", "params": {"spike_times": [2.0, 2.1, 7.5, 15.0]}},
                   "dc": {"model": "dc_generator", "params": {"amplitude": dc, "start": 5.0}}},
        "projections": [
            {"source": "bg", "target": "E", "rule": {"rule": "all_to_all"},
             "synapse": {"weight": 87.8 if wd is None else 0.3, "delay": 1.0}},
            {"source": "bg", "target": "I", "rule": {"rule": "all_to_all"},
             "synapse": {"weight": 87.8 if wd is None else 0.3, "delay": 1.0}},
            {"source": "sg", "target": "E", "rule": {"rule": "fixed_outdegree", "outdegree": 5},
             "synapse": {"weight": 400.0 if wd is None else 5.0, "delay": 0.5}},
            {"source": "dc", "target": "I", "rule": {"rule": "all_to_all"}, "synapse": {"weight": 1.0, "delay": 0.1}},
            {"source": "E", "target": "E", "rule": rules[0],
             "synapse": {"weight": we, "delay": delay_e or 1.5}},
            {"source": "E", "target": "I", "rule": rules[1], "synapse": {"weight": w[0] * (wd and 0.02 or 1.0),
                                                                          "delay": 0.8}},
            {"source": "I", "target": "E", "rule": {"rule": "fixed_total_number", "N": 60},
             "synapse": {"weight": w[1] * (wd and 0.02 or 1.0), "delay": 1.2}},
            {"source": "I", "target": "I", "rule": {"rule": "one_to_one"},
             "synapse": {"weight": w[1] * (wd and 0.02 or 1.0), "delay": 2.0}},
        ],
        "recorders": {"spikes": "all", "voltmeter": {"populations": ["E"], "n": 3, "interval": 0.5}},
    }
    return spec


CASES = {
    "exp_drawn_weights_delays": _random(weights_e=NORMAL_W, delay_e=UNIFORM_D),
    "alpha_lognormal_dc": _random("iaf_psc_alpha", dc=150.0, weights_e={"dist": "lognormal", "mu": 4.0, "sigma": 0.3},
                                  rules=[{"rule": "pairwise_bernoulli", "p": 0.3, "allow_autapses": False},
                                         {"rule": "all_to_all"}]),
    "delta_min_delay_one_step": _random("iaf_psc_delta", delay_e=0.1,
                                        rules=[{"rule": "fixed_indegree", "indegree": 6, "allow_multapses": False},
                                               {"rule": "fixed_outdegree", "outdegree": 3}]),
    "exp_weight_resolution": _random(weights_e={**NORMAL_W, "low": 0.0}),
}
CASES["exp_weight_resolution"]["projections"][4]["synapse"]["resolution"] = {"levels": 4, "method": "mean_variance"}

SHEET = {
    "format": "spikescope/1", "name": "sheet", "seed": 3, "dt": 0.1,
    "populations": {"S": {"model": "iaf_psc_exp", "size": 36, "params": {"I_e": 370.0},
                          "positions": {"kind": "grid", "shape": [6, 6], "extent": [1.0, 1.0], "periodic": True}}},
    "inputs": {"bg": {"model": "poisson_generator", "params": {"rate": 5000.0}}},
    "projections": [
        {"source": "bg", "target": "S", "rule": {"rule": "all_to_all"}, "synapse": {"weight": 60.0, "delay": 1.0}},
        {"source": "S", "target": "S", "rule": {"rule": "pairwise_bernoulli",
                                               "p": {"spatial": "gaussian", "p_center": 0.8, "sigma": 0.25},
                                               "mask": {"circular": {"radius": 0.5}}},
         "synapse": {"weight": 150.0, "delay": {"spatial": "linear", "offset": 0.5, "velocity": 0.3}}}],
}
CASES["spatial_linear_delays"] = SHEET

T_MS = 30.0  # 300 steps: the simulator runs ~20 ms per step


def _run(spec, backend, **opts):
    sim = Simulation(from_dict(spec), backend=backend, **opts)
    sim.run(T_MS)
    spikes = {p: sim.spikes(p) for p in spec["populations"]}
    return sim, spikes


def _same(a, b):
    return all(np.array_equal(a[p][0], b[p][0]) and np.array_equal(a[p][1], b[p][1]) for p in a)


@pytest.fixture(scope="module")
def cpu_reference():
    """The CPU engine's spikes and traces for every case (computed once)."""
    out = {}
    for name, spec in CASES.items():
        sim, spikes = _run(spec, "cpu")
        out[name] = (spikes, sim.voltages.data()[1])
    return out


@pytest.mark.parametrize("case", sorted(CASES))
def test_same_spikes_as_the_cpu_engine(backend, case, cpu_reference):
    opts = {"driver": "per_step", "blocks": 3} if backend == "gpu" else {"threads": 1}
    sim, spikes = _run(CASES[case], backend, **opts)
    ref_spikes, ref_v = cpu_reference[case]
    assert sum(len(t) for t, _ in ref_spikes.values()) > 20, "the network must be active"
    assert _same(spikes, ref_spikes)
    if ref_v.size:
        assert np.array_equal(sim.voltages.data()[1], ref_v)  # bit for bit, traces too
    assert isinstance(sim.backend, Backend)


@pytest.mark.parametrize("case", ["exp_drawn_weights_delays", "delta_min_delay_one_step"])
def test_persistent_driver_on_one_block(backend, case, cpu_reference, monkeypatch):
    """The cooperative persistent kernel (many steps per launch): in the simulator on one
    block, whose grid sync is then a real one. The delta case has a one-step delay, so
    update and delivery take separate phases there. A small device spike buffer makes
    7-step launches, so launches start at k0 > 0 (the previous step's pending delivery,
    voltmeter rows) and are checked against the CPU too, traces included."""
    if backend != "gpu":
        pytest.skip("a GPU driver")
    from sim_core.backends.gpu import engine
    n = sum(p["size"] for p in CASES[case]["populations"].values())
    monkeypatch.setattr(engine, "DEVICE_SPIKES", 7 * n)
    sim, spikes = _run(CASES[case], backend, driver="persistent")
    assert sim.backend.driver == "persistent" and sim.backend.blocks == 1
    assert _same(spikes, cpu_reference[case][0])
    ref_v = cpu_reference[case][1]
    assert ref_v.size and np.array_equal(sim.voltages.data()[1], ref_v)


def test_reset_reproduces_and_chunks_equal_one_run(backend):
    spec = from_dict(CASES["exp_drawn_weights_delays"])
    sim = Simulation(spec, backend=backend)
    sim.run(12.0)
    sim.run(T_MS - 12.0)  # two calls, pending deliveries carried across them
    first = {p: sim.spikes(p) for p in spec.populations}
    sim.reset()
    sim.run(T_MS)
    assert _same(first, {p: sim.spikes(p) for p in spec.populations})


def test_live_edits_equal_a_fresh_build(backend):
    """Weights, neuron parameters (E_L included) and input rates changed through the
    backend's methods, then Reset: identical to a fresh build of the edited spec."""
    old = from_dict(CASES["exp_drawn_weights_delays"])
    data = to_plain(old)
    data["populations"]["E"]["params"].update({"E_L": -62.0, "tau_m": 14.0})
    data["inputs"]["bg"]["params"]["rate"] = 11000.0
    data["projections"][5]["synapse"]["weight"] = 120.0
    new = from_dict(data)
    assert can_apply_live(old, new)
    live = Simulation(old, backend=backend)
    live.run(5.0)
    apply_live(live, new)
    live.reset()
    live.run(T_MS)
    fresh = Simulation(new, backend=backend)
    fresh.run(T_MS)
    a = {p: live.spikes(p) for p in new.populations}
    assert sum(len(t) for t, _ in a.values()) > 20
    assert _same(a, {p: fresh.spikes(p) for p in new.populations})


def test_small_host_buffer_loses_no_spike(backend, cpu_reference):
    """A host spike buffer smaller than one launch's spikes: the backend stops early or
    stages the rest (GPU), and the record is still the CPU engine's."""
    case = "exp_drawn_weights_delays"
    sim = Simulation(from_dict(CASES[case]), backend=backend)
    sim._out_step = np.empty(60, np.int64)
    sim._out_id = np.empty(60, np.int64)
    sim.run(T_MS)
    spikes = {p: sim.spikes(p) for p in CASES[case]["populations"]}
    assert _same(spikes, cpu_reference[case][0])


def test_regenerated_weights_equal_stored_ones(backend, cpu_reference):
    """Drawn weights drawn again from their Philox keys in the delivery kernel (the GPU's
    default: 4 bytes per synapse less) give the stored weights' spikes, and the storage
    shrinks by exactly those 4 bytes per drawn weight."""
    case = "exp_drawn_weights_delays"
    spec = from_dict(CASES[case])
    sim = Simulation(spec, backend=backend, regenerate_weights=True)
    stored = Simulation(spec, backend=backend, regenerate_weights=False)
    n_drawn = sum(c.n_synapses for c in sim.network.connectome.connections if c.drawn_weights)
    assert n_drawn > 0
    assert stored.backend.synapse_bytes() - sim.backend.synapse_bytes() == 4 * n_drawn
    sim.run(T_MS)
    assert _same({p: sim.spikes(p) for p in spec.populations}, cpu_reference[case][0])


def test_command_line_runs_the_backend(backend, cpu_reference, tmp_path):
    """`spikescope run SPEC --backend B --out DIR` (in the simulator process:
    `NUMBA_ENABLE_CUDASIM=1 spikescope run ... --backend gpu`) writes the CPU engine's spikes."""
    import json
    import subprocess
    import sys

    import yaml

    from sim_core.io.sonata import read_spikes
    case = "delta_min_delay_one_step"
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(CASES[case]))
    res = subprocess.run([sys.executable, "-m", "sim_core.cli", "run", str(spec_path), "--backend", backend,
                          "--t-presim", "0", "--t-sim", str(T_MS), "--json", "--out", str(tmp_path / "out")],
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    assert json.loads(res.stdout)["backend"] == backend
    spikes = read_spikes(tmp_path / "out" / "spikes.h5")
    ref = cpu_reference[case][0]
    for pop, (t, i) in ref.items():
        assert np.allclose(spikes[pop][0], t, atol=1e-9) and np.array_equal(spikes[pop][1], i)


@pytest.mark.parametrize("edits", [((5, 400.0),), ((2, 900.0),), ((5, 400.0), (5, 30.0)), ((5, 400.0), "reset")],
                         ids=["population", "spike_generator", "twice", "then_reset"])
@pytest.mark.parametrize("driver", ["per_step", "persistent"])
def test_live_weight_change_mid_run(backend, driver, edits):
    """A weight changed mid-run applies to the spikes emitted after the change: the same
    spikes on every backend and GPU driver, however the run before the change was split
    into calls (found in review: the CPU applied it to up to a batch of earlier spikes,
    depending on the split, and the GPU to one step or none); for a neuron population's
    and a spike generator's projection, two changes in a row, and a change then Reset."""
    if backend != "gpu" and driver == "persistent":
        pytest.skip("a GPU driver")
    old = from_dict(CASES["exp_drawn_weights_delays"])

    def run(backend_name, split, opts):
        sim = Simulation(old, backend=backend_name, **opts)
        spec = old
        for t in split:
            sim.run(t)
        for edit in edits:
            if edit == "reset":
                sim.reset()
                continue
            data = to_plain(spec)
            data["projections"][edit[0]]["synapse"]["weight"] = edit[1]
            spec = from_dict(data)
            apply_live(sim, spec)
            sim.run(1.3)
        sim.run(T_MS / 3)
        return {p: sim.spikes(p) for p in old.populations}

    opts = {"driver": driver} if backend == "gpu" else {}
    ref = run("cpu", (6.0,), {})
    assert sum(len(t) for t, _ in ref.values()) > 20
    for split in ((6.0,), (2.3, 3.7)):
        assert _same(run(backend, split, opts), ref), split


def test_shorter_t_ref_live_with_refractory_input(backend, monkeypatch):
    """iaf_psc_delta with refractory_input reads exp(-r h/tau_m) from a host table of counts
    r. Made shorter live while neurons are refractory, t_ref leaves counts longer than the
    new ones: the table must still cover them. The reference run gets a table far wider
    than any count; reading past the table's end gave garbage (no bounds check)."""
    spec = from_dict({
        "format": "spikescope/1", "name": "refr", "seed": 2, "dt": 0.1,
        "populations": {"n": {"model": "iaf_psc_delta", "size": 20,
                              "params": {"t_ref": 8.0, "refractory_input": True, "I_e": 500.0}}},
        "inputs": {"bg": {"model": "poisson_generator", "params": {"rate": 20000.0}}},
        "projections": [{"source": "bg", "target": "n", "rule": {"rule": "all_to_all"},
                         "synapse": {"weight": 0.4, "delay": 0.2}}],
        "recorders": {"voltmeter": {"populations": ["n"], "n": 20, "interval": 0.1}}})
    data = to_plain(spec)
    data["populations"]["n"]["params"]["t_ref"] = 2.0
    short = from_dict(data)
    from sim_core.backends import packing

    def run():
        sim = Simulation(spec, backend=backend)
        sim.run(12.0)
        apply_live(sim, short)
        sim.run(8.0)
        return sim.spikes("n"), sim.voltages.data()[1]

    (t_a, i_a), v_a = run()
    wide = packing.refractory_decay
    monkeypatch.setattr(packing, "refractory_decay", lambda table, longest, h: wide(table, 10_000, h))
    (t_b, i_b), v_b = run()
    assert len(t_a) > 10
    assert np.array_equal(t_a, t_b) and np.array_equal(i_a, i_b) and np.array_equal(v_a, v_b)
