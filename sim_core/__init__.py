"""SpikeScope's simulation core (see docs/architecture.md)."""
import os as _os

# How long an idle OpenMP thread spins at a barrier before it sleeps (libgomp reads this
# when Numba first starts its threads). libgomp's default, 300,000 spins, makes the engine
# 5-7x slower when another busy process shares each core (the spinning thread holds the core
# that the thread it waits for needs). Measured on the microcircuit 0.1, 2 cores, median of
# 5 (benchmarks/cpu_sharing.py, docs/benchmarks.md): 1,000 spins 0.53 s quiet, 3.0x busy;
# 500 spins 0.54 s, 2.5x; 300 spins 0.68 s, 2.4x; a passive policy 1.0x but twice as slow
# quiet. 500 keeps the quiet speed. A value set by the user wins.
_os.environ.setdefault("GOMP_SPINCOUNT", "500")
