"""Backends behind one protocol (``protocol.Backend``): ``cpu`` (Numba) and ``gpu``
(numba-cuda kernels on CuPy memory, or on NumPy in Numba's CUDA simulator). Only the GPU
backend's modules import numba-cuda or CuPy, and only when that backend is asked for."""
from __future__ import annotations

from ..errors import BackendError

BACKENDS = ("cpu", "gpu", "auto")


def gpu_available() -> bool:
    """True when the GPU backend can run here: a CUDA GPU with CuPy and numba-cuda, or
    Numba's CUDA simulator switched on (``NUMBA_ENABLE_CUDASIM=1``, small networks)."""
    from .gpu import device
    if not device.numba_cuda_installed():
        return False
    return device.simulator() or device.cuda_device() is not None


def describe_gpu() -> str:
    from .gpu import device
    if device.simulator():
        return "Numba CUDA simulator (CPU)"
    return device.cuda_device() or "no GPU"


def resolve(name: str) -> str:
    """'cpu' | 'gpu' | 'auto' -> the backend that will run, or a clear error. 'auto' takes
    a real GPU when there is one (never the simulator: it is for tests)."""
    if name not in BACKENDS:
        raise BackendError(f"--backend: '{name}' is not valid; expected one of cpu, gpu, auto")
    if name == "auto":
        from .gpu import device
        return "gpu" if not device.simulator() and gpu_available() else "cpu"
    if name == "gpu" and not gpu_available():
        raise BackendError("--backend gpu: no CUDA GPU with CuPy and numba-cuda found here; install "
                           "spikescope[gpu] on a machine with an NVIDIA GPU, set NUMBA_ENABLE_CUDASIM=1 "
                           "to run the GPU kernels in Numba's simulator (small networks), or use --backend cpu")
    return name


def make_backend(name: str, network, threads: int | None = None, **options):
    """The backend for ``network``. ``options``: ``regenerate_weights`` (both; drawn weights
    drawn again from their keys instead of stored: the GPU's default), and for the GPU
    ``driver``, ``blocks``, ``block_threads``."""
    chosen = resolve(name)
    if chosen == "gpu":
        from .gpu.engine import GpuBackend  # imports numba-cuda (and CuPy on a GPU)
        return GpuBackend(network, **options)
    from .cpu.engine import CpuBackend
    return CpuBackend(network, threads=threads, **options)
