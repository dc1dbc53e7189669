"""Limited weight resolution in the engine: codes into a table, memory per synapse, and the
result of Dasbach et al. (2021) on a small network: discretizing a heavy-tailed weight
distribution to 4 values so that each neuron's input mean and variance are kept leaves the
rate and ISI CV distributions within seed-to-seed variability; naive rounding does not."""
import numba
import numpy as np
import pytest

from sim_core.analysis.compare import ks_distances, simulation_statistics
from sim_core.connectivity.build import build_connectome
from sim_core.engine.simulation import Simulation
from sim_core.spec import from_dict

DELTA = {"C_m": 1.0, "tau_m": 20.0, "t_ref": 2.0, "E_L": 0.0, "V_reset": 10.0, "V_th": 20.0}


def brunel_lognormal(resolution=None, seed=1, n_e=2000, n_i=500, k_e=200, k_i=50, J=0.2, g=5.0,
                     eta=0.9, sigma=1.0):
    """Brunel's (2000) sparse E/I network of iaf_psc_delta neurons, fixed in-degrees, with
    lognormal weights of mean J (E) and -g J (I) and coefficient of variation
    sqrt(exp(sigma^2) - 1) (1.3 for sigma = 1: heavy-tailed). eta: external rate relative
    to the rate that brings the mean input to threshold (0.9: fluctuation-driven)."""
    mu = float(np.log(J) - sigma ** 2 / 2)  # lognormal mean exp(mu + sigma^2 / 2) = J

    def syn(scale):
        s = {"weight": {"dist": "lognormal", "mu": mu, "sigma": sigma, "scale": scale}, "delay": 1.5}
        return {**s, "resolution": resolution} if resolution else s

    rate = eta * DELTA["V_th"] / (J * k_e * DELTA["tau_m"]) * k_e * 1000.0
    pop = lambda n: {"model": "iaf_psc_delta", "size": n, "params": DELTA,  # noqa: E731
                     "initial": {"V_m": {"dist": "uniform", "low": 0.0, "high": 20.0}}}
    return from_dict({
        "format": "spikescope/1", "name": "brunel-lognormal", "seed": seed,
        "populations": {"E": pop(n_e), "I": pop(n_i)},
        "inputs": {"ext": {"model": "poisson_generator", "params": {"rate": rate}}},
        "projections": [
            {"source": "E", "target": "E", "rule": {"rule": "fixed_indegree", "indegree": k_e}, "synapse": syn(1.0)},
            {"source": "E", "target": "I", "rule": {"rule": "fixed_indegree", "indegree": k_e}, "synapse": syn(1.0)},
            {"source": "I", "target": "E", "rule": {"rule": "fixed_indegree", "indegree": k_i}, "synapse": syn(-g)},
            {"source": "I", "target": "I", "rule": {"rule": "fixed_indegree", "indegree": k_i}, "synapse": syn(-g)},
            {"source": "ext", "target": "E", "rule": {"rule": "all_to_all"}, "synapse": {"weight": J, "delay": 1.5}},
            {"source": "ext", "target": "I", "rule": {"rule": "all_to_all"}, "synapse": {"weight": J, "delay": 1.5}},
        ]})


# ------------------------------------------------------------------ storage
def test_discretized_projections_store_uint8_codes_into_a_table():
    kw = dict(n_e=400, n_i=100, k_e=40, k_i=10)
    spec = brunel_lognormal({"levels": 16, "method": "mean_variance"}, **kw)
    ref = build_connectome(brunel_lognormal(None, **kw), 1)
    con = build_connectome(spec, 1)
    naive = build_connectome(brunel_lognormal({"levels": 16, "method": "naive"}, **kw), 1)
    for c, r, nv in zip(con.connections[:4], ref.connections[:4], naive.connections[:4]):
        assert c.weights is None and c.weight_codes.dtype == np.uint8
        assert c.weight_table.dtype == np.float64 and 2 <= c.weight_table.size <= 16
        assert np.array_equal(c.targets, r.targets)  # the same network, only the weights differ
        v = c.weight_array()
        assert np.array_equal(v, c.weight_table[c.weight_codes])
        assert np.all(np.sign(v) == np.sign(r.weights))  # the receptor does not change
        # each target keeps the sum of its weights (its mean input) closely, naive rounding does not
        n = spec.populations[c.target].size
        s_ref = np.bincount(r.targets, r.weights.astype(float), minlength=n)
        err = np.abs(np.bincount(c.targets, v, minlength=n) / s_ref - 1)
        err_naive = np.abs(np.bincount(nv.targets, nv.weight_array(), minlength=n) / s_ref - 1)
        assert np.median(err) < 0.01 and np.median(err) < np.median(err_naive) / 5
    assert con.connections[4].weight_codes is None  # constant weights stay one number


@pytest.mark.parametrize("method, saved", [("mean_variance", 3), ("naive", 3), ("mean", 4)])
def test_bytes_per_synapse_drop(method, saved):
    """float32 weight (4 bytes) -> uint8 code (1 byte) plus a table of at most 256 float64 per
    projection; 'mean' leaves one number per projection."""
    kw = dict(n_e=400, n_i=100, k_e=40, k_i=10)
    full = Simulation(brunel_lognormal(None, **kw), seed=1)
    low = Simulation(brunel_lognormal({"levels": 256, "method": method}, **kw), seed=1)
    n = full.backend.n_synapses
    assert low.backend.n_synapses == n
    n_rec = sum(c.n_synapses for c in full.network.connectome.connections[:4])  # the drawn weights
    table_bytes = low.backend.packed.synapses.w_table_q.nbytes
    assert table_bytes <= 4 * 256 * 8
    assert full.backend.synapse_bytes() - low.backend.synapse_bytes() == saved * n_rec - table_bytes
    # the bound, at most 256 levels: >= 2 bytes per synapse less (tables included)
    assert full.bytes_per_synapse - low.bytes_per_synapse >= 2.0


def test_kernel_delivers_table_values():
    """The voltage jump of each target equals the sum of its discretized weights (table
    lookup in the kernel, several projections with tables at different offsets)."""
    weight = {"dist": "normal", "mean": 0.5, "std": 0.2}
    pop = {"model": "iaf_psc_delta", "size": 30, "initial": {"V_m": 0.0},
           "params": {"tau_m": 1e15, "V_th": 1e6, "E_L": 0.0, "V_reset": 0.0}}
    def proj(res, k):
        s = {"weight": weight, "delay": 1.0}
        s = {**s, "resolution": res} if res else s
        return {"source": "sg", "target": "post", "rule": {"rule": "fixed_indegree", "indegree": k},
                "synapse": s}
    spec = from_dict({
        "format": "spikescope/1", "name": "jumps", "seed": 3,
        "populations": {"post": pop},
        "inputs": {"sg": {"model": "spike_generator", "params": {"spike_times": [1.0]}}},
        "projections": [proj({"levels": 4, "method": "mean_variance"}, 7), proj(None, 5),
                        proj({"levels": 8, "method": "naive"}, 6), proj({"levels": 3, "method": "mean"}, 4)],
        "recorders": {"voltmeter": {"populations": ["post"], "n": 30, "interval": 0.1}}})
    sim = Simulation(spec)
    sim.run(5.0)
    _, v = sim.voltages.data()
    expect = sum(np.bincount(c.targets, c.weight_array().astype(np.float64), minlength=30)
                 for c in sim.network.connectome.connections)
    assert sim.network.connectome.connections[0].weight_codes is not None
    # float64 table values summed in fixed point (each weight within 2**-33 of its value,
    # 22 inputs at most): a float32 copy of the table would be off by ~1e-8
    np.testing.assert_allclose(v[-1], expect, rtol=0, atol=22 * 2.0 ** -33)


def test_discretized_network_does_not_depend_on_thread_count():
    spec = brunel_lognormal({"levels": 4, "method": "mean_variance"}, n_e=400, n_i=100, k_e=40, k_i=10)
    out = []
    for threads in (1, numba.config.NUMBA_NUM_THREADS):
        sim = Simulation(spec, seed=5, threads=threads)
        sim.run(200.0)
        out.append(sim.spikes("E"))
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    assert out[0][0].size > 100
    assert np.array_equal(out[0][0], out[1][0]) and np.array_equal(out[0][1], out[1][1])


# ------------------------------------------------------------------ dynamics
T_START, T_STOP = 200.0, 1200.0  # ms; the first 200 ms are the transient
SEEDS = (1, 2, 3, 4, 5, 6)  # seed 1 is the reference


def _stats(resolution, seed):
    # one thread: the statistics do not depend on it, and on a busy 2-core machine the
    # per-step barrier of a parallel kernel makes runs many times slower
    sim = Simulation(brunel_lognormal(resolution, seed=seed), seed=seed, threads=1)
    sim.run(T_STOP)
    return simulation_statistics(sim, T_START, subsample=100)


@pytest.fixture(scope="module")
def dynamics():
    """KS distances to the full-resolution network of seed 1: of the full-resolution networks
    of seeds 2..6 (seed-to-seed), and of the discretized networks of the same seeds. The
    comparison is paired: at seed s, the discretized and the full-resolution network share
    connectivity, drawn weights and Poisson input; only the discretization differs."""
    try:
        ref = {s: _stats(None, s) for s in SEEDS}
        low = {m: {s: _stats({"levels": 4, "method": m}, s) for s in SEEDS[1:(6 if m == "mean_variance" else 4)]}
               for m in ("mean_variance", "naive")}
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    seed = {s: ks_distances(ref[1], ref[s]) for s in SEEDS[1:]}
    dist = {m: {s: ks_distances(ref[1], st) for s, st in runs.items()} for m, runs in low.items()}
    return seed, dist


def _mean(dists, seeds, pop, stat):
    return float(np.mean([dists[s][pop][stat] for s in seeds]))


@pytest.mark.parametrize("stat", ["rate", "cv"])
def test_mean_variance_keeps_distributions_within_seed_to_seed_variability(dynamics, stat):
    """4 levels, lognormal weights (CV 1.3). Over seeds 2..6, the mean KS distance of the
    discretized networks to the reference is at most 1.5 x that of the full-resolution
    networks of the same seeds. Margin: a KS distance between samples of one distribution
    has a relative spread of about 0.3 (Kolmogorov's distribution: mean 0.87, std 0.26), so
    a mean of 5 has about 0.13 and the ratio of two such means, whose common reference
    correlates them, rarely leaves [0.7, 1.4]; 1.5 still catches a shift like naive's
    (below), which is 3 to 10 times the yardstick. No single run is farther than twice the
    largest seed-to-seed distance. (Single runs do scatter: at seed 2 the discretized
    network's E rates are 7 % lower than the full network's of that seed, 1.5 x the largest
    seed-to-seed CV distance; averaged over seeds the effect is within the yardstick.)"""
    seed, dist = dynamics
    mv, seeds = dist["mean_variance"], sorted(dist["mean_variance"])
    for pop in ("E", "I"):
        yard = _mean(seed, seeds, pop, stat)
        assert _mean(mv, seeds, pop, stat) <= 1.5 * yard, (pop, stat, [mv[s][pop][stat] for s in seeds], yard)
        top = max(seed[s][pop][stat] for s in seed)
        assert all(mv[s][pop][stat] <= 2.0 * top for s in seeds)


def test_naive_visibly_departs(dynamics):
    """Naive rounding to 4 evenly spaced values over the drawn range (set by the largest
    draw) puts almost all weights on the lowest values: the rate and the CV distribution of
    E move 3 times the seed-to-seed distance away and more."""
    seed, dist = dynamics
    naive, seeds = dist["naive"], sorted(dist["naive"])
    for stat in ("rate", "cv"):
        assert _mean(naive, seeds, "E", stat) > 3.0 * _mean(seed, seeds, "E", stat)

