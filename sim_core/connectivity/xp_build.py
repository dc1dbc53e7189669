"""Spec -> connectome with array operations of a namespace ``xp`` (NumPy, or CuPy on a GPU).

Runtime construction on the device, as NEST GPU does it: every rule is drawn in device
memory from the same Philox keys as the Numba builder (``build.build_connectome``), with
the same per-row keys and the same order of draws, so the connectome is the same: indptr,
targets (ascending within a row, duplicates of a multapse adjacent), weights, weight
codes and tables, delays and positions. Only the finished arrays go back to the host.

Each Numba kernel loops over rows in parallel and, within a row, over its draws. Here the
loops are turned inside out: one array operation advances every row of a chunk by one
draw (Floyd's algorithm, geometric skipping, redraws), and chunks bound the memory.

Exactness: integer and IEEE arithmetic (+ - * / sqrt floor) give the same bits on every
device, and the logarithms, exponentials and cosines are ``sim_core.random.detmath``'s,
built from that arithmetic alone (``philox_xp``), as in the Numba kernels: every
decision (a geometric skip, a distance-dependent coin flip, a redraw) and every drawn
value is the Numba builder's, bit for bit, on the host and on a GPU.
"""
from __future__ import annotations

import math

import numpy as np

from ..errors import SpecError
from ..random import philox_xp as px
from ..random import streams
from ..spec.model import (AllToAll, ExponentialP, FixedIndegree, FixedOutdegree,
                          FixedTotalNumber, GaussianP, LinearDelay, OneToOne, PairwiseBernoulli,
                          Uniform)
from .build import (Connection, Connectome, _discretize_weights, check_capacity, delay_steps,
                    projection_geometry)
from .rules import cell_grid, on_sheet, spatial_profile
from .values import dist_args

# Elements drawn per array operation (each Philox temporary is 8 bytes per element).
BATCH = 1 << 20
# Floyd's algorithm keeps one membership flag per (row, candidate) of a chunk of rows.
MASK_BYTES = 64 << 20


LAZY_CHECK = 1 << 16  # weights drawn to check the bounds when the rest are left to their keys


def build_connectome_xp(spec, seed: int, xp=np, lazy_weights: bool = False) -> Connectome:
    """The connectome of ``build_connectome(spec, seed)``, built with ``xp`` arrays; the
    returned arrays are NumPy arrays. ``lazy_weights``: drawn weights (without a resolution)
    are not drawn, only their keys kept (``Connection.weight_key``), for a backend that
    draws them again; the first ``LAZY_CHECK`` are drawn to refuse impossible bounds."""
    check_capacity(spec)
    pop_index = {name: i for i, name in enumerate(spec.populations)}
    pos = {name: _positions(xp, p, pop_index[name], seed) for name, p in spec.populations.items()}
    conns = []
    for i, proj, n_src, n_tgt, pos_s, pos_t, sheet in projection_geometry(spec, pos):
        indptr, targets = connect(xp, proj.rule, n_src, n_tgt, proj.source == proj.target, seed,
                                  streams.stream(streams.CONNECT, i), pos_s, pos_t, sheet)
        conn = Connection(i, proj.source, proj.target, px.to_host(xp, indptr), px.to_host(xp, targets))
        _draw_synapse_values(xp, spec, i, proj, conn, seed, indptr, targets, pos_s, pos_t, sheet, lazy_weights)
        conns.append(conn)
    return Connectome(conns, {name: None if p is None else px.to_host(xp, p) for name, p in pos.items()})


# ---------------------------------------------------------------------------------------
# Rules (as ``rules.connect``): each returns (indptr int64, targets int32) on the device


def connect(xp, rule, n_src, n_tgt, same, seed, stream, pos_s=None, pos_t=None, sheet=None):
    excl = same and not rule.allow_autapses
    if isinstance(rule, OneToOne):
        if excl:  # one_to_one within a population without autapses connects nothing
            return xp.zeros(n_src + 1, xp.int64), xp.empty(0, xp.int32)
        return xp.arange(n_src + 1, dtype=xp.int64), xp.arange(n_src, dtype=xp.int32)
    if isinstance(rule, AllToAll):
        return _all_pairs(xp, n_src, n_tgt, excl)
    if isinstance(rule, FixedIndegree):
        src = _fixed_degree(xp, n_tgt, n_src, rule.indegree, excl, rule.allow_multapses, seed, stream)
        tgt = xp.repeat(xp.arange(n_tgt, dtype=xp.int64), rule.indegree)
        return _csr_sorted(xp, src.ravel(), tgt, n_src, n_tgt)
    if isinstance(rule, FixedOutdegree):
        cols = _fixed_degree(xp, n_src, n_tgt, rule.outdegree, excl, rule.allow_multapses, seed, stream)
        return (xp.arange(n_src + 1, dtype=xp.int64) * rule.outdegree,
                xp.sort(cols, axis=1).ravel().astype(xp.int32))
    if isinstance(rule, FixedTotalNumber):
        src, tgt = _total_number(xp, rule, n_src, n_tgt, excl, seed, stream)
        return _csr_sorted(xp, src, tgt, n_src, n_tgt)
    if isinstance(rule, PairwiseBernoulli):
        if isinstance(rule.p, (GaussianP, ExponentialP)) or rule.mask is not None:
            return _spatial(xp, rule, pos_s, pos_t, sheet, excl, seed, stream)
        return _bernoulli(xp, float(rule.p), n_src, n_tgt, excl, seed, stream)
    raise TypeError(rule)


def _csr_sorted(xp, rows, cols, n_rows, n_cols):
    """CSR of (row, col) pairs with cols ascending within a row. The Numba builder gets the
    same by a stable counting sort of pairs already ordered by col (or followed by a sort
    per row); sorting the key row * n_cols + col gives that order (equal keys are equal
    pairs, so their relative order cannot show)."""
    keys = xp.sort(rows.astype(xp.int64) * n_cols + cols)
    return _indptr(xp, keys // n_cols, n_rows), (keys % n_cols).astype(xp.int32)


def _indptr(xp, rows, n_rows):
    """indptr of a CSR whose rows (sorted or not) are ``rows``. No bincount on an empty
    array: CuPy's takes max() of it first and raises (NumPy's does not)."""
    indptr = xp.zeros(n_rows + 1, xp.int64)
    if rows.shape[0]:
        indptr[1:] = xp.cumsum(xp.bincount(rows, minlength=n_rows))
    return indptr


def _all_pairs(xp, n_src, n_tgt, excl):
    """Every (source, target), minus (i, i) when ``excl``."""
    if not excl:
        return (xp.arange(n_src + 1, dtype=xp.int64) * n_tgt,
                xp.tile(xp.arange(n_tgt, dtype=xp.int32), n_src))
    rows = xp.repeat(xp.arange(n_src, dtype=xp.int64), n_tgt)
    cols = xp.tile(xp.arange(n_tgt, dtype=xp.int64), n_src)
    keep = rows != cols
    return _indptr(xp, rows[keep], n_src), cols[keep].astype(xp.int32)


def _row_chunks(n_rows, per_row, budget):
    """(first, stop) of consecutive row chunks with per_row * rows <= budget (>= 1 row)."""
    step = max(1, budget // max(per_row, 1))
    for r0 in range(0, n_rows, step):
        yield r0, min(n_rows, r0 + step)


def _fixed_degree(xp, n_rows, n_pick, k, excl, multapses, seed, stream):
    """(n_rows, k) int64 picks from range(n_pick), row r minus r itself when ``excl``, in
    the order ``kernels.fixed_degree`` draws them: pick c of row r uses uniform (r, c, 0)."""
    m = n_pick - 1 if excl else n_pick  # candidates; the self-exclusion shift comes last
    out = xp.empty((n_rows, k), xp.int64)
    steps = xp.arange(k, dtype=xp.int64)
    if multapses:
        for r0, r1 in _row_chunks(n_rows, k, BATCH):
            rows = xp.arange(r0, r1, dtype=xp.int64)[:, None]
            u, _ = px.uniform2(xp, seed, stream, rows, steps[None, :], 0)
            picks = xp.minimum((u * m).astype(xp.int64), m - 1)
            out[r0:r1] = picks + (picks >= rows) if excl else picks
        return out
    # Floyd's algorithm, all rows of a chunk at once: draw c picks t in [0, j], j = m-k+c,
    # and takes j instead when t is already taken. The candidates of every draw are
    # computed up front; only the membership test has to go draw by draw.
    j = m - k + steps
    chunk_budget = min(MASK_BYTES // max(m, 1), BATCH // max(k, 1))
    for r0, r1 in _row_chunks(n_rows, 1, chunk_budget):
        rows = xp.arange(r0, r1, dtype=xp.int64)[:, None]
        u, _ = px.uniform2(xp, seed, stream, rows, steps[None, :], 0)
        cand = xp.minimum((u * (j + 1)).astype(xp.int64), j)
        taken = xp.zeros((r1 - r0) * max(m, 1), dtype=xp.bool_)  # flat (row, candidate) mask
        base = xp.arange(r1 - r0, dtype=xp.int64) * m
        picks = xp.empty((r1 - r0, k), xp.int64)
        for c in range(k):
            t = cand[:, c]
            t = xp.where(taken[base + t], m - k + c, t)
            taken[base + t] = True
            picks[:, c] = t
        out[r0:r1] = picks + (picks >= rows) if excl else picks
    return out


def _total_number(xp, rule, n_src, n_tgt, excl, seed, stream):
    """(sources, targets) of ``rules._total_number``: N pairs, and without multapses the
    distinct ones topped up with later-numbered pairs until there are N."""
    src, tgt = _total_number_pairs(xp, rule.N, n_src, n_tgt, 0, excl, seed, stream)
    if rule.allow_multapses or rule.N == 0:
        return src, tgt
    keys = xp.unique(src * n_tgt + tgt)
    drawn = rule.N
    while int(keys.shape[0]) < rule.N:
        need = rule.N - int(keys.shape[0])
        s2, t2 = _total_number_pairs(xp, need, n_src, n_tgt, drawn, excl, seed, stream)
        drawn += need
        keys = xp.unique(xp.concatenate([keys, s2 * n_tgt + t2]))
    return keys // n_tgt, keys % n_tgt


def _total_number_pairs(xp, n, n_src, n_tgt, first, excl, seed, stream):
    """Pairs numbered first..first+n-1 (int64 sources, targets), each uniform over all
    pairs; an autapse, when excluded, is redrawn with sub = 1, 2, ... (kept after 1000)."""
    src = xp.empty(n, xp.int64)
    tgt = xp.empty(n, xp.int64)
    for i0, i1 in _row_chunks(n, 1, BATCH):
        todo = xp.arange(i1 - i0, dtype=xp.int64)
        counter = todo + (first + i0)
        for sub in range(1000):
            u, v = px.uniform2(xp, seed, stream, 0, counter[todo], sub)
            s = xp.minimum((u * n_src).astype(xp.int64), n_src - 1)
            t = xp.minimum((v * n_tgt).astype(xp.int64), n_tgt - 1)
            src[i0 + todo], tgt[i0 + todo] = s, t
            if not excl:
                break
            todo = todo[s == t]
            if todo.shape[0] == 0:
                break
    return src, tgt


def _bernoulli(xp, p, n_src, n_tgt, excl, seed, stream):
    """Each pair with probability p, by geometric skipping along each row as
    ``kernels.bernoulli_rows``: draw d of row r (uniform (r, d, 0)) jumps over
    floor(log(1-u) / log(1-p)) columns. All rows still inside their row advance together."""
    if p <= 0.0:
        return xp.zeros(n_src + 1, xp.int64), xp.empty(0, xp.int32)
    if p >= 1.0:
        return _all_pairs(xp, n_src, n_tgt, excl)
    log_q = math.log1p(-p)  # libm, once, as the kernel
    rows = xp.arange(n_src, dtype=xp.int64)  # rows still inside
    pos = xp.full(n_src, -1, dtype=xp.int64)  # their last column
    found_rows, found_cols = [], []
    draw_i = 0  # every row still inside has made the same number of draws
    while rows.shape[0]:
        u, _ = px.uniform2(xp, seed, stream, rows, draw_i, 0)
        draw_i += 1
        skip = _geometric_skip(xp, u, log_q)
        inside = ~((pos + 1).astype(xp.float64) + skip >= n_tgt)  # float test, as the kernel's
        rows, pos = rows[inside], pos[inside] + 1 + skip[inside].astype(xp.int64)
        hit = rows != pos if excl else xp.ones(rows.shape, dtype=xp.bool_)
        found_rows.append(rows[hit])
        found_cols.append(pos[hit])
    return _csr_sorted(xp, xp.concatenate(found_rows), xp.concatenate(found_cols), n_src, n_tgt)


def _geometric_skip(xp, u, log_q):
    """floor(log(1 - u) / log_q), as float64, identical to the kernel's on every device."""
    return xp.floor(px.log(xp, 1.0 - u) / log_q)


def _spatial(xp, rule, pos_s, pos_t, sheet, excl, seed, stream):
    """Distance-dependent Bernoulli as ``kernels.spatial_rows``: pair (r, c) within the
    mask, with uniform (r, c, 0) < p(distance). Only the targets in the cells near each
    source are candidates (``rules.cell_grid``, as the kernel); rows go by chunks."""
    ex, ey, periodic = sheet
    kind, pc, width, radius = spatial_profile(rule)
    n_src, n_tgt = pos_s.shape[0], pos_t.shape[0]
    nx, ny, wx, wy, rx, ry, ax, ay = cell_grid(ex, ey, periodic, radius, n_tgt,
                                               on_sheet(pos_s, pos_t, ex, ey, xp))
    start, items = _bin_cells(xp, pos_t, ex, ey, nx, ny, wx, wy)
    # cell offsets visited around a source's cell (all cells along an axis visited whole)
    ox = xp.arange(nx, dtype=xp.int64) if ax else xp.arange(-rx, rx + 1, dtype=xp.int64)
    oy = xp.arange(ny, dtype=xp.int64) if ay else xp.arange(-ry, ry + 1, dtype=xp.int64)
    ox, oy = xp.repeat(ox, oy.shape[0]), xp.tile(oy, ox.shape[0])
    n_off = int(ox.shape[0])
    visited = min(1.0, (2 * radius + wx + wy) ** 2 / (ex * ey)) if math.isfinite(radius) else 1.0
    per_row = max(n_off, int(n_tgt * visited) + 1)
    r_skip = radius * (1.0 + 1e-6) + 1e-9 * (ex + ey)  # as the kernel's (conservative)
    prune = r_skip * r_skip
    found_rows, found_cols = [], []
    for r0, r1 in _row_chunks(n_src, per_row, BATCH):
        xs, ys = pos_s[r0:r1, 0], pos_s[r0:r1, 1]
        ux, uy = xs + ex / 2.0, ys + ey / 2.0
        kx = ox[None, :] if ax else _cell(xp, xs, ex, wx, nx)[:, None] + ox[None, :]
        ky = oy[None, :] if ay else _cell(xp, ys, ey, wy, ny)[:, None] + oy[None, :]
        kx, ky = xp.broadcast_to(kx, (r1 - r0, n_off)), xp.broadcast_to(ky, (r1 - r0, n_off))
        keep = xp.ones((r1 - r0, n_off), dtype=xp.bool_)
        if not periodic:
            keep &= (kx >= 0) & (kx < nx) & (ky >= 0) & (ky < ny)
        if not (ax and ay):
            gx = _gap(xp, ux[:, None], kx, wx) if not ax else 0.0
            gy = _gap(xp, uy[:, None], ky, wy) if not ay else 0.0
            keep &= ~(gx * gx + gy * gy > prune)
        ri, oi = xp.nonzero(keep)
        cell = (kx[ri, oi] % nx) * ny + ky[ri, oi] % ny
        first, lens = start[cell], start[cell + 1] - start[cell]
        ends = xp.cumsum(lens)
        total = int(ends[-1]) if ends.shape[0] else 0
        if total == 0:
            continue
        # expand each (row, cell) into its targets (searchsorted: CuPy's repeat takes no counts)
        j = xp.arange(total, dtype=xp.int64)
        pair = xp.searchsorted(ends, j, side="right")
        ri = (ri + r0)[pair]
        ci = items[first[pair] + j - (ends[pair] - lens[pair])].astype(xp.int64)
        r = _distance(xp, pos_s[ri], pos_t[ci], ex, ey, periodic)
        candidate = ~(r > radius)
        if excl:
            candidate &= ci != ri
        ri, ci, r = ri[candidate], ci[candidate], r[candidate]
        prob = _profile(xp, kind, pc, width, r)
        u, _ = px.uniform2(xp, seed, stream, ri, ci, 0)
        hit = u < prob
        found_rows.append(ri[hit])
        found_cols.append(ci[hit])
    if not found_rows:
        return xp.zeros(n_src + 1, xp.int64), xp.empty(0, xp.int32)
    return _csr_sorted(xp, xp.concatenate(found_rows), xp.concatenate(found_cols), n_src, n_tgt)


def _cell(xp, x, e, w, n):
    """``kernels._cell`` on arrays: floor((x + e/2) / w) clamped into [0, n) (NaN -> 0)."""
    k = xp.floor((x + e / 2.0) / w)
    k = xp.where(k >= 0.0, k, 0.0)
    return xp.minimum(k, n - 1).astype(xp.int64)


def _gap(xp, u, k, w):
    """Distance along an axis from local coordinate u to unwrapped cell k (0 inside it)."""
    return xp.maximum(xp.maximum(k * w - u, u - (k + 1) * w), 0.0)


def _bin_cells(xp, pos, ex, ey, nx, ny, wx, wy):
    """``kernels.bin_cells``: (start, items) of the targets sorted by cell, ascending within."""
    cell = _cell(xp, pos[:, 0], ex, wx, nx) * ny + _cell(xp, pos[:, 1], ey, wy, ny)
    items = xp.argsort(cell * pos.shape[0] + xp.arange(pos.shape[0], dtype=xp.int64))
    start = xp.zeros(nx * ny + 1, xp.int64)
    if pos.shape[0]:
        start[1:] = xp.cumsum(xp.bincount(cell, minlength=nx * ny))
    return start, items.astype(xp.int64)


def _profile(xp, kind, pc, width, r):
    """Connection probability at distance r, with the kernel's operations in its order."""
    if kind == 1:
        return pc * px.exp(xp, -r * r / (2.0 * width * width))
    return pc * px.exp(xp, -r / width)


def _distance(xp, a, b, ex, ey, periodic):
    """Distance between positions a[..., :2] and b[..., :2] on the sheet (on the torus if
    periodic), as ``kernels._dist``."""
    dx = abs(b[..., 0] - a[..., 0])
    dy = abs(b[..., 1] - a[..., 1])
    if periodic:
        dx = xp.minimum(dx, ex - dx)
        dy = xp.minimum(dy, ey - dy)
    return xp.sqrt(dx * dx + dy * dy)


# ---------------------------------------------------------------------------------------
# Positions, weights and delays (as ``positions.positions`` and ``build._draw_synapse_values``)


def _positions(xp, pop, pop_index, seed):
    pos = pop.positions
    if pos is None:
        return None
    ex, ey = pos.extent
    if pos.kind == "grid":  # NEST's order: node n in column n // rows, row n % rows
        cols, rows = pos.shape
        n = xp.arange(pop.size)
        x = -ex / 2 + (n // rows + 0.5) * ex / cols
        y = ey / 2 - (n % rows + 0.5) * ey / rows
        return xp.stack([x, y], axis=1)
    st = streams.stream(streams.POSITION, pop_index)
    return _draw_array(xp, Uniform(-ex / 2, ex / 2), 2 * pop.size, seed, st, "").reshape(pop.size, 2)


def _draw_array(xp, value, n, seed, stream, path):
    """``values.draw_array`` on the device: draw i keyed on counter i (high word as entity)."""
    args = dist_args(value)
    if args[0] == px.CONST:
        return xp.full(n, args[1], dtype=xp.float64)
    out = xp.empty(n, xp.float64)
    for i0, i1 in _row_chunks(n, 1, BATCH):
        i = xp.arange(i0, i1, dtype=xp.int64)
        out[i0:i1] = px.draw(xp, *args, seed, stream, i >> 32, i & 0xFFFFFFFF)
    if n and bool(xp.isnan(out).any()):
        raise SpecError(path, f"{px.MAX_REDRAWS} redraws in a row fell outside [low, high]; "
                        "widen the bounds")
    return out


def _draw_synapse_values(xp, spec, i, proj, conn, seed, indptr, targets, pos_s, pos_t, sheet, lazy=False):
    syn, path, n = proj.synapse, f"projections[{i}].synapse", conn.n_synapses
    if isinstance(syn.weight, float):
        conn.weight = syn.weight
    elif lazy and syn.resolution is None:
        stream = streams.stream(streams.WEIGHT, i)
        _draw_array(xp, syn.weight, min(n, LAZY_CHECK), seed, stream, f"{path}.weight")  # raises if impossible
        conn.weight_key = (syn.weight, seed, stream, f"{path}.weight")
    else:
        w = _draw_array(xp, syn.weight, n, seed, streams.stream(streams.WEIGHT, i), f"{path}.weight")
        if syn.resolution is None:
            conn.weights = px.to_host(xp, w.astype(xp.float32))
        else:  # the table is chosen on the host (a few thousand operations per target)
            _discretize_weights(conn, px.to_host(xp, w), syn.resolution, spec.node_size(proj.target))
    if isinstance(syn.delay, float):
        conn.delay = delay_steps(syn.delay, spec.dt)
        return
    if isinstance(syn.delay, LinearDelay):
        # row of every synapse (searchsorted: CuPy's repeat takes no array of counts)
        sources = xp.searchsorted(indptr, xp.arange(n, dtype=xp.int64), side="right") - 1
        r = _distance(xp, pos_s[sources], pos_t[targets], *sheet)
        d_ms = syn.delay.offset + r / syn.delay.velocity
    else:
        d_ms = _draw_array(xp, syn.delay, n, seed, streams.stream(streams.DELAY, i), f"{path}.delay")
    steps = xp.maximum(xp.floor(d_ms / spec.dt + 0.5), 1)  # NEST rounds to the grid (ld_round)
    small = n == 0 or float(steps.max()) < 256
    conn.delays = px.to_host(xp, steps.astype(xp.uint8 if small else xp.uint16))
