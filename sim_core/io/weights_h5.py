"""Weight snapshots to HDF5 (``DIR/weights.h5``, SPEC.md "Plasticity and conductance-based
neurons"): ``/projections/<index>/`` with ``source`` and ``target`` (0-based ids within their
populations, one entry per synapse), ``times`` (ms, one per snapshot) and ``weight``
([snapshots, synapses]). A rewiring projection stores ``target`` per snapshot
([snapshots, slots], -1 for an empty slot; weight NaN there) and the attribute
``rewiring = True``."""
from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np


def write_weights(path, record) -> Path:
    """``record``: an ``engine.weights.WeightRecord``."""
    path = Path(path)
    with h5py.File(path, "w") as f:
        for q in record.projections:
            a = record.arrays(q)
            g = f.create_group(f"projections/{q}")
            g.attrs["rewiring"] = q in record.rewiring
            g.create_dataset("source", data=np.asarray(a["source"], np.int64))
            g.create_dataset("target", data=np.asarray(a["target"], np.int64))
            g.create_dataset("times", data=np.asarray(a["times"], np.float64))
            g.create_dataset("weight", data=np.asarray(a["weight"], np.float64), compression="gzip",
                             compression_opts=4)
    return path


def read_weights(path) -> dict[int, dict[str, np.ndarray]]:
    with h5py.File(Path(path), "r") as f:
        return {int(k): {n: g[n][()] for n in ("source", "target", "times", "weight")}
                for k, g in f["projections"].items()}
