"""The instantiated network in SONATA's format (nodes, edges, types, configs), as NEST's
``SonataNetwork`` and SONATA readers (libsonata, bmtk) expect it.

Layout written under ``directory``::

    circuit_config.json                  manifest, node and edge files, components
    simulation_config.json               run: dt, tstop (NEST's SonataNetwork needs them)
    network/nodes.h5, node_types.csv     neuron populations (model_type point_neuron)
    network/inputs.h5, input_types.csv   devices as NEST point processes (poisson_generator, ...)
    network/edges.h5, edge_types.csv     one edge population per projection
    components/point_neuron_models/<population or input>.json   NEST parameters

Edges, per projection ``i`` (population ``<source>_to_<target>``, with ``_<i>`` appended
when two projections join the same pair): ``source_node_id``/``target_node_id`` (uint64,
0-based within their populations, each with its ``node_population`` attribute),
``edge_type_id`` (= i), ``edge_group_id``/``edge_group_index``, group ``0`` with
``syn_weight`` (pA; mV for iaf_psc_delta) and ``delay`` (ms, on the dt grid, as simulated),
and the ``indices`` SONATA readers use to find a node's edges. Edges are in SpikeScope's
order: by source, targets ascending within a source.

Nodes: ``node_type_id`` (one type per population), ``node_id``, ``node_group_id`` and
``node_group_index``; group ``0`` holds positions ``x``, ``y``, ``z`` (µm, SONATA's unit;
the spec's sheet is in mm) of spatial populations and, under ``dynamics_params``, every
parameter or initial V_m drawn per neuron. Constant parameters are in the node type's JSON.

Configs: each ``networks`` entry also lists its ``populations`` with their ``type``
(``point_neuron``, ``point_process`` for devices, ``chemical`` for edges), as libsonata
and BBP's SONATA extension define it; libsonata's ``CircuitConfig`` lists only populations
declared there (the specification finds them in the HDF5 files; NEST ignores the block). ``run`` has ``random_seed`` (the seed the network was instantiated with), which
the specification's example shows and libsonata's ``SimulationConfig`` requires.
``target_simulator`` is ``"NEST"``, one of the values the specification names and the one
NEST's ``SonataNetwork`` requires; libsonata (0.2.2) refuses any value but its own
simulators' (NEURON, CORENEURON, LearningEngine, Brian2, unspecified).
``target_simulator=None`` leaves the declaration out of both configs, for readers like
libsonata (NEST then refuses them).
"""
from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np

MAGIC = 0x0A7A  # SONATA's file signature attribute
VERSION = (0, 1)
NETWORK = "network"
COMPONENTS = "components/point_neuron_models"


def write_network(directory, spec, seed: int | None = None, connectome=None, tstop: float = 1000.0,
                  target_simulator: str | None = "NEST") -> Path:
    """Write ``spec`` instantiated with ``seed`` (default: the spec's) as SONATA under
    ``directory``; pass the ``connectome`` of a built network to write exactly the
    simulated one without building it again. ``target_simulator`` is declared in both
    configs (``None``: left out, for readers such as libsonata that refuse ``"NEST"``).
    Returns the path of circuit_config.json."""
    from ..connectivity.build import build_connectome
    seed = spec.seed if seed is None else int(seed)
    if connectome is None:
        connectome = build_connectome(spec, seed)
    root = Path(directory)
    (root / NETWORK).mkdir(parents=True, exist_ok=True)
    (root / COMPONENTS).mkdir(parents=True, exist_ok=True)
    nodes = [{"nodes_file": "$NETWORK_DIR/nodes.h5", "node_types_file": "$NETWORK_DIR/node_types.csv",
              "populations": {name: {"type": "point_neuron"} for name in spec.populations}}]
    _write_neurons(root, spec, seed, connectome)
    if spec.inputs:
        _write_inputs(root, spec)
        nodes.append({"nodes_file": "$NETWORK_DIR/inputs.h5", "node_types_file": "$NETWORK_DIR/input_types.csv",
                      "populations": {name: {"type": "point_process"} for name in spec.inputs}})
    edges = []
    if spec.projections:
        _write_edges(root, spec, connectome)
        edges.append({"edges_file": "$NETWORK_DIR/edges.h5", "edge_types_file": "$NETWORK_DIR/edge_types.csv",
                      "populations": {name: {"type": "chemical"} for name in edge_population_names(spec)}})
    target = {} if target_simulator is None else {"target_simulator": str(target_simulator)}
    circuit = {
        "manifest": {"$BASE_DIR": ".", "$NETWORK_DIR": f"$BASE_DIR/{NETWORK}",
                     "$COMPONENTS_DIR": "$BASE_DIR/components"},
        "components": {"point_neuron_models_dir": "$COMPONENTS_DIR/point_neuron_models"},
        "networks": {"nodes": nodes, "edges": edges},
        **target,
        "spikescope": {"model": spec.name, "seed": seed, "dt_ms": spec.dt},
    }
    simulation = {"manifest": {"$BASE_DIR": "."}, "network": "$BASE_DIR/circuit_config.json", **target,
                  "run": {"dt": spec.dt, "tstop": float(tstop), "random_seed": seed}}
    (root / "circuit_config.json").write_text(json.dumps(circuit, indent=2) + "\n")
    (root / "simulation_config.json").write_text(json.dumps(simulation, indent=2) + "\n")
    return root / "circuit_config.json"


def edge_population_names(spec) -> list[str]:
    """``<source>_to_<target>`` per projection, made unique with ``_<index>``."""
    base = [f"{p.source}_to_{p.target}" for p in spec.projections]
    return [b if base.count(b) == 1 else f"{b}_{i}" for i, b in enumerate(base)]


# ------------------------------------------------------------------ nodes
def _new_file(path) -> h5py.File:
    f = h5py.File(path, "w")
    f.attrs["magic"] = np.uint32(MAGIC)
    f.attrs["version"] = np.array(VERSION, np.uint32)
    return f


def _node_table(group, n: int, type_id: int):
    group.create_dataset("node_type_id", data=np.full(n, type_id, np.uint64))
    group.create_dataset("node_id", data=np.arange(n, dtype=np.uint64))
    group.create_dataset("node_group_id", data=np.zeros(n, np.uint32))
    group.create_dataset("node_group_index", data=np.arange(n, dtype=np.uint64))
    return group.create_group("0")


def _write_neurons(root, spec, seed, connectome):
    from ..network.neurons import initial_v, population_params
    rows = ["node_type_id model_type model_template dynamics_params population"]
    with _new_file(root / NETWORK / "nodes.h5") as f:
        for k, (name, pop) in enumerate(spec.populations.items()):
            g0 = _node_table(f.create_group(f"nodes/{name}"), pop.size, k)
            pos = connectome.positions.get(name)
            if pos is not None:  # mm -> µm
                g0.create_dataset("x", data=pos[:, 0] * 1000.0)
                g0.create_dataset("y", data=pos[:, 1] * 1000.0)
                g0.create_dataset("z", data=np.zeros(pop.size))
            drawn = [p for p, v in pop.params.items() if v is not None and not isinstance(v, (int, float))]
            v_m = pop.initial.get("V_m")
            if drawn or (v_m is not None and not isinstance(v_m, (int, float))):
                dyn = g0.create_group("dynamics_params")
                prm = population_params(spec, name, k, seed)
                for p in drawn:
                    dyn.create_dataset(p, data=prm[p])
                if v_m is not None and not isinstance(v_m, (int, float)):  # engine keeps V - E_L
                    dyn.create_dataset("V_m", data=initial_v(spec, name, k, seed, prm["E_L"]) + prm["E_L"])
            params = {p: float(v) for p, v in pop.params.items() if isinstance(v, (int, float))}
            params.update({p: float(v) for p, v in pop.initial.items() if isinstance(v, (int, float))})
            (root / COMPONENTS / f"{name}.json").write_text(json.dumps(params, indent=2) + "\n")
            rows.append(f"{k} point_neuron nest:{pop.model} {name}.json {name}")
    (root / NETWORK / "node_types.csv").write_text("\n".join(rows) + "\n")


def _write_inputs(root, spec):
    """Devices as nodes NEST creates itself (model_type point_process: NEST's SonataNetwork
    creates any model named by model_template), so Poisson and DC input survive the export."""
    rows = ["node_type_id model_type model_template dynamics_params population"]
    first = len(spec.populations)
    with _new_file(root / NETWORK / "inputs.h5") as f:
        for j, (name, inp) in enumerate(spec.inputs.items()):
            _node_table(f.create_group(f"nodes/{name}"), spec.node_size(name), first + j)
            params = {p: (list(v) if isinstance(v, (list, tuple)) else v)
                      for p, v in inp.params.items() if v is not None}
            (root / COMPONENTS / f"{name}.json").write_text(json.dumps(params, indent=2) + "\n")
            rows.append(f"{first + j} point_process nest:{inp.model} {name}.json {name}")
    (root / NETWORK / "input_types.csv").write_text("\n".join(rows) + "\n")


# ------------------------------------------------------------------ edges
def _index(node_ids: np.ndarray, n_nodes: int, group) -> None:
    """SONATA's edge index: runs of equal node ids in edge order -> ranges of edge ids
    (``range_to_edge_id``), and per node the rows of its runs (``node_id_to_ranges``)."""
    m = node_ids.shape[0]
    starts = np.flatnonzero(np.r_[True, node_ids[1:] != node_ids[:-1]]) if m else np.zeros(0, np.int64)
    ends = np.r_[starts[1:], m] if m else starts
    run_node = node_ids[starts]
    order = np.argsort(run_node, kind="stable")  # a node's runs, in edge order
    ranges = np.column_stack([starts[order], ends[order]]).astype(np.uint64)
    counts = np.bincount(run_node, minlength=n_nodes) if m else np.zeros(n_nodes, np.int64)
    hi = np.cumsum(counts)
    group.create_dataset("node_id_to_ranges", data=np.column_stack([hi - counts, hi]).astype(np.uint64))
    group.create_dataset("range_to_edge_id", data=ranges.reshape(-1, 2))


def _write_edges(root, spec, connectome):
    rows = ["edge_type_id model_template source_population target_population rule"]
    names = edge_population_names(spec)
    with _new_file(root / NETWORK / "edges.h5") as f:
        for i, (proj, conn, name) in enumerate(zip(spec.projections, connectome.connections, names)):
            g = f.create_group(f"edges/{name}")
            g.attrs["projection_index"] = i
            src = conn.sources().astype(np.uint64)
            tgt = conn.targets.astype(np.uint64)
            m = tgt.shape[0]
            g.create_dataset("source_node_id", data=src).attrs["node_population"] = proj.source
            g.create_dataset("target_node_id", data=tgt).attrs["node_population"] = proj.target
            g.create_dataset("edge_type_id", data=np.full(m, i, np.uint32))
            g.create_dataset("edge_group_id", data=np.zeros(m, np.uint32))
            g.create_dataset("edge_group_index", data=np.arange(m, dtype=np.uint64))
            g0 = g.create_group("0")
            g0.create_dataset("syn_weight", data=conn.weight_array().astype(np.float64))
            g0.create_dataset("delay", data=np.round(conn.delay_array() * spec.dt, 12))
            _index(src.astype(np.int64), spec.node_size(proj.source), g.create_group("indices/source_to_target"))
            _index(tgt.astype(np.int64), spec.node_size(proj.target), g.create_group("indices/target_to_source"))
            rows.append(f"{i} {proj.synapse.model} {proj.source} {proj.target} {proj.rule.TAG[1]}")
    (root / NETWORK / "edge_types.csv").write_text("\n".join(rows) + "\n")


# ------------------------------------------------------------------ reading back
def read_edges(path) -> dict[str, dict[str, np.ndarray | str]]:
    """Edge populations of an edges.h5 by name: source, target (0-based ids), the
    populations they index, syn_weight, delay (ms), edge_type_id."""
    out = {}
    with h5py.File(Path(path), "r") as f:
        for name, g in f["edges"].items():
            out[name] = {
                "source": g["source_node_id"][()].astype(np.int64),
                "target": g["target_node_id"][()].astype(np.int64),
                "source_population": _text(g["source_node_id"].attrs["node_population"]),
                "target_population": _text(g["target_node_id"].attrs["node_population"]),
                "syn_weight": g["0/syn_weight"][()], "delay": g["0/delay"][()],
                "edge_type_id": g["edge_type_id"][()].astype(np.int64),
            }
    return out


def read_nodes(path) -> dict[str, dict[str, np.ndarray]]:
    """Node populations of a nodes file by name: node_type_id and the datasets of group 0."""
    out = {}
    with h5py.File(Path(path), "r") as f:
        for name, g in f["nodes"].items():
            d = {"node_type_id": g["node_type_id"][()].astype(np.int64)}
            g0 = g.get("0")
            if g0 is not None:
                g0.visititems(lambda key, obj: d.__setitem__(key, obj[()]) if isinstance(obj, h5py.Dataset) else None)
            out[name] = d
    return out


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
