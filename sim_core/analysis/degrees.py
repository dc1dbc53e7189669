"""In- and out-degrees of one projection from its compressed rows (``indptr`` per source,
``targets`` per synapse): what the connection-rules lesson draws side by side."""
from __future__ import annotations

import numpy as np


def degrees(indptr: np.ndarray, targets: np.ndarray, n_targets: int) -> tuple[np.ndarray, np.ndarray]:
    """(out-degree of each source, in-degree of each target)."""
    indptr = np.asarray(indptr)
    return np.diff(indptr), np.bincount(np.asarray(targets), minlength=n_targets)


def histogram(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(degree, how many neurons have it) for every degree from 0 to the largest."""
    counts = np.bincount(np.asarray(values, dtype=np.int64))
    return np.arange(counts.size), counts
