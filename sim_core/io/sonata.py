"""Spikes in SONATA's layout: /spikes/<population>/timestamps (ms) and node_ids
(0-based within the population), sorted by time."""
from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np


def write_spikes(path, spikes: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
    with h5py.File(Path(path), "w") as f:
        root = f.create_group("spikes")
        for name, (times, ids) in spikes.items():
            g = root.create_group(name)
            g.attrs["sorting"] = "by_time"
            g.create_dataset("timestamps", data=np.asarray(times, np.float64)).attrs["units"] = "ms"
            g.create_dataset("node_ids", data=np.asarray(ids, np.uint64))


def read_spikes(path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    with h5py.File(Path(path), "r") as f:
        return {name: (g["timestamps"][()], g["node_ids"][()].astype(np.int64))
                for name, g in f["spikes"].items()}
