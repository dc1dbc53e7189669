"""Signal correlations against distance, as the mesocircuit paper analyses its LFP and spikes
(Senk et al. 2024; INM-6/mesocircuit-model @ 78938020, ``lfp/plotting.py``,
``plot_signal_correlation_or_covariance``): drop the first 500 ms, decimate to 5 ms
(``scipy.signal.decimate``, anti-aliased, as the model code), Pearson correlation of every
pair of channels, distances on the (periodic) sheet, and the least-squares fit of
rho(r) = a exp(-r / b) + c over all pairs (a, c in [0, 1], as there).

Spikes: pairwise spike-count correlations in 2 ms bins (the model code's
``ccs_time_interval``) against distance, to set beside the LFP's: weak spike correlations,
strong LFP correlations.
"""
from __future__ import annotations

import numpy as np

from .correlations import spike_counts, subsample

DROP_MS = 500.0
BIN_MS = 5.0
SPIKE_BIN_MS = 2.0


def decimated(times: np.ndarray, data: np.ndarray, bin_ms: float = BIN_MS, drop_ms: float = DROP_MS) -> np.ndarray:
    """[channels, samples every bin_ms] after drop_ms: ``scipy.signal.decimate`` (order-8
    Chebyshev low-pass, zero phase) by bin_ms / the sampling interval."""
    from scipy.signal import decimate
    keep = times > drop_ms + 1e-9
    d = data[:, keep]
    if times.size < 2 or d.shape[1] == 0:
        return np.zeros((data.shape[0], 0))
    q = int(round(bin_ms / (times[1] - times[0])))
    if q <= 1:
        return d
    if d.shape[1] <= 27:  # too short for the filter's padding
        return np.zeros((data.shape[0], 0))
    return decimate(d, q, axis=1, zero_phase=True)


def binned(times: np.ndarray, data: np.ndarray, bin_ms: float = BIN_MS, drop_ms: float = DROP_MS) -> np.ndarray:
    """[channels, bins]: the mean of the samples stamped in (drop + k bin, drop + (k+1) bin]."""
    keep = times > drop_ms + 1e-9
    t, d = times[keep], data[:, keep]
    if t.size == 0:
        return np.zeros((data.shape[0], 0))
    k = np.ceil((t - drop_ms) / bin_ms - 1e-9).astype(np.int64) - 1
    n = int(np.floor((t[-1] - drop_ms) / bin_ms + 1e-9))  # complete bins only
    ok = k < n
    out = np.zeros((data.shape[0], n))
    cnt = np.bincount(k[ok], minlength=n).astype(np.float64)
    for i in range(data.shape[0]):
        out[i] = np.bincount(k[ok], weights=d[i, ok], minlength=n)
    return out / np.maximum(cnt, 1.0)


def distances(pos: np.ndarray, extent=None, periodic: bool = False) -> np.ndarray:
    """(n, n) lateral distances (mm) between positions (n, 2+), minimal images if periodic."""
    d = pos[:, None, :2] - pos[None, :, :2]
    if periodic:
        ext = np.asarray(extent, np.float64)
        d = d - ext * np.round(d / ext)
    return np.sqrt((d * d).sum(-1))


def pair_correlations(signals: np.ndarray, pos: np.ndarray, extent=None,
                      periodic: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(distance, correlation) of every pair i < j of channels ([channels, bins]); NaN for a
    flat channel."""
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.corrcoef(signals)
    iu = np.triu_indices(signals.shape[0], k=1)
    return distances(pos, extent, periodic)[iu], c[iu]


def fit_decay(r: np.ndarray, rho: np.ndarray) -> dict:
    """Least-squares a exp(-r/b) + c over all pairs, a and c in [0, 1], b in (0, 2] mm (the
    model code's bounds): {'a', 'b', 'c', 'rmse', 'r2'} (NaN if it fails)."""
    from scipy.optimize import curve_fit
    ok = np.isfinite(rho) & np.isfinite(r)
    r, rho = r[ok], rho[ok]
    if r.size < 4:
        return {"a": np.nan, "b": np.nan, "c": np.nan, "rmse": np.nan, "r2": np.nan}

    def f(x, a, b, c):
        return a * np.exp(-x / b) + c
    span = float(max(np.ptp(r), 1e-3))
    try:
        p, _ = curve_fit(f, r, rho, p0=(0.1, min(0.1, span), 0.1),  # the model code's start (b in mm)
                         bounds=([0.0, 1e-6, 0.0], [1.0, 2.0, 1.0]), maxfev=20000)
    except (RuntimeError, ValueError):
        return {"a": np.nan, "b": np.nan, "c": np.nan, "rmse": np.nan, "r2": np.nan}
    res = f(r, *p) - rho
    r2 = 1.0 - float(np.sum(res ** 2)) / max(float(np.sum((rho - rho.mean()) ** 2)), 1e-300)
    return {"a": float(p[0]), "b": float(p[1]), "c": float(p[2]), "rmse": float(np.sqrt(np.mean(res ** 2))), "r2": r2}


def lfp_correlation_vs_distance(times, data, positions, extent=None, periodic=False,
                                bin_ms: float = BIN_MS, drop_ms: float = DROP_MS) -> dict:
    """The paper's LFP analysis: {'distance', 'correlation' (per pair), 'fit'}."""
    r, rho = pair_correlations(decimated(times, data, bin_ms, drop_ms), positions, extent, periodic)
    return {"distance": r, "correlation": rho, "fit": fit_decay(r, rho)}


def spike_correlation_vs_distance(times, ids, positions, t_stop: float, n_neurons: int = 200,
                                  extent=None, periodic=False, bin_ms: float = SPIKE_BIN_MS,
                                  drop_ms: float = DROP_MS, seed: int = 12345) -> dict:
    """Spike-count correlations (2 ms bins after ``drop_ms``) of a random subsample of
    one population's neurons against their distance: {'distance', 'correlation', 'fit',
    'mean'}; pairs with a silent neuron are left out."""
    sel = subsample(positions.shape[0], n_neurons, seed)
    counts = spike_counts(times, ids, sel, drop_ms, t_stop, bin_ms)
    r, rho = pair_correlations(counts.astype(np.float64), positions[sel], extent, periodic)
    ok = np.isfinite(rho)
    return {"distance": r[ok], "correlation": rho[ok], "fit": fit_decay(r[ok], rho[ok]),
            "mean": float(np.mean(rho[ok])) if ok.any() else float("nan")}
