"""Distance-dependent rules visit only the targets in cells near each source
(``rules.cell_grid``): the network must be the one a scan of every (source, target) pair
draws. Checked against a brute-force NumPy reference of that scan: with p = 1 inside the
mask every candidate becomes a synapse, so a candidate the cells dropped or visited twice
shows as a missing or repeated target; with a profile, the draws (uniform (row, col, 0)
< p(r)) must pick the same pairs."""
import numpy as np
import pytest

from sim_core.connectivity import rules, xp_build
from sim_core.random import philox_xp as px
from sim_core.spec.model import CircularMask, ExponentialP, GaussianP, Mask, PairwiseBernoulli

SEED, STREAM = 5, 17


def _brute_force(rule, pos_s, pos_t, sheet, excl):
    """CSR of the full scan: pair (r, c) within the mask (no autapse when ``excl``), kept
    when uniform (r, c, 0) < p(r), with the kernel's arithmetic."""
    ex, ey, periodic = sheet
    kind, pc, width, radius = rules.spatial_profile(rule)
    dx = np.abs(pos_t[None, :, 0] - pos_s[:, None, 0])
    dy = np.abs(pos_t[None, :, 1] - pos_s[:, None, 1])
    if periodic:
        dx, dy = np.minimum(dx, ex - dx), np.minimum(dy, ey - dy)
    r = np.sqrt(dx * dx + dy * dy)
    cand = ~(r > radius)
    if excl:
        np.fill_diagonal(cand, False)
    ri, ci = np.nonzero(cand)
    rr = r[ri, ci]
    p = pc * px.exp(np, -rr * rr / (2.0 * width * width)) if kind == 1 else pc * px.exp(np, -rr / width)
    u, _ = px.uniform2(np, SEED, STREAM, ri.astype(np.int64), ci.astype(np.int64), 0)
    keep = u < p
    indptr = np.zeros(len(pos_s) + 1, np.int64)
    np.cumsum(np.bincount(ri[keep], minlength=len(pos_s)), out=indptr[1:])
    return indptr, ci[keep].astype(np.int32), int(cand.sum())


def _layer(kind, n, ex, ey, rng):
    if kind == "grid":
        cols = rows = int(round(np.sqrt(n)))
        i = np.arange(cols * rows)
        return np.column_stack([-ex / 2 + (i // rows + 0.5) * ex / cols, ey / 2 - (i % rows + 0.5) * ey / rows])
    pos = np.column_stack([rng.uniform(-ex / 2, ex / 2, n), rng.uniform(-ey / 2, ey / 2, n)])
    # on the edges and in the corners, where a cell index is clamped or wraps
    pos[:6] = [[ex / 2, 0.0], [-ex / 2, ey / 4], [0.0, ey / 2], [ex / 2, ey / 2], [-ex / 2, -ey / 2],
               [np.nextafter(ex / 2, 0.0), -ey / 2]]
    return pos


def _rule(p, radius, autapses=False):
    return PairwiseBernoulli(p=p, mask=Mask(CircularMask(radius)), allow_autapses=autapses)


CASES = [  # (layer, extent x, extent y, periodic, mask radius)
    ("random", 1.0, 1.0, True, 0.03),    # tiny mask: many cells, wrap at every edge
    ("random", 1.0, 1.0, False, 0.03),
    ("random", 2.0, 0.5, True, 0.11),    # unequal axes: y visited whole, x in cells
    ("random", 1.0, 1.0, True, 0.5),     # mask reaching half the sheet: every cell
    ("grid", 1.0, 1.0, True, 0.1),       # grid: distances exactly at the mask radius
    ("grid", 1.0, 1.0, False, 0.15),
]


@pytest.mark.parametrize("layer,ex,ey,periodic,radius", CASES)
def test_cells_visit_every_candidate_once(layer, ex, ey, periodic, radius):
    rng = np.random.default_rng(4)
    pos = _layer(layer, 900, ex, ey, rng)
    rule, sheet = _rule(1.0, radius), (ex, ey, periodic)
    want_ptr, want, n_cand = _brute_force(rule, pos, pos, sheet, excl=True)
    assert len(want) == n_cand > 0  # p = 1: every candidate is a synapse
    for got_ptr, got in (rules.connect(rule, len(pos), len(pos), True, SEED, STREAM, pos, pos, sheet),
                         xp_build.connect(np, rule, len(pos), len(pos), True, SEED, STREAM, pos, pos, sheet)):
        assert np.array_equal(got_ptr, want_ptr)
        assert np.array_equal(got, want)


@pytest.mark.parametrize("layer,ex,ey,periodic,radius", CASES)
@pytest.mark.parametrize("profile", [ExponentialP(0.9, 0.05), GaussianP(1.0, 0.04)])
def test_cells_draw_the_full_scan_network(layer, ex, ey, periodic, radius, profile):
    rng = np.random.default_rng(9)
    pos_s, pos_t = _layer(layer, 400, ex, ey, rng), _layer(layer, 900, ex, ey, rng)
    rule, sheet = _rule(profile, radius, autapses=True), (ex, ey, periodic)
    want_ptr, want, _ = _brute_force(rule, pos_s, pos_t, sheet, excl=False)
    assert len(want) > 0
    for got_ptr, got in (rules.connect(rule, len(pos_s), len(pos_t), False, SEED, STREAM, pos_s, pos_t, sheet),
                         xp_build.connect(np, rule, len(pos_s), len(pos_t), False, SEED, STREAM, pos_s, pos_t, sheet)):
        assert np.array_equal(got_ptr, want_ptr)
        assert np.array_equal(got, want)


def test_cells_small_chunks(monkeypatch):
    """Rows drawn in many chunks (each bounded by its candidates) give the same network."""
    rng = np.random.default_rng(2)
    pos = _layer("random", 900, 1.0, 1.0, rng)
    rule, sheet = _rule(ExponentialP(1.0, 0.1), 0.2), (1.0, 1.0, True)
    want_ptr, want, _ = _brute_force(rule, pos, pos, sheet, excl=True)
    monkeypatch.setattr(rules, "SPATIAL_CHUNK", 500)
    monkeypatch.setattr(xp_build, "BATCH", 3000)
    for got_ptr, got in (rules.connect(rule, len(pos), len(pos), True, SEED, STREAM, pos, pos, sheet),
                         xp_build.connect(np, rule, len(pos), len(pos), True, SEED, STREAM, pos, pos, sheet)):
        assert np.array_equal(got_ptr, want_ptr)
        assert np.array_equal(got, want)


def test_cell_grid_uses_cells_for_a_small_mask():
    """The cell lists are in use for a mask small against the sheet (otherwise the tests
    above would only check the full scan)."""
    nx, ny, wx, wy, rx, ry, ax, ay = rules.cell_grid(1.0, 1.0, True, 0.03, 900)
    assert not ax and not ay and nx == ny == 30 and rx == ry >= 1
    assert rules.cell_grid(1.0, 1.0, True, 0.5, 900)[6:] == (True, True)
    assert rules.cell_grid(1.0, 1.0, True, 0.03, 900, (False, True))[6:] == (True, False)
