"""Deterministic networks against NEST 3.10: spike trains must be identical."""
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from sim_core.engine.simulation import Simulation
from sim_core.spec import from_dict

nest = pytest.importorskip("nest", reason="NEST 3.10 is the reference (pip install nest-simulator==3.10.0)")
pytestmark = pytest.mark.nest

# NEST side: the same network, written out by hand (independent of SpikeScope's code).
NEST_RUNNER = textwrap.dedent("""
    import json, sys, nest
    nest.set_verbosity("M_ERROR")
    spec, t_sim = json.loads(sys.stdin.read()), float(sys.argv[1])
    nest.ResetKernel(); nest.resolution = spec["dt"]
    nodes, recs = {}, {}
    for name, p in spec["populations"].items():
        nodes[name] = nest.Create(p["model"], p["size"], params=p.get("params", {}))
        if "initial" in p: nodes[name].set(p["initial"])
        recs[name] = nest.Create("spike_recorder"); nest.Connect(nodes[name], recs[name])
    for name, i in spec.get("inputs", {}).items():
        nodes[name] = nest.Create(i["model"], params=i["params"])
    for pr in spec.get("projections", []):
        r = dict(pr["rule"]); rule = r.pop("rule")
        nest.Connect(nodes[pr["source"]], nodes[pr["target"]], {"rule": rule, **r},
                     {"weight": pr["synapse"]["weight"], "delay": pr["synapse"]["delay"]})
    nest.Simulate(t_sim)
    out = {}
    for name, rec in recs.items():
        ev = rec.events; first = nodes[name][0].global_id
        out[name] = [list(map(float, ev["times"])), [int(s - first) for s in ev["senders"]]]
    print(json.dumps(out))
""")


def nest_spikes(spec_dict, t_sim):
    res = subprocess.run([sys.executable, "-c", NEST_RUNNER, str(t_sim)], input=json.dumps(spec_dict),
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    return {k: (np.array(v[0]), np.array(v[1])) for k, v in json.loads(res.stdout.strip().splitlines()[-1]).items()}


def ours(spec_dict, t_sim, backend="cpu"):
    sim = Simulation(from_dict({"format": "spikescope/1", "name": "x", **spec_dict}), backend=backend)
    sim.run(t_sim)
    return {n: sim.spikes(n) for n in spec_dict["populations"]}


def assert_identical(a, b):
    for name in a:
        ta, ia = a[name]
        tb, ib = b[name]
        oa, ob = np.lexsort((ia, ta)), np.lexsort((ib, tb))
        assert len(ta) == len(tb), f"{name}: {len(ta)} vs {len(tb)} spikes"
        assert np.allclose(ta[oa], tb[ob], atol=1e-9, rtol=0), f"{name}: spike times differ"
        assert np.array_equal(ia[oa], ib[ob]), f"{name}: senders differ"


def _chain(model, extra_params=None):
    """A spike generator and a DC source drive a chain of three populations with mixed
    delays, inhibition and one-to-one/all-to-all wiring."""
    p = {"tau_m": 10.0, "t_ref": 2.0, **(extra_params or {})}
    return {
        "dt": 0.1,
        "populations": {
            "A": {"model": model, "size": 4, "params": {**p, "I_e": 300.0}},
            "B": {"model": model, "size": 4, "params": p, "initial": {"V_m": -60.0}},
            "C": {"model": model, "size": 3, "params": p},
        },
        "inputs": {
            "sg": {"model": "spike_generator", "params": {"spike_times": [1.0, 5.5, 5.6, 12.0, 30.0, 31.2, 55.0]}},
            "dc": {"model": "dc_generator", "params": {"amplitude": 420.0, "start": 20.0, "stop": 70.0}},
        },
        "projections": [
            {"source": "sg", "target": "A", "rule": {"rule": "all_to_all"}, "synapse": {"weight": W[model][0], "delay": 1.0}},
            {"source": "dc", "target": "B", "rule": {"rule": "all_to_all"}, "synapse": {"weight": 1.0, "delay": 0.5}},
            {"source": "A", "target": "B", "rule": {"rule": "one_to_one"}, "synapse": {"weight": W[model][1], "delay": 1.7}},
            {"source": "B", "target": "C", "rule": {"rule": "all_to_all"}, "synapse": {"weight": W[model][2], "delay": 0.3}},
            {"source": "A", "target": "C", "rule": {"rule": "all_to_all"}, "synapse": {"weight": W[model][3], "delay": 2.4}},
            {"source": "C", "target": "A", "rule": {"rule": "all_to_all"}, "synapse": {"weight": W[model][4], "delay": 4.0}},
        ],
    }


W = {  # per model, in pA (mV for delta): sg->A, A->B, B->C, A->C, C->A (inhibitory)
    "iaf_psc_exp": [900.0, 1100.0, 700.0, 250.0, -500.0],
    "iaf_psc_alpha": [700.0, 900.0, 500.0, 200.0, -400.0],
    "iaf_psc_delta": [9.0, 12.0, 7.0, 3.0, -5.0],
}


@pytest.mark.parametrize("model", ["iaf_psc_exp", "iaf_psc_alpha", "iaf_psc_delta"])
def test_chain_identical_to_nest(model, backend):
    spec = _chain(model, {"tau_syn_ex": 1.5, "tau_syn_in": 3.0} if model != "iaf_psc_delta" else None)
    a, b = ours(spec, 100.0, backend), nest_spikes(spec, 100.0)
    assert sum(len(t) for t, _ in a.values()) > 10  # the network is active
    assert len(b["C"][0]) > 0
    assert_identical(a, b)


def test_delta_refractory_input_identical_to_nest(backend):
    spec = _chain("iaf_psc_delta", {"refractory_input": True, "t_ref": 4.0})
    assert_identical(ours(spec, 100.0, backend), nest_spikes(spec, 100.0))


def test_two_neurons_shared_spec_identical_to_nest(backend):
    import yaml
    from conftest import SHARED_SPECS
    data = yaml.safe_load([p for p in SHARED_SPECS if p.stem == "two_neurons"][0].read_text())
    data.pop("format"), data.pop("name"), data.pop("description", None), data.pop("recorders", None)
    a, b = ours(data, 60.0, backend), nest_spikes(data, 60.0)
    assert len(a["post"][0]) >= 2
    assert_identical(a, b)


def test_voltage_trace_matches_nest(backend):
    """Membrane potentials agree to the last bits (1e-12 mV), not only spike times."""
    runner = textwrap.dedent("""
        import json, nest
        nest.set_verbosity("M_ERROR"); nest.ResetKernel(); nest.resolution = 0.1
        out = {}
        for m, w in [("iaf_psc_exp", 800.0), ("iaf_psc_alpha", 600.0), ("iaf_psc_delta", 8.0)]:
            n = nest.Create(m, 1, {"I_e": 150.0})
            sg = nest.Create("spike_generator", params={"spike_times": [3.0, 3.5, 9.0, 9.1, 9.2]})
            nest.Connect(sg, n, syn_spec={"weight": w, "delay": 1.2})
            vm = nest.Create("voltmeter", params={"interval": 0.1}); nest.Connect(vm, n)
            out[m] = vm
        nest.Simulate(41.0)
        print(json.dumps({m: list(v.events["V_m"]) for m, v in out.items()}))
    """)
    res = subprocess.run([sys.executable, "-c", runner], capture_output=True, text=True, timeout=120)
    ref = json.loads(res.stdout.strip().splitlines()[-1])
    for m, w in [("iaf_psc_exp", 800.0), ("iaf_psc_alpha", 600.0), ("iaf_psc_delta", 8.0)]:
        sim = Simulation(from_dict({
            "format": "spikescope/1", "name": "v",
            "populations": {"n": {"model": m, "size": 1, "params": {"I_e": 150.0}}},
            "inputs": {"sg": {"model": "spike_generator", "params": {"spike_times": [3.0, 3.5, 9.0, 9.1, 9.2]}}},
            "projections": [{"source": "sg", "target": "n", "rule": {"rule": "all_to_all"},
                             "synapse": {"weight": w, "delay": 1.2}}],
            "recorders": {"voltmeter": {"populations": ["n"], "n": 1, "interval": 0.1}}}), backend=backend)
        sim.run(41.0)
        _, v = sim.voltages.data()
        r = np.array(ref[m])
        assert len(r) > 300
        assert np.max(np.abs(v[: len(r), 0] - r)) < 1e-12, m


def test_unset_v_m_does_not_follow_e_l(backend):
    """NEST keeps V_m at its default -70 mV when only E_L is changed (bug found in review:
    SpikeScope used to start such neurons at E_L)."""
    spec = {"dt": 0.1, "populations": {"A": {"model": "iaf_psc_exp", "size": 2,
                                             "params": {"E_L": 0.0, "V_reset": 0.0, "V_th": 20.0, "I_e": 600.0}}}}
    a, b = ours(spec, 80.0, backend), nest_spikes(spec, 80.0)
    assert len(a["A"][0]) > 0
    assert_identical(a, b)
