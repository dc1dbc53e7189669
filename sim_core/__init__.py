"""SpikeScope's simulation core (see docs/architecture.md)."""
import os as _os

# How long an idle OpenMP thread spins at a barrier before it sleeps (libgomp reads this
# when Numba first starts its threads). libgomp's default, 300,000 spins, makes the engine
# 4.3x slower when another busy process shares each core (the spinning thread holds the core
# that the thread it waits for needs); 1,000 keeps the quiet speed and is 2.7x; a passive
# policy is 1.0x but twice as slow on a quiet machine (microcircuit 0.1, 2 cores:
# benchmarks/cpu_sharing.py, docs/benchmarks.md). A value set by the user wins.
_os.environ.setdefault("GOMP_SPINCOUNT", "1000")
