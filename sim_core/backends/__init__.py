"""Backends behind one small protocol: ``Backend(network)``, ``reset()``,
``advance(k0, n_steps, ...)``, ``synapse_bytes()``. Only the GPU backend module may
import CuPy, and only when asked for."""
from __future__ import annotations

import importlib.util

from ..errors import BackendError

BACKENDS = ("cpu", "gpu", "auto")


def gpu_available() -> bool:
    """True when CuPy is installed and sees a CUDA device (checked without importing
    CuPy unless it is installed)."""
    if importlib.util.find_spec("cupy") is None:
        return False
    try:
        import cupy  # noqa: F401  (only reached where CuPy is installed)
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


def resolve(name: str) -> str:
    """'cpu' | 'gpu' | 'auto' -> the backend that will run, or a clear error."""
    if name not in BACKENDS:
        raise BackendError(f"--backend: '{name}' is not valid; expected one of cpu, gpu, auto")
    if name == "auto":
        return "gpu" if gpu_available() and _gpu_module() is not None else "cpu"
    if name == "gpu":
        if not gpu_available():
            raise BackendError("--backend gpu: no CUDA GPU with CuPy found here; install "
                               "spikescope[gpu] on a machine with an NVIDIA GPU, or use --backend cpu")
        if _gpu_module() is None:
            raise BackendError("--backend gpu: the GPU engine is not part of this version yet; "
                               "use --backend cpu")
    return name


def _gpu_module():
    return importlib.util.find_spec("sim_core.backends.cupy_backend")


def make_backend(name: str, network, threads: int | None = None):
    chosen = resolve(name)
    if chosen == "gpu":
        from .cupy_backend import GpuBackend  # noqa: F401  (imports CuPy)
        return GpuBackend(network)
    from .cpu.engine import CpuBackend
    return CpuBackend(network, threads=threads)
