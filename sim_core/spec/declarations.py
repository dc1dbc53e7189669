"""Declarations of the neuron and device models: parameters with NEST names, units
and defaults, and the state variables a spec may initialise.

This table is the single source for the JSON Schema, the validation of ``params``,
the forms of the GUI and the engine's defaults (PyNN's ``default_parameters`` idea).
Defaults are NEST 3.10's (``nest.GetDefaults(model)``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class ParamDecl:
    name: str
    unit: str
    default: float | None
    doc: str
    gt: float | None = None  # strict lower bound
    ge: float | None = None  # inclusive lower bound
    kind: str = "number"  # number | bool | times (list of ms)


@dataclass(frozen=True)
class ModelDecl:
    name: str
    kind: str  # "neuron" | "device"
    doc: str
    params: tuple[ParamDecl, ...]
    state: tuple[ParamDecl, ...] = ()

    def param(self, name: str) -> ParamDecl:
        return {p.name: p for p in self.params}[name]

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    @property
    def state_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.state)

    def defaults(self) -> dict[str, float]:
        return {p.name: p.default for p in self.params if p.default is not None}


_MEMBRANE = (
    ParamDecl("C_m", "pF", 250.0, "membrane capacitance", gt=0.0),
    ParamDecl("tau_m", "ms", 10.0, "membrane time constant", gt=0.0),
    ParamDecl("t_ref", "ms", 2.0, "absolute refractory period", ge=0.0),
    ParamDecl("E_L", "mV", -70.0, "resting potential"),
    ParamDecl("V_reset", "mV", -70.0, "reset potential (must be below V_th)"),
    ParamDecl("V_th", "mV", -55.0, "spike threshold"),
    ParamDecl("I_e", "pA", 0.0, "constant input current"),
)
_SYN_TAUS = (
    ParamDecl("tau_syn_ex", "ms", 2.0, "excitatory synaptic time constant", gt=0.0),
    ParamDecl("tau_syn_in", "ms", 2.0, "inhibitory synaptic time constant", gt=0.0),
)
_V_MIN = ParamDecl("V_min", "mV", None, "lower bound of the membrane potential (unbounded when absent)")
_V_M = (ParamDecl("V_m", "mV", -70.0, "initial membrane potential; as in NEST it does not follow E_L"),)

NEURON_MODELS: dict[str, ModelDecl] = {
    m.name: m
    for m in (
        ModelDecl("iaf_psc_exp", "neuron",
                  "Leaky integrate-and-fire, exponential post-synaptic currents, exact integration.",
                  _MEMBRANE + _SYN_TAUS, _V_M),
        ModelDecl("iaf_psc_alpha", "neuron",
                  "Leaky integrate-and-fire, alpha-shaped post-synaptic currents, exact integration.",
                  _MEMBRANE + _SYN_TAUS + (_V_MIN,), _V_M),
        ModelDecl("iaf_psc_delta", "neuron",
                  "Leaky integrate-and-fire, delta synapses (weights are voltage jumps in mV).",
                  _MEMBRANE + (_V_MIN, ParamDecl(
                      "refractory_input", "", 0.0,
                      "if true, spikes arriving while refractory are added, discounted, after it",
                      kind="bool")), _V_M),
    )
}

_WINDOW = (
    ParamDecl("start", "ms", 0.0, "activation time (active in (start, stop])", ge=0.0),
    ParamDecl("stop", "ms", None, "deactivation time (never when absent)", ge=0.0),
)

DEVICE_MODELS: dict[str, ModelDecl] = {
    m.name: m
    for m in (
        ModelDecl("poisson_generator", "device",
                  "Sends every target its own independent Poisson spike train.",
                  (ParamDecl("rate", "spikes/s", 0.0, "mean rate", ge=0.0),) + _WINDOW),
        ModelDecl("dc_generator", "device",
                  "Adds amplitude * weight to the input current of each target while active.",
                  (ParamDecl("amplitude", "pA", 0.0, "current amplitude"),) + _WINDOW),
        ModelDecl("spike_generator", "device",
                  "Sends the same given spikes to all its targets.",
                  (ParamDecl("spike_times", "ms", None, "spike times, ascending, on the dt grid",
                             kind="times"),) + _WINDOW),
    )
}

ALL_MODELS = {**NEURON_MODELS, **DEVICE_MODELS}
INF = math.inf
