"""Counter-based random numbers (Philox4x32-10) for Numba kernels.

Every draw is a pure function of (seed, stream, entity, counter, sub): results do not
depend on thread count or order, and any device can regenerate them, bit for bit: the
logarithms, exponentials and cosines of the distributions are ``detmath``'s, built from
IEEE arithmetic alone, not the platform's libm. ``stream`` says
what the numbers are for (see ``sim_core.random.streams``), ``entity`` is e.g. a neuron
or a connectivity row, ``counter`` e.g. a time step or a draw index, ``sub`` a retry.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from .detmath import cos2pi_d, exp_d, log_d, log_factorial_d

_M0 = np.uint64(0xD2511F53)
_M1 = np.uint64(0xCD9E8D57)
_W0 = np.uint64(0x9E3779B9)
_W1 = np.uint64(0xBB67AE85)
_MASK = np.uint64(0xFFFFFFFF)
_S32 = np.uint64(32)
_INV53 = 1.0 / 9007199254740992.0


@njit(cache=True, inline="always")
def philox(c0, c1, c2, c3, k0, k1):
    """Ten Philox4x32 rounds (Salmon et al. 2011); inputs and outputs hold 32-bit values."""
    for _ in range(10):
        p0 = _M0 * c0
        p1 = _M1 * c2
        c0, c1, c2, c3 = ((p1 >> _S32) ^ c1 ^ k0) & _MASK, p1 & _MASK, ((p0 >> _S32) ^ c3 ^ k1) & _MASK, p0 & _MASK
        k0 = (k0 + _W0) & _MASK
        k1 = (k1 + _W1) & _MASK
    return c0, c1, c2, c3


@njit(cache=True, inline="always")
def uniform2(seed, stream, entity, counter, sub):
    """Two independent uniforms in [0, 1) with 53-bit resolution."""
    s = np.uint64(seed)
    a, b, c, d = philox(np.uint64(counter) & _MASK, np.uint64(sub) & _MASK,
                        np.uint64(entity) & _MASK, np.uint64(stream) & _MASK,
                        s & _MASK, s >> _S32)
    u = float((a >> np.uint64(5)) * np.uint64(67108864) + (b >> np.uint64(6))) * _INV53
    v = float((c >> np.uint64(5)) * np.uint64(67108864) + (d >> np.uint64(6))) * _INV53
    return u, v


_INV32 = 1.0 / 4294967296.0


@njit(cache=True, inline="always")
def uniform4(seed, stream, entity, counter):
    """Four independent uniforms in [0, 1) with 32-bit resolution (one Philox call)."""
    s = np.uint64(seed)
    a, b, c, d = philox(np.uint64(counter) & _MASK, np.uint64(0xFFFFFFFF), np.uint64(entity) & _MASK,
                        np.uint64(stream) & _MASK, s & _MASK, s >> _S32)
    return float(a) * _INV32, float(b) * _INV32, float(c) * _INV32, float(d) * _INV32


@njit(cache=True)
def std_normal(seed, stream, entity, counter, sub):
    u, v = uniform2(seed, stream, entity, counter, sub)
    return math.sqrt(-2.0 * log_d(1.0 - u)) * cos2pi_d(v)


# Distribution codes shared with sim_core.engine.distributions
CONST, NORMAL, LOGNORMAL, UNIFORM, EXPONENTIAL = 0, 1, 2, 3, 4
MAX_REDRAWS = 1000


@njit(cache=True)
def draw(kind, p1, p2, low, high, scale, offset, seed, stream, entity, counter):
    """One draw of offset + scale * X, redrawn until inside [low, high].
    Returns NaN when MAX_REDRAWS draws all fell outside (the caller raises)."""
    if kind == CONST:
        return p1
    for sub in range(MAX_REDRAWS):
        if kind == NORMAL:
            x = p1 + p2 * std_normal(seed, stream, entity, counter, sub)
        elif kind == LOGNORMAL:
            x = exp_d(p1 + p2 * std_normal(seed, stream, entity, counter, sub))
        elif kind == UNIFORM:
            u, _ = uniform2(seed, stream, entity, counter, sub)
            x = p1 + (p2 - p1) * u
        else:
            u, _ = uniform2(seed, stream, entity, counter, sub)
            x = -p1 * log_d(1.0 - u)
        x = offset + scale * x
        if low <= x <= high:
            return x
    return math.nan


SMALL_MEAN = 12.0  # below: inversion; above: PTRS


@njit(cache=True, inline="always")
def poisson_inversion(u, lam, exp_neg_lam):
    """Poisson count for a small mean by inverting the CDF at u."""
    p = exp_neg_lam
    cdf = p
    k = 0
    while u > cdf and k < 1000:
        k += 1
        p *= lam / k
        cdf += p
    return k


@njit(cache=True)
def poisson(lam, exp_neg_lam, seed, stream, entity, counter):
    """A Poisson count with mean ``lam`` (``exp_neg_lam`` = exp(-lam), precomputed by the
    caller because it is the same every step): inversion for small means, Hörmann's PTRS
    transformed rejection for large ones (both exact)."""
    if lam <= 0.0:
        return 0
    if lam < SMALL_MEAN:
        u, _ = uniform2(seed, stream, entity, counter, 0)
        return poisson_inversion(u, lam, exp_neg_lam)
    slam = math.sqrt(lam)
    loglam = log_d(lam)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    inv_alpha = 1.1239 + 1.1328 / (b - 3.4)
    vr = 0.9277 - 3.6224 / (b - 2.0)
    for sub in range(1000):
        u, v = uniform2(seed, stream, entity, counter, sub)
        u -= 0.5
        us = 0.5 - abs(u)
        k = math.floor((2.0 * a / us + b) * u + lam + 0.43)
        if us >= 0.07 and v <= vr:
            return int(k)
        if k < 0 or (us < 0.013 and v > us):
            continue
        if (log_d(v) + log_d(inv_alpha) - log_d(a / (us * us) + b)
                <= -lam + k * loglam - log_factorial_d(k)):
            return int(k)
    return int(lam)
