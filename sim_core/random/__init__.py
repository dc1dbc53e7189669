"""Counter-based random numbers shared by every layer above: Philox4x32-10 as Numba
functions (compiled for the CPU by ``njit`` and for the GPU by numba-cuda from the same
source), the array-namespace version for builders on CuPy or NumPy, and stream keys."""
