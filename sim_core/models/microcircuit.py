"""Potjans & Diesmann (2014) cortical microcircuit, as in NEST's ``Potjans_2014`` example.

Sources: NEST example ``pynest/examples/Potjans_2014`` (``network_params.py``,
``network.py``, ``helpers.py``; now maintained as ``INM-6/microcircuit-PD14-model``,
``PyNEST/src/microcircuit``); Potjans TC, Diesmann M (2014) Cereb Cortex 24:785-806.
Numbers and their provenance: ``shared/reference/MODELS.md`` §1.

Eight populations (L23E L23I L4E L4I L5E L5I L6E L6I) of ``iaf_psc_exp`` neurons,
77,169 neurons and ~3e8 synapses at full scale. Connections are ``fixed_total_number``
(autapses and multapses allowed) with normally distributed weights and delays.

Scaling (NEST's N_scaling = K_scaling = ``scale``): population sizes and external
in-degrees are multiplied by ``scale``, synapse numbers by ``scale**2`` (so in-degrees
shrink by ``scale``). For ``scale != 1`` the weights are divided by sqrt(scale), which
keeps the input variance, and a DC current restores the mean input that the sqrt
rescaling removes (see ``derived``); this follows NEST's helper
``adjust_weights_and_input_to_synapse_scaling``. The compensation uses the rates of
one full-scale run, so scaled networks only approximate the full one.

Units follow NEST: ms, mV, pA, pF, spikes/s.
"""
from __future__ import annotations

import math

from .options import merge_options

POPULATIONS = ("L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I")
N_FULL = (20683, 5834, 21915, 5479, 4850, 1065, 14395, 2948)
K_EXT = (1600, 1500, 2100, 1900, 2000, 1900, 2900, 2100)  # external in-degrees, full scale

#: Connection probabilities C[target][source], rows and columns in POPULATIONS order.
CONN_PROBS = (
    (0.1009, 0.1689, 0.0437, 0.0818, 0.0323, 0.0, 0.0076, 0.0),
    (0.1346, 0.1371, 0.0316, 0.0515, 0.0755, 0.0, 0.0042, 0.0),
    (0.0077, 0.0059, 0.0497, 0.135, 0.0067, 0.0003, 0.0453, 0.0),
    (0.0691, 0.0029, 0.0794, 0.1597, 0.0033, 0.0, 0.1057, 0.0),
    (0.1004, 0.0622, 0.0505, 0.0057, 0.0831, 0.3726, 0.0204, 0.0),
    (0.0548, 0.0269, 0.0257, 0.0022, 0.06, 0.3158, 0.0086, 0.0),
    (0.0156, 0.0066, 0.0211, 0.0166, 0.0572, 0.0197, 0.0396, 0.2252),
    (0.0364, 0.001, 0.0034, 0.0005, 0.0277, 0.008, 0.0658, 0.1443),
)

#: Mean rates (spikes/s) of one full-scale NEST run (NEST / INM-6 ``full_mean_rates``,
#: 2024-25); used only for the DC compensation of scaled networks.
FULL_MEAN_RATES = (0.903, 2.965, 4.414, 5.876, 7.569, 8.633, 1.105, 7.829)

#: Initial V_m (mV): "optimized" per-population normal (NEST's default ``V0_type``),
#: chosen to reduce the start-up transient; "original" is N(-58, 10) for all.
V0_OPTIMIZED_MEAN = (-68.28, -63.16, -63.33, -63.45, -63.11, -61.66, -66.72, -61.43)
V0_OPTIMIZED_STD = (5.36, 4.57, 4.74, 4.94, 4.94, 4.55, 5.46, 4.48)
V0_ORIGINAL = (-58.0, 10.0)

NEURON = {
    "C_m": 250.0,       # pF
    "tau_m": 10.0,      # ms
    "tau_syn_ex": 0.5,  # ms
    "tau_syn_in": 0.5,  # ms
    "t_ref": 2.0,       # ms
    "E_L": -65.0,       # mV
    "V_reset": -65.0,   # mV
    "V_th": -50.0,      # mV
}
TAU_SYN = 0.5  # ms, excitatory = inhibitory = external

PSP_EXC_MEAN = 0.15   # mV, mean excitatory PSP peak
WEIGHT_REL_STD = 0.1  # std of a weight / |mean|
DELAY_E, DELAY_I = 1.5, 0.75  # ms, mean delays of excitatory / inhibitory sources
DELAY_REL_STD = 0.5
DELAY_POISSON = 1.5   # ms
DT = 0.1              # ms

#: Keyword parameters ``build`` accepts, with their defaults.
DEFAULTS = {
    "bg_input": "poisson",  # 'poisson' (generators, NEST example) or 'dc' (I_e only)
    "V0_type": "optimized",  # 'optimized' or 'original' initial V_m
    "g": -4.0,               # inhibitory / excitatory PSP ratio
    "bg_rate": 8.0,          # spikes/s per external synapse
    "seed": 55,              # NEST example's rng_seed
}


def exp_psp_peak(C_m: float, tau_m: float, tau_syn: float) -> float:
    """Peak PSP (mV) caused by an exponential current of amplitude 1 pA.

    v(t) = (exp(-t/tau_m) - exp(-t/tau_syn)) / (C_m b) with b = 1/tau_syn - 1/tau_m;
    v'(t) = 0 at t_max = ln(tau_m / tau_syn) / b. Same result as NEST's
    ``postsynaptic_potential_to_current`` (which returns 1 / this).
    """
    b = 1.0 / tau_syn - 1.0 / tau_m
    t_max = math.log(tau_m / tau_syn) / b
    return (math.exp(-t_max / tau_m) - math.exp(-t_max / tau_syn)) / (C_m * b)


def synapse_numbers() -> list[list[float]]:
    """Full-scale synapse numbers N_syn[target][source] (not rounded).

    The number of draws with replacement that leaves a fraction C of the
    Npre * Npost pairs connected: N_syn = ln(1 - C) / ln(1 - 1 / (Npre Npost)).
    """
    out = []
    for t, n_post in enumerate(N_FULL):
        row = []
        for s, n_pre in enumerate(N_FULL):
            pairs = float(n_pre * n_post)
            # written as NEST writes it, ln((P - 1) / P), not log1p(-1/P): the two differ
            # by up to ~0.7 synapses, and this form gives NEST's counts after rounding
            row.append(math.log(1.0 - CONN_PROBS[t][s]) / math.log((pairs - 1.0) / pairs))
        out.append(row)
    return out


def derived(scale: float = 1.0, **overrides) -> dict:
    """Everything the example derives, as plain floats/ints, keyed by name.

    ``PSC_over_PSP`` (pA/mV, ~585.39), ``PSC_ext`` (pA, external weight before
    scaling, ~87.81), ``PSC_mean[t][s]`` (pA, recurrent mean weights before scaling;
    L4E->L23E doubled, inhibitory sources times g), ``N_syn_full[t][s]``,
    ``sizes``, ``N_syn[t][s]`` = round(N_syn_full scale^2), ``K_ext`` =
    round(K_ext scale), ``weight_factor`` = 1/sqrt(scale), and ``I_e`` (pA per
    population):

    - bg_input 'dc': the Poisson drive replaced by its mean,
      bg_rate K_ext_full PSC_ext tau_syn 0.001 (0.001: spikes/s -> spikes/ms);
    - scale != 1: plus 0.001 tau_syn (1 - sqrt(scale)) sum_s(PSC_mean[t][s]
      K_full[t][s] full_mean_rate[s]), with K_full = N_syn_full / N_full[t], and
      with Poisson input also 0.001 tau_syn (1 - sqrt(scale)) PSC_ext K_ext_full bg_rate.
      (Weights divided by sqrt(scale) on scale K inputs give sqrt(scale) of the
      full mean input; the DC term adds the missing (1 - sqrt(scale)).)
    """
    p = _merge(overrides)
    scale = _check_scale(scale)
    psc_over_psp = 1.0 / exp_psp_peak(NEURON["C_m"], NEURON["tau_m"], TAU_SYN)
    psc_ext = PSP_EXC_MEAN * psc_over_psp
    psc_mean = [[psc_ext * (p["g"] if POPULATIONS[s].endswith("I") else 1.0)
                 for s in range(8)] for _ in range(8)]
    psc_mean[0][2] *= 2.0  # L4E -> L23E: twice the mean PSP (external weight is not doubled)
    n_syn_full = synapse_numbers()

    i_e = [0.0] * 8
    if p["bg_input"] == "dc":
        i_e = [p["bg_rate"] * K_EXT[t] * psc_ext * TAU_SYN * 0.001 for t in range(8)]
    if scale != 1.0:
        lost = 1.0 - math.sqrt(scale)
        for t in range(8):
            input_rec = sum(psc_mean[t][s] * n_syn_full[t][s] / N_FULL[t] * FULL_MEAN_RATES[s]
                            for s in range(8))
            i_e[t] += 0.001 * TAU_SYN * lost * input_rec
            if p["bg_input"] == "poisson":
                i_e[t] += 0.001 * TAU_SYN * lost * psc_ext * K_EXT[t] * p["bg_rate"]

    return {
        "PSC_over_PSP": psc_over_psp,
        "PSC_ext": psc_ext,
        "PSC_mean": psc_mean,
        "N_syn_full": n_syn_full,
        "sizes": [int(round(n * scale)) for n in N_FULL],
        "N_syn": [[int(round(n * scale * scale)) for n in row] for row in n_syn_full],
        "K_ext": [int(round(k * scale)) for k in K_EXT],
        "weight_factor": 1.0 / math.sqrt(scale),
        "I_e": i_e,
    }


def poisson_background(inputs: dict, bg_rate: float, k_ext, weight: float) -> list[dict]:
    """One Poisson generator per population (``bg_<name>`` added to ``inputs``) and its
    projection: the generator stands for K_ext independent sources (rate summed, each target
    gets its own train: NEST semantics). Returns the projections."""
    out = []
    for t, tgt in enumerate(POPULATIONS):
        inputs[f"bg_{tgt}"] = {"model": "poisson_generator", "params": {"rate": float(bg_rate * k_ext[t])}}
        out.append({
            "source": f"bg_{tgt}", "target": tgt,
            "rule": {"rule": "all_to_all", "allow_autapses": True, "allow_multapses": True},
            "synapse": {"model": "static_synapse", "weight": weight, "delay": DELAY_POISSON},
        })
    return out


def build(scale: float = 1.0, **overrides) -> dict:
    """Spec dict (format ``spikescope/1``) of the Potjans & Diesmann (2014) microcircuit.

    ``scale`` in (0, 1] is NEST's N_scaling = K_scaling (0.1 is the NEST example's
    default; 1 is the full 77,169-neuron model).

    Keyword overrides: ``bg_input`` ('poisson': one ``poisson_generator`` per
    population, named ``bg_<pop>``, at bg_rate * K_ext spikes/s, all_to_all with
    weight PSC_ext, delay 1.5 ms; 'dc': no generators, the mean drive goes into I_e),
    ``V0_type`` ('optimized' | 'original'), ``g`` (default -4), ``bg_rate``
    (spikes/s, default 8), ``seed`` (default 55).
    """
    p = _merge(overrides)
    scale = _check_scale(scale)
    d = derived(scale, **overrides)
    wf = d["weight_factor"]

    populations = {}
    for i, name in enumerate(POPULATIONS):
        if p["V0_type"] == "optimized":
            v0 = {"dist": "normal", "mean": V0_OPTIMIZED_MEAN[i], "std": V0_OPTIMIZED_STD[i]}
        else:
            v0 = {"dist": "normal", "mean": V0_ORIGINAL[0], "std": V0_ORIGINAL[1]}
        populations[name] = {"model": "iaf_psc_exp", "size": d["sizes"][i],
                             "params": {**NEURON, "I_e": float(d["I_e"][i])},
                             "initial": {"V_m": v0}}

    projections = []
    for t, tgt in enumerate(POPULATIONS):
        for s, src in enumerate(POPULATIONS):
            n = d["N_syn"][t][s]
            if n == 0:  # zero probability (or rounded away): NEST's Connect with N = 0 adds nothing
                continue
            mean = d["PSC_mean"][t][s] * wf
            weight = {"dist": "normal", "mean": mean, "std": WEIGHT_REL_STD * abs(mean)}
            # redraw until the sign matches the source type (Dale's law)
            weight.update({"low": 0.0} if mean >= 0 else {"high": 0.0})
            d_mean = DELAY_I if src.endswith("I") else DELAY_E
            # NEST redraws below 0.5 dt: after rounding to the grid the minimum delay is dt
            delay = {"dist": "normal", "mean": d_mean, "std": d_mean * DELAY_REL_STD, "low": 0.5 * DT}
            projections.append({
                "source": src, "target": tgt,
                "rule": {"rule": "fixed_total_number", "N": n,
                         "allow_autapses": True, "allow_multapses": True},
                "synapse": {"model": "static_synapse", "weight": weight, "delay": delay},
            })

    inputs = {}
    if p["bg_input"] == "poisson":
        projections += poisson_background(inputs, p["bg_rate"], d["K_ext"], d["PSC_ext"] * wf)

    n_total = sum(d["sizes"])
    return {
        "format": "spikescope/1",
        "name": "microcircuit",
        "description": (
            f"Potjans & Diesmann (2014) cortical microcircuit as in NEST's Potjans_2014 "
            f"example (scale {scale:g}: {n_total} iaf_psc_exp neurons, "
            f"{sum(map(sum, d['N_syn']))} synapses, {p['bg_input']} background)."),
        "dt": DT,
        "seed": int(p["seed"]),
        "populations": populations,
        "inputs": inputs,
        "projections": projections,
        "recorders": {"spikes": "all"},
    }


def _check_scale(scale) -> float:
    scale = float(scale)
    if not 0.0 < scale <= 1.0:
        raise ValueError(f"microcircuit: scale must be in (0, 1]; got {scale}")
    if round(min(N_FULL) * scale) < 1:
        raise ValueError(f"microcircuit: scale {scale} leaves L5I without neurons; "
                         f"use scale >= {1.0 / min(N_FULL):.2g}")
    return scale


def _merge(overrides: dict) -> dict:
    p = merge_options("microcircuit", DEFAULTS, overrides)
    if p["bg_input"] not in ("poisson", "dc"):
        raise ValueError(f"microcircuit: bg_input must be 'poisson' or 'dc'; got {p['bg_input']!r}")
    if p["V0_type"] not in ("optimized", "original"):
        raise ValueError(f"microcircuit: V0_type must be 'optimized' or 'original'; "
                         f"got {p['V0_type']!r}")
    p["g"] = float(p["g"])
    p["bg_rate"] = float(p["bg_rate"])
    return p
