"""Spatiotemporal LFP kernels of a built network (the ``kernel`` method, Hagen et al. 2022).

The shipped table (``data/pd_kernels.npz``, computed by ``scripts/lfp_kernels.py`` with
LFPykernels) holds h[Y, X, z, r, k]: the potential (mV) at depth z and lateral distance r
from ONE cell of population Y, averaged over the bin [k dt_h, (k+1) dt_h), when 1 pA flows
in for dt_h at the membrane where its X -> Y synapses sit. This module turns it into one
kernel per source population X on the LFP grid (``geometry.Grid``):

    H_X[c, l] = the mean contribution to LFP sample j + l at an electrode c bins away
                (x, y) from the bin of one spike of X counted in bin j,

so that LFP = sum_X H_X * counts_X (a convolution over x, y and t: ``convolve``). Steps:

1. The pulse table at the electrode depth (linear in depth), used as the impulse response
   h / dt_h of a unit charge (this smears it by dt_h = 0.25 ms), is convolved with the
   postsynaptic current of the target's model (``iaf_psc_exp``: exp(-t/tau_syn);
   ``iaf_psc_alpha``: (t/tau) e^(1 - t/tau)), with tau_syn_ex or tau_syn_in by the sign of
   the projection's mean weight, on a fine time grid, then averaged over the steps dt: G(r, i).
2. G on the bin grid: averaged over where the target and the spike lie in their bins (the
   sum of two uniform offsets per axis: a triangle over two bins, sampled 7 x 7), with r
   interpolated linearly in the table (r = 0 ... 3 mm; 0 beyond).
3. The network's own connections give Q_p[c, d]: the summed weight (pA) of the synapses of
   projection p per source neuron, by offset c (target minus source, binned) and delay d
   (steps). Large projections use an evenly spaced sample of their sources (``MAX_SOURCES``).
   So the kernel carries what was built: in-degrees, masks, profiles, drawn weights, delays.
4. H_X at steps: sum over projections X -> Y of Q_p * G_p (FFT over x, y and t), the spike
   at the start of its step. A spike stamped t arrives after d steps and the current flows
   from t + d dt on (NEST's iaf_psc_exp takes its ring buffer after the update).
5. From steps to samples of ``interval`` = m steps: a sample is the mean over its m steps;
   a spike is counted in the sample bin of its stamp without its step inside the bin,
   which is taken as uniform over the m steps: H_X[., l] = sum_j tri(j) H[., l m + j],
   tri(j) = (m - |j|) / m^2.

The kernel ends where the longest response has decayed: the table's 40 ms plus five of the
longest synaptic time constant plus the longest delay.
"""
from __future__ import annotations

import math
from fractions import Fraction
from functools import lru_cache
from importlib import resources

import numpy as np
from scipy import fft as sfft
from scipy.signal import fftconvolve

from .geometry import Grid

MAX_SOURCES = 2000  # sources per projection sampled for Q (mesocircuit at 0.05: ~1e6 synapses each)
SUB = 4             # uniform sub-positions per bin and axis (their pairwise sums: 2 SUB - 1 points)
FINE_MS = 0.01      # time step of the PSC convolution (at most)
TAIL_TAUS = 5.0     # PSC length in time constants past the table's end
PSC_MODELS = ("iaf_psc_exp", "iaf_psc_alpha")


@lru_cache(maxsize=1)
def table() -> dict:
    """The shipped kernel table (read once)."""
    path = resources.files("sim_core.lfp").joinpath("data/pd_kernels.npz")
    with resources.as_file(path) as p, np.load(p, allow_pickle=False) as f:
        return {k: f[k] for k in ("targets", "sources", "depths_mm", "offsets_mm", "dt_ms", "h", "has_synapses")}


def populations() -> tuple[list[str], list[str]]:
    t = table()
    return [str(s) for s in t["targets"]], [str(s) for s in t["sources"]]


def check_spec(spec) -> None:
    """The kernel method needs table entries for every pathway between populations, targets
    with current-based exponential or alpha synapses, and a depth inside the table: else a
    one-line error naming the field (before anything is built)."""
    from ..errors import SpecError
    targets, sources = populations()
    z = table()["depths_mm"]
    depth = spec.recorders.lfp.electrodes.depth
    if not (z.min() - 1e-9 <= depth <= z.max() + 1e-9):
        raise SpecError("recorders.lfp.electrodes.depth", f"{depth} mm: the shipped kernels cover "
                        f"{z.min():g} to {z.max():g} mm")
    for i, proj in enumerate(spec.projections):
        if proj.source not in spec.populations or proj.target not in spec.populations:
            continue
        if proj.source not in sources or proj.target not in targets:
            bad = proj.source if proj.source not in sources else proj.target
            raise SpecError("recorders.lfp.method", f"kernel: no kernel for population {bad!r} "
                            f"(projections[{i}]); the shipped kernels are those of the cortical "
                            f"microcircuit ({', '.join(sources)}): name the populations so, or use method: proxy")
        model = spec.populations[proj.target].model
        if model not in PSC_MODELS:
            raise SpecError("recorders.lfp.method", f"kernel: population {proj.target!r} is {model}; the kernels "
                            "take current-based exponential or alpha synapses (iaf_psc_exp, iaf_psc_alpha)")


def _depth_slice(depth: float) -> np.ndarray:
    """h[Y, X, r, k] at the electrode depth, linear between the table's depths."""
    t = table()
    z, h = t["depths_mm"], t["h"]
    order = np.argsort(z)
    zs = z[order]
    i = int(np.clip(np.searchsorted(zs, depth) - 1, 0, len(zs) - 2))
    f = (depth - zs[i]) / (zs[i + 1] - zs[i])
    f = min(max(f, 0.0), 1.0)
    a, b = order[i], order[i + 1]
    return (1.0 - f) * h[:, :, a].astype(np.float64) + f * h[:, :, b].astype(np.float64)


def _fine_step(dt: float, dt_h: float) -> tuple[float, int, int]:
    """A time step that divides both dt and the table's step: (step, dt/step, dt_h/step)."""
    a, b = Fraction(dt).limit_denominator(10**6), Fraction(dt_h).limit_denominator(10**6)
    g = Fraction(math.gcd(a.numerator * b.denominator, b.numerator * a.denominator), a.denominator * b.denominator)
    q = max(1, math.ceil(float(g) / FINE_MS))
    step = g / q
    return float(step), int(a / step), int(b / step)


def _psc(shape: str, tau: float, step: float, n: int) -> np.ndarray:
    """The PSC of weight 1 pA averaged over fine steps [j step, (j+1) step)."""
    t0 = np.arange(n) * step
    t1 = t0 + step
    if shape == "iaf_psc_exp":
        return tau / step * (np.exp(-t0 / tau) - np.exp(-t1 / tau))
    # alpha: (t/tau) e^(1 - t/tau), whose integral is -e (t + tau) e^(-t/tau)
    prim = lambda t: -math.e * (t + tau) * np.exp(-t / tau)  # noqa: E731
    return (prim(t1) - prim(t0)) / step


def responses(h_rk: np.ndarray, shape: str, tau: float, dt: float, dt_h: float, n_steps: int) -> np.ndarray:
    """G[r, i]: the potential (mV) averaged over steps [i dt, (i+1) dt) after a 1 pA PSC
    starts at t = 0, for each table distance r (h_rk[r, k] at the electrode's depth)."""
    step, per_dt, per_h = _fine_step(dt, dt_h)
    g = np.repeat(h_rk / dt_h, per_h, axis=1)          # mV per (pA ms), piecewise constant
    psc = _psc(shape, tau, step, n_steps * per_dt)
    out = step * fftconvolve(g, psc[None, :], axes=1)[:, :n_steps * per_dt]
    if out.shape[1] < n_steps * per_dt:
        out = np.pad(out, ((0, 0), (0, n_steps * per_dt - out.shape[1])))
    return out.reshape(out.shape[0], n_steps, per_dt).mean(axis=2)


def spatial_weights(grid: Grid, r_table: np.ndarray) -> np.ndarray:
    """W[c, r]: G on kernel offset c = sum_r W[c, r] G[r] (c flat over grid.build_size), the mean
    over the two in-bin positions (triangle, ``SUB``) of a linear interpolation in r."""
    size = grid.build_size
    ox, oy = grid.offsets_mm(size)
    wx, wy = grid.width
    a = np.arange(2 * SUB - 1) - (SUB - 1)
    tri = (SUB - np.abs(a)) / SUB ** 2
    dx, dy = a / SUB * wx, a / SUB * wy
    X = ox[:, None, None, None] + dx[None, None, :, None]
    Y = oy[None, :, None, None] + dy[None, None, None, :]
    if grid.periodic:  # minimal images on the torus
        X = X - grid.extent[0] * np.round(X / grid.extent[0])
        Y = Y - grid.extent[1] * np.round(Y / grid.extent[1])
    r = np.sqrt(X * X + Y * Y)                                      # (Mx, My, S, S)
    wt = np.broadcast_to(tri[:, None] * tri[None, :], r.shape)
    i = np.clip(np.searchsorted(r_table, r, side="right") - 1, 0, len(r_table) - 2)
    f = np.clip((r - r_table[i]) / (r_table[i + 1] - r_table[i]), 0.0, 1.0)
    inside = r <= r_table[-1]
    n_off = size[0] * size[1]
    rows = np.broadcast_to(np.arange(n_off).reshape(size)[:, :, None, None], r.shape)
    W = np.zeros((n_off, len(r_table)))
    np.add.at(W, (rows[inside], i[inside]), (wt * (1.0 - f))[inside])
    np.add.at(W, (rows[inside], i[inside] + 1), (wt * f)[inside])
    return W


def host(a) -> np.ndarray:
    """A NumPy array of a host or device (CuPy) array: the GPU backend builds on the device."""
    return a.get() if hasattr(a, "get") else np.asarray(a)


def weights_at(conn, syn: np.ndarray) -> np.ndarray:
    """The weights (float64) of synapses ``syn`` of a connection, as ``weight_array`` has
    them, without materialising the others (the GPU keeps only drawn weights' keys)."""
    if conn.weights is None and conn.weight_key is not None:
        from ..connectivity.values import draw_at
        value, seed, stream, _ = conn.weight_key
        return draw_at(value, syn, seed, stream).astype(np.float32).astype(np.float64)
    if conn.weight_codes is not None:
        return host(conn.weight_table)[host(conn.weight_codes)[syn]].astype(np.float64)
    if conn.weights is not None:
        return host(conn.weights)[syn].astype(np.float64)
    return np.full(syn.shape[0], float(conn.weight))


def offset_delay_weights(grid: Grid, conn, pos_s: np.ndarray, pos_t: np.ndarray, n_delay: int) -> np.ndarray:
    """Q[c, d] (pA per source neuron): the summed weight of a projection's synapses by
    kernel offset c (target minus source) and delay d (steps), over a sample of sources."""
    pos_s, pos_t = host(pos_s), host(pos_t)
    indptr = host(conn.indptr)
    n_src = indptr.shape[0] - 1
    rows = np.unique(np.linspace(0, n_src - 1, min(n_src, MAX_SOURCES)).round().astype(np.int64)) \
        if n_src > MAX_SOURCES else np.arange(n_src)
    starts, ends = indptr[rows], indptr[rows + 1]
    lens = ends - starts
    syn = np.repeat(starts - np.concatenate(([0], np.cumsum(lens)[:-1])), lens) + np.arange(lens.sum())
    src = np.repeat(rows, lens)
    tgt = host(conn.targets)[syn]
    w = weights_at(conn, syn)
    d = host(conn.delays)[syn].astype(np.int64) if conn.delays is not None else np.full(syn.shape[0], conn.delay)
    size = grid.build_size
    cx = grid.offset_index(pos_t[tgt, 0] - pos_s[src, 0], 0, size)
    cy = grid.offset_index(pos_t[tgt, 1] - pos_s[src, 1], 1, size)
    flat = (cx * size[1] + cy) * n_delay + np.minimum(d, n_delay - 1)
    q = np.bincount(flat, weights=w, minlength=size[0] * size[1] * n_delay)
    return q.reshape(size[0] * size[1], n_delay) / max(len(rows), 1)


def build(network, grid: Grid, interval: float, seed: int | None = None) -> tuple[list[str], np.ndarray]:
    """(source population names, H[X, Mx, My, L]) in mV per spike; see the module docstring."""
    from ..network.neurons import population_params
    spec, dt = network.spec, network.dt
    t = table()
    targets, sources = [str(s) for s in t["targets"]], [str(s) for s in t["sources"]]
    dt_h = float(t["dt_ms"])
    h = _depth_slice(grid.depth)                                      # (Y, X, r, k)
    W = spatial_weights(grid, t["offsets_mm"])
    names = list(spec.populations)
    conns = [c for c in network.connectome.connections if c.source in spec.populations
             and c.target in spec.populations and c.n_synapses]
    taus = {}
    for name in {c.target for c in conns}:
        prm = population_params(spec, name, names.index(name), network.seed)
        taus[name] = (float(prm["tau_syn_ex"].mean()), float(prm["tau_syn_in"].mean()))
    tau_max = max((max(v) for v in taus.values()), default=1.0)
    n_delay = 1 + max((int(host(c.delays).max(initial=0)) if c.delays is not None else c.delay for c in conns),
                      default=0)
    n_g = int(math.ceil((h.shape[-1] * dt_h + TAIL_TAUS * tau_max) / dt))   # steps of G
    n_steps = n_g + n_delay
    m = int(round(interval / dt))
    n_samples = n_steps // m + 2
    size = grid.build_size
    sources_used = sorted({c.source for c in conns}, key=names.index)
    H = np.zeros((len(sources_used),) + grid.size + (n_samples,))
    keep = _crop(grid)
    pos = network.connectome.positions
    nt = sfft.next_fast_len(n_steps)
    for xi, X in enumerate(sources_used):
        acc = None
        for c in (c for c in conns if c.source == X):
            model = spec.populations[c.target].model
            q = offset_delay_weights(grid, c, pos[X], pos[c.target], n_delay)
            tau = taus[c.target][0 if q.sum() >= 0 else 1]  # by the sign of the (sampled) mean weight
            q = q.reshape(size + (n_delay,))
            G = responses(h[targets.index(c.target), sources.index(X)], model, tau, dt, dt_h, n_g)  # (r, i)
            g = (W @ G).reshape(size + (n_g,))
            term = sfft.rfftn(g, s=size + (nt,)) * sfft.rfftn(q, s=size + (nt,))
            acc = term if acc is None else acc + term
        fine = sfft.irfftn(acc, s=size + (nt,))[..., :n_steps]
        H[xi] = _to_samples(fine[keep[0]][:, keep[1]], m, n_samples)
    return sources_used, H


def _crop(grid: Grid):
    """Indices into the build grid of the kernel grid's offsets, per axis."""
    if grid.periodic:
        return np.arange(grid.n[0]), np.arange(grid.n[1])
    return tuple(np.r_[0:n, 3 * n:4 * n] for n in grid.n)


def _to_samples(fine: np.ndarray, m: int, n_samples: int) -> np.ndarray:
    """H[..., l] = sum_j tri(j) fine[..., l m + j], tri(j) = (m - |j|) / m^2 (see docstring)."""
    pad = np.zeros(fine.shape[:-1] + (n_samples * m + m,))
    pad[..., m - 1:m - 1 + fine.shape[-1]] = fine[..., :n_samples * m + 1]
    out = np.zeros(fine.shape[:-1] + (n_samples,))
    for j in range(-(m - 1), m):
        out += (m - abs(j)) / m ** 2 * pad[..., m - 1 + j::m][..., :n_samples]
    return out
