"""Neuron positions of spatial populations on a sheet centred on (0, 0), in mm."""
from __future__ import annotations

import numpy as np

from ..random import streams
from ..spec.model import Population
from .values import draw_array
from ..spec.model import Uniform


def positions(pop: Population, pop_index: int, seed: int) -> np.ndarray | None:
    """(size, 2) array, or None for a non-spatial population. Grid order follows NEST:
    node n sits in column n // rows, row n % rows, rows counted from the top."""
    pos = pop.positions
    if pos is None:
        return None
    ex, ey = pos.extent
    if pos.kind == "grid":
        cols, rows = pos.shape
        n = np.arange(pop.size)
        x = -ex / 2 + (n // rows + 0.5) * ex / cols
        y = ey / 2 - (n % rows + 0.5) * ey / rows
        return np.column_stack([x, y])
    st = streams.stream(streams.POSITION, pop_index)
    x = draw_array(Uniform(-ex / 2, ex / 2), 2 * pop.size, seed, st, "")
    return x.reshape(pop.size, 2)
