"""The rates of ``spot_poisson_generator`` inputs, set at the start of every period: each
target's Poisson train runs at rate + peak_rate * exp(-d^2 / 2 sigma^2), d its distance (on
the periodic block of the sheet) from the period's centre. Centres are drawn uniformly on a
block, keyed on (seed, the input, the period): the same for every backend and run.

The rates go to the backend as a live change of its Poisson entries (``set_drives``), which
applies to trains read from that step on: a train with delay d steps emits d steps early
under the new rate (0.1 ms of a 20 ms period for the usual delay)."""
from __future__ import annotations



import numpy as np

from ..random import streams
from ..random.philox import uniform4


class SpotDrive:
    def __init__(self, net, backend):
        self.net, self.backend = net, backend
        spec = net.spec
        self.spots = []
        names = list(spec.inputs)
        for c in net.connectome.connections:
            inp = spec.inputs.get(c.source)
            if inp is None or inp.model != "spot_poisson_generator":
                continue
            # one spot per input, whichever populations it drives: keyed on the input
            period = round(float(inp.params.get("period", 20.0)) / net.dt)
            sheet = spec.populations[c.target].positions
            pos = net.connectome.positions[c.target][c.targets.astype(np.int64)]
            p = inp.params
            tiles = max(1, int(round(p.get("tiles") or 1.0)))
            block = np.asarray(sheet.extent, np.float64) / tiles
            self.spots.append(dict(
                sel=np.flatnonzero(net.poisson.conn == c.index), pos=pos, block=block,
                base=float(p.get("rate", 5.0)), peak=float(p.get("peak_rate", 152.8)),
                sigma=float(p.get("sigma", 2.0)), stream=streams.stream(streams.SPOT, names.index(c.source)),
                lo=np.asarray(sheet.extent, np.float64) * -0.5, period=period))
        self.periods = sorted({s["period"] for s in self.spots})
        self.applied = -1
        self.centres: list[np.ndarray] = []  # the current centre of each spot (mm)

    def __bool__(self) -> bool:
        return bool(self.spots)

    def steps_to_next(self, step: int) -> int:
        return min(p - step % p for p in self.periods)

    def apply(self, step: int) -> None:
        """Set the rates for the period that starts at ``step`` (once per step)."""
        if not self.spots or step == self.applied or all(step % p for p in self.periods):
            return
        self.applied = step
        net = self.net
        value = net.poisson.value.copy()
        centres = list(self.centres) or [None] * len(self.spots)
        for k, s in enumerate(self.spots):
            if step % s["period"]:
                continue  # this spot stays where it is
            u = uniform4(np.uint64(net.seed), s["stream"], 0, step)
            centre = s["lo"] + np.array([u[0], u[1]]) * s["block"]
            centres[k] = centre
            d = s["pos"] - centre
            d -= s["block"] * np.round(d / s["block"])  # the nearest copy of the spot
            r2 = (d * d).sum(axis=1)
            rate = s["base"] + s["peak"] * np.exp(-r2 / (2.0 * s["sigma"] ** 2))
            value[s["sel"]] = rate * net.dt / 1000.0
        self.centres = centres
        self.backend.set_drives(value, net.poisson.weight.copy(), net.dc.value.copy())



