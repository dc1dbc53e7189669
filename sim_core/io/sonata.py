"""Spikes in SONATA's layout: /spikes/<population>/timestamps (ms) and node_ids
(uint64, 0-based within the population).

Each population group carries SONATA's ``sorting`` attribute, an HDF5 enum (base type
uint8: ``none`` = 0, ``by_id`` = 1, ``by_time`` = 2), as the specification defines it and
as libsonata's ``SpikeReader`` reads it. The spikes are written in the order given (the
engine's are in time order) and the attribute states the order they are in: ``by_time``
when the timestamps never decrease, else ``by_id`` when the node ids never decrease and the
timestamps never decrease within a node, else ``none``.
"""
from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

SORTING = {"none": 0, "by_id": 1, "by_time": 2}
SORTING_DTYPE = h5py.enum_dtype(SORTING, basetype=np.uint8)


def sorting_of(times, ids) -> str:
    """The strongest SONATA ``sorting`` that ``times``/``ids`` (in file order) satisfy."""
    times, ids = np.asarray(times), np.asarray(ids)
    if np.all(times[1:] >= times[:-1]):
        return "by_time"
    same = ids[1:] == ids[:-1]
    if np.all(ids[1:] >= ids[:-1]) and np.all(times[1:][same] >= times[:-1][same]):
        return "by_id"
    return "none"


def write_spikes(path, spikes: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
    with h5py.File(Path(path), "w") as f:
        root = f.create_group("spikes")
        for name, (times, ids) in spikes.items():
            times, ids = np.asarray(times, np.float64), np.asarray(ids, np.uint64)
            if times.shape != ids.shape or times.ndim != 1:
                raise ValueError(f"spikes of '{name}': timestamps {times.shape} and node_ids {ids.shape} differ")
            g = root.create_group(name)
            g.attrs.create("sorting", SORTING[sorting_of(times, ids)], dtype=SORTING_DTYPE)
            g.create_dataset("timestamps", data=times).attrs["units"] = "ms"
            g.create_dataset("node_ids", data=ids)


def read_spikes(path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    with h5py.File(Path(path), "r") as f:
        return {name: (g["timestamps"][()], g["node_ids"][()].astype(np.int64))
                for name, g in f["spikes"].items()}


def read_sorting(path) -> dict[str, str]:
    """Each population's ``sorting`` as a name (``none`` where absent, as the spec says
    that nothing can be assumed then). Reads the enum and the string files SpikeScope
    wrote before it used the enum."""
    names = {v: k for k, v in SORTING.items()}
    out = {}
    with h5py.File(Path(path), "r") as f:
        for name, g in f["spikes"].items():
            value = g.attrs.get("sorting")
            if value is None:
                out[name] = "none"
            elif isinstance(value, (bytes, str)):
                out[name] = value.decode() if isinstance(value, bytes) else value
            else:
                out[name] = names[int(value)]
    return out


class SpikeStream:
    """Writes spikes to a SONATA file while a simulation runs: one resizable dataset pair
    per population, appended chunk by chunk, so a long live session keeps its full record
    on disk and only a window in memory. Spikes arrive in time order, so the file is
    ``by_time``; ``close()`` (or the end of a ``with`` block) leaves a complete file that
    ``read_spikes`` and libsonata read. ``flush()`` makes what was written so far readable."""

    CHUNK = 1 << 16  # spikes per HDF5 chunk: appends of a few hundred spikes stay cheap

    def __init__(self, path, pop_start: dict[str, int], sizes: dict[str, int], recorded: list[str], dt: float):
        self.path, self.dt = Path(path), dt
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.names = [n for n in sorted(recorded, key=lambda n: pop_start[n])]
        self._starts = np.array([pop_start[n] for n in self.names], np.int64)
        self._ends = self._starts + np.array([sizes[n] for n in self.names], np.int64)
        self._file = h5py.File(self.path, "w")
        root = self._file.create_group("spikes")
        self._sets = []
        for name in self.names:
            g = root.create_group(name)
            g.attrs.create("sorting", SORTING["by_time"], dtype=SORTING_DTYPE)
            ts = g.create_dataset("timestamps", shape=(0,), maxshape=(None,), dtype=np.float64, chunks=(self.CHUNK,))
            ts.attrs["units"] = "ms"
            self._sets.append((ts, g.create_dataset("node_ids", shape=(0,), maxshape=(None,), dtype=np.uint64,
                                                    chunks=(self.CHUNK,))))
        self.n_written = 0

    def append(self, steps: np.ndarray, ids: np.ndarray) -> None:
        """Spikes as (steps, global ids) in time order; ids outside every recorded
        population are ignored."""
        which = np.searchsorted(self._starts, ids, side="right") - 1
        ok = (which >= 0) & (ids < self._ends[np.maximum(which, 0)])
        for k in np.unique(which[ok]):
            sel = ok & (which == k)
            ts, ni = self._sets[k]
            n0, m = ts.shape[0], int(sel.sum())
            ts.resize((n0 + m,))
            ni.resize((n0 + m,))
            ts[n0:] = (steps[sel] + 1) * self.dt
            ni[n0:] = (ids[sel] - self._starts[k]).astype(np.uint64)
            self.n_written += m

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        if self._file.id.valid:
            self._file.close()

    @property
    def closed(self) -> bool:
        return not self._file.id.valid

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def stream_spikes(sim, path) -> SpikeStream:
    """Write every spike ``sim`` records from now on to the SONATA file ``path`` while it
    runs (``Simulation.attach_sink``); returns the stream (``sim.stop_stream()`` ends it)."""
    r = sim.spike_record
    stream = SpikeStream(path, r.pop_start, r.sizes, r.recorded, sim.network.dt)
    sim.attach_sink(stream)
    return stream
