"""NEST's ``stdp_synapse`` (Guetig et al. 2003) as Numba functions, written once for the
backends (plain scalars and arrays: numba-cuda can compile them as device functions).

NEST 3.10 (models/stdp_synapse.h, nestkernel/archiving_node.cpp), operation for operation,
so that weights come out bit for bit:

- a presynaptic spike at t (its stamp, ms) meets the synapse at once, a postsynaptic spike
  at t_post meets it at t_post + d: the whole delay d is dendritic;
- on a presynaptic spike, every postsynaptic spike with t_post in (t_last - d, t - d]
  facilitates: w <- facilitate(w, K+ exp((t_last - (t_post + d)) / tau_plus)), in order;
  then the postsynaptic trace at t - d (strictly after its spikes at that time) depresses:
  w <- depress(w, K- exp((t_k - (t - d)) / tau_minus)); the spike is delivered with the
  new w; then K+ <- K+ exp((t_last - t) / tau_plus) + 1 and t_last <- t (K+ = 0 and
  t_last = 0 at the start);
- the postsynaptic neuron keeps its spike history with K- after each spike:
  K- <- K- exp((t_last_post - t) * (1 / tau_minus)) + 1 (a product with the inverse, as
  NEST writes it), starting from K- = 0, t_last_post = -1 ms;
- times are NEST's: a stamp of s steps is (s * tics per step) * (ms per tic), a delay of
  n steps n * (ms per step), with NEST's tic of 1 µs; comparisons allow NEST's 1e-6 ms.

The history of a neuron is a ring of the last ``H`` spikes (NEST prunes what every synapse
has read; a ring is bounded). A presynaptic neuron silent while its target fired more than
H times would need spikes the ring has dropped: such a read is counted (``PL_COUNTERS``,
``history_overflows`` in run summaries) and uses what is left; the tests keep it at 0.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

# Plastic.tconst: NEST's time arithmetic
TC_MS_PER_TIC, TC_TICS_PER_STEP, TC_MS_PER_STEP, TC_EPS = range(4)
# Plastic.pp_par columns
PAR_TAU_PLUS, PAR_LAMBDA, PAR_ALPHA, PAR_MU_PLUS, PAR_MU_MINUS, PAR_WMAX = range(6)
# Plastic.counters
CT_OVERFLOW, CT_FORMED, CT_ELIMINATED, CT_FAILED = range(4)


@njit(cache=True, inline="always")
def stamp_ms(step, tc):
    """NEST's time in ms of a spike stamped ``step`` steps: tics first, then ms."""
    return tc[TC_MS_PER_TIC] * np.float64(np.int64(step) * np.int64(tc[TC_TICS_PER_STEP]))


@njit(cache=True, inline="always")
def facilitate(w, kplus, par):
    wmax = par[PAR_WMAX]
    norm_w = (w / wmax) + (par[PAR_LAMBDA] * math.pow(1.0 - (w / wmax), par[PAR_MU_PLUS]) * kplus)
    return norm_w * wmax if norm_w < 1.0 else wmax


@njit(cache=True, inline="always")
def depress(w, kminus, par):
    wmax = par[PAR_WMAX]
    norm_w = (w / wmax) - (par[PAR_ALPHA] * par[PAR_LAMBDA] * math.pow(w / wmax, par[PAR_MU_MINUS]) * kminus)
    return norm_w * wmax if norm_w > 0.0 else 0.0


@njit(cache=True, inline="always")
def record_post_spike(r, t, hist_t, hist_k, hist_n, kminus, last_spike, tau_minus_inv):
    """History row r (a neuron with plastic input) spiked at t (ms)."""
    kminus[r] = kminus[r] * math.exp((last_spike[r] - t) * tau_minus_inv[r]) + 1.0
    last_spike[r] = t
    H = hist_t.shape[1]
    pos = hist_n[r] % H
    hist_t[r, pos] = t
    hist_k[r, pos] = kminus[r]
    hist_n[r] += 1


@njit(cache=True, inline="always")
def stdp_update(w, t_spike, t_last, kplus, dd, par, r, hist_t, hist_k, hist_n, tau_minus_inv, eps, counters):
    """The weight after a presynaptic spike at ``t_spike`` (see the module's docstring);
    ``dd`` the delay in ms, ``r`` the target's history row."""
    H = hist_t.shape[1]
    n = hist_n[r]
    first = n - H if n > H else 0  # the oldest spike still held
    t1_lim = (t_last - dd) + eps
    t2 = t_spike - dd
    t2_lim = t2 + eps
    if n > H and hist_t[r, first % H] >= t1_lim:
        counters[CT_OVERFLOW] += 1  # spikes of the window were dropped from the ring
    for m in range(first, n):  # facilitation: post spikes in (t_last - d, t - d], in order
        tp = hist_t[r, m % H]
        if tp >= t2_lim:
            break
        if tp >= t1_lim:
            minus_dt = t_last - (tp + dd)
            w = facilitate(w, kplus * math.exp(minus_dt / par[PAR_TAU_PLUS]), par)
    k = 0.0  # depression: the trace at t - d, after the last spike strictly before it
    for m in range(n - 1, first - 1, -1):
        tp = hist_t[r, m % H]
        if t2 - tp > eps:
            k = hist_k[r, m % H] * math.exp((tp - t2) * tau_minus_inv[r])
            break
    return depress(w, k, par)


@njit(cache=True, inline="always")
def kplus_after(kplus, t_last, t_spike, par):
    return kplus * math.exp((t_last - t_spike) / par[PAR_TAU_PLUS]) + 1.0
