"""SONATA network export: read the HDF5 back and check that every rule's edges obey the rule
exactly (degrees, totals, autapse and multapse flags, masks), that weights and delays are
those simulated, that the files follow SONATA's layout, and that NEST builds them."""
import json
import subprocess
import sys
import textwrap

import h5py
import numpy as np
import pytest

from sim_core.connectivity.build import build_connectome
from sim_core.io.sonata_network import edge_population_names, read_edges, read_nodes, write_network
from sim_core.spec import from_dict, load

from conftest import SHARED_SPECS

SPEC = {p.stem: p for p in SHARED_SPECS}
EXP = {"model": "iaf_psc_exp", "params": {"tau_syn_ex": 0.5, "tau_syn_in": 0.5}}


def proj(source, target, rule, weight=10.0, delay=1.0):
    return {"source": source, "target": target, "rule": rule, "synapse": {"weight": weight, "delay": delay}}


RULES = {
    "format": "spikescope/1", "name": "rules", "dt": 0.1, "seed": 11,
    "populations": {
        "A": {**EXP, "size": 60},
        "B": {**EXP, "size": 40, "params": {**EXP["params"], "I_e": {"dist": "uniform", "low": 100.0, "high": 200.0}},
              "initial": {"V_m": {"dist": "normal", "mean": -65.0, "std": 2.0}}},
        "S": {**EXP, "size": 100, "positions": {"kind": "grid", "shape": [10, 10], "extent": [1.0, 1.0],
                                                "periodic": True}},
    },
    "inputs": {"bg": {"model": "poisson_generator", "params": {"rate": 5000.0}}},
    "projections": [
        proj("A", "A", {"rule": "one_to_one"}),
        proj("A", "B", {"rule": "all_to_all"}),
        proj("A", "A", {"rule": "all_to_all", "allow_autapses": False}),
        proj("B", "A", {"rule": "pairwise_bernoulli", "p": 0.3}),
        proj("A", "A", {"rule": "pairwise_bernoulli", "p": 0.2, "allow_autapses": False}),
        proj("A", "B", {"rule": "fixed_indegree", "indegree": 7, "allow_multapses": False},
             weight={"dist": "normal", "mean": 20.0, "std": 8.0, "low": 5.0, "high": 30.0},
             delay={"dist": "uniform", "low": 0.8, "high": 2.5}),
        proj("B", "B", {"rule": "fixed_indegree", "indegree": 5, "allow_autapses": False}),
        proj("A", "B", {"rule": "fixed_outdegree", "outdegree": 9, "allow_multapses": False}),
        proj("B", "B", {"rule": "fixed_outdegree", "outdegree": 39, "allow_autapses": False,
                        "allow_multapses": False}),
        proj("A", "B", {"rule": "fixed_total_number", "N": 500}),
        proj("B", "A", {"rule": "fixed_total_number", "N": 300, "allow_multapses": False}),
        proj("S", "S", {"rule": "pairwise_bernoulli", "p": {"spatial": "gaussian", "p_center": 0.8, "sigma": 0.2},
                        "mask": {"circular": {"radius": 0.25}}, "allow_autapses": False},
             delay={"spatial": "linear", "offset": 0.5, "velocity": 0.3}),
        proj("bg", "A", {"rule": "all_to_all"}, weight=50.0, delay=1.5),
    ],
}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    spec = from_dict(RULES)
    out = tmp_path_factory.mktemp("sonata")
    write_network(out, spec)
    return spec, out, build_connectome(spec, spec.seed)


def _pairs(e):
    return e["source"] * 100_000 + e["target"]


def test_every_rule_obeys_its_definition(exported):
    spec, out, _ = exported
    edges = read_edges(out / "network" / "edges.h5")
    names = edge_population_names(spec)
    assert list(edges) == sorted(names) or set(edges) == set(names)
    for i, (p, name) in enumerate(zip(spec.projections, names)):
        e = edges[name]
        rule, kind = p.rule, p.rule.TAG[1]
        n_s, n_t = spec.node_size(p.source), spec.node_size(p.target)
        assert (e["source_population"], e["target_population"]) == (p.source, p.target)
        assert np.all(e["edge_type_id"] == i)
        assert e["source"].min(initial=0) >= 0 and e["source"].max(initial=0) < n_s
        assert e["target"].max(initial=0) < n_t
        assert np.all(np.diff(e["source"]) >= 0)  # sorted by source, as SpikeScope stores them
        auto = e["source"] == e["target"]
        if p.source == p.target and not rule.allow_autapses:
            assert not auto.any(), name
        if not rule.allow_multapses or kind in ("pairwise_bernoulli", "all_to_all", "one_to_one"):
            assert np.unique(_pairs(e)).size == e["source"].size, name
        in_deg = np.bincount(e["target"], minlength=n_t)
        out_deg = np.bincount(e["source"], minlength=n_s)
        if kind == "one_to_one":
            assert np.array_equal(e["source"], np.arange(n_s)) and np.array_equal(e["target"], np.arange(n_t))
        elif kind == "all_to_all":
            full = {(s, t) for s in range(n_s) for t in range(n_t) if rule.allow_autapses or p.source != p.target
                    or s != t}
            assert set(zip(e["source"].tolist(), e["target"].tolist())) == full
        elif kind == "fixed_indegree":
            assert np.all(in_deg == rule.indegree), name
        elif kind == "fixed_outdegree":
            assert np.all(out_deg == rule.outdegree), name
        elif kind == "fixed_total_number":
            assert e["source"].size == rule.N, name
        elif isinstance(rule.p, float):  # binomial count: within 5 standard deviations
            n = n_s * n_t - (n_s if p.source == p.target and not rule.allow_autapses else 0)
            assert abs(e["source"].size - rule.p * n) < 5 * np.sqrt(n * rule.p * (1 - rule.p)), name
    # the edge case: out-degree 39 among 40 without autapses or multapses is everyone else
    e = edges[names[8]]
    assert e["source"].size == 40 * 39


def test_mask_and_distance_dependent_delays(exported):
    spec, out, _ = exported
    e = read_edges(out / "network" / "edges.h5")[edge_population_names(spec)[11]]
    pos = read_nodes(out / "network" / "nodes.h5")["S"]
    xy = np.column_stack([pos["x"], pos["y"]]) / 1000.0  # µm -> mm
    d = xy[e["target"]] - xy[e["source"]]
    d -= np.round(d)  # periodic 1 x 1 mm sheet
    r = np.hypot(d[:, 0], d[:, 1])
    assert e["source"].size > 0 and r.max() <= 0.25 + 1e-12
    steps = np.maximum(np.floor((0.5 + r / 0.3) / 0.1 + 0.5), 1)
    np.testing.assert_allclose(e["delay"], steps * 0.1, atol=1e-9)


def test_weights_delays_and_nodes_are_those_simulated(exported):
    spec, out, conn = exported
    edges = read_edges(out / "network" / "edges.h5")
    for c, name in zip(conn.connections, edge_population_names(spec)):
        e = edges[name]
        assert np.array_equal(e["source"], c.sources()) and np.array_equal(e["target"], c.targets)
        np.testing.assert_array_equal(e["syn_weight"], c.weight_array().astype(np.float64))
        np.testing.assert_allclose(e["delay"], c.delay_array() * spec.dt, atol=1e-12)
    drawn = edges[edge_population_names(spec)[5]]
    assert drawn["syn_weight"].min() >= 5.0 and drawn["syn_weight"].max() <= 30.0 and drawn["syn_weight"].std() > 1
    assert drawn["delay"].min() >= 0.8 - 1e-9 and drawn["delay"].max() <= 2.5 + 1e-9
    assert np.allclose(drawn["delay"] * 10, np.round(drawn["delay"] * 10))  # on the dt grid
    assert np.all(edges[edge_population_names(spec)[0]]["syn_weight"] == 10.0)
    nodes = read_nodes(out / "network" / "nodes.h5")
    assert {k: v["node_type_id"].size for k, v in nodes.items()} == {"A": 60, "B": 40, "S": 100}
    i_e, v_m = nodes["B"]["dynamics_params/I_e"], nodes["B"]["dynamics_params/V_m"]
    assert i_e.min() >= 100 and i_e.max() <= 200 and i_e.std() > 10 and abs(v_m.mean() + 65) < 1.5
    assert json.loads((out / "components/point_neuron_models/B.json").read_text()) == \
        {"tau_syn_ex": 0.5, "tau_syn_in": 0.5}
    assert read_nodes(out / "network" / "inputs.h5")["bg"]["node_type_id"].size == 1


def test_sonata_layout_and_indices(exported):
    spec, out, _ = exported
    with h5py.File(out / "network" / "edges.h5") as f:
        assert f.attrs["magic"] == 0x0A7A and list(f.attrs["version"]) == [0, 1]
        for name, g in f["edges"].items():
            for key in ("source_node_id", "target_node_id", "edge_type_id", "edge_group_id", "edge_group_index",
                        "0/syn_weight", "0/delay"):
                assert g[key].shape[0] == g["source_node_id"].shape[0], (name, key)
            assert g["source_node_id"].dtype == np.uint64
            src, tgt = g["source_node_id"][()], g["target_node_id"][()]
            for direction, ids in (("source_to_target", src), ("target_to_source", tgt)):
                node_ranges = g[f"indices/{direction}/node_id_to_ranges"][()]
                ranges = g[f"indices/{direction}/range_to_edge_id"][()]
                for node in range(node_ranges.shape[0]):  # a node's edges, found through the index
                    lo, hi = node_ranges[node]
                    found = np.concatenate([np.arange(a, b) for a, b in ranges[lo:hi]] or [[]]).astype(int)
                    assert np.array_equal(found, np.flatnonzero(ids == node)), (name, direction, node)
    types = (out / "network" / "edge_types.csv").read_text().splitlines()
    assert types[0].split() == ["edge_type_id", "model_template", "source_population", "target_population", "rule"]
    assert len(types) == 1 + len(spec.projections)
    cfg = json.loads((out / "circuit_config.json").read_text())
    assert cfg["target_simulator"] == "NEST" and len(cfg["networks"]["nodes"]) == 2
    assert json.loads((out / "simulation_config.json").read_text())["run"]["dt"] == 0.1


def test_cli_export_sonata_and_run_save_connectivity(tmp_path):
    def cli(*args):
        return subprocess.run([sys.executable, "-m", "sim_core.cli", *map(str, args)], capture_output=True,
                              text=True, timeout=300)
    res = cli("export", SPEC["brunel_small"], "--format", "sonata", "--seed", "3", "-o", tmp_path / "exp")
    assert res.returncode == 0, res.stderr
    res = cli("run", SPEC["brunel_small"], "--seed", "3", "--t-sim", "20", "--json", "--out", tmp_path / "run",
              "--save-connectivity")
    assert res.returncode == 0, res.stderr
    a = read_edges(tmp_path / "exp" / "network" / "edges.h5")
    b = read_edges(tmp_path / "run" / "sonata" / "network" / "edges.h5")
    assert set(a) == set(b) == {"E_to_E", "E_to_I", "I_to_E", "I_to_I", "ext_to_E", "ext_to_I"}
    for k in a:  # the exported network is the one simulated
        assert np.array_equal(a[k]["target"], b[k]["target"]) and np.array_equal(a[k]["source"], b[k]["source"])
    assert np.all(np.bincount(a["E_to_I"]["target"]) == 200) and np.all(np.bincount(a["I_to_E"]["target"]) == 50)
    summary = json.loads(res.stdout.splitlines()[-1])
    from sim_core.io.registry import Registry
    assert Registry().get(summary["run_id"])["network_dir"] == str((tmp_path / "run" / "sonata").resolve())
    res = cli("run", SPEC["two_neurons"], "--save-connectivity")
    assert res.returncode == 2 and "--save-connectivity" in res.stderr
    res = cli("export", SPEC["two_neurons"], "--format", "sonata", "-o", "-")
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1


# NEST builds the export through its own SonataNetwork: nodes from the nodes files, CSV and
# JSON (NEST's Python code). The edges go through NEST's C++ SonataConnector, which needs NEST
# built with HDF5; the PyPI wheel is not (build_info['have_hdf5'] is False), so there the probe
# does the connector's documented work itself: per edge population, one_to_one connections
# with the file's syn_weight and delay, from the synapse model its edge_types.csv names.
PROBE = textwrap.dedent("""
    import json, sys
    import h5py, numpy as np
    import nest
    import nest.lib.hl_api_sonata as hs
    config, sim_config = sys.argv[1], sys.argv[2]
    t_presim, t_sim = float(sys.argv[3]), float(sys.argv[4])
    nest.ResetKernel()
    nest.local_num_threads = 2
    nest.rng_seed = 5
    native = nest.build_info["have_hdf5"]
    hs.have_hdf5 = True
    net = nest.SonataNetwork(config, sim_config)
    if native:
        nodes = net.BuildNetwork()
    else:
        nodes = net.Create()
        for edges in net._create_graph_specs()["edges"]:
            with h5py.File(edges["edges_file"], "r") as f:
                for g in f["edges"].values():
                    src, tgt = g["source_node_id"], g["target_node_id"]
                    pre = np.array(nodes[src.attrs["node_population"]].tolist())[src[()].astype(np.int64)]
                    post = np.array(nodes[tgt.attrs["node_population"]].tolist())[tgt[()].astype(np.int64)]
                    (etype,) = np.unique(g["edge_type_id"][()])
                    syn = dict(edges["syn_specs"][str(etype)], weight=g["0/syn_weight"][()], delay=g["0/delay"][()])
                    nest.Connect(pre, post, "one_to_one", syn)
    n_conn = nest.num_connections
    conns = nest.GetConnections(source=nodes["E"], target=nodes["I"])
    pairs = sorted(zip(np.asarray(conns.source) - nodes["E"][0].global_id,
                       np.asarray(conns.target) - nodes["I"][0].global_id))
    recs = {}
    for name in ("E", "I"):
        recs[name] = nest.Create("spike_recorder", params={"start": t_presim})
        nest.Connect(nodes[name], recs[name])
    nest.Simulate(t_presim + t_sim)
    rates = {k: r.n_events / len(nodes[k]) / (t_sim / 1000) for k, r in recs.items()}
    print(json.dumps({"native": native, "n_connections": n_conn, "rates_hz": rates,
                      "E_to_I": [[int(a), int(b)] for a, b in pairs[:2000]],
                      "models": {k: nc[0].get("model") for k, nc in nodes.items()}}))
""")


@pytest.mark.nest
def test_nest_builds_the_export_and_reproduces_the_rates(tmp_path):
    pytest.importorskip("nest", reason="NEST 3.10 reads the export (pip install nest-simulator==3.10.0)")
    from sim_core.analysis.stats import population_summary
    from sim_core.engine.simulation import Simulation
    spec = load(SPEC["brunel_small"])
    sim = Simulation(spec, seed=3)
    write_network(tmp_path, spec, 3, sim.network.connectome, tstop=1200.0)
    sim.run(1200.0)
    ours, _ = population_summary(sim, 200.0, 1200.0)
    (tmp_path / "probe.py").write_text(PROBE)
    res = subprocess.run([sys.executable, str(tmp_path / "probe.py"), str(tmp_path / "circuit_config.json"),
                          str(tmp_path / "simulation_config.json"), "200", "1000"], capture_output=True, text=True,
                         timeout=600, env={**__import__("os").environ, "PYNEST_QUIET": "1"})
    assert res.returncode == 0, res.stderr[-3000:]
    nest_run = json.loads(res.stdout.strip().splitlines()[-1])
    assert nest_run["models"] == {"E": "iaf_psc_delta", "I": "iaf_psc_delta", "ext": "poisson_generator"}
    assert nest_run["n_connections"] == sum(c.n_synapses for c in sim.network.connectome.connections)
    e_to_i = sim.network.connectome.connections[1]
    ours_pairs = sorted(zip(e_to_i.sources().tolist(), e_to_i.targets.tolist()))
    assert nest_run["E_to_I"] == [list(p) for p in ours_pairs[:2000]]
    for pop in ("E", "I"):  # same network, other Poisson draws: rates agree closely
        assert abs(nest_run["rates_hz"][pop] - ours[pop]) <= 0.12 * ours[pop], (nest_run["rates_hz"], ours)
