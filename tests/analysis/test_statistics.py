"""The spike statistics of ``sim_core.analysis`` against independent computations (Elephant,
SciPy, NumPy) on synthetic spike trains with known statistics."""
import numpy as np
import pytest
import quantities as pq
from neo import SpikeTrain
from elephant.conversion import BinnedSpikeTrain
from elephant.spike_train_correlation import correlation_coefficient
from elephant.statistics import cv as elephant_cv, isi as elephant_isi, mean_firing_rate
from scipy.stats import ks_2samp

from sim_core.analysis.compare import (ks_distance, ks_distances, population_statistics,
                                       run_statistics, seed_to_seed)
from sim_core.analysis.correlations import correlation_coefficients, spike_counts, subsample
from sim_core.analysis.stats import cv_isi, rates_hz

T0, T1 = 0.0, 20000.0  # ms


def _gamma_trains(rng, n, rate_hz, order, t_stop=T1):
    """n gamma-process trains of the given order (CV = 1 / sqrt(order)); continuous times."""
    out = []
    for _ in range(n):
        k = int(rate_hz * t_stop / 1000.0 * 1.5) + 50
        isi = rng.gamma(order, 1000.0 / (rate_hz * order), size=k)
        t = np.cumsum(isi)
        out.append(t[t < t_stop])
    return out


def _flatten(trains):
    ids = np.concatenate([np.full(len(t), i) for i, t in enumerate(trains)])
    times = np.concatenate(trains)
    order = np.argsort(times, kind="stable")
    return times[order], ids[order]


def _mip_trains(rng, n, rate_hz, c, t_stop=T1):
    """Multiple-interaction process: each train copies each spike of a Poisson mother train
    of rate rate/c with probability c; spike-count correlation = c for every bin size."""
    mother = np.sort(rng.uniform(0, t_stop, rng.poisson(rate_hz / c * t_stop / 1000.0)))
    return [mother[rng.random(mother.size) < c] for _ in range(n)]


def test_rates_match_elephant_and_known_rate():
    rng = np.random.default_rng(1)
    trains = _gamma_trains(rng, 30, 8.0, 1.0)
    times, ids = _flatten(trains)
    r = rates_hz(times, ids, 30, T0, T1)
    ref = [float(mean_firing_rate(SpikeTrain(t * pq.ms, t_start=T0 * pq.ms, t_stop=T1 * pq.ms)).rescale("Hz"))
           for t in trains]
    np.testing.assert_allclose(r, ref, rtol=1e-12)
    assert r.mean() == pytest.approx(8.0, rel=0.05)  # 160 spikes per train, 30 trains


@pytest.mark.parametrize("order", [1.0, 4.0, 16.0])
def test_cv_matches_elephant_and_gamma_order(order):
    rng = np.random.default_rng(int(order))
    trains = _gamma_trains(rng, 40, 10.0, order)
    times, ids = _flatten(trains)
    cv = cv_isi(times, ids, 40, T0, T1)
    ref = [elephant_cv(elephant_isi(np.sort(t))) for t in trains]
    np.testing.assert_allclose(cv, ref, rtol=1e-9)
    assert np.mean(cv) == pytest.approx(1.0 / np.sqrt(order), rel=0.05)


def test_cv_needs_three_spikes_and_regular_train_has_cv_zero():
    times = np.array([1.0, 2.0, 10.0, 20.0, 30.0, 40.0])
    ids = np.array([0, 0, 1, 1, 1, 1])
    cv = cv_isi(times, ids, 3, 0.0, 50.0)
    assert np.isnan(cv[0]) and np.isnan(cv[2])  # 2 spikes, 0 spikes
    assert cv[1] == pytest.approx(0.0)


def test_correlations_match_elephant_on_mip_trains():
    rng = np.random.default_rng(7)
    c = 0.2
    trains = _mip_trains(rng, 12, 10.0, c) + _gamma_trains(rng, 8, 10.0, 1.0)
    times, ids = _flatten(trains)
    cc = correlation_coefficients(times, ids, 20, T0, T1, bin_size=2.0, subsample_size=None)
    binned = BinnedSpikeTrain([SpikeTrain(t * pq.ms, t_start=T0 * pq.ms, t_stop=T1 * pq.ms) for t in trains],
                              bin_size=2.0 * pq.ms)
    ref = correlation_coefficient(binned)
    np.testing.assert_allclose(cc, ref[np.triu_indices(20, 1)], atol=1e-12)
    within = ref[:12, :12][np.triu_indices(12, 1)]
    assert within.mean() == pytest.approx(c, abs=0.02)  # MIP: count correlation = c
    assert abs(ref[12:, 12:][np.triu_indices(8, 1)].mean()) < 0.01  # independent trains


def test_correlations_bin_size_and_subsample():
    rng = np.random.default_rng(3)
    trains = _mip_trains(rng, 30, 5.0, 0.3)
    times, ids = _flatten(trains)
    sel = subsample(30, 10, seed=5)
    assert sel.size == 10 and np.all(np.diff(sel) > 0)
    assert np.array_equal(sel, subsample(30, 10, seed=5))  # the subsample depends on the seed only
    cc = correlation_coefficients(times, ids, 30, T0, T1, bin_size=10.0, subsample_size=10, seed=5)
    counts = np.array([np.histogram(trains[i], bins=np.arange(T0, T1 + 10.0, 10.0))[0] for i in sel])
    np.testing.assert_allclose(cc, np.corrcoef(counts)[np.triu_indices(10, 1)], atol=1e-12)
    assert cc.size == 45


def test_spike_counts_on_the_time_grid_are_right_closed():
    """A spike stamped t happened in (t - dt, t]: a spike on a bin edge counts in the bin that
    ends there, also when float rounding puts it a hair above the edge."""
    times = np.array([0.1, 2.0, 2.1, 0.1 * 40, 3.9999999999999996])
    ids = np.zeros(5, np.int64)
    counts = spike_counts(times, ids, np.array([0]), 0.0, 6.0, 2.0)
    assert counts.tolist() == [[2, 3, 0]]


def test_silent_neurons_give_nan_pairs_that_ks_ignores():
    times, ids = np.array([1.0, 5.0, 9.0, 13.0]), np.array([0, 1, 0, 1])
    cc = correlation_coefficients(times, ids, 3, 0.0, 16.0, bin_size=2.0, subsample_size=None)
    assert np.isnan(cc[1]) and np.isnan(cc[2]) and np.isfinite(cc[0])
    assert ks_distance(cc, np.array([cc[0]])) == 0.0


def test_ks_distance_is_scipys_and_known_values():
    rng = np.random.default_rng(11)
    a, b = rng.normal(0, 1, 500), rng.normal(0.3, 1, 400)
    assert ks_distance(a, b) == ks_2samp(a, b).statistic
    assert ks_distance(a, a) == 0.0
    assert ks_distance(np.array([0.0, 1.0]), np.array([2.0, 3.0])) == 1.0
    assert np.isnan(ks_distance(np.array([np.nan]), a))
    # two samples of one normal: D * sqrt(n m / (n + m)) follows Kolmogorov's distribution
    d = [ks_distance(rng.normal(size=400), rng.normal(size=400)) for _ in range(200)]
    assert np.median(d) * np.sqrt(200) == pytest.approx(0.83, abs=0.1)


def test_run_statistics_and_seed_to_seed():
    rng = np.random.default_rng(5)
    runs = []
    for _ in range(4):
        trains = _gamma_trains(rng, 60, 6.0, 2.0, t_stop=5000.0)
        runs.append({"E": _flatten(trains)})
    stats = [run_statistics(r, {"E": 60}, 0.0, 5000.0, subsample=20) for r in runs]
    s = stats[0]["E"]
    assert s["rate"].shape == (60,) and s["cv"].shape == (60,) and s["cc"].shape == (190,)
    ref = population_statistics(*runs[0]["E"], 60, 0.0, 5000.0, subsample=20)
    assert all(np.array_equal(ref[k], s[k], equal_nan=True) for k in ref)
    d = ks_distances(stats[0], stats[1])
    assert d["E"]["rate"] == ks_2samp(stats[0]["E"]["rate"], stats[1]["E"]["rate"]).statistic
    y = seed_to_seed(stats)["E"]
    assert y["rate"]["n_pairs"] == 6 and y["cv"]["max"] >= y["cv"]["mean"] > 0
    assert seed_to_seed(stats[:1]) == {}


def test_window_statistics_tell_asynchronous_from_synchronous():
    from sim_core.analysis.stats import window_statistics
    rng = np.random.default_rng(5)
    n, t1 = 200, 2000.0
    counts = rng.poisson(10.0 * t1 / 1000.0, n)
    ids = np.repeat(np.arange(n), counts)
    times = rng.uniform(0.0, t1, ids.size)
    s = window_statistics(times, ids, n, 0.0, t1)
    assert abs(s["rate_hz"] - 10.0) < 0.5 and abs(s["cv_isi"] - 1.0) < 0.1 and abs(s["synchrony"] - 1.0) < 0.15
    # everyone fires together every 100 ms: regular (CV 0) and synchronous (a large Fano factor)
    beats = np.arange(50.0, t1, 100.0)
    times, ids = np.repeat(beats, n), np.tile(np.arange(n), beats.size)
    s = window_statistics(times, ids, n, 0.0, t1)
    assert s["rate_hz"] == 10.0 and s["cv_isi"] < 1e-9 and s["synchrony"] > 100
    assert window_statistics(times, ids, n, 5.0, 5.0) == {"rate_hz": 0.0, "cv_isi": None, "synchrony": None}


def test_the_app_shows_live_statistics():
    from app.main import create_app
    page = create_app()
    page.state.step_ms = 600.0
    page.state.step()
    page.tick()
    assert "last 500 ms:" in page.stats.object and "spikes/s · CV ISI" in page.stats.object
    page.state.close()
