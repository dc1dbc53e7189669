"""log, exp, cos(2πv) and log(k!) from IEEE + - * / alone, so every device computes the
same bits: glibc's libm (the CPU), CUDA's libdevice (the GPU) and NumPy's SIMD loops each
round some arguments differently in the last bit, and a weight drawn a bit differently
can, rarely, move a spike. The drawing of random values (``philox``), the connection
kernels and the array-namespace builder use these instead of ``math``.

The algorithms are the textbook ones: reduce the argument exactly (a power of two, a
multiple of ln 2 split in two parts, a quarter turn), then a truncated series whose
first omitted term is below 2^-60 of the result. Accuracy: within 2 ulp of libm
(``tests/random/test_detmath.py``). Compiled code must not fuse a*b + c: Numba's CPU
code does not, the GPU kernels are compiled with -fma=0, NumPy and CuPy round each
operation.

Editing this file: clear Numba's cache (``find . -name '*.nbi' -delete``). The functions are
inlined into cached kernels of other modules, and Numba checks only a kernel's own file
for changes, so those kernels would keep the old code, while the array versions and the
GPU kernels would use the new.
"""
from __future__ import annotations

import math

from numba import njit

from .detmath_constants import INV_LN2, LN2_HI, LN2_LO, LOG_MAX, LOG_MIN, SQRT_HALF, TWO_PI


@njit(cache=True, inline="always")
def log_d(x):
    """Natural log for x > 0 (0 -> -inf, x < 0 -> nan): x = m 2^e with m in [√½, √2),
    log m = 2 atanh(s), s = (m - 1)/(m + 1), |s| < 0.172, by its series to s^23."""
    if x <= 0.0:
        return -math.inf if x == 0.0 else math.nan
    if x == math.inf:
        return x
    m, e = math.frexp(x)
    if m < SQRT_HALF:
        m *= 2.0
        e -= 1
    f = m - 1.0
    s = f / (2.0 + f)
    z = s * s
    p = 2.0 / 23.0
    p = p * z + 2.0 / 21.0
    p = p * z + 2.0 / 19.0
    p = p * z + 2.0 / 17.0
    p = p * z + 2.0 / 15.0
    p = p * z + 2.0 / 13.0
    p = p * z + 2.0 / 11.0
    p = p * z + 2.0 / 9.0
    p = p * z + 2.0 / 7.0
    p = p * z + 2.0 / 5.0
    p = p * z + 2.0 / 3.0
    log_m = 2.0 * s + s * (z * p)
    k = float(e)
    return k * LN2_HI + (k * LN2_LO + log_m)


@njit(cache=True, inline="always")
def exp_d(x):
    """e^x: x = k ln 2 + r with |r| <= ln2/2 (k ln 2 subtracted in two exact parts),
    e^r by its series to r^16, times 2^k."""
    if x != x:
        return x
    if x > LOG_MAX:
        return math.inf
    if x < LOG_MIN:
        return 0.0
    k = math.floor(x * INV_LN2 + 0.5)
    r = (x - k * LN2_HI) - k * LN2_LO
    p = 1.0 / 20922789888000.0  # 1/16!
    p = p * r + 1.0 / 1307674368000.0
    p = p * r + 1.0 / 87178291200.0
    p = p * r + 1.0 / 6227020800.0
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    return math.ldexp(p, int(k))


@njit(cache=True, inline="always")
def _cos_series(t):
    """cos t for 0 <= t <= π/4, to t^18."""
    z = t * t
    p = 1.0 / 6402373705728000.0  # 1/18!
    p = -p * z + 1.0 / 20922789888000.0
    p = -p * z + 1.0 / 87178291200.0
    p = -p * z + 1.0 / 479001600.0
    p = -p * z + 1.0 / 3628800.0
    p = -p * z + 1.0 / 40320.0
    p = -p * z + 1.0 / 720.0
    p = -p * z + 1.0 / 24.0
    p = -p * z + 0.5
    return 1.0 - p * z


@njit(cache=True, inline="always")
def _sin_series(t):
    """sin t for 0 <= t <= π/4, to t^19."""
    z = t * t
    p = 1.0 / 121645100408832000.0  # 1/19!
    p = -p * z + 1.0 / 355687428096000.0
    p = -p * z + 1.0 / 1307674368000.0
    p = -p * z + 1.0 / 6227020800.0
    p = -p * z + 1.0 / 39916800.0
    p = -p * z + 1.0 / 362880.0
    p = -p * z + 1.0 / 5040.0
    p = -p * z + 1.0 / 120.0
    p = -p * z + 1.0 / 6.0
    return t - t * (p * z)


@njit(cache=True, inline="always")
def cos2pi_d(v):
    """cos(2π v) for v in [0, 1): the quarter turn q = floor(4 v) and the rest r = v - q/4
    are exact; the rest is folded into [0, 1/8] (cos of 2π r above 1/8 is the sine of
    2π (1/4 - r))."""
    q = math.floor(4.0 * v)
    r = v - 0.25 * q
    if r <= 0.125:
        c = _cos_series(TWO_PI * r)
        s = _sin_series(TWO_PI * r)
    else:
        c = _sin_series(TWO_PI * (0.25 - r))
        s = _cos_series(TWO_PI * (0.25 - r))
    qi = int(q) & 3
    if qi == 0:
        return c
    if qi == 1:
        return -s
    if qi == 2:
        return -c
    return s


@njit(cache=True, inline="always")
def log_factorial_d(k):
    """log k! for an integer-valued k >= 0: the exact product up to 18! (below 2^53),
    then Stirling's series for log Γ(n), n = k + 1 >= 20, to n^-9 (the next term,
    691/(360360 n^11), is below 1e-17)."""
    if k <= 18.0:
        f = 1.0
        for j in range(2, int(k) + 1):
            f *= j
        return log_d(f)
    n = k + 1.0
    inv = 1.0 / n
    z = inv * inv
    series = inv * (1.0 / 12.0 - z * (1.0 / 360.0 - z * (1.0 / 1260.0 - z * (1.0 / 1680.0 - z * (1.0 / 1188.0)))))
    return (n - 0.5) * log_d(n) - n + 0.91893853320467274178 + series  # 0.5 log 2π
