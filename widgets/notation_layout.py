"""Node placement for the network diagram: populations in E/I rows or a grid, devices in side columns.

Part of ``widgets.notation``; ``default_layout`` is re-exported there.
"""
from __future__ import annotations

import math
import re

from sim_core.spec.model import NetworkSpec

from .notation_terms import as_spec, recorder_nodes

# layout spacing (user units)
PAIR_DX = 250.0      # excitatory -> inhibitory column of one group (microcircuit layer)
COLUMN_DX = 230.0
ROW_DY = 175.0
DEVICE_DX = 210.0    # inputs left of the populations, recorders right of them
DEVICE_GAP = 86.0    # minimum vertical distance between two devices in one column

_MARKER = re.compile(r"^(?P<head>.*?)(?P<mark>E|I|exc|inh|Exc|Inh|EXC|INH)(?P<tail>\d*)$")


def _spread(desired: list[float], gap: float) -> list[float]:
    """Positions as close as possible to ``desired`` (same order) at least ``gap`` apart."""
    order = sorted(range(len(desired)), key=lambda i: desired[i])
    blocks: list[list[int]] = []  # runs of touching items, each centred on its mean wish

    def start(block):
        return sum(desired[i] - k * gap for k, i in enumerate(block)) / len(block)

    for i in order:
        blocks.append([i])
        while len(blocks) > 1 and start(blocks[-2]) + len(blocks[-2]) * gap > start(blocks[-1]):
            last = blocks.pop()
            blocks[-1].extend(last)
    out = [0.0] * len(desired)
    for block in blocks:
        y0 = start(block)
        for k, i in enumerate(block):
            out[i] = y0 + k * gap
    return out


def _spacing(spec: NetworkSpec) -> float:
    """Stretch of the layout: a small but densely connected network needs room for its
    annotations (the microcircuit's 55 projections among 8 populations, stretched 1.9x, put
    23 of its 63 labels on another arrow, 33 at 1.5x; the clustered preset's compact form
    has 8 arrows between two groups)."""
    if len(spec.populations) > 12:
        return 1.0
    recurrent = sum(p.source in spec.populations for p in spec.projections)
    return 1.0 + 0.9 * min(1.0, max(0.0, recurrent / len(spec.populations) - 1.5) / 5)


def _population_grid(spec: NetworkSpec) -> dict[str, tuple[float, float]]:
    names = list(spec.populations)
    f = _spacing(spec)
    groups: dict[str, dict[str, str]] = {}
    paired = True
    for name in names:
        m = _MARKER.match(name)
        if m is None:
            paired = False
            break
        column = "I" if m["mark"][0] in "Ii" else "E"
        slot = groups.setdefault(m["head"] + "|" + m["tail"], {})
        if column in slot:
            paired = False
            break
        slot[column] = name
    if paired and (len(groups) < len(names) or len(names) <= 2):
        # E/I groups (layers, clusters): E left, I right; many groups wrap into blocks
        pair_dx, per_row = PAIR_DX * f, 1
        if len(groups) > 6:  # many clusters: side-by-side blocks, about 4:3 overall
            pair_dx = 0.6 * PAIR_DX
            per_row = min(range(1, len(groups) + 1), key=lambda q: abs(
                q * (pair_dx + COLUMN_DX) / (math.ceil(len(groups) / q) * ROW_DY) - 4 / 3))
        pos = {}
        for g, slot in enumerate(groups.values()):
            row, block = divmod(g, per_row)
            for column, name in slot.items():
                x = block * (pair_dx + COLUMN_DX * f) + (pair_dx if column == "I" else 0.0)
                pos[name] = (x, row * ROW_DY * f)
        return pos
    cols = max(1, math.ceil(math.sqrt(len(names))))
    return {name: ((k % cols) * COLUMN_DX * f, (k // cols) * ROW_DY * f) for k, name in enumerate(names)}


def default_layout(spec: NetworkSpec) -> dict[str, tuple[float, float]]:
    """Node centres (SVG user units) for every population, input and recorder of ``spec``.

    Populations named as excitatory/inhibitory groups (``L23E``/``L23I``, ``E0``/``I0``,
    ``E``/``I``) are drawn group by group in rows, E left and I right (more than six
    groups wrap into side-by-side blocks); other populations fill a square grid.
    Stimulating devices stand in a column on the left, each level with the mean of its
    targets; recorders in a column on the right.
    """
    spec = as_spec(spec)
    pos = _population_grid(spec)
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    centre_y = 0.5 * (min(ys) + max(ys))

    def column(names, targets_of, x):
        wishes = []
        for name in names:
            ty = [pos[t][1] for t in targets_of(name) if t in pos]
            wishes.append(sum(ty) / len(ty) if ty else centre_y)
        for name, y in zip(names, _spread(wishes, DEVICE_GAP)):
            pos[name] = (x, y)

    inputs = list(spec.inputs)
    column(inputs, lambda n: [p.target for p in spec.projections if p.source == n], min(xs) - DEVICE_DX)
    recorders = recorder_nodes(spec)
    column(list(recorders), lambda n: recorders[n][1], max(xs) + DEVICE_DX)
    return {name: (float(x), float(y)) for name, (x, y) in pos.items()}
