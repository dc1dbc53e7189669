"""Metastability measures on spike trains built by hand, where the answer is known."""
import numpy as np
import pytest

from sim_core.analysis.clusters import (cluster_rates, clusters_of, dwell_times, fano_factors, high_states,
                                        metastability)
from sim_core.spec import from_dict


def spec(q=4, n=10):
    pops = {f"{k}{c}": {"model": "iaf_psc_exp", "size": n} for k in "EI" for c in range(q)}
    return from_dict({"format": "spikescope/1", "name": "c", "populations": pops})


def poisson(rng, rate_hz, n, t0, t1):
    times, ids = [], []
    for i in range(n):
        k = rng.poisson(rate_hz * (t1 - t0) / 1000.0)
        times.append(np.sort(rng.uniform(t0, t1, k)))
        ids.append(np.full(k, i))
    t, i = np.concatenate(times), np.concatenate(ids)
    order = np.argsort(t, kind="stable")
    return t[order], i[order]


def switching_spikes(q=4, n=10, t_stop=2000.0, seed=1):
    """Cluster c is high (40 spikes/s) in [400 c + 100, 400 c + 300) ms, else 2 spikes/s."""
    rng = np.random.default_rng(seed)
    out = {}
    for c in range(q):
        parts = [poisson(rng, 2.0, n, 0.0, t_stop), poisson(rng, 38.0, n, 400 * c + 100, 400 * c + 300)]
        t = np.concatenate([p[0] for p in parts])
        i = np.concatenate([p[1] for p in parts])
        order = np.argsort(t, kind="stable")
        out[f"E{c}"] = (t[order], i[order])
        out[f"I{c}"] = poisson(rng, 5.0, n, 0.0, t_stop)
    return out


def test_clusters_are_found_by_the_number_ending_the_name():
    assert clusters_of(spec(3)) == {0: ["E0", "I0"], 1: ["E1", "I1"], 2: ["E2", "I2"]}
    assert clusters_of(from_dict({"format": "spikescope/1", "name": "x",
                                  "populations": {"E": {"model": "iaf_psc_exp", "size": 1}}})) == {}


def test_rates_states_and_dwell_times_of_known_switches():
    s, spikes = spec(), switching_spikes()
    centres, clusters, rates = cluster_rates(spikes, s, 0.0, 2000.0, bin_ms=50.0)
    assert clusters == [0, 1, 2, 3] and rates.shape == (4, 40) and centres[0] == 25.0
    # the rate of E0 in the bins of its high state is near 40 spikes/s, near 2 elsewhere
    assert rates[0, 2:6].mean() == pytest.approx(40.0, rel=0.25) and rates[0, 10:].mean() < 5.0
    high, thr = high_states(rates)
    assert 2.0 < thr < 40.0
    np.testing.assert_array_equal(np.flatnonzero(high[1]), np.arange(10, 14))
    np.testing.assert_allclose(dwell_times(high, 50.0), [200.0] * 4)
    m = metastability(spikes, s, 0.0, 2000.0)
    assert m["switch_rate_hz"] == pytest.approx(4 / 4 / 2.0)  # one entry per cluster in 2 s
    assert m["dwell_ms_mean"] == 200.0 and m["active_fraction"] == pytest.approx(16 / 160)


def test_dwell_times_cut_by_the_interval_are_left_out():
    high = np.array([[1, 1, 0, 0, 1, 1, 1, 0, 1]], bool)
    np.testing.assert_array_equal(dwell_times(high, 10.0), [30.0])
    np.testing.assert_array_equal(dwell_times(high, 10.0, complete_only=False), [20.0, 30.0, 10.0])


def test_fano_factor_is_one_for_poisson_and_zero_for_regular_trains():
    rng = np.random.default_rng(3)
    t, i = poisson(rng, 20.0, 200, 0.0, 20_000.0)
    ff = fano_factors(t, i, 200, 0.0, 20_000.0, window_ms=100.0)
    assert np.nanmean(ff) == pytest.approx(1.0, abs=0.05)
    regular = np.arange(5.0, 20_000.0, 10.0)  # one spike every 10 ms: 10 per 100 ms window, always
    ff = fano_factors(regular, np.zeros(regular.size, int), 2, 0.0, 20_000.0)
    assert ff[0] == pytest.approx(0.0, abs=1e-12) and np.isnan(ff[1])


def test_a_model_without_clusters_is_refused():
    s = from_dict({"format": "spikescope/1", "name": "x", "populations": {"E": {"model": "iaf_psc_exp", "size": 1}}})
    with pytest.raises(ValueError, match="no clusters"):
        metastability({"E": (np.zeros(0), np.zeros(0, int))}, s, 0.0, 100.0)
