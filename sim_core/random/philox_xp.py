"""Philox4x32-10 on whole arrays of an array namespace ``xp`` (NumPy or CuPy).

The same counter-based generator as ``sim_core.random.philox`` (the Numba kernels), written
with array operations so that a builder can draw millions of numbers in one call on the GPU.
Every function returns bit for bit what the Numba function of the same name returns for the
same key (seed, stream, entity, counter, sub); ``entity``, ``counter`` and ``sub`` may be
arrays and broadcast against each other.

Integer arithmetic is exact on every device: Philox works on 32-bit words held in uint64,
where the product of two words fits without wrapping. Every constant is an ``xp.uint64``
because NumPy may promote uint64 mixed with a Python int or a signed integer to float64.

Transcendental functions are where devices would differ (glibc, NumPy's SIMD loops and
CUDA's libdevice each round some arguments differently in the last bit). So ``log``,
``exp`` and ``cos2pi`` here are ``sim_core.random.detmath``'s algorithms, written with
array operations in the same order: built from IEEE + - * / alone, they give the Numba
kernels' bits on every device, and so does everything drawn with them.

No Numba here: this module must import on a machine with only NumPy (or CuPy).
"""
from __future__ import annotations

import math

import numpy as np

from . import detmath_constants as dm

# Distribution codes and the redraw limit, as in sim_core.random.philox (a test checks it).
CONST, NORMAL, LOGNORMAL, UNIFORM, EXPONENTIAL = 0, 1, 2, 3, 4
MAX_REDRAWS = 1000

_WORD = 0xFFFFFFFF
_M0, _M1 = 0xD2511F53, 0xCD9E8D57  # Philox4x32 multipliers
_W0, _W1 = 0x9E3779B9, 0xBB67AE85  # Weyl key increments
_INV53 = 1.0 / 9007199254740992.0  # 2^-53


# ---------------------------------------------------------------------------------------
# Arrays and libm


def to_host(xp, x) -> np.ndarray:
    """A NumPy array with the contents of ``x`` (CuPy: a copy from the device)."""
    asnumpy = getattr(xp, "asnumpy", None)
    return asnumpy(x) if asnumpy is not None else np.asarray(x)


def log(xp, x):
    """``detmath.log_d`` element-wise (same operations, same order)."""
    x = xp.asarray(x, dtype=xp.float64)
    m, e = xp.frexp(xp.where((x > 0.0) & (x < math.inf), x, 1.0))  # special values: set below
    low = m < dm.SQRT_HALF
    m = xp.where(low, m * 2.0, m)
    k = (e - low.astype(e.dtype)).astype(xp.float64)
    f = m - 1.0
    s = f / (2.0 + f)
    z = s * s
    p = xp.full(x.shape, 2.0 / 23.0)
    for d in (21.0, 19.0, 17.0, 15.0, 13.0, 11.0, 9.0, 7.0, 5.0, 3.0):
        p = p * z + 2.0 / d
    out = k * dm.LN2_HI + (k * dm.LN2_LO + (2.0 * s + s * (z * p)))
    out = xp.where(x == 0.0, -math.inf, out)
    out = xp.where(x < 0.0, math.nan, out)
    out = xp.where(x != x, x, out)  # nan stays nan, as in log_d
    return xp.where(x == math.inf, x, out)


def exp(xp, x):
    """``detmath.exp_d`` element-wise."""
    x = xp.asarray(x, dtype=xp.float64)
    k = xp.floor(x * dm.INV_LN2 + 0.5)
    r = (x - k * dm.LN2_HI) - k * dm.LN2_LO
    p = xp.full(x.shape, 1.0 / 20922789888000.0)
    for c in (1.0 / 1307674368000.0, 1.0 / 87178291200.0, 1.0 / 6227020800.0, 1.0 / 479001600.0,
              1.0 / 39916800.0, 1.0 / 3628800.0, 1.0 / 362880.0, 1.0 / 40320.0, 1.0 / 5040.0, 1.0 / 720.0,
              1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0, 1.0):
        p = p * r + c
    big = x > dm.LOG_MAX
    small = x < dm.LOG_MIN
    k = xp.where(big | small | (x != x), 0.0, k)
    out = xp.ldexp(p, k.astype(xp.int32))
    out = xp.where(big, math.inf, out)
    out = xp.where(small, 0.0, out)
    return xp.where(x != x, x, out)


def _cos_series(xp, t):
    z = t * t
    p = xp.full(t.shape, 1.0 / 6402373705728000.0)
    for c in (1.0 / 20922789888000.0, 1.0 / 87178291200.0, 1.0 / 479001600.0, 1.0 / 3628800.0,
              1.0 / 40320.0, 1.0 / 720.0, 1.0 / 24.0, 0.5):
        p = -p * z + c
    return 1.0 - p * z


def _sin_series(xp, t):
    z = t * t
    p = xp.full(t.shape, 1.0 / 121645100408832000.0)
    for c in (1.0 / 355687428096000.0, 1.0 / 1307674368000.0, 1.0 / 6227020800.0, 1.0 / 39916800.0,
              1.0 / 362880.0, 1.0 / 5040.0, 1.0 / 120.0, 1.0 / 6.0):
        p = -p * z + c
    return t - t * (p * z)


def cos2pi(xp, v):
    """``detmath.cos2pi_d`` element-wise: cos(2π v) for v in [0, 1)."""
    v = xp.asarray(v, dtype=xp.float64)
    q = xp.floor(4.0 * v)
    r = v - 0.25 * q
    near = r <= 0.125
    t = xp.where(near, dm.TWO_PI * r, dm.TWO_PI * (0.25 - r))
    cs, sn = _cos_series(xp, t), _sin_series(xp, t)
    c = xp.where(near, cs, sn)
    s = xp.where(near, sn, cs)
    qi = q.astype(xp.int64) & 3
    return xp.where(qi == 0, c, xp.where(qi == 1, -s, xp.where(qi == 2, -c, s)))


# ---------------------------------------------------------------------------------------
# Philox


def _words(xp, x):
    """The low 32-bit word of an integer (or integer array) as uint64, as ``np.uint64(x) & MASK``
    in the Numba code (two's complement for negative values)."""
    if isinstance(x, (int, np.integer)):
        return xp.asarray(xp.uint64(int(x) & _WORD))
    return xp.asarray(x).astype(xp.uint64) & xp.uint64(_WORD)


def philox(xp, c0, c1, c2, c3, seed: int):
    """Ten Philox4x32 rounds on uint64 arrays holding 32-bit words, keyed on ``seed``
    (a Python int: low word and high word are the two key words)."""
    mask, s32 = xp.uint64(_WORD), xp.uint64(32)
    m0, m1 = xp.uint64(_M0), xp.uint64(_M1)
    s = int(seed) & 0xFFFFFFFFFFFFFFFF
    k0, k1 = s & _WORD, s >> 32
    for _ in range(10):
        p0 = m0 * c0  # 32 x 32 bits: fits in 64, no wrap
        p1 = m1 * c2
        c0, c1, c2, c3 = (((p1 >> s32) ^ c1 ^ xp.uint64(k0)) & mask, p1 & mask,
                          ((p0 >> s32) ^ c3 ^ xp.uint64(k1)) & mask, p0 & mask)
        k0, k1 = (k0 + _W0) & _WORD, (k1 + _W1) & _WORD  # the key schedule is scalar
    return c0, c1, c2, c3


def uniform2(xp, seed: int, stream: int, entity, counter, sub):
    """Two independent float64 arrays of uniforms in [0, 1) with 53-bit resolution, equal
    to ``philox.uniform2`` element by element."""
    c0, c1, c2, c3 = xp.broadcast_arrays(_words(xp, counter), _words(xp, sub),
                                         _words(xp, entity), _words(xp, stream))
    a, b, c, d = philox(xp, c0, c1, c2, c3, seed)
    s5, s6, two26 = xp.uint64(5), xp.uint64(6), xp.uint64(67108864)
    # 27 + 26 bits: below 2^53, so the conversion to float64 is exact
    u = ((a >> s5) * two26 + (b >> s6)).astype(xp.float64) * _INV53
    v = ((c >> s5) * two26 + (d >> s6)).astype(xp.float64) * _INV53
    return u, v


def _box_muller(xp, u, v):
    """(standard normal, its radius sqrt(-2 ln(1-u)) >= |normal|), in the kernel's order."""
    radius = xp.sqrt(-2.0 * log(xp, 1.0 - u))
    return radius * cos2pi(xp, v), radius


def std_normal(xp, seed: int, stream: int, entity, counter, sub):
    """Standard normal by Box-Muller, equal to ``philox.std_normal`` bit for bit."""
    u, v = uniform2(xp, seed, stream, entity, counter, sub)
    return _box_muller(xp, u, v)[0]


# ---------------------------------------------------------------------------------------
# Distributions


def _sample(xp, kind, p1, p2, scale, offset, u, v):
    """offset + scale * X for one redraw, in ``philox.draw``'s operations and order."""
    if kind == UNIFORM:
        return offset + scale * (p1 + (p2 - p1) * u)
    if kind == EXPONENTIAL:
        return offset + scale * (-p1 * log(xp, 1.0 - u))
    z = _box_muller(xp, u, v)[0]
    if kind == NORMAL:
        return offset + scale * (p1 + p2 * z)
    return offset + scale * exp(xp, p1 + p2 * z)  # LOGNORMAL


def draw(xp, kind, p1, p2, low, high, scale, offset, seed, stream, counter_hi, counter_lo):
    """Vectorised ``philox.draw``: element i is offset + scale * X keyed on
    (entity=counter_hi[i], counter=counter_lo[i]), redrawn (sub = 1, 2, ...) until inside
    [low, high]; NaN where MAX_REDRAWS draws all fell outside. Float64, the broadcast shape
    of the two counters."""
    hi, lo = xp.broadcast_arrays(xp.asarray(counter_hi), xp.asarray(counter_lo))
    shape = hi.shape
    if kind == CONST:
        return xp.full(shape, p1, dtype=xp.float64)
    hi, lo = hi.ravel(), lo.ravel()
    out = xp.full(hi.shape, math.nan, dtype=xp.float64)
    todo = xp.arange(hi.shape[0])  # elements still outside [low, high]
    for sub in range(MAX_REDRAWS):
        if todo.shape[0] == 0:
            break
        u, v = uniform2(xp, seed, stream, hi[todo], lo[todo], sub)
        x = _sample(xp, kind, p1, p2, scale, offset, u, v)
        inside = (low <= x) & (x <= high)
        out[todo[inside]] = x[inside]
        todo = todo[~inside]
    return out.reshape(shape)
