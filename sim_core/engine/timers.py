"""Phase timers (build, load, simulate, record): wall seconds per phase, shown to users."""
from __future__ import annotations

import time
from contextlib import contextmanager


class PhaseTimers:
    def __init__(self):
        self.seconds: dict[str, float] = {}

    @contextmanager
    def phase(self, name: str):
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - t0

    def __getitem__(self, name: str) -> float:
        return self.seconds.get(name, 0.0)
