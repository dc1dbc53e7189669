"""Plastic projections (``stdp_synapse``) packed for the kernels: rows of a fixed capacity
per source neuron (a slot holds a target or is empty, -1, so that structural plasticity can
form and remove synapses in place), float64 weights that change, the presynaptic trace per
source and the postsynaptic spike history per target (``backends.stdp``).

Static projections stay in ``packing.Synapses``; a network without plastic projections
gets an empty ``Plastic`` and the kernels never look at it.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from ..network.network import Network
from ..spec.declarations import SYNAPSE_MODELS

HISTORY = 256  # postsynaptic spikes kept per neuron (see backends.stdp on what a longer gap costs)
STDP_EPS = 1.0e-6  # ms, NEST's stdp_eps
TICS_PER_MS = 1000.0  # NEST's default tic: 1 µs

Plastic = namedtuple("Plastic", "grp_ptr grp_pp pp_src0 pp_tgt0 pp_cap pp_row0 pp_k0 pp_par pp_single "
                                "slot_tgt slot_w slot_d kplus tlast hist_row hist_t hist_k hist_n kminus "
                                "last_spike tau_minus_inv tconst counters pp_stdp pp_nsrc pp_ntgt "
                                "rw_pp rw_ipar rw_fpar rw_pos_s rw_pos_t pos rw_count rw_hist")
(PL_GRP_PTR, PL_GRP_PP, PL_PP_SRC0, PL_PP_TGT0, PL_PP_CAP, PL_PP_ROW0, PL_PP_K0, PL_PP_PAR, PL_PP_SINGLE,
 PL_SLOT_TGT, PL_SLOT_W, PL_SLOT_D, PL_KPLUS, PL_TLAST, PL_HIST_ROW, PL_HIST_T, PL_HIST_K, PL_HIST_N,
 PL_KMINUS, PL_LAST_SPIKE, PL_TAU_MINUS_INV, PL_TCONST, PL_COUNTERS, PL_PP_STDP, PL_PP_NSRC, PL_PP_NTGT,
 PL_RW_PP, PL_RW_IPAR, PL_RW_FPAR, PL_RW_POS_S, PL_RW_POS_T, PL_POS, PL_RW_COUNT, PL_RW_HIST) = range(34)
# rewiring: integer parameters (rw_ipar columns), float parameters (rw_fpar columns), the
# counts per projection (rw_count columns) and the histogram of distances (rw_hist[r, kind, bin])
(RI_EVERY, RI_ATTEMPTS, RI_DELAY, RI_STREAM, RI_KIND, RI_PERIODIC, RI_NBINS, RI_NO_AUTAPSES) = range(8)
(RF_THRESHOLD, RF_P_BELOW, RF_P_ABOVE, RF_WEIGHT, RF_P_CENTER, RF_WIDTH, RF_RADIUS, RF_EX, RF_EY,
 RF_BIN) = range(10)
RC_FORMED, RC_ELIMINATED, RC_FAILED = range(3)
DISTANCE_BINS = 32


# what a run changes (the rest is read-only): copied per backend, reset from the packed one
MUTABLE = ("slot_tgt", "slot_w", "slot_d", "kplus", "tlast", "hist_t", "hist_k", "hist_n", "kminus",
           "last_spike", "counters", "rw_count", "rw_hist")


def is_plastic(spec, index: int) -> bool:
    """Its weights change (STDP) or its synapses do (rewiring)."""
    return spec.projections[index].plastic


def plastic_connections(net: Network) -> list:
    return [c for c in net.connectome.connections if is_plastic(net.spec, c.index)]


def synapse_params(spec, index: int) -> np.ndarray:
    syn = spec.projections[index].synapse
    decl = SYNAPSE_MODELS[syn.model]
    if syn.model == "static_synapse":
        return np.zeros(6)
    v = {**decl.defaults(), **syn.params}
    return np.array([v["tau_plus"], v["lambda"], v["alpha"], v["mu_plus"], v["mu_minus"], v["Wmax"]])


def _tau_minus(net: Network) -> np.ndarray:
    from ..network.neurons import population_params
    out = np.empty(net.n_neurons)
    for k, (name, start) in enumerate(net.pop_start.items()):
        size = net.spec.populations[name].size
        out[start:start + size] = population_params(net.spec, name, k, net.seed)["tau_minus"]
    return out


def pack_plastic(net: Network, group_of: np.ndarray, groups: list[str], capacity: dict[int, int] | None = None,
                 history: int = HISTORY) -> Plastic:
    """``group_of``/``groups``: the source groups of ``packing.pack`` (populations, then
    spike generators). ``capacity``: slots per row of a projection (structural plasticity);
    by default the longest row."""
    spec = net.spec
    conns = plastic_connections(net)
    capacity = {c.index: spec.projections[c.index].rewiring.capacity for c in conns
                if spec.projections[c.index].rewiring is not None} | (capacity or {})
    for c in conns:
        longest = int(np.diff(c.indptr).max(initial=0))
        if c.index in capacity and longest > capacity[c.index]:
            from ..errors import CapacityError
            raise CapacityError(f"projections[{c.index}].rewiring.capacity: {capacity[c.index]} synapses per row, "
                                f"but the rule gave a source {longest}; raise the capacity")
    gidx = {g: i for i, g in enumerate(groups)}
    m = len(conns)
    src0, tgt0, cap, row0, k0 = (np.zeros(m, np.int64) for _ in range(5))
    par = np.zeros((m, 6))
    single = np.zeros(m, np.bool_)
    stdp_on = np.array([spec.projections[c.index].synapse.model == "stdp_synapse" for c in conns], np.bool_)
    nsrc = np.array([c.indptr.shape[0] - 1 for c in conns], np.int64)
    ntgt = np.array([spec.populations[c.target].size for c in conns], np.int64)
    tgts, ws, ds = [], [], []
    rows = ks = 0
    for q, c in enumerate(conns):
        n_src = c.indptr.shape[0] - 1
        counts = np.diff(c.indptr)
        cap[q] = max(int(capacity.get(c.index, 0)), int(counts.max(initial=0)), 1)
        src0[q] = net.pop_start.get(c.source, net.input_src.get(c.source))
        tgt0[q] = net.pop_start[c.target]
        row0[q], k0[q] = rows, ks
        par[q] = synapse_params(spec, c.index)
        single[q] = spec.populations[c.target].model == "iaf_psc_delta"
        # rows of cap slots: synapse j of source s goes to slot s * cap + (j - indptr[s])
        slot = np.repeat(np.arange(n_src, dtype=np.int64) * cap[q], counts) + (
            np.arange(c.n_synapses) - np.repeat(c.indptr[:-1], counts))
        t = np.full(n_src * cap[q], -1, np.int32)
        w = np.zeros(n_src * cap[q])
        d = np.zeros(n_src * cap[q], np.int32)
        t[slot] = c.targets
        w[slot] = c.weight_array().astype(np.float64)
        d[slot] = c.delay_array()
        tgts.append(t), ws.append(w), ds.append(d)
        rows += n_src * cap[q]
        ks += n_src
    per_group = [[] for _ in groups]
    for q, c in enumerate(conns):
        per_group[gidx[c.source]].append(q)
    grp_ptr = np.zeros(len(groups) + 1, np.int64)
    grp_ptr[1:] = np.cumsum([len(p) for p in per_group])
    grp_pp = np.array([q for p in per_group for q in p], np.int64)
    # the history of every neuron that is the target of a plastic projection
    hist_row = np.full(net.n_neurons, -1, np.int64)
    for c in conns:
        start = net.pop_start[c.target]
        hist_row[start:start + spec.populations[c.target].size] = 0
    targets = np.flatnonzero(hist_row == 0)
    hist_row[targets] = np.arange(targets.size)
    n_rows = targets.size
    tau_minus_inv = 1.0 / _tau_minus(net)[targets] if n_rows else np.zeros(0)
    h_cap = history if n_rows else 1
    tics_per_step = round(net.dt * TICS_PER_MS)
    tconst = np.array([1.0 / TICS_PER_MS, float(tics_per_step), tics_per_step / TICS_PER_MS, STDP_EPS])
    cat = (lambda a, dt: np.concatenate(a).astype(dt) if a else np.zeros(0, dt))
    rw = _rewiring(net, conns)
    return Plastic(grp_ptr, grp_pp, src0, tgt0, cap, row0, k0, par, single,
                   cat(tgts, np.int32), cat(ws, np.float64), cat(ds, np.int32),
                   np.zeros(ks), np.zeros(ks), hist_row,
                   np.zeros((n_rows, h_cap)), np.zeros((n_rows, h_cap)), np.zeros(n_rows, np.int64),
                   np.zeros(n_rows), np.full(n_rows, -1.0), tau_minus_inv, tconst, np.zeros(4, np.int64),
                   stdp_on, nsrc, ntgt, *rw)


def _rewiring(net: Network, conns: list) -> tuple:
    """The rewiring projections' parameters and the positions their formation needs."""
    from ..connectivity.rules import spatial_profile
    from ..random import streams
    spec = net.spec
    rws = [(q, c) for q, c in enumerate(conns) if spec.projections[c.index].rewiring is not None]
    n = len(rws)
    rw_pp = np.array([q for q, _ in rws], np.int64)
    ipar = np.zeros((n, 8), np.int64)
    fpar = np.zeros((n, 10))
    pos_s, pos_t = np.zeros(n, np.int64), np.zeros(n, np.int64)
    pos, at = [], 0
    for r, (q, c) in enumerate(rws):
        proj = spec.projections[c.index]
        rw = proj.rewiring
        ps, pt = net.connectome.positions.get(c.source), net.connectome.positions.get(c.target)
        sheet = spec.populations[c.target].positions
        spatial = ps is not None and pt is not None
        kind, pc, width, radius = spatial_profile(proj.rule) if spatial else (0, float(proj.rule.p), 0.0, 0.0)
        ex, ey = (sheet.extent if spatial else (0.0, 0.0))
        ipar[r] = (round(rw.interval / net.dt), rw.attempts, round(proj.synapse.delay / net.dt),
                   streams.stream(streams.REWIRE, c.index), kind, bool(spatial and sheet.periodic), DISTANCE_BINS,
                   c.source == c.target and not proj.rule.allow_autapses)
        longest = 0.5 * float(np.hypot(ex, ey)) if spatial else 1.0
        w_new = rw.weight if rw.weight is not None else proj.synapse.weight
        fpar[r] = (rw.threshold, rw.p_elim_below, rw.p_elim_above, w_new, pc, width, radius, ex, ey,
                   longest / DISTANCE_BINS)
        if not spatial:
            ps = pt = np.zeros((0, 2))
        pos_s[r], pos_t[r] = at, at + ps.shape[0]
        pos += [ps, pt]
        at += ps.shape[0] + pt.shape[0]
    all_pos = np.concatenate(pos).astype(np.float64) if pos else np.zeros((0, 2))
    return (rw_pp, ipar, fpar, pos_s, pos_t, all_pos, np.zeros((n, 3), np.int64),
            np.zeros((n, 2, DISTANCE_BINS), np.int64))


def reset_plastic(pl: Plastic, initial: Plastic) -> None:
    """Back to the state at t = 0 (weights and slots as built)."""
    for i in (PL_SLOT_TGT, PL_SLOT_W, PL_SLOT_D):
        pl[i][:] = initial[i]
    pl[PL_KPLUS][:] = 0.0
    pl[PL_TLAST][:] = 0.0
    pl[PL_HIST_N][:] = 0
    pl[PL_KMINUS][:] = 0.0
    pl[PL_LAST_SPIKE][:] = -1.0
    pl[PL_COUNTERS][:] = 0
    pl[PL_RW_COUNT][:] = 0
    pl[PL_RW_HIST][:] = 0


def synapses_of(pl: Plastic, q: int, n_src: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(source, target, weight) of every occupied slot of plastic projection q, by source
    (indices within their populations)."""
    cap, r0 = int(pl.pp_cap[q]), int(pl.pp_row0[q])
    t = pl.slot_tgt[r0:r0 + n_src * cap]
    keep = t >= 0
    src = np.repeat(np.arange(n_src, dtype=np.int64), cap)[keep]
    return src, t[keep].astype(np.int64), pl.slot_w[r0:r0 + n_src * cap][keep].copy()



def slots_of(pl: Plastic, q: int, n_src: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(source, target, weight) of every slot of plastic projection q: target -1 and weight
    NaN where a slot is empty (a rewiring projection's layout stays fixed over a run)."""
    cap, r0 = int(pl.pp_cap[q]), int(pl.pp_row0[q])
    t = pl.slot_tgt[r0:r0 + n_src * cap].astype(np.int64)
    w = np.where(t >= 0, pl.slot_w[r0:r0 + n_src * cap], np.nan)
    return np.repeat(np.arange(n_src, dtype=np.int64), cap), t, w
