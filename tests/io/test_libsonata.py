"""SpikeScope's SONATA files as the reference reader, libsonata, sees them: spike files
(populations, times, node ids, the ``sorting`` enum), nodes, edges (ids, attributes, the
edge indices) and both configs. Where libsonata refuses what the SONATA specification
allows (``target_simulator: "NEST"``), the refusal is pinned to that one key."""
import json
import subprocess
import sys

import h5py
import numpy as np
import pytest
from conftest import SHARED_SPECS

from sim_core.engine.simulation import Simulation
from sim_core.io.sonata import read_sorting, read_spikes, write_spikes
from sim_core.io.sonata_network import edge_population_names, read_edges, read_nodes, write_network
from sim_core.spec import from_dict, load

libsonata = pytest.importorskip("libsonata", reason="the reference SONATA reader (pip install libsonata)")

SPEC = {p.stem: p for p in SHARED_SPECS}
EXP = {"model": "iaf_psc_exp", "params": {"tau_syn_ex": 0.5, "tau_syn_in": 0.5}}
SMALL = {
    "format": "spikescope/1", "name": "libsonata-small", "dt": 0.1, "seed": 5,
    "populations": {
        "A": {**EXP, "size": 30},
        "B": {**EXP, "size": 20, "params": {**EXP["params"], "I_e": {"dist": "uniform", "low": 100.0, "high": 200.0}},
              "initial": {"V_m": {"dist": "normal", "mean": -65.0, "std": 2.0}}},
        "S": {**EXP, "size": 25, "positions": {"kind": "grid", "shape": [5, 5], "extent": [1.0, 1.0],
                                               "periodic": True}},
    },
    "inputs": {"bg": {"model": "poisson_generator", "params": {"rate": 8000.0}}},
    "projections": [
        {"source": "A", "target": "B", "rule": {"rule": "pairwise_bernoulli", "p": 0.3},
         "synapse": {"weight": {"dist": "normal", "mean": 20.0, "std": 5.0}, "delay": {"dist": "uniform", "low": 0.8,
                                                                                        "high": 2.0}}},
        {"source": "A", "target": "B", "rule": {"rule": "fixed_indegree", "indegree": 4}, "synapse": {"weight": 5.0}},
        {"source": "B", "target": "A", "rule": {"rule": "fixed_outdegree", "outdegree": 3}, "synapse": {"weight": -9.0}},
        {"source": "S", "target": "S", "rule": {"rule": "pairwise_bernoulli", "p": 0.2, "allow_autapses": False},
         "synapse": {"weight": 3.0, "delay": 1.2}},
        {"source": "bg", "target": "A", "rule": {"rule": "all_to_all"}, "synapse": {"weight": 40.0}},
    ],
}


def cli(*args):
    return subprocess.run([sys.executable, "-m", "sim_core.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=300, check=False)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """``spikescope run --out DIR --save-connectivity``: spikes.h5 and the network in DIR/sonata."""
    out = tmp_path_factory.mktemp("run")
    res = cli("run", SPEC["brunel_small"], "--seed", "3", "--t-sim", "60", "--json", "--no-record",
              "--out", out, "--save-connectivity")
    assert res.returncode == 0, res.stderr
    return out


def _spikes_by_libsonata(path):
    reader = libsonata.SpikeReader(str(path))
    out = {}
    for name in reader.get_population_names():
        pop = reader[name]
        d = pop.get_dict()
        out[name] = (d["timestamps"], d["node_ids"].astype(np.int64), pop.sorting)
    return out


# ------------------------------------------------------------------ spikes
def test_cli_spike_file_opens_in_libsonata(run_dir):
    ours = read_spikes(run_dir / "spikes.h5")
    theirs = _spikes_by_libsonata(run_dir / "spikes.h5")
    assert set(theirs) == set(ours) == {"E", "I"}
    for name, (times, ids) in ours.items():
        t, i, sorting = theirs[name]
        assert times.size > 0 and sorting == "by_time"
        np.testing.assert_array_equal(t, times)
        np.testing.assert_array_equal(i, ids)
    assert read_sorting(run_dir / "spikes.h5") == {"E": "by_time", "I": "by_time"}
    with h5py.File(run_dir / "spikes.h5") as f:  # the attribute is SONATA's enum, uint8-based
        dtype = f["spikes/E"].attrs.get_id("sorting").dtype
        assert h5py.check_enum_dtype(dtype) == {"none": 0, "by_id": 1, "by_time": 2}
        assert dtype.kind == "u" and dtype.itemsize == 1


def test_api_spikes_equal_the_simulation_and_sorting_is_truthful(tmp_path):
    sim = Simulation(load(SPEC["brunel_small"]), seed=2)
    sim.run(40.0)
    spikes = {n: sim.spikes(n) for n in sim.spike_record.recorded}
    rng = np.random.default_rng(0)
    t_rand = rng.uniform(0, 50, 200)
    i_rand = rng.integers(0, 40, 200)
    by_id = np.lexsort((t_rand, i_rand))
    spikes.update(shuffled=(t_rand, i_rand), by_node=(t_rand[by_id], i_rand[by_id]),
                  empty=(np.zeros(0), np.zeros(0, np.int64)))
    write_spikes(tmp_path / "spikes.h5", spikes)
    theirs = _spikes_by_libsonata(tmp_path / "spikes.h5")
    assert set(theirs) == set(spikes)
    expected = {"shuffled": "none", "by_node": "by_id", "empty": "by_time"}
    for name, (times, ids) in spikes.items():
        t, i, sorting = theirs[name]
        assert sorting == expected.get(name, "by_time"), name
        np.testing.assert_array_equal(t, np.asarray(times, np.float64))
        np.testing.assert_array_equal(i, np.asarray(ids, np.int64))
    # libsonata filters by time with a binary search when told by_time and by node with one
    # when told by_id: the answers equal a plain filter only if the attribute is true
    reader = libsonata.SpikeReader(str(tmp_path / "spikes.h5"))
    for name, (times, ids) in spikes.items():
        times, ids = np.asarray(times, np.float64), np.asarray(ids, np.int64)
        got = reader[name].get(tstart=10.0, tstop=30.0)
        keep = (times >= 10.0) & (times <= 30.0)
        assert sorted(got) == sorted(zip(ids[keep].tolist(), times[keep].tolist())), name
        nodes = [3, 7, 11]
        got = reader[name].get(node_ids=nodes)
        keep = np.isin(ids, nodes)
        assert sorted(got) == sorted(zip(ids[keep].tolist(), times[keep].tolist())), name
    assert sum(len(v[0]) for k, v in spikes.items() if k in sim.spike_record.recorded) > 0


def test_spike_files_written_before_the_enum_still_read(tmp_path):
    with h5py.File(tmp_path / "old.h5", "w") as f:
        g = f.create_group("spikes/E")
        g.attrs["sorting"] = "by_time"
        g.create_dataset("timestamps", data=[1.0, 2.0]).attrs["units"] = "ms"
        g.create_dataset("node_ids", data=np.array([4, 1], np.uint64))
    assert read_sorting(tmp_path / "old.h5") == {"E": "by_time"}
    times, ids = read_spikes(tmp_path / "old.h5")["E"]
    assert times.tolist() == [1.0, 2.0] and ids.tolist() == [4, 1]


# ------------------------------------------------------------------ nodes and edges
def _check_nodes_and_edges(net, spec):
    nodes = libsonata.NodeStorage(str(net / "network" / "nodes.h5"))
    assert nodes.population_names == set(spec.populations)
    ours = read_nodes(net / "network" / "nodes.h5")
    for name, pop in spec.populations.items():
        p = nodes.open_population(name)
        assert p.size == pop.size
        sel = p.select_all()
        for key, values in ours[name].items():
            if key.startswith("dynamics_params/"):
                got = p.get_dynamics_attribute(key.split("/", 1)[1], sel)
            elif key == "node_type_id":
                continue
            else:
                got = p.get_attribute(key, sel)
            np.testing.assert_array_equal(got, values, err_msg=f"{name}/{key}")
    if spec.inputs:
        inputs = libsonata.NodeStorage(str(net / "network" / "inputs.h5"))
        assert inputs.population_names == set(spec.inputs)
        for name in spec.inputs:
            assert inputs.open_population(name).size == spec.node_size(name)
    storage = libsonata.EdgeStorage(str(net / "network" / "edges.h5"))
    names = edge_population_names(spec)
    assert storage.population_names == set(names)
    ours = read_edges(net / "network" / "edges.h5")
    for proj, name in zip(spec.projections, names):
        e, p = ours[name], storage.open_population(name)
        sel = p.select_all()
        assert (p.source, p.target) == (proj.source, proj.target) and p.size == e["source"].size
        np.testing.assert_array_equal(p.source_nodes(sel), e["source"])
        np.testing.assert_array_equal(p.target_nodes(sel), e["target"])
        np.testing.assert_array_equal(p.get_attribute("syn_weight", sel), e["syn_weight"])
        np.testing.assert_array_equal(p.get_attribute("delay", sel), e["delay"])
        # SONATA's indices, read by libsonata: every node's efferent and afferent edges
        for direction, ids, n in (("efferent_edges", e["source"], spec.node_size(proj.source)),
                                  ("afferent_edges", e["target"], spec.node_size(proj.target))):
            for node in range(n):
                found = getattr(p, direction)([node]).flatten()
                assert np.array_equal(np.sort(found), np.flatnonzero(ids == node)), (name, direction, node)


def test_cli_network_opens_in_libsonata(run_dir):
    _check_nodes_and_edges(run_dir / "sonata", load(SPEC["brunel_small"]))


def test_positions_drawn_parameters_and_repeated_pairs_open_in_libsonata(tmp_path):
    spec = from_dict(SMALL)
    write_network(tmp_path, spec)
    _check_nodes_and_edges(tmp_path, spec)
    nodes = libsonata.NodeStorage(str(tmp_path / "network" / "nodes.h5"))
    assert {"x", "y", "z"} <= nodes.open_population("S").attribute_names
    assert nodes.open_population("B").dynamics_attribute_names == {"I_e", "V_m"}
    assert edge_population_names(spec)[:2] == ["A_to_B_0", "A_to_B_1"]


# ------------------------------------------------------------------ configs
def _open(loader, path):
    """libsonata's config, or None where it refuses the one thing it departs from the SONATA
    specification on: a target_simulator other than its own simulators' (here "NEST")."""
    try:
        return loader(str(path))
    except libsonata.SonataError as exc:
        assert "target_simulator" in str(exc) and "NEST" in str(exc), exc
        assert json.loads(path.read_text())["target_simulator"] == "NEST"
        return None


def _check_configs(net, spec, seed, tstop, expect_open):
    circuit = _open(libsonata.CircuitConfig.from_file, net / "circuit_config.json")
    simulation = _open(libsonata.SimulationConfig.from_file, net / "simulation_config.json")
    if circuit is None or simulation is None:  # the same text less the declaration opens
        assert not expect_open
        text = json.loads((net / "circuit_config.json").read_text())
        text.pop("target_simulator")
        circuit = libsonata.CircuitConfig(json.dumps(text), str(net))
        text = json.loads((net / "simulation_config.json").read_text())
        text.pop("target_simulator")
        simulation = libsonata.SimulationConfig(json.dumps(text), str(net))
    assert circuit.node_populations == set(spec.populations) | set(spec.inputs)
    assert circuit.edge_populations == set(edge_population_names(spec))
    for name in spec.populations:
        props = circuit.node_population_properties(name)
        assert props.type == "point_neuron" and props.elements_path == str(net / "network" / "nodes.h5")
        assert props.types_path == str(net / "network" / "node_types.csv")
        assert circuit.node_population(name).size == spec.populations[name].size
    for name in spec.inputs:
        assert circuit.node_population_properties(name).elements_path == str(net / "network" / "inputs.h5")
    for name in edge_population_names(spec):
        assert circuit.edge_population_properties(name).elements_path == str(net / "network" / "edges.h5")
    first = edge_population_names(spec)[0]
    assert circuit.edge_population(first).size == read_edges(net / "network" / "edges.h5")[first]["source"].size
    assert simulation.run.dt == pytest.approx(spec.dt) and simulation.run.tstop == pytest.approx(tstop)
    assert simulation.run.random_seed == seed
    assert simulation.network == str(net / "circuit_config.json")


def test_configs_of_a_run_and_of_an_export(run_dir, tmp_path):
    spec = load(SPEC["brunel_small"])
    _check_configs(run_dir / "sonata", spec, 3, 60.0, expect_open=False)  # tstop = t_presim (0) + t_sim
    res = cli("export", SPEC["brunel_small"], "--format", "sonata", "--seed", "4", "-o", tmp_path / "exp")
    assert res.returncode == 0, res.stderr
    _check_configs(tmp_path / "exp", spec, 4, 1000.0, expect_open=False)


def test_configs_without_the_declaration_open_in_libsonata(tmp_path):
    spec = from_dict(SMALL)
    write_network(tmp_path, spec, seed=9, tstop=250.0, target_simulator=None)
    for name in ("circuit_config.json", "simulation_config.json"):
        assert "target_simulator" not in json.loads((tmp_path / name).read_text())
    _check_configs(tmp_path, spec, 9, 250.0, expect_open=True)
