"""Network diagram in the graphical notation of Senk et al. (2022), as standalone SVG.

Senk J, Kriener B, Djurfeldt M, et al. (2022) "Connectivity concepts in neuronal network
modeling", PLoS Comput Biol 18(9): e1010086. Their notation, as drawn here:

- excitatory population: triangle; inhibitory population: circle; populations have a
  double frame; stimulating device (spec ``inputs``): hexagon; recorder: parallelogram;
- projection: an arrow from source to target, dashed for probabilistic rules
  (``pairwise_bernoulli``, ``fixed_indegree``, ``fixed_outdegree``, ``fixed_total_number``),
  solid for deterministic ones (``one_to_one``, ``all_to_all``); the head is a filled
  triangle for excitatory and a filled circle for inhibitory connections;
- annotation next to the arrow: the rule (δ, Ω, p, K_in, K_out, N_syn), struck-through
  A / M where autapses / multapses are not allowed, the weight (w̄ or its distribution)
  and d(r) for distance-dependent delays.

The markup is the contract for tests and style sheets: every node is a
``<g class="node excitatory|inhibitory|stimulus|recorder" data-name=...>``, every
projection a ``<g class="edge probabilistic|deterministic excitatory|inhibitory"
data-index=i>`` (``i`` its index in ``spec.projections``), every recording arrow a
``<g class="edge recording">``, every annotation a ``<text class="annotation"
data-index=i>`` (drawn in a layer above all lines so that it stays readable; one placed
away from its arrow has a ``<line class="leader">``). Nodes carry ``data-key``, edges,
annotations and leaders ``data-from``/``data-to`` (their nodes' keys): a ``<style>`` fades
what is not a node's own while the pointer is on it. In the compact form
(``notation_groups``) a group's node has the class ``group``, and an arrow standing for
several projections ``collapsed`` (and ``within``/``between``), with ``data-indices``.
Styling is otherwise done with presentation attributes, so a page's CSS can override it.

Coordinates are SVG user units in which a population is about 80 wide; ``viewBox``
makes the picture scale to any ``width``. Pure Python (standard library and NumPy).

This module is the entry point; the drawing is done in steps, one module each:
``notation_terms`` (kinds, signs, recorder nodes, the annotation text),
``notation_layout`` (node centres), ``notation_nodes`` (shapes and label boxes),
``notation_groups`` (the compact form), ``notation_routing`` (curves, loops, arrowheads),
``notation_labels`` (annotation placement) and ``notation_svg`` (the markup and the legend).

>>> from sim_core.spec import from_dict
>>> from sim_core.models.registry import preset_dict
>>> svg = network_svg(from_dict(preset_dict("brunel")))
>>> svg.startswith("<svg") and 'class="node excitatory"' in svg
True
"""
from __future__ import annotations

from pathlib import Path

from .notation_groups import COMPACT_ABOVE, compact_title, compact_view, group_label, population_groups
from .notation_layout import default_layout
from .notation_nodes import Node, build_nodes
from .notation_labels import leaders, place_annotations
from .notation_routing import Edge, route
from .notation_svg import svg_document
from .notation_terms import (PROBABILISTIC, annotation_lines, as_spec, edge_title,
                             population_kinds, recorder_nodes, synapse_sign)

__all__ = ["default_layout", "network_svg", "population_kinds", "save_svg"]

#: Above this many arrows the annotations are left out (the edges' tooltips keep them).
MAX_ANNOTATED = 80


def network_svg(spec, width: int = 900, layout: dict | None = None, *,
                annotate: bool | None = None, compact: bool | None = None) -> str:
    """The network of ``spec`` in the notation of Senk et al. (2022), as an ``<svg>`` string.

    Parameters
    ----------
    spec : NetworkSpec or dict
        The model; a plain spec dict is parsed first.
    width : int
        Width of the picture in pixels; the height follows from the drawing, and the
        ``viewBox`` lets the picture scale.
    layout : dict, optional
        Node centres by name in SVG user units (see ``default_layout``, whose values
        fill in any node left out). Recorder nodes are named ``spike_recorder`` and
        ``voltmeter``; in the compact form a group is named ``E_i``.
    annotate : bool, optional
        Write the rule and weight next to every projection; by default only when there
        are at most ``MAX_ANNOTATED`` arrows (the edges' tooltips always have them).
    compact : bool, optional
        Draw groups of populations named prefix + cluster number (E0..E19) as one indexed
        node and their projections as one arrow per kind (``notation_groups``); by
        default when the model has such groups and more than ``COMPACT_ABOVE``
        projections.
    """
    spec = as_spec(spec)
    groups = population_groups(spec) if compact is not False else {}
    if compact is None and len(spec.projections) <= COMPACT_ABOVE:
        groups = {}
    view = compact_view(spec, groups) if groups else None
    drawn = view.spec if view else spec
    pos = default_layout(drawn)
    if layout:
        unknown = sorted(set(layout) - set(pos))
        if unknown:
            raise ValueError(f"layout: unknown node(s) {', '.join(map(repr, unknown))}; "
                             f"the nodes are {', '.join(pos)}")
        pos.update({k: (float(v[0]), float(v[1])) for k, v in layout.items()})
    nodes = build_nodes(drawn, pos)
    for name, group in groups.items():
        lines, title = group_label(group, spec)
        old = nodes[name]
        nodes[name] = Node(name, old.kind, old.x, old.y, lines, title, stack=2, index="i")
    if annotate is None:
        annotate = len(drawn.projections) <= MAX_ANNOTATED

    edges = []
    for name, (kind, pops) in recorder_nodes(drawn).items():
        for pop in pops:
            what = "spikes" if kind == "spikes" else "V_m"
            edges.append(Edge(pop, name, "recording", "recording", title=f"{pop} → {name} ({what})"))
    for k, proj in enumerate(drawn.projections):
        kind = "probabilistic" if isinstance(proj.rule, PROBABILISTIC) else "deterministic"
        if view:
            i, lines, title = view.members[k][0], view.lines[k], compact_title(spec, view, k)
            extra = {"members": view.members[k], "relation": view.relations[k]}
        else:
            i, lines, title, extra = k, annotation_lines(proj), edge_title(proj, k), {}
        edges.append(Edge(proj.source, proj.target, kind, synapse_sign(proj.synapse), i,
                          title, lines if annotate else [], **extra))
    route(edges, nodes)
    boxes = place_annotations(edges, nodes) if annotate else {}
    return svg_document(drawn, nodes, edges, boxes, width, annotate,
                        leaders=leaders(edges, boxes), n_projections=len(spec.projections))


def save_svg(spec, path, **kwargs) -> Path:
    """Write ``network_svg(spec, **kwargs)`` to ``path`` (UTF-8); returns the path."""
    path = Path(path)
    path.write_text(network_svg(spec, **kwargs), encoding="utf-8")
    return path
