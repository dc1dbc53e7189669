"""Philox4x32-10 on whole arrays of an array namespace ``xp`` (NumPy or CuPy).

The same counter-based generator as ``sim_core.random.philox`` (the Numba kernels), written
with array operations so that a builder can draw millions of numbers in one call on the GPU.
Every function returns bit for bit what the Numba function of the same name returns for the
same key (seed, stream, entity, counter, sub); ``entity``, ``counter`` and ``sub`` may be
arrays and broadcast against each other.

Integer arithmetic is exact on every device: Philox works on 32-bit words held in uint64,
where the product of two words fits without wrapping. Every constant is an ``xp.uint64``
because NumPy may promote uint64 mixed with a Python int or a signed integer to float64.

Transcendental functions are the one place where devices differ. The Numba kernels call
the platform's libm (glibc on Linux); NumPy's own SIMD loops for ``log`` and ``exp`` (used on
AVX-512 CPUs) round differently in about 0.3 % and 5 % of arguments, and CUDA's libdevice
differs again. So:

* on the host (``xp`` is NumPy), ``log``, ``exp`` and ``cos`` below call libm through the
  ``math`` module, the very functions the Numba kernels call: results are identical;
* on a device, they are ``xp``'s own functions, within a few ulps of libm. Decisions that
  depend on them (a draw inside or outside [low, high] here; a geometric skip or a
  distance-dependent coin flip in the connectivity builder) are checked against a margin
  of ``DEVICE_MATH_RTOL`` and the few that fall inside it are recomputed on the host, so
  these decisions, and with them the connectivity, stay identical. Drawn values that go
  through ``log``/``exp``/``cos`` may still differ from the CPU's in their last bits.

No Numba here: this module must import on a machine with only NumPy (or CuPy).
"""
from __future__ import annotations

import math

import numpy as np

# Distribution codes and the redraw limit, as in sim_core.random.philox (a test checks it).
CONST, NORMAL, LOGNORMAL, UNIFORM, EXPONENTIAL = 0, 1, 2, 3, 4
MAX_REDRAWS = 1000

# A device's log/exp/cos are within a few ulps of libm (CUDA: 1-2, NumPy's SIMD loops: < 4);
# this margin (about 4,000 ulps) leaves room for that and the arithmetic around them.
DEVICE_MATH_RTOL = 2.0 ** -40

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


def host_libm(xp) -> bool:
    """Whether ``xp`` computes on the host, where libm itself can be called."""
    return xp is np


def _libm(fn, x) -> np.ndarray:
    """``fn`` (a libm function from ``math``) on every element of a host array."""
    x = np.asarray(x, dtype=np.float64)
    return np.fromiter(map(fn, x.ravel().tolist()), np.float64, x.size).reshape(x.shape)


# ``math`` raises where libm returns a special value; give libm's value, as Numba does.
def _log1(v: float) -> float:
    try:
        return math.log(v)
    except ValueError:  # log(0) = -inf, log(negative) = nan
        return -math.inf if v == 0.0 else math.nan


def _exp1(v: float) -> float:
    try:
        return math.exp(v)
    except OverflowError:
        return math.inf


def _cos1(v: float) -> float:
    try:
        return math.cos(v)
    except ValueError:  # cos(+-inf)
        return math.nan


def log(xp, x):
    return _libm(_log1, x) if host_libm(xp) else xp.log(x)


def exp(xp, x):
    return _libm(_exp1, x) if host_libm(xp) else xp.exp(x)


def cos(xp, x):
    return _libm(_cos1, x) if host_libm(xp) else xp.cos(x)


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
    return radius * cos(xp, (2.0 * math.pi) * v), radius


def std_normal(xp, seed: int, stream: int, entity, counter, sub):
    """Standard normal by Box-Muller, equal to ``philox.std_normal`` (exactly on the host;
    within a few ulps on a device, see the module docstring)."""
    u, v = uniform2(xp, seed, stream, entity, counter, sub)
    return _box_muller(xp, u, v)[0]


# ---------------------------------------------------------------------------------------
# Distributions


def _sample(xp, kind, p1, p2, scale, offset, u, v):
    """offset + scale * X for one redraw, and a bound on |x| and on the magnitudes that
    enter it, used to size the device margin (the error of x is at most a few ulps of it)."""
    if kind == UNIFORM:  # no libm: exact everywhere, margin 0
        x = offset + scale * (p1 + (p2 - p1) * u)
        return x, xp.zeros_like(x)
    if kind == EXPONENTIAL:
        core = -p1 * log(xp, 1.0 - u)
        return offset + scale * core, abs(offset) + abs(scale * core)
    z, radius = _box_muller(xp, u, v)
    spread = abs(p1) + abs(p2) * radius  # bounds |p1 + p2 z| and the error of its argument
    if kind == NORMAL:
        return offset + scale * (p1 + p2 * z), abs(offset) + abs(scale) * spread
    core = exp(xp, p1 + p2 * z)  # LOGNORMAL: error relative to core grows with the argument
    return offset + scale * core, abs(offset) + abs(scale) * core * (1.0 + spread)


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
    on_host = host_libm(xp)
    too_close = []  # device only: elements whose bound test was too close to call
    for sub in range(MAX_REDRAWS):
        if todo.shape[0] == 0:
            break
        u, v = uniform2(xp, seed, stream, hi[todo], lo[todo], sub)
        x, mag = _sample(xp, kind, p1, p2, scale, offset, u, v)
        inside = (low <= x) & (x <= high)
        if not on_host:
            margin = DEVICE_MATH_RTOL * mag
            close = (abs(x - low) < margin) | (abs(x - high) < margin)
            too_close.append(todo[close])
            inside &= ~close
            todo_next = todo[~inside & ~close]
        else:
            todo_next = todo[~inside]
        out[todo[inside]] = x[inside]
        todo = todo_next
    if too_close:
        # Redo those elements, every redraw of them, with the host's libm.
        idx = xp.concatenate(too_close)
        if idx.shape[0]:
            exact = draw(np, kind, p1, p2, low, high, scale, offset, seed, stream,
                         to_host(xp, hi[idx]), to_host(xp, lo[idx]))
            out[idx] = xp.asarray(exact)
    return out.reshape(shape)
