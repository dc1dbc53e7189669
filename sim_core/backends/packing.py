"""Device-independent preparation of a ``Network`` for the kernels: projections packed
into one set of flat arrays (CSR rows by source, per-projection offsets), drives and
neurons grouped as named structures. Both backends load these (the GPU copies them to
device memory), so the layout is decided once.

The structures are namedtuples of arrays: Numba and numba-cuda unpack them at compile
time, so naming the arguments costs nothing at run time.
"""
from __future__ import annotations

import math
from collections import namedtuple
from dataclasses import dataclass

import numpy as np

from ..connectivity.values import dist_args
from ..network.network import Network
from ..random import streams

Neurons = namedtuple("Neurons", "mtype P S refr refr_counts prow rdecay")
Drives = namedtuple("Drives", "pz_ptr pz_lam pz_elam pz_w pz_d pz_first pz_last pz_stream "
                              "dc_ptr dc_amp dc_d dc_first dc_last")
Synapses = namedtuple("Synapses", "group_of grp_ptr grp_proj pr_src0 pr_tgt0 pr_ntgt pr_iptr0 pr_syn0 "
                                  "pr_wq pr_woff pr_coff pr_toff pr_d pr_doff pr_single indptr syn_tgt "
                                  "syn_w syn_code w_table_q syn_d pr_regen pr_wdist pr_wstream wseed")

# Field indices. Kernels index the structures with these constants, never by attribute:
# inside Numba's parallel loops (prange) writes through a namedtuple attribute are lost
# (numba 0.68: a test neuron never reset after crossing threshold), constant indices work.
(NR_MTYPE, NR_P, NR_S, NR_REFR, NR_REFR_COUNTS, NR_PROW, NR_RDECAY) = range(7)
(PZ_PTR, PZ_LAM, PZ_ELAM, PZ_W, PZ_D, PZ_FIRST, PZ_LAST, PZ_STREAM,
 DC_PTR, DC_AMP, DC_D, DC_FIRST, DC_LAST) = range(13)
(SY_GROUP_OF, SY_GRP_PTR, SY_GRP_PROJ, SY_PR_SRC0, SY_PR_TGT0, SY_PR_NTGT, SY_PR_IPTR0, SY_PR_SYN0,
 SY_PR_WQ, SY_PR_WOFF, SY_PR_COFF, SY_PR_TOFF, SY_PR_D, SY_PR_DOFF, SY_PR_SINGLE, SY_INDPTR,
 SY_SYN_TGT, SY_SYN_W, SY_SYN_CODE, SY_W_TABLE_Q, SY_SYN_D, SY_PR_REGEN, SY_PR_WDIST, SY_PR_WSTREAM,
 SY_WSEED) = range(25)

MAX_UINT16_TARGETS = 1 << 16  # targets are indices within the target population


def fixed_array(w: np.ndarray) -> np.ndarray:
    """``step.to_fixed`` on an array (the same IEEE operations, so the same integers)."""
    from .step import FIX_SCALE
    return np.floor(np.asarray(w, np.float64) * FIX_SCALE + 0.5).astype(np.int64)


@dataclass
class Packed:
    synapses: Synapses
    slot_of: dict[int, int]  # projection index -> kernel slot (spike-delivered projections)
    n_synapses: int
    min_delay: int  # smallest spike delay in steps (NEST's min_delay), 16 at most
    groups: tuple = ()  # source groups (populations, then spike generators), as group_of numbers them

    def nbytes(self) -> int:
        """Synapse storage: targets, per-synapse weights or codes and their tables,
        delays, row pointers."""
        s = self.synapses
        return s.syn_tgt.nbytes + s.syn_w.nbytes + s.syn_code.nbytes + s.w_table_q.nbytes + \
            s.syn_d.nbytes + s.indptr.nbytes


def param_table(params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct parameter rows and each neuron's row in them (int32). A population
    with one parameter set needs one row: the step reads a table of a few kB instead of
    184 bytes per neuron (the full microcircuit: 14 MB per step on the GPU otherwise)."""
    if params.shape[0] == 0:
        return params.copy(), np.zeros(0, np.int32)
    table, row = np.unique(params, axis=0, return_inverse=True)
    return np.ascontiguousarray(table), row.reshape(-1).astype(np.int32)


def update_table(table: np.ndarray, row: np.ndarray, start: int, stop: int,
                 params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The parameter table after neurons start..stop took ``params``: their distinct rows
    are found in the table or appended, without sorting every neuron's parameters again.
    A closed loop changes a population every 10 ms; the full ``np.unique`` took 2.3 ms per
    change on 1,000 neurons (as long as the period's simulation) and 92 ms on 25,000. Rows
    nobody uses any more are dropped once they outnumber the used ones."""
    if params.shape[0] and (params == params[0]).all():  # the usual edit: one population, one value
        new, inv = params[:1], np.zeros(params.shape[0], np.int64)
    else:  # np.unique over rows sorts them as structured values: 2.5 ms for 1,000 x 23
        new, inv = np.unique(params, axis=0, return_inverse=True)
    found = np.empty(new.shape[0], np.int32)
    extra = []
    for k, r in enumerate(new):
        hit = np.flatnonzero((table == r).all(axis=1))
        if hit.size:
            found[k] = hit[0]
        else:
            found[k] = table.shape[0] + len(extra)
            extra.append(r)
    if extra:
        table = np.ascontiguousarray(np.vstack([table, np.asarray(extra)]))
    row = row.copy()
    row[start:stop] = found[inv.reshape(-1)]
    used = np.bincount(row, minlength=table.shape[0]) > 0
    if table.shape[0] > 2 * int(used.sum()) + 16:  # drop the unused rows, renumbering (no sort)
        keep = np.flatnonzero(used)
        renumber = np.zeros(table.shape[0], np.int32)
        renumber[keep] = np.arange(keep.size, dtype=np.int32)
        table, row = np.ascontiguousarray(table[keep]), renumber[row]
    return table, row


def refractory_decay(table: np.ndarray, longest: int, h: float) -> np.ndarray:
    """exp(-r h / tau_m) for every parameter row and refractory count r <= ``longest``: the
    decay of input that iaf_psc_delta with refractory_input keeps for the end of its
    refractory time. Computed here with the host's libm (Numba's CPU code calls the same),
    so the GPU, whose exp differs in the last bit for some arguments, uses the CPU's values.
    ``longest`` must cover every count a neuron may still hold: after a live change of
    t_ref, one set before it (backends keep the longest ever)."""
    from ..network import layout as L
    if table.shape[0] == 0 or not (table[:, L.REFR_INPUT] != 0.0).any():
        return np.zeros((1, 1))
    r = np.arange(int(longest) + 1)
    taus, row = np.unique(table[:, L.TAU_M], return_inverse=True)  # rows share few tau_m
    return np.array([[math.exp(-k * h / tau) for k in r] for tau in taus])[row.reshape(-1)]


def neurons(net: Network) -> Neurons:
    """The neuron arrays at t = 0 (host): parameter table, state, refractory counters."""
    n = net.n_neurons
    from ..network import layout as L
    table, row = param_table(net.params)
    net.param_rows = (table, row)
    S = np.zeros((n, L.N_STATE))
    S[:, L.V] = net.v0
    return Neurons(net.model, table, S, np.zeros(n, np.int32), net.refr_counts.copy(), row,
                   refractory_decay(table, net.longest_refr, net.dt))


def exp_neg(lam: np.ndarray) -> np.ndarray:
    """exp(-λ) of every Poisson connection, which Poisson inversion starts from: detmath's,
    so a GPU machine's host computes the CPU machine's bits (NumPy's SIMD exp depends on
    the CPU's instruction set)."""
    from ..random import philox_xp
    return philox_xp.exp(np, -np.asarray(lam, np.float64))


def edit_neurons(net: Network, start: int, stop: int, params, refr_counts, v0):
    """A live change of neurons start..stop on the host model (what reset() returns to, and
    what a fresh build gives), for either backend. Returns the shift of V relative to E_L
    that keeps the absolute V_m (NEST keeps V_m when E_L changes), and the new parameter
    table, row index and refractory decay table. ``net.longest_refr`` only grows: a neuron
    may still count down from a t_ref set before (see ``refractory_decay``)."""
    from ..network import layout as L
    dv = params[:, L.EL] - net.params[start:stop, L.EL]
    longest = max(net.longest_refr, int(refr_counts.max(initial=0)))
    net.params[start:stop], net.refr_counts[start:stop], net.v0[start:stop] = params, refr_counts, v0
    net.longest_refr = longest
    if net.param_rows is None:
        table, row = param_table(net.params)
    else:
        table, row = update_table(*net.param_rows, start, stop, params)
    net.param_rows = (table, row)
    return dv, table, row, refractory_decay(table, longest, net.dt)


def drives(net: Network) -> Drives:
    pz, dc = net.poisson, net.dc
    return Drives(pz.ptr, pz.value, exp_neg(pz.value), pz.weight, pz.delay, pz.first, pz.last, pz.stream,
                  dc.ptr, dc.value, dc.delay, dc.first, dc.last)


def pack(net: Network, max_batch: int = 16, regenerate_weights: bool = False) -> Packed:
    """Every projection whose source spikes (a population or a spike generator) into
    flat arrays; sources of one group (population/generator) find their projections
    through ``grp_ptr``/``grp_proj``.

    ``regenerate_weights``: drawn weights (without a resolution) are not stored; the
    kernels draw each again from its Philox key (seed, the projection's weight stream,
    the synapse's index in the projection), as the builder drew it: 4 bytes per synapse
    less (the GPU's default; the CPU, limited by memory bandwidth less, stores them)."""
    spec = net.spec
    groups = list(spec.populations) + list(net.input_src)
    gidx = {g: i for i, g in enumerate(groups)}
    group_of = np.empty(max(net.n_neurons + len(net.input_src), 1), np.int32)
    for name, start in net.pop_start.items():
        group_of[start:start + spec.populations[name].size] = gidx[name]
    for name, sid in net.input_src.items():
        group_of[sid] = gidx[name]
    # plastic projections have their own rows (``backends.plastic``)
    deliv = [c for c in net.connectome.connections
             if (c.source in spec.populations or c.source in net.input_src)
             and not spec.projections[c.index].plastic]
    per_group = {g: [] for g in groups}  # one pass (a list per group scanned every projection: 0.26 s for
    for q, c in enumerate(deliv):      # 320 groups x 12,800 projections in a batch of clustered networks)
        per_group[c.source].append(q)
    per_group = [per_group[g] for g in groups]
    grp_ptr = np.zeros(len(groups) + 1, np.int64)
    grp_ptr[1:] = np.cumsum([len(p) for p in per_group])
    grp_proj = np.array([q for p in per_group for q in p], np.int64)
    m = len(deliv)
    col = {k: np.zeros(m, np.int64) for k in
           ("src0", "tgt0", "ntgt", "iptr0", "syn0", "woff", "doff", "d", "coff", "toff")}
    pr_w = np.zeros(m)
    pr_single = np.zeros(m, np.bool_)
    pr_regen = np.zeros(m, np.bool_)
    pr_wdist = np.zeros((m, 7))
    pr_wstream = np.zeros(m, np.int64)
    indptrs, tgts, ws, ds, codes, tables = [], [], [], [], [], []
    syn0 = iptr0 = woff = doff = coff = toff = 0
    for q, c in enumerate(deliv):
        col["src0"][q] = net.pop_start.get(c.source, net.input_src.get(c.source))
        col["tgt0"][q] = net.pop_start[c.target]
        col["ntgt"][q] = spec.populations[c.target].size
        pr_single[q] = spec.populations[c.target].model == "iaf_psc_delta"
        col["iptr0"][q], col["syn0"][q] = iptr0, syn0
        indptrs.append(c.indptr + syn0)
        tgts.append(c.targets)
        pr_w[q], col["d"][q] = c.weight, c.delay
        col["woff"][q] = -1
        col["doff"][q] = -1 if c.delays is None else doff
        col["coff"][q] = -1 if c.weight_codes is None else coff
        col["toff"][q] = toff
        if c.weight_codes is not None:
            codes.append(c.weight_codes)
            tables.append(c.weight_table)
            coff += c.weight_codes.shape[0]
            toff += c.weight_table.shape[0]
        if c.drawn_weights and regenerate_weights:
            pr_regen[q] = True
            pr_wdist[q] = dist_args(spec.projections[c.index].synapse.weight)
            pr_wstream[q] = streams.stream(streams.WEIGHT, c.index)
        elif c.drawn_weights:  # stored: as built, or drawn now from their keys
            col["woff"][q] = woff
            ws.append(c.weight_array())
            woff += c.n_synapses
        if c.delays is not None:
            ds.append(c.delays)
            doff += c.delays.shape[0]
        syn0 += c.n_synapses
        iptr0 += c.indptr.shape[0]
    narrow = int(col["ntgt"].max(initial=0)) <= MAX_UINT16_TARGETS
    syn_tgt = (np.concatenate(tgts) if tgts else np.zeros(0)).astype(np.uint16 if narrow else np.int32)
    dmax = max([int(d.max(initial=0)) for d in ds] + [0])
    syn_d = (np.concatenate(ds) if ds else np.zeros(0)).astype(np.uint8 if dmax < 256 else np.uint16)
    table = np.concatenate(tables) if tables else np.zeros(0)
    syn = Synapses(
        group_of, grp_ptr, grp_proj, col["src0"], col["tgt0"], col["ntgt"], col["iptr0"], col["syn0"],
        fixed_array(pr_w), col["woff"], col["coff"], col["toff"], col["d"], col["doff"], pr_single,
        np.concatenate(indptrs) if indptrs else np.zeros(1, np.int64), syn_tgt,
        np.concatenate(ws).astype(np.float32) if ws else np.zeros(0, np.float32),
        np.concatenate(codes).astype(np.uint8) if codes else np.zeros(0, np.uint8),
        fixed_array(table), syn_d, pr_regen, pr_wdist, pr_wstream, np.array([net.seed], np.uint64))
    dmin = min([c.delay if c.delays is None else int(c.delays.min(initial=max_batch)) for c in deliv]
               + [max_batch])
    return Packed(syn, {c.index: q for q, c in enumerate(deliv)}, int(syn0), max(1, int(dmin)), tuple(groups))
