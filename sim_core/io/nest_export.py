"""Spec ``spikescope/1`` -> a standalone PyNEST 3.x script that builds and runs the same network.

``pynest_script(spec)`` renders the script as text from the plain spec dict (as loaded by
``yaml.safe_load``, already validated). The spec uses NEST's names and units, so most fields
pass straight through; each section of the script has its own small renderer below, and the
parts that do not depend on the spec (argument parsing, statistics, output) are fixed text.

The script imports only nest, numpy and the standard library, prints one JSON summary as
its last stdout line and optionally writes the recorded spikes and voltages as .npz.
"""
from __future__ import annotations

import json
import math
import textwrap

DEFAULT_SYNAPSE = "static_synapse"
DEFAULT_DELAY = 1.0  # ms, the spec's default (NEST's too)
DEFAULT_EXTENT = (1.0, 1.0)  # mm
# NEST 3.10 evaluates distance-dependent synapse parameters only for these rules; it refuses
# the others ("When using kernel or mask, the only possible connection rules are ...").
SPATIAL_RULES = ("pairwise_bernoulli", "fixed_indegree", "fixed_outdegree")
RULE_PARAMS = ("indegree", "outdegree", "N")  # integer rule parameters, passed through
INDENT = "    "
LINE_WIDTH = 100
DICT_WIDTH = 72  # longer dict displays get one entry per line


def pynest_script(spec: dict) -> str:
    """The PyNEST script for ``spec`` (a validated spec as plain data). A model that NEST
    cannot run as written (the moving spot input, structural plasticity after GeNN) is
    refused with the field that has no NEST counterpart."""
    from ..errors import SpecError
    for name, inp in (spec.get("inputs") or {}).items():
        if inp["model"] == "spot_poisson_generator":
            raise SpecError(f"inputs.{name}.model", "spot_poisson_generator has no NEST counterpart (a script "
                            "would set every poisson_generator's rate each period); not exported")
    for i, proj in enumerate(spec.get("projections", [])):
        if proj.get("rewiring"):
            raise SpecError(f"projections[{i}].rewiring", "this structural plasticity (GeNN's, after Bamford et "
                            "al.) has no NEST counterpart; not exported")
    sections = [
        _header(spec),
        _FIXED_ARGS,
        _kernel(),
        _populations(spec),
        _inputs(spec),
        _projections(spec),
        _recorders(spec),
        _SET_DISTANCE_DELAYS if _needs_distance_delays(spec) else "",
        _FIXED_OUTPUT,
        _FIXED_MAIN,
    ]
    return "\n\n\n".join(s.strip("\n") for s in sections if s) + "\n"


# ------------------------------------------------------------------ literals and expressions
def _num(x) -> str:
    """A number as a float literal: NEST 3.10 types a list by its first element and silently
    truncates the rest (spike_times [1, 2.5] becomes [1.0, 2.0]), so spec numbers stay floats."""
    x = float(x)
    if math.isinf(x):
        return "np.inf" if x > 0 else "-np.inf"
    return repr(x)


def _str(s: str) -> str:
    """A string literal in double quotes (a JSON string is a valid Python one)."""
    return json.dumps(str(s))


def _lit(value) -> str:
    """Plain spec data (number, flag, string, list) as a Python literal."""
    if isinstance(value, bool):
        return repr(value)
    if isinstance(value, (int, float)):
        return _num(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_lit(v) for v in value) + "]"
    return _str(value)


def _dist(d: dict) -> str:
    """A distribution as a NEST random parameter: offset + scale * X, redrawn into [low, high]."""
    kind = d["dist"]
    if kind == "normal":
        x = f"nest.random.normal(mean={_num(d['mean'])}, std={_num(d['std'])})"
    elif kind == "lognormal":  # mu, sigma of the underlying normal, as NEST's mean, std
        x = f"nest.random.lognormal(mean={_num(d['mu'])}, std={_num(d['sigma'])})"
    elif kind == "uniform":
        x = f"nest.random.uniform(min={_num(d['low'])}, max={_num(d['high'])})"
    elif kind == "exponential":
        x = f"nest.random.exponential(beta={_num(d['beta'])})"
    else:
        raise ValueError(f"unknown distribution {kind!r}")
    scale, offset = d.get("scale", 1.0), d.get("offset", 0.0)
    if scale != 1:
        x = f"{_num(scale)} * {x}"
    if offset != 0:
        x = f"{_num(offset)} + {x}"
    # a uniform's low/high are its range; for the others they bound the final value
    low, high = d.get("low"), d.get("high")
    if kind != "uniform" and (low is not None or high is not None):
        lo = _num(-math.inf if low is None else low)
        hi = _num(math.inf if high is None else high)
        x = f"nest.math.redraw({x}, min={lo}, max={hi})"
    return x


def _value(v) -> str:
    """A number or a distribution."""
    return _dist(v) if isinstance(v, dict) else _lit(v)


def _probability(p) -> str:
    """pairwise_bernoulli's p: a number or a distance-dependent profile."""
    if not isinstance(p, dict):
        return _num(p)
    profile = "nest.spatial_distributions"
    if p["spatial"] == "gaussian":
        shape = f"{profile}.gaussian(nest.spatial.distance, std={_num(p['sigma'])})"
    elif p["spatial"] == "exponential":
        shape = f"{profile}.exponential(nest.spatial.distance, beta={_num(p['beta'])})"
    else:
        raise ValueError(f"unknown spatial profile {p['spatial']!r}")
    return f"{_num(p['p_center'])} * {shape}"


def _dict(entries: list[tuple[str, str]]) -> str:
    """A dict display from (key, expression) pairs; one entry per line when it gets long
    (indented relative to the line it starts on)."""
    one_line = "{" + ", ".join(f"{_str(k)}: {v}" for k, v in entries) + "}"
    if len(one_line) <= DICT_WIDTH:
        return one_line
    return "{\n" + "".join(f"{INDENT}{_str(k)}: {v},\n" for k, v in entries) + "}"


def _params(params: dict) -> str:
    # null means "NEST's default": leave the parameter out
    return _dict([(k, _value(v)) for k, v in params.items() if v is not None])


def _statement(lead: str, func: str, args: list[str]) -> str:
    """``lead + func(args)`` for a function body: on one line if its first line fits, else
    one argument per line."""
    one = f"{lead}{func}({', '.join(args)})"
    if len(INDENT) + len(one.split("\n")[0]) <= LINE_WIDTH:
        return one
    inner = "".join(f"{INDENT}{a}".replace("\n", "\n" + INDENT) + ",\n" for a in args)
    return f"{lead}{func}(\n{inner})"


def _function(signature: str, doc: str, body: list[str]) -> str:
    """A function definition of the script; ``body`` items may span several lines and are
    indented relative to the function."""
    lines = [f"def {signature}:", f'{INDENT}"""{doc}"""']
    for line in "\n".join(body).split("\n"):
        lines.append(INDENT + line if line else "")
    return "\n".join(lines)


# ------------------------------------------------------------------ sections
def _header(spec: dict) -> str:
    name = spec["name"]
    about = " ".join(str(spec.get("description", "")).split())
    doc = f"{name}: {about}" if about else name
    doc = "\n".join(textwrap.wrap(doc, LINE_WIDTH - 4))
    doc = doc.replace("\\", "\\\\").replace('"', '\\"')  # safe inside the docstring
    return f'''#!/usr/bin/env python3
"""{doc}

PyNEST 3.x script written by SpikeScope (sim_core.io.nest_export) from the spec
`spikescope/1` '{name}'. Example:

    python SCRIPT.py --t-sim 1000 --t-presim 100 --spikes-out spikes.npz
"""
import argparse
import json
import sys
import time

import nest
import numpy as np

SPEC_SEED = {int(spec.get("seed", 0))}
DT = {_num(spec.get("dt", 0.1))}  # ms
# plastic projections: index -> the private synapse model that connects them (their weights
# are saved with --weights-out)
PLASTIC = {repr({i: (_private(i, p["synapse"]["model"]), p["source"], p["target"])
                 for i, p in enumerate(spec.get("projections", []))
                 if p["synapse"].get("model", DEFAULT_SYNAPSE) != DEFAULT_SYNAPSE})}'''


def _kernel() -> str:
    return _function("setup_kernel(seed, threads)", "A fresh kernel: resolution, seed, threads.", [
        "nest.ResetKernel()",
        "# NEST 3.10 deprecates set_verbosity in favour of the verbosity property",
        'if hasattr(nest, "VerbosityLevel"):',
        f"{INDENT}nest.verbosity = nest.VerbosityLevel.ERROR",
        "else:",
        f'{INDENT}nest.set_verbosity("M_ERROR")',
        "nest.local_num_threads = threads",
        "nest.resolution = DT",
        "# NEST wants a seed in [1, 2**32 - 2] and the spec allows 0: spec seed s is NEST seed s + 1",
        "nest.rng_seed = seed + 1",
    ])


def _populations(spec: dict) -> str:
    body = ["pops = {}"]
    for name, pop in spec["populations"].items():
        body += _population(name, pop)
    body.append("return pops")
    return _function("create_populations()", "The neuron populations, by name.", body)


def _population(name: str, pop: dict) -> list[str]:
    args = [_str(pop["model"])]
    lines = []
    positions = pop.get("positions")
    if positions is None:
        args.append(str(int(pop["size"])))
    else:
        lines += _positions(positions)
        if positions["kind"] != "grid":  # a grid's size follows from its shape
            args.append(str(int(pop["size"])))
        args.append("positions=positions")
    if pop.get("params"):
        args.append("params=" + _params(pop["params"]))
    lines.append(_statement(f"pops[{_str(name)}] = ", "nest.Create", args))
    if pop.get("initial"):
        lines += ["# initial state", f"pops[{_str(name)}].set({_params(pop['initial'])})"]
    return lines


def _positions(pos: dict) -> list[str]:
    """``positions = nest.spatial...``: a sheet centred on [0, 0]."""
    extent = [float(e) for e in pos.get("extent", DEFAULT_EXTENT)]
    wrap = bool(pos.get("periodic", False))
    if pos["kind"] == "grid":
        # NEST numbers grid neurons column by column, rows from the top (as the spec does)
        return [_statement("positions = ", "nest.spatial.grid", [
            f"shape={[int(n) for n in pos['shape']]}", f"extent={_lit(extent)}",
            f"center={_lit([0.0] * len(extent))}", f"edge_wrap={wrap}"])]
    coords = ", ".join(f"nest.random.uniform(min={_num(-e / 2)}, max={_num(e / 2)})" for e in extent)
    return [
        "# free layers take no center: NEST centres the extent on the middle of the drawn",
        "# positions, which moves no neuron and no distance (with edge_wrap only the extent counts)",
        _statement("positions = ", "nest.spatial.free",
                   [f"[{coords}]", f"extent={_lit(extent)}", f"edge_wrap={wrap}"]),
    ]


def _inputs(spec: dict) -> str:
    body = ["inputs = {}"]
    for name, device in spec.get("inputs", {}).items():
        args = [_str(device["model"])]
        if device.get("params"):
            args.append("params=" + _params(device["params"]))
        body.append(_statement(f"inputs[{_str(name)}] = ", "nest.Create", args))
    body.append("return inputs")
    return _function("create_inputs()", "The stimulating devices, by name.", body)


def _projections(spec: dict) -> str:
    body = []
    for i, proj in enumerate(spec.get("projections", [])):
        body += _projection(i, proj, spec)
    return _function("connect(nodes)", "The projections; nodes holds populations and inputs by name.",
                     body or ["pass"])


def _projection(i: int, proj: dict, spec: dict) -> list[str]:
    rule, syn = proj["rule"], proj["synapse"]
    lines = [f"# projection {i}: {proj['source']} -> {proj['target']}, {rule['rule']}"]
    if "receptor" in syn:
        lines.append("# receptor: NEST routes by the sign of the weight")
    if syn.get("resolution"):
        res = syn["resolution"]
        method = res.get("method", "mean_variance")
        lines += [f"# the weight resolution ({res['levels']} levels, {method}) has no NEST counterpart:",
                  "# NEST uses full-resolution weights"]
    delay = syn.get("delay", DEFAULT_DELAY)
    if _is_linear_delay(delay) and rule["rule"] not in SPATIAL_RULES:
        return lines + _connect_then_set_delays(i, proj, spec)
    model = syn.get("model", DEFAULT_SYNAPSE)
    if model != DEFAULT_SYNAPSE:  # a private copy, so that its connections can be found (PLASTIC)
        lines.append(f"nest.CopyModel({_str(model)}, {_str(_private(i, model))})")
        model = _private(i, model)
    return lines + [_connect(proj, model, _delay(delay))]


def _private(i: int, model: str) -> str:
    return f"{model}_projection_{i}"


def _connect(proj: dict, synapse_model: str, delay: str) -> str:
    """``nest.Connect(source, target, conn_spec, syn_spec)``; ``delay`` is an expression."""
    # a plastic synapse's parameters are per connection in NEST (stdp_synapse: tau_plus,
    # lambda, alpha, mu_plus, mu_minus, Wmax), so they go with the weight
    params = [(k, _num(v)) for k, v in (proj["synapse"].get("params") or {}).items()]
    syn_spec = _dict([("synapse_model", _str(synapse_model)),
                      ("weight", _value(proj["synapse"]["weight"])), ("delay", delay)] + params)
    return _statement("", "nest.Connect", [_node(proj["source"]), _node(proj["target"]),
                                           _dict(_conn_entries(proj["rule"])), syn_spec])


def _node(name: str) -> str:
    return f"nodes[{_str(name)}]"


def _conn_entries(rule: dict) -> list[tuple[str, str]]:
    entries = [("rule", _str(rule["rule"]))]
    if "p" in rule:
        entries.append(("p", _probability(rule["p"])))
    if rule.get("mask"):
        radius = _num(rule["mask"]["circular"]["radius"])
        entries.append(("mask", f'{{"circular": {{"radius": {radius}}}}}'))
    entries += [(k, str(int(rule[k]))) for k in RULE_PARAMS if k in rule]
    # the spec's defaults are NEST's (true), so only explicit flags are written
    entries += [(k, repr(bool(rule[k]))) for k in ("allow_autapses", "allow_multapses") if k in rule]
    return entries


def _needs_distance_delays(spec: dict) -> bool:
    return any(_is_linear_delay(p["synapse"].get("delay")) and p["rule"]["rule"] not in SPATIAL_RULES
               for p in spec.get("projections", []))


def _is_linear_delay(delay) -> bool:
    return isinstance(delay, dict) and delay.get("spatial") == "linear"


def _delay(delay) -> str:
    if _is_linear_delay(delay):
        # the spec rounds delays to the grid with at least one step; NEST rounds the same way
        # but refuses a delay that rounds to 0, which offset + 0 / velocity may
        r = f"nest.spatial.distance / {_num(delay['velocity'])}"
        if delay["offset"]:
            r = f"{_num(delay['offset'])} + {r}"
        return f"nest.math.max({r}, DT)"
    # distributions are validated to draw nothing below dt / 2, which NEST rounds up to dt
    return _value(delay)


def _connect_then_set_delays(i: int, proj: dict, spec: dict) -> list[str]:
    """Distance-dependent delays for a rule that NEST gives no spatial parameters: connect
    through a private copy of the synapse model, then set the delays from the positions."""
    model = proj["synapse"].get("model", DEFAULT_SYNAPSE)
    private = _private(i, model)
    delay = proj["synapse"]["delay"]
    # distances on the target's sheet, as the engine takes them
    sheet = spec["populations"][proj["target"]]["positions"]
    extent = [float(e) for e in sheet.get("extent", DEFAULT_EXTENT)]
    return [
        f"# NEST gives distance-dependent parameters only to {', '.join(SPATIAL_RULES)}:",
        "# connect through a private synapse model, then set the delays from the positions",
        f"nest.CopyModel({_str(model)}, {_str(private)})",
        _connect(proj, private, "DT"),
        _statement("", "set_distance_delays", [
            f"nest.GetConnections(synapse_model={_str(private)})",
            _node(proj["source"]), _node(proj["target"]),
            f"offset={_num(delay['offset'])}", f"velocity={_num(delay['velocity'])}",
            f"extent={_lit(extent)}", f"periodic={bool(sheet.get('periodic', False))}"]),
    ]


def _recorders(spec: dict) -> str:
    rec = spec.get("recorders") or {}
    spikes = rec.get("spikes", "all")  # no recorders section: the spec records all spikes
    spiking = list(spec["populations"]) if spikes == "all" else list(spikes)
    body = ["spike_recorders, voltmeters = {}, {}"]
    if spiking:
        body += [
            f"for name in {_lit(spiking)}:",
            f'{INDENT}spike_recorders[name] = nest.Create("spike_recorder", params={{"start": start}})',
            f"{INDENT}nest.Connect(pops[name], spike_recorders[name])",
        ]
    vm = rec.get("voltmeter")
    if vm:
        params = f'{{"interval": {_num(vm.get("interval", 1.0))}, "start": start}}'
        body += [
            f"for name in {_lit(list(vm['populations']))}:",
            f'{INDENT}voltmeters[name] = nest.Create("voltmeter", params={params})',
            f"{INDENT}nest.Connect(voltmeters[name], pops[name][:{int(vm.get('n', 1))}])",
        ]
    body.append("return spike_recorders, voltmeters")
    return _function(
        "create_recorders(pops, start)",
        "Spike recorders and voltmeters by population; they record (start, end], so the\n"
        f"{INDENT}warm-up before start is simulated but not recorded.",
        body)


# ------------------------------------------------------------------ fixed parts of the script
_FIXED_ARGS = r'''
def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--t-sim", type=float, default=1000.0, metavar="MS",
                        help="recorded and measured time (default 1000)")
    parser.add_argument("--t-presim", type=float, default=0.0, metavar="MS",
                        help="warm-up before --t-sim, simulated but not recorded (default 0)")
    parser.add_argument("--seed", type=int, default=SPEC_SEED, help="default: the spec's seed")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--spikes-out", metavar="FILE.npz", help="P.times, P.senders per population P")
    parser.add_argument("--voltages-out", metavar="FILE.npz", help="P.times, P.senders, P.V_m")
    parser.add_argument("--weights-out", metavar="FILE.npz",
                        help="final weights of plastic projections: K.source, K.target, K.weight "
                             "(K the projection's index; ids 0-based in their populations)")
    args = parser.parse_args(argv)
    # recorder start and simulated time must lie on NEST's time grid
    for name in ("t_sim", "t_presim"):
        steps = getattr(args, name) / DT
        if getattr(args, name) < 0 or abs(steps - round(steps)) > 1e-9:
            parser.error(f"--{name.replace('_', '-')} must be a non-negative multiple of {DT} ms")
    return args
'''

_SET_DISTANCE_DELAYS = r'''
def set_distance_delays(conns, sources, targets, offset, velocity, extent, periodic):
    """delay = offset + r / velocity, at least DT, with r the distance between the connected
    neurons (on the torus if periodic)."""
    if len(conns) == 0:
        return
    pre = np.atleast_1d(conns.get("source")) - sources[0].global_id
    post = np.atleast_1d(conns.get("target")) - targets[0].global_id
    d = (np.array(nest.GetPosition(targets), ndmin=2)[post]
         - np.array(nest.GetPosition(sources), ndmin=2)[pre])
    if periodic:
        d -= np.asarray(extent) * np.round(d / np.asarray(extent))
    delays = np.maximum(offset + np.linalg.norm(d, axis=1) / velocity, DT)
    conns.set(delay=delays.tolist())
'''

_FIXED_OUTPUT = r'''
def population_events(recorder, population, keys=()):
    """A recorder's events sorted by time then sender, senders 0-based in the population."""
    events = recorder.get("events")
    times = np.asarray(events["times"], dtype=float)
    senders = np.asarray(events["senders"], dtype=np.int64) - population[0].global_id
    order = np.lexsort((senders, times))
    arrays = {"times": times[order], "senders": senders[order]}
    for key in keys:
        arrays[key] = np.asarray(events[key], dtype=float)[order]
    return arrays


def mean_cv_isi(times, senders):
    """Mean over neurons with >= 3 spikes of std(ISI) / mean(ISI); None if there are none."""
    order = np.lexsort((times, senders))
    times, senders = times[order], senders[order]
    cvs = []
    for train in np.split(times, np.flatnonzero(np.diff(senders)) + 1):
        if len(train) >= 3:
            isi = np.diff(train)
            cvs.append(isi.std() / isi.mean())
    return float(np.mean(cvs)) if cvs else None


def plastic_weights(model, sources, targets):
    """source, target (0-based in their populations) and weight of a synapse model's connections."""
    conns = nest.GetConnections(synapse_model=model)
    if len(conns) == 0:
        return {"source": np.zeros(0, np.int64), "target": np.zeros(0, np.int64), "weight": np.zeros(0)}
    st = conns.get(["source", "target", "weight"])
    return {"source": np.atleast_1d(st["source"]) - sources[0].global_id,
            "target": np.atleast_1d(st["target"]) - targets[0].global_id,
            "weight": np.atleast_1d(np.asarray(st["weight"], dtype=float))}


def save_npz(path, per_population):
    """Arrays as "P.key" entries, P the population."""
    np.savez(path, **{f"{name}.{key}": values for name, arrays in per_population.items()
                      for key, values in arrays.items()})
'''

_FIXED_MAIN = r'''
def main(argv=None):
    args = parse_args(argv)
    t0 = time.perf_counter()
    setup_kernel(args.seed, args.threads)
    pops = create_populations()
    connect({**pops, **create_inputs()})
    # n_synapses: the connections of the projections (between populations and from inputs),
    # read before the recorders are connected
    n_synapses = nest.GetKernelStatus("num_connections")
    spike_recorders, voltmeters = create_recorders(pops, args.t_presim)
    build_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    nest.Simulate(args.t_presim + args.t_sim)
    sim_s = time.perf_counter() - t0

    spikes = {name: population_events(rec, pops[name]) for name, rec in spike_recorders.items()}
    if args.spikes_out:
        save_npz(args.spikes_out, spikes)
    if args.voltages_out:
        save_npz(args.voltages_out, {name: population_events(vm, pops[name], ("V_m",))
                                     for name, vm in voltmeters.items()})
    if args.weights_out:
        save_npz(args.weights_out, {str(k): plastic_weights(model, pops[src], pops[tgt])
                                    for k, (model, src, tgt) in PLASTIC.items()})
    # the recorders start at t_presim, so every recorded spike lies in the measured window
    seconds = args.t_sim / 1000.0
    rates = {name: len(s["times"]) / (len(pops[name]) * seconds) if seconds > 0 else 0.0
             for name, s in spikes.items()}
    print(json.dumps({
        "simulator": "nest",
        "nest_version": nest.__version__,
        "n_neurons": sum(len(p) for p in pops.values()),
        "n_synapses": n_synapses,
        "build_s": build_s,
        "sim_s": sim_s,
        "rates_hz": rates,
        "cv_isi": {name: mean_cv_isi(s["times"], s["senders"]) for name, s in spikes.items()},
    }))


if __name__ == "__main__":
    main(sys.argv[1:])
'''
