"""Where the LFP is computed: the sheet cut into square bins, and the electrodes on them.

Spikes are counted per bin, so the kernels are tabulated per offset between bins. A bin is
``pitch / k`` wide with k the smallest odd number that makes it at most ``MAX_BIN_MM``
(0.4 mm pitch: k = 3, 0.133 mm), then stretched so that a whole number of bins covers the
sheet; k odd puts bin centres on the electrode grid when that grid is centred on the sheet
with an even number of electrodes (the paper's 10 x 10 on 4 mm: exactly). Electrodes sit at
the centre of the bin they fall in (their reported positions are those centres).

Why 0.15 mm: the FFT over (x, y, t) costs in proportion to the bins; 0.08 mm bins (k = 5)
cost 2.8 times the 0.133 mm ones for a kernel that the binning already smooths over a bin
(the kernels average over where in its bin a spike comes from: ``kernels``).

A periodic sheet wraps: offsets are taken modulo the sheet (``size`` = n bins per axis).
On a sheet that does not wrap, the offset grid is twice as large (2n per axis) and the
counts are zero-padded to it, so that the circular convolution of the FFT is a linear one.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

MAX_BIN_MM = 0.15


@dataclass(frozen=True)
class Grid:
    extent: tuple[float, float]   # mm
    periodic: bool
    n: tuple[int, int]            # bins per axis on the sheet
    width: tuple[float, float]    # mm per bin
    electrode_bins: np.ndarray    # (E, 2) bin indices (ix, iy)
    depth: float                  # mm (0 = cortical surface, negative below)
    shape: tuple[int, int]        # electrode grid (gx, gy)

    @property
    def size(self) -> tuple[int, int]:
        """Offsets per axis of the kernels and the FFT (n periodic, 2n otherwise)."""
        return self.n if self.periodic else (2 * self.n[0], 2 * self.n[1])

    @property
    def n_electrodes(self) -> int:
        return int(self.electrode_bins.shape[0])

    def positions(self) -> np.ndarray:
        """(E, 3) electrode positions in mm: bin centres and the depth."""
        out = np.empty((self.n_electrodes, 3))
        for a in range(2):
            out[:, a] = (self.electrode_bins[:, a] + 0.5) * self.width[a] - self.extent[a] / 2.0
        out[:, 2] = self.depth
        return out

    def bins_of(self, pos: np.ndarray) -> np.ndarray:
        """Flat bin index (ix * ny + iy) of each position (N, 2+) mm; positions on or past
        an edge go to the edge's bin."""
        idx = []
        for a in range(2):
            k = np.floor((pos[:, a] + self.extent[a] / 2.0) / self.width[a])
            idx.append(np.clip(k, 0, self.n[a] - 1).astype(np.int64))
        return idx[0] * self.n[1] + idx[1]

    @property
    def build_size(self) -> tuple[int, int]:
        """Offsets per axis while the kernels are built: on a sheet that does not wrap,
        4n, so that kernel (+-n) minus connection offsets (+-n) do not wrap around."""
        return self.n if self.periodic else (4 * self.n[0], 4 * self.n[1])

    def offsets_mm(self, size=None) -> tuple[np.ndarray, np.ndarray]:
        """Offset (mm) of each kernel index per axis (default ``size``): minimal images on
        a periodic sheet, -size/2 .. size/2 - 1 bins otherwise (index modulo the size)."""
        size = self.size if size is None else size
        out = []
        for a in range(2):
            m = size[a]
            k = np.arange(m)
            k = np.where(k < (m + 1) // 2, k, k - m)
            out.append(k * self.width[a])
        return out[0], out[1]

    def offset_index(self, v: np.ndarray, axis: int, size=None) -> np.ndarray:
        """Kernel index of offsets v (mm) along an axis (wrapped into the sheet if periodic)."""
        e, w, m = self.extent[axis], self.width[axis], (self.size if size is None else size)[axis]
        if self.periodic:
            v = v - e * np.round(v / e)
        return np.rint(v / w).astype(np.int64) % m


def make_grid(extent, periodic: bool, grid_shape, pitch: float, depth: float) -> Grid:
    k = 1
    while pitch / k > MAX_BIN_MM:
        k += 2
    n, width = [], []
    for e in extent:
        nb = max(1, int(round(e / (pitch / k))))
        n.append(nb)
        width.append(e / nb)
    bins = []
    gx, gy = (int(g) for g in grid_shape)
    for i in range(gx):
        for j in range(gy):
            x = (i - (gx - 1) / 2.0) * pitch
            y = (j - (gy - 1) / 2.0) * pitch
            bins.append([min(n[0] - 1, max(0, math.floor((x + extent[0] / 2.0) / width[0]))),
                         min(n[1] - 1, max(0, math.floor((y + extent[1] / 2.0) / width[1])))])
    return Grid((float(extent[0]), float(extent[1])), bool(periodic), (n[0], n[1]), (width[0], width[1]),
                np.asarray(bins, np.int64), float(depth), (gx, gy))


def grid_for(spec) -> Grid:
    """The grid of a spec with ``recorders.lfp`` (validation has checked: one sheet)."""
    lfp = spec.recorders.lfp
    sheet = next(p.positions for p in spec.populations.values() if p.positions is not None)
    el = lfp.electrodes
    return make_grid(tuple(sheet.extent), bool(sheet.periodic), el.grid, el.pitch, el.depth)
