"""One function per connection rule (NEST's names and semantics, Senk et al. 2022).
Each returns the projection's CSR by source: ``indptr`` (n_src + 1) and the local
target index of every synapse, targets ascending within a row."""
from __future__ import annotations

import math

import numpy as np
import numba

from . import kernels as ck
from ..spec.model import (AllToAll, ExponentialP, FixedIndegree, FixedOutdegree,
                          FixedTotalNumber, GaussianP, OneToOne, PairwiseBernoulli)


def expected_synapses(rule, n_src: int, n_tgt: int, same: bool, extent=None) -> float:
    """Expected number of synapses, for the memory check made before building."""
    auto = 0 if (not same or rule.allow_autapses) else min(n_src, n_tgt)
    if isinstance(rule, OneToOne):
        return n_src - auto
    if isinstance(rule, AllToAll):
        return n_src * n_tgt - auto
    if isinstance(rule, FixedIndegree):
        return rule.indegree * n_tgt
    if isinstance(rule, FixedOutdegree):
        return rule.outdegree * n_src
    if isinstance(rule, FixedTotalNumber):
        return rule.N
    p = rule.p
    if isinstance(p, float):
        return p * (n_src * n_tgt - auto)
    # integral of p(r) over the mask, times the density of targets on the sheet
    area = extent[0] * extent[1]
    R = rule.mask.circular.radius if rule.mask else math.hypot(*extent)
    if isinstance(p, GaussianP):
        integral = p.p_center * 2 * math.pi * p.sigma ** 2 * (1 - math.exp(-R * R / (2 * p.sigma ** 2)))
    else:
        integral = p.p_center * 2 * math.pi * p.beta ** 2 * (1 - math.exp(-R / p.beta) * (1 + R / p.beta))
    return n_src * min(n_tgt, n_tgt * integral / area)


def connect(rule, n_src, n_tgt, same, seed, stream, pos_s=None, pos_t=None, sheet=None):
    """Draw one projection. ``sheet`` = (extent_x, extent_y, periodic) for spatial rules."""
    excl = same and not rule.allow_autapses
    if isinstance(rule, OneToOne):
        idx = np.arange(n_src, dtype=np.int32)
        if excl:  # one_to_one within a population without autapses connects nothing
            return np.zeros(n_src + 1, np.int64), np.empty(0, np.int32)
        return np.arange(n_src + 1, dtype=np.int64), idx
    if isinstance(rule, AllToAll):
        row = np.arange(n_tgt, dtype=np.int32)
        if not excl:
            return np.arange(n_src + 1, dtype=np.int64) * n_tgt, np.tile(row, n_src)
        cols = np.concatenate([np.delete(row, i) for i in range(n_src)]) if n_src else row[:0]
        indptr = np.zeros(n_src + 1, np.int64)
        indptr[1:] = np.cumsum([n_tgt - (1 if i < n_tgt else 0) for i in range(n_src)])
        return indptr, cols.astype(np.int32)
    chunks = max(1, numba.get_num_threads() * 4)
    if isinstance(rule, FixedIndegree):
        src = ck.fixed_degree(n_tgt, n_src, rule.indegree, excl, rule.allow_multapses, seed, stream, chunks)
        tgt = np.repeat(np.arange(n_tgt, dtype=np.int32), rule.indegree)
        return ck.csr_by_row(src, tgt, n_src)  # stable: targets stay ascending per row
    if isinstance(rule, FixedOutdegree):
        cols = ck.fixed_degree(n_src, n_tgt, rule.outdegree, excl, rule.allow_multapses, seed, stream, chunks)
        indptr = np.arange(n_src + 1, dtype=np.int64) * rule.outdegree
        ck.sort_rows(indptr, cols)
        return indptr, cols
    if isinstance(rule, FixedTotalNumber):
        src, tgt = _total_number(rule, n_src, n_tgt, excl, seed, stream)
        indptr, cols = ck.csr_by_row(src, tgt, n_src)
        ck.sort_rows(indptr, cols)
        return indptr, cols
    if isinstance(rule, PairwiseBernoulli):
        return _bernoulli(rule, n_src, n_tgt, excl, seed, stream, pos_s, pos_t, sheet)
    raise TypeError(rule)


def _total_number(rule, n_src, n_tgt, excl, seed, stream):
    src, tgt = ck.total_number_pairs(rule.N, n_src, n_tgt, 0, excl, seed, stream)
    if rule.allow_multapses or rule.N == 0:
        return src, tgt
    # Without multapses: keep the distinct pairs and top up with later-numbered draws
    # until there are N, so the result stays a function of (seed, projection) alone.
    keys = np.unique(src.astype(np.int64) * n_tgt + tgt)
    drawn = rule.N
    while keys.size < rule.N:
        need = rule.N - keys.size
        s2, t2 = ck.total_number_pairs(need, n_src, n_tgt, drawn, excl, seed, stream)
        drawn += need
        keys = np.union1d(keys, s2.astype(np.int64) * n_tgt + t2)
    return (keys // n_tgt).astype(np.int32), (keys % n_tgt).astype(np.int32)


def spatial_profile(rule) -> tuple[int, float, float, float]:
    """(kind, p_center, width, mask radius) of a distance-dependent rule: p(r) =
    p_center*exp(-r^2/2w^2) (kind 1) or p_center*exp(-r/w) (kind 2), zero outside the radius."""
    p = rule.p
    if isinstance(p, GaussianP):
        kind, pc, width = 1, p.p_center, p.sigma
    elif isinstance(p, ExponentialP):
        kind, pc, width = 2, p.p_center, p.beta
    else:  # constant p inside a mask: an exponential with infinite length
        kind, pc, width = 2, float(p), math.inf
    return kind, pc, width, rule.mask.circular.radius if rule.mask else math.inf


# Cells per mask radius along an axis: the cells visited cover about the disc grown by one
# cell, (1 + 1/CELLS_PER_RADIUS)^2 of its area, at the cost of a test per cell.
CELLS_PER_RADIUS = 4
MAX_CELLS_PER_AXIS = 1024
SPATIAL_CHUNK = 1 << 24  # candidate pairs held at once (int32 each)


def cell_grid(ex: float, ey: float, periodic: bool, radius: float, n_tgt: int, inside=(True, True)):
    """Cells for visiting only the targets within ``radius`` of a source: per axis, the
    number of cells n, their width w, the cells to either side that can hold a target
    within the radius (reach), and whether to visit the whole axis instead (no mask, a
    periodic axis whose reach would wrap onto the same cell twice, or positions outside
    the sheet along it: ``inside`` False). At most about one cell per target. Returns
    (nx, ny, wx, wy, reach_x, reach_y, all_x, all_y)."""
    cap = max(1, min(MAX_CELLS_PER_AXIS, int(math.sqrt(max(n_tgt, 1)))))
    out = []
    for e, ok in zip((ex, ey), inside):
        if not (ok and math.isfinite(radius) and radius > 0.0):
            out.append((1, e, 0, True))
            continue
        n = max(1, min(cap, int(e * CELLS_PER_RADIUS / radius)))
        w = e / n
        # >= ceil(radius / w), a floor's possible move, also when rounding puts radius / w
        # a hair below an integer
        reach = int(radius / w + 1e-6) + 1
        everything = (2 * reach + 1 >= n) if periodic else (reach >= n)
        out.append((n, w, reach, everything))
    (nx, wx, rx, ax), (ny, wy, ry, ay) = out
    return nx, ny, wx, wy, rx, ry, ax, ay


def on_sheet(pos_s, pos_t, ex, ey, xp=np) -> tuple[bool, bool]:
    """Whether all positions lie on the sheet [-e/2, e/2], per axis (x, y)."""
    out = []
    for axis, e in ((0, ex), (1, ey)):
        ok = True
        for p in (pos_s, pos_t):
            if p.shape[0]:
                ok = ok and bool(xp.all(xp.abs(p[:, axis]) <= e / 2.0))
        out.append(ok)
    return out[0], out[1]


def _bernoulli(rule, n_src, n_tgt, excl, seed, stream, pos_s, pos_t, sheet):
    counts = np.empty(n_src, np.int64)
    empty = np.empty(0, np.int64)
    spatial = isinstance(rule.p, (GaussianP, ExponentialP)) or rule.mask is not None
    if spatial:
        ex, ey, periodic = sheet
        kind, pc, width, radius = spatial_profile(rule)
        nx, ny, wx, wy, rx, ry, ax, ay = cell_grid(ex, ey, periodic, radius, n_tgt,
                                                   on_sheet(pos_s, pos_t, ex, ey))
        start, items = ck.bin_cells(pos_t, ex, ey, nx, ny, wx, wy)
        cells = (start, items, nx, ny, wx, wy, rx, ry, ax, ay)
        args = (pos_s, pos_t, ex, ey, periodic, kind, pc, width, radius, excl, seed, stream, cells)
        # the targets in the cells a row visits bound its synapses: rows go in chunks of at
        # most SPATIAL_CHUNK such candidates (or one row), drawn once, then compacted
        none = np.empty(0, np.int64)
        ck.spatial_rows(*args, 0, n_src, False, none, np.empty(0, np.int32), counts)
        bound = counts.copy()
        parts = []
        r0 = 0
        while r0 < n_src:
            r1 = r0 + max(1, int(np.searchsorted(np.cumsum(bound[r0:]), SPATIAL_CHUNK, side="right")))
            r1 = min(r1, n_src)
            ptr = np.zeros(r1 - r0 + 1, np.int64)
            np.cumsum(bound[r0:r1], out=ptr[1:])
            buf = np.empty(ptr[-1], np.int32)
            ck.spatial_rows(*args, r0, r1, True, ptr, buf, counts)
            out_ptr = np.zeros(r1 - r0 + 1, np.int64)
            np.cumsum(counts[r0:r1], out=out_ptr[1:])
            part = np.empty(out_ptr[-1], np.int32)
            ck.compact_rows(ptr, counts[r0:r1], buf, part, out_ptr)
            parts.append(part)
            r0 = r1
        indptr = np.zeros(n_src + 1, np.int64)
        np.cumsum(counts, out=indptr[1:])
        cols = np.concatenate(parts) if len(parts) > 1 else parts[0] if parts else np.empty(0, np.int32)
        return indptr, cols
    p = float(rule.p)
    if p <= 0.0:
        return np.zeros(n_src + 1, np.int64), np.empty(0, np.int32)
    ck.bernoulli_rows(n_src, n_tgt, p, excl, seed, stream, counts, empty, np.empty(0, np.int32))
    indptr = np.zeros(n_src + 1, np.int64)
    np.cumsum(counts, out=indptr[1:])
    cols = np.empty(indptr[-1], np.int32)
    ck.bernoulli_rows(n_src, n_tgt, p, excl, seed, stream, counts, indptr, cols)
    return indptr, cols
