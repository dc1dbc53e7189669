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


def _bernoulli(rule, n_src, n_tgt, excl, seed, stream, pos_s, pos_t, sheet):
    counts = np.empty(n_src, np.int64)
    empty = np.empty(0, np.int64)
    spatial = isinstance(rule.p, (GaussianP, ExponentialP)) or rule.mask is not None
    if spatial:
        ex, ey, periodic = sheet
        kind, pc, width, radius = spatial_profile(rule)
        args = (pos_s, pos_t, ex, ey, periodic, kind, pc, width, radius, excl, seed, stream)
        ck.spatial_rows(*args, counts, empty, np.empty(0, np.int32))
        indptr = np.zeros(n_src + 1, np.int64)
        np.cumsum(counts, out=indptr[1:])
        cols = np.empty(indptr[-1], np.int32)
        ck.spatial_rows(*args, counts, indptr, cols)
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
