"""Spike-train statistics per population: rates (spikes/s), ISI CV, and synchrony (the
Fano factor of the population count; the app's live statistics and the scans share it)."""
from __future__ import annotations

import numpy as np


def rates_hz(times: np.ndarray, ids: np.ndarray, n: int, t_start: float, t_stop: float) -> np.ndarray:
    """Per-neuron rate (spikes/s) from spikes in (t_start, t_stop] ms."""
    sel = (times > t_start) & (times <= t_stop)
    counts = np.bincount(ids[sel], minlength=n)
    return counts / ((t_stop - t_start) / 1000.0)


def cv_isi(times: np.ndarray, ids: np.ndarray, n: int, t_start: float, t_stop: float,
           min_spikes: int = 3) -> np.ndarray:
    """Per-neuron coefficient of variation of the inter-spike intervals, NaN for neurons
    with fewer than ``min_spikes`` spikes in (t_start, t_stop]."""
    sel = (times > t_start) & (times <= t_stop)
    t, i = times[sel], ids[sel]
    order = np.lexsort((t, i))
    t, i = t[order], i[order]
    out = np.full(n, np.nan)
    if t.size < 2:
        return out
    isi = np.diff(t)
    same = i[1:] == i[:-1]
    isi, owner = isi[same], i[1:][same]
    cnt = np.bincount(owner, minlength=n)
    s1 = np.bincount(owner, isi, minlength=n)
    s2 = np.bincount(owner, isi * isi, minlength=n)
    ok = cnt >= max(min_spikes - 1, 1)
    mean = s1[ok] / cnt[ok]
    var = np.maximum(s2[ok] / cnt[ok] - mean * mean, 0.0)
    out[ok] = np.sqrt(var) / mean
    return out


def population_summary(sim, t_start: float, t_stop: float) -> tuple[dict, dict]:
    """({pop: mean rate}, {pop: mean CV or None}) over the recorded populations."""
    spikes = {name: sim.spikes(name) for name in sim.spike_record.recorded}
    return summary_of(spikes, {n: sim.spec.populations[n].size for n in spikes}, t_start, t_stop)


def summary_of(spikes: dict, sizes: dict, t_start: float, t_stop: float) -> tuple[dict, dict]:
    """``population_summary`` of spikes {pop: (times, ids)} of populations of ``sizes``."""
    rates, cvs = {}, {}
    for name, (times, ids) in spikes.items():
        n = sizes[name]
        rates[name] = float(rates_hz(times, ids, n, t_start, t_stop).mean())
        cv = cv_isi(times, ids, n, t_start, t_stop)
        cvs[name] = float(np.nanmean(cv)) if np.isfinite(cv).any() else None
    return rates, cvs


def synchrony(times: np.ndarray, t_start: float, t_stop: float, bin_ms: float = 1.0) -> float | None:
    """The synchrony measure of the live statistics and of scans: the Fano factor
    (variance / mean) of the population's spike count in ``bin_ms`` bins over
    (t_start, t_stop] (whole bins from t_start; a spike at a bin's right edge counts in
    that bin). 1 for independent Poisson trains, larger when neurons fire together. None
    without spikes or with fewer than two bins. ``times``: every spike of the population."""
    t = times[(times > t_start) & (times <= t_stop)]
    edges = np.arange(t_start, t_stop + 1e-9, bin_ms)
    if edges.size < 3 or not t.size:
        return None
    counts = np.histogram(np.nextafter(t, -np.inf), edges)[0]
    return float(counts.var() / counts.mean())


def population_synchrony(spikes: dict, t_start: float, t_stop: float) -> tuple[dict, float | None]:
    """({pop: synchrony}, synchrony of all of them together) of spikes {pop: (times, ids)}:
    the scans' per-population and network-wide ``synchrony``."""
    per_pop = {name: synchrony(times, t_start, t_stop) for name, (times, _ids) in spikes.items()}
    every = [times for times, _ids in spikes.values()]
    return per_pop, synchrony(np.concatenate(every), t_start, t_stop) if every else None


def window_statistics(times: np.ndarray, ids: np.ndarray, n: int, t_start: float, t_stop: float,
                      bin_ms: float = 1.0) -> dict:
    """Live statistics of ``n`` neurons' spikes in (t_start, t_stop]: the mean rate
    (spikes/s), the mean ISI CV of neurons with at least three spikes (None without any),
    and ``synchrony`` (the function above: the Fano factor of the population's spike count
    in ``bin_ms`` bins; 1 for independent Poisson trains, larger when neurons fire together)."""
    span = t_stop - t_start
    if span <= 0 or n <= 0:
        return {"rate_hz": 0.0, "cv_isi": None, "synchrony": None}
    sel = (times > t_start) & (times <= t_stop)
    t, i = times[sel], ids[sel]
    cv = cv_isi(t, i, n, t_start, t_stop)
    return {"rate_hz": float(t.size / n / (span / 1000.0)),
            "cv_isi": float(np.nanmean(cv)) if np.isfinite(cv).any() else None,
            "synchrony": synchrony(t, t_start, t_stop, bin_ms)}
