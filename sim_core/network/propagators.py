"""Exact-integration propagators of the LIF models, written as NEST 3.10 computes them
(``IAFPropagator`` in libnestutil and the models' ``pre_run_hook``), operation for
operation, so that deterministic networks match NEST bit for bit."""
from __future__ import annotations

import math

STABILITY_FACTOR = 1e-7  # NEST's IAFPropagator::NUMERICAL_STABILITY_FACTOR_


def _p32(tau_syn, tau_m, c_m, h):
    """P32 (current -> voltage) and helpers; the singular branch for tau_syn == tau_m."""
    beta = tau_syn * tau_m / (tau_m - tau_syn) if tau_m != tau_syn else math.inf
    gamma = beta / c_m
    inv_beta = (tau_m - tau_syn) / (tau_syn * tau_m)
    exp_h_tau_syn = math.exp(-h * (1 / tau_syn))
    expm1_h_tau = math.expm1(h * inv_beta)
    p32 = gamma * exp_h_tau_syn * expm1_h_tau
    if math.isfinite(p32) and p32 > 0 and p32 >= 2.2250738585072014e-308:
        return p32, beta, gamma, exp_h_tau_syn, expm1_h_tau, math.nan
    exp_h_tau = math.exp(-h * (1 / tau_m))
    return h * (1 / c_m) * exp_h_tau, beta, gamma, exp_h_tau_syn, expm1_h_tau, exp_h_tau


def psc_exp(tau_syn, tau_m, c_m, h) -> float:
    return _p32(tau_syn, tau_m, c_m, h)[0]


def psc_alpha(tau_syn, tau_m, c_m, h) -> tuple[float, float]:
    """(P31, P32) of the alpha-current propagator."""
    p32, beta, gamma, exp_h_tau_syn, expm1_h_tau, exp_h_tau = _p32(tau_syn, tau_m, c_m, h)
    h_min_regular = STABILITY_FACTOR * tau_m * tau_m / abs(tau_m - tau_syn) if tau_m != tau_syn else math.inf
    if h > h_min_regular:
        return gamma * exp_h_tau_syn * (beta * expm1_h_tau - h), p32
    if math.isnan(exp_h_tau):
        exp_h_tau = math.exp(-h * (1 / tau_m))
    return 0.5 * h * h * (1 / c_m) * exp_h_tau, p32


def leak(tau_m, c_m, h, model: str) -> tuple[float, float, float]:
    """(P22 = exp(-h/tau_m), P20 = current -> voltage, expm1(-h/tau_m)). Each model writes
    P20 its own way in NEST; these forms were checked against NEST 3.10 voltage traces
    (exact for iaf_psc_exp and iaf_psc_delta, within 1 ulp for iaf_psc_alpha)."""
    expm1 = math.expm1(-h / tau_m)
    p22 = math.exp(-h / tau_m)
    if model == "iaf_psc_exp":
        return p22, tau_m / c_m * (1.0 - p22), expm1
    if model == "iaf_psc_delta":
        return p22, 1 / c_m * (1 - p22) * tau_m, expm1
    return p22, -tau_m / c_m * expm1, expm1


def refractory_steps(t_ref, h) -> int:
    # NEST: Time(Time::ms(t_ref)).get_steps(), i.e. rounded to the grid
    return int(math.floor(t_ref / h + 0.5))
