"""Plastic projections in the CPU time step (``kernels.advance_one`` calls these): STDP on
delivery (``backends.stdp``), spikes into their neurons' histories, rewiring events
(``backends.rewiring``).

One thread: a presynaptic trace is shared by all targets of a source, and a weight is
read and written by the one delivery of its source's spike, so delivery in (step, source)
order on one thread gives NEST's sequence of weight changes without locks. A network with
plastic projections therefore runs as one chunk (``CpuBackend``); one without has empty
plastic arrays, and these functions do nothing for it (a few array reads per step).

Editing this file (or stdp.py, rewiring.py): clear Numba's cache (``find . -name '*.nbi'
-delete``): ``kernels.py`` inlines these functions and is cached by its own file.
"""
from __future__ import annotations

from numba import njit

from ..packing import SY_GROUP_OF
from ..plastic import (PL_GRP_PP, PL_GRP_PTR, PL_HIST_K, PL_HIST_N, PL_HIST_ROW, PL_HIST_T, PL_KMINUS,
                       PL_KPLUS, PL_LAST_SPIKE, PL_PP_CAP, PL_PP_K0, PL_PP_PAR, PL_PP_ROW0, PL_PP_SINGLE,
                       PL_PP_SRC0, PL_PP_STDP, PL_PP_TGT0, PL_RW_IPAR, PL_RW_PP, PL_SLOT_D, PL_SLOT_TGT,
                       PL_SLOT_W, PL_TAU_MINUS_INV, PL_TCONST, PL_TLAST, PL_COUNTERS, RI_EVERY)
from ..rewiring import rewire
from ..step import to_fixed
from ..stdp import TC_EPS, TC_MS_PER_STEP, kplus_after, record_post_spike, stamp_ms, stdp_update


@njit(cache=True, inline="always")
def deliver_plastic(p_step, p_id, ns, D, sy, pl, ring_ex, ring_in):
    """STDP and delivery of the pending spikes (emission step, source) over plastic
    projections, in order."""
    tc = pl[PL_TCONST]
    eps = tc[TC_EPS]
    for s_i in range(ns):
        s = p_id[s_i]
        g = sy[SY_GROUP_OF][s]
        if pl[PL_GRP_PTR][g] == pl[PL_GRP_PTR][g + 1]:
            continue
        e = p_step[s_i]
        t_spike = stamp_ms(e + 1, tc)  # a spike of step e is stamped at its end
        for gp in range(pl[PL_GRP_PTR][g], pl[PL_GRP_PTR][g + 1]):
            q = pl[PL_GRP_PP][gp]
            par = pl[PL_PP_PAR][q]
            local = s - pl[PL_PP_SRC0][q]
            kk = pl[PL_PP_K0][q] + local
            kplus, t_last = pl[PL_KPLUS][kk], pl[PL_TLAST][kk]
            cap = pl[PL_PP_CAP][q]
            j0 = pl[PL_PP_ROW0][q] + local * cap
            tgt0 = pl[PL_PP_TGT0][q]
            single = pl[PL_PP_SINGLE][q]
            learns = pl[PL_PP_STDP][q]  # a static synapse that only rewires keeps its weights
            for j in range(j0, j0 + cap):
                t = pl[PL_SLOT_TGT][j]
                if t < 0:
                    continue
                i = tgt0 + t
                d = pl[PL_SLOT_D][j]
                w = pl[PL_SLOT_W][j]
                if learns:
                    w = stdp_update(w, t_spike, t_last, kplus, d * tc[TC_MS_PER_STEP], par,
                                    pl[PL_HIST_ROW][i], pl[PL_HIST_T], pl[PL_HIST_K], pl[PL_HIST_N],
                                    pl[PL_TAU_MINUS_INV], eps, pl[PL_COUNTERS])
                    pl[PL_SLOT_W][j] = w
                sl = (e + d) % D
                wq = to_fixed(w)
                if wq > 0 or single:
                    ring_ex[sl, i] += wq
                else:
                    ring_in[sl, i] += wq
            pl[PL_KPLUS][kk] = kplus_after(kplus, t_last, t_spike, par)
            pl[PL_TLAST][kk] = t_spike


@njit(cache=True, inline="always")
def post_spike(i, k, pl):
    """Neuron i spiked in step k: into its history if it has plastic input."""
    r = pl[PL_HIST_ROW][i]
    if r >= 0:
        record_post_spike(r, stamp_ms(k + 1, pl[PL_TCONST]), pl[PL_HIST_T], pl[PL_HIST_K], pl[PL_HIST_N],
                          pl[PL_KMINUS], pl[PL_LAST_SPIKE], pl[PL_TAU_MINUS_INV])


@njit(cache=True, inline="always")
def rewiring_events(k, seed, pl):
    """Rewiring after step k, for every projection whose interval ends there (GeNN runs
    its custom update after the step)."""
    for r in range(pl[PL_RW_PP].shape[0]):
        every = pl[PL_RW_IPAR][r, RI_EVERY]
        if (k + 1) % every == 0:
            rewire((k + 1) // every, r, pl, seed)
