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
def preset_svg(preset: str, scale: float = 1.0):
    spec = from_dict(preset_dict(preset, scale))
    return spec, parse(network_svg(spec))


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
    spec, root = preset_svg(preset, scale)
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
    _, root = preset_svg("clustered", 1.0)
    assert not annotations(root)
    assert len(edges(root)) == 1600


def test_layout_override_moves_a_node(all_rules):
    spec, _ = all_rules
    root = parse(network_svg(spec, layout={"Inh": (900.0, -300.0)}))
    x, y = centre(nodes(root)["Inh"])
    assert abs(x - 900.0) < 0.5 and abs(y + 300.0) < 0.5
    with pytest.raises(ValueError, match="Inhib"):
        network_svg(spec, layout={"Inhib": (0.0, 0.0)})
