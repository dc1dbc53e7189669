"""Nodes of the network diagram: their shapes in the notation, label room and bounding boxes.

Part of ``widgets.notation``. A ``Node`` holds the geometry that routing (``contains``,
``clearance``) and the markup (``outlines``, ``label_y``) share.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from sim_core.spec.model import NetworkSpec

from .notation_terms import CHAR_EM, population_kinds, recorder_nodes

# node geometry (user units): outer/inner circumradius of the double frame
TRIANGLE_R, TRIANGLE_R_IN = 46.0, 39.0
CIRCLE_R, CIRCLE_R_IN = 34.0, 29.5
HEXAGON_R = 30.0
PARALLELOGRAM_W, PARALLELOGRAM_H, PARALLELOGRAM_SKEW = 88.0, 40.0, 12.0
STACK_DX = 5.0   # offset of each copy behind a group's node (up and to the right)


def regular_polygon(cx, cy, r, n, phase_deg):
    """Vertices (n, 2) of the regular n-gon of circumradius ``r`` around (cx, cy)."""
    a = np.radians(phase_deg + 360.0 * np.arange(n) / n)
    return np.stack([cx + r * np.cos(a), cy + r * np.sin(a)], axis=1)


@dataclass
class Node:
    name: str
    kind: str                    # excitatory | inhibitory | stimulus | recorder
    x: float
    y: float
    lines: tuple[str, str]       # label: name, detail
    title: str
    outlines: list = field(default_factory=list)   # outer first; arrays (k, 2) or radius
    extent: float = 0.0          # circumradius of the outer outline
    clearance: float = 0.0       # radius of the disc that stands for the node in routing
    label_font: float = 12.0
    label_y: tuple = (0.0, 0.0)  # baselines of name and detail, relative to the centre
    area: tuple = ()             # bounding box of shape and label
    stack: int = 0               # copies drawn behind: a group of populations (compact form)
    index: str = ""              # subscript of the name: the group's index (compact form)
    shadows: list = field(default_factory=list)    # the copies' outlines, back first

    def __post_init__(self):
        x, y = self.x, self.y
        if self.kind == "excitatory":   # apex up, centroid at (x, y)
            self.outlines = [regular_polygon(x, y, TRIANGLE_R, 3, -90), regular_polygon(x, y, TRIANGLE_R_IN, 3, -90)]
            self.extent = self.clearance = TRIANGLE_R
        elif self.kind == "inhibitory":
            self.outlines = [CIRCLE_R, CIRCLE_R_IN]
            self.extent = self.clearance = CIRCLE_R
        elif self.kind == "stimulus":
            self.outlines = [regular_polygon(x, y, HEXAGON_R, 6, 0)]
            self.extent = self.clearance = HEXAGON_R
        else:
            w, h, s = PARALLELOGRAM_W / 2, PARALLELOGRAM_H / 2, PARALLELOGRAM_SKEW / 2
            self.outlines = [np.array([[x - w + s, y - h], [x + w + s, y - h],
                                       [x + w - s, y + h], [x - w - s, y + h]])]
            self.extent, self.clearance = math.hypot(w + s, h), w

        # the label goes inside the shape where the name fits, else below it
        self.label_font = 12.0 if self.kind in ("excitatory", "inhibitory") else 10.5
        room = {"excitatory": 40, "inhibitory": 50, "stimulus": 52, "recorder": 70}[self.kind]
        self.label_y = {"excitatory": (3, 17), "inhibitory": (-1, 13),
                        "stimulus": (-1, 11), "recorder": (-2, 11)}[self.kind]
        width = max(len(self.lines[0]) * 1.05, len(self.lines[1])) * CHAR_EM * self.label_font
        if len(self.lines[0]) * CHAR_EM * self.label_font * 1.05 > room:
            below = self.box()[3] - self.y + self.label_font + 2
            self.label_y = (below, below + self.label_font)
        x0, y0, x1, y1 = self.box()
        self.area = (min(x0, self.x - width / 2), y0, max(x1, self.x + width / 2),
                     max(y1, self.y + self.label_y[1] + 3))
        for k in range(self.stack, 0, -1):
            d = np.array([k * STACK_DX, -k * STACK_DX])
            outer = self.outlines[0]
            self.shadows.append(outer + d if isinstance(outer, np.ndarray) else (outer, *d))
        if self.stack:
            a = self.area
            self.area = (a[0], a[1] - self.stack * STACK_DX, a[2] + self.stack * STACK_DX, a[3])

    def contains(self, pts: np.ndarray, margin: float = 0.0) -> np.ndarray:
        """Which of the points (m, 2) lie inside the outer outline grown by ``margin``."""
        outer = self.outlines[0]
        if not isinstance(outer, np.ndarray):
            return np.hypot(pts[:, 0] - self.x, pts[:, 1] - self.y) <= outer + margin
        inside = np.ones(len(pts), bool)
        for a, b in zip(outer, np.roll(outer, -1, axis=0)):   # clockwise on screen (y down)
            e = b - a
            cross = e[0] * (pts[:, 1] - a[1]) - e[1] * (pts[:, 0] - a[0])
            inside &= cross >= -margin * math.hypot(*e)
        return inside

    def box(self) -> tuple[float, float, float, float]:
        outer = self.outlines[0]
        if isinstance(outer, np.ndarray):
            return (*outer.min(axis=0), *outer.max(axis=0))
        return (self.x - outer, self.y - outer, self.x + outer, self.y + outer)


def _param_text(value) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(f"{v:g}" for v in value[:4]) + (", ...]" if len(value) > 4 else "]")
    if value is None or isinstance(value, bool):
        return str(value)
    return f"{value:g}"


def build_nodes(spec: NetworkSpec, pos: Mapping[str, tuple[float, float]]) -> dict[str, Node]:
    kinds = population_kinds(spec)
    nodes = {}
    for name, pop in spec.populations.items():
        where = ""
        if pop.positions is not None:
            ext = " × ".join(f"{e:g}" for e in pop.positions.extent)
            where = f", {pop.positions.kind} positions on {ext} mm"
        title = f"{name}: {pop.size} × {pop.model} ({kinds[name]}){where}"
        nodes[name] = Node(name, kinds[name], *pos[name], (name, f"N={pop.size}"), title)
    for name, device in spec.inputs.items():
        params = ", ".join(f"{k}={_param_text(v)}" for k, v in device.params.items())
        short = device.model.replace("_generator", "")
        nodes[name] = Node(name, "stimulus", *pos[name], (name, short),
                           f"{name}: {device.model}" + (f" ({params})" if params else ""))
    for name, (kind, pops) in recorder_nodes(spec).items():
        if kind == "spikes":
            detail = "all" if spec.recorders.spikes == "all" else f"{len(pops)} pop."
            nodes[name] = Node(name, "recorder", *pos[name], ("spikes", detail),
                               f"{name}: spikes of {', '.join(pops)}")
        else:
            vm = spec.recorders.voltmeter
            nodes[name] = Node(name, "recorder", *pos[name], ("V_m", f"n={vm.n}"),
                               f"{name}: V_m of {vm.n} neuron(s) per population every "
                               f"{vm.interval:g} ms in {', '.join(pops)}")
    return nodes
