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
        ModelDecl("iaf_cond_exp", "neuron",
                  "Leaky integrate-and-fire, exponential synaptic conductances (weights in nS: positive "
                  "excitatory, negative inhibitory), NEST's adaptive Runge-Kutta-Fehlberg 4(5).",
                  (ParamDecl("V_th", "mV", -55.0, "spike threshold"),
                   ParamDecl("V_reset", "mV", -60.0, "reset potential (must be below V_th)"),
                   ParamDecl("t_ref", "ms", 2.0, "absolute refractory period", ge=0.0),
                   ParamDecl("g_L", "nS", 16.6667, "leak conductance", ge=0.0),
                   ParamDecl("C_m", "pF", 250.0, "membrane capacitance", gt=0.0),
                   ParamDecl("E_ex", "mV", 0.0, "excitatory reversal potential"),
                   ParamDecl("E_in", "mV", -85.0, "inhibitory reversal potential"),
                   ParamDecl("E_L", "mV", -70.0, "leak reversal potential"),
                   ParamDecl("tau_syn_ex", "ms", 0.2, "excitatory synaptic time constant", gt=0.0),
                   ParamDecl("tau_syn_in", "ms", 2.0, "inhibitory synaptic time constant", gt=0.0),
                   ParamDecl("I_e", "pA", 0.0, "constant input current")), _V_M),
    )
}

NEURON_MODELS["parrot_neuron"] = ModelDecl(
    "parrot_neuron", "neuron",
    "Repeats its input: one spike in every step in which spikes arrive (NEST's parrot_neuron; weights "
    "must be positive and only signal arrival; several spikes in one step give one).", ())

# As in NEST, the depression time constant of STDP belongs to the postsynaptic neuron (its
# archiving node): every neuron model carries it, whether or not a plastic synapse uses it.
_TAU_MINUS = ParamDecl("tau_minus", "ms", 20.0,
                       "STDP depression time constant of synapses onto this neuron", gt=0.0)
NEURON_MODELS = {name: ModelDecl(m.name, m.kind, m.doc, m.params + (_TAU_MINUS,), m.state)
                 for name, m in NEURON_MODELS.items()}

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
        # the topographic map's input (Bamford et al. 2010; Knight & Senk et al.): no NEST model,
        # a NEST script would set poisson_generator rates every period
        ModelDecl("spot_poisson_generator", "device",
                  "Sends every target of a spatial population its own Poisson train at rate + peak_rate * "
                  "exp(-d^2 / 2 sigma^2), d the distance of the target from a spot whose centre is drawn "
                  "anew, uniformly on the sheet, every period (repeated in each of tiles x tiles blocks).",
                  (ParamDecl("rate", "spikes/s", 5.0, "rate far from the spot", ge=0.0),
                   ParamDecl("peak_rate", "spikes/s", 152.8, "added rate at the spot's centre", ge=0.0),
                   ParamDecl("sigma", "mm", 2.0, "width of the spot", gt=0.0),
                   ParamDecl("period", "ms", 20.0, "time between new centres", gt=0.0),
                   ParamDecl("tiles", "", 1.0, "spots per side of the sheet (the same spot in every block)",
                             ge=1.0)) + _WINDOW),
    )
}

SYNAPSE_MODELS: dict[str, ModelDecl] = {
    m.name: m
    for m in (
        ModelDecl("static_synapse", "synapse", "A fixed weight and delay.", ()),
        ModelDecl("stdp_synapse", "synapse",
                  "NEST's pair-based STDP (Guetig et al. 2003): all-to-all pairing, the whole delay "
                  "dendritic, weights in [0, Wmax]; tau_minus is the postsynaptic neuron's.",
                  (ParamDecl("tau_plus", "ms", 20.0, "potentiation time constant", gt=0.0),
                   ParamDecl("lambda", "", 0.01, "step size (learning rate)", ge=0.0),
                   ParamDecl("alpha", "", 1.0, "asymmetry: depression step / potentiation step", ge=0.0),
                   ParamDecl("mu_plus", "", 1.0, "weight dependence of potentiation (0 additive, 1 multiplicative)",
                             ge=0.0),
                   ParamDecl("mu_minus", "", 1.0, "weight dependence of depression (0 additive, 1 multiplicative)",
                             ge=0.0),
                   ParamDecl("Wmax", "pA (nS, mV: the weight's unit)", 100.0, "largest weight", gt=0.0))),
    )
}

ALL_MODELS = {**NEURON_MODELS, **DEVICE_MODELS}
INF = math.inf
