"""The array-namespace builder (NumPy here, CuPy on a GPU) gives exactly the connectome of
the Numba builder: same pairs in the same order, same weights, codes, tables, delays and
positions, for every rule and variant."""
import math
import subprocess
import sys
import types

import numba
import numpy as np
import pytest

from sim_core.connectivity import xp_build
from sim_core.connectivity.build import build_connectome
from sim_core.connectivity.xp_build import build_connectome_xp
from sim_core.random import philox, philox_xp
from sim_core.spec import from_dict

SEEDS = [1, 7, 2**40 + 3]


def _spec(rule, n_src=200, n_tgt=150, same=False, weight=1.0, delay=1.0, positions=None,
          resolution=None):
    pops = {"A": {"model": "iaf_psc_exp", "size": n_src}}
    if not same:
        pops["B"] = {"model": "iaf_psc_exp", "size": n_tgt}
    if positions:
        for p in pops.values():
            p["positions"] = positions
            if "shape" in positions:
                p["size"] = positions["shape"][0] * positions["shape"][1]
    synapse = {"weight": weight, "delay": delay}
    if resolution:
        synapse["resolution"] = resolution
    return from_dict({"format": "spikescope/1", "name": "x", "populations": pops,
                      "projections": [{"source": "A", "target": "A" if same else "B", "rule": rule,
                                       "synapse": synapse}]})


def _same_array(a, b, what):
    if a is None or b is None:
        assert a is None and b is None, what
        return
    assert a.dtype == b.dtype and a.shape == b.shape, (what, a.dtype, b.dtype, a.shape, b.shape)
    assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), what


def _assert_same(spec, seed, xp=np):
    want, got = build_connectome(spec, seed), build_connectome_xp(spec, seed, xp)
    assert want.positions.keys() == got.positions.keys()
    for name in want.positions:
        _same_array(want.positions[name], got.positions[name], f"positions[{name}]")
    assert len(want.connections) == len(got.connections)
    for w, g in zip(want.connections, got.connections):
        for f in ("indptr", "targets", "weights", "delays", "weight_table", "weight_codes"):
            _same_array(getattr(w, f), getattr(g, f), f)
        assert (w.index, w.source, w.target, w.weight, w.delay) == (g.index, g.source, g.target,
                                                                      g.weight, g.delay)
    return want


# --- Philox ------------------------------------------------------------------------------


@numba.njit
def _reference(seed, stream, entity, counter, sub):
    n = entity.shape[0]
    u, v, z = np.empty(n), np.empty(n), np.empty(n)
    for i in range(n):
        u[i], v[i] = philox.uniform2(seed, stream, entity[i], counter[i], sub[i])
        z[i] = philox.std_normal(seed, stream, entity[i], counter[i], sub[i])
    return u, v, z


@pytest.mark.parametrize("seed", [0, 5, 2**32 - 1, 2**32 + 7, 2**40 + 123, 2**63 - 1])
def test_uniform2_and_std_normal_equal_numba(seed):
    rng = np.random.default_rng(seed % 1000)
    n = 20_000
    entity = rng.integers(0, 2**34, n)
    counter = np.concatenate([rng.integers(2**32 - 100, 2**32 + 100, n // 2),
                              rng.integers(0, 2**62, n - n // 2)])
    sub = rng.integers(0, 1 << 33, n)
    stream = (3 << 24) | 17
    u, v, z = _reference(seed, stream, entity, counter, sub)
    gu, gv = philox_xp.uniform2(np, seed, stream, entity, counter, sub)
    assert np.array_equal(u, gu) and np.array_equal(v, gv)
    assert np.array_equal(z, philox_xp.std_normal(np, seed, stream, entity, counter, sub))
    # scalars broadcast against arrays
    gu, _ = philox_xp.uniform2(np, seed, stream, 9, counter, 0)
    assert np.array_equal(gu, _reference(seed, stream, np.full(n, 9), counter, np.zeros(n, np.int64))[0])


def test_distribution_codes_match():
    assert ((philox.CONST, philox.NORMAL, philox.LOGNORMAL, philox.UNIFORM, philox.EXPONENTIAL,
             philox.MAX_REDRAWS) ==
            (philox_xp.CONST, philox_xp.NORMAL, philox_xp.LOGNORMAL, philox_xp.UNIFORM,
             philox_xp.EXPONENTIAL, philox_xp.MAX_REDRAWS))


@pytest.mark.parametrize("args", [
    (philox.NORMAL, 1.0, 2.0, 0.0, 3.0, 1.0, 0.0),
    (philox.LOGNORMAL, 0.0, 1.0, 0.2, 4.0, 2.0, 0.1),
    (philox.UNIFORM, 0.5, 3.0, -math.inf, math.inf, 1.5, -1.0),
    (philox.EXPONENTIAL, 2.0, 0.0, 0.5, 3.0, 1.5, -0.2),
    (philox.NORMAL, 0.0, 1.0, 40.0, math.inf, 1.0, 0.0),  # never inside: NaN after MAX_REDRAWS
])
def test_draw_equals_numba(args):
    from sim_core.connectivity import kernels
    n = 30 if args[3] == 40.0 else 20_000
    i = np.arange(n, dtype=np.int64) + (2**32 - n // 2)  # counters across the word boundary
    want = np.array([philox.draw(*args, 9, 4, k >> 32, k & 0xFFFFFFFF) for k in i.tolist()])
    got = philox_xp.draw(np, *args, 9, 4, i >> 32, i & 0xFFFFFFFF)
    assert np.array_equal(want, got, equal_nan=True)
    assert np.array_equal(kernels.draw_values(n, *args, 9, 4), philox_xp.draw(np, *args, 9, 4, 0, np.arange(n)),
                          equal_nan=True)


def test_redraw_limit_raises_like_numba():
    from sim_core.errors import SpecError
    spec = _spec({"rule": "one_to_one"}, 20, 20, weight={"dist": "normal", "mean": 0.0, "std": 1.0, "low": 40.0})
    with pytest.raises(SpecError) as want:
        build_connectome(spec, 1)
    with pytest.raises(SpecError) as got:
        build_connectome_xp(spec, 1)
    assert str(want.value) == str(got.value)


def test_philox_xp_needs_no_numba():
    code = "import sys, sim_core.random.philox_xp; assert 'numba' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# --- Rules -------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("rule", [
    {"rule": "one_to_one"},
    {"rule": "one_to_one", "allow_autapses": False},
    {"rule": "all_to_all"},
    {"rule": "all_to_all", "allow_autapses": False},
])
@pytest.mark.parametrize("same", [True, False])
def test_deterministic_rules(rule, same, seed):
    _assert_same(_spec(rule, 60, 60, same=same), seed)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("multapses", [True, False])
@pytest.mark.parametrize("autapses", [True, False])
@pytest.mark.parametrize("kind,key", [("fixed_indegree", "indegree"), ("fixed_outdegree", "outdegree")])
def test_fixed_degree(kind, key, autapses, multapses, seed):
    rule = {"rule": kind, key: 40, "allow_autapses": autapses, "allow_multapses": multapses}
    _assert_same(_spec(rule, 120, same=True), seed)
    _assert_same(_spec(rule, 150, 90), seed)


CHUNKED = [
    # k = all candidates: every Floyd draw after the first collides
    ({"rule": "fixed_indegree", "indegree": 99, "allow_autapses": False, "allow_multapses": False},
     dict(n_src=100, same=True)),
    ({"rule": "fixed_outdegree", "outdegree": 17}, dict(n_src=90, n_tgt=40)),
    ({"rule": "fixed_total_number", "N": 3000, "allow_multapses": False, "allow_autapses": False},
     dict(n_src=60, same=True, weight={"dist": "normal", "mean": 1.0, "std": 1.0, "low": 0.0})),
    ({"rule": "pairwise_bernoulli", "p": {"spatial": "gaussian", "p_center": 1.0, "sigma": 0.2}},
     dict(n_src=150, same=True, positions={"kind": "random", "extent": [1.0, 1.0], "periodic": True})),
]


@pytest.mark.parametrize("rule,kw", CHUNKED)
def test_small_chunks(rule, kw, monkeypatch):
    """Rows, pairs and draws split into many chunks give the same result."""
    monkeypatch.setattr(xp_build, "MASK_BYTES", 1000)
    monkeypatch.setattr(xp_build, "BATCH", 700)
    _assert_same(_spec(rule, **kw), 3)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("multapses", [True, False])
@pytest.mark.parametrize("autapses", [True, False])
def test_fixed_total_number(autapses, multapses, seed):
    rule = {"rule": "fixed_total_number", "N": 6000, "allow_autapses": autapses,
            "allow_multapses": multapses}
    _assert_same(_spec(rule, 100, same=True), seed)  # many duplicates: the top-up loop runs
    _assert_same(_spec(rule, 120, 80), seed)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("p", [0.0, 0.003, 0.1, 0.7, 1.0])
@pytest.mark.parametrize("autapses", [True, False])
def test_pairwise_bernoulli(p, autapses, seed):
    rule = {"rule": "pairwise_bernoulli", "p": p, "allow_autapses": autapses}
    _assert_same(_spec(rule, 150, same=True), seed)
    _assert_same(_spec(rule, 200, 120), seed)


GRID = {"kind": "grid", "shape": [15, 14], "extent": [1.0, 1.2]}
RANDOM = {"kind": "random", "extent": [1.5, 1.0]}
PROFILES = [{"spatial": "gaussian", "p_center": 0.9, "sigma": 0.15},
            {"spatial": "exponential", "p_center": 0.7, "beta": 0.2},
            0.3]


@pytest.mark.parametrize("seed", SEEDS[:2])
@pytest.mark.parametrize("periodic", [True, False])
@pytest.mark.parametrize("layout", [GRID, RANDOM])
@pytest.mark.parametrize("p,mask", [(p, m) for p in PROFILES for m in (None, 0.35)
                                    if m is not None or isinstance(p, dict)])  # constant p needs a mask
def test_spatial_bernoulli(p, mask, layout, periodic, seed):
    rule = {"rule": "pairwise_bernoulli", "p": p, "allow_autapses": False}
    if mask:
        rule["mask"] = {"circular": {"radius": mask}}
    positions = {**layout, "periodic": periodic}
    _assert_same(_spec(rule, 210, same=True, positions=positions), seed)
    _assert_same(_spec({**rule, "allow_autapses": True}, 180, 150, positions=positions), seed)


@pytest.mark.parametrize("periodic", [True, False])
def test_mask_edge_is_inside(periodic):
    # unit grid spacing: many distances equal the radius exactly, and those pairs are candidates
    grid = {"kind": "grid", "shape": [12, 12], "extent": [12.0, 12.0], "periodic": periodic}
    rule = {"rule": "pairwise_bernoulli", "p": {"spatial": "gaussian", "p_center": 1.0, "sigma": 3.0},
            "mask": {"circular": {"radius": 2.0}}}
    _assert_same(_spec(rule, same=True, positions=grid), 5)


# --- Weights, delays, resolution -----------------------------------------------------------

WEIGHTS = [
    {"dist": "normal", "mean": 10.0, "std": 8.0, "low": 0.0, "high": 20.0},
    {"dist": "normal", "mean": -2.0, "std": 1.0, "scale": 3.0, "offset": 0.5},
    {"dist": "lognormal", "mu": 0.5, "sigma": 1.0, "high": 4.0},
    {"dist": "lognormal", "mu": -1.0, "sigma": 0.5, "low": 0.3, "scale": 2.0},
    {"dist": "uniform", "low": -1.0, "high": 3.0},
    {"dist": "exponential", "beta": 2.0, "low": 0.5, "high": 5.0},
    {"dist": "exponential", "beta": 1.5},
]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("weight", WEIGHTS)
def test_drawn_weights(weight, seed):
    rule = {"rule": "fixed_indegree", "indegree": 60}
    _assert_same(_spec(rule, 200, 150, weight=weight), seed)


@pytest.mark.parametrize("seed", SEEDS[:2])
@pytest.mark.parametrize("delay", [
    {"dist": "normal", "mean": 1.5, "std": 0.75, "low": 0.1},
    {"dist": "uniform", "low": 0.5, "high": 3.0},
    {"dist": "lognormal", "mu": 0.0, "sigma": 0.5, "low": 0.1},
    {"dist": "exponential", "beta": 8.0, "low": 0.1, "high": 40.0},  # some delays above 255 steps: uint16
])
def test_drawn_delays(delay, seed):
    _assert_same(_spec({"rule": "pairwise_bernoulli", "p": 0.1}, 200, 150, delay=delay), seed)


@pytest.mark.parametrize("periodic", [True, False])
@pytest.mark.parametrize("layout", [GRID, RANDOM])
def test_linear_delays(layout, periodic):
    spec = _spec({"rule": "pairwise_bernoulli", "p": 0.2}, 200, same=True,
                 positions={**layout, "periodic": periodic},
                 delay={"spatial": "linear", "offset": 0.5, "velocity": 0.3})
    _assert_same(spec, 2)


@pytest.mark.parametrize("method", ["mean_variance", "naive", "mean"])
def test_weight_resolution(method):
    weight = {"dist": "lognormal", "mu": 0.0, "sigma": 0.8}
    spec = _spec({"rule": "fixed_indegree", "indegree": 50}, 200, 120, weight=weight,
                 resolution={"levels": 8, "method": method})
    c = _assert_same(spec, 4).connections[0]
    assert (c.weight_codes is not None) == (method != "mean")


def test_inputs_and_several_projections():
    spec = from_dict({
        "format": "spikescope/1", "name": "x",
        "populations": {"E": {"model": "iaf_psc_exp", "size": 160,
                              "positions": {"kind": "random", "extent": [1.0, 1.0], "periodic": True}},
                        "I": {"model": "iaf_psc_exp", "size": 40,
                              "positions": {"kind": "random", "extent": [1.0, 1.0], "periodic": True}},
                        "N": {"model": "iaf_psc_exp", "size": 30}},
        "inputs": {"bg": {"model": "poisson_generator", "params": {"rate": 8000.0}}},
        "projections": [
            {"source": "bg", "target": "E", "rule": {"rule": "all_to_all"},
             "synapse": {"weight": 5.0, "delay": 1.5}},
            {"source": "E", "target": "I", "rule": {"rule": "pairwise_bernoulli",
                                                    "p": {"spatial": "gaussian", "p_center": 0.5, "sigma": 0.2}},
             "synapse": {"weight": {"dist": "normal", "mean": 2.0, "std": 0.5},
                         "delay": {"spatial": "linear", "offset": 0.2, "velocity": 0.5}}},
            {"source": "I", "target": "E", "rule": {"rule": "fixed_outdegree", "outdegree": 20},
             "synapse": {"weight": -4.0, "delay": {"dist": "uniform", "low": 0.5, "high": 2.0}}},
            {"source": "N", "target": "E", "rule": {"rule": "fixed_total_number", "N": 500,
                                                    "allow_multapses": False},
             "synapse": {"weight": 1.0, "delay": 1.0}},
        ]})
    _assert_same(spec, 11)


# --- A device's libm ----------------------------------------------------------------------


def _broken(*_a, **_k):
    raise AssertionError("the builder must not use the namespace's transcendental functions")


def _device_like(log=_broken, exp=_broken):
    """NumPy dressed as a device namespace whose log/exp/cos would differ from libm (like
    CUDA's, or NumPy's own SIMD loops): here they raise, so a build that succeeds used
    none of them."""
    ns = types.SimpleNamespace(**{k: getattr(np, k) for k in dir(np) if not k.startswith("__")})
    ns.log, ns.exp, ns.cos, ns.log1p, ns.expm1 = log, exp, _broken, _broken, _broken
    return ns


DEVICE_CASES = [
    _spec({"rule": "pairwise_bernoulli", "p": 0.05}, 300, 300, same=True),
    _spec({"rule": "pairwise_bernoulli", "p": {"spatial": "exponential", "p_center": 0.8, "beta": 0.15},
           "mask": {"circular": {"radius": 0.4}}}, 300, same=True,
          positions={"kind": "random", "extent": [1.0, 1.0], "periodic": True}),
    _spec({"rule": "fixed_indegree", "indegree": 50}, 300, 200,
          weight={"dist": "normal", "mean": 1.0, "std": 2.0, "low": 0.0, "high": 3.0},
          delay={"dist": "exponential", "beta": 1.0, "low": 0.2, "high": 2.0}),
    _spec({"rule": "fixed_indegree", "indegree": 50}, 300, 200,
          weight={"dist": "lognormal", "mu": 0.5, "sigma": 0.4}),
]


@pytest.mark.parametrize("case", range(len(DEVICE_CASES)))
def test_device_namespace_gives_the_cpu_connectome_bit_for_bit(case):
    """On a device namespace (no libm of its own used: ``detmath``'s log/exp/cos2pi from
    IEEE arithmetic), connectivity, drawn weights and drawn delays are the Numba
    builder's, bit for bit: the GPU builds the CPU's network."""
    spec = DEVICE_CASES[case]
    w, g = build_connectome(spec, 3).connections[0], build_connectome_xp(spec, 3, _device_like()).connections[0]
    assert np.array_equal(w.indptr, g.indptr) and np.array_equal(w.targets, g.targets)
    if w.weights is not None:
        assert np.array_equal(w.weights, g.weights)
    if w.delays is not None:
        assert np.array_equal(w.delays, g.delays)


def _cupy_like_bincount(x, minlength=0):
    """CuPy's bincount takes max() of its input first: it raises on an empty array."""
    if x.shape[0] == 0:
        raise ValueError("zero-size array to reduction operation maximum which has no identity")
    return np.bincount(x, minlength=minlength)


@pytest.mark.parametrize("rule", [
    {"rule": "fixed_total_number", "N": 0},
    {"rule": "pairwise_bernoulli", "p": 1e-9},
    {"rule": "fixed_indegree", "indegree": 0},
    {"rule": "pairwise_bernoulli", "p": {"spatial": "gaussian", "p_center": 0.5, "sigma": 0.1},
     "mask": {"circular": {"radius": 0.001}}, "allow_autapses": False}])
def test_projection_without_synapses_on_a_device_namespace(rule):
    """A projection that draws no synapse builds on a namespace whose bincount rejects
    empty input (found in review: the GPU build failed there)."""
    pos = {"kind": "grid", "shape": [5, 5], "extent": [1.0, 1.0]} if "mask" in rule else None
    spec = _spec(rule, 25, 25, positions=pos, same=pos is not None)
    ns = _device_like()
    ns.bincount = _cupy_like_bincount
    c = build_connectome_xp(spec, 3, ns).connections[0]
    assert c.n_synapses == 0 and np.array_equal(c.indptr, np.zeros(26, np.int64))


@pytest.mark.parametrize("weight", [{"dist": "normal", "mean": 1.0, "std": 2.0, "low": 0.0, "high": 3.0},
                                    {"dist": "lognormal", "mu": 0.5, "sigma": 0.4}])
def test_lazy_weights_keep_keys_that_give_the_same_weights(weight):
    """For a backend that draws weights again (the GPU), the builder keeps only the keys;
    the weights they give are the eager builder's, bit for bit."""
    spec = _spec({"rule": "fixed_indegree", "indegree": 40}, 300, 200, weight=weight)
    eager = build_connectome(spec, 5).connections[0]
    lazy = build_connectome_xp(spec, 5, np, lazy_weights=True).connections[0]
    assert lazy.weights is None and lazy.drawn_weights and lazy.weight_key is not None
    assert lazy.storage_bytes() == eager.storage_bytes() - eager.weights.nbytes
    assert np.array_equal(lazy.weight_array(), eager.weights)


def test_lazy_weights_still_refuse_impossible_bounds():
    from sim_core.errors import SpecError
    spec = _spec({"rule": "fixed_indegree", "indegree": 10}, 50, 50,
                 weight={"dist": "normal", "mean": 0.0, "std": 1.0, "low": 50.0, "high": 51.0})
    with pytest.raises(SpecError, match="projections\\[0\\].synapse.weight"):
        build_connectome_xp(spec, 5, np, lazy_weights=True)
