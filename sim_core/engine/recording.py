"""Recorded spikes and membrane potentials, gathered on the host in chunks."""
from __future__ import annotations

import numpy as np


class SpikeRecord:
    """Spikes as chunks of (step, global id); times follow NEST: a spike in the step
    from t to t + dt is stamped t + dt."""

    def __init__(self, pop_start: dict[str, int], sizes: dict[str, int], recorded: list[str], dt: float):
        self.dt = dt
        self.pop_start, self.sizes, self.recorded = pop_start, sizes, recorded
        n = sum(sizes.values())
        self._keep = np.zeros(n, bool)
        for name in recorded:
            self._keep[pop_start[name]:pop_start[name] + sizes[name]] = True
        self.clear()

    def clear(self):
        self._steps: list[np.ndarray] = []
        self._ids: list[np.ndarray] = []
        self.n_spikes = 0  # all spikes, recorded or not

    def add(self, steps: np.ndarray, ids: np.ndarray):
        self.n_spikes += ids.shape[0]
        keep = self._keep[ids]
        self._steps.append(steps[keep].copy())
        self._ids.append(ids[keep].copy())

    def _all(self):
        if not self._steps:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        steps, ids = np.concatenate(self._steps), np.concatenate(self._ids)
        self._steps, self._ids = [steps], [ids]  # compact, so repeated queries stay cheap
        return steps, ids

    def population(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(times in ms, node ids 0-based within the population), in time order."""
        if name not in self.recorded:
            raise KeyError(f"spikes of '{name}' are not recorded; recorded: {', '.join(self.recorded)}")
        steps, ids = self._all()
        a = self.pop_start[name]
        sel = (ids >= a) & (ids < a + self.sizes[name])
        return (steps[sel] + 1) * self.dt, ids[sel] - a


class VoltageRecord:
    def __init__(self, names: list[str], index: np.ndarray, every: int, dt: float, capacity: int = 4096):
        self.names, self.index, self.every, self.dt = names, index, every, dt
        self.buf = np.zeros((capacity, index.shape[0]))
        self.n = np.zeros(1, np.int64)
        self._chunks: list[np.ndarray] = []
        self._n_total = 0

    def drain(self):
        if self.n[0]:
            self._chunks.append(self.buf[: self.n[0]].copy())
            self._n_total += int(self.n[0])
            self.n[0] = 0

    def clear(self):
        self._chunks, self._n_total, self.n[0] = [], 0, 0

    def data(self) -> tuple[np.ndarray, np.ndarray]:
        """(times in ms, V_m array [time, recorded neuron])."""
        self.drain()
        v = np.concatenate(self._chunks) if self._chunks else np.zeros((0, self.index.shape[0]))
        times = (np.arange(v.shape[0]) + 1) * self.every * self.dt
        return times, v
