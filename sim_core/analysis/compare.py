"""Compare the activity of runs by the distributions of per-neuron statistics, the method
of the INM-6 reference-data workflow (``microcircuit-PD14-model``,
``PyNEST/reference_data``) and of Dasbach et al. (2021):

- per population, three distributions: time-averaged rates of all neurons, ISI CVs of the
  neurons with at least 3 spikes, spike-count correlation coefficients of the pairs of a
  random subsample (``correlations.py``);
- the distance between two runs is the two-sample Kolmogorov-Smirnov statistic
  (``scipy.stats.ks_2samp``) of each distribution, NaN dropped;
- the yardstick is the distance between runs of the same model that differ only in the
  seed (seed-to-seed): a change of the model (say, of the weight resolution) is invisible
  in a statistic when its distance to the reference is not larger than that.

>>> stats = [run_statistics(spikes, sizes, 500.0, 10500.0) for spikes in runs]  # doctest: +SKIP
>>> ks_distances(stats[0], stats[1])["E"]["rate"]                               # doctest: +SKIP
"""
from __future__ import annotations

from itertools import combinations

import numpy as np

from .correlations import BIN_SIZE, SUBSAMPLE, SUBSAMPLE_SEED, correlation_coefficients
from .stats import cv_isi, rates_hz

STATISTICS = ("rate", "cv", "cc")


def ks_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample KS statistic of the finite values of a and b; NaN when either has none."""
    from scipy.stats import ks_2samp
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if a.size == 0 or b.size == 0:
        return float("nan")
    return float(ks_2samp(a, b).statistic)


def population_statistics(times: np.ndarray, ids: np.ndarray, n: int, t_start: float, t_stop: float,
                          bin_size: float = BIN_SIZE, subsample: int | None = SUBSAMPLE,
                          seed: int = SUBSAMPLE_SEED, min_spikes: int = 3) -> dict[str, np.ndarray]:
    """{'rate': per-neuron rates (spikes/s, all n neurons), 'cv': ISI CVs of neurons with at
    least ``min_spikes`` spikes, 'cc': pairwise spike-count correlations} over (t_start, t_stop] ms."""
    cv = cv_isi(times, ids, n, t_start, t_stop, min_spikes)
    return {"rate": rates_hz(times, ids, n, t_start, t_stop),
            "cv": cv[np.isfinite(cv)],
            "cc": correlation_coefficients(times, ids, n, t_start, t_stop, bin_size, subsample, seed)}


def run_statistics(spikes: dict[str, tuple[np.ndarray, np.ndarray]], sizes: dict[str, int],
                   t_start: float, t_stop: float, **kwargs) -> dict[str, dict[str, np.ndarray]]:
    """:func:`population_statistics` of every population in ``spikes`` ({population: (times
    ms, ids within the population)}, as ``Simulation.spikes`` or ``io.sonata.read_spikes``
    give them); ``sizes``: {population: number of neurons}."""
    return {pop: population_statistics(t, i, sizes[pop], t_start, t_stop, **kwargs)
            for pop, (t, i) in spikes.items()}


def simulation_statistics(sim, t_start: float, t_stop: float | None = None, **kwargs):
    """:func:`run_statistics` of a ``Simulation`` (recorded populations), up to its current time."""
    t_stop = sim.t if t_stop is None else t_stop
    spikes = {p: sim.spikes(p) for p in sim.spike_record.recorded}
    sizes = {p: sim.spec.populations[p].size for p in spikes}
    return run_statistics(spikes, sizes, t_start, t_stop, **kwargs)


def ks_distances(a: dict, b: dict) -> dict[str, dict[str, float]]:
    """{population: {statistic: KS distance}} for the populations both runs have."""
    return {pop: {s: ks_distance(a[pop][s], b[pop][s]) for s in STATISTICS if s in a[pop] and s in b[pop]}
            for pop in a if pop in b}


def seed_to_seed(replicates: list[dict]) -> dict[str, dict[str, dict]]:
    """The yardstick: KS distances between all pairs of runs that differ only in the seed.
    {population: {statistic: {'mean', 'std', 'max', 'n_pairs', 'values'}}}; empty with
    fewer than two runs."""
    pairs = [ks_distances(a, b) for a, b in combinations(replicates, 2)]
    out: dict[str, dict[str, dict]] = {}
    for pop in (pairs[0] if pairs else {}):
        out[pop] = {}
        for s in pairs[0][pop]:
            v = np.array([p[pop][s] for p in pairs if pop in p and s in p[pop]])
            v = v[np.isfinite(v)]
            out[pop][s] = {"mean": float(v.mean()) if v.size else float("nan"),
                           "std": float(v.std()) if v.size else float("nan"),
                           "max": float(v.max()) if v.size else float("nan"),
                           "n_pairs": int(v.size), "values": v.tolist()}
    return out
