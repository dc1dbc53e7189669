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


def _node_svg(node: Node, key: str) -> list[str]:
    stroke = COLOURS.get(node.kind, COLOURS["device"])
    group = " group" if node.stack else ""
    out = [f'<g class="node {node.kind}{group}" data-key="{key}" data-name="{_attr(node.name)}">',
           f"<title>{_attr(node.title)}</title>"]
    for shadow in node.shadows:  # the pile behind a group's node, back first
        if isinstance(shadow, tuple):
            out.append(_shape_svg(shadow[0], node.x + shadow[1], node.y + shadow[2], stroke,
                                  FILLS[node.kind], "frame shadow"))
        else:
            out.append(_shape_svg(shadow, node.x, node.y, stroke, FILLS[node.kind], "frame shadow"))
    for k, outline in enumerate(node.outlines):
        out.append(_shape_svg(outline, node.x, node.y, stroke, FILLS[node.kind] if k == 0 else "none",
                              "frame" if k == 0 else "frame inner"))
    name, detail = node.lines
    size, (y_name, y_detail) = node.label_font, node.label_y
    out.append(f'<text class="label" x="{_f(node.x)}" y="{_f(node.y + y_name)}" text-anchor="middle" '
               f'font-size="{size:g}" fill="#222">'
               f'<tspan class="name" font-weight="bold">{_attr(name)}</tspan>'
               + (f'<tspan class="index" baseline-shift="sub" font-size="{size - 2:g}" font-style="italic">'
                  f'{_attr(node.index)}</tspan>' if node.index else "") +
               f'<tspan class="size" x="{_f(node.x)}" dy="{_f(y_detail - y_name)}" font-size="{size - 2:g}">'
               f'{_attr(detail)}</tspan></text></g>')
    return out


def _edge_svg(e: Edge, opacity: float, ends: str) -> list[str]:
    if e.kind == "recording":
        colour, width = COLOURS["recording"], 1.1
        head = _arrow_polygon(e, 9.0, 3.8)
        return [f'<g class="edge recording" {ends} data-source="{_attr(e.source)}" data-target="{_attr(e.target)}">',
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
    extra, indices = "", ""
    if e.members:  # the compact form: one arrow for many projections
        extra = " collapsed" + (f" {e.relation}" if e.relation else "")
        indices = f' data-indices="{" ".join(map(str, e.members))}"'
    return [f'<g class="edge {e.kind} {e.sign}{extra}" {ends} data-index="{e.index}"{indices} '
            f'data-source="{_attr(e.source)}" data-target="{_attr(e.target)}">',
            f"<title>{_attr(e.title)}</title>",
            f'<path class="line" d="{_path(e.line)}" fill="none" stroke="{colour}" '
            f'stroke-width="{STROKE}" stroke-opacity="{opacity}"{dash}/>', head, "</g>"]


def _arrow_polygon(e: Edge, length: float, half: float) -> np.ndarray:
    d = e.direction
    n = np.array([-d[1], d[0]])
    base = e.tip - length * d
    return np.array([e.tip, base + half * n, base - half * n])


def _annotation_svg(e: Edge, box, ends: str) -> str:
    x = 0.5 * (box[0] + box[2])
    lead = 1.2 * ANNOTATION_PX
    y = box[1] + 1.0 + 0.85 * ANNOTATION_PX
    # a white halo keeps the text readable where lines pass under it
    parts = [f'<text class="annotation" {ends} data-index="{e.index}" x="{_f(x)}" y="{_f(y)}" '
             f'text-anchor="middle" font-size="{ANNOTATION_PX:g}" fill="{TEXT_COLOURS[e.sign]}" '
             f'stroke="#fff" stroke-width="4" stroke-linejoin="round" paint-order="stroke">']
    for k, line in enumerate(e.lines):
        parts.append(f'<tspan x="{_f(x)}" dy="{_f(0 if k == 0 else lead)}">')
        for text, css in line:
            if css == "relation":  # i = j / i ≠ j of the compact form
                parts.append(f'<tspan class="{css}" font-style="italic">{_attr(text)}</tspan>')
            elif css:
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


def _hover_style(keys) -> str:
    """Pointing at a node fades every arrow and annotation that is not its own: one rule
    per node (CSS cannot compare a node's name with an edge's attribute), scoped to this
    picture with :has(), which Chromium supports since version 105."""
    root = "svg.spikescope-notation"
    rules = [f"{root} .edge, {root} .annotation, {root} .leader {{ transition: opacity 0.12s; }}",
             f"{root} .node {{ cursor: pointer; }}",
             f"{root} .edge:hover .line {{ stroke-width: 3px; stroke-opacity: 1; }}"]
    for k in keys:
        mine = f'[data-from="{k}"], [data-to="{k}"]'
        rules.append(f"{root}:has(.node[data-key=\"{k}\"]:hover) :is(.edge, .annotation, .leader):not({mine}) "
                     f"{{ opacity: 0.08; }}")
        rules.append(f"{root}:has(.node[data-key=\"{k}\"]:hover) .edge:is({mine}) .line "
                     f"{{ stroke-opacity: 1; stroke-width: 2.4px; }}")
    return "<style>\n" + "\n".join(rules) + "\n</style>"


# ------------------------------------------------------------------ the document
def svg_document(spec: NetworkSpec, nodes: dict[str, Node], edges: list[Edge],
                 boxes: dict[int, tuple], width: int, annotate: bool, *,
                 leaders: dict | None = None, n_projections: int | None = None) -> str:
    """The ``<svg>`` string: routed ``edges``, ``nodes``, annotation ``boxes`` and their
    ``leaders`` (by projection index) and the legend, scaled to ``width`` pixels.
    ``n_projections``: of the model, when the arrows stand for more (compact form)."""
    leaders = leaders or {}
    n_projections = len(spec.projections) if n_projections is None else n_projections
    keys = {name: f"n{k}" for k, name in enumerate(nodes)}

    def ends(e):
        return f'data-from="{keys[e.source]}" data-to="{keys[e.target]}"'

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
    out.append(_hover_style(keys.values()))
    arrows = sum(e.index is not None for e in edges)
    note = []
    if arrows < n_projections:
        note.append(f"compact form: {n_projections} projections as {arrows} arrows")
    if not annotate and arrows:
        note.append(f"{arrows} arrows: hover an arrow for its rule and weight")
    if note:
        out.append(f'<text class="caption note" x="{_f(x0 + vb_w - 4)}" y="{_f(vb_y + 20)}" '
                   f'text-anchor="end" font-size="11" fill="#666">{"; ".join(note)}</text>')
    out.append('<g class="edges">')
    for e in edges:
        out += _edge_svg(e, opacity if e.kind != "recording" else min(1.0, opacity * 2), ends(e))
    out.append('</g><g class="nodes">')
    for name, node in nodes.items():
        out += _node_svg(node, keys[name])
    out.append('</g><g class="annotations">')
    by_index = {e.index: e for e in edges if e.index is not None}
    for i, ((a, b)) in leaders.items():
        e = by_index[i]
        out.append(f'<line class="leader" {ends(e)} data-index="{i}" x1="{_f(a[0])}" y1="{_f(a[1])}" '
                   f'x2="{_f(b[0])}" y2="{_f(b[1])}" stroke="{TEXT_COLOURS[e.sign]}" '
                   f'stroke-width="0.8" stroke-dasharray="1 2"/>')
    for i, box in boxes.items():
        e = by_index[i]
        out.append(_annotation_svg(e, box, ends(e)))
    out.append("</g>")
    out += legend
    out.append("</svg>")
    return "\n".join(out)
