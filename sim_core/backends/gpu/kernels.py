"""GPU kernels (numba-cuda). The neuron step and the synapse lookups are the shared
``backends.step`` functions (numba-cuda compiles an ``@njit`` function's source as a
device function), so the GPU does the CPU's arithmetic; synaptic input goes into int64
fixed-point ring buffers with integer atomics, whose sums do not depend on thread order.

A step is two phases: *update* (one thread per neuron: read and clear its ring slot,
Poisson and DC input, integrate, append a spike to this step's list) and *deliver* (the
grid split into one group of threads per spike, over the spike's synapses). When every delay is at least
two steps (``fused``), step k's update and step k-1's delivery run in one phase: the
delivery writes slots k+1 and later while the update reads slot k. Two drivers run the
phases: a persistent cooperative kernel (many steps per launch, one grid sync per phase:
the fast path) and one launch per phase (the fallback, and the multi-block tests: the
simulator's grid sync does not synchronise blocks).

Spike lists are triple-buffered (step k appends to list k % 3 while the delivery of
step k - 1 reads list (k - 1) % 3; list (k + 1) % 3 is cleared in the same phase, its
last reader having finished a phase earlier).
"""
from __future__ import annotations

import numpy as np
from numba import cuda

from ..packing import (SY_GROUP_OF, SY_GRP_PROJ, SY_GRP_PTR, SY_INDPTR, SY_PR_IPTR0, SY_PR_SINGLE, SY_PR_SRC0,
                       SY_PR_TGT0, SY_SYN_TGT)
from ..step import delay_at, delay_source, neuron_step, voltage, weight_at, weight_source
from .device import simulator


def _no_fma():
    """NVVM fuses a * b + c into one rounding by default; the CPU rounds twice. Compile
    with -fma=0 (numba-cuda has no switch for it but passes NVVM options through)."""
    if simulator():
        return
    from numba.cuda.cudadrv import nvvm
    if getattr(nvvm.compile_ir, "_spikescope_no_fma", False):
        return
    inner = nvvm.compile_ir

    def compile_ir(llvmir, **options):
        if not options.get("fastmath"):
            options["fma"] = False
        return inner(llvmir, **options)

    compile_ir._spikescope_no_fma = True
    nvvm.compile_ir = compile_ir


_no_fma()
if simulator():
    from .simulated import python_twin
    delay_at, delay_source, neuron_step, voltage, weight_at, weight_source = (
        python_twin(f) for f in (delay_at, delay_source, neuron_step, voltage, weight_at, weight_source))


@cuda.jit(device=True, inline=True)
def _lower_bound(a, x):
    """First index of sorted ``a`` with a[i] >= x."""
    lo, hi = 0, a.shape[0]
    while lo < hi:
        mid = (lo + hi) // 2
        if a[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


@cuda.jit(device=True)
def update_phase(k, t0, stride, seed, h, nr, dr, ring_ex, ring_in, spk, spk_n, io, vm_every, k_first):
    """Step k of neurons t0, t0 + stride, ...; spikes go to list k % 3 and to the output."""
    n = ring_ex.shape[1]
    slot = k % ring_ex.shape[0]
    lst = k % 3
    out_step, out_id, out_n, vm_col, vm_out = io
    if t0 == 0:
        spk_n[(k + 1) % 3] = 0
    sample = (k + 1) % vm_every == 0
    row = (k + 1) // vm_every - 1 - k_first // vm_every
    mtype, P, S, refr, refr_counts, prow, rdecay = nr
    c_key, c_e, c_st = -1, -1, -1
    u0 = u1 = u2 = u3 = 0.0
    for i in range(t0, n, stride):
        spiked, c_key, c_e, c_st, u0, u1, u2, u3 = neuron_step(
            i, k, slot, seed, h, mtype, P, prow, rdecay, S, refr, refr_counts, dr, ring_ex, ring_in,
            c_key, c_e, c_st, u0, u1, u2, u3)
        if spiked:
            p = cuda.atomic.add(spk_n, lst, 1)
            spk[lst, p] = i
            o = cuda.atomic.add(out_n, 0, 1)
            out_step[o] = k
            out_id[o] = i
        if sample and vm_col[i] >= 0:
            vm_out[row, vm_col[i]] = voltage(i, P, prow, S)


@cuda.jit(device=True)
def deliver_phase(k, tid, n_threads, sy, ring_ex, ring_in, spk, spk_n, sg_step, sg_src):
    """Spikes emitted in step k (neurons' list k % 3, then spike generators) into the ring
    slots k + delay of their targets. The grid splits into as many groups as there are
    spikes (at most one warp each): a group takes every G-th spike, its threads that
    spike's synapses. At the microcircuit's ~25 spikes a step, each spike's ~3,900 synapses
    then spread over ~2,000 threads instead of one block's 128."""
    D = ring_ex.shape[0]
    lst = k % 3
    ns = spk_n[lst]
    a = _lower_bound(sg_step, k)
    b = _lower_bound(sg_step, k + 1)
    total = ns + b - a
    if total == 0:
        return
    groups = min(total, max(n_threads // 32, 1))
    per = n_threads // groups
    g = tid // per
    if g >= groups:
        return
    lane = tid - g * per
    ks = k % D
    for s_i in range(g, total, groups):
        s = spk[lst, s_i] if s_i < ns else sg_src[a + s_i - ns]
        grp = sy[SY_GROUP_OF][s]
        for gp in range(sy[SY_GRP_PTR][grp], sy[SY_GRP_PTR][grp + 1]):
            q = sy[SY_GRP_PROJ][gp]
            row = sy[SY_PR_IPTR0][q] + s - sy[SY_PR_SRC0][q]
            off = sy[SY_PR_TGT0][q]
            mode, woff, toff, w0q = weight_source(q, sy)
            per_d, doff, d0 = delay_source(q, sy)
            single = sy[SY_PR_SINGLE][q]
            for j in range(sy[SY_INDPTR][row] + lane, sy[SY_INDPTR][row + 1], per):
                wq = weight_at(j, q, mode, woff, toff, w0q, sy)
                sl = ks + delay_at(j, per_d, doff, d0, sy)
                if sl >= D:
                    sl -= D
                tgt = off + np.int64(sy[SY_SYN_TGT][j])
                if wq > 0 or single:
                    cuda.atomic.add(ring_ex, (sl, tgt), wq)
                else:
                    cuda.atomic.add(ring_in, (sl, tgt), wq)


@cuda.jit
def update_kernel(k, seed, h, nr, dr, ring_ex, ring_in, spk, spk_n, io, vm_every, k_first):
    update_phase(k, cuda.grid(1), cuda.gridsize(1), seed, h, nr, dr, ring_ex, ring_in, spk, spk_n, io,
                 vm_every, k_first)


@cuda.jit
def deliver_kernel(k, sy, ring_ex, ring_in, spk, spk_n, sg_step, sg_src):
    deliver_phase(k, cuda.grid(1), cuda.gridsize(1), sy, ring_ex, ring_in, spk, spk_n, sg_step, sg_src)


@cuda.jit
def fused_kernel(k, deliver_from, seed, h, nr, dr, sy, ring_ex, ring_in, spk, spk_n, sg_step, sg_src, io, vm_every,
                 k_first):
    """Delivery of step k - 1 (unless the host delivered it already: steps before
    ``deliver_from`` are done) and update of step k in one launch (all delays >= 2)."""
    if k - 1 >= deliver_from:
        deliver_phase(k - 1, cuda.grid(1), cuda.gridsize(1), sy, ring_ex, ring_in, spk, spk_n, sg_step, sg_src)
    update_phase(k, cuda.grid(1), cuda.gridsize(1), seed, h, nr, dr, ring_ex, ring_in, spk, spk_n, io,
                 vm_every, k_first)


@cuda.jit  # 145 registers (ptxas, sm_90); capped at 128 it spills: see test_gpu_compile
def persistent_kernel(k0, n_steps, fused, deliver_from, seed, h, nr, dr, sy, ring_ex, ring_in, spk, spk_n,
                      sg_step, sg_src, io, vm_every):
    """Steps k0 .. k0 + n_steps - 1 in one cooperative launch: one grid sync per phase."""
    grid = cuda.cg.this_grid()
    t0, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(k0, k0 + n_steps):
        if fused:
            if k - 1 >= deliver_from:
                deliver_phase(k - 1, t0, stride, sy, ring_ex, ring_in, spk, spk_n, sg_step, sg_src)
            update_phase(k, t0, stride, seed, h, nr, dr, ring_ex, ring_in, spk, spk_n, io, vm_every, k0)
            grid.sync()
        else:
            update_phase(k, t0, stride, seed, h, nr, dr, ring_ex, ring_in, spk, spk_n, io, vm_every, k0)
            grid.sync()
            deliver_phase(k, t0, stride, sy, ring_ex, ring_in, spk, spk_n, sg_step, sg_src)
            grid.sync()
