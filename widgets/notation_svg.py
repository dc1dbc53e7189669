"""SVG markup of the network diagram: shapes, edges, annotation text, legend and the document.

Part of ``widgets.notation``. Styling is done with presentation attributes, so a page's
CSS can override it.
"""
from __future__ import annotations

import html
import re

import numpy as np

from sim_core.spec.model import NetworkSpec

from .notation_nodes import Node, regular_polygon
from .notation_routing import CURVE_T, Edge, bezier
from .notation_terms import ANNOTATION_PX, CHAR_EM

COLOURS = {"excitatory": "#1f77b4", "inhibitory": "#d62728", "device": "#4d4d4d",
           "recording": "#8c8c8c"}
FILLS = {"excitatory": "#eef4fb", "inhibitory": "#fcefef", "stimulus": "#f3f3f3",
         "recorder": "#f3f3f3"}
TEXT_COLOURS = {"excitatory": "#17527f", "inhibitory": "#9e1b1c"}  # darker, for text
FONT = "Helvetica, Arial, sans-serif"
STROKE = 1.6
DASH = "7 4"


# ------------------------------------------------------------------ pieces
def _f(v: float) -> str:
    s = f"{v:.1f}"
    return "0.0" if s == "-0.0" else s


def _attr(s: str) -> str:
    return html.escape(_xml_chars(s), quote=True)


def _xml_chars(s: str) -> str:
    """Drop characters XML 1.0 forbids (control characters), which escaping cannot fix."""
    return re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]", "", str(s))


def _points(arr: np.ndarray) -> str:
    return " ".join(f"{_f(x)},{_f(y)}" for x, y in arr)


def _path(P: np.ndarray) -> str:
    return (f"M{_f(P[0][0])},{_f(P[0][1])} C{_f(P[1][0])},{_f(P[1][1])} "
            f"{_f(P[2][0])},{_f(P[2][1])} {_f(P[3][0])},{_f(P[3][1])}")


def _shape_svg(outline, cx, cy, stroke, fill, css) -> str:
    common = f'class="{css}" stroke="{stroke}" stroke-width="{STROKE}" fill="{fill}"'
    if isinstance(outline, np.ndarray):
        return f'<polygon {common} points="{_points(outline)}"/>'
    return f'<circle {common} cx="{_f(cx)}" cy="{_f(cy)}" r="{_f(outline)}"/>'


def _node_svg(node: Node) -> list[str]:
    stroke = COLOURS.get(node.kind, COLOURS["device"])
    out = [f'<g class="node {node.kind}" data-name="{_attr(node.name)}">',
           f"<title>{_attr(node.title)}</title>"]
    for k, outline in enumerate(node.outlines):
        out.append(_shape_svg(outline, node.x, node.y, stroke, FILLS[node.kind] if k == 0 else "none",
                              "frame" if k == 0 else "frame inner"))
    name, detail = node.lines
    size, (y_name, y_detail) = node.label_font, node.label_y
    out.append(f'<text class="label" x="{_f(node.x)}" y="{_f(node.y + y_name)}" text-anchor="middle" '
               f'font-size="{size:g}" fill="#222">'
               f'<tspan class="name" font-weight="bold">{_attr(name)}</tspan>'
               f'<tspan class="size" x="{_f(node.x)}" dy="{_f(y_detail - y_name)}" font-size="{size - 2:g}">'
               f'{_attr(detail)}</tspan></text></g>')
    return out


def _edge_svg(e: Edge, opacity: float) -> list[str]:
    if e.kind == "recording":
        colour, width = COLOURS["recording"], 1.1
        head = _arrow_polygon(e, 9.0, 3.8)
        return [f'<g class="edge recording" data-source="{_attr(e.source)}" data-target="{_attr(e.target)}">',
                f"<title>{_attr(e.title)}</title>",
                f'<path class="line" d="{_path(e.line)}" fill="none" stroke="{colour}" '
                f'stroke-width="{width}" stroke-opacity="{opacity}"/>',
                f'<polygon class="arrowhead" points="{_points(head)}" fill="{colour}"/></g>']
    colour = COLOURS[e.sign]
    dash = f' stroke-dasharray="{DASH}"' if e.kind == "probabilistic" else ""
    fill = f'fill="{colour}"' + (f' fill-opacity="{min(1.0, 1.5 * opacity):.2f}"' if opacity < 1.0 else "")
    if e.sign == "inhibitory":
        c = e.tip - 4.5 * e.direction
        head = f'<circle class="arrowhead" cx="{_f(c[0])}" cy="{_f(c[1])}" r="4.5" {fill}/>'
    else:
        head = f'<polygon class="arrowhead" points="{_points(_arrow_polygon(e, 11.0, 5.0))}" {fill}/>'
    return [f'<g class="edge {e.kind} {e.sign}" data-index="{e.index}" '
            f'data-source="{_attr(e.source)}" data-target="{_attr(e.target)}">',
            f"<title>{_attr(e.title)}</title>",
            f'<path class="line" d="{_path(e.line)}" fill="none" stroke="{colour}" '
            f'stroke-width="{STROKE}" stroke-opacity="{opacity}"{dash}/>', head, "</g>"]


def _arrow_polygon(e: Edge, length: float, half: float) -> np.ndarray:
    d = e.direction
    n = np.array([-d[1], d[0]])
    base = e.tip - length * d
    return np.array([e.tip, base + half * n, base - half * n])


def _annotation_svg(e: Edge, box) -> str:
    x = 0.5 * (box[0] + box[2])
    lead = 1.2 * ANNOTATION_PX
    y = box[1] + 1.0 + 0.85 * ANNOTATION_PX
    # a white halo keeps the text readable where lines pass under it
    parts = [f'<text class="annotation" data-index="{e.index}" x="{_f(x)}" y="{_f(y)}" '
             f'text-anchor="middle" font-size="{ANNOTATION_PX:g}" fill="{TEXT_COLOURS[e.sign]}" '
             f'stroke="#fff" stroke-width="4" stroke-linejoin="round" paint-order="stroke">']
    for k, line in enumerate(e.lines):
        parts.append(f'<tspan x="{_f(x)}" dy="{_f(0 if k == 0 else lead)}">')
        for text, css in line:
            if css:
                # no halo here: Chromium paints the decoration with the halo's stroke too
                parts.append(f'<tspan class="{css}" text-decoration="line-through" stroke="none" '
                             f'style="text-decoration: line-through">{_attr(text)}</tspan>')
            else:
                parts.append(_attr(text))
        parts.append("</tspan>")
    parts.append("</text>")
    return "".join(parts)


def _legend(x0: float, y0: float) -> tuple[list[str], float, float]:
    """Legend in two rows from (x0, y0): node shapes, then line styles and arrowheads.
    Returns the markup, its width and its height."""
    def advance(text):
        return len(text) * CHAR_EM * 11 + 50

    out, x = ['<g class="legend" font-size="11" fill="#222">'], x0
    cy = y0 + 10
    swatches = {
        "excitatory population": (regular_polygon(x0, cy + 1.5, 10, 3, -90), "excitatory", "excitatory"),
        "inhibitory population": (8.0, "inhibitory", "inhibitory"),
        "stimulating device": (regular_polygon(x0, cy, 9, 6, 0), "device", "stimulus"),
        "recorder": (np.array([[x0 - 8, cy - 6], [x0 + 12, cy - 6], [x0 + 8, cy + 6], [x0 - 12, cy + 6]]),
                     "device", "recorder"),
    }
    for text, (shape, colour, fill) in swatches.items():
        dx = x - x0 + 10
        shape = shape + np.array([dx, 0.0]) if isinstance(shape, np.ndarray) else shape
        out.append(_shape_svg(shape, x + 10, cy, COLOURS[colour], FILLS[fill], "swatch"))
        out.append(f'<text x="{_f(x + 28)}" y="{_f(cy + 4)}">{text}</text>')
        x += advance(text)
    width, x, y = x - x0, x0, y0 + 32
    for text, colour, dash, head in (("probabilistic", "#444", True, None),
                                     ("deterministic", "#444", False, None),
                                     ("excitatory", COLOURS["excitatory"], False, "triangle"),
                                     ("inhibitory", COLOURS["inhibitory"], False, "circle")):
        tip = x + 34
        end = tip - {"triangle": 11.0, "circle": 4.5, None: 0.0}[head]
        dashes = f' stroke-dasharray="{DASH}"' if dash else ""
        out.append(f'<line class="swatch" x1="{_f(x)}" y1="{_f(y)}" x2="{_f(end)}" y2="{_f(y)}" '
                   f'stroke="{colour}" stroke-width="{STROKE}"{dashes}/>')
        if head == "triangle":
            arrow = np.array([[tip, y], [tip - 11, y - 5], [tip - 11, y + 5]])
            out.append(f'<polygon class="swatch" points="{_points(arrow)}" fill="{colour}"/>')
        elif head == "circle":
            out.append(f'<circle class="swatch" cx="{_f(tip - 4.5)}" cy="{_f(y)}" r="4.5" fill="{colour}"/>')
        out.append(f'<text x="{_f(tip + 8)}" y="{_f(y + 4)}">{text}</text>')
        x += advance(text) + 16
    strike = '<tspan text-decoration="line-through" style="text-decoration: line-through">{}</tspan>'
    note = ": no autapses / multapses"
    out.append(f'<text x="{_f(x)}" y="{_f(y + 4)}">{strike.format("A")} / {strike.format("M")}{note}</text>')
    out.append("</g>")
    return out, max(width, x - x0 + (len(note) + 5) * CHAR_EM * 11), 44.0


# ------------------------------------------------------------------ the document
def svg_document(spec: NetworkSpec, nodes: dict[str, Node], edges: list[Edge],
                 boxes: dict[int, tuple], width: int, annotate: bool) -> str:
    """The ``<svg>`` string: routed ``edges``, ``nodes``, annotation ``boxes`` (by
    projection index) and the legend, scaled to ``width`` pixels."""
    # extent of the drawing
    pts = [np.array(n.area).reshape(2, 2) for n in nodes.values()]
    pts += [bezier(e.line, CURVE_T) for e in edges]
    pts += [np.array(b).reshape(2, 2) for b in boxes.values()]
    allpts = np.concatenate(pts)
    (x0, y0), (x1, y1) = allpts.min(axis=0) - 16, allpts.max(axis=0) + 16
    header = 30.0
    legend, legend_w, legend_h = _legend(x0 + 4, y1 + 14)
    vb_w = max(x1 - x0, legend_w + 8)
    vb_h = (y1 - y0) + header + legend_h + 22
    vb_y = y0 - header
    height = int(round(width * vb_h / vb_w))

    opacity = 1.0 if len(edges) <= 120 else max(0.25, 120.0 / len(edges))
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="spikescope-notation" version="1.1" '
           f'width="{int(width)}" height="{height}" viewBox="{_f(x0)} {_f(vb_y)} {_f(vb_w)} {_f(vb_h)}" '
           f'font-family="{FONT}" role="img" aria-label="{_attr(spec.name)} network diagram">',
           f"<title>{_attr(spec.name)}</title>",
           f"<desc>{_attr(spec.description)}</desc>",
           f'<rect class="background" x="{_f(x0)}" y="{_f(vb_y)}" width="{_f(vb_w)}" '
           f'height="{_f(vb_h)}" fill="#fff"/>',
           f'<text class="caption" x="{_f(x0 + 4)}" y="{_f(vb_y + 20)}" font-size="14" '
           f'font-weight="bold" fill="#222">{_attr(spec.name)}</text>']
    if not annotate and spec.projections:
        out.append(f'<text class="caption note" x="{_f(x0 + vb_w - 4)}" y="{_f(vb_y + 20)}" '
                   f'text-anchor="end" font-size="11" fill="#666">{len(spec.projections)} projections: '
                   f'hover an arrow for its rule and weight</text>')
    out.append('<g class="edges">')
    for e in edges:
        out += _edge_svg(e, opacity if e.kind != "recording" else min(1.0, opacity * 2))
    out.append('</g><g class="nodes">')
    for node in nodes.values():
        out += _node_svg(node)
    out.append('</g><g class="annotations">')
    by_index = {e.index: e for e in edges if e.index is not None}
    for i, box in boxes.items():
        out.append(_annotation_svg(by_index[i], box))
    out.append("</g>")
    out += legend
    out.append("</svg>")
    return "\n".join(out)
