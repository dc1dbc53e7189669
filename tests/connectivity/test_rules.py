"""Each connection rule, checked statistically and exactly where the rule is exact."""
import math

import numpy as np
import pytest
from scipy import stats

from sim_core.connectivity.build import build_connectome
from sim_core.spec import from_dict


def _spec(rule, n_src=200, n_tgt=150, same=False, weight=1.0, delay=1.0, positions=None):
    pops = {"A": {"model": "iaf_psc_exp", "size": n_src}}
    if not same:
        pops["B"] = {"model": "iaf_psc_exp", "size": n_tgt}
    if positions:
        for p in pops.values():
            p["positions"] = positions
            p["size"] = positions.get("shape", [0, 0])[0] * positions.get("shape", [0, 0])[1] or p["size"]
    return from_dict({"format": "spikescope/1", "name": "r", "populations": pops,
                      "projections": [{"source": "A", "target": "A" if same else "B", "rule": rule,
                                       "synapse": {"weight": weight, "delay": delay}}]})


def _conn(spec, seed=3):
    return build_connectome(spec, seed).connections[0]


def _pairs(c):
    return c.sources(), c.targets


def test_one_to_one():
    c = _conn(_spec({"rule": "one_to_one"}, 120, 120))
    s, t = _pairs(c)
    assert np.array_equal(s, t) and len(s) == 120


def test_all_to_all_without_autapses():
    c = _conn(_spec({"rule": "all_to_all", "allow_autapses": False}, 50, same=True))
    s, t = _pairs(c)
    assert len(s) == 50 * 49 and not np.any(s == t)
    assert len(set(zip(s, t))) == len(s)


@pytest.mark.parametrize("multapses", [True, False])
@pytest.mark.parametrize("autapses", [True, False])
def test_fixed_indegree(multapses, autapses):
    K, n = 40, 100
    c = _conn(_spec({"rule": "fixed_indegree", "indegree": K, "allow_autapses": autapses,
                     "allow_multapses": multapses}, n, same=True))
    s, t = _pairs(c)
    assert np.all(np.bincount(t, minlength=n) == K)  # exact in-degree
    if not autapses:
        assert not np.any(s == t)
    pairs = s.astype(np.int64) * n + t
    if not multapses:
        assert len(np.unique(pairs)) == len(pairs)
    else:
        assert len(np.unique(pairs)) < len(pairs)  # 40 of 100 with replacement: repeats are certain
    # sources uniform: chi-square over the out-degrees
    out = np.bincount(s, minlength=n)
    assert stats.chisquare(out).pvalue > 1e-4


@pytest.mark.parametrize("multapses", [True, False])
def test_fixed_outdegree(multapses):
    K = 30
    c = _conn(_spec({"rule": "fixed_outdegree", "outdegree": K, "allow_multapses": multapses}, 200, 60))
    s, t = _pairs(c)
    assert np.all(np.diff(c.indptr) == K)
    assert stats.chisquare(np.bincount(t, minlength=60)).pvalue > 1e-4
    if not multapses:
        assert len(np.unique(s.astype(np.int64) * 60 + t)) == len(s)


@pytest.mark.parametrize("multapses", [True, False])
def test_fixed_total_number(multapses):
    N = 9000
    c = _conn(_spec({"rule": "fixed_total_number", "N": N, "allow_autapses": False,
                     "allow_multapses": multapses}, 100, same=True))
    s, t = _pairs(c)
    assert len(s) == N and not np.any(s == t)
    if not multapses:
        assert len(np.unique(s.astype(np.int64) * 100 + t)) == N
    assert stats.chisquare(np.bincount(s, minlength=100)).pvalue > 1e-4


def test_pairwise_bernoulli_binomial_counts():
    p, n_src, n_tgt = 0.1, 300, 200
    c = _conn(_spec({"rule": "pairwise_bernoulli", "p": p}, n_src, n_tgt))
    total = c.n_synapses
    mean, sd = p * n_src * n_tgt, math.sqrt(n_src * n_tgt * p * (1 - p))
    assert abs(total - mean) < 5 * sd
    # in-degrees are Binomial(n_src, p)
    indeg = np.bincount(c.targets, minlength=n_tgt)
    assert abs(indeg.var() - n_src * p * (1 - p)) < 0.35 * n_src * p * (1 - p)
    s, t = _pairs(c)
    assert len(np.unique(s.astype(np.int64) * n_tgt + t)) == total  # never multapses


def test_pairwise_bernoulli_no_autapses():
    c = _conn(_spec({"rule": "pairwise_bernoulli", "p": 1.0, "allow_autapses": False}, 40, same=True))
    s, t = _pairs(c)
    assert len(s) == 40 * 39 and not np.any(s == t)


def _distances(c, pos, extent, periodic):
    s, t = _pairs(c)
    d = np.abs(pos[s] - pos[t])
    if periodic:
        d = np.minimum(d, np.asarray(extent) - d)
    return np.hypot(d[:, 0], d[:, 1])


@pytest.mark.parametrize("profile", ["gaussian", "exponential"])
def test_distance_dependent_profile_and_mask(profile):
    grid = {"kind": "grid", "shape": [40, 40], "extent": [1.0, 1.0], "periodic": True}
    p = ({"spatial": "gaussian", "p_center": 0.8, "sigma": 0.1} if profile == "gaussian"
         else {"spatial": "exponential", "p_center": 0.8, "beta": 0.1})
    R = 0.3
    spec = _spec({"rule": "pairwise_bernoulli", "p": p, "mask": {"circular": {"radius": R}}},
                 same=True, positions=grid)
    cn = build_connectome(spec, 5)
    c, pos = cn.connections[0], cn.positions["A"]
    r = _distances(c, pos, [1.0, 1.0], True)
    assert r.max() <= R + 1e-12
    # empirical connection probability per distance bin matches p(r)
    n = pos.shape[0]
    allr = np.abs(pos[:, None, :] - pos[None, :, :])
    allr = np.minimum(allr, 1.0 - allr)
    allr = np.hypot(allr[..., 0], allr[..., 1]).ravel()
    bins = np.linspace(0, R, 7)
    got, _ = np.histogram(r, bins)
    avail, _ = np.histogram(allr, bins)
    mid = 0.5 * (bins[1:] + bins[:-1])
    want = 0.8 * (np.exp(-mid ** 2 / (2 * 0.1 ** 2)) if profile == "gaussian" else np.exp(-mid / 0.1))
    emp = got / avail
    assert np.all(np.abs(emp - want) < 0.1 * 0.8 + 3 * np.sqrt(want / avail))


def test_periodic_boundaries_wrap():
    grid = {"kind": "grid", "shape": [20, 20], "extent": [1.0, 1.0]}
    rule = {"rule": "pairwise_bernoulli", "p": {"spatial": "gaussian", "p_center": 1.0, "sigma": 0.05},
            "mask": {"circular": {"radius": 0.12}}}
    open_ = build_connectome(_spec(rule, same=True, positions={**grid, "periodic": False}), 1)
    wrap = build_connectome(_spec(rule, same=True, positions={**grid, "periodic": True}), 1)
    corner = 0  # top-left neuron: on the torus it has as many neighbours as a central one
    assert np.diff(wrap.connections[0].indptr)[corner] > np.diff(open_.connections[0].indptr)[corner]
    assert np.ptp(np.diff(wrap.connections[0].indptr)) < np.ptp(np.diff(open_.connections[0].indptr))


def test_distance_dependent_delays():
    grid = {"kind": "grid", "shape": [20, 20], "extent": [1.0, 1.0], "periodic": True}
    spec = _spec({"rule": "pairwise_bernoulli", "p": 0.2}, same=True, positions=grid,
                 delay={"spatial": "linear", "offset": 0.5, "velocity": 0.3})
    cn = build_connectome(spec, 2)
    c = cn.connections[0]
    r = _distances(c, cn.positions["A"], [1.0, 1.0], True)
    expect = np.maximum(np.floor((0.5 + r / 0.3) / 0.1 + 0.5), 1)
    assert np.array_equal(c.delays.astype(int), expect.astype(int))


def test_weight_and_delay_distributions_with_redraw_bounds():
    spec = _spec({"rule": "fixed_indegree", "indegree": 100}, 200, 200,
                 weight={"dist": "normal", "mean": 10.0, "std": 8.0, "low": 0.0, "high": 20.0},
                 delay={"dist": "uniform", "low": 0.5, "high": 3.0})
    c = _conn(spec)
    w = c.weights
    assert w.min() >= 0.0 and w.max() <= 20.0
    assert abs(w.mean() - 10.0) < 0.2  # symmetric truncation keeps the mean
    d = c.delays.astype(int)
    assert d.min() >= 5 and d.max() <= 30


def test_result_independent_of_threads():
    import numba
    spec = _spec({"rule": "fixed_indegree", "indegree": 30, "allow_multapses": False}, 300, 300)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        a = _conn(spec)
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        b = _conn(spec)
    finally:
        numba.set_num_threads(before)
    assert np.array_equal(a.targets, b.targets) and np.array_equal(a.indptr, b.indptr)


def test_seed_changes_connectivity():
    spec = _spec({"rule": "pairwise_bernoulli", "p": 0.1})
    assert not np.array_equal(_conn(spec, 1).targets[:50], _conn(spec, 2).targets[:50])
