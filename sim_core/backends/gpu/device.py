"""Where the GPU backend's arrays live: CuPy on a GPU, NumPy in Numba's CUDA simulator.
Nothing here imports CuPy or numba-cuda at module import."""
from __future__ import annotations

import importlib.util
import os


def simulator() -> bool:
    """True when numba-cuda runs kernels in its CUDA simulator (on the CPU)."""
    return os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0")


def numba_cuda_installed() -> bool:
    return importlib.util.find_spec("numba_cuda") is not None or importlib.util.find_spec("numba.cuda") is not None


def cuda_device() -> str | None:
    """The GPU's name when CuPy sees one, else None (imports CuPy only if installed)."""
    if simulator() or importlib.util.find_spec("cupy") is None:
        return None
    try:
        import cupy
        if cupy.cuda.runtime.getDeviceCount() < 1:
            return None
        props = cupy.cuda.runtime.getDeviceProperties(0)
        name = props["name"]
        return name.decode() if isinstance(name, bytes) else str(name)
    except Exception:
        return None


def array_module():
    """CuPy on a GPU, NumPy in the simulator."""
    if simulator():
        import numpy
        return numpy
    import cupy
    return cupy


def to_host(a):
    return a.get() if hasattr(a, "get") and not simulator() else a


def free_memory() -> int | None:
    """Free bytes on the GPU (None in the simulator or without CuPy)."""
    if simulator() or importlib.util.find_spec("cupy") is None:
        return None
    try:
        import cupy
        return int(cupy.cuda.runtime.memGetInfo()[0])
    except Exception:
        return None
