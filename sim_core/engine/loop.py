"""Closed loop: a simulation advanced in periods (10 ms by default), with user code called
between them. The code sees the spikes of the period that just ended (per population and
per cluster) and the simulated time, and may change input rates and amplitudes, one-valued
weights and neuron parameters before the next period, through the backend's live-edit
methods (``engine.live``). Optionally the loop is paced to the wall clock (real time).

>>> def hold(period, control):                          # doctest: +SKIP
...     error = 20.0 - period.rate("E0")
...     control.set_params("E0", I_e=period.spec.populations["E0"].params["I_e"] + 0.5 * error)
>>> report = run_loop(sim, 2000.0, hold, period_ms=10.0, realtime=True)   # doctest: +SKIP

What the code changes takes effect at the next period's first step, whatever the pacing:
the same seed and the same code give the same spikes with or without real time.
"""
from __future__ import annotations

import dataclasses
import time
from typing import Callable

import numpy as np

from ..analysis.clusters import clusters_of
from ..errors import SpecError, SpikeScopeError
from ..spec import validate as checks
from ..spec.model import NetworkSpec
from .live import apply_live

@dataclasses.dataclass(frozen=True)
class Period:
    """One period of the loop: its spikes, stamped in (t_start, t_stop] ms."""

    index: int
    t_start: float
    t_stop: float
    spec: NetworkSpec
    spikes: dict  # population -> (times ms, ids 0-based within it)

    def count(self, population: str) -> int:
        return int(self.spikes[population][0].size)

    def rate(self, population: str) -> float:
        """Mean rate of the population in this period (spikes/s per neuron)."""
        n = self.spec.populations[population].size
        return self.count(population) / n / ((self.t_stop - self.t_start) / 1000.0)

    def cluster_rates(self, kind: str = "E") -> dict[int, float]:
        """Rate per cluster of its populations whose name starts with ``kind``."""
        out = {}
        for c, names in clusters_of(self.spec).items():
            names = [n for n in names if n.startswith(kind)]
            if names:
                n = sum(self.spec.populations[p].size for p in names)
                out[c] = sum(self.count(p) for p in names) / n / ((self.t_stop - self.t_start) / 1000.0)
        return out


class Control:
    """What the loop's code may change before the next period (no rebuild). Each change is
    checked as the spec would be (the field named in the error) and applied once, when the
    period's code returns."""

    def __init__(self, sim):
        self._sim = sim
        self._spec = sim.spec

    @property
    def spec(self) -> NetworkSpec:
        return self._spec

    def set_rate(self, input_name: str, rate: float) -> None:
        """A Poisson generator's rate (spikes/s)."""
        self._set_input(input_name, "rate", rate, "poisson_generator")

    def set_amplitude(self, input_name: str, amplitude: float) -> None:
        """A DC generator's amplitude (pA)."""
        self._set_input(input_name, "amplitude", amplitude, "dc_generator")

    def set_params(self, population: str, **params: float) -> None:
        """Neuron parameters of a whole population (NEST names and units)."""
        pop = self._population(population)
        pop = dataclasses.replace(pop, params={**pop.params, **{k: _number(f"populations.{population}.params.{k}", v)
                                                               for k, v in params.items()}})
        spec = dataclasses.replace(self._spec, populations={**self._spec.populations, population: pop})
        checks.check_population(spec, population)
        self._spec = spec

    def set_weight(self, projection: int, weight: float) -> None:
        """The one weight of a projection (index in ``spec.projections``; pA or mV)."""
        path = f"projections[{projection}].synapse.weight"
        if not 0 <= projection < len(self._spec.projections):
            raise SpecError(path, f"no projection {projection}; there are {len(self._spec.projections)}")
        proj = self._spec.projections[projection]
        if not isinstance(proj.synapse.weight, float):
            raise SpecError(path, "a drawn weight cannot change in a loop; give the projection one weight")
        proj = dataclasses.replace(proj, synapse=dataclasses.replace(proj.synapse, weight=_number(path, weight)))
        projections = list(self._spec.projections)
        projections[projection] = proj
        spec = dataclasses.replace(self._spec, projections=tuple(projections))
        checks.check_projection(spec, projection)
        self._spec = spec

    # ------------------------------------------------------------------ internals
    def _population(self, name):
        if name not in self._spec.populations:
            raise SpecError(f"populations.{name}", f"no such population; there are {', '.join(self._spec.populations)}")
        return self._spec.populations[name]

    def _set_input(self, name, key, value, model):
        path = f"inputs.{name}.params.{key}"
        inp = self._spec.inputs.get(name)
        if inp is None or inp.model != model:
            have = [n for n, i in self._spec.inputs.items() if i.model == model]
            raise SpecError(f"inputs.{name}", f"no {model} of that name; there are: {', '.join(have) or 'none'}")
        inp = dataclasses.replace(inp, params={**inp.params, key: _number(path, value)})
        spec = dataclasses.replace(self._spec, inputs={**self._spec.inputs, name: inp})
        checks.check_input(spec, name)
        self._spec = spec

    def _apply(self) -> bool:
        if self._spec is self._sim.spec:
            return False
        apply_live(self._sim, self._spec)
        return True


def _number(path: str, value) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise SpecError(path, f"{value!r} is not a number") from None
    if not np.isfinite(v) or isinstance(value, bool):
        raise SpecError(path, f"{value!r} is not a finite number")
    return v


@dataclasses.dataclass
class LoopReport:
    """How the loop went: per period the wall time of the simulation and of the user code
    (s), and, paced, the periods that ended after their deadline."""

    period_ms: float
    realtime: bool
    sim_s: list = dataclasses.field(default_factory=list)
    code_s: list = dataclasses.field(default_factory=list)
    late: int = 0  # paced: periods whose simulation and code ended after the wall clock's deadline
    wall_s: float = 0.0

    @property
    def periods(self) -> int:
        return len(self.sim_s)

    def summary(self) -> dict:
        per = np.asarray(self.sim_s) + np.asarray(self.code_s)
        ms = lambda a: round(float(a) * 1000.0, 3)  # noqa: E731
        return {"period_ms": self.period_ms, "periods": self.periods, "realtime": self.realtime,
                "wall_s": round(self.wall_s, 4),
                "per_period_ms": {"mean": ms(per.mean()) if per.size else None,
                                  "p95": ms(np.percentile(per, 95)) if per.size else None,
                                  "max": ms(per.max()) if per.size else None},
                "code_ms_mean": ms(np.mean(self.code_s)) if self.code_s else None,
                "deadlines_missed": self.late if self.realtime else None}


def _period_spikes(sim, t_start: float) -> dict:
    rec = sim.spike_record
    return rec.split(*rec.window(t_start))


def run_loop(sim, t_ms: float, code: Callable | None = None, period_ms: float = 10.0, realtime: bool = False,
             speed: float = 1.0, progress=None) -> LoopReport:
    """Advance ``sim`` by ``t_ms`` in periods of ``period_ms`` (a whole number of steps),
    calling ``code(period, control)`` after each. ``realtime``: wait so that simulated time
    keeps pace with the wall clock times ``speed``; periods that end late are counted, and
    the loop goes on (it never skips simulated time). ``progress(t_ms)`` is called after
    each period. Returns a ``LoopReport``."""
    dt = sim.network.dt
    steps = int(round(period_ms / dt))
    if steps < 1 or abs(steps * dt - period_ms) > 1e-9 * max(period_ms, 1.0):
        raise SpikeScopeError(f"period: {period_ms} ms is not a whole number of steps of {dt} ms")
    if not speed > 0:
        raise SpikeScopeError(f"speed: {speed} must be > 0")
    n_periods = int(round(t_ms / period_ms))
    report = LoopReport(period_ms=period_ms, realtime=realtime)
    control = Control(sim)
    t0 = time.perf_counter()
    for k in range(n_periods):
        start = time.perf_counter()
        t_start = sim.t
        sim.step(steps)
        mid = time.perf_counter()
        if code is not None:
            control._spec = sim.spec
            code(Period(k, t_start, sim.t, sim.spec, _period_spikes(sim, t_start)), control)
            control._apply()
        end = time.perf_counter()
        report.sim_s.append(mid - start)
        report.code_s.append(end - mid)
        if realtime:
            deadline = t0 + (k + 1) * period_ms / 1000.0 / speed
            if end > deadline:
                report.late += 1
            else:
                time.sleep(deadline - end)
        if progress is not None:
            progress(sim.t)
    report.wall_s = time.perf_counter() - t0
    return report


def hold_rate(population: str, target_hz: float, gain: float = 0.5, param: str = "I_e") -> Callable:
    """Loop code that holds ``population``'s rate near ``target_hz`` by changing one of its
    neuron parameters (default the constant current ``I_e``, pA) each period by ``gain``
    times the error (an integral controller: pA per spikes/s per period). The parameter's
    values are kept in ``code.history`` as (t ms, rate, value)."""
    def code(period: Period, control: Control) -> None:
        rate = period.rate(population)
        value = control.spec.populations[population].params.get(param, 0.0)
        value = float(value) + gain * (target_hz - rate)
        control.set_params(population, **{param: value})
        code.history.append((period.t_stop, rate, value))
    code.history = []
    return code
