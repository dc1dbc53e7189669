"""detmath's log, exp, cos(2πv) and log k!: close to libm (so the distributions are
right) and, written with array operations in philox_xp, the same bits as the Numba
versions (so every device draws the same values)."""
import math

import numpy as np
import pytest
from numba import njit

from sim_core.random import detmath, philox_xp


@njit
def _each(f, xs):
    out = np.empty_like(xs)
    for i in range(xs.shape[0]):
        out[i] = f(xs[i])
    return out


def _ulps(got, ref):
    return np.abs(got - ref) / np.spacing(np.abs(ref))


RNG = np.random.default_rng(7)
LOG_ARGS = np.concatenate([RNG.random(100_000), 1.0 - RNG.random(50_000) * 1e-6, RNG.random(50_000) * 1e6,
                           np.exp(RNG.uniform(-700.0, 700.0, 50_000)), [1.0, 0.5, 2.0, 1e-300, 5e-324]])
EXP_ARGS = np.concatenate([RNG.uniform(-700.0, 700.0, 100_000), RNG.uniform(-1.0, 1.0, 100_000), [0.0, -0.0]])
COS_ARGS = np.concatenate([RNG.random(200_000), np.arange(0, 1, 1 / 64), [0.125, 0.25 - 2 ** -53]])


def test_log_within_two_ulp_of_libm():
    ref = np.array([math.log(x) for x in LOG_ARGS])
    got = _each(detmath.log_d, LOG_ARGS)
    assert _ulps(got, ref)[ref != 0].max() <= 2.0
    assert got[LOG_ARGS == 1.0].max() == 0.0


def test_exp_within_one_ulp_of_libm():
    ref = np.array([math.exp(x) for x in EXP_ARGS])
    got = _each(detmath.exp_d, EXP_ARGS)
    assert _ulps(got, ref).max() <= 1.0


def test_cos2pi_within_1e15_of_libm():
    ref = np.array([math.cos(2.0 * math.pi * v) for v in COS_ARGS])
    assert np.abs(_each(detmath.cos2pi_d, COS_ARGS) - ref).max() < 1e-15


def test_log_factorial_within_1e15_relative():
    k = np.arange(0.0, 5000.0)
    ref = np.array([math.lgamma(x + 1.0) for x in k])
    got = _each(detmath.log_factorial_d, k)
    assert (np.abs(got - ref)[2:] / ref[2:]).max() < 1e-15 and np.abs(got[:2]).max() == 0.0


@pytest.mark.parametrize("name, args", [("log", LOG_ARGS), ("exp", EXP_ARGS), ("cos2pi", COS_ARGS)])
def test_array_versions_give_the_numba_bits(name, args):
    numba_version = {"log": detmath.log_d, "exp": detmath.exp_d, "cos2pi": detmath.cos2pi_d}[name]
    got = getattr(philox_xp, name)(np, args)
    assert np.array_equal(got, _each(numba_version, args))


def test_special_values():
    assert philox_xp.log(np, np.array([0.0]))[0] == -math.inf and detmath.log_d(0.0) == -math.inf
    assert math.isnan(detmath.log_d(-1.0)) and np.isnan(philox_xp.log(np, np.array([-1.0]))[0])
    assert detmath.exp_d(800.0) == math.inf and detmath.exp_d(-800.0) == 0.0
    assert np.array_equal(philox_xp.exp(np, np.array([800.0, -800.0])), [math.inf, 0.0])
