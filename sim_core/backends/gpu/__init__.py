"""The GPU backend: numba-cuda kernels on CuPy memory; on a machine without a GPU the
same kernels run in Numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``) on NumPy arrays.
Importing this package imports numba-cuda (and CuPy on a GPU): only ``make_backend``
does, when the GPU backend is asked for."""
