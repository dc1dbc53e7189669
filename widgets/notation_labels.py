"""Placement of the projection annotations: next to their arrows, never on top of one
another or of a node.

Part of ``widgets.notation``. Label sizes are estimated from the text (``CHAR_EM`` per
character, 1.2 em per line): Chromium's Liberation Sans (Arial's metrics) came out
narrower than the estimate for every annotation of the presets, so boxes kept apart by
the estimate are apart on screen (``tests/ui/test_diagrams.py`` measures with getBBox).
"""
from __future__ import annotations

import math

import numpy as np

from .notation_nodes import Node
from .notation_routing import Edge, _tangent, bezier
from .notation_terms import ANNOTATION_PX, CHAR_EM

#: Free space kept between two annotations and between an annotation and a node (user units).
PAD = 2.0
#: Beyond this distance from its arrow an annotation gets a thin leader line to it.
LEADER_FROM = 26.0

_TS = (0.5, 0.44, 0.56, 0.38, 0.62, 0.32, 0.68, 0.26, 0.74, 0.2, 0.8, 0.14, 0.86)
_GAPS = (2.0, 8.0, 16.0, 28.0, 44.0, 64.0, 90.0)


def text_size(lines: list[list[tuple[str, str]]]) -> tuple[float, float]:
    """(width, height) of an annotation's box in user units."""
    longest = max(sum(len(t) for t, _ in line) for line in lines)
    return longest * CHAR_EM * ANNOTATION_PX + 4.0, len(lines) * 1.2 * ANNOTATION_PX + 2.0


def overlapping(a, b, pad: float = 0.0) -> bool:
    """Whether boxes (x0, y0, x1, y1) ``a`` and ``b`` overlap, or come closer than ``pad``."""
    return a[0] < b[2] + pad and b[0] < a[2] + pad and a[1] < b[3] + pad and b[1] < a[3] + pad


def place_annotations(edges: list[Edge], nodes: dict[str, Node]) -> dict[int, tuple]:
    """Box (x0, y0, x1, y1) of each annotated edge's text, by projection index.

    Greedy, short edges first (they have the least room): each label takes the cheapest
    of many candidate spots along its arrow, on both sides and at growing distances.
    Overlap with a label already placed or with a node is not a cost but excluded; where
    no candidate near the arrow is free, the search widens in rings around its middle
    (then a leader line joins label and arrow: ``leaders``). Other arrows under the text
    cost in proportion to how many they are: 46 of the microcircuit's 63 labels lay on
    another arrow when this was a small cost per sample point; the text's white halo
    keeps it readable where one still passes.
    """
    drawn = [e for e in edges if e.line is not None]
    todo = [k for k, e in enumerate(drawn) if e.index is not None and e.lines]
    if not todo:
        return {}
    node_boxes = np.array([n.area for n in nodes.values()]) + np.array([-PAD, -PAD, PAD, PAD])
    samples, owner = _samples(drawn)
    placed = np.zeros((0, 4))
    out = {}
    for k in sorted(todo, key=lambda k: _length(drawn[k].line)):
        e = drawn[k]
        w, h = text_size(e.lines)
        boxes, base = _candidates(e, w, h)
        best = _cheapest(boxes, base, samples, owner == k, owner, placed, node_boxes)
        if best is None:
            boxes, base = _rings(e, w, h)
            best = _cheapest(boxes, base, samples, owner == k, owner, placed, node_boxes)
        placed = np.vstack([placed, best])
        out[e.index] = tuple(float(v) for v in best)
    return out


def leaders(edges: list[Edge], boxes: dict[int, tuple]) -> dict[int, tuple]:
    """((x0, y0), (x1, y1)) from a box's nearest edge point to its arrow, for the labels
    placed more than ``LEADER_FROM`` away from their arrow (by projection index)."""
    out = {}
    for e in edges:
        box = boxes.get(e.index)
        if box is None or e.line is None:
            continue
        pts = bezier(e.curve if e.source == e.target else e.line, np.linspace(0.05, 0.95, 37))
        near = np.stack([pts[:, 0].clip(box[0], box[2]), pts[:, 1].clip(box[1], box[3])], axis=1)
        d = np.hypot(*(pts - near).T)
        j = int(np.argmin(d))
        if d[j] > LEADER_FROM:
            out[e.index] = (tuple(near[j]), tuple(pts[j]))
    return out


# ------------------------------------------------------------------ candidates and costs
def _samples(drawn: list[Edge]) -> tuple[np.ndarray, np.ndarray]:
    """Points along every drawn line, about one per 6 units (a label is at least 13
    high, so no line can pass through one between two samples), and their edge."""
    pts, owner = [], []
    for k, e in enumerate(drawn):
        n = max(8, int(_length(e.line) / 6.0))
        pts.append(bezier(e.line, np.linspace(0.02, 0.98, n)))
        owner.append(np.full(n, k))
    return np.concatenate(pts), np.concatenate(owner)


def _candidates(e: Edge, w: float, h: float) -> tuple[np.ndarray, np.ndarray]:
    convex = _side_normal(e)
    guide = e.curve if e.source == e.target else e.line  # a loop's middle is its far end
    boxes, base = [], []
    for t in _TS:
        p = bezier(guide, t)[0]
        d = _tangent(guide, t)
        n = np.array([-d[1], d[0]])
        reach = abs(n[0]) * w / 2 + abs(n[1]) * h / 2
        for side in (1.0, -1.0):
            outer = side * float(np.dot(n, convex)) >= -1e-9
            for gap in _GAPS:
                cx, cy = p + side * n * (reach + gap)
                boxes.append((cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2))
                base.append(30.0 * abs(t - 0.5) + 0.6 * gap + (0.0 if outer else 3.0))
    return np.array(boxes), np.array(base)


def _rings(e: Edge, w: float, h: float) -> tuple[np.ndarray, np.ndarray]:
    """Candidates on rings of growing radius around the arrow's middle: far enough out
    there is always free space (the drawing is bounded)."""
    guide = e.curve if e.source == e.target else e.line
    cx, cy = bezier(guide, 0.5)[0]
    radii = np.arange(1, 61) * 0.5 * (w + h)
    angles = np.arange(24) * math.pi / 12
    r, a = np.meshgrid(radii, angles, indexing="ij")
    x, y = (cx + r * np.cos(a)).ravel(), (cy + r * np.sin(a)).ravel()
    boxes = np.stack([x - w / 2, y - h / 2, x + w / 2, y + h / 2], axis=1)
    return boxes, 100.0 + r.ravel()


def _cheapest(boxes, base, samples, mine, owner, placed, node_boxes):
    """The cheapest box that overlaps no placed label and no node; None when all do."""
    free = ~(_overlaps_any(boxes, placed, PAD) | _overlaps_any(boxes, node_boxes, 0.0))
    if not free.any():
        return None
    boxes, base = boxes[free], base[free]
    inside = ((samples[None, :, 0] > boxes[:, None, 0]) & (samples[None, :, 0] < boxes[:, None, 2])
              & (samples[None, :, 1] > boxes[:, None, 1]) & (samples[None, :, 1] < boxes[:, None, 3]))
    # how many other arrows pass under each box (each counted once, however long its stretch)
    others = np.zeros((len(boxes), owner.max() + 1), bool)
    for j in np.unique(owner[~mine]):
        others[:, j] = inside[:, owner == j].any(axis=1)
    cost = 400.0 * inside[:, mine].sum(axis=1) + 120.0 * others.sum(axis=1) + base
    return boxes[int(np.argmin(cost))]


def _overlaps_any(boxes: np.ndarray, others: np.ndarray, pad: float) -> np.ndarray:
    if not len(others):
        return np.zeros(len(boxes), bool)
    return ((boxes[:, None, 0] < others[None, :, 2] + pad) & (others[None, :, 0] < boxes[:, None, 2] + pad)
            & (boxes[:, None, 1] < others[None, :, 3] + pad) & (others[None, :, 1] < boxes[:, None, 3] + pad)
            ).any(axis=1)


def _length(P: np.ndarray) -> float:
    pts = bezier(P, np.linspace(0, 1, 17))
    return float(np.hypot(*np.diff(pts, axis=0).T).sum())


def _side_normal(e: Edge) -> np.ndarray:
    """Direction from the chord to the bulge (the convex side); zero for straight edges."""
    a, b = e.curve[0], e.curve[3]
    mid = bezier(e.curve, 0.5)[0]
    return mid - 0.5 * (a + b)
