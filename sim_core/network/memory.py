"""One estimate of a simulation's memory, from the spec alone, before anything is
allocated: neurons and their state, ring buffers, synapses while building, drives,
recorders. ``check`` refuses a network that would not fit, naming the largest parts, the
estimate and what the machine (or the GPU) has; it runs before the first array exists.

Synapses: each static projection keeps 4 bytes per synapse for its targets, 4 for drawn
weights (1 with a weight resolution) and 1 for delays that are not one value (2 from 256
steps on). The peak is the larger of (a) building: what the projections drawn so far keep,
with ``BUILD_BYTES_PER_SYNAPSE`` per synapse (in all) for the largest projection while its
pairs, float64 draws and delay arithmetic exist, and (b) loading the CPU backend: the connectome
and the backend's packed copy of it, plus one 4-byte temporary per synapse while packing.
Plastic projections count ``BUILD_BYTES_PER_SYNAPSE`` per synapse throughout. Measured on
the mesocircuit (drawn weights, linear delays; 15 and 59 million synapses): 19.6 bytes per
synapse at the peak against (b)'s 22 (20 with 16-bit targets).
"""
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


def _longest_delay_ms(spec: NetworkSpec, delay, proj=None) -> float:
    """An upper estimate of a projection's longest delay (the ring buffer's length)."""
    if isinstance(delay, (int, float)):
        return float(delay)
    if isinstance(delay, LinearDelay):
        return delay.offset + _longest_distance(spec, proj) / delay.velocity
    if isinstance(delay, Uniform):  # low/high: the range of X, value = offset + scale * X
        return delay.offset + abs(delay.scale) * max(abs(delay.low), abs(delay.high))
    if delay.high is not None:  # a redraw bound on the value itself
        return float(delay.high)
    typical = {Normal: lambda d: abs(d.mean) + 6 * d.std, Exponential: lambda d: 10 * d.beta,
               Lognormal: lambda d: math.exp(d.mu + 6 * d.sigma)}[type(delay)](delay)
    return abs(delay.offset) + abs(delay.scale) * typical  # no bound given: generous


def _longest_distance(spec: NetworkSpec, proj) -> float:
    """The longest source-target distance a projection's synapses can have (mm): its mask's
    radius, or half the diagonal of a periodic sheet (distances wrap) both populations lie
    on, else the diagonal of the largest sheet."""
    sheets = [p.positions for p in spec.populations.values() if p.positions]
    longest = max((math.hypot(*s.extent) for s in sheets), default=math.hypot(1.0, 1.0))
    if proj is None:
        return longest
    pops = [spec.populations.get(proj.source), spec.populations.get(proj.target)]
    if all(p is not None and p.positions for p in pops):
        tgt = pops[1].positions
        if tgt.periodic and all(p.positions.extent[0] <= tgt.extent[0] and p.positions.extent[1] <= tgt.extent[1]
                                for p in pops):
            longest = math.hypot(tgt.extent[0] / 2.0, tgt.extent[1] / 2.0)
        mask = getattr(proj.rule, "mask", None)
        if mask is not None and proj.rewiring is None:  # a synapse lies within the mask
            longest = min(longest, mask.circular.radius)
    return longest


PACK_TEMP_BYTES = 4  # the packing's temporary per synapse (a concatenation before its cast)


def _stored_bytes(spec: NetworkSpec, proj) -> int:
    """Bytes per synapse a static projection's connection keeps (and the backend copies)."""
    syn = proj.synapse
    w = 0 if isinstance(syn.weight, (int, float)) else 1 if syn.resolution is not None else 4
    if isinstance(syn.delay, (int, float)):
        d = 0
    else:
        d = 1 if _longest_delay_ms(spec, syn.delay, proj) / spec.dt < 255 else 2
    return 4 + w + d


def synapse_bytes(spec: NetworkSpec) -> float:
    """Peak bytes of the synapses: building or packing them, whichever is larger."""
    kept, packed, largest, plastic = 0.0, 0.0, 0.0, 0.0
    for proj in spec.projections:
        inp = spec.inputs.get(proj.source)
        if inp is not None and inp.model in ("poisson_generator", "dc_generator"):
            continue  # drives (``counts``)
        k = _expected(spec, proj)
        if proj.plastic:
            plastic += k * BUILD_BYTES_PER_SYNAPSE
            continue
        b = _stored_bytes(spec, proj)
        kept += k * b
        packed += k * (b + PACK_TEMP_BYTES)
        largest = max(largest, k * (BUILD_BYTES_PER_SYNAPSE - b))  # its draws, beyond what it keeps
    return plastic + max(kept + largest, kept + packed)


def _expected(spec: NetworkSpec, proj) -> float:
    pop_s = spec.populations.get(proj.source)
    ext = pop_s.positions.extent if pop_s is not None and pop_s.positions else None
    return expected_synapses(proj.rule, spec.node_size(proj.source), spec.node_size(proj.target),
                             proj.source == proj.target, ext)


def counts(spec: NetworkSpec) -> tuple[float, float]:
    """(expected synapses, expected Poisson/DC drive entries), from the rules alone."""
    synapses, drive_entries = 0.0, 0.0
    for proj in spec.projections:
        k = _expected(spec, proj)
        inp = spec.inputs.get(proj.source)
        if inp is not None and inp.model in ("poisson_generator", "dc_generator"):
            drive_entries += k
        else:
            synapses += k
    return synapses, drive_entries


def estimate(spec: NetworkSpec) -> dict[str, int]:
    """Bytes of the host's largest allocations, by part."""
    n = spec.n_neurons
    _, drive_entries = counts(spec)
    d_max = max([_longest_delay_ms(spec, p.synapse.delay, p) for p in spec.projections] + [spec.dt])
    ring_slots = int(d_max / spec.dt) + 2
    vm = spec.recorders.voltmeter
    n_vm = sum(vm.n for _ in vm.populations) if vm is not None else 0
    return {
        "neurons": int(n * NEURON_BYTES),
        "ring buffers": int(2 * 8 * ring_slots * n),
        "synapses": int(synapse_bytes(spec)),
        "drives": int(drive_entries * DRIVE_BYTES),
        "spike buffers": int(max(4 * n, 1 << 20) * SPIKE_BUFFER_BYTES + 3 * 16 * 8 * n),
        "voltmeter": int(VOLTMETER_ROWS * n_vm * 8),
        "lfp": _lfp_bytes(spec),
    }


LFP_KERNEL_BYTES = 256 << 20  # the LFP convolver's bound on its kernels' transforms (lfp.convolve)


def _lfp_bytes(spec: NetworkSpec) -> int:
    """The kernel LFP's FFT work arrays: the kernels' transforms, bounded by the convolver's
    ``KERNEL_BYTES``, and the spike counts' transforms of one block, as large (measured on
    the mesocircuit: 480 MB over a run of 1.5 s, whatever the scale)."""
    lfp = getattr(spec.recorders, "lfp", None)
    if lfp is None or lfp.method != "kernel":
        return 0
    return 2 * LFP_KERNEL_BYTES


def device_estimate(spec: NetworkSpec, parts: dict[str, int]) -> dict[str, int]:
    """Bytes the GPU backend holds on the device (its synapses compact: targets, delays)."""
    synapses, _ = counts(spec)
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
