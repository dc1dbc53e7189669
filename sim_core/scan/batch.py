"""Batching: several scan points simulated as one network. Each point's populations,
inputs and projections are copied into one spec under a prefix (``b3_E0``), the engine
advances them all in one pass, and the spikes are split back per point.

What makes GeNN fast on a GPU for calibration scans is this: many small instances share
one kernel launch per step; on the CPU they share the per-step work of the threads (a
barrier per step and batch, the Python between calls) instead of paying it once per point.

A batched point is not the same network as the point run alone: the random streams are
keyed by population and projection indices, which differ in the merged spec. Its
connectivity and spikes are another draw of the same model (statistically the same; the
test compares the distributions). Points in one batch share the seed.
"""
from __future__ import annotations

from ..errors import SpecError


def prefix(k: int) -> str:
    return f"b{k}_"


def merge(specs: list) -> "NetworkSpec":
    """One spec holding every spec of ``specs`` (parsed ``NetworkSpec``s) under the
    prefixes ``b0_``, ``b1_``, ...; voltmeters are left out. Built from the parsed points,
    not parsed again: a batch of eight clustered networks has 12,800 projections, more than
    a spec file may hold, and parsing it took longer than simulating it."""
    import dataclasses

    from ..spec.model import Recorders
    if not specs:
        raise SpecError("batch", "no points to merge")
    dts = {s.dt for s in specs}
    if len(dts) > 1:
        raise SpecError("dt", f"points of one batch must share dt; got {sorted(dts)} ms")
    populations, inputs, projections, recorded_names = {}, {}, [], []
    for k, spec in enumerate(specs):
        pre = prefix(k)
        populations.update({pre + n: p for n, p in spec.populations.items()})
        inputs.update({pre + n: i for n, i in spec.inputs.items()})
        projections += [dataclasses.replace(pr, source=pre + pr.source, target=pre + pr.target)
                        for pr in spec.projections]
        recorded_names += [pre + n for n in recorded(spec)]
    return dataclasses.replace(specs[0], name=f"{specs[0].name}-batch{len(specs)}", populations=populations,
                               inputs=inputs, projections=tuple(projections),
                               recorders=Recorders(tuple(recorded_names), None))


def recorded(spec) -> list[str]:
    """The populations whose spikes a spec records."""
    rec = spec.recorders.spikes
    return list(spec.populations) if rec == "all" else list(rec)


def split(sim, k: int, spec) -> dict:
    """Point ``k``'s spikes {population: (times, ids)} under its own names."""
    return {n: sim.spikes(prefix(k) + n) for n in recorded(spec)}
