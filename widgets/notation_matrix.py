"""Connectivity matrix of a model, as standalone SVG: one cell per (source, target)
population, coloured by the coupling w̄·K, the mean weight times the expected in-degree.

Beside the graph in the app's Network tab (``widgets.diagram``): in a dense model (the
clustered preset's 1,600 projections) the matrix shows at once what the graph can only
show one arrow at a time. Rows are sources, columns targets; excitatory cells are blue and
inhibitory ones red, as the arrows of the diagram are; the shade is logarithmic over
``DECADES`` decades below the largest |w̄·K|. Each cell's tooltip lists its projections
(rule, weight, delay).

>>> from sim_core.spec import from_dict
>>> from sim_core.models.registry import preset_dict
>>> svg = connectivity_matrix_svg(from_dict(preset_dict("brunel")))
>>> svg.count('class="cell') == 4
True
"""
from __future__ import annotations

import math

from sim_core.connectivity.rules import expected_synapses
from sim_core.spec.model import NetworkSpec

from .notation_svg import COLOURS, FONT, _attr, _f
from .notation_terms import CHAR_EM, as_spec, edge_title, mean_weight, synapse_sign

#: Shades span this many decades of |w̄·K| below the largest (smaller ones: the palest).
DECADES = 3.0
LABEL_PX = 11.0


def couplings(spec: NetworkSpec) -> dict[tuple[str, str], tuple[float, list[int]]]:
    """(source, target) population pair -> (w̄·K summed over its projections, their indices).

    K is the expected number of synapses a target neuron gets from the projection (the
    rule's expected synapse count over the target's size): the in-degree of
    ``fixed_indegree``, p·N_source of ``pairwise_bernoulli``, and so on.
    """
    out: dict[tuple[str, str], tuple[float, list[int]]] = {}
    for i, proj in enumerate(spec.projections):
        if proj.source not in spec.populations or proj.target not in spec.populations:
            continue  # devices: their drive depends on a rate, not comparable
        pop_s = spec.populations[proj.source]
        ext = pop_s.positions.extent if pop_s.positions else None
        n_t = spec.node_size(proj.target)
        k = expected_synapses(proj.rule, spec.node_size(proj.source), n_t, proj.source == proj.target, ext) / n_t
        w = abs(mean_weight(proj.synapse))
        w = -w if synapse_sign(proj.synapse) == "inhibitory" else w
        total, idx = out.get((proj.source, proj.target), (0.0, []))
        out[(proj.source, proj.target)] = (total + w * k, idx + [i])
    return out


def _shade(value: float, largest: float) -> str:
    """Colour of a cell: white towards the sign's colour, by log |value| / largest."""
    if value == 0.0 or largest == 0.0:
        return "#ffffff"
    t = min(1.0, max(0.08, 1.0 + math.log10(abs(value) / largest) / DECADES))
    base = COLOURS["excitatory" if value > 0 else "inhibitory"]
    rgb = [int(base[j:j + 2], 16) for j in (1, 3, 5)]
    return "#" + "".join(f"{round(255 + t * (c - 255)):02x}" for c in rgb)


def connectivity_matrix_svg(spec, width: int = 600) -> str:
    """The matrix of ``spec`` (NetworkSpec or spec dict) as an ``<svg>`` string, ``width``
    pixels wide (the ``viewBox`` lets it scale). Cells: ``<rect class="cell excitatory|
    inhibitory|empty" data-source data-target data-value>`` with a ``<title>``."""
    spec = as_spec(spec)
    names = list(spec.populations)
    pairs = couplings(spec)
    largest = max((abs(v) for v, _ in pairs.values()), default=0.0)
    n = len(names)
    cell = max(12.0, min(40.0, 480.0 / n))
    font = min(LABEL_PX, 0.8 * cell)
    margin = max(len(s) for s in names) * CHAR_EM * font + 10
    x0, y0 = margin, margin + 34
    side = n * cell
    legend_y = y0 + side + 18
    vb_w, vb_h = max(x0 + side + 10, 330.0), legend_y + 48
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="spikescope-matrix" version="1.1" '
           f'width="{int(width)}" height="{int(round(width * vb_h / vb_w))}" viewBox="0 0 {_f(vb_w)} {_f(vb_h)}" '
           f'font-family="{FONT}" role="img" aria-label="{_attr(spec.name)} connectivity matrix">',
           f"<title>{_attr(spec.name)}: connectivity matrix</title>",
           "<style>svg.spikescope-matrix .cell:hover { stroke: #000; stroke-width: 2px; }</style>",
           f'<rect class="background" width="{_f(vb_w)}" height="{_f(vb_h)}" fill="#fff"/>',
           f'<text class="caption" x="4" y="16" font-size="13" font-weight="bold" fill="#222">'
           f'{_attr(spec.name)}: w̄·K, source (row) → target (column)</text>']
    for k, name in enumerate(names):
        c = f"{_f(y0 + (k + 0.5) * cell + 0.35 * font)}"
        out.append(f'<text class="row-label" x="{_f(x0 - 4)}" y="{c}" text-anchor="end" '
                   f'font-size="{font:g}" fill="#222">{_attr(name)}</text>')
        cx, cy = x0 + (k + 0.5) * cell + 0.35 * font, y0 - 4
        out.append(f'<text class="column-label" x="{_f(cx)}" y="{_f(cy)}" font-size="{font:g}" fill="#222" '
                   f'transform="rotate(-90 {_f(cx)} {_f(cy)})">{_attr(name)}</text>')
    for r, src in enumerate(names):
        for c, tgt in enumerate(names):
            value, idx = pairs.get((src, tgt), (0.0, []))
            kind = "empty" if not idx else ("excitatory" if value >= 0 else "inhibitory")
            lines = [f"{src} → {tgt}: w̄·K = {value:.4g}"] if idx else [f"{src} → {tgt}: no projection"]
            lines += [edge_title(spec.projections[i], i) for i in idx]
            out.append(f'<rect class="cell {kind}" data-source="{_attr(src)}" data-target="{_attr(tgt)}" '
                       f'data-value="{value:.6g}" x="{_f(x0 + c * cell)}" y="{_f(y0 + r * cell)}" '
                       f'width="{_f(cell)}" height="{_f(cell)}" fill="{_shade(value, largest)}" '
                       f'stroke="#ddd" stroke-width="0.5"><title>{_attr(chr(10).join(lines))}</title></rect>')
    out += _legend(4.0, legend_y, largest)
    out.append("</svg>")
    return "\n".join(out)


def _legend(x: float, y: float, largest: float) -> list[str]:
    """Two ramps (excitatory, inhibitory) from the largest |w̄·K| down ``DECADES`` decades."""
    out = ['<g class="legend" font-size="10" fill="#222">']
    steps = 12
    for row, (sign, label) in enumerate(((1.0, "excitatory"), (-1.0, "inhibitory"))):
        yy = y + row * 16
        for s in range(steps):
            v = sign * largest * 10 ** (-DECADES * (1 - (s + 1) / steps))
            out.append(f'<rect x="{_f(x + 70 + s * 10)}" y="{_f(yy)}" width="10" height="11" '
                       f'fill="{_shade(v, largest)}"/>')
        out.append(f'<text x="{_f(x)}" y="{_f(yy + 9)}">{label}</text>')
    out.append(f'<text x="{_f(x + 70)}" y="{_f(y + 43)}">|w̄·K| {largest * 10 ** -DECADES:.3g} … '
               f'{largest:.3g} (logarithmic)</text>')
    out.append("</g>")
    return out
