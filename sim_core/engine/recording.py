"""Recorded spikes and membrane potentials, gathered on the host in chunks.

Both records keep everything by default (``spikescope run``, the Python API). With
``keep_ms`` they keep only the most recent ``keep_ms`` of simulated time (at least that
much, at most one chunk more): the app's sessions run for hours, and an unbounded record
grew without limit there. A ``SpikeRecord`` can also pass every recorded spike to a
``sink`` (``io.sonata.SpikeStream``) that writes the full record to disk as it comes."""
from __future__ import annotations

import numpy as np


class SpikeRecord:
    """Spikes as chunks of (step, global id); times follow NEST: a spike in the step
    from t to t + dt is stamped t + dt."""

    def __init__(self, pop_start: dict[str, int], sizes: dict[str, int], recorded: list[str], dt: float,
                 keep_ms: float | None = None):
        self.dt = dt
        self.pop_start, self.sizes, self.recorded = pop_start, sizes, recorded
        self.keep_steps = None if keep_ms is None else max(1, int(np.ceil(keep_ms / dt)))
        self.sink = None  # receives (steps, global ids) of every recorded spike
        n = sum(sizes.values())
        self._keep = np.zeros(n, bool)
        for name in recorded:
            self._keep[pop_start[name]:pop_start[name] + sizes[name]] = True
        self.clear()

    def clear(self):
        self._steps: list[np.ndarray] = []
        self._ids: list[np.ndarray] = []
        self.n_spikes = 0  # all spikes, recorded or not
        self.n_dropped = 0  # recorded spikes let go (bounded records only)
        self.complete_from_ms = 0.0  # every recorded spike stamped after this is still held

    def add(self, steps: np.ndarray, ids: np.ndarray):
        self.n_spikes += ids.shape[0]
        keep = self._keep[ids]
        steps, ids = steps[keep].copy(), ids[keep].copy()
        if self.sink is not None and ids.size:
            self.sink.append(steps, ids)
        self._steps.append(steps)
        self._ids.append(ids)
        if self.keep_steps is not None:
            self._trim(int(steps[-1]) if steps.size else None)

    def _trim(self, newest: int | None):
        """Let go of whole chunks older than ``keep_steps`` before the newest spike, and
        merge small chunks so that their number stays bounded too."""
        if newest is None:
            if self._steps and self._steps[-1].size == 0:  # a quiet chunk: nothing to hold
                self._steps.pop(), self._ids.pop()
            return
        first = newest - self.keep_steps  # spikes in steps >= first are kept
        k = 0
        while k < len(self._steps) and (self._steps[k].size == 0 or self._steps[k][-1] < first):
            self.n_dropped += self._steps[k].size
            k += 1
        if k:
            self.complete_from_ms = max(self.complete_from_ms, (first + 1) * self.dt)
            del self._steps[:k], self._ids[:k]
        if len(self._steps) > 256:  # into 16 runs of neighbours: old ones can still be let go
            groups = np.array_split(np.arange(len(self._steps)), 16)
            self._steps = [np.concatenate([self._steps[i] for i in g]) for g in groups]
            self._ids = [np.concatenate([self._ids[i] for i in g]) for g in groups]

    def _all(self):
        if not self._steps:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        steps, ids = np.concatenate(self._steps), np.concatenate(self._ids)
        if self.keep_steps is None:  # compact, so repeated queries stay cheap
            self._steps, self._ids = [steps], [ids]
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

    def split(self, steps: np.ndarray, ids: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """(steps, global ids), as ``window`` gives them -> {recorded population: (times in
        ms, ids within it)}, in the order given."""
        out = {}
        for name in self.recorded:
            a = self.pop_start[name]
            sel = (ids >= a) & (ids < a + self.sizes[name])
            out[name] = ((steps[sel] + 1) * self.dt, ids[sel] - a)
        return out

    @property
    def n_held(self) -> int:
        return sum(st.size for st in self._steps)

    def population(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(times in ms, node ids 0-based within the population), in time order; for a
        bounded record, those after ``complete_from_ms``."""
        if name not in self.recorded:
            raise KeyError(f"spikes of '{name}' are not recorded; recorded: {', '.join(self.recorded)}")
        steps, ids = self._all()
        a = self.pop_start[name]
        sel = (ids >= a) & (ids < a + self.sizes[name])
        return (steps[sel] + 1) * self.dt, ids[sel] - a


class VoltageRecord:
    def __init__(self, names: list[str], index: np.ndarray, every: int, dt: float, capacity: int = 4096,
                 keep_ms: float | None = None):
        self.names, self.index, self.every, self.dt = names, index, every, dt
        self.buf = np.zeros((capacity, index.shape[0]))
        self.n = np.zeros(1, np.int64)
        self.keep_samples = None if keep_ms is None else max(1, int(np.ceil(keep_ms / (every * dt))))
        self.clear()

    def drain(self):
        if self.n[0]:
            self._chunks.append(self.buf[: self.n[0]].copy())
            self._n_total += int(self.n[0])
            self.n[0] = 0
            if self.keep_samples is not None:
                self._trim()

    def _trim(self):
        held = self._n_total - self._n_dropped
        while len(self._chunks) > 1 and held - self._chunks[0].shape[0] >= self.keep_samples:
            held -= self._chunks[0].shape[0]
            self._n_dropped += self._chunks.pop(0).shape[0]
        if len(self._chunks) > 256:  # as for spikes: 16 runs of neighbours
            self._chunks = [np.concatenate(self._chunks[g[0]:g[-1] + 1])
                            for g in np.array_split(np.arange(len(self._chunks)), 16)]

    def clear(self):
        self._chunks, self._n_total, self._n_dropped, self.n[0] = [], 0, 0, 0

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
        """(times in ms, V_m array [time, recorded neuron]); for a bounded record, the
        samples still held."""
        self.drain()
        v = np.concatenate(self._chunks) if self._chunks else np.zeros((0, self.index.shape[0]))
        times = (np.arange(self._n_dropped, self._n_dropped + v.shape[0]) + 1) * self.every * self.dt
        return times, v
