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


def merge(specs: list[dict]) -> dict:
    """One plain spec holding every spec of ``specs`` (plain dicts, as ``to_plain`` gives)
    under the prefixes ``b0_``, ``b1_``, ...; voltmeters are left out."""
    from ..spec import from_dict
    if not specs:
        raise SpecError("batch", "no points to merge")
    parsed = [from_dict(s) for s in specs]  # defaults filled in (to_plain leaves them out)
    dts = {p.dt for p in parsed}
    if len(dts) > 1:
        raise SpecError("dt", f"points of one batch must share dt; got {sorted(dts)} ms")
    first = parsed[0]
    out = {"format": "spikescope/1", "name": f"{first.name}-batch{len(specs)}", "dt": first.dt,
           "seed": first.seed, "populations": {}, "inputs": {}, "projections": [], "recorders": {"spikes": []}}
    for k, (spec, obj) in enumerate(zip(specs, parsed)):
        pre = prefix(k)
        for name, pop in spec["populations"].items():
            out["populations"][pre + name] = pop
        for name, inp in (spec.get("inputs") or {}).items():
            out["inputs"][pre + name] = inp
        for proj in spec.get("projections") or []:
            out["projections"].append({**proj, "source": pre + proj["source"], "target": pre + proj["target"]})
        out["recorders"]["spikes"] += [pre + n for n in recorded(obj)]
    return out


def recorded(spec) -> list[str]:
    """The populations whose spikes a spec records."""
    rec = spec.recorders.spikes
    return list(spec.populations) if rec == "all" else list(rec)


def split(sim, k: int, spec: dict) -> dict:
    """Point ``k``'s spikes {population: (times, ids)} under its own names."""
    from ..spec import from_dict
    return {n: sim.spikes(prefix(k) + n) for n in recorded(from_dict(spec))}
