"""stdp_synapse against NEST 3.10 on deterministic networks: identical spike trains and
identical final weights (bit for bit), with multiplicative, additive and mixed weight
dependence, several delays, a spike-generator source, recurrent plastic connections and
all three current-based neuron models as targets."""
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

# NEST side, written out by hand (independent of SpikeScope's code): every connection's
# final weight by (projection, source, target), and the spikes.
NEST_RUNNER = textwrap.dedent("""
    import json, sys, nest
    nest.set_verbosity("M_ERROR")
    spec, t_sim = json.loads(sys.stdin.read()), float(sys.argv[1])
    nest.ResetKernel(); nest.resolution = spec["dt"]
    nodes, recs = {}, {}
    for name, p in spec["populations"].items():
        nodes[name] = nest.Create(p["model"], p["size"], params=p.get("params", {}))
        recs[name] = nest.Create("spike_recorder"); nest.Connect(nodes[name], recs[name])
    for name, i in spec.get("inputs", {}).items():
        nodes[name] = nest.Create(i["model"], params=i["params"])
    for k, pr in enumerate(spec["projections"]):
        r = dict(pr["rule"]); rule = r.pop("rule")
        syn = pr["synapse"]
        model = syn.get("model", "static_synapse")
        if model != "static_synapse":
            nest.CopyModel(model, f"syn_{k}", syn.get("params", {}))
            model = f"syn_{k}"
        nest.Connect(nodes[pr["source"]], nodes[pr["target"]], {"rule": rule, **r},
                     {"synapse_model": model, "weight": syn["weight"], "delay": syn["delay"]})
    nest.Simulate(t_sim)
    out = {"spikes": {}, "weights": {}}
    for name, rec in recs.items():
        ev = rec.events; first = nodes[name][0].global_id
        out["spikes"][name] = [list(map(float, ev["times"])), [int(s - first) for s in ev["senders"]]]
    for k, pr in enumerate(spec["projections"]):
        if pr["synapse"].get("model", "static_synapse") == "static_synapse":
            continue
        c = nest.GetConnections(synapse_model=f"syn_{k}")
        s0, t0 = nodes[pr["source"]][0].global_id, nodes[pr["target"]][0].global_id
        out["weights"][k] = [[int(x - s0) for x in c.source], [int(x - t0) for x in c.target],
                             [float(w).hex() for w in c.weight]]
    print(json.dumps(out))
""")


def run_nest(spec, t_sim):
    res = subprocess.run([sys.executable, "-c", NEST_RUNNER, str(t_sim)], input=json.dumps(spec),
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    spikes = {k: (np.array(v[0]), np.array(v[1])) for k, v in out["spikes"].items()}
    weights = {int(k): {(s, t): float.fromhex(w) for s, t, w in zip(*v)} for k, v in out["weights"].items()}
    return spikes, weights


def run_ours(spec, t_sim):
    sim = Simulation(from_dict({"format": "spikescope/1", "name": "x", **spec}))
    sim.run(t_sim)
    weights = {}
    for k, pr in enumerate(spec["projections"]):
        if pr["synapse"].get("model", "static_synapse") != "static_synapse":
            s, t, w = sim.backend.weights(k)
            weights[k] = {(int(a), int(b)): float(x) for a, b, x in zip(s, t, w)}
    return sim, {n: sim.spikes(n) for n in spec["populations"]}, weights


def assert_same_spikes(a, b):
    for name in a:
        (ta, ia), (tb, ib) = a[name], b[name]
        oa, ob = np.lexsort((ia, ta)), np.lexsort((ib, tb))
        assert len(ta) == len(tb), f"{name}: {len(ta)} vs {len(tb)} spikes"
        assert np.allclose(ta[oa], tb[ob], atol=1e-9, rtol=0), f"{name}: spike times differ"
        assert np.array_equal(ia[oa], ib[ob]), f"{name}: senders differ"


def _stdp(weight, delay, **params):
    return {"model": "stdp_synapse", "weight": weight, "delay": delay, "params": params}


def _network(model, w_scale=1.0):
    """Three regular sources at different rates and one driven by a spike generator drive two target
    populations through plastic synapses (two delays, three weight dependences); the
    targets also excite each other through plastic synapses."""
    pop = (lambda n, i_e, **p: {"model": model, "size": n, "params": {"I_e": i_e, **p}})
    return {
        "dt": 0.1,
        "populations": {
            "A": pop(2, 420.0), "B": pop(2, 380.0), "C": pop(1, 520.0),
            "P": pop(3, 355.0, tau_minus=15.0), "Q": pop(2, 365.0, tau_minus=33.0), "S": pop(1, 0.0),
        },
        "inputs": {"sg": {"model": "spike_generator",
                          "params": {"spike_times": [3.0, 3.4, 12.1, 40.0, 40.1, 40.2, 90.5, 151.0, 152.2, 300.0]}}},
        "projections": [
            {"source": "A", "target": "P", "rule": {"rule": "all_to_all"},
             "synapse": _stdp(60.0 * w_scale, 1.0, Wmax=150.0 * w_scale, **{"lambda": 0.05})},
            {"source": "B", "target": "P", "rule": {"rule": "all_to_all"},
             "synapse": _stdp(80.0 * w_scale, 2.3, Wmax=120.0 * w_scale, mu_plus=0.0, mu_minus=0.0, alpha=1.2,
                              tau_plus=16.8, **{"lambda": 0.02})},
            {"source": "C", "target": "Q", "rule": {"rule": "all_to_all"},
             "synapse": _stdp(40.0 * w_scale, 1.7, Wmax=200.0 * w_scale, mu_plus=0.4, mu_minus=0.7,
                              **{"lambda": 0.08})},
            {"source": "sg", "target": "S", "rule": {"rule": "all_to_all"},  # irregular spikes of S
             "synapse": {"weight": 2000.0 * w_scale, "delay": 0.1}},
            {"source": "S", "target": "Q", "rule": {"rule": "all_to_all"},
             "synapse": _stdp(100.0 * w_scale, 0.5, Wmax=150.0 * w_scale, **{"lambda": 0.1})},
            {"source": "P", "target": "Q", "rule": {"rule": "all_to_all"},
             "synapse": _stdp(30.0 * w_scale, 1.2, Wmax=90.0 * w_scale, **{"lambda": 0.03})},
            {"source": "Q", "target": "P", "rule": {"rule": "all_to_all"},
             "synapse": {"weight": -40.0 * w_scale, "delay": 0.8}},
        ],
    }


@pytest.mark.parametrize("model,w_scale", [("iaf_psc_alpha", 1.0), ("iaf_psc_exp", 1.0), ("iaf_psc_delta", 0.02)])
def test_stdp_spikes_and_final_weights_equal_nest(model, w_scale):
    spec, t_sim = _network(model, w_scale), 1500.0
    sim, ours_spikes, ours_w = run_ours(spec, t_sim)
    nest_spikes, nest_w = run_nest(spec, t_sim)
    assert all(len(ours_spikes[n][0]) > 10 for n in ("P", "Q")), "targets must fire for STDP to act"
    assert_same_spikes(ours_spikes, nest_spikes)
    changed = 0
    for k, w in nest_w.items():
        assert set(ours_w[k]) == set(w), f"projection {k}: other synapses"
        for pair, value in w.items():
            assert ours_w[k][pair] == value, f"projection {k} {pair}: {ours_w[k][pair]!r} vs NEST {value!r}"
        initial = spec["projections"][k]["synapse"]["weight"]
        changed += sum(v != initial for v in w.values())
    assert changed > 20  # the weights did move
    assert sim.backend.plasticity_counters()["history_overflows"] == 0


def test_weights_reset_with_the_simulation():
    spec = _network("iaf_psc_alpha")
    sim, first, w1 = run_ours(spec, 300.0)
    sim.reset()
    sim.run(300.0)
    s, t, w = sim.backend.weights(0)
    assert {(int(a), int(b)): float(x) for a, b, x in zip(s, t, w)} == w1[0]
    assert_same_spikes(first, {n: sim.spikes(n) for n in spec["populations"]})
