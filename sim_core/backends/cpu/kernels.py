"""The CPU time step (Numba): neuron update in NEST's order, Poisson and DC drive,
spike delivery into ring buffers. One call advances many steps so Python is not in the
loop; steps go in batches up to the smallest delay (one thread barrier per batch); threads
own disjoint neuron ranges, so results do not depend on thread count."""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from ...random.philox import SMALL_MEAN, poisson, poisson_inversion, uniform4

from ...network.layout import (EL, EXPM1, I0, I_EX, I_IN, IE, DI_EX, DI_IN, INIT_EX, INIT_IN, P11EX,
                              P11IN, P20, P21EX, P21EXA, P21IN, P21INA, P22, P31EX, P31IN, P32EX, P32IN,
                              PSC_ALPHA, PSC_EXP, REFR_BUF, REFR_INPUT, TAU_M, THETA, V, VMIN, VRESET)


@njit(cache=True, inline="always")
def _update_neuron(i, m, P, S, refr, refr_counts, in_ex, in_in, h):
    """One step of neuron i; in_ex/in_in: weighted input arriving this step.
    Returns True on a spike. Mirrors NEST's update() of each model line by line."""
    if m == PSC_EXP:
        if refr[i] == 0:
            S[i, V] = (S[i, V] * P[i, P22] + S[i, I_EX] * P[i, P21EX] + S[i, I_IN] * P[i, P21IN]
                       + (P[i, IE] + S[i, I0]) * P[i, P20])
        else:
            refr[i] -= 1
        S[i, I_EX] *= P[i, P11EX]
        S[i, I_IN] *= P[i, P11IN]
        S[i, I_EX] += in_ex
        S[i, I_IN] += in_in
    elif m == PSC_ALPHA:
        if refr[i] == 0:
            y3 = (P[i, P20] * (S[i, I0] + P[i, IE]) + P[i, P31EX] * S[i, DI_EX] + P[i, P32EX] * S[i, I_EX]
                  + P[i, P31IN] * S[i, DI_IN] + P[i, P32IN] * S[i, I_IN] + P[i, EXPM1] * S[i, V] + S[i, V])
            S[i, V] = y3 if y3 >= P[i, VMIN] else P[i, VMIN]
        else:
            refr[i] -= 1
        S[i, I_EX] = P[i, P21EXA] * S[i, DI_EX] + P[i, P11EX] * S[i, I_EX]
        S[i, DI_EX] *= P[i, P11EX]
        S[i, DI_EX] += P[i, INIT_EX] * in_ex
        S[i, I_IN] = P[i, P21INA] * S[i, DI_IN] + P[i, P11IN] * S[i, I_IN]
        S[i, DI_IN] *= P[i, P11IN]
        S[i, DI_IN] += P[i, INIT_IN] * in_in
    else:  # delta: weights are voltage jumps, both signs in one buffer
        x = in_ex + in_in
        if refr[i] == 0:
            y3 = P[i, P20] * (S[i, I0] + P[i, IE]) + P[i, P22] * S[i, V] + x
            if P[i, REFR_INPUT] != 0.0 and S[i, REFR_BUF] != 0.0:
                y3 += S[i, REFR_BUF]
                S[i, REFR_BUF] = 0.0
            S[i, V] = y3 if y3 >= P[i, VMIN] else P[i, VMIN]
        else:
            if P[i, REFR_INPUT] != 0.0:
                S[i, REFR_BUF] += x * math.exp(-refr[i] * h / P[i, TAU_M])
            refr[i] -= 1
    if S[i, V] >= P[i, THETA]:
        refr[i] = refr_counts[i]
        S[i, V] = P[i, VRESET]
        return True
    return False


@njit(cache=True, inline="always")
def _deliver_row(j0, j1, ks, D, off, w0, woff, w_arr, coff, c_arr, toff, d0, doff, d_arr, single,
                 syn_tgt, syn_w, syn_code, w_table, syn_d, ring_ex, ring_in):
    """Add the weights of synapses j0..j1 into the ring slots of their delays. A weight is
    the projection's one value (w0), a per-synapse float32 (w_arr), or a uint8 code into
    the projection's table (c_arr: limited weight resolution)."""
    if not w_arr and not c_arr and not d_arr:  # one weight, one delay: the common case, one buffer row
        sl = ks + d0
        if sl >= D:
            sl -= D
        buf = ring_ex[sl] if (w0 > 0.0 or single) else ring_in[sl]
        for j in range(j0, j1):
            buf[off + syn_tgt[j]] += w0
        return
    for j in range(j0, j1):
        if w_arr:
            w = np.float64(syn_w[woff + j])
        elif c_arr:
            w = w_table[toff + syn_code[coff + j]]
        else:
            w = w0
        sl = ks + (syn_d[doff + j] if d_arr else d0)
        if sl >= D:
            sl -= D
        if w > 0.0 or single:
            ring_ex[sl, off + syn_tgt[j]] += w
        else:
            ring_in[sl, off + syn_tgt[j]] += w


@njit(cache=True, inline="always")
def _deliver_spikes(t_lo, t_hi, p_step, p_id, ns, D, group_of, grp_ptr, grp_proj, pr_src0, pr_tgt0,
                    pr_ntgt, pr_iptr0, pr_syn0, pr_w, pr_woff, pr_coff, pr_toff, pr_d, pr_doff,
                    pr_single, indptr, syn_tgt, syn_w, syn_code, w_table, syn_d, ring_ex, ring_in):
    """Deliver the pending spikes (emission step, source id), in that order, to targets in
    [t_lo, t_hi)."""
    for s_i in range(ns):
        s = p_id[s_i]
        ks = p_step[s_i] % D
        g = group_of[s]
        for gp in range(grp_ptr[g], grp_ptr[g + 1]):
            q = grp_proj[gp]
            a = max(t_lo - pr_tgt0[q], 0)
            b = min(t_hi - pr_tgt0[q], pr_ntgt[q])
            if a >= b:
                continue
            row = pr_iptr0[q] + s - pr_src0[q]
            j0, j1 = indptr[row], indptr[row + 1]
            if a > 0 or b < pr_ntgt[q]:  # this thread owns part of the target population
                r0 = j0
                j0 = r0 + np.searchsorted(syn_tgt[r0:j1], a)
                j1 = r0 + np.searchsorted(syn_tgt[r0:j1], b)
            _deliver_row(j0, j1, ks, D, pr_tgt0[q], pr_w[q], pr_woff[q] - pr_syn0[q], pr_woff[q] >= 0,
                         pr_coff[q] - pr_syn0[q], pr_coff[q] >= 0, pr_toff[q],
                         pr_d[q], pr_doff[q] - pr_syn0[q], pr_doff[q] >= 0, pr_single[q],
                         syn_tgt, syn_w, syn_code, w_table, syn_d, ring_ex, ring_in)


@njit(parallel=True, cache=True, nogil=True)  # nogil: the app simulates in a background thread
def advance(k0, n_steps, batch, h, seed, lo, hi,
            mtype, P, S, refr, refr_counts, ring_ex, ring_in,
            pz_ptr, pz_lam, pz_elam, pz_w, pz_d, pz_first, pz_last, pz_stream,
            dc_ptr, dc_amp, dc_d, dc_first, dc_last,
            group_of, grp_ptr, grp_proj, pr_src0, pr_tgt0, pr_ntgt, pr_iptr0, pr_syn0,
            pr_w, pr_woff, pr_coff, pr_toff, pr_d, pr_doff, pr_single, indptr, syn_tgt, syn_w,
            syn_code, w_table, syn_d, sg_step, sg_src, sg_pos, p_step, p_id, pending_n,
            spk_scratch, spk_cnt, out_step, out_id, out_n,
            vm_idx, vm_every, vm_out, vm_n):
    """Advance from step k0 by up to n_steps; returns the steps done. Stops early when the
    spike or voltage output buffers could overflow, so the host can drain them.

    Steps go in batches of up to ``batch`` steps, ``batch`` <= the smallest spike delay
    (NEST's min_delay communication): a spike emitted in a batch never arrives within it.
    One parallel region per batch (not per step: 15 times fewer thread barriers in
    Brunel's network, which matters most when a browser shares the cores): each thread
    first delivers the previous batch's spikes (``p_step``, ``p_id``) to the neurons it
    owns, then advances those same neurons through the batch. Every ring slot sums its
    inputs in (emission step, source id) order whatever the thread count, so results do
    not depend on it."""
    D = ring_ex.shape[0]
    n_chunks = lo.shape[0]
    cap = out_step.shape[0]
    n_neurons = S.shape[0]
    n_vm = vm_idx.shape[0]
    k = k0
    while k < k0 + n_steps:
        n_b = min(batch, k0 + n_steps - k, (cap - out_n[0]) // max(n_neurons, 1))
        if n_vm > 0:
            n_b = min(n_b, (vm_out.shape[0] - vm_n[0]) * vm_every)
        if n_b <= 0:
            break
        ns = pending_n[0]
        r0 = vm_n[0] - (k // vm_every)  # voltmeter row of the sample after step kk: r0 + (kk + 1) // every - 1
        for c in prange(n_chunks):
            if ns > 0:  # 1. deliver the last batch's spikes into ring slots of this batch and later
                _deliver_spikes(lo[c], hi[c], p_step, p_id, ns, D, group_of, grp_ptr, grp_proj,
                                pr_src0, pr_tgt0, pr_ntgt, pr_iptr0, pr_syn0, pr_w, pr_woff, pr_coff,
                                pr_toff, pr_d, pr_doff, pr_single, indptr, syn_tgt, syn_w, syn_code,
                                w_table, syn_d, ring_ex, ring_in)
            # 2. update, step by step. One Philox call serves 4 consecutive Poisson connections
            # at one step (lane j & 3), keyed on (stream, j >> 2, step) only: thread-independent.
            cnt = 0
            base = lo[c] * batch  # this chunk's part of the scratch: batch spikes per neuron at most
            for kk in range(k, k + n_b):
                slot = kk % D
                c_key, c_e, c_st = -1, -1, -1
                u0 = u1 = u2 = u3 = 0.0
                for i in range(lo[c], hi[c]):
                    in_ex = ring_ex[slot, i]
                    in_in = ring_in[slot, i]
                    ring_ex[slot, i] = 0.0
                    ring_in[slot, i] = 0.0
                    for j in range(pz_ptr[i], pz_ptr[i + 1]):  # Poisson trains emitted d steps ago
                        e = kk - pz_d[j]
                        if pz_first[j] <= e <= pz_last[j]:
                            if pz_lam[j] < SMALL_MEAN:
                                if (j >> 2) != c_key or e != c_e or pz_stream[j] != c_st:
                                    c_key, c_e, c_st = j >> 2, e, pz_stream[j]
                                    u0, u1, u2, u3 = uniform4(seed, c_st, c_key, e)
                                lane = j & 3
                                u = u0 if lane == 0 else (u1 if lane == 1 else (u2 if lane == 2 else u3))
                                n = poisson_inversion(u, pz_lam[j], pz_elam[j])
                            else:
                                n = poisson(pz_lam[j], pz_elam[j], seed, pz_stream[j], j, e)
                            if n > 0:
                                x = n * pz_w[j]
                                if x > 0.0:
                                    in_ex += x
                                else:
                                    in_in += x
                    if _update_neuron(i, mtype[i], P, S, refr, refr_counts, in_ex, in_in, h):
                        spk_scratch[base + cnt] = i
                        cnt += 1
                    cur = 0.0  # DC current for the next step (NEST reads it at the end of this one)
                    for j in range(dc_ptr[i], dc_ptr[i + 1]):
                        e = kk - dc_d[j]
                        if dc_first[j] <= e <= dc_last[j]:
                            cur += dc_amp[j]
                    S[i, I0] = cur
                spk_cnt[c, kk - k] = cnt  # spikes of this chunk up to and including step kk
                if n_vm > 0 and (kk + 1) % vm_every == 0:  # 3. voltmeter: this chunk's neurons
                    r = r0 + (kk + 1) // vm_every - 1
                    for q in range(n_vm):
                        if lo[c] <= vm_idx[q] < hi[c]:
                            vm_out[r, q] = S[vm_idx[q], V] + P[vm_idx[q], EL]
        # 4. the batch's spikes in (step, neuron) order: record, and keep for delivery
        ns = 0
        for j in range(n_b):
            for c in range(n_chunks):
                q0 = spk_cnt[c, j - 1] if j > 0 else 0
                for q in range(q0, spk_cnt[c, j]):
                    gid = spk_scratch[lo[c] * batch + q]
                    p_step[ns] = k + j
                    p_id[ns] = gid
                    out_step[out_n[0]] = k + j
                    out_id[out_n[0]] = gid
                    out_n[0] += 1
                    ns += 1
            while sg_pos[0] < sg_step.shape[0] and sg_step[sg_pos[0]] == k + j:  # spike generators
                p_step[ns] = k + j
                p_id[ns] = sg_src[sg_pos[0]]
                ns += 1
                sg_pos[0] += 1
        pending_n[0] = ns
        if n_vm > 0:
            vm_n[0] = r0 + (k + n_b) // vm_every
        k += n_b
    return k - k0
