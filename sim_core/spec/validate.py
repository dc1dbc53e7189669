"""Checks that need more than one field: names, references, parameter names per
model, rule feasibility, delays on the dt grid. Each raises ``SpecError`` with the
field path and what would be valid."""
from __future__ import annotations

import math
import re

from ..errors import SpecError, did_you_mean, one_of
from .declarations import DEVICE_MODELS, NEURON_MODELS, SYNAPSE_MODELS
from .model import (POP_NAME_PATTERN, FixedIndegree, FixedOutdegree, FixedTotalNumber,
                    LinearDelay, NetworkSpec, OneToOne, PairwiseBernoulli, GaussianP,
                    ExponentialP, Normal, Lognormal, Uniform, Exponential)

DISTRIBUTIONS = (Normal, Lognormal, Uniform, Exponential)


def validate(spec: NetworkSpec) -> NetworkSpec:
    _check_dt(spec)
    for name, pop in spec.populations.items():
        _check_population(spec, name, pop)
    for name, inp in spec.inputs.items():
        _check_input(spec, name, inp)
    for i, proj in enumerate(spec.projections):
        _check_projection(spec, i, proj)
    _check_recorders(spec)
    return spec


MAX_STEPS = 1e15  # times and delays in steps of dt: beyond this they are not numbers one can run


def _check_dt(spec):
    if not 0.001 - 1e-12 <= spec.dt <= 1000.0:
        raise SpecError("dt", f"{spec.dt} ms is outside 0.001 to 1000 ms")
    steps = spec.dt * 1000.0  # NEST's tic is 1 µs: the resolution must be a whole number of tics
    if abs(steps - round(steps)) > 1e-9:
        raise SpecError("dt", f"{spec.dt} ms is not a multiple of 0.001 ms")


def _check_name(path: str, name: str, spec: NetworkSpec):
    if not re.match(POP_NAME_PATTERN, name):
        raise SpecError(path, f"name '{name}' must match {POP_NAME_PATTERN}")


def _check_population(spec, name, pop):
    path = f"populations.{name}"
    _check_name(path, name, spec)
    if name in spec.inputs:
        raise SpecError(path, f"'{name}' is also an input; population and input names share one namespace")
    if pop.model not in NEURON_MODELS:
        raise SpecError(f"{path}.model", f"'{pop.model}' is not a neuron model; expected one of "
                        f"{one_of(NEURON_MODELS)}{did_you_mean(pop.model, NEURON_MODELS)}")
    decl = NEURON_MODELS[pop.model]
    for key, value in pop.params.items():
        p = f"{path}.params.{key}"
        d = _declared(p, decl, key)
        if d.kind == "bool":
            if not isinstance(value, (bool, int, float)) or isinstance(value, DISTRIBUTIONS):
                raise SpecError(p, "expected true or false")
            continue
        if isinstance(value, bool):
            raise SpecError(p, f"got {value}; expected a number in {d.unit}")
        _check_param_bound(p, d, value)
    for key, value in pop.initial.items():
        if key not in decl.state_names:
            raise SpecError(f"{path}.initial.{key}", f"unknown state variable of {pop.model}; valid: "
                            f"{one_of(decl.state_names)}{did_you_mean(key, decl.state_names)}")
    merged = {**decl.defaults(), **pop.params}
    v_reset, v_th = merged.get("V_reset"), merged.get("V_th")
    if isinstance(v_reset, float) and isinstance(v_th, float) and not v_reset < v_th:
        raise SpecError(f"{path}.params.V_reset", f"{v_reset} mV must be below V_th ({v_th} mV)")
    if pop.positions is not None:
        _check_positions(f"{path}.positions", pop)


def _declared(path, decl, key):
    """The declaration of parameter ``key`` of a model, or an error with a hint."""
    if key not in decl.param_names:
        raise SpecError(path, f"unknown parameter of {decl.name}; valid: "
                        f"{one_of(decl.param_names)}{did_you_mean(key, decl.param_names)}")
    return decl.param(key)


def _check_param_bound(path, decl, value):
    lo = decl.gt if decl.gt is not None else decl.ge
    if lo is None:
        return
    if isinstance(value, float):
        bad = value <= decl.gt if decl.gt is not None else value < decl.ge
        if bad:
            op = ">" if decl.gt is not None else ">="
            raise SpecError(path, f"{value} must be {op} {lo} {decl.unit}".rstrip())
    elif isinstance(value, DISTRIBUTIONS):
        lower = _lowest_possible(value)
        if lower is None or lower < lo or (decl.gt is not None and lower <= lo):
            raise SpecError(path, f"the distribution can draw values <= {lo}; "
                            f"bound it (e.g. low: {lo if decl.ge is not None else 'a positive value'})")


def _lowest_possible(dist) -> float | None:
    """Smallest value a distribution can draw, or None when unbounded below."""
    if isinstance(dist, Uniform):
        a, b = dist.offset + dist.scale * dist.low, dist.offset + dist.scale * dist.high
        return min(a, b)
    if dist.low is not None:
        return dist.low
    if isinstance(dist, (Lognormal, Exponential)) and dist.scale > 0:
        return dist.offset
    return None


def _check_positions(path, pop):
    pos = pop.positions
    if len(pos.extent) != 2 or any(e <= 0 for e in pos.extent):
        raise SpecError(f"{path}.extent", "expected two positive numbers [x, y] in mm")
    if pos.kind == "grid":
        if pos.shape is None or len(pos.shape) != 2 or any(s < 1 for s in pos.shape):
            raise SpecError(f"{path}.shape", "a grid needs shape: [columns, rows]")
        if pos.shape[0] * pos.shape[1] != pop.size:
            raise SpecError(f"{path}.shape", f"{list(pos.shape)} holds {pos.shape[0] * pos.shape[1]} "
                            f"neurons but size is {pop.size}")
    elif pos.shape is not None:
        raise SpecError(f"{path}.shape", "only grid positions have a shape")


def _check_input(spec, name, inp):
    path = f"inputs.{name}"
    _check_name(path, name, spec)
    if inp.model not in DEVICE_MODELS:
        raise SpecError(f"{path}.model", f"'{inp.model}' is not an input device; expected one of "
                        f"{one_of(DEVICE_MODELS)}{did_you_mean(inp.model, DEVICE_MODELS)}")
    decl = DEVICE_MODELS[inp.model]
    for key, value in inp.params.items():
        p = f"{path}.params.{key}"
        d = _declared(p, decl, key)
        if d.kind == "times":
            _check_spike_times(p, value, spec.dt)
        elif value is not None:
            if isinstance(value, (bool, tuple)):
                raise SpecError(p, f"expected a number in {d.unit}")
            _check_param_bound(p, d, value)
    if inp.model == "spot_poisson_generator":
        period = inp.params.get("period", decl.param("period").default)
        if round(period / spec.dt) < 1 or abs(period / spec.dt - round(period / spec.dt)) > 1e-9:
            raise SpecError(f"{path}.params.period", f"{period} ms is not a positive multiple of dt ({spec.dt} ms)")
        tiles = inp.params.get("tiles", 1.0)
        if abs(tiles - round(tiles)) > 1e-9:
            raise SpecError(f"{path}.params.tiles", f"{tiles} is not a whole number of spots per side")
    start = inp.params.get("start") or 0.0
    stop = inp.params.get("stop")
    if stop is not None and stop < start:
        raise SpecError(f"{path}.params.stop", f"{stop} ms is before start ({start} ms)")


def _check_spike_times(path, times, dt):
    if not isinstance(times, tuple):
        raise SpecError(path, "expected a list of spike times in ms")
    prev = -math.inf
    for i, t in enumerate(times):
        if isinstance(t, bool) or not isinstance(t, (int, float)):
            raise SpecError(f"{path}[{i}]", f"got {t!r}; expected a number in ms")
        if t < dt - 1e-12:
            raise SpecError(f"{path}[{i}]", f"{t} ms is before the first step end ({dt} ms)")
        if not t / dt <= MAX_STEPS:  # also catches inf and nan
            raise SpecError(f"{path}[{i}]", f"{t} ms is too large (more than {MAX_STEPS:.0e} steps)")
        if abs(t / dt - round(t / dt)) > 1e-9:
            raise SpecError(f"{path}[{i}]", f"{t} ms is not on the dt grid ({dt} ms)")
        if t < prev:
            raise SpecError(f"{path}[{i}]", f"{t} ms comes after {prev} ms; spike times must be ascending")
        prev = t


def _check_projection(spec, i, proj):
    path = f"projections[{i}]"
    nodes = list(spec.populations) + list(spec.inputs)
    if proj.source not in nodes:
        raise SpecError(f"{path}.source", f"'{proj.source}' is not a population or input; expected one of "
                        f"{one_of(nodes)}{did_you_mean(proj.source, nodes)}")
    if proj.target not in spec.populations:
        raise SpecError(f"{path}.target", f"'{proj.target}' is not a population; expected one of "
                        f"{one_of(spec.populations)}{did_you_mean(proj.target, spec.populations)}")
    n_src, n_tgt = spec.node_size(proj.source), spec.node_size(proj.target)
    rule, rp = proj.rule, f"{path}.rule"
    same = proj.source == proj.target
    src_is_input = proj.source in spec.inputs
    avail_src = n_src - (1 if same and not rule.allow_autapses else 0)
    avail_tgt = n_tgt - (1 if same and not rule.allow_autapses else 0)
    if isinstance(rule, OneToOne) and n_src != n_tgt:
        raise SpecError(f"{rp}.rule", f"one_to_one needs equal sizes, but '{proj.source}' has {n_src} "
                        f"and '{proj.target}' has {n_tgt}")
    if isinstance(rule, FixedIndegree) and not rule.allow_multapses and rule.indegree > avail_src:
        raise SpecError(f"{rp}.indegree", f"{rule.indegree} exceeds the {avail_src} sources of "
                        f"'{proj.source}' while allow_multapses is false")
    if isinstance(rule, FixedOutdegree) and not rule.allow_multapses and rule.outdegree > avail_tgt:
        raise SpecError(f"{rp}.outdegree", f"{rule.outdegree} exceeds the {avail_tgt} targets in "
                        f"'{proj.target}' while allow_multapses is false")
    if isinstance(rule, (FixedIndegree, FixedOutdegree, FixedTotalNumber)) and avail_src * n_tgt == 0:
        raise SpecError(rp, "no source/target pairs are available (autapses disallowed in a population of 1)")
    if isinstance(rule, FixedTotalNumber) and not rule.allow_multapses:
        pairs = n_src * n_tgt - (min(n_src, n_tgt) if same and not rule.allow_autapses else 0)
        if rule.N > pairs:
            raise SpecError(f"{rp}.N", f"{rule.N} exceeds the {pairs} distinct pairs while "
                            "allow_multapses is false")
    if src_is_input and spec.inputs[proj.source].model == "spot_poisson_generator" and \
            spec.populations[proj.target].positions is None:
        raise SpecError(f"{path}.target", f"a spot_poisson_generator drives a spatial population; '{proj.target}' "
                        "has no positions")
    spatial_ok = (not src_is_input and spec.populations[proj.source].positions is not None
                  and spec.populations[proj.target].positions is not None)
    if isinstance(rule, PairwiseBernoulli):
        if isinstance(rule.p, (GaussianP, ExponentialP)) and not spatial_ok:
            raise SpecError(f"{rp}.p", "a distance-dependent p needs positions on both source and target")
        if rule.mask is not None and not spatial_ok:
            raise SpecError(f"{rp}.mask", "a mask needs positions on both source and target")
        if isinstance(rule.p, float) and not 0.0 <= rule.p <= 1.0:
            raise SpecError(f"{rp}.p", f"{rule.p} must lie in [0, 1]")
    syn, sp = proj.synapse, f"{path}.synapse"
    if isinstance(syn.delay, LinearDelay):
        if not spatial_ok:
            raise SpecError(f"{sp}.delay", "a distance-dependent delay needs positions on source and target")
    elif isinstance(syn.delay, float):
        if not syn.delay / spec.dt <= MAX_STEPS:
            raise SpecError(f"{sp}.delay", f"{syn.delay} ms is too large (more than {MAX_STEPS:.0e} steps)")
        if round(syn.delay / spec.dt) < 1:
            raise SpecError(f"{sp}.delay", f"{syn.delay} ms rounds to less than one step; use >= dt ({spec.dt} ms)")
    else:
        lowest = _lowest_possible(syn.delay)
        if lowest is None or lowest < spec.dt / 2:
            raise SpecError(f"{sp}.delay", f"the distribution can draw delays below dt/2 ({spec.dt / 2} ms); "
                            f"add low: {spec.dt / 2} or more")
    _check_synapse_model(spec, sp, proj)
    if proj.rewiring is not None:
        _check_rewiring(spec, path, proj)
    if spec.populations[proj.target].model == "parrot_neuron":
        lowest = syn.weight if isinstance(syn.weight, float) else _lowest_possible(syn.weight)
        if lowest is None or lowest <= 0.0:
            raise SpecError(f"{sp}.weight", "a parrot_neuron repeats spikes that arrive with a positive weight")
    if syn.receptor is not None and isinstance(syn.weight, float):
        sign_ok = syn.weight >= 0 if syn.receptor == "excitatory" else syn.weight <= 0
        if not sign_ok:
            raise SpecError(f"{sp}.receptor", f"{syn.receptor} contradicts the weight {syn.weight}; "
                            "NEST routes by the sign of the weight")


def _check_synapse_model(spec, sp, proj):
    syn = proj.synapse
    decl = SYNAPSE_MODELS[syn.model]
    for key, value in syn.params.items():
        p = f"{sp}.params.{key}"
        d = _declared(p, decl, key)
        if isinstance(value, bool) or not isinstance(value, float):
            raise SpecError(p, f"expected a number{(' in ' + d.unit) if d.unit else ''}")
        _check_param_bound(p, d, value)
    if syn.model != "stdp_synapse":
        if syn.params and not decl.params:
            raise SpecError(f"{sp}.params", f"{syn.model} has no parameters")
        return
    if syn.resolution is not None:
        raise SpecError(f"{sp}.resolution", "a plastic synapse (stdp_synapse) cannot have a weight resolution: "
                        "its weights change continuously")
    src = spec.inputs.get(proj.source)
    if src is not None:  # NEST refuses it too ("does not support spike input")
        raise SpecError(f"{sp}.model", f"stdp_synapse needs a population as its source; '{proj.source}' is a "
                        f"{src.model} (as in NEST, relay it through a population)")
    if syn.receptor == "inhibitory":
        raise SpecError(f"{sp}.receptor", "stdp_synapse weights lie in [0, Wmax]: excitatory only")
    wmax = syn.params.get("Wmax", decl.param("Wmax").default)
    lowest = syn.weight if isinstance(syn.weight, float) else _lowest_possible(syn.weight)
    if lowest is None or lowest < 0.0:
        raise SpecError(f"{sp}.weight", "stdp_synapse weights lie in [0, Wmax]: the weight must not be negative"
                        + ("" if isinstance(syn.weight, float) else " (bound the distribution: low: 0)"))
    if isinstance(syn.weight, float) and syn.weight > wmax:
        raise SpecError(f"{sp}.weight", f"{syn.weight} exceeds Wmax ({wmax})")


def _check_rewiring(spec, path, proj):
    rp = f"{path}.rewiring"
    if proj.source not in spec.populations:
        raise SpecError(f"{rp}", f"rewiring needs a population as its source; '{proj.source}' is an input")
    if not isinstance(proj.rule, PairwiseBernoulli):
        raise SpecError(f"{path}.rule", "a rewiring projection forms synapses with its rule's probability: "
                        "use pairwise_bernoulli (a constant p or a distance-dependent profile)")
    if not isinstance(proj.synapse.delay, float):
        raise SpecError(f"{path}.synapse.delay", "a rewiring projection needs one delay (new synapses get it)")
    if proj.synapse.resolution is not None:
        raise SpecError(f"{path}.synapse.resolution", "a rewiring projection cannot have a weight resolution")
    w = proj.rewiring.weight if proj.rewiring.weight is not None else proj.synapse.weight
    if not isinstance(w, float):
        raise SpecError(f"{rp}.weight", "the weight of new synapses is needed (the synapse's weight is a "
                        "distribution)")
    if proj.synapse.model == "stdp_synapse":
        wmax = proj.synapse.params.get("Wmax", SYNAPSE_MODELS["stdp_synapse"].param("Wmax").default)
        if not 0.0 <= w <= wmax:
            raise SpecError(f"{rp}.weight", f"{w} lies outside the plastic synapse's range [0, Wmax = {wmax}]")
    if abs(proj.rewiring.interval / spec.dt - round(proj.rewiring.interval / spec.dt)) > 1e-9:
        raise SpecError(f"{rp}.interval", f"{proj.rewiring.interval} ms is not a multiple of dt ({spec.dt} ms)")


def _check_recorders(spec):
    rec = spec.recorders
    if rec.spikes != "all":
        for i, name in enumerate(rec.spikes):
            if name not in spec.populations:
                raise SpecError(f"recorders.spikes[{i}]", f"'{name}' is not a population; expected one of "
                                f"{one_of(spec.populations)}{did_you_mean(name, spec.populations)}")
    vm = rec.voltmeter
    if vm is not None:
        for i, name in enumerate(vm.populations):
            if name not in spec.populations:
                raise SpecError(f"recorders.voltmeter.populations[{i}]", f"'{name}' is not a population; "
                                f"expected one of {one_of(spec.populations)}{did_you_mean(name, spec.populations)}")
            if vm.n > spec.populations[name].size:
                raise SpecError("recorders.voltmeter.n", f"{vm.n} exceeds the {spec.populations[name].size} "
                                f"neurons of '{name}'")
        if abs(vm.interval / spec.dt - round(vm.interval / spec.dt)) > 1e-9:
            raise SpecError("recorders.voltmeter.interval", f"{vm.interval} ms is not a multiple of dt ({spec.dt} ms)")
    wr = rec.weights
    if wr is not None:
        if not wr.projections:
            raise SpecError("recorders.weights.projections", "name at least one projection")
        if len(set(wr.projections)) != len(wr.projections):
            raise SpecError("recorders.weights.projections", f"{list(wr.projections)} names a projection twice")
        for i, q in enumerate(wr.projections):
            if not 0 <= q < len(spec.projections):
                raise SpecError(f"recorders.weights.projections[{i}]", f"{q} is not a projection index "
                                f"(0 to {len(spec.projections) - 1})")
            src = spec.inputs.get(spec.projections[q].source)
            if src is not None and src.model != "spike_generator":
                raise SpecError(f"recorders.weights.projections[{i}]", f"projection {q} comes from a {src.model}: "
                                "it has no synapses to record")
        if abs(wr.interval / spec.dt - round(wr.interval / spec.dt)) > 1e-9:
            raise SpecError("recorders.weights.interval", f"{wr.interval} ms is not a multiple of dt ({spec.dt} ms)")
    if rec.lfp is not None:
        _check_lfp(spec, rec.lfp)


def _check_lfp(spec, lfp):
    """The electrode grid must lie on the one sheet that the spatial populations share."""
    el = lfp.electrodes
    if len(el.grid) != 2 or min(el.grid) < 1:
        raise SpecError("recorders.lfp.electrodes.grid", f"{list(el.grid)}: give two positive numbers, [nx, ny]")
    if abs(lfp.interval / spec.dt - round(lfp.interval / spec.dt)) > 1e-9:
        raise SpecError("recorders.lfp.interval", f"{lfp.interval} ms is not a multiple of dt ({spec.dt} ms)")
    sheets = {(p.positions.extent, p.positions.periodic) for p in spec.populations.values() if p.positions}
    if not sheets:
        raise SpecError("recorders.lfp", "the LFP needs neurons with positions: give the populations `positions`")
    if len(sheets) > 1:
        raise SpecError("recorders.lfp", "the spatial populations lie on different sheets "
                        f"({', '.join(str(list(e)) for e, _ in sorted(sheets))} mm, periodic or not); the LFP "
                        "needs one sheet")
    (ex, ey), _ = sheets.pop()
    span = [(n - 1) * el.pitch for n in el.grid]
    if span[0] > ex or span[1] > ey:
        raise SpecError("recorders.lfp.electrodes.pitch", f"a {el.grid[0]}x{el.grid[1]} grid at {el.pitch} mm "
                        f"spans {span[0]:g} x {span[1]:g} mm, more than the {ex:g} x {ey:g} mm sheet")


# One part of a spec checked as ``validate`` checks it (for live edits, e.g. the closed loop).
def check_population(spec: NetworkSpec, name: str) -> None:
    _check_population(spec, name, spec.populations[name])


def check_input(spec: NetworkSpec, name: str) -> None:
    _check_input(spec, name, spec.inputs[name])


def check_projection(spec: NetworkSpec, i: int) -> None:
    _check_projection(spec, i, spec.projections[i])
