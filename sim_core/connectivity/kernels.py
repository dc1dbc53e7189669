"""Numba kernels that draw connectivity. Each rule writes its pairs into
preallocated arrays, keyed per row (target or source) on the counter-based RNG, so the
result does not depend on the number of threads. ``autapse_shift`` (0/1) removes the
neuron itself from the candidates when source and target population are the same."""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from ..random.detmath import exp_d, log_d
from ..random.philox import draw, uniform2


@njit(cache=True)
def _sample_row(out, base, n, k, self_idx, multapses, seed, stream, row, mask):
    """k picks from range(n) (minus ``self_idx`` when >= 0) into out[base:base+k]."""
    m = n - 1 if self_idx >= 0 else n
    if multapses:
        for c in range(k):
            u, _ = uniform2(seed, stream, row, c, 0)
            r = min(int(u * m), m - 1)
            if self_idx >= 0 and r >= self_idx:
                r += 1
            out[base + c] = r
        return
    # Floyd's algorithm: k distinct values in k draws, membership in a scratch mask
    c = 0
    for j in range(m - k, m):
        u, _ = uniform2(seed, stream, row, c, 0)
        t = min(int(u * (j + 1)), j)
        if mask[t]:
            t = j
        mask[t] = True
        out[base + c] = t
        c += 1
    for c in range(k):  # clear the mask and undo the self-exclusion shift
        t = out[base + c]
        mask[t] = False
        if self_idx >= 0 and t >= self_idx:
            out[base + c] = t + 1


@njit(parallel=True, cache=True)
def fixed_degree(n_rows, n_pick, k, autapse_excl, multapses, seed, stream, n_chunks):
    """For each of ``n_rows`` rows, k picks from range(n_pick). Returns picks[n_rows*k]."""
    out = np.empty(n_rows * k, dtype=np.int32)
    per = (n_rows + n_chunks - 1) // n_chunks
    for c in prange(n_chunks):
        mask = np.zeros(n_pick, dtype=np.bool_)
        for row in range(c * per, min(n_rows, (c + 1) * per)):
            _sample_row(out, row * k, n_pick, k, row if autapse_excl else -1, multapses,
                        seed, stream, row, mask)
    return out


@njit(parallel=True, cache=True)
def total_number_pairs(n, n_src, n_tgt, first, autapse_excl, seed, stream):
    """Pairs number first..first+n-1, each uniform over all (src, tgt); redrawn when it
    would be an autapse."""
    src = np.empty(n, dtype=np.int32)
    tgt = np.empty(n, dtype=np.int32)
    for i in prange(n):
        for sub in range(1000):
            u, v = uniform2(seed, stream, 0, first + i, sub)
            s = min(int(u * n_src), n_src - 1)
            t = min(int(v * n_tgt), n_tgt - 1)
            if not (autapse_excl and s == t):
                break
        src[i] = s
        tgt[i] = t
    return src, tgt


@njit(parallel=True, cache=True)
def bernoulli_rows(n_rows, n_cols, p, autapse_excl, seed, stream, counts, fill_ptr, out):
    """Each (row, col) with probability p, by geometric skipping along a row.
    First call with fill_ptr empty to count per row, then again to fill ``out``."""
    filling = fill_ptr.shape[0] > 0
    log_q = math.log1p(-p) if p < 1.0 else 0.0
    for row in prange(n_rows):
        c = 0
        pos = -1
        draw_i = 0
        while True:
            if p >= 1.0:
                pos += 1
            else:
                u, _ = uniform2(seed, stream, row, draw_i, 0)
                draw_i += 1
                skip = math.floor(log_d(1.0 - u) / log_q)
                if pos + 1 + skip >= n_cols:
                    break
                pos += 1 + int(skip)
            if pos >= n_cols:
                break
            if autapse_excl and pos == row:
                continue
            if filling:
                out[fill_ptr[row] + c] = pos
            c += 1
        counts[row] = c


@njit(cache=True, inline="always")
def _dist(xs, ys, xt, yt, ex, ey, periodic):
    dx = abs(xt - xs)
    dy = abs(yt - ys)
    if periodic:
        dx = min(dx, ex - dx)
        dy = min(dy, ey - dy)
    return math.sqrt(dx * dx + dy * dy)


@njit(cache=True, inline="always")
def _cell(x, e, w, n):
    """Cell index along one axis of a sheet of length ``e`` centred on 0 (cells of width w),
    clamped into [0, n): positions on or beyond an edge go to the edge's cell."""
    k = math.floor((x + e / 2.0) / w)
    if not k >= 0.0:  # also NaN
        return 0
    if k >= n:
        return n - 1
    return int(k)


@njit(cache=True)
def bin_cells(pos, ex, ey, nx, ny, wx, wy):
    """Targets sorted into nx x ny cells (cell cx * ny + cy): (start[nx*ny + 1], items),
    the targets of cell c being items[start[c]:start[c + 1]], ascending."""
    n = pos.shape[0]
    cell = np.empty(n, np.int64)
    start = np.zeros(nx * ny + 1, np.int64)
    for i in range(n):
        c = _cell(pos[i, 0], ex, wx, nx) * ny + _cell(pos[i, 1], ey, wy, ny)
        cell[i] = c
        start[c + 1] += 1
    for c in range(nx * ny):
        start[c + 1] += start[c]
    fill = start[:-1].copy()
    items = np.empty(n, np.int32)
    for i in range(n):
        items[fill[cell[i]]] = i
        fill[cell[i]] += 1
    return start, items


@njit(cache=True, inline="always")
def _axis_range(u, k, w, n, reach, everything, periodic):
    """First and last (unwrapped) cell index to visit along one axis."""
    if everything:
        return 0, n - 1
    lo, hi = k - reach, k + reach
    if not periodic:
        lo, hi = max(lo, 0), min(hi, n - 1)
    return lo, hi


@njit(cache=True, inline="always")
def _gap(u, k, w, everything):
    """Distance along one axis from local coordinate u to unwrapped cell k (0 inside it)."""
    if everything:
        return 0.0
    return max(0.0, k * w - u, u - (k + 1) * w)


# A drawn u at or above p_center / (1 + y) * REJECT_MARGIN is at or above p_center * exp(-y)
# (exp(-y) <= 1 / (1 + y) for y >= 0; the margin covers exp_d's and the products' rounding):
# such a pair is rejected without computing exp_d, with the decision the exp would give.
REJECT_MARGIN = 1.0 + 1e-9


@njit(parallel=True, cache=True)
def spatial_rows(pos_s, pos_t, ex, ey, periodic, kind, p_center, width, radius,
                 autapse_excl, seed, stream, cells, r0, r1, drawing, ptr, out, counts):
    """Distance-dependent Bernoulli for rows r0..r1-1: p(r) = p_center*exp(-r^2/2w^2)
    (kind 1) or p_center*exp(-r/w) (kind 2), zero outside ``radius``.

    ``drawing`` False: counts[row] = the targets in the cells the row visits, an upper
    bound of its synapses (no distances, no draws: a sum over cells). True: row ``row``'s
    synapses go to out[ptr[row - r0]:], ascending, and their number to counts[row].

    Only targets in cells that reach within ``radius`` of the source are visited
    (``cells`` = (start, items, nx, ny, wx, wy, reach_x, reach_y, all_x, all_y), see
    ``rules.cell_grid``); each pair (row, col) inside the mask draws uniform (row, col, 0)
    as a visit of every column would, and each row is sorted, so the network does not
    depend on the cells."""
    start, items, nx, ny, wx, wy, rx, ry, all_x, all_y = cells
    r_skip = radius * (1.0 + 1e-6) + 1e-9 * (ex + ey)  # cells are skipped conservatively:
    prune = r_skip * r_skip  # beyond rounding (relative to the radius and to the sheet)
    for row in prange(r0, r1):
        c = 0
        xs, ys = pos_s[row, 0], pos_s[row, 1]
        ux, uy = xs + ex / 2.0, ys + ey / 2.0
        x0, x1 = _axis_range(ux, _cell(xs, ex, wx, nx), wx, nx, rx, all_x, periodic)
        y0, y1 = _axis_range(uy, _cell(ys, ey, wy, ny), wy, ny, ry, all_y, periodic)
        base_out = ptr[row - r0] if drawing else 0
        for kx in range(x0, x1 + 1):
            gx = _gap(ux, kx, wx, all_x)
            if gx * gx > prune:
                continue
            base = (kx % nx) * ny
            for ky in range(y0, y1 + 1):
                gy = _gap(uy, ky, wy, all_y)
                if gx * gx + gy * gy > prune:
                    continue
                cell = base + ky % ny
                if not drawing:
                    c += start[cell + 1] - start[cell]
                    continue
                for j in range(start[cell], start[cell + 1]):
                    col = items[j]
                    if autapse_excl and col == row:
                        continue
                    r = _dist(xs, ys, pos_t[col, 0], pos_t[col, 1], ex, ey, periodic)
                    if r > radius:
                        continue
                    u, _ = uniform2(seed, stream, row, col, 0)
                    if u >= p_center:
                        continue  # p <= p_center
                    y = r * r / (2.0 * width * width) if kind == 1 else r / width
                    if u >= p_center / (1.0 + y) * REJECT_MARGIN:
                        continue  # p <= p_center / (1 + y)
                    if u < p_center * exp_d(-y):
                        out[base_out + c] = col
                        c += 1
        counts[row] = c
        if drawing and c > 1:
            out[base_out:base_out + c] = np.sort(out[base_out:base_out + c])


@njit(parallel=True, cache=True)
def compact_rows(ptr, counts, buf, out, out_ptr):
    """Row i of ``buf`` (at buf[ptr[i]:], counts[i] long) to out[out_ptr[i]:]."""
    for i in prange(ptr.shape[0] - 1):
        a, n, b = ptr[i], counts[i], out_ptr[i]
        out[b:b + n] = buf[a:a + n]


@njit(cache=True)
def csr_by_row(rows, cols, n_rows):
    """Stable counting sort of (row, col) pairs by row -> (indptr, cols)."""
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    for r in rows:
        indptr[r + 1] += 1
    for i in range(n_rows):
        indptr[i + 1] += indptr[i]
    pos = indptr[:-1].copy()
    out = np.empty(cols.shape[0], dtype=np.int32)
    for i in range(rows.shape[0]):
        r = rows[i]
        out[pos[r]] = cols[i]
        pos[r] += 1
    return indptr, out


@njit(parallel=True, cache=True)
def sort_rows(indptr, cols):
    for r in prange(indptr.shape[0] - 1):
        cols[indptr[r]:indptr[r + 1]] = np.sort(cols[indptr[r]:indptr[r + 1]])


@njit(parallel=True, cache=True)
def draw_values(n, kind, p1, p2, low, high, scale, offset, seed, stream):
    """n draws of one distribution, the i-th keyed on counter i."""
    out = np.empty(n, dtype=np.float64)
    for i in prange(n):
        out[i] = draw(kind, p1, p2, low, high, scale, offset, seed, stream, i >> 32, i & 0xFFFFFFFF)
    return out


@njit(parallel=True, cache=True)
def spatial_delays(indptr, cols, pos_s, pos_t, ex, ey, periodic, offset, velocity):
    out = np.empty(cols.shape[0], dtype=np.float64)
    for row in prange(indptr.shape[0] - 1):
        for j in range(indptr[row], indptr[row + 1]):
            c = cols[j]
            out[j] = offset + _dist(pos_s[row, 0], pos_s[row, 1], pos_t[c, 0], pos_t[c, 1],
                                    ex, ey, periodic) / velocity
    return out
