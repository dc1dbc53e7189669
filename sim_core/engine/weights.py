"""Weight snapshots of projections (``recorders.weights``): every ``interval`` ms from t = 0
on, and one at the end of a run that does not end on the interval. A snapshot holds the
weight of every synapse; the synapses (source, target) are those of the first snapshot, in
the backend's order, as long as the projection does not rewire. A rewiring projection
(structural plasticity) is recorded slot by slot: ``target`` per snapshot (-1 for an
empty slot) and weight NaN there."""
from __future__ import annotations

import numpy as np


class WeightRecord:
    def __init__(self, projections: tuple[int, ...], interval_steps: int, dt: float, rewiring: set[int] = frozenset()):
        self.projections = tuple(projections)
        self.every = max(1, int(interval_steps))
        self.dt = dt
        self.rewiring = set(rewiring)
        self.clear()

    def clear(self):
        self.steps: list[int] = []
        self.sources: dict[int, np.ndarray] = {}
        self.targets: dict[int, list[np.ndarray]] = {q: [] for q in self.projections}
        self.weights: dict[int, list[np.ndarray]] = {q: [] for q in self.projections}

    @property
    def times(self) -> np.ndarray:
        return np.asarray(self.steps, np.float64) * self.dt

    def steps_to_next(self, step: int) -> int:
        """Steps from ``step`` to the next regular snapshot (after it)."""
        return self.every - step % self.every

    def due(self, step: int) -> bool:
        return step % self.every == 0 and (not self.steps or self.steps[-1] != step)

    def take(self, step: int, backend) -> None:
        """A snapshot at ``step`` (once per step)."""
        if self.steps and self.steps[-1] == step:
            return
        self.steps.append(int(step))
        for q in self.projections:
            src, tgt, w = backend.weights(q) if q not in self.rewiring else backend.weight_slots(q)
            if q not in self.sources:
                self.sources[q] = src
            self.targets[q].append(tgt)
            self.weights[q].append(w)

    def arrays(self, q: int) -> dict[str, np.ndarray]:
        """source, target and weight [snapshots, synapses] of projection q (target per
        snapshot, [snapshots, slots], for a rewiring projection)."""
        w = np.array(self.weights[q]) if self.weights[q] else np.zeros((0, 0))
        tgt = np.array(self.targets[q]) if q in self.rewiring else (self.targets[q][0] if self.targets[q] else
                                                                    np.zeros(0, np.int64))
        return {"source": self.sources.get(q, np.zeros(0, np.int64)), "target": tgt, "weight": w,
                "times": self.times}
