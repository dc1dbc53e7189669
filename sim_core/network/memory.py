"""One estimate of a simulation's memory, from the spec alone, before anything is
allocated: neurons and their state, ring buffers, synapses while building, drives,
recorders. ``check`` refuses a network that would not fit, naming the largest parts, the
estimate and what the machine (or the GPU) has; it runs before the first array exists."""
from __future__ import annotations

import math

from ..connectivity.build import BUILD_BYTES_PER_SYNAPSE, available_memory
from ..connectivity.rules import expected_synapses
from ..errors import CapacityError
from ..spec.model import Exponential, LinearDelay, Lognormal, NetworkSpec, Normal, Uniform
from . import layout as L

# Per neuron: parameters and state in float64, refractory counters, initial V, model code,
# plus the (spec-sized) index arrays the backends keep.
NEURON_BYTES = 8 * (L.N_COLS + L.N_STATE) + 4 + 4 + 8 + 1 + 32
DRIVE_BYTES = 9 * 8  # a Poisson or DC entry: value, exp(-value), weight, delay, window, stream, source
SPIKE_BUFFER_BYTES = 2 * 8  # (step, id) per spike slot; the host buffer holds max(4 n, 2^20)
VOLTMETER_ROWS = 4096
GPU_SPIKE_BUFFER_BYTES = (1 << 24) * 16  # the GPU backend's device spike buffer
GPU_BYTES_PER_SYNAPSE = 8  # stored on the device: target, delay, row pointers, with headroom


def _longest_delay_ms(spec: NetworkSpec, delay) -> float:
    """An upper estimate of a projection's longest delay (the ring buffer's length)."""
    if isinstance(delay, (int, float)):
        return float(delay)
    if isinstance(delay, LinearDelay):
        ext = max((p.positions.extent for p in spec.populations.values() if p.positions),
                  key=lambda e: e[0] * e[1], default=(1.0, 1.0))
        return delay.offset + math.hypot(*ext) / delay.velocity
    if isinstance(delay, Uniform):  # low/high: the range of X, value = offset + scale * X
        return delay.offset + abs(delay.scale) * max(abs(delay.low), abs(delay.high))
    if delay.high is not None:  # a redraw bound on the value itself
        return float(delay.high)
    typical = {Normal: lambda d: abs(d.mean) + 6 * d.std, Exponential: lambda d: 10 * d.beta,
               Lognormal: lambda d: math.exp(d.mu + 6 * d.sigma)}[type(delay)](delay)
    return abs(delay.offset) + abs(delay.scale) * typical  # no bound given: generous


def counts(spec: NetworkSpec) -> tuple[float, float]:
    """(expected synapses, expected Poisson/DC drive entries), from the rules alone."""
    synapses, drive_entries = 0.0, 0.0
    for proj in spec.projections:
        pop_s = spec.populations.get(proj.source)
        ext = pop_s.positions.extent if pop_s is not None and pop_s.positions else None
        k = expected_synapses(proj.rule, spec.node_size(proj.source), spec.node_size(proj.target),
                              proj.source == proj.target, ext)
        inp = spec.inputs.get(proj.source)
        if inp is not None and inp.model in ("poisson_generator", "dc_generator"):
            drive_entries += k
        else:
            synapses += k
    return synapses, drive_entries


def estimate(spec: NetworkSpec) -> dict[str, int]:
    """Bytes of the host's largest allocations, by part."""
    n = spec.n_neurons
    synapses, drive_entries = counts(spec)
    d_max = max([_longest_delay_ms(spec, p.synapse.delay) for p in spec.projections] + [spec.dt])
    ring_slots = int(d_max / spec.dt) + 2
    vm = spec.recorders.voltmeter
    n_vm = sum(vm.n for _ in vm.populations) if vm is not None else 0
    return {
        "neurons": int(n * NEURON_BYTES),
        "ring buffers": int(2 * 8 * ring_slots * n),
        "synapses": int(synapses * BUILD_BYTES_PER_SYNAPSE),
        "drives": int(drive_entries * DRIVE_BYTES),
        "spike buffers": int(max(4 * n, 1 << 20) * SPIKE_BUFFER_BYTES + 3 * 16 * 8 * n),
        "voltmeter": int(VOLTMETER_ROWS * n_vm * 8),
    }


def device_estimate(spec: NetworkSpec, parts: dict[str, int]) -> dict[str, int]:
    """Bytes the GPU backend holds on the device (its synapses compact: targets, delays)."""
    synapses = parts["synapses"] / BUILD_BYTES_PER_SYNAPSE
    return {"neurons": parts["neurons"], "ring buffers": parts["ring buffers"], "drives": parts["drives"],
            "synapses": int(synapses * GPU_BYTES_PER_SYNAPSE), "spike buffers": GPU_SPIKE_BUFFER_BYTES}


def _refuse(parts: dict[str, int], have: int, where: str) -> None:
    need = sum(parts.values())
    if need <= 0.9 * have:
        return
    big = sorted(parts.items(), key=lambda kv: -kv[1])[:2]
    detail = ", ".join(f"{name} {size / 2**30:.1f} GiB" for name, size in big)
    raise CapacityError(f"network too large: about {need / 2**30:.1f} GiB needed ({detail}), but only "
                        f"{have / 2**30:.1f} GiB are available {where}; reduce sizes or degrees (or --scale)")


def check(spec: NetworkSpec, device_free: int | None = None) -> dict[str, int]:
    """Refuse, before allocating anything, a network that would not fit in the host's memory
    (or, with ``device_free`` bytes, the GPU's). Returns the host estimate."""
    parts = estimate(spec)
    _refuse(parts, available_memory(), "on this machine")
    if device_free is not None:
        _refuse(device_estimate(spec, parts), device_free, "on the GPU")
    return parts
