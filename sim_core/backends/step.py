"""The time step, written once: Numba functions that the CPU kernel calls compiled by
``njit`` and the GPU kernels call compiled by numba-cuda (which compiles a ``@njit``
function's source as a CUDA device function), so both backends run the same arithmetic.

Synaptic input is summed in int64 fixed point (scale 2**FIX_BITS, round to nearest): an
integer sum does not depend on the order of its terms, so the GPU's atomics, whatever the
thread order, give the CPU's sums bit for bit. With 32 bits every weight is off by at
most 2**-33 (pA, mV or nS) and a slot converts back exactly while |sum| < 2**21 (two million
pA). Everything else is per neuron, in NEST's order, in float64, on both devices.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..network.layout import (CE_CM, CE_EEX, CE_EIN, CE_EL, CE_GL, CE_STEP, CE_TAU_EX, CE_TAU_IN, COND_EXP, EL,
                              PARROT, EXPM1, G_EX, G_IN, H_INT, I0, I_EX, I_IN, IE, DI_EX, DI_IN, INIT_EX, INIT_IN,
                              P11EX, P11IN, P20, P21EX, P21EXA, P21IN, P21INA, P22, P31EX, P31IN, P32EX, P32IN,
                              PSC_ALPHA, PSC_EXP, REFR_BUF, REFR_INPUT, THETA, V, VMIN, VRESET)
from .packing import (DC_AMP, DC_D, DC_FIRST, DC_LAST, DC_PTR, PZ_D, PZ_ELAM, PZ_FIRST, PZ_LAM, PZ_LAST,
                      PZ_PTR, PZ_STREAM, PZ_W, SY_PR_COFF, SY_PR_D, SY_PR_DOFF, SY_PR_REGEN, SY_PR_SINGLE,
                      SY_PR_SYN0, SY_PR_TOFF, SY_PR_WDIST, SY_PR_WOFF, SY_PR_WQ, SY_PR_WSTREAM, SY_SYN_CODE,
                      SY_SYN_D, SY_SYN_W, SY_W_TABLE_Q, SY_WSEED)
from ..random.philox import SMALL_MEAN, draw, poisson, poisson_inversion, uniform4
from .rkf45 import evolve_step

FIX_BITS = 32
FIX_SCALE = float(2 ** FIX_BITS)
FIX_INV = 1.0 / FIX_SCALE


@njit(cache=True, inline="always")
def to_fixed(w):
    """A weight (float64) as an int64 multiple of 2**-FIX_BITS, rounded to nearest
    (the product by a power of two is exact, so both devices round the same value)."""
    return np.int64(math.floor(w * FIX_SCALE + 0.5))


@njit(cache=True, inline="always")
def from_fixed(q):
    return np.float64(q) * FIX_INV


@njit(cache=True, inline="always")
def update_neuron(i, r, m, P, S, refr, refr_counts, rdecay, in_ex, in_in, h):
    """One step of neuron i (parameters: row r of the table P); in_ex/in_in: weighted
    input arriving this step. Returns True on a spike. Mirrors NEST's update() of each
    model line by line."""
    if m == PARROT:  # as NEST's parrot_neuron, but one spike for a step in which spikes arrived
        # (NEST sends their multiplicity and ignores the weights; here positive weights signal)
        return in_ex + in_in > 0.0
    if m == PSC_EXP:
        if refr[i] == 0:
            S[i, V] = (S[i, V] * P[r, P22] + S[i, I_EX] * P[r, P21EX] + S[i, I_IN] * P[r, P21IN]
                       + (P[r, IE] + S[i, I0]) * P[r, P20])
        else:
            refr[i] -= 1
        S[i, I_EX] *= P[r, P11EX]
        S[i, I_IN] *= P[r, P11IN]
        S[i, I_EX] += in_ex
        S[i, I_IN] += in_in
    elif m == PSC_ALPHA:
        if refr[i] == 0:
            y3 = (P[r, P20] * (S[i, I0] + P[r, IE]) + P[r, P31EX] * S[i, DI_EX] + P[r, P32EX] * S[i, I_EX]
                  + P[r, P31IN] * S[i, DI_IN] + P[r, P32IN] * S[i, I_IN] + P[r, EXPM1] * S[i, V] + S[i, V])
            S[i, V] = y3 if y3 >= P[r, VMIN] else P[r, VMIN]
        else:
            refr[i] -= 1
        S[i, I_EX] = P[r, P21EXA] * S[i, DI_EX] + P[r, P11EX] * S[i, I_EX]
        S[i, DI_EX] *= P[r, P11EX]
        S[i, DI_EX] += P[r, INIT_EX] * in_ex
        S[i, I_IN] = P[r, P21INA] * S[i, DI_IN] + P[r, P11IN] * S[i, I_IN]
        S[i, DI_IN] *= P[r, P11IN]
        S[i, DI_IN] += P[r, INIT_IN] * in_in
    elif m == COND_EXP:  # NEST's RKF45 with GSL's step control (rkf45.py); V is absolute
        t_end = P[r, CE_STEP]
        h_try = S[i, H_INT] if S[i, H_INT] > 0.0 else t_end  # NEST starts with the time step
        v, ge, gi, h_next = evolve_step(
            S[i, V], S[i, G_EX], S[i, G_IN], t_end, h_try, refr[i] > 0, P[r, VRESET], P[r, THETA], P[r, CE_GL],
            P[r, CE_EL], P[r, CE_EEX], P[r, CE_EIN], P[r, CE_CM], S[i, I0], P[r, IE], P[r, CE_TAU_EX],
            P[r, CE_TAU_IN])
        S[i, H_INT] = h_next
        S[i, G_EX] = ge + in_ex  # conductance jumps (nS) at the end of the step
        S[i, G_IN] = gi - in_in  # inhibitory weights are negative, g_in grows by |w|
        if refr[i] > 0:
            refr[i] -= 1
            v = P[r, VRESET]  # V_reset < V_th: the threshold test below passes it by
        S[i, V] = v
    else:  # delta: weights are voltage jumps, both signs in one buffer
        x = in_ex + in_in
        if refr[i] == 0:
            y3 = P[r, P20] * (S[i, I0] + P[r, IE]) + P[r, P22] * S[i, V] + x
            if P[r, REFR_INPUT] != 0.0 and S[i, REFR_BUF] != 0.0:
                y3 += S[i, REFR_BUF]
                S[i, REFR_BUF] = 0.0
            S[i, V] = y3 if y3 >= P[r, VMIN] else P[r, VMIN]
        else:
            if P[r, REFR_INPUT] != 0.0:
                S[i, REFR_BUF] += x * rdecay[r, refr[i]]  # exp(-refr h / tau_m), from the host
            refr[i] -= 1
    if S[i, V] >= P[r, THETA]:
        refr[i] = refr_counts[i]
        S[i, V] = P[r, VRESET]
        return True
    return False


@njit(cache=True, inline="always")
def poisson_input(i, kk, seed, dr, in_ex, in_in, c_key, c_e, c_st, u0, u1, u2, u3):
    """Add neuron i's Poisson input at step kk (each poisson_generator connection draws its
    own count, keyed on seed, connection and emission step). One Philox call serves four
    consecutive connections at one step (lane j & 3); the caller carries that call's
    result (c_key, c_e, c_st, u0..u3) from neuron to neuron, which the CPU uses (four
    neurons with one connection each share a call) and a GPU thread simply restarts."""
    for j in range(dr[PZ_PTR][i], dr[PZ_PTR][i + 1]):  # Poisson trains emitted d steps ago
        e = kk - dr[PZ_D][j]
        if dr[PZ_FIRST][j] <= e <= dr[PZ_LAST][j]:
            lam = dr[PZ_LAM][j]
            if lam < SMALL_MEAN:
                if (j >> 2) != c_key or e != c_e or dr[PZ_STREAM][j] != c_st:
                    c_key, c_e, c_st = j >> 2, e, dr[PZ_STREAM][j]
                    u0, u1, u2, u3 = uniform4(seed, c_st, c_key, e)
                lane = j & 3
                u = u0 if lane == 0 else (u1 if lane == 1 else (u2 if lane == 2 else u3))
                n = poisson_inversion(u, lam, dr[PZ_ELAM][j])
            else:
                n = poisson(lam, dr[PZ_ELAM][j], seed, dr[PZ_STREAM][j], j, e)
            if n > 0:
                x = n * dr[PZ_W][j]
                if x > 0.0:
                    in_ex += x
                else:
                    in_in += x
    return in_ex, in_in, c_key, c_e, c_st, u0, u1, u2, u3


@njit(cache=True, inline="always")
def dc_input(i, kk, dr):
    """DC current for the step after kk (NEST reads it at the end of this one)."""
    cur = 0.0
    for j in range(dr[DC_PTR][i], dr[DC_PTR][i + 1]):
        e = kk - dr[DC_D][j]
        if dr[DC_FIRST][j] <= e <= dr[DC_LAST][j]:
            cur += dr[DC_AMP][j]
    return cur


@njit(cache=True, inline="always")
def neuron_step(i, kk, slot, seed, h, mtype, P, prow, rdecay, S, refr, refr_counts, dr, ring_ex, ring_in,
                c_key, c_e, c_st, u0, u1, u2, u3):
    """Step kk of neuron i: read and clear its ring slot, add Poisson input, integrate,
    then set the DC current for the next step. Returns (spiked, Poisson cache...).
    The neuron arrays come unpacked (callers take them out of ``Neurons`` once): read
    through the structure inside a parallel loop, the update ran 25% slower on the CPU."""
    in_ex = from_fixed(ring_ex[slot, i])
    in_in = from_fixed(ring_in[slot, i])
    ring_ex[slot, i] = 0
    ring_in[slot, i] = 0
    in_ex, in_in, c_key, c_e, c_st, u0, u1, u2, u3 = poisson_input(
        i, kk, seed, dr, in_ex, in_in, c_key, c_e, c_st, u0, u1, u2, u3)
    spiked = update_neuron(i, prow[i], mtype[i], P, S, refr, refr_counts, rdecay, in_ex, in_in, h)
    S[i, I0] = dc_input(i, kk, dr)
    return spiked, c_key, c_e, c_st, u0, u1, u2, u3


W_ONE, W_STORED, W_CODED, W_DRAWN = 0, 1, 2, 3  # where a projection's weights come from


@njit(cache=True, inline="always")
def weight_source(q, sy):
    """(mode, offset, table offset, the one value) of projection slot q, read once per
    row: mode W_STORED reads a float32 at offset + j, W_CODED a uint8 code there into the
    table, W_DRAWN draws the weight again from its key (offset + j is then the synapse's
    index in the projection), W_ONE takes the one value."""
    syn0 = sy[SY_PR_SYN0][q]
    if sy[SY_PR_WOFF][q] >= 0:
        return W_STORED, sy[SY_PR_WOFF][q] - syn0, np.int64(0), sy[SY_PR_WQ][q]
    if sy[SY_PR_COFF][q] >= 0:
        return W_CODED, sy[SY_PR_COFF][q] - syn0, sy[SY_PR_TOFF][q], sy[SY_PR_WQ][q]
    if sy[SY_PR_REGEN][q]:
        return W_DRAWN, -syn0, np.int64(0), sy[SY_PR_WQ][q]
    return W_ONE, np.int64(0), np.int64(0), sy[SY_PR_WQ][q]


@njit(cache=True, inline="always")
def weight_at(j, q, mode, off, toff, w0q, sy):
    """Fixed-point weight of synapse j (global index) of projection slot q, given its
    ``weight_source``."""
    if mode == W_STORED:
        return to_fixed(np.float64(sy[SY_SYN_W][off + j]))
    if mode == W_CODED:
        return sy[SY_W_TABLE_Q][toff + sy[SY_SYN_CODE][off + j]]
    if mode == W_DRAWN:
        i = off + j
        d = sy[SY_PR_WDIST]
        w = draw(np.int64(d[q, 0]), d[q, 1], d[q, 2], d[q, 3], d[q, 4], d[q, 5], d[q, 6], sy[SY_WSEED][0],
                 sy[SY_PR_WSTREAM][q], i >> 32, i & 0xFFFFFFFF)
        return to_fixed(np.float64(np.float32(w)))  # the builder stores drawn weights as float32
    return w0q


@njit(cache=True, inline="always")
def delay_source(q, sy):
    """(per-synapse?, offset for j, the one delay) of projection slot q."""
    return sy[SY_PR_DOFF][q] >= 0, sy[SY_PR_DOFF][q] - sy[SY_PR_SYN0][q], sy[SY_PR_D][q]


@njit(cache=True, inline="always")
def delay_at(j, per_syn, doff, d0, sy):
    if per_syn:
        return np.int64(sy[SY_SYN_D][doff + j])
    return d0


@njit(cache=True, inline="always")
def is_excitatory(wq, q, sy):
    """Which buffer a weight goes to: delta neurons have one for both signs."""
    return wq > 0 or sy[SY_PR_SINGLE][q]


@njit(cache=True, inline="always")
def voltage(i, P, prow, S):
    return S[i, V] + P[prow[i], EL]
