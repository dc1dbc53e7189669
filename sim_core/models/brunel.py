"""Brunel (2000) sparse balanced E/I network, as in NEST's ``brunel_alpha_nest.py``.

Source: NEST example ``pynest/examples/brunel_alpha_nest.py`` (nest-simulator 3.x);
Brunel N (2000) J Comput Neurosci 8:183-208. Parameters are tabulated, with their
sources, in ``shared/reference/MODELS.md`` §2.

Network: ``iaf_psc_alpha`` neurons, N_E = 10000 and N_I = 2500 at scale 1, random
``fixed_indegree`` connectivity with C_E = 1000 and C_I = 250 (multapses and autapses
allowed, NEST's defaults), one delay of 1.5 ms for every synapse, and one
``poisson_generator`` that drives every neuron with its own Poisson train through the
excitatory synapse. With g = 5 and eta = 2 the network is in Brunel's asynchronous
irregular (AI) state (his Fig. 8C).

Units follow NEST: ms, mV, pA, pF, spikes/s.
"""
from __future__ import annotations

import math


from .options import merge_options

#: Keyword parameters ``build`` accepts, with their defaults (NEST example values).
DEFAULTS = {
    "g": 5.0,        # ratio inhibitory / excitatory weight (J_in = -g * J_ex)
    "eta": 2.0,      # external rate relative to the threshold rate nu_th
    "J": 0.1,        # peak PSP of one excitatory synapse, mV
    "delay": 1.5,    # synaptic delay of every connection, ms
    "seed": 143202461,  # NEST's default rng_seed: the example sets none
}

N_E_FULL = 10000
N_I_FULL = 2500
C_E = 1000  # = epsilon * N_E with epsilon = 0.1 at full scale
C_I = 250   # = epsilon * N_I
MIN_SCALE = 0.1  # below this N_I < C_I: the in-degree could not be drawn without repeats

NEURON = {
    "C_m": 250.0,      # pF
    "tau_m": 20.0,     # ms
    "tau_syn_ex": 0.5,  # ms
    "tau_syn_in": 0.5,  # ms
    "t_ref": 2.0,      # ms
    "E_L": 0.0,        # mV; NEST shifts Brunel's model so that rest is 0
    "V_reset": 0.0,    # mV; NEST uses 0 (Brunel's paper uses 10 mV)
    "V_th": 20.0,      # mV
}


def alpha_psp_peak(C_m: float, tau_m: float, tau_syn: float) -> float:
    """Peak PSP (mV) caused by an alpha current of peak 1 pA (NEST's ``iaf_psc_alpha``).

    The current is i(t) = (e / tau_syn) t exp(-t / tau_syn), so the potential is
    v(t) = e / (tau_syn C_m b^2) [exp(-t/tau_m) - exp(-t/tau_syn) (1 + b t)] with
    b = 1/tau_syn - 1/tau_m. Setting v'(t) = 0 gives a x + 1 = exp(x) for x = b t and
    a = tau_m / tau_syn; its non-zero root is x = -W_{-1}(-exp(-1/a) / a) - 1/a
    (lower branch of Lambert's W; the principal branch gives the trivial root x = 0).
    """
    a = tau_m / tau_syn
    b = 1.0 / tau_syn - 1.0 / tau_m
    from scipy.special import lambertw  # here: the GPU check's machine has no SciPy
    x = -float(lambertw(-math.exp(-1.0 / a) / a, k=-1).real) - 1.0 / a
    t_max = x / b
    return (math.e / (tau_syn * C_m * b * b)
            * (math.exp(-t_max / tau_m) - math.exp(-t_max / tau_syn) * (1.0 + b * t_max)))


def derived(g: float = DEFAULTS["g"], eta: float = DEFAULTS["eta"], J: float = DEFAULTS["J"]) -> dict:
    """The numbers the example derives from its parameters.

    Returns ``J_ex`` and ``J_in`` (pA; weights that give a ``J`` mV / ``-g J`` mV PSP
    peak), ``nu_th`` (spikes/ms per synapse: the external rate that brings the mean
    free membrane potential to threshold, theta C_m / (J_ex C_E e tau_m tau_syn)) and
    ``p_rate`` (spikes/s of the one generator = 1000 eta nu_th C_E; ~17,789 at the
    defaults).
    """
    J_ex = J / alpha_psp_peak(NEURON["C_m"], NEURON["tau_m"], NEURON["tau_syn_ex"])
    theta = NEURON["V_th"] - NEURON["E_L"]
    # the integral of one alpha PSC of peak J_ex is J_ex e tau_syn (pA ms); C_E inputs at
    # rate nu give a mean current nu C_E J_ex e tau_syn, which holds V at theta when
    # it equals theta C_m / tau_m
    nu_th = theta * NEURON["C_m"] / (J_ex * C_E * math.e * NEURON["tau_m"] * NEURON["tau_syn_ex"])
    p_rate = 1000.0 * eta * nu_th * C_E  # ms^-1 -> s^-1, and C_E independent sources pooled
    return {"J_ex": J_ex, "J_in": -g * J_ex, "nu_th": nu_th, "p_rate": p_rate}


def build(scale: float = 1.0, **overrides) -> dict:
    """Spec dict (format ``spikescope/1``) of NEST's ``brunel_alpha_nest.py``.

    ``scale`` multiplies N_E and N_I (rounded); the in-degrees C_E = 1000 and
    C_I = 250 stay fixed, so a scaled network keeps the same input statistics per
    neuron (it only gets denser). ``scale`` must be >= 0.1.

    Keyword overrides (defaults from the example): ``g`` (inhibition ratio),
    ``eta`` (external drive / threshold rate), ``J`` (excitatory PSP peak, mV),
    ``delay`` (ms), ``seed``.
    """
    p = _merge(overrides)
    scale = float(scale)
    if not scale >= MIN_SCALE:
        raise ValueError(f"brunel: scale must be >= {MIN_SCALE} (N_I must be at least "
                         f"the in-degree C_I = {C_I}); got {scale}")
    n_e = int(round(N_E_FULL * scale))
    n_i = int(round(N_I_FULL * scale))
    d = derived(p["g"], p["eta"], p["J"])
    delay = float(p["delay"])

    def pop(size: int) -> dict:
        return {"model": "iaf_psc_alpha", "size": size, "params": dict(NEURON),
                "initial": {"V_m": 0.0}}

    def proj(src: str, tgt: str, rule: dict, weight: float) -> dict:
        return {"source": src, "target": tgt, "rule": rule,
                "synapse": {"model": "static_synapse", "weight": weight, "delay": delay}}

    def indegree(k: int) -> dict:
        # NEST defaults, kept explicit so the exported file says what it means
        return {"rule": "fixed_indegree", "indegree": k,
                "allow_autapses": True, "allow_multapses": True}

    all_to_all = {"rule": "all_to_all", "allow_autapses": True, "allow_multapses": True}
    return {
        "format": "spikescope/1",
        "name": "brunel",
        "description": (
            f"Brunel (2000) balanced E/I network as in NEST's brunel_alpha_nest.py "
            f"(scale {scale:g}: {n_e} E + {n_i} I iaf_psc_alpha neurons, in-degrees "
            f"{C_E}/{C_I}, g = {p['g']:g}, eta = {p['eta']:g}, J = {p['J']:g} mV PSP "
            f"-> {d['J_ex']:.2f} pA)."),
        "dt": 0.1,
        "seed": int(p["seed"]),
        "populations": {"E": pop(n_e), "I": pop(n_i)},
        "inputs": {"ext": {"model": "poisson_generator", "params": {"rate": d["p_rate"]}}},
        "projections": [
            proj("E", "E", indegree(C_E), d["J_ex"]),
            proj("E", "I", indegree(C_E), d["J_ex"]),
            proj("I", "E", indegree(C_I), d["J_in"]),
            proj("I", "I", indegree(C_I), d["J_in"]),
            # one generator, but NEST's poisson_generator sends each target its own train
            proj("ext", "E", dict(all_to_all), d["J_ex"]),
            proj("ext", "I", dict(all_to_all), d["J_ex"]),
        ],
        "recorders": {"spikes": "all"},
    }


def _merge(overrides: dict) -> dict:
    return merge_options("brunel", DEFAULTS, overrides)
