"""``sim_core.analysis.discretize``: the three methods on synthetic weights."""
import numpy as np
import pytest

from sim_core.analysis.discretize import (Discretized, discretize, lloyd_max_levels, moment_errors,
                                          stretch_to_variance)


def _projection(rng, n_targets=500, k=100, kind="lognormal"):
    """Fixed in-degree k; weights drawn independently of the targets."""
    targets = rng.permutation(np.repeat(np.arange(n_targets), k))
    if kind == "lognormal":
        w = rng.lognormal(np.log(0.2) - 0.5, 1.0, targets.size)  # mean 0.2, CV 1.3
    else:
        w = rng.normal(-87.8 * 4, 0.1 * 87.8 * 4, targets.size)
    return w, targets, n_targets


def test_naive_rounds_to_an_even_grid_over_the_drawn_range():
    rng = np.random.default_rng(0)
    w = rng.uniform(-3.0, 5.0, 1000)
    d = discretize(w, 5, "naive")
    assert np.allclose(d.table, np.linspace(w.min(), w.max(), 5))
    nearest = np.argmin(np.abs(w[:, None] - d.table[None, :]), axis=1)
    assert np.array_equal(d.codes, nearest) and d.codes.dtype == np.uint8


def test_mean_is_one_value():
    w = np.array([1.0, 2.0, 6.0])
    d = discretize(w, 16, "mean")
    assert d.table.tolist() == [3.0] and d.values().tolist() == [3.0, 3.0, 3.0]


def test_degenerate_inputs():
    assert discretize(np.full(10, 0.7), 4, "mean_variance").table.tolist() == [0.7]
    assert discretize(np.zeros(0), 4, "naive").codes.size == 0
    d = discretize(np.array([1.0, 1.0, 2.0]), 8, "mean_variance")  # fewer distinct values than levels
    assert d.table.tolist() == [1.0, 2.0] and d.values().tolist() == [1.0, 1.0, 2.0]
    with pytest.raises(ValueError, match="levels"):
        discretize(np.ones(3), 257)
    with pytest.raises(ValueError, match="method"):
        discretize(np.ones(3), 4, "round")


def test_lloyd_finds_cluster_means_and_is_mse_optimal_locally():
    rng = np.random.default_rng(1)
    w = np.concatenate([rng.normal(0, 0.1, 3000), rng.normal(5, 0.1, 1000), rng.normal(9, 0.1, 500)])
    t = lloyd_max_levels(w, 3)
    assert np.allclose(t, [0, 5, 9], atol=0.02)
    # at a Lloyd fixed point every value is the mean of the samples nearest to it
    x = rng.lognormal(0, 1, 20000)
    t4 = lloyd_max_levels(x, 4)
    near = np.argmin(np.abs(x[:, None] - t4[None, :]), axis=1)
    assert np.allclose([x[near == k].mean() for k in range(4)], t4, rtol=1e-6)


def test_stretch_restores_variance_keeps_mean_and_sign():
    rng = np.random.default_rng(2)
    w = rng.lognormal(0, 1, 50000)
    t = lloyd_max_levels(w, 4)
    codes = np.searchsorted(0.5 * (t[1:] + t[:-1]), w)
    s = stretch_to_variance(t, codes, w)
    assert s[codes].mean() == pytest.approx(w.mean(), rel=1e-12)
    assert s[codes].var() == pytest.approx(w.var(), rel=1e-9)
    assert t[codes].var() < 0.99 * w.var() and np.all(s > 0)
    # a stretch that would cross zero stops short of it
    w2 = np.array([0.01, 0.02, 10.0, 10.0, 10.0, 10.0])
    s2 = stretch_to_variance(np.array([0.015, 10.0]), np.array([0, 0, 1, 1, 1, 1]), w2)
    assert np.all(s2 > 0)


@pytest.mark.parametrize("kind", ["lognormal", "normal"])
@pytest.mark.parametrize("levels", [2, 4, 16, 256])
def test_mean_variance_keeps_each_targets_input_moments(kind, levels):
    rng = np.random.default_rng(levels)
    w, tg, n = _projection(rng, kind=kind)
    d = discretize(w, levels, "mean_variance", tg, n)
    assert d.codes.dtype == np.uint8 and d.table.size <= levels and np.all(np.diff(d.table) > 0)
    e1, e2 = moment_errors(w, d.values(), tg, n)
    n1, n2 = moment_errors(w, discretize(w, levels, "naive").values(), tg, n)
    if kind == "normal":  # weights of one sign, CV 0.1, as in the microcircuit
        assert np.abs(e1).max() < 2e-3 and np.abs(e2).max() < 1e-2
    else:  # heavy tail (CV 1.3), 100 synapses per target: 2 values cannot hit every sum
        assert np.median(np.abs(e1)) < (0.05 if levels == 2 else 0.01)
        bias = 0.03 if levels == 2 else 0.01  # nearly unbiased over targets
        assert abs(np.mean(e1)) < bias and abs(np.mean(e2)) < 3 * bias
        assert np.median(np.abs(e1)) < np.median(np.abs(n1)) or levels == 256
    assert np.all(np.sign(d.values()) == np.sign(w))


def test_mean_variance_keeps_rank_order_within_each_target():
    rng = np.random.default_rng(4)
    w, tg, n = _projection(rng, n_targets=200, k=50)
    d = discretize(w, 8, "mean_variance", tg, n)
    order = np.lexsort((w, tg))
    v, t = d.values()[order], tg[order]
    same = t[1:] == t[:-1]
    assert np.all(np.diff(v)[same] >= 0)  # a stronger weight never gets a smaller value
    # and values stay near the weight's own: most at its nearest value or the one next to it
    nearest = np.argmin(np.abs(w[:, None] - d.table[None, :]), axis=1)
    assert np.mean(np.abs(d.codes.astype(int) - nearest) <= 1) > 0.99


def test_deterministic_and_nearly_independent_of_synapse_order():
    rng = np.random.default_rng(5)
    w, tg, n = _projection(rng, n_targets=100, k=30)
    a = discretize(w, 4, "mean_variance", tg, n)
    b = discretize(w, 4, "mean_variance", tg, n)
    assert np.array_equal(a.codes, b.codes) and np.array_equal(a.table, b.table)
    p = rng.permutation(w.size)  # another synapse order: the same values up to rounding
    c = discretize(w[p], 4, "mean_variance", tg[p], n)
    assert np.allclose(c.table, a.table, rtol=1e-12)
    assert np.mean(c.codes == a.codes[p]) > 0.99


def test_doctest_example():
    d = discretize(np.array([0.0, 1.0, 2.0, 9.0]), levels=2, method="naive")
    assert isinstance(d, Discretized) and d.values().tolist() == [0.0, 0.0, 0.0, 9.0]
