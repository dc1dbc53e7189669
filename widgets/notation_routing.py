"""Edge geometry of the network diagram: Bézier curves around nodes, loops, clipping to the
outlines and the arrowheads (the annotations are placed by ``notation_labels``).

Part of ``widgets.notation``. Coordinates are SVG user units.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .notation_nodes import Node

# ------------------------------------------------------------------ curves
#: Parameters at which a whole curve is sampled (loop crowding, the extent of the drawing).
CURVE_T = np.linspace(0.0, 1.0, 49)


def _points_on(curves: np.ndarray, t) -> np.ndarray:
    """Points (m, c, 2) of the cubic Béziers ``curves`` (c, 4, 2) at the m parameters ``t``."""
    t = np.atleast_1d(np.asarray(t, float))[:, None, None]
    u = 1.0 - t
    return (u ** 3 * curves[:, 0] + 3 * u * u * t * curves[:, 1]
            + 3 * u * t * t * curves[:, 2] + t ** 3 * curves[:, 3])


def bezier(P: np.ndarray, t) -> np.ndarray:
    """Points (m, 2) of one cubic Bézier P (4, 2)."""
    return _points_on(P[None], t)[:, 0]


def _tangent(P: np.ndarray, t: float) -> np.ndarray:
    u = 1.0 - t
    d = 3 * u * u * (P[1] - P[0]) + 6 * u * t * (P[2] - P[1]) + 3 * t * t * (P[3] - P[2])
    n = math.hypot(*d)
    return d / n if n else np.array([1.0, 0.0])


def _split(P: np.ndarray, t: float):
    a, b, c = P[:-1] + t * (P[1:] - P[:-1])
    d, e = a + t * (b - a), b + t * (c - b)
    f = d + t * (e - d)
    return np.array([P[0], a, d, f]), np.array([f, e, c, P[3]])


def _segment(P: np.ndarray, t0: float, t1: float) -> np.ndarray:
    right = _split(P, t0)[1]
    return _split(right, (t1 - t0) / (1.0 - t0))[0] if t1 < 1.0 else right


def _crossing(P, node: Node, lo: float, hi: float) -> float:
    """First parameter in [lo, hi] where the curve crosses the outline of ``node``."""
    ts = np.linspace(lo, hi, 33)
    inside = node.contains(bezier(P, ts))
    change = np.nonzero(inside != inside[0])[0]
    if not len(change):
        return hi
    a, b = ts[change[0] - 1], ts[change[0]]
    for _ in range(8):
        mid = 0.5 * (a + b)
        if node.contains(bezier(P, mid))[0] == inside[0]:
            a = mid
        else:
            b = mid
    return 0.5 * (a + b)


def _at_distance(P, end, dist: float) -> float:
    """Largest t whose point lies ``dist`` before the end point (the arrowhead's base)."""
    ts = np.linspace(0.0, 1.0, 65)
    far = np.nonzero(np.hypot(*(bezier(P, ts) - end).T) > dist)[0]
    if not len(far):
        return 0.0
    a, b = ts[far[-1]], ts[min(far[-1] + 1, 64)]
    for _ in range(8):
        mid = 0.5 * (a + b)
        if math.dist(bezier(P, mid)[0], end) > dist:
            a = mid
        else:
            b = mid
    return a


# ------------------------------------------------------------------ routing
@dataclass
class Edge:
    source: str
    target: str
    kind: str                  # probabilistic | deterministic | recording
    sign: str                  # excitatory | inhibitory (recording: 'recording')
    index: int | None = None   # in spec.projections
    title: str = ""
    lines: list = field(default_factory=list)
    curve: np.ndarray | None = None      # full centre-to-centre cubic
    line: np.ndarray | None = None       # trimmed to the outlines and the arrowhead
    tip: np.ndarray | None = None
    direction: np.ndarray | None = None  # unit tangent at the tip
    members: tuple = ()        # compact form: the projections this arrow stands for
    relation: str = ""         # compact form: 'within' | 'between' (clusters), or ''


class _Obstacles:
    """Nodes as discs, for testing many candidate curves at once."""

    MARGIN = 8.0

    def __init__(self, nodes: dict[str, Node]):
        self.index = {name: k for k, name in enumerate(nodes)}
        self.centres = np.array([(n.x, n.y) for n in nodes.values()])
        self.radii = np.array([n.clearance for n in nodes.values()]) + self.MARGIN

    def hits(self, curves: np.ndarray, skip: tuple[str, ...]) -> np.ndarray:
        """Number of nodes, other than ``skip``, each of the cubics (c, 4, 2) runs into."""
        pts = _points_on(curves, np.linspace(0.04, 0.96, 24))
        d2 = ((pts[:, :, None, 0] - self.centres[:, 0]) ** 2
              + (pts[:, :, None, 1] - self.centres[:, 1]) ** 2)
        blocked = (d2 < self.radii ** 2).any(axis=0)                          # (c, nodes)
        blocked[:, [self.index[name] for name in skip]] = False
        return blocked.sum(axis=1)


def route(edges: list[Edge], nodes: dict[str, Node]):
    """Curves for all edges: straight where clear, offset around nodes in the way,
    parallel edges of one pair fanned out, self-projections as loops."""
    obstacles = _Obstacles(nodes)
    order = obstacles.index
    xy = np.array([(n.x, n.y) for n in nodes.values() if n.kind in ("excitatory", "inhibitory")])
    centroid = xy.mean(axis=0)
    pairs: dict[tuple[str, str], list[Edge]] = {}
    for e in edges:
        if e.source != e.target:
            key = tuple(sorted((e.source, e.target), key=order.get))
            pairs.setdefault(key, []).append(e)
    spacing = 56.0
    reach = 19 if len(edges) <= 300 else 7  # offsets tried, in steps of 20 (hairballs: fewer)
    for (a, b), group in pairs.items():
        pa, pb = np.array([nodes[a].x, nodes[a].y]), np.array([nodes[b].x, nodes[b].y])
        chord = pb - pa
        normal = np.array([-chord[1], chord[0]]) / (math.hypot(*chord) or 1.0)
        # bulge away from the middle of the picture when there is a choice
        outward = 1.0 if np.dot(0.5 * (pa + pb) - centroid, normal) >= 0 else -1.0
        group.sort(key=lambda e: e.source != a)
        used: list[float] = []
        for j, e in enumerate(group):
            ideal = (j - (len(group) - 1) / 2) * spacing
            prefer = math.copysign(1.0, ideal) if ideal else outward
            steps = [0.0] + [s * k * 20.0 for k in range(1, reach) for s in (prefer, -prefer)]
            offsets = ideal + np.array(steps)
            src = np.array([nodes[e.source].x, nodes[e.source].y])
            tgt = np.array([nodes[e.target].x, nodes[e.target].y])
            ctrl = 0.5 * (src + tgt) + offsets[:, None] * normal
            curves = np.stack([np.broadcast_to(src, ctrl.shape), src + 2 / 3 * (ctrl - src),
                               tgt + 2 / 3 * (ctrl - tgt), np.broadcast_to(tgt, ctrl.shape)], axis=1)
            hits = obstacles.hits(curves, (e.source, e.target)).astype(float)
            for u in used:  # keep parallel edges apart
                hits[np.abs(offsets - u) < 0.9 * spacing] = np.inf
            k = int(np.argmin(hits))  # the first of the best, in order of preference
            e.curve = curves[k].copy()
            used.append(float(offsets[k]))
            _trim(e, nodes)
    # loops after the other edges, on the freest side of their node
    loops: dict[str, list[Edge]] = {}
    for e in edges:
        if e.source == e.target:
            loops.setdefault(e.source, []).append(e)
    drawn = np.concatenate([np.zeros((0, 2))] + [bezier(e.line, CURVE_T) for e in edges if e.line is not None])
    for name, group in loops.items():
        node = nodes[name]
        c = np.array([node.x, node.y])
        taken = [math.atan2(*(e.tip - c)[::-1]) if e.target == name else
                 math.atan2(*(e.line[0] - c)[::-1])
                 for e in edges if e.line is not None and name in (e.source, e.target)]
        away = math.atan2(*(c - centroid)[::-1]) if np.any(c != centroid) else -math.pi / 2
        angles = away + np.arange(24) * math.pi / 12
        size = (node.extent + 36.0) / 0.6  # the loop's far point (0.6 size) clears the node by 36
        curves = np.stack([np.broadcast_to(c, (24, 2)),
                           c + size * np.stack([np.cos(angles - 0.6), np.sin(angles - 0.6)], axis=1),
                           c + size * np.stack([np.cos(angles + 0.6), np.sin(angles + 0.6)], axis=1),
                           np.broadcast_to(c, (24, 2))], axis=1)
        # nodes in the way are worst, then other lines close by; room to the nearest
        # attached edge is good (up to ~90 degrees), a loop on top of another is bad
        base = (10.0 * obstacles.hits(curves, (name,)) + 0.1 * _crowding(curves, c, size, drawn)
                - np.array([min([_angle_between(a, t) for t in taken], default=math.pi) for a in angles]
                           ).clip(max=1.5)
                + 0.01 * np.minimum(np.arange(24), 24 - np.arange(24)))
        placed: list[float] = []
        for e in group:
            overlap = np.array([any(_angle_between(a, t) < 1.25 for t in placed) for a in angles])
            k = int(np.argmin(base + 5.0 * overlap))
            e.curve = curves[k].copy()
            placed.append(float(angles[k]))
            _trim(e, nodes)


def _crowding(curves: np.ndarray, centre, size: float, drawn: np.ndarray) -> np.ndarray:
    """How many points of the lines ``drawn`` (points (k, 2)) pass within 8 units of each
    candidate loop."""
    near = drawn[np.hypot(*(drawn - centre).T) < size]
    near = near[::max(1, len(near) // 600)]  # a hairball's count needs no precision
    if not len(near):
        return np.zeros(len(curves))
    pts = _points_on(curves, np.linspace(0.1, 0.9, 17))
    d2 = (pts[:, :, None, 0] - near[:, 0]) ** 2 + (pts[:, :, None, 1] - near[:, 1]) ** 2
    return (d2 < 64.0).any(axis=0).sum(axis=1)


def _angle_between(a: float, b: float) -> float:
    return abs((a - b + math.pi) % (2 * math.pi) - math.pi)


def _trim(e: Edge, nodes: dict[str, Node]):
    P = e.curve
    src, tgt = nodes[e.source], nodes[e.target]
    t0 = _crossing(P, src, 0.0, 0.5)
    t1 = _crossing(P, tgt, 0.5, 1.0)
    e.tip = bezier(P, t1)[0]
    e.direction = _tangent(P, t1)
    head = 4.5 if e.sign == "inhibitory" else (9.0 if e.kind == "recording" else 11.0)
    t_end = _at_distance(P, e.tip, head)
    e.line = _segment(P, t0, max(t_end, t0 + 1e-3))
