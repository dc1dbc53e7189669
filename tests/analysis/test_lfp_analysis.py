"""The mesocircuit paper's correlation-vs-distance analysis (sim_core/analysis/lfp.py)."""
import numpy as np

from sim_core.analysis import lfp as al


def test_binned_drops_the_transient_and_averages_right_closed_bins():
    times = 0.5 * np.arange(1, 2011)                # samples stamped 0.5 ... 1005 ms
    data = np.vstack([times, -times])
    out = al.binned(times, data, bin_ms=5.0, drop_ms=500.0)
    assert out.shape == (2, 101)                    # (500, 505] ... (1000, 1005]
    np.testing.assert_allclose(out[0, 0], np.mean([500.5, 501, 501.5, 502, 502.5, 503, 503.5, 504, 504.5, 505]))
    np.testing.assert_allclose(out[1], -out[0])


def test_periodic_distances_take_the_minimal_image():
    pos = np.array([[-1.9, 0.0], [1.9, 0.0], [0.0, 1.5]])
    d = al.distances(pos, (4.0, 4.0), periodic=True)
    np.testing.assert_allclose(d[0, 1], 0.2)
    np.testing.assert_allclose(al.distances(pos)[0, 1], 3.8)
    np.testing.assert_allclose(d[0, 2], np.hypot(1.9, 1.5))


def test_fit_recovers_a_known_decay():
    """Channels with correlation a exp(-r/b) + c by construction: the fit finds a, b, c."""
    a, b, c = 0.6, 0.8, 0.3  # b in mm
    x, y = np.meshgrid(np.arange(8) * 0.4, np.arange(8) * 0.4)
    pos = np.column_stack([x.ravel(), y.ravel()])
    cov = a * np.exp(-al.distances(pos) / b) + c
    np.fill_diagonal(cov, 1.0)
    sig = np.linalg.cholesky(cov) @ np.random.default_rng(1).standard_normal((64, 40000))
    r, rho = al.pair_correlations(sig, pos)
    fit = al.fit_decay(r, rho)
    assert abs(fit["a"] - a) < 0.05 and abs(fit["b"] - b) < 0.08 and abs(fit["c"] - c) < 0.05, fit
    assert fit["rmse"] < 0.02


def test_decimation_keeps_slow_signals_and_removes_fast_ones():
    times = 0.5 * np.arange(1, 4001)
    slow = np.sin(2 * np.pi * times / 100.0)            # 10 Hz
    fast = np.sin(2 * np.pi * times / 2.0)              # 500 Hz, above the 100 Hz Nyquist of 5 ms
    out = al.decimated(times, np.vstack([slow, fast]), bin_ms=5.0, drop_ms=500.0)
    assert out.shape == (2, 300)
    t5 = times[times > 500.0][::10]
    np.testing.assert_allclose(out[0, 20:-20], np.sin(2 * np.pi * t5 / 100.0)[20:-20], atol=0.02)
    assert np.abs(out[1, 20:-20]).max() < 0.02
