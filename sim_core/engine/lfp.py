"""The LFP recorder of a simulation (``recorders.lfp``): samples every ``interval`` ms on the
electrode grid, sample j being the mean over [j interval, (j+1) interval), stamped at its end.

``kernel``: spikes are counted by (source population, bin, sample bin) as they come and
convolved with the network's kernels (``sim_core.lfp``) a block at a time; a sample is
final once every spike that can reach it is in, i.e. up to the last complete sample bin.
Reading (``window``, ``data``) convolves what is pending first, so a live view sees the
LFP up to the present. ``proxy``: the synaptic currents are read at every sample time (the
simulation stops there, as for weight snapshots).
"""
from __future__ import annotations

import numpy as np

from ..lfp import kernels as lk
from ..lfp import proxy as lp
from ..lfp.convolve import Convolver
from ..lfp.geometry import grid_for


def check_spec(spec) -> None:
    """The method's needs, before anything is built (one-line errors naming the field)."""
    if spec.recorders.lfp.method == "kernel":
        lk.check_spec(spec)
    else:
        lp.check_spec(spec)


class LfpRecord:
    def __init__(self, network, keep_ms: float | None = None, block: int = 1024):
        spec = network.spec
        cfg = spec.recorders.lfp
        self.method = cfg.method
        self.grid = grid_for(spec)
        self.dt = network.dt
        self.every = max(1, int(round(cfg.interval / network.dt)))
        self.interval = self.every * network.dt
        self.units = "mV" if self.method == "kernel" else "pA"
        self.keep = None if keep_ms is None else max(1, int(np.ceil(keep_ms / self.interval)))
        self.steps_done = 0
        if self.method == "kernel":
            self.sources, self.kernels = lk.build(network, self.grid, self.interval)
            self.conv = Convolver(self.kernels, self.grid, block)
            n = network.n_neurons
            self._src = np.full(n, -1, np.int64)
            self._bin = np.zeros(n, np.int64)
            for xi, name in enumerate(self.sources):
                a = network.pop_start[name]
                size = spec.populations[name].size
                self._src[a:a + size] = xi
                self._bin[a:a + size] = self.grid.bins_of(lk.host(network.connectome.positions[name]))
            self._cells = len(self.sources) * self.grid.n[0] * self.grid.n[1]
        else:
            ids, which = lp.regions(spec, network, self.grid)
            self.sampler = lp.ProxySampler(ids, which, self.grid.n_electrodes, self.every, network.dt, self.keep)
        self.clear()

    # ------------------------------------------------------------------ state
    def clear(self):
        self.steps_done = 0
        self.first = 0                      # index of the oldest sample held
        self._parts: list[np.ndarray] = []  # final samples [E, n], oldest first
        self._held = 0
        if self.method == "kernel":
            self.k0 = 0                     # first sample bin not yet convolved
            # spike counts by (population x bin, sample bin): float32 holds counts exactly
            # (to 2^24) at half the memory; a long advance with nobody reading fills many bins
            self._pending = np.zeros((self._cells, 256), np.float32)
            self._tail = np.zeros((self.grid.n_electrodes, self.conv.L - 1))
        else:
            self.sampler.clear()

    @property
    def positions(self) -> np.ndarray:
        return self.grid.positions()

    # ------------------------------------------------------------------ kernel: spikes in
    def add_spikes(self, steps: np.ndarray, ids: np.ndarray) -> None:
        if self.method != "kernel" or ids.size == 0:
            return
        src = self._src[ids]
        ok = src >= 0
        if not ok.any():
            return
        k = (steps[ok] + 1) // self.every - self.k0
        cell = src[ok] * (self.grid.n[0] * self.grid.n[1]) + self._bin[ids[ok]]
        need = int(k.max()) + 1
        if need > self._pending.shape[1]:
            grown = np.zeros((self._cells, max(need, 2 * self._pending.shape[1])), np.float32)
            grown[:, :self._pending.shape[1]] = self._pending
            self._pending = grown
        np.add.at(self._pending, (cell, k), 1.0)

    def advance_to(self, steps_done: int) -> None:
        """Time has reached ``steps_done`` (its spikes are in): convolve whole blocks."""
        self.steps_done = steps_done
        if self.method == "kernel":
            self._convolve(full_blocks_only=True)

    def due(self, steps_done: int) -> bool:
        """Proxy: a sample is taken at this step."""
        return self.method == "proxy" and steps_done > 0 and steps_done % self.every == 0 \
            and steps_done // self.every > self.sampler.taken

    def steps_to_next(self, steps_done: int) -> int:
        return self.every - steps_done % self.every if self.method == "proxy" else 1 << 62

    def take(self, steps_done: int, backend) -> None:
        """Proxy: the currents now (the end of sample ``steps_done // every - 1``)."""
        i_ex, i_in = backend.synaptic_currents()
        self.sampler.take(i_ex, i_in)
        self.steps_done = steps_done

    def _convolve(self, full_blocks_only: bool) -> None:
        complete = self.steps_done // self.every  # sample bins whose spikes are all in
        B = self.conv.block
        while complete - self.k0 >= (B if full_blocks_only else 1):
            b = min(B, complete - self.k0)
            counts = self._pending[:, :b].astype(np.float64).reshape((len(self.sources),) + self.grid.n + (b,))
            resp = self.conv.block_response(counts)
            L1 = self.conv.L - 1
            resp[:, :L1] += self._tail
            self._parts.append(resp[:, :b].copy())
            self._held += b
            self._tail = resp[:, b:b + L1].copy()
            self._pending[:, :-b] = self._pending[:, b:]  # in place: no second copy of a large buffer
            self._pending[:, -b:] = 0.0
            self.k0 += b
        self._trim()

    def _trim(self) -> None:
        if self.keep is None or self._held <= self.keep + 4096:
            return
        data = np.concatenate(self._parts, axis=1) if len(self._parts) > 1 else self._parts[0]
        drop = self._held - self.keep
        self._parts = [data[:, drop:]]
        self.first += drop
        self._held -= drop

    # ------------------------------------------------------------------ out
    def data(self) -> tuple[np.ndarray, np.ndarray]:
        """(times ms [S], LFP [E, S]) of every sample held (mV; pA for the proxy)."""
        if self.method == "kernel":
            self._convolve(full_blocks_only=False)
            if len(self._parts) > 1:
                self._parts = [np.concatenate(self._parts, axis=1)]
            sig = self._parts[0] if self._parts else np.zeros((self.grid.n_electrodes, 0))
            return (self.first + 1 + np.arange(sig.shape[1])) * self.interval, sig
        self.first, sig = self.sampler.signal()
        times = (self.first + 1 + np.arange(sig.shape[1])) * self.interval
        return times, sig

    def window(self, t_from: float) -> tuple[np.ndarray, np.ndarray]:
        """The samples stamped after ``t_from`` ms; reads only the newest parts, so a live
        view's cost does not grow with the run."""
        if self.method != "kernel":
            times, sig = self.data()
            i = int(np.searchsorted(times, t_from, side="right"))
            return times[i:], sig[:, i:]
        self._convolve(full_blocks_only=False)
        first = max(self.first, int(np.floor(t_from / self.interval + 1e-9)))  # sample j stamped (j+1) interval
        end = self.first + self._held
        parts, at = [], end
        for part in reversed(self._parts):
            if at <= first:
                break
            lo = at - part.shape[1]
            parts.append(part[:, max(first - lo, 0):])
            at = lo
        sig = np.concatenate(parts[::-1], axis=1) if parts else np.zeros((self.grid.n_electrodes, 0))
        times = (end - sig.shape[1] + 1 + np.arange(sig.shape[1])) * self.interval
        return times, sig
