"""Spike-count correlation coefficients, as in the INM-6 reference-data workflow of the
microcircuit (``microcircuit-PD14-model``, ``PyNEST/reference_data``; it follows Dasbach
et al. 2021): spike counts in bins of 2 ms for a random subsample of neurons of a
population, Pearson correlation of every pair (``np.corrcoef``), upper triangle.

Bins are right-closed, (t_start + k b, t_start + (k + 1) b], matching how the engine
stamps spikes: a spike stamped t happened in the step (t - dt, t]. A trailing partial bin
is left out. Silent neurons have no defined correlation: their pairs are NaN (as with
``np.corrcoef``); the KS comparison drops NaN.
"""
from __future__ import annotations

import numpy as np

BIN_SIZE = 2.0  # ms, INM-6 / Dasbach et al.
SUBSAMPLE = 50  # neurons per population (INM-6 tests; 250 for their long reference runs)
SUBSAMPLE_SEED = 12345


def spike_counts(times: np.ndarray, ids: np.ndarray, neurons: np.ndarray, t_start: float,
                 t_stop: float, bin_size: float = BIN_SIZE) -> np.ndarray:
    """Spike counts, shape (len(neurons), n_bins), of the given neurons (ids within the
    population) in bins of ``bin_size`` ms over (t_start, t_stop]."""
    neurons = np.asarray(neurons, np.int64)
    n_bins = int(np.floor((t_stop - t_start) / bin_size + 1e-9))
    out = np.zeros((neurons.size, n_bins), np.int64)
    if n_bins == 0 or neurons.size == 0:
        return out
    row_of = np.full(max(int(neurons.max()), int(ids.max(initial=0))) + 1, -1, np.int64)
    row_of[neurons] = np.arange(neurons.size)
    times, ids = np.asarray(times, np.float64), np.asarray(ids, np.int64)
    # ceil(x) - 1 puts a spike on an edge into the bin that ends there; the tolerance keeps
    # grid times that land a rounding error above an edge in that bin too
    b = np.ceil((times - t_start) / bin_size - 1e-9).astype(np.int64) - 1
    r = row_of[ids]
    ok = (r >= 0) & (b >= 0) & (b < n_bins)
    np.add.at(out, (r[ok], b[ok]), 1)
    return out


def subsample(n: int, size: int | None = SUBSAMPLE, seed: int = SUBSAMPLE_SEED) -> np.ndarray:
    """``size`` distinct neuron ids out of n, sorted (all of them when size is None or >= n)."""
    if size is None or size >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))


def correlation_coefficients(times: np.ndarray, ids: np.ndarray, n: int, t_start: float,
                             t_stop: float, bin_size: float = BIN_SIZE,
                             subsample_size: int | None = SUBSAMPLE,
                             seed: int = SUBSAMPLE_SEED) -> np.ndarray:
    """Pairwise spike-count correlation coefficients of a random subsample of a population
    of n neurons: the upper triangle (i < j) of the correlation matrix, NaN for pairs with
    a silent neuron. ``subsample_size`` None takes all neurons; the subsample depends only
    on (n, size, seed), so runs of one model are compared on the same neurons."""
    sel = subsample(n, subsample_size, seed)
    counts = spike_counts(times, ids, sel, t_start, t_stop, bin_size)
    if sel.size < 2 or counts.shape[1] < 2:
        return np.zeros(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.corrcoef(counts)
    return c[np.triu_indices(sel.size, k=1)]
