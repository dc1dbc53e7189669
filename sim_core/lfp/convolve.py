"""Spike counts on the LFP grid convolved with the kernels: FFT over (x, y, t), overlap-add.

counts[X, ix, iy, k]: spikes of source population X in bin (ix, iy) whose stamp falls in
sample bin k. The LFP at electrode e and sample j is

    sum_X sum_(b, k) H_X[e - b, j - k] counts[X, b, k]

(offsets modulo the kernel grid: ``geometry``). ``Convolver.block`` takes up to ``block``
sample bins at once, transforms counts and kernels over (x, y, t) with the time axis
padded to hold the block plus the kernel's length (a linear convolution in time), sums over
X in the frequency domain, and returns every electrode's contribution to the block's
samples and the kernel's length after it; the caller adds the overlapping tails. The
kernels' transforms are computed once. ``brute_force`` adds one kernel per spike: the
reference the FFT path equals to floating-point precision (tests/lfp).
"""
from __future__ import annotations

import numpy as np
from scipy import fft as sfft

from ..network.memory import LFP_KERNEL_BYTES as KERNEL_BYTES  # bounds the block length; counted there
from .geometry import Grid


class Convolver:
    """Full blocks use one long transform; a short block (a live view reading the last few
    samples) a shorter one, from a power of two up: the kernels' transforms are kept per
    length (measured on the 4 x 4 mm^2 mesocircuit's 30 x 30 bins: a read of a few samples
    cost 0.4 s with the full length, the one FFT length for all)."""

    def __init__(self, H: np.ndarray, grid: Grid, block: int = 1024):
        self.grid = grid
        self.H = H
        self.n_src, self.L = H.shape[0], H.shape[-1]
        per_t = 16 * self.n_src * grid.size[0] * grid.size[1] // 2
        block = max(32, min(int(block), KERNEL_BYTES // max(per_t, 1) - self.L))
        self.nt = sfft.next_fast_len(block + self.L - 1, real=True)
        self.block = self.nt - self.L + 1  # the whole padded length serves
        self._Hf = {}
        self._ex, self._ey = grid.electrode_bins[:, 0], grid.electrode_bins[:, 1]

    def _length(self, b: int) -> int:
        need = b + self.L - 1
        n = 1 << max(6, (need - 1).bit_length())
        return n if n < self.nt else self.nt

    def _kernels(self, nt: int) -> np.ndarray:
        if nt not in self._Hf:
            self._Hf[nt] = sfft.rfftn(self.H, s=self.grid.size + (nt,), axes=(1, 2, 3), workers=-1)
        return self._Hf[nt]

    def block_response(self, counts: np.ndarray) -> np.ndarray:
        """[E, b + L - 1]: the electrodes' contributions from counts[X, nx, ny, b], b <= block."""
        b = counts.shape[-1]
        if b > self.block:
            raise ValueError(f"a block of {b} sample bins; at most {self.block}")
        nt = self._length(b)
        Hf = self._kernels(nt)
        Cf = sfft.rfftn(counts, s=self.grid.size + (nt,), axes=(1, 2, 3), workers=-1)
        total = np.einsum("xijk,xijk->ijk", Cf, Hf) if self.n_src > 1 else Cf[0] * Hf[0]
        full = sfft.irfftn(total, s=self.grid.size + (nt,), workers=-1)
        return full[self._ex, self._ey, :b + self.L - 1]


def brute_force(H: np.ndarray, grid: Grid, src: np.ndarray, bins: np.ndarray, k: np.ndarray,
                n_samples: int) -> np.ndarray:
    """[E, n_samples]: one kernel per spike (source index, flat bin, sample bin)."""
    M = grid.size
    out = np.zeros((grid.n_electrodes, n_samples + H.shape[-1]))
    bx, by = bins // grid.n[1], bins % grid.n[1]
    for x, ix, iy, kk in zip(src, bx, by, k):
        cx = (grid.electrode_bins[:, 0] - ix) % M[0]
        cy = (grid.electrode_bins[:, 1] - iy) % M[1]
        out[:, kk:kk + H.shape[-1]] += H[x, cx, cy, :]
    return out[:, :n_samples]
