"""The CPU time step (Numba): the shared neuron step of ``backends.step`` (NEST's order,
Poisson and DC drive) and spike delivery into fixed-point ring buffers. One call advances
many steps so Python is not in the loop; steps go in batches up to the smallest delay (one
thread barrier per batch); threads own disjoint neuron ranges, so results do not depend
on thread count."""
from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit, prange

from ..packing import (SY_GROUP_OF, SY_GRP_PROJ, SY_GRP_PTR, SY_INDPTR, SY_PR_COFF, SY_PR_D, SY_PR_DOFF,
                       SY_PR_IPTR0, SY_PR_NTGT, SY_PR_REGEN, SY_PR_SINGLE, SY_PR_SRC0, SY_PR_TGT0, SY_PR_WOFF,
                       SY_PR_WQ, SY_SYN_TGT)
from ..step import delay_at, delay_source, is_excitatory, neuron_step, voltage, weight_at, weight_source
from .plastic_kernel import deliver_plastic, post_spike, rewiring_events

# What the kernel keeps between calls (pending spikes, spike-generator position, scratch)
# and the host's output buffers; indexed by constant (see ``packing``)
Pending = namedtuple("Pending", "p_step p_id pending_n sg_step sg_src sg_pos spk_scratch spk_cnt")
(PD_P_STEP, PD_P_ID, PD_PENDING_N, PD_SG_STEP, PD_SG_SRC, PD_SG_POS, PD_SPK_SCRATCH, PD_SPK_CNT) = range(8)
Out = namedtuple("Out", "out_step out_id out_n vm_idx vm_every vm_out vm_n")
(OUT_OUT_STEP, OUT_OUT_ID, OUT_OUT_N, OUT_VM_IDX, OUT_VM_EVERY, OUT_VM_OUT, OUT_VM_N) = range(7)


@njit(cache=True, inline="always")
def _deliver_row(j0, j1, q, ks, D, sy, ring_ex, ring_in):
    """Add the fixed-point weights of synapses j0..j1 (projection slot q) into the ring
    slots of their delays."""
    off = sy[SY_PR_TGT0][q]
    if sy[SY_PR_WOFF][q] < 0 and sy[SY_PR_COFF][q] < 0 and sy[SY_PR_DOFF][q] < 0 and not sy[SY_PR_REGEN][q]:
        # one weight, one delay: the common case, one buffer row
        sl = ks + sy[SY_PR_D][q]
        if sl >= D:
            sl -= D
        wq = sy[SY_PR_WQ][q]
        buf = ring_ex[sl] if is_excitatory(wq, q, sy) else ring_in[sl]
        for j in range(j0, j1):
            buf[off + sy[SY_SYN_TGT][j]] += wq
        return
    # the projection's weight and delay sources, read once per row: inside the loop LLVM
    # could not hoist them past the ring stores (measured: microcircuit 0.1, 60% slower)
    mode, woff, toff, w0q = weight_source(q, sy)
    per_d, doff, d0 = delay_source(q, sy)
    single = sy[SY_PR_SINGLE][q]
    for j in range(j0, j1):
        wq = weight_at(j, q, mode, woff, toff, w0q, sy)
        sl = ks + delay_at(j, per_d, doff, d0, sy)
        if sl >= D:
            sl -= D
        if wq > 0 or single:
            ring_ex[sl, off + sy[SY_SYN_TGT][j]] += wq
        else:
            ring_in[sl, off + sy[SY_SYN_TGT][j]] += wq


@njit(cache=True, inline="always")
def _deliver_spikes(t_lo, t_hi, pd, ns, D, sy, ring_ex, ring_in):
    """Deliver the pending spikes (emission step, source id), in that order, to targets in
    [t_lo, t_hi)."""
    for s_i in range(ns):
        s = pd[PD_P_ID][s_i]
        ks = pd[PD_P_STEP][s_i] % D
        g = sy[SY_GROUP_OF][s]
        for gp in range(sy[SY_GRP_PTR][g], sy[SY_GRP_PTR][g + 1]):
            q = sy[SY_GRP_PROJ][gp]
            a = max(t_lo - sy[SY_PR_TGT0][q], 0)
            b = min(t_hi - sy[SY_PR_TGT0][q], sy[SY_PR_NTGT][q])
            if a >= b:
                continue
            row = sy[SY_PR_IPTR0][q] + s - sy[SY_PR_SRC0][q]
            j0, j1 = sy[SY_INDPTR][row], sy[SY_INDPTR][row + 1]
            if a > 0 or b < sy[SY_PR_NTGT][q]:  # this thread owns part of the target population
                r0 = j0
                j0 = r0 + np.searchsorted(sy[SY_SYN_TGT][r0:j1], a)
                j1 = r0 + np.searchsorted(sy[SY_SYN_TGT][r0:j1], b)
            _deliver_row(j0, j1, q, ks, D, sy, ring_ex, ring_in)


@njit(cache=True, nogil=True)
def deliver_pending(n_neurons, D, sy, pl, ring_ex, ring_in, pd):
    """Deliver the pending spikes now (before a live weight change: it then applies to
    spikes emitted after it, on both backends, however the run was split into calls).
    Integer sums: the same slots as delivering them at the next batch's start. Plastic
    projections ``pl`` (one chunk only) learn as they would have then."""
    ns = pd[PD_PENDING_N][0]
    if ns > 0:
        _deliver_spikes(0, n_neurons, pd, ns, D, sy, ring_ex, ring_in)
        deliver_plastic(pd[PD_P_STEP], pd[PD_P_ID], ns, D, sy, pl, ring_ex, ring_in)
    pd[PD_PENDING_N][0] = 0


@njit(parallel=True, cache=True, nogil=True)  # nogil: the app simulates in a background thread
def advance(k0, n_steps, batch, h, seed, lo, hi, nr, dr, sy, ring_ex, ring_in, pd, out):
    """Advance from step k0 by up to n_steps; returns the steps done. Stops early when the
    spike or voltage output buffers could overflow, so the host can drain them.

    nr: neurons (``packing.Neurons``), dr: drives, sy: synapses, ring_ex/ring_in: int64
    fixed-point ring buffers [delay slot, neuron], pd: pending spikes and scratch
    (``Pending``), out: host output buffers (``Out``).

    Steps go in batches of up to ``batch`` steps, ``batch`` <= the smallest spike delay
    (NEST's min_delay communication): a spike emitted in a batch never arrives within it.
    One parallel region per batch (not per step: 15 times fewer thread barriers in
    Brunel's network, which matters most when a browser shares the cores): each thread
    first delivers the previous batch's spikes (``p_step``, ``p_id``) to the neurons it
    owns, then advances those same neurons through the batch. Integer sums do not depend
    on order; slots are also filled in (emission step, source id) order whatever the
    thread count."""
    D = ring_ex.shape[0]
    mtype, P, S, refr, refr_counts, prow, rdecay = nr  # unpacked once: see step.neuron_step
    n_chunks = lo.shape[0]
    cap = out[OUT_OUT_STEP].shape[0]
    n_neurons = S.shape[0]
    n_vm = out[OUT_VM_IDX].shape[0]
    vm_every = out[OUT_VM_EVERY]
    k = k0
    while k < k0 + n_steps:
        n_b = min(batch, k0 + n_steps - k, (cap - out[OUT_OUT_N][0]) // max(n_neurons, 1))
        if n_vm > 0:
            n_b = min(n_b, (out[OUT_VM_OUT].shape[0] - out[OUT_VM_N][0]) * vm_every)
        if n_b <= 0:
            break
        ns = pd[PD_PENDING_N][0]
        # voltmeter row of the sample after step kk: r0 + (kk + 1) // every - 1
        r0 = out[OUT_VM_N][0] - (k // vm_every)
        for c in prange(n_chunks):
            if ns > 0:  # 1. deliver the last batch's spikes into ring slots of this batch and later
                _deliver_spikes(lo[c], hi[c], pd, ns, D, sy, ring_ex, ring_in)
            # 2. update, step by step; the Poisson cache runs along the chunk's neurons
            cnt = 0
            base = lo[c] * batch  # this chunk's part of the scratch: batch spikes per neuron at most
            for kk in range(k, k + n_b):
                slot = kk % D
                c_key, c_e, c_st = -1, -1, -1
                u0 = u1 = u2 = u3 = 0.0
                for i in range(lo[c], hi[c]):
                    spiked, c_key, c_e, c_st, u0, u1, u2, u3 = neuron_step(
                        i, kk, slot, seed, h, mtype, P, prow, rdecay, S, refr, refr_counts, dr, ring_ex,
                        ring_in, c_key, c_e, c_st, u0, u1, u2, u3)
                    if spiked:
                        pd[PD_SPK_SCRATCH][base + cnt] = i
                        cnt += 1
                pd[PD_SPK_CNT][c, kk - k] = cnt  # spikes of this chunk up to and including step kk
                if n_vm > 0 and (kk + 1) % vm_every == 0:  # 3. voltmeter: this chunk's neurons
                    r = r0 + (kk + 1) // vm_every - 1
                    for q in range(n_vm):
                        if lo[c] <= out[OUT_VM_IDX][q] < hi[c]:
                            out[OUT_VM_OUT][r, q] = voltage(out[OUT_VM_IDX][q], P, prow, S)
        # 4. the batch's spikes in (step, neuron) order: record, and keep for delivery
        ns = 0
        for j in range(n_b):
            for c in range(n_chunks):
                q0 = pd[PD_SPK_CNT][c, j - 1] if j > 0 else 0
                for q in range(q0, pd[PD_SPK_CNT][c, j]):
                    gid = pd[PD_SPK_SCRATCH][lo[c] * batch + q]
                    pd[PD_P_STEP][ns] = k + j
                    pd[PD_P_ID][ns] = gid
                    out[OUT_OUT_STEP][out[OUT_OUT_N][0]] = k + j
                    out[OUT_OUT_ID][out[OUT_OUT_N][0]] = gid
                    out[OUT_OUT_N][0] += 1
                    ns += 1
            sg_step, sg_pos = pd[PD_SG_STEP], pd[PD_SG_POS]  # spike generators
            while sg_pos[0] < sg_step.shape[0] and sg_step[sg_pos[0]] == k + j:
                pd[PD_P_STEP][ns] = k + j
                pd[PD_P_ID][ns] = pd[PD_SG_SRC][pd[PD_SG_POS][0]]
                ns += 1
                pd[PD_SG_POS][0] += 1
        pd[PD_PENDING_N][0] = ns
        if n_vm > 0:
            out[OUT_VM_N][0] = r0 + (k + n_b) // vm_every
        k += n_b
    return k - k0


@njit(parallel=True, cache=True, nogil=True)
def advance_one(k0, n_steps, h, seed, nr, dr, sy, pl, ring_ex, ring_in, pd, out):
    """``advance`` for one chunk of neurons (one thread owns them all): the whole call is
    one parallel region, and each step delivers the previous step's spikes itself, so no
    step waits at a barrier and none is limited by the smallest delay. Results are those of
    ``advance`` bit for bit (integer sums; spikes in (step, neuron) order). Plastic
    projections ``pl`` (``cpu/plastic_kernel.py``) run here only.

    Why: a small network's step costs less than opening a parallel region. The clustered
    network at 140 neurons (delays of one step: a region per step) took 2.4 us per step,
    of which about 1.5 us were that fixed cost (measured against a 2-neuron network).
    The region is kept (``prange(1)``) rather than compiling the loop serially: compiled
    serially, the same code took 45 us per step (arrays taken out of the tuples in the
    inner loop, each with reference counting)."""
    done = np.zeros(1, np.int64)
    for _ in prange(1):
        D = ring_ex.shape[0]
        mtype, P, S, refr, refr_counts, prow, rdecay = nr
        cap = out[OUT_OUT_STEP].shape[0]
        n_neurons = S.shape[0]
        n_vm = out[OUT_VM_IDX].shape[0]
        vm_every = out[OUT_VM_EVERY]
        vm_cap = out[OUT_VM_OUT].shape[0]
        k = k0
        while k < k0 + n_steps:
            if out[OUT_OUT_N][0] + n_neurons > cap:
                break  # the host drains the spike buffer first
            if n_vm > 0 and (k + 1) % vm_every == 0 and out[OUT_VM_N][0] >= vm_cap:
                break  # and the voltmeter's
            ns = pd[PD_PENDING_N][0]
            if ns > 0:
                _deliver_spikes(0, n_neurons, pd, ns, D, sy, ring_ex, ring_in)
                deliver_plastic(pd[PD_P_STEP], pd[PD_P_ID], ns, D, sy, pl, ring_ex, ring_in)
            slot = k % D
            c_key, c_e, c_st = -1, -1, -1
            u0 = u1 = u2 = u3 = 0.0
            ns = 0
            for i in range(n_neurons):
                spiked, c_key, c_e, c_st, u0, u1, u2, u3 = neuron_step(
                    i, k, slot, seed, h, mtype, P, prow, rdecay, S, refr, refr_counts, dr, ring_ex,
                    ring_in, c_key, c_e, c_st, u0, u1, u2, u3)
                if spiked:
                    post_spike(i, k, pl)
                    pd[PD_P_STEP][ns] = k
                    pd[PD_P_ID][ns] = i
                    ns += 1
                    out[OUT_OUT_STEP][out[OUT_OUT_N][0]] = k
                    out[OUT_OUT_ID][out[OUT_OUT_N][0]] = i
                    out[OUT_OUT_N][0] += 1
            if n_vm > 0 and (k + 1) % vm_every == 0:
                r = out[OUT_VM_N][0]
                for q in range(n_vm):
                    out[OUT_VM_OUT][r, q] = voltage(out[OUT_VM_IDX][q], P, prow, S)
                out[OUT_VM_N][0] = r + 1
            sg_step, sg_pos = pd[PD_SG_STEP], pd[PD_SG_POS]  # spike generators
            while sg_pos[0] < sg_step.shape[0] and sg_step[sg_pos[0]] == k:
                pd[PD_P_STEP][ns] = k
                pd[PD_P_ID][ns] = pd[PD_SG_SRC][pd[PD_SG_POS][0]]
                ns += 1
                pd[PD_SG_POS][0] += 1
            pd[PD_PENDING_N][0] = ns
            rewiring_events(k, seed, pl)
            k += 1
        done[0] = k - k0
    return done[0]
