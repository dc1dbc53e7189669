"""Per-neuron parameters (drawn where they are distributions), propagators and the
initial state, in the layout of ``layout.py``."""
from __future__ import annotations

import math

import numpy as np

from ..connectivity.values import draw_array
from ..spec.declarations import NEURON_MODELS
from ..spec.model import NetworkSpec
from . import layout as L
from . import propagators as prop
from ..random import streams


def population_params(spec: NetworkSpec, name: str, pop_index: int, seed: int) -> dict[str, np.ndarray]:
    """Every declared parameter of the population as an array over its neurons."""
    pop = spec.populations[name]
    decl = NEURON_MODELS[pop.model]
    out = {}
    for j, p in enumerate(decl.params):
        value = pop.params.get(p.name, p.default)
        if value is None:
            value = -math.inf if p.name == "V_min" else 0.0
        if isinstance(value, bool):
            value = float(value)
        out[p.name] = draw_array(value, pop.size, seed, streams.stream(streams.PARAM, pop_index * 64 + j),
                                 f"populations.{name}.params.{p.name}")
    return out


def fill_population(P: np.ndarray, model: str, prm: dict[str, np.ndarray], h: float) -> np.ndarray:
    """Write propagators into rows of P (one row per neuron); returns refractory counts.
    Propagators are computed per distinct parameter set with Python's libm, as NEST does."""
    n = P.shape[0]
    if model == "iaf_cond_exp":
        return _fill_cond_exp(P, prm, h)
    if model == "parrot_neuron":  # no parameters, no refractoriness
        P[:] = 0.0
        return np.zeros(n, np.int32)
    tau_ex = prm.get("tau_syn_ex", np.ones(n))
    tau_in = prm.get("tau_syn_in", np.ones(n))
    keys = np.column_stack([prm["tau_m"], prm["C_m"], tau_ex, tau_in])
    uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
    rows = np.empty((len(uniq), L.N_COLS))
    for u, (tau_m, c_m, t_ex, t_in) in enumerate(uniq):
        r = rows[u]
        r[:] = 0.0
        p22, p20, expm1 = prop.leak(tau_m, c_m, h, model)
        r[L.P22], r[L.P20], r[L.EXPM1], r[L.TAU_M] = p22, p20, expm1, tau_m
        if model == "iaf_psc_exp":
            r[L.P11EX], r[L.P11IN] = math.exp(-h / t_ex), math.exp(-h / t_in)
            r[L.P21EX] = prop.psc_exp(t_ex, tau_m, c_m, h)
            r[L.P21IN] = prop.psc_exp(t_in, tau_m, c_m, h)
        elif model == "iaf_psc_alpha":
            r[L.P11EX], r[L.P11IN] = math.exp(-h / t_ex), math.exp(-h / t_in)
            r[L.P21EXA], r[L.P21INA] = h * r[L.P11EX], h * r[L.P11IN]
            r[L.P31EX], r[L.P32EX] = prop.psc_alpha(t_ex, tau_m, c_m, h)
            r[L.P31IN], r[L.P32IN] = prop.psc_alpha(t_in, tau_m, c_m, h)
            r[L.INIT_EX], r[L.INIT_IN] = math.e / t_ex, math.e / t_in
    P[:] = rows[inverse.ravel()]
    e_l = prm["E_L"]
    P[:, L.EL] = e_l
    P[:, L.THETA] = prm["V_th"] - e_l
    P[:, L.VRESET] = prm["V_reset"] - e_l
    P[:, L.IE] = prm["I_e"]
    P[:, L.VMIN] = (prm["V_min"] - e_l) if "V_min" in prm else -np.inf
    P[:, L.REFR_INPUT] = prm.get("refractory_input", np.zeros(n))
    return np.floor(prm["t_ref"] / h + 0.5).astype(np.int32)  # = prop.refractory_steps, vectorised


def _fill_cond_exp(P: np.ndarray, prm: dict[str, np.ndarray], h: float) -> np.ndarray:
    """iaf_cond_exp's parameters as its step (backends/rkf45.py) reads them; V is absolute
    (the EL column holds 0). The ODE runs over NEST's step length, tics * ms per tic
    (Time::get_ms), which for some dt (0.7 ms) is not the nearest double to dt."""
    P[:] = 0.0
    for col, name in ((L.CE_GL, "g_L"), (L.CE_CM, "C_m"), (L.CE_EEX, "E_ex"), (L.CE_EIN, "E_in"),
                      (L.CE_TAU_EX, "tau_syn_ex"), (L.CE_TAU_IN, "tau_syn_in"), (L.CE_EL, "E_L"),
                      (L.THETA, "V_th"), (L.VRESET, "V_reset"), (L.IE, "I_e")):
        P[:, col] = prm[name]
    P[:, L.CE_STEP] = (1 / 1000.0) * round(h * 1000.0)  # NEST's MS_PER_TIC * tics, 1,000 tics per ms
    P[:, L.VMIN] = -np.inf
    with np.errstate(divide="ignore"):
        P[:, L.TAU_M] = prm["C_m"] / prm["g_L"]  # the membrane time constant (inf without leak)
    return np.floor(prm["t_ref"] / h + 0.5).astype(np.int32)


def initial_v(spec: NetworkSpec, name: str, pop_index: int, seed: int, e_l: np.ndarray) -> np.ndarray:
    """Initial membrane potential relative to ``e_l`` (the parameters' EL column: E_L, or 0
    for iaf_cond_exp, whose V is absolute). As in NEST, an unset V_m is the model's
    default (-70 mV) whatever E_L is: setting E_L does not move V_m."""
    pop = spec.populations[name]
    if not NEURON_MODELS[pop.model].state:  # parrot_neuron: no membrane
        return np.zeros(pop.size)
    v = pop.initial.get("V_m", NEURON_MODELS[pop.model].state[0].default)
    return draw_array(v, pop.size, seed, streams.stream(streams.INITIAL, pop_index),
                      f"populations.{name}.initial.V_m") - e_l
