"""The LFP proxy of Mazzoni et al. (2015, PLoS Comput Biol 11:e1004584): a weighted sum of
synaptic currents of the excitatory cells near an electrode,

    LFP_e(t) = sum_(i near e) |I_ex,i(t - 6 ms)| - 1.65 |I_in,i(t)|

(their "RWS" proxy: delay 6 ms, alpha 1.65, fitted to multicompartment pyramidal cells).
"Near" is the electrode's bin square: the cells of the excitatory populations (those whose
outgoing weights are all >= 0) closest to it, a Voronoi cell of the electrode grid clipped
to one pitch. The currents are the model's synaptic currents (pA) at the sample times,
instantaneous; the result is in pA ("a.u." in the paper: only its shape is meaningful).
"""
from __future__ import annotations

import numpy as np

from ..errors import SpecError
from .kernels import host

DELAY_MS = 6.0
ALPHA = 1.65
PROXY_MODELS = ("iaf_psc_exp", "iaf_psc_alpha")


def excitatory_populations(spec, network) -> list[str]:
    """Spatial iaf_psc_exp/alpha populations whose built outgoing weights are all >= 0 (and
    that have some)."""
    out = []
    for name, pop in spec.populations.items():
        if pop.positions is None or pop.model not in PROXY_MODELS:
            continue
        conns = [c for c in network.connectome.connections if c.source == name and c.n_synapses]
        if conns and all(float(host(c.weight_array()).min()) >= 0.0 for c in conns):
            out.append(name)
    if not out:
        raise SpecError("recorders.lfp.method", "proxy: no spatial excitatory iaf_psc_exp or iaf_psc_alpha "
                        "population (one whose outgoing weights are all positive) to take synaptic currents from")
    return out


def check_spec(spec) -> None:
    """Before building: some spatial population with current-based synapses."""
    if not any(p.positions is not None and p.model in PROXY_MODELS for p in spec.populations.values()):
        raise SpecError("recorders.lfp.method", "proxy: it sums the synaptic currents of spatial iaf_psc_exp or "
                        "iaf_psc_alpha populations, and this model has none")


def regions(spec, network, grid) -> tuple[np.ndarray, np.ndarray]:
    """(global ids of the cells summed, the electrode of each): every excitatory cell whose
    nearest electrode is at most half a pitch away along each axis."""
    el = grid.positions()[:, :2]
    pitch = spec.recorders.lfp.electrodes.pitch
    ids, which = [], []
    for name in excitatory_populations(spec, network):
        pos = host(network.connectome.positions[name])[:, :2]
        d = pos[:, None, :] - el[None, :, :]
        if grid.periodic:
            ext = np.asarray(grid.extent)
            d = d - ext * np.round(d / ext)
        near = np.argmin((d * d).sum(axis=2), axis=1)
        off = np.abs(d[np.arange(len(pos)), near])
        ok = (off <= pitch / 2.0).all(axis=1)
        ids.append(network.pop_start[name] + np.nonzero(ok)[0])
        which.append(near[ok])
    return np.concatenate(ids).astype(np.int64), np.concatenate(which).astype(np.int64)


class ProxySampler:
    """Samples the currents every ``every`` steps (at the steps' ends) and keeps the sums per
    electrode; the 6 ms delay is applied when the signal is read. With ``keep`` samples,
    older ones are let go (in chunks)."""

    def __init__(self, ids: np.ndarray, electrode: np.ndarray, n_electrodes: int, every: int, dt: float,
                 keep: int | None = None):
        self.ids, self.electrode, self.n_e = ids, electrode, n_electrodes
        self.every, self.dt = every, dt
        self.lag = int(round(DELAY_MS / (every * dt)))
        self.keep = keep
        self.clear()

    def clear(self):
        self.ex: list[np.ndarray] = []
        self.inh: list[np.ndarray] = []
        self.first = 0      # sample index of ex[0]
        self.taken = 0      # samples taken since t = 0

    def take(self, i_ex: np.ndarray, i_in: np.ndarray) -> None:
        n = self.n_e
        self.ex.append(np.bincount(self.electrode, weights=np.abs(i_ex[self.ids]), minlength=n))
        self.inh.append(np.bincount(self.electrode, weights=np.abs(i_in[self.ids]), minlength=n))
        self.taken += 1
        if self.keep is not None and len(self.ex) > self.keep + self.lag + 1024:
            del self.ex[:1024], self.inh[:1024]
            self.first += 1024

    def signal(self) -> tuple[int, np.ndarray]:
        """(index of the first sample, [E, samples]): the proxy, with the excitatory currents
        6 ms earlier (0 before t = 6 ms)."""
        if not self.ex:
            return self.first, np.zeros((self.n_e, 0))
        ex, inh = np.array(self.ex).T, np.array(self.inh).T
        late = np.zeros_like(ex)
        late[:, self.lag:] = ex[:, :ex.shape[1] - self.lag] if self.lag else ex
        skip = self.lag if self.first > 0 else 0  # their earlier currents were let go
        return self.first + skip, (late - ALPHA * inh)[:, skip:]
