"""Metastability of clustered networks: per-cluster rates over time (the clusters x time
image), the clusters' high-activity states and their dwell times, and Fano factors.

A cluster is the set of populations whose names end with the same number (E3, I3:
``clusters_of``); rates are of its excitatory populations (names starting with
``E``) unless told otherwise. A cluster is *high* in a time bin when its rate exceeds a
threshold: by default the larger of twice the mean and the mean plus one standard deviation
of all clusters' rates over the whole interval. In a metastable network (a few clusters at
tens of spikes/s, the rest near silence) this separates the two modes; in an unclustered
one, the mean plus one standard deviation alone was crossed by chance about twice per
cluster and second (clustered preset, scale 0.2, J+ = 1), twice the mean rarely is.
"""
from __future__ import annotations

import re

import numpy as np

CLUSTER = re.compile(r"^(.*?)(\d+)$")  # E3, I3 -> cluster 3 (the clustered preset's names)


def clusters_of(spec) -> dict[int, list[str]]:
    """Populations grouped by the number their name ends with (E0, I0 -> cluster 0); empty
    when fewer than two clusters are named that way."""
    out: dict[int, list[str]] = {}
    for name in spec.populations:
        m = CLUSTER.match(name)
        if m:
            out.setdefault(int(m.group(2)), []).append(name)
    return dict(sorted(out.items())) if len(out) >= 2 else {}


def cluster_rates(spikes: dict, spec, t_start: float, t_stop: float, bin_ms: float = 50.0,
                  kind: str = "E") -> tuple[np.ndarray, list[int], np.ndarray]:
    """(bin centres in ms, cluster numbers, rates [cluster, bin] in spikes/s per neuron) from
    ``spikes`` {population: (times ms, ids)} in (t_start, t_stop]."""
    edges = np.arange(t_start, t_stop + 1e-9, bin_ms)
    if edges.size < 2:
        raise ValueError(f"cluster_rates: ({t_start}, {t_stop}] ms is shorter than one bin of {bin_ms} ms")
    groups = {c: [n for n in names if n.startswith(kind)] for c, names in clusters_of(spec).items()}
    groups = {c: names for c, names in groups.items() if names}
    rates = np.zeros((len(groups), edges.size - 1))
    for row, names in enumerate(groups.values()):
        n = sum(spec.populations[p].size for p in names)
        for p in names:
            times = spikes[p][0]
            # spikes are stamped at the step's end: (a, b] bins, as rates_hz counts them
            rates[row] += np.histogram(np.nextafter(times, -np.inf), edges)[0]
        rates[row] /= n * bin_ms / 1000.0
    return 0.5 * (edges[1:] + edges[:-1]), list(groups), rates


def high_states(rates: np.ndarray, threshold_hz: float | None = None) -> tuple[np.ndarray, float]:
    """(high [cluster, bin] booleans, the threshold used)."""
    if threshold_hz is None:
        threshold_hz = float(max(rates.mean() + rates.std(), 2.0 * rates.mean()))
    return rates > threshold_hz, threshold_hz


def dwell_times(high: np.ndarray, bin_ms: float, complete_only: bool = True) -> np.ndarray:
    """Durations (ms) of the clusters' high states. ``complete_only``: leave out states cut
    by the start or the end of the interval (their length is unknown)."""
    out = []
    for row in high:
        padded = np.concatenate([[False], row, [False]]).astype(np.int8)
        starts = np.flatnonzero(np.diff(padded) == 1)
        stops = np.flatnonzero(np.diff(padded) == -1)
        for a, b in zip(starts, stops):
            if complete_only and (a == 0 or b == row.size):
                continue
            out.append((b - a) * bin_ms)
    return np.asarray(out, float)


def fano_factors(times: np.ndarray, ids: np.ndarray, n: int, t_start: float, t_stop: float,
                 window_ms: float = 100.0) -> np.ndarray:
    """Per neuron, the variance over the mean of its spike counts in consecutive windows;
    NaN for neurons without spikes."""
    edges = np.arange(t_start, t_stop + 1e-9, window_ms)
    if edges.size < 3:
        raise ValueError(f"fano_factors: need at least two windows of {window_ms} ms in ({t_start}, {t_stop}]")
    sel = (times > edges[0]) & (times <= edges[-1])
    w = np.searchsorted(edges, times[sel], side="left") - 1
    counts = np.zeros((n, edges.size - 1))
    np.add.at(counts, (ids[sel], w), 1.0)
    mean = counts.mean(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(mean > 0, counts.var(axis=1) / mean, np.nan)


def metastability(spikes: dict, spec, t_start: float, t_stop: float, bin_ms: float = 50.0,
                  threshold_hz: float | None = None, fano_window_ms: float = 100.0) -> dict:
    """One summary per run, the measure of calibration scans. ``switch_rate_hz``: entries
    into the high state per cluster per second (0 when no cluster ever switches: all
    quiet, or one cluster stuck high); ``dwell_ms_mean``/``_median`` of complete high states;
    ``active_fraction``: mean fraction of clusters high; ``rate_std_hz``: the clusters'
    rate fluctuation over time; ``fano_factor_mean`` of the excitatory neurons."""
    centres, clusters, rates = cluster_rates(spikes, spec, t_start, t_stop, bin_ms)
    if not clusters:
        raise ValueError("metastability: the model has no clusters (population names E0, E1, ... )")
    high, thr = high_states(rates, threshold_hz)
    entries = int(np.sum(np.diff(high.astype(np.int8), axis=1) == 1))
    dwell = dwell_times(high, bin_ms)
    seconds = (centres.size * bin_ms) / 1000.0
    ff = []
    for names in clusters_of(spec).values():
        for p in names:
            if p.startswith("E"):
                times, ids = spikes[p]
                ff.append(fano_factors(times, ids, spec.populations[p].size, t_start, t_stop, fano_window_ms))
    ff = np.concatenate(ff) if ff else np.zeros(0)
    finite = ff[np.isfinite(ff)]
    return {
        "clusters": len(clusters), "threshold_hz": round(thr, 4),
        "switch_rate_hz": round(entries / len(clusters) / seconds, 4),
        "dwell_ms_mean": round(float(dwell.mean()), 2) if dwell.size else None,
        "dwell_ms_median": round(float(np.median(dwell)), 2) if dwell.size else None,
        "active_fraction": round(float(high.mean()), 4),
        "rate_std_hz": round(float(rates.std(axis=1).mean()), 4),
        "fano_factor_mean": round(float(finite.mean()), 4) if finite.size else None,
    }
