"""Numbers and distributions of the spec -> arrays, drawn with the counter-based RNG."""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from . import kernels as ck
from ..random import philox as rng
from ..errors import SpecError
from ..spec.model import Exponential, Lognormal, Normal, Uniform


def dist_args(value) -> tuple:
    """(kind, p1, p2, low, high, scale, offset) for the Numba ``draw``."""
    if isinstance(value, (int, float)):
        return (rng.CONST, float(value), 0.0, -math.inf, math.inf, 1.0, 0.0)
    lo = -math.inf if getattr(value, "low", None) is None else value.low
    hi = math.inf if getattr(value, "high", None) is None else value.high
    if isinstance(value, Normal):
        return (rng.NORMAL, value.mean, value.std, lo, hi, value.scale, value.offset)
    if isinstance(value, Lognormal):
        return (rng.LOGNORMAL, value.mu, value.sigma, lo, hi, value.scale, value.offset)
    if isinstance(value, Uniform):  # low/high are its range here, not redraw bounds
        return (rng.UNIFORM, value.low, value.high, -math.inf, math.inf, value.scale, value.offset)
    if isinstance(value, Exponential):
        return (rng.EXPONENTIAL, value.beta, 0.0, lo, hi, value.scale, value.offset)
    raise TypeError(f"not a value: {value!r}")


def draw_array(value, n: int, seed: int, stream: int, path: str) -> np.ndarray:
    """n values (float64); a constant is broadcast without drawing."""
    args = dist_args(value)
    if args[0] == rng.CONST:
        return np.full(n, args[1])
    out = ck.draw_values(n, *args, seed, stream)
    if n and np.isnan(out).any():
        raise SpecError(path, f"{rng.MAX_REDRAWS} redraws in a row fell outside [low, high]; "
                        "widen the bounds")
    return out


@njit(parallel=True, cache=True)
def _draw_at(idx, kind, p1, p2, low, high, scale, offset, seed, stream):
    out = np.empty(idx.shape[0], dtype=np.float64)
    for j in prange(idx.shape[0]):
        i = idx[j]
        out[j] = rng.draw(kind, p1, p2, low, high, scale, offset, seed, stream, i >> 32, i & 0xFFFFFFFF)
    return out


def draw_at(value, idx: np.ndarray, seed: int, stream: int) -> np.ndarray:
    """``draw_array``'s values at the counters ``idx`` only (float64): a sample of a
    projection's drawn weights without drawing the rest (the LFP kernels take 2,000 rows)."""
    args = dist_args(value)
    idx = np.asarray(idx, np.int64)
    if args[0] == rng.CONST:
        return np.full(idx.shape[0], args[1])
    return _draw_at(idx, *args, seed, stream)


def mean_of(value) -> float:
    """Mean of a value, for the receptor default and the notation (w̄)."""
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, Normal) and value.low is None and value.high is None:
        return value.offset + value.scale * value.mean
    if isinstance(value, Uniform):
        return value.offset + value.scale * 0.5 * (value.low + value.high)
    # bounded or skewed: estimate from draws (deterministic seed)
    return float(draw_array(value, 4096, 1, 0, "").mean())
