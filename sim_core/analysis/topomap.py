"""How topographic a feed-forward projection between two grids is (pure NumPy).

Positions are in grid units (the grid's spacing is 1) on a periodic sheet of ``shape``
(columns, rows). Per target neuron, the receptive-field centre is the weight-weighted
periodic mean of its sources' positions (the circular mean along each axis);

- ``rf_error``: the mean distance of these centres from the neurons' own positions;
- ``rf_spread``: the mean over neurons of the weighted mean distance of a neuron's sources
  from its centre;

both in grid units (a perfect map: error 0; the initial Gaussian profile of sigma 2.5: a
spread of about sigma * sqrt(pi / 2) = 3.1). ``profile`` gives the connection probability and
the mean weight against the displacement (dx, dy) from source to target.
"""
from __future__ import annotations

import numpy as np


def grid_positions(shape: tuple[int, int]) -> np.ndarray:
    """Positions of a grid's neurons in grid units in NEST's order (as the engine places
    them, ``connectivity.positions``): neuron n in column n // rows, row n % rows."""
    cols, rows = int(shape[0]), int(shape[1])
    n = np.arange(cols * rows)
    return np.column_stack([n // rows, n % rows]).astype(np.float64)


def periodic_delta(a: np.ndarray, b: np.ndarray, shape) -> np.ndarray:
    """b - a on the torus, each component in (-L/2, L/2]."""
    L = np.asarray(shape, np.float64)
    d = np.asarray(b, np.float64) - np.asarray(a, np.float64)
    return d - L * np.ceil(d / L - 0.5)


def rf_centres(sources: np.ndarray, targets: np.ndarray, weights: np.ndarray, src_pos: np.ndarray,
               n_targets: int, shape) -> tuple[np.ndarray, np.ndarray]:
    """(centre [n_targets, 2], total weight per target): the weight-weighted circular mean
    of each target's sources' positions; NaN where a target has no weight."""
    L = np.asarray(shape, np.float64)
    ang = 2.0 * np.pi * src_pos[sources] / L
    w = np.asarray(weights, np.float64)
    total = np.bincount(targets, w, minlength=n_targets)
    centre = np.full((n_targets, 2), np.nan)
    for axis in range(2):
        c = np.bincount(targets, w * np.cos(ang[:, axis]), minlength=n_targets)
        s = np.bincount(targets, w * np.sin(ang[:, axis]), minlength=n_targets)
        centre[:, axis] = np.mod(np.arctan2(s, c), 2.0 * np.pi) * L[axis] / (2.0 * np.pi)
    centre[total <= 0] = np.nan
    return centre, total


def rf_quality(sources, targets, weights, src_pos, tgt_pos, shape) -> dict[str, float]:
    """{'rf_error', 'rf_spread'} (grid units) of a projection's synapses (see the module)."""
    n = tgt_pos.shape[0]
    centre, total = rf_centres(sources, targets, weights, src_pos, n, shape)
    ok = total > 0
    if not ok.any():
        return {"rf_error": float("nan"), "rf_spread": float("nan")}
    err = np.linalg.norm(periodic_delta(tgt_pos[ok], centre[ok], shape), axis=1)
    dist = np.linalg.norm(periodic_delta(centre[targets], src_pos[sources], shape), axis=1)
    w = np.asarray(weights, np.float64)
    spread = np.bincount(targets, w * dist, minlength=n)[ok] / total[ok]
    return {"rf_error": float(err.mean()), "rf_spread": float(spread.mean())}


def profile(sources, targets, weights, src_pos, tgt_pos, shape) -> dict[str, np.ndarray]:
    """Connection probability and mean weight against the displacement (dx, dy) from
    source to target, on the grid's displacements (-L/2, L/2]: ``dx``, ``dy`` (1-D axes),
    ``p`` and ``w`` [len(dy), len(dx)] (w NaN where no synapse has that displacement).
    The probability counts synapses over the source-target pairs at each displacement."""
    cols, rows = int(shape[0]), int(shape[1])
    dx_axis = np.arange(-((cols - 1) // 2), cols // 2 + 1)
    dy_axis = np.arange(-((rows - 1) // 2), rows // 2 + 1)
    d = np.rint(periodic_delta(src_pos[sources], tgt_pos[targets], shape)).astype(np.int64)
    ix, iy = d[:, 0] - dx_axis[0], d[:, 1] - dy_axis[0]
    count = np.zeros((len(dy_axis), len(dx_axis)))
    wsum = np.zeros_like(count)
    np.add.at(count, (iy, ix), 1.0)
    np.add.at(wsum, (iy, ix), np.asarray(weights, np.float64))
    # pairs per displacement: every target has one source at each displacement (equal grids)
    pairs = np.zeros_like(count)
    dp = np.rint(periodic_delta(src_pos[:, None, :], tgt_pos[None, :, :], shape)).astype(np.int64) \
        if src_pos.shape[0] * tgt_pos.shape[0] <= 4_000_000 else None
    if dp is not None:
        np.add.at(pairs, (dp[..., 1].ravel() - dy_axis[0], dp[..., 0].ravel() - dx_axis[0]), 1.0)
    else:  # large grids of one shape: each displacement has one pair per target
        pairs[:] = tgt_pos.shape[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        return {"dx": dx_axis, "dy": dy_axis, "p": np.where(pairs > 0, count / np.maximum(pairs, 1), 0.0),
                "w": np.where(count > 0, wsum / np.maximum(count, 1), np.nan)}


def grid_units(pos: np.ndarray, extent, shape) -> np.ndarray:
    """Engine positions (mm, centred on 0, ``connectivity.positions``) of a grid as grid
    units (column, row), the order ``grid_positions`` uses."""
    ex, ey = float(extent[0]), float(extent[1])
    cols, rows = int(shape[0]), int(shape[1])
    return np.column_stack([(pos[:, 0] + ex / 2) / (ex / cols) - 0.5, (ey / 2 - pos[:, 1]) / (ey / rows) - 0.5])


def map_projection(spec) -> int | None:
    """The projection whose map is measured: the first plastic one between two different grid
    populations of one shape (the feed-forward projection of ``topomap``), or None."""
    for i, p in enumerate(spec.projections):
        src, tgt = spec.populations.get(p.source), spec.populations.get(p.target)
        if (src is None or p.source == p.target or p.synapse.model == "static_synapse"
                or src.positions is None or tgt.positions is None):
            continue
        if src.positions.kind == tgt.positions.kind == "grid" and tuple(src.positions.shape) == tuple(tgt.positions.shape):
            return i
    return None


def map_over_time(record, q: int, src_pos: np.ndarray, tgt_pos: np.ndarray, shape) -> dict[str, list]:
    """``times_ms``, ``rf_spread``, ``rf_error`` at every weight snapshot of projection q
    (``engine.weights.WeightRecord``; positions in grid units)."""
    a = record.arrays(q)
    out = {"times_ms": [], "rf_spread": [], "rf_error": []}
    for k, t in enumerate(a["times"]):
        w = a["weight"][k]
        tgt = a["target"][k] if a["target"].ndim == 2 else a["target"]
        keep = (tgt >= 0) & np.isfinite(w)
        m = rf_quality(a["source"][keep], tgt[keep], w[keep], src_pos, tgt_pos, shape)
        out["times_ms"].append(float(t))
        out["rf_spread"].append(round(m["rf_spread"], 4))
        out["rf_error"].append(round(m["rf_error"], 4))
    return out
