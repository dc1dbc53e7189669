"""Brunel's (2000) phase diagram as a scan: the relative inhibition g against the external
drive eta = nu_ext / nu_thr, in spec paths.

In a Brunel network of ``iaf_psc_delta`` neurons (populations E and I, one Poisson input
into both) g is the ratio of the inhibitory to the excitatory weight: both inhibitory
projections carry -g J, so g is one scan axis over a path with an index list,
``projections[2,3].synapse.weight``. The input's rate pools C_E external synapses, each at
nu_ext; nu_thr = theta / (J C_E tau_m) is the rate that brings the free membrane potential
to threshold, so the generator's rate is eta * 1000 theta / (J tau_m) spikes/s:
``inputs.ext.params.rate``.

``brunel_network()`` is the network the app's phase diagram runs (``ScanView.setup_phase_diagram``):
the app's default model (2,000 + 500 neurons, in-degrees 200 / 50, delay 1.5 ms) with
J = 0.5 mV, so that J C_E = 100 mV as in Brunel's paper (0.1 mV x 1,000). Measured over
the default grid (t_sim 500 ms after 100 ms, seed 7; docs/user-guide.md, "Scans"): at g = 3
it fires synchronously and regularly at ~330 spikes/s (SR), from g = 5 on asynchronously
and irregularly (AI: CV ISI ~1). (The default model itself, J = 0.2 mV, shows no such AI
state: its CV ISI stays below 0.7.)
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import SpecError

BRUNEL_G = (3.0, 4.0, 5.0, 6.0)  # relative inhibition: SR below ~4, AI above
BRUNEL_ETA = (1.0, 2.0, 4.0)     # external drive / threshold drive
PHASE_T_SIM = 500.0              # ms analysed per point
PHASE_T_PRESIM = 100.0           # ms of warm-up, not analysed


@dataclass(frozen=True)
class Axis:
    """One scan axis: a spec ``path`` whose value is ``name``'s value times ``unit``."""
    path: str
    name: str
    unit: float

    def spec_value(self, x: float) -> float:
        return round(float(x) * self.unit, 9)

    def value(self, spec_value: float) -> float:
        return round(float(spec_value) / self.unit, 6)


def brunel_axes(spec) -> tuple[Axis, Axis]:
    """(g, eta) of a Brunel network (spec or plain data): populations E (excitatory, from
    which J is read) and I of ``iaf_psc_delta`` neurons, one ``poisson_generator`` input.
    Raises SpecError saying what is missing when the spec is not such a network."""
    from ..spec import from_dict
    s = from_dict(spec) if isinstance(spec, dict) else spec
    pops = s.populations
    if set(pops) != {"E", "I"} or any(p.model != "iaf_psc_delta" for p in pops.values()):
        raise SpecError("populations", "Brunel's phase diagram needs populations E and I of iaf_psc_delta neurons")
    inputs = [n for n, i in s.inputs.items() if i.model == "poisson_generator"]
    if len(inputs) != 1:
        raise SpecError("inputs", "Brunel's phase diagram needs one poisson_generator input")
    ee = [p for p in s.projections if p.source == "E" and p.target == "E"]
    inh = [k for k, p in enumerate(s.projections) if p.source == "I" and p.target in pops]
    if len(ee) != 1 or not isinstance(ee[0].synapse.weight, float) or ee[0].synapse.weight <= 0 or not inh:
        raise SpecError("projections", "Brunel's phase diagram needs one E->E projection of a fixed positive "
                                       "weight J and projections from I")
    J = ee[0].synapse.weight
    par = pops["E"].params
    theta = par.get("V_th", -55.0) - par.get("E_L", -70.0)  # NEST's defaults
    tau_m = par.get("tau_m", 10.0)
    g = Axis(f"projections[{','.join(map(str, inh))}].synapse.weight", "g", -J)
    eta = Axis(f"inputs.{inputs[0]}.params.rate", "eta", 1000.0 * theta / (J * tau_m))
    return g, eta


def brunel_params(spec, g=BRUNEL_G, eta=BRUNEL_ETA) -> dict[str, list]:
    """The scan's {spec path: values} of the phase diagram of ``spec`` over ``g`` x ``eta``
    (g first: the heatmap's x axis)."""
    ga, ea = brunel_axes(spec)
    return {ga.path: [ga.spec_value(x) for x in g], ea.path: [ea.spec_value(x) for x in eta]}


def brunel_network(J: float = 0.5, g: float = 5.0, eta: float = 2.0, seed: int = 7) -> dict:
    """The phase diagram's network as plain spec data (see the module's docstring)."""
    neuron = {"C_m": 1.0, "tau_m": 20.0, "t_ref": 2.0, "E_L": 0.0, "V_reset": 10.0, "V_th": 20.0}
    rate = eta * 1000.0 * (neuron["V_th"] - neuron["E_L"]) / (J * neuron["tau_m"])  # eta nu_thr C_E

    def pop(n):
        return {"model": "iaf_psc_delta", "size": n, "params": dict(neuron),
                "initial": {"V_m": {"dist": "uniform", "low": 0.0, "high": 20.0}}}

    def proj(source, target, rule, weight):
        return {"source": source, "target": target, "rule": rule, "synapse": {"weight": weight, "delay": 1.5}}

    return {
        "format": "spikescope/1", "name": "brunel-phase",
        "description": ("Brunel (2000) sparse balanced network for the phase diagram: 2,000 + 500 "
                        f"iaf_psc_delta neurons, in-degrees 200/50, J = {J:g} mV, g = {g:g}, eta = {eta:g}."),
        "dt": 0.1, "seed": int(seed),
        "populations": {"E": pop(2000), "I": pop(500)},
        "inputs": {"ext": {"model": "poisson_generator", "params": {"rate": rate}}},
        "projections": [
            proj("E", "E", {"rule": "fixed_indegree", "indegree": 200}, J),
            proj("E", "I", {"rule": "fixed_indegree", "indegree": 200}, J),
            proj("I", "E", {"rule": "fixed_indegree", "indegree": 50}, -g * J),
            proj("I", "I", {"rule": "fixed_indegree", "indegree": 50}, -g * J),
            proj("ext", "E", {"rule": "all_to_all"}, J),
            proj("ext", "I", {"rule": "all_to_all"}, J),
        ],
        "recorders": {"spikes": "all"},
    }
