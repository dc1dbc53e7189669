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

    def window(self, t_from: float) -> tuple[np.ndarray, np.ndarray]:
        """(steps, global ids) of the recorded spikes stamped after ``t_from`` ms; reads
        only the newest chunks, so live views stay cheap however long the run."""
        k_from = int(np.floor(t_from / self.dt))  # stamp (step + 1) * dt > t_from
        steps, ids = [], []
        for st, gi in zip(reversed(self._steps), reversed(self._ids)):
            if st.size == 0:
                continue
            if st[0] >= k_from:
                steps.append(st)
                ids.append(gi)
                continue
            a = np.searchsorted(st, k_from)
            steps.append(st[a:])
            ids.append(gi[a:])
            break
        if not steps:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        return np.concatenate(steps[::-1]), np.concatenate(ids[::-1])

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

    def window(self, t_from: float) -> tuple[np.ndarray, np.ndarray]:
        """(times in ms, V_m [time, neuron]) of the samples after ``t_from`` ms."""
        self.drain()
        first = int(np.floor(t_from / (self.every * self.dt)))  # samples 0..first-1 are older
        out, n_before = [], self._n_total
        for chunk in reversed(self._chunks):
            n_before -= chunk.shape[0]
            out.append(chunk[max(first - n_before, 0):])
            if n_before <= first:
                break
        v = np.concatenate(out[::-1]) if out else np.zeros((0, self.index.shape[0]))
        start = max(first, 0) if out else 0
        times = (np.arange(start, start + v.shape[0]) + 1) * self.every * self.dt
        return times, v

    def data(self) -> tuple[np.ndarray, np.ndarray]:
        """(times in ms, V_m array [time, recorded neuron])."""
        self.drain()
        v = np.concatenate(self._chunks) if self._chunks else np.zeros((0, self.index.shape[0]))
        times = (np.arange(v.shape[0]) + 1) * self.every * self.dt
        return times, v
