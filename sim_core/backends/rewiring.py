"""Structural plasticity (``projections[i].rewiring``) as a Numba function shared by the
backends: one rewiring event of one projection (``backends.plastic`` holds the rows).

As in the topographic-map model of Knight & Senk et al. (GeNN, after Bamford et al. 2010):
each attempt draws a source row and a target uniformly; a synapse between them is removed
with one probability below the weight threshold and another above it; a missing one is
formed with the rule's probability p(d) at the new weight, in a free slot of the row (a
full row counts a failed formation and goes on). Random numbers are counter-based (Philox,
keyed on seed, the projection's stream, the event and the attempt), so a run is
reproducible and does not depend on thread count. GeNN draws the targets of one row
without replacement within an event; here two attempts of an event may draw the same pair
(probability about attempts^2 / (2 rows^2 targets): 1e-6 per event at scale 1), and the
second then sees the first one's result.

Editing this file: clear Numba's cache (``find . -name '*.nbi' -delete``).
"""
from __future__ import annotations

from numba import njit

from ..connectivity.kernels import _dist
from ..random.detmath import exp_d
from ..random.philox import uniform4
from .plastic import (PL_POS, PL_PP_CAP, PL_PP_NSRC, PL_PP_NTGT, PL_PP_ROW0, PL_RW_COUNT, PL_RW_FPAR,
                      PL_RW_HIST, PL_RW_IPAR, PL_RW_POS_S, PL_RW_POS_T, PL_RW_PP, PL_SLOT_D, PL_SLOT_TGT,
                      PL_SLOT_W, RC_ELIMINATED, RC_FAILED, RC_FORMED, RF_BIN, RF_EX, RF_EY, RF_P_ABOVE,
                      RF_P_BELOW, RF_P_CENTER, RF_RADIUS, RF_THRESHOLD, RF_WEIGHT, RF_WIDTH, RI_ATTEMPTS,
                      RI_DELAY, RI_KIND, RI_NBINS, RI_NO_AUTAPSES, RI_PERIODIC, RI_STREAM)


@njit(cache=True, inline="always")
def _formation_p(r, d, fp, kind):
    if kind == 0:  # a constant p
        return fp[RF_P_CENTER]
    if d > fp[RF_RADIUS]:
        return 0.0
    w = fp[RF_WIDTH]
    if kind == 1:
        return fp[RF_P_CENTER] * exp_d(-d * d / (2.0 * w * w))
    return fp[RF_P_CENTER] * exp_d(-d / w)


@njit(cache=True)
def rewire(event, r, pl, seed):
    """Rewiring event ``event`` (1, 2, ...) of rewiring projection ``r``."""
    ip, fp = pl[PL_RW_IPAR][r], pl[PL_RW_FPAR][r]
    q = pl[PL_RW_PP][r]
    n_src, n_tgt, cap, row0 = pl[PL_PP_NSRC][q], pl[PL_PP_NTGT][q], pl[PL_PP_CAP][q], pl[PL_PP_ROW0][q]
    slot_tgt, slot_w, slot_d = pl[PL_SLOT_TGT], pl[PL_SLOT_W], pl[PL_SLOT_D]
    pos, ps0, pt0 = pl[PL_POS], pl[PL_RW_POS_S][r], pl[PL_RW_POS_T][r]
    count, hist = pl[PL_RW_COUNT], pl[PL_RW_HIST]
    kind, nbins = ip[RI_KIND], ip[RI_NBINS]
    for a in range(ip[RI_ATTEMPTS]):
        u0, u1, u2, _ = uniform4(seed, ip[RI_STREAM], event, a)
        s = min(int(u0 * n_src), n_src - 1)
        t = min(int(u1 * n_tgt), n_tgt - 1)
        j0 = row0 + s * cap
        found, free = -1, -1
        for j in range(j0, j0 + cap):
            tj = slot_tgt[j]
            if tj == t:
                found = j
                break
            if tj < 0 and free < 0:
                free = j
        d = 0.0
        if kind != 0:
            d = _dist(pos[ps0 + s, 0], pos[ps0 + s, 1], pos[pt0 + t, 0], pos[pt0 + t, 1], fp[RF_EX], fp[RF_EY],
                      ip[RI_PERIODIC] != 0)
        b = min(int(d / fp[RF_BIN]), nbins - 1) if fp[RF_BIN] > 0.0 else 0
        if found >= 0:
            p = fp[RF_P_BELOW] if slot_w[found] < fp[RF_THRESHOLD] else fp[RF_P_ABOVE]
            if u2 < p:
                slot_tgt[found] = -1
                count[r, RC_ELIMINATED] += 1
                hist[r, 1, b] += 1
        elif not (ip[RI_NO_AUTAPSES] != 0 and s == t) and u2 < _formation_p(r, d, fp, kind):
            if free < 0:
                count[r, RC_FAILED] += 1  # the row is full: the projection goes on without it
            else:
                slot_tgt[free] = t
                slot_w[free] = fp[RF_WEIGHT]
                slot_d[free] = ip[RI_DELAY]
                count[r, RC_FORMED] += 1
                hist[r, 0, b] += 1
