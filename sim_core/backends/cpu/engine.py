"""The CPU backend: holds the network's arrays in the kernel layout and advances them."""
from __future__ import annotations

import numba
import numpy as np

from ...network import layout as L
from ...network.network import Network
from . import kernels

MAX_BATCH = 16  # steps per parallel region at most
SCRATCH_ENTRIES = 8_000_000  # neurons x batch steps: three int64 arrays of spikes, ~192 MB at most


class CpuBackend:
    name = "cpu"

    def __init__(self, net: Network, threads: int | None = None):
        self.net = net
        # Numba's thread count is per calling thread: keep ours and apply it on every call,
        # so a simulation advanced from another thread (the app) uses the same count.
        if threads:
            numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
        n = net.n_neurons
        self.threads = numba.get_num_threads()
        chunks = max(1, min(self.threads, n))
        bounds = np.linspace(0, n, chunks + 1).astype(np.int64)
        self.lo, self.hi = bounds[:-1].copy(), bounds[1:].copy()
        self._pack_projections()
        self.pz_exp_neg = np.exp(-net.poisson.value)
        self.D = net.max_delay + 1
        self.ring_ex = np.zeros((self.D, n))
        self.ring_in = np.zeros((self.D, n))
        self.S = np.zeros((n, L.N_STATE))
        self.refr = np.zeros(n, np.int32)
        self.spk_scratch = np.empty(max(n, 1) * self.batch, np.int64)
        self.spk_cnt = np.zeros((chunks, self.batch), np.int64)
        self.sg_pos = np.zeros(1, np.int64)
        # spikes awaiting delivery (emission step, source id): one batch of neurons and generators
        self.p_step = np.empty(n * self.batch + net.sg_step.shape[0] + 1, np.int64)
        self.p_id = np.empty_like(self.p_step)
        self.pending_n = np.zeros(1, np.int64)
        self.reset()

    # ------------------------------------------------------------------ layout
    def _pack_projections(self):
        net, spec = self.net, self.net.spec
        groups = list(spec.populations) + list(net.input_src)
        gidx = {g: i for i, g in enumerate(groups)}
        n_src_total = net.n_neurons + len(net.input_src)
        self.group_of = np.empty(max(n_src_total, 1), np.int32)
        for name, start in net.pop_start.items():
            self.group_of[start:start + spec.populations[name].size] = gidx[name]
        for name, sid in net.input_src.items():
            self.group_of[sid] = gidx[name]
        deliv = [c for c in net.connectome.connections
                 if c.source in spec.populations or c.source in net.input_src]
        per_group = [[q for q, c in enumerate(deliv) if c.source == g] for g in groups]
        self._slot = {c.index: q for q, c in enumerate(deliv)}  # projection index -> kernel slot
        self.grp_ptr = np.zeros(len(groups) + 1, np.int64)
        self.grp_ptr[1:] = np.cumsum([len(p) for p in per_group])
        self.grp_proj = np.array([q for p in per_group for q in p], np.int64)
        m = len(deliv)
        i64 = lambda: np.zeros(m, np.int64)  # noqa: E731
        self.pr_src0, self.pr_tgt0, self.pr_ntgt, self.pr_iptr0, self.pr_syn0 = i64(), i64(), i64(), i64(), i64()
        self.pr_woff, self.pr_doff, self.pr_d = i64(), i64(), i64()
        self.pr_coff, self.pr_toff = i64(), i64()  # weight codes and their table
        self.pr_w = np.zeros(m)
        self.pr_single = np.zeros(m, np.bool_)
        indptrs, tgts, ws, ds, codes, tables = [], [], [], [], [], []
        syn0 = iptr0 = woff = doff = coff = toff = 0
        for q, c in enumerate(deliv):
            self.pr_src0[q] = net.pop_start.get(c.source, net.input_src.get(c.source))
            self.pr_tgt0[q] = net.pop_start[c.target]
            self.pr_ntgt[q] = spec.populations[c.target].size
            self.pr_single[q] = spec.populations[c.target].model == "iaf_psc_delta"
            self.pr_iptr0[q], self.pr_syn0[q] = iptr0, syn0
            indptrs.append(c.indptr + syn0)
            tgts.append(c.targets)
            self.pr_w[q], self.pr_d[q] = c.weight, c.delay
            self.pr_woff[q] = -1 if c.weights is None else woff
            self.pr_doff[q] = -1 if c.delays is None else doff
            self.pr_coff[q] = -1 if c.weight_codes is None else coff
            self.pr_toff[q] = toff
            if c.weight_codes is not None:
                codes.append(c.weight_codes)
                tables.append(c.weight_table)
                coff += c.weight_codes.shape[0]
                toff += c.weight_table.shape[0]
            if c.weights is not None:
                ws.append(c.weights)
                woff += c.weights.shape[0]
            if c.delays is not None:
                ds.append(c.delays)
                doff += c.delays.shape[0]
            syn0 += c.n_synapses
            iptr0 += c.indptr.shape[0]
        self.indptr = np.concatenate(indptrs) if indptrs else np.zeros(1, np.int64)
        self.syn_tgt = np.concatenate(tgts) if tgts else np.zeros(0, np.int32)
        self.syn_w = np.concatenate(ws).astype(np.float32) if ws else np.zeros(0, np.float32)
        self.syn_code = np.concatenate(codes).astype(np.uint8) if codes else np.zeros(0, np.uint8)
        self.w_table = np.concatenate(tables).astype(np.float64) if tables else np.zeros(0)
        dmax = max([int(d.max(initial=0)) for d in ds] + [0])
        self.syn_d = (np.concatenate(ds) if ds else np.zeros(0)).astype(np.uint8 if dmax < 256 else np.uint16)
        self.n_synapses = int(syn0)
        # steps per parallel region: up to the smallest spike delay (NEST's min_delay), so a
        # spike never arrives within the batch that emits it; capped to bound the scratch
        dmin = min([c.delay if c.delays is None else int(c.delays.min(initial=MAX_BATCH)) for c in deliv]
                   + [MAX_BATCH])
        self.batch = max(1, min(int(dmin), SCRATCH_ENTRIES // max(net.n_neurons, 1)))

    def set_weight(self, projection: int, weight: float) -> None:
        """Change a one-valued projection weight in place (no rebuild). Device drives
        (Poisson, DC) are not spike-delivered projections and carry their weights elsewhere."""
        if projection in self._slot:
            self.pr_w[self._slot[projection]] = weight

    def synapse_bytes(self) -> int:
        """Memory of the synapse storage (targets, per-synapse weights or weight codes and
        their tables, delays, row pointers)."""
        return (self.syn_tgt.nbytes + self.syn_w.nbytes + self.syn_code.nbytes + self.w_table.nbytes
                + self.syn_d.nbytes + self.indptr.nbytes)

    # ------------------------------------------------------------------ lifecycle
    def reset(self):
        self.ring_ex[:] = 0.0
        self.ring_in[:] = 0.0
        self.S[:] = 0.0
        self.S[:, L.V] = self.net.v0
        self.refr[:] = 0
        self.sg_pos[0] = 0
        self.pending_n[0] = 0

    def advance(self, k0: int, n_steps: int, out_step, out_id, out_n, vm_idx, vm_every, vm_out, vm_n) -> int:
        net, pz, dc = self.net, self.net.poisson, self.net.dc
        numba.set_num_threads(self.threads)
        return kernels.advance(
            k0, n_steps, self.batch, net.dt, np.uint64(net.seed), self.lo, self.hi,
            net.model, net.params, self.S, self.refr, net.refr_counts, self.ring_ex, self.ring_in,
            pz.ptr, pz.value, self.pz_exp_neg, pz.weight, pz.delay, pz.first, pz.last, pz.stream,
            dc.ptr, dc.value, dc.delay, dc.first, dc.last,
            self.group_of, self.grp_ptr, self.grp_proj, self.pr_src0, self.pr_tgt0, self.pr_ntgt,
            self.pr_iptr0, self.pr_syn0, self.pr_w, self.pr_woff, self.pr_coff, self.pr_toff,
            self.pr_d, self.pr_doff, self.pr_single, self.indptr, self.syn_tgt, self.syn_w,
            self.syn_code, self.w_table, self.syn_d,
            net.sg_step, net.sg_src, self.sg_pos, self.p_step, self.p_id, self.pending_n,
            self.spk_scratch, self.spk_cnt, out_step, out_id, out_n,
            vm_idx, vm_every, vm_out, vm_n)

    def membrane_potential(self) -> np.ndarray:
        return self.S[:, L.V] + self.net.params[:, L.EL]
