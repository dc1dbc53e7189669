"""The network diagram in the notation of Senk et al. (2022): the SVG markup is the contract."""
import functools
import itertools
import pathlib
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from sim_core.models.registry import preset_dict
from sim_core.spec import from_dict, load
from widgets.notation import default_layout, network_svg, population_kinds, save_svg

ROOT = pathlib.Path(__file__).resolve().parents[2]
NS = "{http://www.w3.org/2000/svg}"
SHEET_SMALL = next(p for p in (ROOT.parent / "shared" / "specs" / "sheet_small.yaml",
                               ROOT / "tests" / "data" / "specs" / "sheet_small.yaml") if p.exists())

ODD_DESCRIPTION = 'Odd <text> & "quotes" \'here\' ]]> \x01end'

#: One projection per rule, every weight distribution, spatial p and delay, three devices.
ALL_RULES = {
    "format": "spikescope/1",
    "name": "all-rules",
    "description": ODD_DESCRIPTION,
    "populations": {
        "Exc": {"model": "iaf_psc_exp", "size": 100, "positions": {"kind": "random"}},
        "Inh": {"model": "iaf_psc_exp", "size": 100, "positions": {"kind": "random"}},
        "out": {"model": "iaf_psc_alpha", "size": 100},
    },
    "inputs": {
        "noise": {"model": "poisson_generator", "params": {"rate": 100.0}},
        "dc": {"model": "dc_generator", "params": {"amplitude": 300.0}},
        "sg": {"model": "spike_generator", "params": {"spike_times": [1.0, 2.0]}},
    },
    "projections": [
        {"source": "Exc", "target": "Inh", "rule": {"rule": "one_to_one"}, "synapse": {"weight": 10.0}},
        {"source": "Exc", "target": "Inh", "rule": {"rule": "all_to_all"},
         "synapse": {"weight": {"dist": "normal", "mean": 87.8, "std": 8.8}}},
        {"source": "Exc", "target": "Exc", "rule": {"rule": "pairwise_bernoulli", "p": 0.1, "allow_autapses": False},
         "synapse": {"weight": {"dist": "lognormal", "mu": 1.0, "sigma": 0.5}}},
        {"source": "Inh", "target": "Exc", "rule": {"rule": "fixed_indegree", "indegree": 100, "allow_multapses": False},
         "synapse": {"weight": -50.0}},
        {"source": "Inh", "target": "Inh", "rule": {"rule": "fixed_outdegree", "outdegree": 20,
                                                    "allow_autapses": False, "allow_multapses": False},
         "synapse": {"weight": {"dist": "uniform", "low": -2.0, "high": -1.0}}},
        {"source": "Exc", "target": "out", "rule": {"rule": "fixed_total_number", "N": 1000},
         "synapse": {"weight": {"dist": "exponential", "beta": 3.0}}},
        {"source": "Exc", "target": "Exc",
         "rule": {"rule": "pairwise_bernoulli", "p": {"spatial": "gaussian", "p_center": 0.3, "sigma": 0.1},
                  "mask": {"circular": {"radius": 0.4}}},
         "synapse": {"weight": 5.0, "delay": {"spatial": "linear", "offset": 0.5, "velocity": 0.3}}},
        {"source": "noise", "target": "Exc", "rule": {"rule": "all_to_all"}, "synapse": {"weight": 2.0}},
        {"source": "dc", "target": "Inh", "rule": {"rule": "all_to_all"}, "synapse": {"weight": -1.0}},
        {"source": "sg", "target": "out", "rule": {"rule": "all_to_all"}, "synapse": {"weight": 3.0}},
    ],
    "recorders": {"spikes": ["Exc", "out"], "voltmeter": {"populations": ["Inh"], "n": 2}},
}
PROBABILISTIC = {2, 3, 4, 5, 6}
INHIBITORY = {3, 4, 8}


# ------------------------------------------------------------------ helpers
def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == NS + "svg"
    return root


def classes(el) -> set:
    return set(el.get("class", "").split())


def groups(root, *wanted) -> list:
    return [g for g in root.iter(NS + "g") if set(wanted) <= classes(g)]


def nodes(root) -> dict:
    return {g.get("data-name"): g for g in groups(root, "node")}


def edges(root) -> dict:
    return {int(g.get("data-index")): g for g in groups(root, "edge") if g.get("data-index") is not None}


def annotations(root) -> dict:
    return {int(t.get("data-index")): t for t in root.iter(NS + "text") if "annotation" in classes(t)}


def text_of(el) -> str:
    return "".join(el.itertext())


def points(polygon) -> list:
    return [tuple(map(float, p.split(","))) for p in polygon.get("points").split()]


def frames(node) -> list:
    """The node's outlines: its polygons and circles (not the label)."""
    return [el for el in node if el.tag in (NS + "polygon", NS + "circle")]


def bbox(node) -> tuple:
    xs, ys = [], []
    for el in frames(node):
        if el.tag == NS + "circle":
            cx, cy, r = (float(el.get(k)) for k in ("cx", "cy", "r"))
            xs += [cx - r, cx + r]
            ys += [cy - r, cy + r]
        else:
            for x, y in points(el):
                xs.append(x)
                ys.append(y)
    return min(xs), min(ys), max(xs), max(ys)


def path_points(g) -> list:
    d = g.find(NS + "path").get("d")
    nums = list(map(float, re.findall(r"-?\d+(?:\.\d+)?", d)))
    return list(zip(nums[0::2], nums[1::2]))


def centre(node) -> tuple:
    x0, y0, x1, y1 = bbox(node)
    return 0.5 * (x0 + x1), 0.5 * (y0 + y1)


@functools.lru_cache(maxsize=None)
def preset_svg(preset: str, scale: float = 1.0, **kwargs):
    spec = from_dict(preset_dict(preset, scale))
    return spec, parse(network_svg(spec, **kwargs))


@pytest.fixture(scope="module")
def all_rules():
    spec = from_dict(ALL_RULES)
    return spec, parse(network_svg(spec))


@pytest.fixture(scope="module")
def sheet_small():
    spec = load(SHEET_SMALL)
    return spec, parse(network_svg(spec))


# ------------------------------------------------------------------ document
def test_standalone_svg_scales_with_viewbox(all_rules):
    spec, _ = all_rules
    svg = network_svg(spec, width=640)
    root = parse(svg)
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg"')
    assert root.get("width") == "640" and int(root.get("height")) > 0
    x, y, w, h = map(float, root.get("viewBox").split())
    assert w > 0 and h > 0
    assert abs(int(root.get("height")) - 640 * h / w) <= 1
    assert groups(root, "legend")


def test_odd_description_is_escaped(all_rules):
    _, root = all_rules
    # the control character cannot be written in XML at all; the rest survives escaping
    assert root.find(NS + "desc").text == ODD_DESCRIPTION.replace("\x01", "")
    assert root.find(NS + "title").text == "all-rules"


def test_save_svg(tmp_path, all_rules):
    spec, _ = all_rules
    path = save_svg(spec, tmp_path / "net.svg")
    assert set(nodes(parse(path.read_text(encoding="utf-8")))) == set(nodes(all_rules[1]))


def test_import_is_light():
    code = ("import sys, widgets.notation; "
            "print(sorted(m for m in ('panel', 'bokeh', 'numba', 'cupy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ------------------------------------------------------------------ nodes
def test_node_classes_and_shapes(all_rules):
    _, root = all_rules
    found = nodes(root)
    assert {n: classes(g) - {"node"} for n, g in found.items()} == {
        "Exc": {"excitatory"}, "Inh": {"inhibitory"}, "out": {"excitatory"},
        "noise": {"stimulus"}, "dc": {"stimulus"}, "sg": {"stimulus"},
        "spike_recorder": {"recorder"}, "voltmeter": {"recorder"}}
    for name in ("Exc", "out"):        # triangles with a double frame
        outlines = frames(found[name])
        assert len(outlines) == 2 and all(el.tag == NS + "polygon" and len(points(el)) == 3 for el in outlines)
    outlines = frames(found["Inh"])    # circle, double frame, concentric
    assert len(outlines) == 2 and all(el.tag == NS + "circle" for el in outlines)
    assert len({(el.get("cx"), el.get("cy")) for el in outlines}) == 1
    assert len({el.get("r") for el in outlines}) == 2
    for name in ("noise", "dc", "sg"):  # hexagon, single frame
        outlines = frames(found[name])
        assert len(outlines) == 1 and len(points(outlines[0])) == 6
    for name in ("spike_recorder", "voltmeter"):  # parallelogram: opposite sides parallel
        (outline,) = frames(found[name])
        (ax, ay), (bx, by), (cx, cy), (dx, dy) = points(outline)
        assert len(points(outline)) == 4
        assert abs((bx - ax) - (cx - dx)) < 0.2 and abs((by - ay) - (cy - dy)) < 0.2
        assert abs((dx - ax) - (cx - bx)) < 0.2


def test_nodes_have_title_and_label(all_rules):
    _, root = all_rules
    for name, g in nodes(root).items():
        assert g.find(NS + "title") is not None and g.find(NS + "title").text
        label = g.find(NS + "text")
        assert "label" in classes(label)
    label = nodes(root)["Exc"].find(NS + "text")
    assert [text_of(t) for t in label] == ["Exc", "N=100"]


def test_population_kind_by_outgoing_sign_then_name():
    spec = from_dict({
        "format": "spikescope/1", "name": "kinds",
        "populations": {n: {"model": "iaf_psc_exp", "size": 5}
                        for n in ("A", "B", "Ix", "my_inh", "Pyr", "E", "I")},
        "projections": [
            {"source": "A", "target": "B", "rule": {"rule": "all_to_all"}, "synapse": {"weight": -1.0}},
            {"source": "Ix", "target": "B", "rule": {"rule": "all_to_all"}, "synapse": {"weight": 1.0}},
            # mean of a truncated normal is positive although its mean parameter is not
            {"source": "I", "target": "B", "rule": {"rule": "all_to_all"},
             "synapse": {"weight": {"dist": "normal", "mean": -1.0, "std": 1.0, "low": 0.0}}},
        ]})
    assert population_kinds(spec) == {"A": "inhibitory", "B": "excitatory", "Ix": "excitatory",
                                      "my_inh": "inhibitory", "Pyr": "excitatory", "E": "excitatory",
                                      "I": "excitatory"}


# ------------------------------------------------------------------ edges
def test_edge_classes_dashes_and_heads(all_rules):
    spec, root = all_rules
    found = edges(root)
    assert sorted(found) == list(range(len(spec.projections)))
    for i, g in found.items():
        kind = "probabilistic" if i in PROBABILISTIC else "deterministic"
        sign = "inhibitory" if i in INHIBITORY else "excitatory"
        assert classes(g) == {"edge", kind, sign}, i
        assert (g.get("data-source"), g.get("data-target")) == (spec.projections[i].source,
                                                                spec.projections[i].target)
        line = g.find(NS + "path")
        assert (line.get("stroke-dasharray") is not None) == (kind == "probabilistic"), i
        heads = [el for el in g if "arrowhead" in classes(el)]
        assert len(heads) == 1
        if sign == "excitatory":
            assert heads[0].tag == NS + "polygon" and len(points(heads[0])) == 3
        else:
            assert heads[0].tag == NS + "circle"
        assert g.find(NS + "title").text.startswith(f"projections[{i}]")


def test_self_projections_are_loops(all_rules):
    _, root = all_rules
    found, exc = edges(root), nodes(root)["Exc"]
    cx, cy = centre(exc)
    for i in (2, 6):
        start, end = path_points(found[i])[0], path_points(found[i])[-1]
        for x, y in (start, end):  # both ends at the node's outline
            assert ((x - cx) ** 2 + (y - cy) ** 2) ** 0.5 < 50
    # the two loops on one node go different ways
    assert path_points(found[2])[1:3] != path_points(found[6])[1:3]


def test_parallel_edges_are_apart(all_rules):
    _, root = all_rules
    found = edges(root)

    def middle(i):
        p0, p1, p2, p3 = path_points(found[i])
        return [(a + 3 * b + 3 * c + d) / 8 for a, b, c, d in zip(p0, p1, p2, p3)]

    (x0, y0), (x1, y1) = middle(0), middle(1)
    assert ((x0 - x1) ** 2 + (y0 - y1) ** 2) ** 0.5 > 15


def test_recording_edges():
    spec = from_dict(ALL_RULES)
    root = parse(network_svg(spec))
    rec = sorted((g.get("data-source"), g.get("data-target")) for g in groups(root, "edge", "recording"))
    assert rec == [("Exc", "spike_recorder"), ("Inh", "voltmeter"), ("out", "spike_recorder")]
    for g in groups(root, "edge", "recording"):
        assert classes(g) == {"edge", "recording"}
        assert g.find(NS + "path").get("stroke-dasharray") is None
    # spikes: [] records nothing, so there is no spike recorder
    quiet = from_dict({**ALL_RULES, "recorders": {"spikes": []}})
    root = parse(network_svg(quiet))
    assert not groups(root, "recorder") and not groups(root, "edge", "recording")


# ------------------------------------------------------------------ annotations
def test_annotations(all_rules):
    _, root = all_rules
    texts = {i: text_of(t) for i, t in annotations(root).items()}
    expected = {0: ["δ", "w̄=10"], 1: ["Ω", "w ~ N(87.8, 8.8)"], 2: ["p=0.1", "w ~ LN(1, 0.5)"],
                3: ["K_in=100", "w̄=-50"], 4: ["K_out=20", "w ~ U(-2, -1)"], 5: ["N_syn=1000", "w ~ Exp(3)"],
                6: ["p(r)", "r≤0.4", "w̄=5", "d(r)"], 7: ["Ω", "w̄=2"], 8: ["Ω", "w̄=-1"], 9: ["Ω", "w̄=3"]}
    for i, parts in expected.items():
        for part in parts:
            assert part in texts[i], (i, part, texts[i])
    assert "d(r)" not in texts[0] and "p(r)" not in texts[2]
    for t in annotations(root).values():
        assert float(t.get("font-size")) == 11


def test_struck_autapses_and_multapses(all_rules):
    _, root = all_rules
    found = annotations(root)

    def struck(i):
        return {(s.get("class"), text_of(s)) for s in found[i].iter(NS + "tspan")
                if s.get("text-decoration") == "line-through"}

    assert struck(2) == {("no-autapses", "A")}
    assert struck(3) == {("no-multapses", "M")}
    assert struck(4) == {("no-autapses", "A"), ("no-multapses", "M")}
    assert struck(0) == struck(5) == set()


def test_annotations_do_not_overlap_each_other_or_nodes(all_rules):
    """Boxes estimated as the placement does (0.58 em per character, 1.2 em per line)."""
    _, root = all_rules
    boxes = []
    for t in annotations(root).values():
        lines = [text_of(s) for s in t if s.tag == NS + "tspan"]
        w = max(map(len, lines)) * 0.58 * 11
        h = len(lines) * 1.2 * 11
        x, y = float(t.get("x")), float(t.get("y")) - 0.85 * 11
        boxes.append((x - w / 2, y, x + w / 2, y + h))
    boxes += [bbox(g) for g in nodes(root).values()]
    for a, b in itertools.combinations(boxes, 2):
        assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]), (a, b)


# ------------------------------------------------------------------ shared spec
def test_sheet_small(sheet_small):
    spec, root = sheet_small
    assert {n: classes(g) - {"node"} for n, g in nodes(root).items()} == {
        "E": {"excitatory"}, "I": {"inhibitory"}, "bg": {"stimulus"}, "spike_recorder": {"recorder"}}
    found, texts = edges(root), {i: text_of(t) for i, t in annotations(root).items()}
    assert len(found) == len(spec.projections) == 6
    for i in range(4):  # distance-dependent p and delay, dashed
        assert "probabilistic" in classes(found[i])
        assert found[i].find(NS + "path").get("stroke-dasharray")
        assert "p(r)" in texts[i] and "d(r)" in texts[i]
    assert "r≤0.4" in texts[2] and "r≤0.4" in texts[3] and "r≤" not in texts[0]
    no_autapses = [any(s.get("class") == "no-autapses" for s in t.iter(NS + "tspan"))
                   for _, t in sorted(annotations(root).items())]
    assert no_autapses == [True, False, False, True, False, False]
    for i in (4, 5):
        assert classes(found[i]) == {"edge", "deterministic", "excitatory"}
        assert "Ω" in texts[i] and "w̄=87.8" in texts[i]
    for i in (2, 3):
        assert found[i].find(NS + "circle").get("class") == "arrowhead"
    assert len(groups(root, "edge", "recording")) == 2


# ------------------------------------------------------------------ layout
@pytest.mark.parametrize("preset,scale", [("microcircuit", 0.1), ("clustered", 1.0), ("brunel", 1.0)])
def test_presets_render_without_overlapping_nodes(preset, scale):
    spec, root = preset_svg(preset, scale, compact=False)
    found = nodes(root)
    assert set(found) == set(spec.populations) | set(spec.inputs) | {"spike_recorder"}
    assert len(edges(root)) == len(spec.projections)
    for (a, ga), (b, gb) in itertools.combinations(found.items(), 2):
        p, q = bbox(ga), bbox(gb)
        assert not (p[0] < q[2] and q[0] < p[2] and p[1] < q[3] and q[1] < p[3]), (a, b)


def test_microcircuit_layout_layers_as_rows():
    spec = from_dict(preset_dict("microcircuit", 0.1))
    pos = default_layout(spec)
    layers = ("L23", "L4", "L5", "L6")
    for upper, lower in zip(layers, layers[1:]):
        assert pos[upper + "E"][1] < pos[lower + "E"][1]
    for layer in layers:
        assert pos[layer + "E"][1] == pos[layer + "I"][1]
        assert pos[layer + "E"][0] < pos[layer + "I"][0]
    pop_x = [pos[p][0] for p in spec.populations]
    assert all(pos[i][0] < min(pop_x) for i in spec.inputs)
    assert pos["spike_recorder"][0] > max(pop_x)


def test_clustered_dense_network_leaves_out_annotations():
    _, root = preset_svg("clustered", 1.0, compact=False)
    assert not annotations(root)
    assert len(edges(root)) == 1600


def test_layout_override_moves_a_node(all_rules):
    spec, _ = all_rules
    root = parse(network_svg(spec, layout={"Inh": (900.0, -300.0)}))
    x, y = centre(nodes(root)["Inh"])
    assert abs(x - 900.0) < 0.5 and abs(y + 300.0) < 0.5
    with pytest.raises(ValueError, match="Inhib"):
        network_svg(spec, layout={"Inhib": (0.0, 0.0)})


# ------------------------------------------------------------------ dense models (issue 15)
def label_boxes(root) -> dict:
    """Annotation boxes estimated from the SVG alone: 0.58 em per character (Liberation
    Sans, Chromium's Helvetica, is narrower), 1.2 em per line, around the text's anchor."""
    boxes = {}
    for t in annotations(root).values():
        lines = [text_of(s) for s in t if s.tag == NS + "tspan" and s.get("x") is not None]
        w = max(map(len, lines)) * 0.58 * 11
        h = len(lines) * 1.2 * 11
        x, y = float(t.get("x")), float(t.get("y")) - 0.85 * 11
        boxes[int(t.get("data-index"))] = (x - w / 2, y, x + w / 2, y + h)
    return boxes


def apart(a, b) -> bool:
    return not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3])


def crowded_spec(n: int = 27) -> dict:
    """``n`` projections among three populations, each with its own in-degree and weight:
    drawn at ``CROWDED`` (nodes 130 apart), more labels than fit beside the arrows (the
    old placement, which only priced overlaps, let two labels and a label and a node overlap)."""
    return {"format": "spikescope/1", "name": "crowded",
            "populations": {c: {"model": "iaf_psc_exp", "size": 10} for c in "ABC"},
            "projections": [{"source": "ABC"[k % 3], "target": "ABC"[(k // 3) % 3],
                             "rule": {"rule": "fixed_indegree", "indegree": k + 1},
                             "synapse": {"weight": 1.5 + k}} for k in range(n)]}


CROWDED = {"A": (0.0, 0.0), "B": (130.0, 0.0), "C": (65.0, 110.0)}


@pytest.mark.parametrize("case", ["microcircuit", "clustered-compact", "clustered-4-full", "crowded"])
def test_labels_never_overlap_each_other_or_nodes(case):
    spec, kwargs = {"microcircuit": (preset_dict("microcircuit", 0.1), {}),
                    "clustered-compact": (preset_dict("clustered", 0.1), {"compact": True}),
                    "clustered-4-full": (preset_dict("clustered", 0.1, n_clusters=4, rep=2.0), {"compact": False}),
                    "crowded": (crowded_spec(), {"layout": CROWDED})}[case]
    root = parse(network_svg(spec, annotate=True, **kwargs))
    labels = label_boxes(root)
    assert len(labels) == len(edges(root)) > 0
    for (i, a), (j, b) in itertools.combinations(labels.items(), 2):
        assert apart(a, b), (case, i, j, a, b)
    for name, g in nodes(root).items():
        for i, a in labels.items():
            assert apart(a, bbox(g)), (case, name, i)


def test_crowded_labels_get_leader_lines():
    """Labels pushed away from their arrow are joined to it by a leader line."""
    root = parse(network_svg(crowded_spec(), layout=CROWDED))
    leaders = [el for el in root.iter(NS + "line") if "leader" in classes(el)]
    assert leaders and {int(el.get("data-index")) for el in leaders} <= set(annotations(root))


def test_microcircuit_labels_keep_off_other_arrows():
    """46 of the microcircuit's 63 labels lay on another projection's arrow (sampled
    densely along each cubic); the placement now counts arrows under a label: 23."""
    _, root = preset_svg("microcircuit", 0.1)
    labels, lines = label_boxes(root), {}
    t = [k / 199 for k in range(200)]
    for i, g in edges(root).items():
        (x0, y0), (x1, y1), (x2, y2), (x3, y3) = path_points(g)
        lines[i] = [((1 - u) ** 3 * x0 + 3 * (1 - u) ** 2 * u * x1 + 3 * (1 - u) * u * u * x2 + u ** 3 * x3,
                     (1 - u) ** 3 * y0 + 3 * (1 - u) ** 2 * u * y1 + 3 * (1 - u) * u * u * y2 + u ** 3 * y3)
                    for u in t]
    crossed = sum(any(b[0] < x < b[2] and b[1] < y < b[3] for j, pts in lines.items() if j != i for x, y in pts)
                  for i, b in labels.items())
    assert crossed <= 30, crossed


def test_clustered_compact_form():
    """E0..E19 / I0..I19: two stacked nodes E_i, I_i; 1,600 projections as 8 arrows, each
    standing for its projections (data-indices) and annotated once with i = j or i ≠ j."""
    spec, root = preset_svg("clustered", 0.1)
    found = nodes(root)
    assert set(found) == {"E_i", "I_i", "spike_recorder"}
    for name in ("E_i", "I_i"):
        g = found[name]
        assert "group" in classes(g)
        assert sum("shadow" in classes(el) for el in frames(g)) == 2
        assert "i=0…19" in text_of(g) and "E0, E1" in text_of(g.find(NS + "title")) or name == "I_i"
    arrows = groups(root, "edge", "collapsed")
    assert len(arrows) == 8 == len(edges(root))
    indices = sorted(int(k) for g in arrows for k in g.get("data-indices").split())
    assert indices == list(range(len(spec.projections)))
    for g in arrows:  # a class is all within or all between clusters
        members = [spec.projections[int(k)] for k in g.get("data-indices").split()]
        same = {p.source[1:] == p.target[1:] for p in members}
        assert same == ({True} if "within" in classes(g) else {False})
    texts = sorted(text_of(t) for t in annotations(root).values())
    assert sum(t.startswith("i = j") for t in texts) == 4 and sum(t.startswith("i ≠ j") for t in texts) == 4
    assert "1600 projections as 8 arrows" in text_of(root)


def test_compact_form_by_default_only_when_dense():
    small = preset_dict("clustered", 0.1, n_clusters=2, rep=2.0)  # 16 projections: drawn in full
    assert len(edges(parse(network_svg(small)))) == 16
    assert len(edges(parse(network_svg(small, compact=True)))) == 8
    _, root = preset_svg("clustered", 0.1, compact=False)
    assert len(edges(root)) == 1600 and not groups(root, "node", "group")
    _, root = preset_svg("microcircuit", 0.1, compact=True)  # no groups: nothing to compact
    assert len(edges(root)) == 63


def test_hover_fades_the_projections_of_other_nodes():
    """Every edge and annotation names the keys of its two nodes; the style sheet has, per
    node, a :has(:hover) rule that fades the edges that are not its own."""
    _, root = preset_svg("microcircuit", 0.1)
    keys = {g.get("data-name"): g.get("data-key") for g in nodes(root).values()}
    assert len(set(keys.values())) == len(keys)
    for g in groups(root, "edge"):
        assert (g.get("data-from"), g.get("data-to")) == (keys[g.get("data-source")], keys[g.get("data-target")])
    for i, t in annotations(root).items():
        g = edges(root)[i]
        assert (t.get("data-from"), t.get("data-to")) == (g.get("data-from"), g.get("data-to"))
    style = root.find(NS + "style").text
    for key in keys.values():
        assert f':has(.node[data-key="{key}"]:hover)' in style


def test_connectivity_matrix():
    from widgets.notation_matrix import connectivity_matrix_svg
    spec = from_dict(preset_dict("brunel"))
    root = parse(connectivity_matrix_svg(spec))
    cells = {(r.get("data-source"), r.get("data-target")): r for r in root.iter(NS + "rect") if "cell" in classes(r)}
    assert set(cells) == {(a, b) for a in spec.populations for b in spec.populations}
    for i, p in enumerate(spec.projections):
        if p.source in spec.populations:
            cell = cells[(p.source, p.target)]
            k = p.rule.indegree  # brunel: fixed in-degree
            assert float(cell.get("data-value")) == pytest.approx(p.synapse.weight * k, rel=1e-5)
            assert classes(cell) == {"cell", "excitatory" if p.synapse.weight > 0 else "inhibitory"}
            assert f"projections[{i}]" in text_of(cell.find(NS + "title"))
    spec = from_dict(preset_dict("clustered", 0.1))
    root = parse(connectivity_matrix_svg(spec))
    cells = {(r.get("data-source"), r.get("data-target")): r for r in root.iter(NS + "rect") if "cell" in classes(r)}
    assert len(cells) == 1600
    assert float(cells[("E3", "E3")].get("data-value")) > float(cells[("E3", "E4")].get("data-value")) > 0
    assert float(cells[("I3", "E3")].get("data-value")) < float(cells[("I3", "E4")].get("data-value")) < 0
    root = parse(connectivity_matrix_svg(from_dict(preset_dict("microcircuit", 0.1))))
    assert sum("empty" in classes(r) for r in root.iter(NS + "rect")) == 64 - 55


def test_diagram_view_toggles_and_matrix_tab():
    """The Network tab: grouping and labels toggles redraw the graph; the matrix is drawn
    when its tab is shown, and again when the spec changes."""
    from bokeh.document import Document

    from widgets.diagram import DiagramView
    from widgets.state import SimulationState
    spec = from_dict(preset_dict("clustered", 0.1))
    state = SimulationState(spec, backend="cpu")
    try:
        view = DiagramView(state=state)
        view.__panel__().get_root(Document())
        svg = view._pane.object
        assert 'class="edge probabilistic excitatory collapsed' in svg and 'class="annotation"' in svg
        view.labels = False
        assert 'class="annotation"' not in view._pane.object
        view.grouping = "every population"
        assert view._pane.object.count('class="edge probabilistic') == 1600
        assert view._matrix.object == ""
        view._tabs.active = 1
        assert view._matrix.object.count('class="cell') == 1600
        state.set_spec(from_dict(preset_dict("brunel", 0.1)))
        assert view._matrix.object.count('class="cell') == 4
    finally:
        state.close()
