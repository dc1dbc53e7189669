"""The LFP to HDF5 (``DIR/lfp.h5``, SPEC.md "LFP recorder"): ``/lfp/data`` [electrodes,
samples] (mV; the proxy in pA), ``/lfp/positions`` [electrodes, 3] (mm, the electrodes as
placed: bin centres, the depth), ``/lfp/times`` (ms, a sample's mean runs over the interval
before its time), attributes ``method``, ``units``, ``interval_ms`` and ``grid``
([nx, ny]; electrodes go x-major: index = ix * ny + iy)."""
from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np


def write_lfp(path, sim) -> Path:
    """``sim``: a ``Simulation`` with ``recorders.lfp``."""
    rec = sim.lfp
    times, data = rec.data()
    path = Path(path)
    with h5py.File(path, "w") as f:
        g = f.create_group("lfp")
        g.create_dataset("data", data=np.asarray(data, np.float64), compression="gzip", compression_opts=4)
        g.create_dataset("positions", data=rec.positions)
        g.create_dataset("times", data=np.asarray(times, np.float64))
        g.attrs["method"] = rec.method
        g.attrs["units"] = rec.units
        g.attrs["interval_ms"] = rec.interval
        g.attrs["grid"] = np.asarray(rec.grid.shape, np.int64)
    return path


def read_lfp(path) -> dict:
    with h5py.File(Path(path), "r") as f:
        g = f["lfp"]
        out = {k: g[k][()] for k in ("data", "positions", "times")}
        out.update({k: (v.decode() if isinstance(v, bytes) else v) for k, v in g.attrs.items()})
    return out
