"""Changes to a running simulation that need no rebuild: neuron parameters, input rates
and amplitudes, and one-valued projection weights are written into the backend's arrays
in place. Anything structural (sizes, rules, delays, new nodes) needs a rebuild."""
from __future__ import annotations

import numpy as np

from ..spec.model import NetworkSpec
from ..network import layout as L
from ..network.neurons import fill_population, population_params


def _structure(spec: NetworkSpec):
    """Everything that, when changed, requires rebuilding the network."""
    pops = {n: (p.model, p.size, p.initial, p.positions) for n, p in spec.populations.items()}
    inputs = {n: (i.model, i.params.get("spike_times"), i.params.get("start"), i.params.get("stop"))
              for n, i in spec.inputs.items()}
    projs = [(p.source, p.target, p.rule, p.synapse.delay, p.synapse.model, p.synapse.resolution,
              isinstance(p.synapse.weight, float)) for p in spec.projections]
    return (spec.dt, spec.seed, pops, inputs, projs, spec.recorders)


def can_apply_live(old: NetworkSpec, new: NetworkSpec) -> bool:
    if _structure(old) != _structure(new):
        return False
    # distributed weights would need redrawing: only one-valued weights change in place
    return all(a.synapse.weight == b.synapse.weight or isinstance(b.synapse.weight, float)
               for a, b in zip(old.projections, new.projections))


def apply_live(sim, new: NetworkSpec) -> None:
    """Write the parameter changes of ``new`` into ``sim`` (call only if can_apply_live).
    As in NEST, changing E_L keeps the absolute membrane potential."""
    net, backend = sim.network, sim.backend
    old = sim.spec
    for k, (name, pop) in enumerate(new.populations.items()):
        if pop.params == old.populations[name].params:
            continue
        a, b = net.pop_start[name], net.pop_start[name] + pop.size
        e_l_old = net.params[a:b, L.EL].copy()
        prm = population_params(new, name, k, sim.seed)
        net.refr_counts[a:b] = fill_population(net.params[a:b], pop.model, prm, net.dt)
        backend.S[a:b, L.V] -= net.params[a:b, L.EL] - e_l_old
    for i, (p_old, p_new) in enumerate(zip(old.projections, new.projections)):
        if p_old.synapse.weight == p_new.synapse.weight:
            continue
        conn = net.connectome.connections[i]
        conn.weight = p_new.synapse.weight
        backend.set_weight(i, conn.weight)
    _update_drives(sim, new)
    sim.spec = new


def _update_drives(sim, new):
    """Poisson entries carry rate * dt and the weight; DC entries amplitude * weight."""
    net = sim.network
    for c in net.connectome.connections:
        inp = new.inputs.get(c.source)
        if inp is None or inp.model not in ("poisson_generator", "dc_generator"):
            continue
        w = new.projections[c.index].synapse.weight
        if inp.model == "poisson_generator":
            sel = net.poisson.conn == c.index
            net.poisson.value[sel] = (inp.params.get("rate") or 0.0) * net.dt / 1000.0
            if isinstance(w, float):
                net.poisson.weight[sel] = w
        else:
            sel = net.dc.conn == c.index
            if isinstance(w, float):
                net.dc.value[sel] = (inp.params.get("amplitude") or 0.0) * w
    sim.backend.pz_exp_neg[:] = np.exp(-net.poisson.value)
