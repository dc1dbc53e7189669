"""The PyNEST export: generated scripts run standalone in NEST 3.10 and build the spec's network.

Each script runs in a subprocess with the venv's python, as a user would run it. Where the
network itself is checked (parameter draws, connections, delays), a small probe imports the
script's functions and dumps what NEST built.
"""
import ast
import copy
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import yaml

from sim_core.io.nest_export import pynest_script

pytest.importorskip("nest", reason="NEST 3.10 runs the exported scripts (pip install nest-simulator==3.10.0)")
pytestmark = pytest.mark.nest

T_SIM = 200.0
ENV = {**os.environ, "PYNEST_QUIET": "1"}  # no NEST banner in the output

# Runs the script's own functions (not main) and dumps the built network to an .npz.
PROBE = textwrap.dedent("""
    import json, runpy, sys
    import numpy as np
    script = runpy.run_path(sys.argv[1], run_name="probe")
    nest, wanted = script["nest"], json.loads(sys.argv[3])
    script["setup_kernel"](script["SPEC_SEED"], 1)
    pops = script["create_populations"]()
    nodes = {**pops, **script["create_inputs"]()}
    script["connect"](nodes)
    out = {}
    for name, nc in nodes.items():
        out[name + ".first"] = nc[0].global_id
        if nc.spatial is not None:
            out[name + ".pos"] = np.array(nest.GetPosition(nc), ndmin=2)
    for name, params in wanted.items():
        for p in params:
            out[name + "." + p] = np.atleast_1d(nodes[name].get(p))
    conns = nest.GetConnections()
    for key in ("source", "target", "weight", "delay"):
        out["conn." + key] = np.atleast_1d(conns.get(key)) if len(conns) else np.zeros(0)
    np.savez(sys.argv[2], **out)
""")


# ------------------------------------------------------------------ helpers
def spec_of(populations, projections=(), inputs=None, recorders=None, seed=3, name="t"):
    spec = {"format": "spikescope/1", "name": name, "dt": 0.1, "seed": seed,
            "populations": populations, "projections": list(projections)}
    if inputs:
        spec["inputs"] = inputs
    if recorders is not None:
        spec["recorders"] = recorders
    return spec


def proj(source, target, rule, weight=10.0, delay=1.0, **synapse):
    return {"source": source, "target": target, "rule": rule,
            "synapse": {"weight": weight, "delay": delay, **synapse}}


def write_script(spec, tmp_path, name="net.py"):
    path = tmp_path / name
    path.write_text(pynest_script(spec))
    return path


def run_script(spec, tmp_path, *args, t_sim=T_SIM):
    """Run the exported script; return (summary, spikes npz, voltages npz)."""
    script = write_script(spec, tmp_path)
    spikes, volts = tmp_path / "spikes.npz", tmp_path / "volts.npz"
    cmd = [sys.executable, str(script), "--t-sim", str(t_sim),
           "--spikes-out", str(spikes), "--voltages-out", str(volts), *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=ENV)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    return summary, dict(np.load(spikes)), dict(np.load(volts))


def probe(spec, tmp_path, wanted=None):
    """The network NEST builds from the script, without simulating."""
    script, out = write_script(spec, tmp_path), tmp_path / "probe.npz"
    done = subprocess.run([sys.executable, "-c", PROBE, str(script), str(out), json.dumps(wanted or {})],
                          capture_output=True, text=True, timeout=60, env=ENV)
    assert done.returncode == 0, done.stderr
    return dict(np.load(out))


def distances(net, src, tgt, extent=(1.0, 1.0), periodic=True):
    """Distance of every connection from src to tgt (torus distance if periodic)."""
    s = net["conn.source"] - net[f"{src}.first"]
    t = net["conn.target"] - net[f"{tgt}.first"]
    keep = (s >= 0) & (s < len(net[f"{src}.pos"])) & (t >= 0) & (t < len(net[f"{tgt}.pos"]))
    d = net[f"{tgt}.pos"][t[keep]] - net[f"{src}.pos"][s[keep]]
    if periodic:
        d -= np.asarray(extent) * np.round(d / np.asarray(extent))
    return np.linalg.norm(d, axis=1), keep


def check_summary(summary, spec):
    assert summary["simulator"] == "nest"
    assert summary["nest_version"].startswith("3.")
    assert summary["n_neurons"] == sum(p["size"] for p in spec["populations"].values())
    for name, rate in summary["rates_hz"].items():
        assert np.isfinite(rate) and rate >= 0, name
    for name, cv in summary["cv_isi"].items():
        assert cv is None or np.isfinite(cv), name
    assert summary["build_s"] >= 0 and summary["sim_s"] >= 0


LIF = {"model": "iaf_psc_exp", "size": 20}
PAIR = {"A": dict(LIF), "B": {"model": "iaf_psc_exp", "size": 30}}


# ------------------------------------------------------------------ the script as text
def _imports(source):
    tree = ast.parse(source)
    names = {a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names}
    names |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    return {n.split(".")[0] for n in names}


def test_script_is_standalone_python(shared_spec_path):
    spec = yaml.safe_load(shared_spec_path.read_text())
    for s in (spec, FEATURES, SPATIAL):
        assert _imports(pynest_script(s)) <= {"nest", "numpy", "json", "argparse", "time", "sys"}


def exported(spec):
    """The script's namespace, without NEST: its functions are defined, nothing runs."""
    namespace = {"__name__": "exported"}
    exec(compile(pynest_script(spec).replace("import nest\n", ""), "net.py", "exec"), namespace)
    return namespace


def test_description_cannot_break_the_script():
    spec = spec_of(copy.deepcopy(PAIR))
    spec["description"] = 'ends in a quote " and has \\ a backslash, \'\'\' and """ quotes"'
    assert spec["description"] in " ".join(exported(spec)["__doc__"].split())


def test_mean_cv_isi():
    mean_cv_isi = exported(spec_of(copy.deepcopy(PAIR)))["mean_cv_isi"]
    # neuron 0 regular (CV 0), neuron 1 ISIs 1 and 3 (CV 0.5), neuron 2 only two spikes (left out)
    times = np.array([5.0, 1.0, 2.0, 3.0, 2.0, 1.0, 5.0, 4.0, 9.0])
    senders = np.array([2, 0, 1, 0, 0, 1, 1, 0, 2])
    assert mean_cv_isi(times, senders) == pytest.approx(0.25)
    assert mean_cv_isi(times[senders == 2], senders[senders == 2]) is None
    assert mean_cv_isi(np.zeros(0), np.zeros(0, dtype=int)) is None


def test_hand_written_specs_are_valid():
    from sim_core.spec import from_dict
    for spec in [FEATURES, SPATIAL, *[spec_of(PAIR, [proj("A", "B", r)]) for r, _ in RULE_COUNTS.values()]]:
        from_dict(spec)


# ------------------------------------------------------------------ shared specs
EXACT_SYNAPSES = {  # shared specs with only deterministic rules
    "brunel-small": 2500 * (200 + 50) + 2500,  # fixed indegrees, one Poisson input per neuron
    "two-neurons": 1 + 1,
}


def test_shared_specs_run(shared_spec_path, tmp_path):
    spec = yaml.safe_load(shared_spec_path.read_text())
    summary, spikes, volts = run_script(spec, tmp_path, "--t-presim", "20")
    check_summary(summary, spec)
    assert summary["n_synapses"] == EXACT_SYNAPSES.get(spec["name"], summary["n_synapses"]) > 0
    recorded = list(spec["populations"])  # all three record spikes: all
    assert set(summary["rates_hz"]) == set(recorded)
    assert set(spikes) == {f"{p}.{k}" for p in recorded for k in ("times", "senders")}
    assert volts == {}
    for p in recorded:  # only the window (t_presim, t_presim + t_sim] is recorded
        t, s = spikes[f"{p}.times"], spikes[f"{p}.senders"]
        assert np.all((t > 20.0) & (t <= 20.0 + T_SIM))
        assert np.all((s >= 0) & (s < spec["populations"][p]["size"]))
        rate = len(t) / (spec["populations"][p]["size"] * T_SIM / 1000.0)
        assert summary["rates_hz"][p] == pytest.approx(rate)


# ------------------------------------------------------------------ connection rules
RULE_COUNTS = {  # rule -> exact NEST connection count from A (20) to B (30)
    "all_to_all": ({"rule": "all_to_all"}, 20 * 30),
    "fixed_indegree": ({"rule": "fixed_indegree", "indegree": 5}, 5 * 30),
    "fixed_outdegree": ({"rule": "fixed_outdegree", "outdegree": 4, "allow_multapses": False}, 4 * 20),
    "fixed_total_number": ({"rule": "fixed_total_number", "N": 77}, 77),
    "pairwise_bernoulli_p1": ({"rule": "pairwise_bernoulli", "p": 1.0}, 20 * 30),
    "pairwise_bernoulli_p0": ({"rule": "pairwise_bernoulli", "p": 0.0}, 0),
}


@pytest.mark.parametrize("rule, expected", list(RULE_COUNTS.values()), ids=list(RULE_COUNTS))
def test_rule_counts(rule, expected, tmp_path):
    spec = spec_of(PAIR, [proj("A", "B", rule)])
    summary, _, _ = run_script(spec, tmp_path, t_sim=10.0)
    assert summary["n_synapses"] == expected


@pytest.mark.parametrize("rule, expected", [
    ({"rule": "one_to_one"}, 20),
    ({"rule": "all_to_all", "allow_autapses": False}, 20 * 19),
    ({"rule": "fixed_indegree", "indegree": 19, "allow_autapses": False, "allow_multapses": False}, 19 * 20),
], ids=["one_to_one", "all_to_all_no_autapses", "fixed_indegree_no_autapses"])
def test_rules_within_one_population(rule, expected, tmp_path):
    net = probe(spec_of({"A": dict(LIF)}, [proj("A", "A", rule)]), tmp_path)
    assert len(net["conn.source"]) == expected
    if not rule.get("allow_autapses", True):
        assert np.all(net["conn.source"] != net["conn.target"])
    if rule["rule"] == "one_to_one":
        assert np.array_equal(net["conn.source"], net["conn.target"])
    if rule["rule"] == "fixed_indegree":  # without multapses: every other neuron exactly once
        pairs = set(zip(net["conn.source"], net["conn.target"]))
        assert len(pairs) == expected


def test_pairwise_bernoulli_draws_about_p(tmp_path):
    spec = spec_of({"A": {"model": "iaf_psc_exp", "size": 100}, "B": {"model": "iaf_psc_exp", "size": 100}},
                   [proj("A", "B", {"rule": "pairwise_bernoulli", "p": 0.2})])
    n = len(probe(spec, tmp_path)["conn.source"])
    assert abs(n - 2000) < 5 * np.sqrt(10000 * 0.2 * 0.8)


# ------------------------------------------------------------------ distributions, inputs, voltmeter
FEATURES = spec_of(
    populations={
        "E": {"model": "iaf_psc_exp", "size": 400,
              "params": {"tau_m": {"dist": "uniform", "low": 0.0, "high": 1.0, "scale": 10.0, "offset": 15.0},
                         "I_e": {"dist": "normal", "mean": 0.0, "std": 1.0, "scale": 50.0, "offset": 300.0,
                                 "low": 250.0, "high": 330.0},
                         "t_ref": {"dist": "exponential", "beta": 1.0, "scale": 2.0, "offset": 1.0, "high": 4.0}},
              "initial": {"V_m": {"dist": "normal", "mean": -65.0, "std": 5.0, "low": -70.0, "high": -60.0}}},
        "I": {"model": "iaf_psc_alpha", "size": 100,
              "params": {"C_m": {"dist": "lognormal", "mu": 0.0, "sigma": 0.5, "scale": 100.0, "offset": 150.0,
                                 "high": 400.0}},
              "initial": {"V_m": {"dist": "uniform", "low": -70.0, "high": -55.0}}},
        "D": {"model": "iaf_psc_delta", "size": 10, "params": {"refractory_input": True}},
    },
    inputs={
        "bg": {"model": "poisson_generator", "params": {"rate": 2000.0, "start": 10.0, "stop": 150.0}},
        "dc": {"model": "dc_generator", "params": {"amplitude": 100.0, "start": 50.0, "stop": 100.0}},
        "sg": {"model": "spike_generator", "params": {"spike_times": [1, 2.5, 30.0]}},
    },
    projections=[
        proj("bg", "E", {"rule": "all_to_all"}, weight=20.0, delay=1.0),
        proj("dc", "I", {"rule": "all_to_all"}, weight=1.0),
        proj("sg", "D", {"rule": "all_to_all"}, weight=30.0),
        proj("E", "I", {"rule": "fixed_indegree", "indegree": 40},
             weight={"dist": "normal", "mean": 20.0, "std": 5.0, "low": 10.0},
             delay={"dist": "uniform", "low": 0.5, "high": 3.0}, receptor="excitatory"),
        proj("I", "E", {"rule": "fixed_outdegree", "outdegree": 20},
             weight={"dist": "lognormal", "mu": 3.0, "sigma": 0.5, "scale": -1.0, "low": -100.0},
             delay={"dist": "exponential", "beta": 1.0, "offset": 0.5, "high": 5.0},
             resolution={"levels": 16, "method": "mean_variance"}),
        proj("E", "E", {"rule": "fixed_total_number", "N": 2000, "allow_autapses": False},
             weight={"dist": "normal", "mean": 5.0, "std": 1.0, "low": 0.0},
             delay={"dist": "normal", "mean": 1.5, "std": 0.5, "low": 0.1, "high": 2.0, "offset": 0.5}),
    ],
    recorders={"spikes": ["E", "I", "D"], "voltmeter": {"populations": ["E", "D"], "n": 3, "interval": 0.5}},
)


def test_features_run_and_record(tmp_path):
    summary, spikes, volts = run_script(FEATURES, tmp_path, "--t-presim", "10")
    check_summary(summary, FEATURES)
    assert summary["n_synapses"] == 400 + 100 + 10 + 40 * 100 + 20 * 100 + 2000
    assert set(spikes) == {f"{p}.{k}" for p in "EID" for k in ("times", "senders")}
    assert set(volts) == {f"{p}.{k}" for p in "ED" for k in ("times", "senders", "V_m")}
    for p in "ED":  # 3 neurons sampled every 0.5 ms in (10, 210]
        times, senders = volts[f"{p}.times"], volts[f"{p}.senders"]
        assert sorted(set(senders)) == [0, 1, 2]
        samples = np.unique(times)  # NEST logs the sample at the last step after it: 399 of 400
        assert len(samples) >= T_SIM / 0.5 - 1 and len(times) == 3 * len(samples)
        assert np.allclose(samples, 10.5 + 0.5 * np.arange(len(samples)))
        assert samples[-1] <= 10.0 + T_SIM
        assert np.all(np.isfinite(volts[f"{p}.V_m"]))
    assert summary["rates_hz"]["E"] > 0  # 300 pA and Poisson input drive E
    # each generator spike (30 mV) fires every D neuron; those at 1 and 2.5 ms fall in the warm-up
    assert np.array_equal(spikes["D.senders"], np.arange(10))
    assert np.allclose(spikes["D.times"], 31.0)
    assert summary["rates_hz"]["D"] == pytest.approx(10 / (10 * T_SIM / 1000.0))


def test_same_seed_same_run(tmp_path):
    runs = {}
    for label, args in [("first", ()), ("again", ()), ("other", ("--seed", "4"))]:
        (tmp_path / label).mkdir()
        runs[label] = run_script(FEATURES, tmp_path / label, *args, t_sim=50.0)[1]
    first = runs["first"]
    assert all(np.array_equal(first[k], runs["again"][k]) for k in first)
    assert not all(np.array_equal(first[k], runs["other"][k]) for k in first)


def test_two_threads(tmp_path):
    summary, spikes, _ = run_script(FEATURES, tmp_path, "--threads", "2", t_sim=50.0)
    check_summary(summary, FEATURES)
    assert np.all(np.diff(spikes["E.times"]) >= 0)  # merged over threads, sorted by time


def test_parameter_distributions(tmp_path):
    wanted = {"E": ["tau_m", "I_e", "t_ref", "V_m"], "I": ["C_m", "V_m"], "D": ["refractory_input"],
              "sg": ["spike_times"]}
    net = probe(FEATURES, tmp_path, wanted)
    tau_m, i_e, t_ref = net["E.tau_m"], net["E.I_e"], net["E.t_ref"]
    assert tau_m.min() >= 15.0 and tau_m.max() <= 25.0 and abs(tau_m.mean() - 20.0) < 0.5
    assert i_e.min() >= 250.0 and i_e.max() <= 330.0 and abs(i_e.mean() - 296.0) < 5.0
    assert len(set(np.round(t_ref / 0.1))) > 10  # drawn, not constant
    assert t_ref.min() >= 1.0 and t_ref.max() <= 4.0
    assert net["E.V_m"].min() >= -70.0 and net["E.V_m"].max() <= -60.0
    c_m = net["I.C_m"]  # 150 + 100 * lognormal(0, 0.5), redrawn below 400
    assert c_m.min() > 150.0 and c_m.max() <= 400.0 and abs(np.median(c_m) - 250.0) < 15.0
    assert net["I.V_m"].min() >= -70.0 and net["I.V_m"].max() <= -55.0
    assert net["D.refractory_input"].all()
    # [1, 2.5, 30.0] stays float: NEST 3.10 would type an int-first list as int and drop the .5
    assert list(net["sg.spike_times"]) == [1.0, 2.5, 30.0]


def test_synapse_distributions(tmp_path):
    net = probe(FEATURES, tmp_path)
    src, tgt = net["conn.source"], net["conn.target"]
    w, d = net["conn.weight"], net["conn.delay"]
    first = {p: int(net[f"{p}.first"]) for p in "EID"}
    in_e = lambda ids: (ids >= first["E"]) & (ids < first["E"] + 400)  # noqa: E731
    in_i = lambda ids: (ids >= first["I"]) & (ids < first["I"] + 100)  # noqa: E731
    e_to_i, i_to_e, e_to_e = in_e(src) & in_i(tgt), in_i(src) & in_e(tgt), in_e(src) & in_e(tgt)
    assert e_to_i.sum() == 4000 and i_to_e.sum() == 2000 and e_to_e.sum() == 2000
    assert w[e_to_i].min() >= 10.0 and abs(w[e_to_i].mean() - 20.0) < 1.0
    assert d[e_to_i].min() >= 0.5 and d[e_to_i].max() <= 3.0
    assert w[i_to_e].min() >= -100.0 and w[i_to_e].max() < 0  # -lognormal, redrawn above -100
    assert d[i_to_e].min() >= 0.5 and d[i_to_e].max() <= 5.0
    # delays on the dt grid; offset + normal redrawn into [0.1, 2.0]
    assert np.allclose(d / 0.1, np.round(d / 0.1))
    assert d[e_to_e].min() >= 0.1 and d[e_to_e].max() <= 2.0 and abs(d[e_to_e].mean() - 1.8) < 0.2
    assert np.all(src[e_to_e] != tgt[e_to_e])


# ------------------------------------------------------------------ spatial
SHEET = {"extent": [1.0, 1.0], "periodic": True}
SPATIAL = spec_of(
    populations={
        "G": {"model": "iaf_psc_exp", "size": 400, "positions": {"kind": "grid", "shape": [20, 20], **SHEET}},
        "R": {"model": "iaf_psc_exp", "size": 300, "positions": {"kind": "random", **SHEET}},
    },
    inputs={"bg": {"model": "poisson_generator", "params": {"rate": 8000.0}}},
    projections=[
        proj("G", "R", {"rule": "pairwise_bernoulli", "p": {"spatial": "gaussian", "p_center": 0.8, "sigma": 0.1},
                        "mask": {"circular": {"radius": 0.25}}},
             weight=20.0, delay={"spatial": "linear", "offset": 0.5, "velocity": 0.2}),
        proj("R", "G", {"rule": "pairwise_bernoulli", "p": {"spatial": "exponential", "p_center": 0.5,
                                                              "beta": 0.1}},
             weight=-50.0, delay={"spatial": "linear", "offset": 0.0, "velocity": 0.5}),
        proj("G", "G", {"rule": "fixed_indegree", "indegree": 10, "allow_autapses": False},
             weight=10.0, delay={"spatial": "linear", "offset": 1.0, "velocity": 0.3}),
        # rules NEST gives no spatial parameters: delays are set from the positions
        proj("G", "G", {"rule": "one_to_one"}, weight=1.0, delay={"spatial": "linear", "offset": 0.3,
                                                                      "velocity": 1.0}),
        proj("R", "R", {"rule": "fixed_total_number", "N": 500},
             weight=1.0, delay={"spatial": "linear", "offset": 0.2, "velocity": 0.1}),
        proj("bg", "G", {"rule": "all_to_all"}, weight=87.8, delay=1.5),
        proj("bg", "R", {"rule": "all_to_all"}, weight=87.8, delay=1.5),
    ],
    recorders={"spikes": "all", "voltmeter": {"populations": ["R"], "n": 2, "interval": 1.0}},
)


def expected_delay(dist, offset, velocity, dt=0.1):
    """offset + r / v, at least dt, rounded to the dt grid half up as NEST does."""
    return np.maximum(np.floor(np.maximum(offset + dist / velocity, dt) / dt + 0.5), 1) * dt


def test_spatial_run(tmp_path):
    summary, spikes, volts = run_script(SPATIAL, tmp_path)
    check_summary(summary, SPATIAL)
    assert set(spikes) == {f"{p}.{k}" for p in "GR" for k in ("times", "senders")}
    assert set(volts) == {f"R.{k}" for k in ("times", "senders", "V_m")}
    assert sorted(set(volts["R.senders"])) == [0, 1]


def test_spatial_positions(tmp_path):
    net = probe(SPATIAL, tmp_path)
    grid, free = net["G.pos"], net["R.pos"]
    assert grid.shape == (400, 2) and free.shape == (300, 2)
    assert np.allclose(sorted(set(np.round(grid[:, 0], 6))), -0.475 + 0.05 * np.arange(20))
    # NEST's grid order: column by column, rows from the top
    assert np.allclose(grid[0], [-0.475, 0.475]) and np.allclose(grid[1], [-0.475, 0.425])
    assert np.all(np.abs(free) <= 0.5) and free.std(axis=0).min() > 0.2  # uniform on the sheet


def projection(net, src, tgt, weight, periodic=True):
    """(distances, delays) of the connections src -> tgt with this (constant) weight."""
    dist, keep = distances(net, src, tgt, periodic=periodic)
    mine = net["conn.weight"][keep] == weight
    return dist[mine], net["conn.delay"][keep][mine]


def test_spatial_mask_profile_and_delays(tmp_path):
    net = probe(SPATIAL, tmp_path)
    # G -> R: gaussian profile in a mask of radius 0.25 on the torus
    dist, delay = projection(net, "G", "R", 20.0)
    assert len(dist) > 100 and dist.max() <= 0.25 + 1e-9
    assert np.mean(dist < 0.15) > 0.6  # gaussian, sigma 0.1: mostly short
    assert np.allclose(delay, expected_delay(dist, 0.5, 0.2))
    # periodic: some connections cross the sheet's edge, so their plain distance exceeds the mask
    plain, _ = projection(net, "G", "R", 20.0, periodic=False)
    assert (plain > 0.25 + 1e-9).any()
    # R -> G: exponential profile without mask; offset 0 is clamped to one step
    dist, delay = projection(net, "R", "G", -50.0)
    assert np.median(dist) < 0.25 and delay.min() >= 0.1
    assert np.allclose(delay, expected_delay(dist, 0.0, 0.5))


@pytest.mark.parametrize("weight, src, tgt, count, offset, velocity", [
    (10.0, "G", "G", 4000, 1.0, 0.3),   # fixed_indegree: NEST's spatial parameter
    (1.0, "G", "G", 400, 0.3, 1.0),     # one_to_one: set after connecting
    (1.0, "R", "R", 500, 0.2, 0.1),     # fixed_total_number: set after connecting
], ids=["fixed_indegree", "one_to_one", "fixed_total_number"])
def test_spatial_delays_for_every_rule(weight, src, tgt, count, offset, velocity, tmp_path):
    dist, delay = projection(probe(SPATIAL, tmp_path), src, tgt, weight)
    assert len(dist) == count
    assert np.allclose(delay, expected_delay(dist, offset, velocity))


def test_spatial_connection_count(tmp_path):
    summary, _, _ = run_script(SPATIAL, tmp_path, t_sim=10.0)
    net = probe(SPATIAL, tmp_path)
    assert summary["n_synapses"] == len(net["conn.source"])  # no recorder connections counted


def test_no_recorders_section_records_all_spikes(tmp_path):
    summary, spikes, _ = run_script(spec_of(copy.deepcopy(PAIR)), tmp_path, t_sim=10.0)
    assert set(summary["rates_hz"]) == {"A", "B"} and summary["n_synapses"] == 0
    assert set(spikes) == {"A.times", "A.senders", "B.times", "B.senders"}


def test_bad_time_is_refused(tmp_path):
    script = write_script(spec_of(copy.deepcopy(PAIR)), tmp_path)
    done = subprocess.run([sys.executable, str(script), "--t-sim", "10.05"], capture_output=True,
                          text=True, timeout=60, env=ENV)
    assert done.returncode == 2 and "multiple of 0.1" in done.stderr
