"""Limited synaptic weight resolution: replace the drawn weights of a projection by a few
discrete values, stored as small integer codes into a per-projection table.

Three methods (``synapse.resolution.method`` in the spec):

``naive``
    An evenly spaced grid of ``levels`` values over the drawn range [min, max]; every
    weight is rounded to the nearest grid value. With a skewed or heavy-tailed weight
    distribution most weights land on one or two values, and the mean and the variance of
    each neuron's input change: the distortion Dasbach et al. (2021) warn against.

``mean_variance``
    Keeps, for every target neuron, the sum S1 = sum_j w_ij and the sum of squares
    S2 = sum_j w_ij^2 of its incoming weights (in this projection) as close as the table
    allows. With presynaptic Poisson-like spike trains of rate nu, the mean of the total
    synaptic input is proportional to nu S1 and its variance to nu S2 (Campbell's theorem),
    so preserving both per target preserves the mean and variance of each neuron's input,
    the property that Dasbach et al. (2021) show keeps rates, irregularity and correlations
    unchanged. Because sums add up over projections, preserving them per projection also
    preserves them for the neuron's total input, even when source populations fire at
    different rates. Algorithm (what is implemented here; the paper's own algorithm could not
    be confirmed, see ``shared/reference/MODELS.md`` section 4):

    1. *Table*: Lloyd-Max quantizer (1-D k-means) of the projection's drawn weights with
       ``levels`` values, started from equal-mass bins and from an even grid (the one with
       the smaller squared error is kept). Each value is the mean of its bin, so the
       nearest-value assignment keeps the projection's mean but loses the variance within
       bins; the values are stretched about the mean weight until it keeps the variance
       too (never across zero: the sign decides the receptor).
    2. *Counts per target*: start from how many of the target's synapses lie nearest to
       each value, then move synapses between neighbouring values, one (or one pair) at a
       time, greedily, while that lowers J = d1^2 + d2^2 / (4 KAPPA S2), with d1 and d2 the
       errors in S1 and S2. For Gaussian inputs of mean ~ nu tau S1 and variance
       ~ nu tau S2 / 2, J is proportional to the Kullback-Leibler divergence between input
       before and after, to second order, with KAPPA = 2 nu tau (here 0.1: nu = 5 spikes/s,
       tau = 10 ms). The mean therefore comes first, the variance second. Single moves shift
       the mean; a pair (one synapse up at one boundary, one down at another) changes the
       variance at nearly constant mean. Vectorized over blocks of targets; a target stops
       when both errors are below TOLERANCE * K * rms weight.
    3. *Assignment*: within each target, discrete values keep the rank order of the drawn
       weights (the smallest weights take the lowest value, and so on), so every synapse gets
       a value near its own and the discretization does not reshuffle which synapse is strong.

    :func:`moment_errors` measures what remains. With normal weights (CV 0.1) the
    per-target errors are below 2e-3 (S1) and 1e-2 (S2) from 2 levels on. With heavy tails
    (lognormal sigma = 1, 200 synapses per target, 4 levels) the median errors are 0.2 %
    (S1) and 3 % (S2); a target whose input is dominated by one outlier weight far above the
    table's top value cannot keep S2 without giving up S1 and keeps S1 (worst target: S2
    off by 70 %).

``mean``
    Every weight becomes the projection's mean weight (one value). The mean input of each
    target is then K_i * mean, exact on average; its variance from weight heterogeneity is
    lost. Dasbach et al. report that with heterogeneous in-degrees this can suffice.

Reference: Dasbach S, Tetzlaff T, Diesmann M, Senk J (2021) Dynamical characteristics of
recurrent neuronal networks are robust against low synaptic weight resolution. Front.
Neurosci. 15:757790 (arXiv 2105.05002).

Pure NumPy; the engine calls :func:`discretize` from ``connectivity.build`` after drawing
the weights.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

METHODS = ("mean_variance", "naive", "mean")
MAX_LEVELS = 256  # codes are uint8
_PAIR_BOUNDARIES = 16  # pair moves consider at most this many boundaries (all of them for <= 17 levels)
# Weight of the mean against the variance error: 2 nu tau for presynaptic rate nu = 5 spikes/s and
# tau = 10 ms (see _correct_counts).
KAPPA = 0.1
# Stop improving a target once both errors are below this fraction of K * rms weight.
TOLERANCE = 1e-4


@dataclass(frozen=True)
class Discretized:
    """``table``: the discrete values (float64, ascending); ``codes``: per synapse, the index
    of its value in ``table`` (uint8)."""
    table: np.ndarray
    codes: np.ndarray

    def values(self) -> np.ndarray:
        return self.table[self.codes]


def discretize(weights: np.ndarray, levels: int, method: str = "mean_variance",
               targets: np.ndarray | None = None, n_targets: int | None = None) -> Discretized:
    """Discretize one projection's weights.

    Parameters
    ----------
    weights : (n,) float, drawn weights (pA, or mV for iaf_psc_delta)
    levels : int in 2..256, number of discrete values (``mean`` uses one)
    method : 'mean_variance' | 'naive' | 'mean'
    targets : (n,) int, target index of every synapse; needed for ``mean_variance``
        (without it all synapses count as one target)
    n_targets : int, number of targets (default: targets.max() + 1)

    Returns
    -------
    Discretized: table of at most ``levels`` values and a uint8 code per synapse.

    >>> d = discretize(np.array([0.0, 1.0, 2.0, 9.0]), levels=2, method="naive")
    >>> d.table.tolist(), d.values().tolist()
    ([0.0, 9.0], [0.0, 0.0, 0.0, 9.0])
    """
    w = np.asarray(weights, np.float64)
    if method not in METHODS:
        raise ValueError(f"method '{method}' is not one of {', '.join(METHODS)}")
    if not 2 <= int(levels) <= MAX_LEVELS:
        raise ValueError(f"levels must be in 2..{MAX_LEVELS}, got {levels}")
    if w.size == 0:
        return Discretized(np.zeros(1), np.zeros(0, np.uint8))
    if method == "mean" or w.min() == w.max():
        return Discretized(np.array([w.mean()]), np.zeros(w.size, np.uint8))
    if method == "naive":
        table = np.linspace(w.min(), w.max(), int(levels))
        codes = np.rint((w - table[0]) / (table[1] - table[0]))
        return Discretized(table, np.clip(codes, 0, levels - 1).astype(np.uint8))
    lloyd = lloyd_max_levels(w, int(levels))
    natural = np.searchsorted(0.5 * (lloyd[1:] + lloyd[:-1]), w)  # nearest Lloyd value
    table = stretch_to_variance(lloyd, natural, w)
    if targets is None:
        targets, n_targets = np.zeros(w.size, np.int64), 1
    targets = np.asarray(targets, np.int64)
    n_targets = int(targets.max()) + 1 if n_targets is None else int(n_targets)
    return Discretized(table, assign_preserving_moments(w, targets, n_targets, table, natural))


def lloyd_max_levels(w: np.ndarray, levels: int, max_iter: int = 300) -> np.ndarray:
    """MSE-optimal ``levels`` values for the samples ``w`` (Lloyd's algorithm in 1-D).

    Lloyd finds a local optimum: it is started twice, from equal-mass bins and from an even
    grid over the range, and the one with the smaller squared error is kept. Works on the
    sorted samples with prefix sums, so an iteration costs O(levels log n). Values whose bin
    ends up empty are dropped: the table may be shorter than ``levels``.
    """
    x = np.sort(np.asarray(w, np.float64))
    n = x.size
    csum = np.concatenate(([0.0], np.cumsum(x)))
    csq = np.concatenate(([0.0], np.cumsum(x * x)))
    starts = [np.concatenate(([0], (np.arange(1, levels) * n) // levels, [n])),  # equal mass
              np.concatenate(([0], np.searchsorted(x, np.linspace(x[0], x[-1], levels + 1)[1:-1]), [n]))]
    best, best_err = None, np.inf
    for bounds in starts:
        table, bounds = _lloyd(x, csum, bounds, max_iter)
        a, b = bounds[:-1], bounds[1:]
        err = np.sum(csq[b] - csq[a] - (csum[b] - csum[a]) ** 2 / np.maximum(b - a, 1))
        if err < best_err:
            best, best_err = table, err
    return np.unique(best)


def _lloyd(x, csum, bounds, max_iter):
    """Lloyd iterations from bin bounds (indices into the sorted x); returns (values, bounds)."""
    n, scale = x.size, max(abs(x[0]), abs(x[-1]))
    table = None
    for _ in range(max_iter):
        a, b = bounds[:-1], bounds[1:]
        full = b > a
        a, b = a[full], b[full]
        new = (csum[b] - csum[a]) / (b - a)
        converged = table is not None and new.size == table.size and \
            np.max(np.abs(new - table)) <= 1e-13 * scale
        table = new
        mids = 0.5 * (table[1:] + table[:-1])
        bounds = np.concatenate(([0], np.searchsorted(x, mids, side="left"), [n]))
        if converged:
            break
    return table, bounds


def stretch_to_variance(table: np.ndarray, codes: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Scale the values about the mean weight so that ``table[codes]`` has the variance of
    ``w`` (the Lloyd values, bin means, keep the mean but lose the variance within bins).
    The stretch stops short of changing the sign of a value: the sign decides the receptor."""
    m = w.mean()
    dev = table[codes] - m
    between = np.mean(dev * dev)
    if table.size < 2 or between <= 0.0:
        return table
    s = np.sqrt(w.var() / between)
    for t in table:  # a value between 0 and the mean moves towards 0: it must not pass it
        if t * m > 0 and abs(t) < abs(m):
            s = min(s, 0.99 * m / (m - t))
    return m + s * (table - m)


def moments_per_target(values: np.ndarray, targets: np.ndarray, n_targets: int):
    """(in-degree, S1 = sum of values, S2 = sum of squares) per target."""
    k = np.bincount(targets, minlength=n_targets)
    s1 = np.bincount(targets, values, minlength=n_targets)
    s2 = np.bincount(targets, values * values, minlength=n_targets)
    return k, s1, s2


def moment_errors(weights: np.ndarray, values: np.ndarray, targets: np.ndarray, n_targets: int):
    """Relative errors per target of the mean (S1) and of the second moment (S2) of the
    input weights after discretization: (S1' - S1) / |S1| and (S2' - S2) / S2; NaN for
    targets without synapses."""
    k, s1, s2 = moments_per_target(np.asarray(weights, np.float64), targets, n_targets)
    _, d1, d2 = moments_per_target(np.asarray(values, np.float64), targets, n_targets)
    with np.errstate(divide="ignore", invalid="ignore"):
        e1 = np.where(k > 0, (d1 - s1) / np.abs(s1), np.nan)
        e2 = np.where(k > 0, (d2 - s2) / s2, np.nan)
    return e1, e2


def assign_preserving_moments(w: np.ndarray, targets: np.ndarray, n_targets: int,
                              table: np.ndarray, natural: np.ndarray | None = None) -> np.ndarray:
    """Codes into ``table`` that keep each target's S1 and S2 (see the module docstring,
    steps 2 and 3), starting from the codes ``natural`` (default: the nearest value)."""
    n_lv = table.size
    if n_lv == 1:
        return np.zeros(w.size, np.uint8)
    if natural is None:
        natural = np.searchsorted(0.5 * (table[1:] + table[:-1]), w)
    counts = np.bincount(targets * n_lv + natural, minlength=n_targets * n_lv).reshape(n_targets, n_lv)
    _, s1, s2 = moments_per_target(w, targets, n_targets)
    counts = _correct_counts(counts, s1, s2, table)
    order = np.lexsort((w, targets))  # by target, then by weight: rank order within a target
    codes = np.empty(w.size, np.uint8)
    codes[order] = np.repeat(np.tile(np.arange(n_lv, dtype=np.uint8), n_targets), counts.ravel())
    return codes


def _moves(table: np.ndarray):
    """Candidate moves between neighbouring values. Returns (delta, req_level, req_count):
    ``delta`` (C, L) the change of the counts, and two requirements per move
    (counts[:, req_level[:, i]] >= req_count[:, i]) that keep all counts >= 0.
    Boundary k lies between values k and k + 1; 'up at k' moves a synapse from k to k + 1."""
    n_b = table.size - 1
    rows, req_l, req_n = [], [], []
    for k in range(n_b):
        up = np.zeros(table.size, np.int64)
        up[k], up[k + 1] = -1, 1
        rows += [up, -up]
        req_l += [(k, k), (k + 1, k + 1)]
        req_n += [(1, 1), (1, 1)]
    sub = np.unique(np.linspace(0, n_b - 1, min(n_b, _PAIR_BOUNDARIES)).round().astype(int))
    for k in sub:  # up at k, down at l
        for m in sub:
            if k == m:
                continue
            d = np.zeros(table.size, np.int64)
            d[k] -= 1
            d[k + 1] += 1
            d[m + 1] -= 1
            d[m] += 1
            rows.append(d)
            if m + 1 == k:  # both take a synapse from value k
                req_l.append((k, k))
                req_n.append((2, 2))
            else:
                req_l.append((k, m + 1))
                req_n.append((1, 1))
    return np.array(rows), np.array(req_l), np.array(req_n)


def _correct_counts(counts, s1, s2, table, block: int = 2048, max_iter: int = 100_000):
    """Greedy moves that reduce, per target, J = d1^2 + d2^2 / (4 KAPPA S2), where d1 and d2
    are the errors of S1 and S2. J is, up to a factor, the Kullback-Leibler divergence
    between Gaussian inputs of mean nu tau S1 and variance nu tau S2 / 2 before and after
    (KAPPA = 2 nu tau), so errors in the mean weigh about KAPPA * K times more than one
    move's worth of variance error: the mean first, then the variance. Vectorized over
    blocks of targets (memory: block x moves floats)."""
    counts = counts.copy()
    delta, req_l, req_n = _moves(table)
    eff1 = delta @ table  # change of the discrete S1 per move
    eff2 = delta @ (table * table)
    d1 = s1 - counts @ table
    d2 = s2 - counts @ (table * table)
    inv = 1.0 / (4.0 * KAPPA * np.maximum(s2, np.finfo(float).tiny))
    k = counts.sum(axis=1)
    good_enough = (TOLERANCE * TOLERANCE) * k * s2  # J below this: errors < TOLERANCE * K * rms weight
    todo = np.flatnonzero(k > 0)
    for b0 in range(0, todo.size, block):
        active = todo[b0:b0 + block]
        for _ in range(max_iter):
            c = counts[active]
            a1, a2, v = d1[active], d2[active], inv[active]
            j_now = a1 * a1 + a2 * a2 * v
            n1 = a1[:, None] - eff1[None, :]
            n2 = a2[:, None] - eff2[None, :]
            j_new = n1 * n1 + n2 * n2 * v[:, None]
            ok = (c[:, req_l[:, 0]] >= req_n[:, 0]) & (c[:, req_l[:, 1]] >= req_n[:, 1])
            j_new[~ok] = np.inf
            best = np.argmin(j_new, axis=1)
            better = (j_new[np.arange(active.size), best] < j_now * (1.0 - 1e-12)) & (j_now > good_enough[active])
            if not better.any():
                break
            active, mv = active[better], best[better]
            counts[active] += delta[mv]
            d1[active] -= eff1[mv]
            d2[active] -= eff2[mv]
    return counts
