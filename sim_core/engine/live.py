"""Changes to a running simulation that need no rebuild: neuron parameters, input rates
and amplitudes, and one-valued projection weights go to the backend through its
live-edit methods (``backends.protocol``). Anything structural (sizes, rules, delays, new
nodes) needs a rebuild."""
from __future__ import annotations

from ..network import layout as L
from ..spec.model import NetworkSpec
from ..network.neurons import fill_population, initial_v, population_params


def _structure(spec: NetworkSpec):
    """Everything that, when changed, requires rebuilding the network."""
    pops = {n: (p.model, p.size, p.initial, p.positions) for n, p in spec.populations.items()}
    # the moving spot's rates are set per period from its parameters (engine.spot), and a
    # plastic projection's weights and parameters live in its rows (backends.plastic): both
    # are rebuilt when they change, as is tau_minus (the STDP traces' time constant)
    inputs = {n: (i.model, i.params.get("spike_times"), i.params.get("start"), i.params.get("stop"),
                  dict(i.params) if i.model == "spot_poisson_generator" else None)
              for n, i in spec.inputs.items()}
    projs = [(p.source, p.target, p.rule, p.synapse.delay, p.synapse.model, p.synapse.resolution,
              isinstance(p.synapse.weight, float), p.rewiring, dict(p.synapse.params),
              p.synapse.weight if p.plastic or _from_spot(spec, p) else None) for p in spec.projections]
    tau_minus = {n: p.params.get("tau_minus") for n, p in spec.populations.items()}
    return (spec.dt, spec.seed, pops, inputs, projs, spec.recorders, tau_minus)


def _from_spot(spec: NetworkSpec, p) -> bool:
    src = spec.inputs.get(p.source)
    return src is not None and src.model == "spot_poisson_generator"


def can_apply_live(old: NetworkSpec, new: NetworkSpec) -> bool:
    if _structure(old) != _structure(new):
        return False
    # distributed weights would need redrawing: only one-valued weights change in place
    return all(a.synapse.weight == b.synapse.weight or isinstance(b.synapse.weight, float)
               for a, b in zip(old.projections, new.projections))


def apply_live(sim, new: NetworkSpec) -> None:
    """Apply the parameter changes of ``new`` to ``sim`` (call only if can_apply_live),
    through the backend's live-edit methods. As in NEST, changing E_L keeps the absolute
    membrane potential; the initial V (what Reset returns to) is that of a fresh build."""
    net, backend = sim.network, sim.backend
    old = sim.spec
    for k, (name, pop) in enumerate(new.populations.items()):
        if pop.params == old.populations[name].params:
            continue
        a, b = net.pop_start[name], net.pop_start[name] + pop.size
        params = net.params[a:b].copy()
        prm = population_params(new, name, k, sim.seed)
        refr = fill_population(params, pop.model, prm, net.dt)
        backend.set_neuron_params(a, b, params, refr, initial_v(new, name, k, sim.seed, params[:, L.EL]))
    for i, (p_old, p_new) in enumerate(zip(old.projections, new.projections)):
        if p_old.synapse.weight != p_new.synapse.weight and isinstance(p_new.synapse.weight, float):
            backend.set_weight(i, p_new.synapse.weight)
    backend.set_drives(*_drive_values(net, new))
    sim.spec = new


def _drive_values(net, new):
    """Poisson entries carry rate * dt and the weight; DC entries amplitude * weight."""
    pz_value, pz_weight, dc_value = net.poisson.value.copy(), net.poisson.weight.copy(), net.dc.value.copy()
    for c in net.connectome.connections:
        inp = new.inputs.get(c.source)
        if inp is None or inp.model not in ("poisson_generator", "dc_generator"):
            continue
        w = new.projections[c.index].synapse.weight
        if inp.model == "poisson_generator":
            sel = net.poisson.conn == c.index
            pz_value[sel] = (inp.params.get("rate") or 0.0) * net.dt / 1000.0
            if isinstance(w, float):
                pz_weight[sel] = w
        elif isinstance(w, float):
            dc_value[net.dc.conn == c.index] = (inp.params.get("amplitude") or 0.0) * w
    return pz_value, pz_weight, dc_value
