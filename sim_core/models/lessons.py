"""The small models of the lessons (``widgets/lessons.py`` and the lesson notebooks): one
neuron under a constant current, and one source population connected to four targets by
the four random connection rules with the same expected number of synapses.

Neuron parameters are NEST 3.10's defaults of ``iaf_psc_exp`` (``sim_core.spec.declarations``)
unless a caller overrides them; units are NEST's (pA, mV, ms, spikes/s).
"""
from __future__ import annotations

#: one rule per target population, each with 1,000 synapses expected from 100 x 100 neurons
RULE_TARGETS = {
    "bernoulli": {"rule": "pairwise_bernoulli", "p": 0.1},
    "indegree": {"rule": "fixed_indegree", "indegree": 10},
    "outdegree": {"rule": "fixed_outdegree", "outdegree": 10},
    "total": {"rule": "fixed_total_number", "N": 1000},
}


def single_neuron(I_e: float = 300.0, model: str = "iaf_psc_exp", **params) -> dict:
    """One neuron driven by the constant current ``I_e`` (pA), its spikes and membrane
    potential recorded: the f-I curve lesson."""
    return {
        "format": "spikescope/1", "name": "one-neuron",
        "description": f"One {model} neuron (NEST's defaults) under a constant current I_e.",
        "dt": 0.1, "seed": 1,
        "populations": {"neuron": {"model": model, "size": 1, "params": {"I_e": float(I_e), **params}}},
        "recorders": {"spikes": "all", "voltmeter": {"populations": ["neuron"], "n": 1, "interval": 0.1}},
    }


def fi_sweep(currents, model: str = "iaf_psc_exp", **params) -> dict:
    """One population of one neuron per current (``I0``, ``I1``, ...): a whole f-I curve in
    one simulation (the neurons are not connected)."""
    pops = {f"I{k}": {"model": model, "size": 1, "params": {"I_e": float(c), **params}}
            for k, c in enumerate(currents)}
    return {"format": "spikescope/1", "name": "fi-sweep", "dt": 0.1, "seed": 1, "populations": pops,
            "recorders": {"spikes": "all"}}


def rules_side_by_side(n: int = 100, weight: float = 150.0, drive_rate: float = 2000.0, **rules) -> dict:
    """Source ``S`` (``n`` neurons driven to fire irregularly by a Poisson input of
    ``drive_rate`` spikes/s) projects onto four targets of ``n`` neurons, one per rule of
    ``RULE_TARGETS`` (override one with ``bernoulli={...}``). Measured at the defaults (1 s,
    seed 1): S fires 20.3 spikes/s, the targets 16-17; the spread of the targets' rates
    (std over neurons) is 2.0 spikes/s with a fixed in-degree and 8-10 with the other rules."""
    targets = {name: dict(RULE_TARGETS[name], **rules.get(name, {})) for name in RULE_TARGETS}
    pops = {"S": {"model": "iaf_psc_exp", "size": n, "params": {}}}
    pops.update({name: {"model": "iaf_psc_exp", "size": n, "params": {"I_e": 300.0}} for name in targets})
    projections = [{"source": "drive", "target": "S", "rule": {"rule": "all_to_all"},
                    "synapse": {"weight": 87.8, "delay": 1.0}}]
    projections += [{"source": "S", "target": name, "rule": rule, "synapse": {"weight": weight, "delay": 1.5}}
                    for name, rule in targets.items()]
    return {
        "format": "spikescope/1", "name": "connection-rules",
        "description": "One source population, four targets: the random connection rules side by side "
                       "(1,000 synapses expected each).",
        "dt": 0.1, "seed": 7,
        "populations": pops,
        "inputs": {"drive": {"model": "poisson_generator", "params": {"rate": float(drive_rate)}}},
        "projections": projections,
        "recorders": {"spikes": "all"},
    }
