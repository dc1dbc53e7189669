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
data-index=i>`` (drawn in a layer above all lines so that it stays readable). Styling
is done with presentation attributes, so a page's CSS can override it.

Coordinates are SVG user units in which a population is about 80 wide; ``viewBox``
makes the picture scale to any ``width``. Pure Python (standard library and NumPy).

>>> from sim_core.spec import from_dict
>>> from sim_core.models.registry import preset_dict
>>> svg = network_svg(from_dict(preset_dict("brunel")))
>>> svg.startswith("<svg") and 'class="node excitatory"' in svg
True
"""
from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sim_core.spec.model import (AllToAll, ExponentialP, FixedIndegree, FixedOutdegree,
                                 FixedTotalNumber, GaussianP, LinearDelay, Lognormal,
                                 NetworkSpec, Normal, OneToOne, PairwiseBernoulli, Uniform)
from sim_core.spec.model import Exponential as ExponentialDist

__all__ = ["default_layout", "network_svg", "population_kinds", "save_svg"]

# ------------------------------------------------------------------ look
COLOURS = {"excitatory": "#1f77b4", "inhibitory": "#d62728", "device": "#4d4d4d",
           "recording": "#8c8c8c"}
FILLS = {"excitatory": "#eef4fb", "inhibitory": "#fcefef", "stimulus": "#f3f3f3",
         "recorder": "#f3f3f3"}
TEXT_COLOURS = {"excitatory": "#17527f", "inhibitory": "#9e1b1c"}  # darker, for text
FONT = "Helvetica, Arial, sans-serif"
ANNOTATION_PX = 11.0
CHAR_EM = 0.58               # average advance of a character, in em (Helvetica digits: 0.556)
STROKE = 1.6
DASH = "7 4"

# node geometry (user units): outer/inner circumradius of the double frame
TRIANGLE_R, TRIANGLE_R_IN = 46.0, 39.0
CIRCLE_R, CIRCLE_R_IN = 34.0, 29.5
HEXAGON_R = 30.0
PARALLELOGRAM_W, PARALLELOGRAM_H, PARALLELOGRAM_SKEW = 88.0, 40.0, 12.0

# layout spacing (user units)
PAIR_DX = 250.0      # excitatory -> inhibitory column of one group (microcircuit layer)
COLUMN_DX = 230.0
ROW_DY = 175.0
DEVICE_DX = 210.0    # inputs left of the populations, recorders right of them
DEVICE_GAP = 86.0    # minimum vertical distance between two devices in one column

#: Above this many projections the annotations are left out (the edges' tooltips keep them).
MAX_ANNOTATED = 80

PROBABILISTIC = (PairwiseBernoulli, FixedIndegree, FixedOutdegree, FixedTotalNumber)

_MARKER = re.compile(r"^(?P<head>.*?)(?P<mark>E|I|exc|inh|Exc|Inh|EXC|INH)(?P<tail>\d*)$")


# ------------------------------------------------------------------ signs and kinds
def _mean(value) -> float:
    """Mean of a weight (number or distribution of offset + scale * X), honouring the
    low/high redraw bounds: exact for normal and uniform, from a fixed sample otherwise."""
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, Uniform):  # low/high are its range, not redraw bounds
        return value.offset + value.scale * 0.5 * (value.low + value.high)
    low = -math.inf if value.low is None else value.low
    high = math.inf if value.high is None else value.high
    if isinstance(value, Normal):
        mu, sigma = value.offset + value.scale * value.mean, abs(value.scale) * value.std
        if sigma == 0.0 or (low == -math.inf and high == math.inf):
            return min(max(mu, low), high)
        a, b = (low - mu) / sigma, (high - mu) / sigma
        mass = _cdf(b) - _cdf(a)
        return mu + sigma * (_pdf(a) - _pdf(b)) / mass if mass > 0 else min(max(mu, low), high)
    if isinstance(value, Lognormal):
        exact = math.exp(value.mu + 0.5 * value.sigma ** 2)
    elif isinstance(value, ExponentialDist):
        exact = value.beta
    else:
        raise TypeError(f"not a weight: {value!r}")
    if low == -math.inf and high == math.inf:
        return value.offset + value.scale * exact
    rng = np.random.default_rng(0)
    x = rng.lognormal(value.mu, value.sigma, 20000) if isinstance(value, Lognormal) \
        else rng.exponential(value.beta, 20000)
    y = value.offset + value.scale * x
    y = y[(y >= low) & (y <= high)]
    return float(y.mean()) if len(y) else min(max(value.offset + value.scale * exact, low), high)


def _pdf(z: float) -> float:
    return 0.0 if math.isinf(z) else math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)


def _cdf(z: float) -> float:
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2)))


def _sign(synapse) -> str:
    """'excitatory' or 'inhibitory': the receptor if given, else the sign of the mean weight."""
    if synapse.receptor is not None:
        return synapse.receptor
    return "inhibitory" if _mean(synapse.weight) < 0.0 else "excitatory"


def population_kinds(spec: NetworkSpec) -> dict[str, str]:
    """'excitatory' or 'inhibitory' for every population.

    By the sign of the mean weight of its outgoing projections; a population without
    any is inhibitory when its name starts with "I" or contains "inh", else excitatory.
    """
    weights: dict[str, list[float]] = {name: [] for name in spec.populations}
    for proj in spec.projections:
        if proj.source in weights:
            w = abs(_mean(proj.synapse.weight))
            weights[proj.source].append(-w if _sign(proj.synapse) == "inhibitory" else w)
    kinds = {}
    for name, ws in weights.items():
        if ws and sum(ws) != 0.0:
            kinds[name] = "inhibitory" if sum(ws) < 0.0 else "excitatory"
        else:
            by_name = name.startswith("I") or "inh" in name.lower()
            kinds[name] = "inhibitory" if by_name else "excitatory"
    return kinds


def _recorders(spec: NetworkSpec) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Recorder node name -> (kind, recorded populations); names avoid the spec's names."""
    taken = set(spec.populations) | set(spec.inputs)

    def free(name):
        while name in taken:
            name = "rec_" + name
        taken.add(name)
        return name

    out = {}
    spikes = spec.recorders.spikes
    pops = tuple(spec.populations) if spikes == "all" else tuple(spikes)
    if pops:
        out[free("spike_recorder")] = ("spikes", pops)
    if spec.recorders.voltmeter is not None:
        out[free("voltmeter")] = ("voltmeter", tuple(spec.recorders.voltmeter.populations))
    return out


# ------------------------------------------------------------------ layout
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
    """Stretch of the layout: a small but densely connected network (the microcircuit's
    55 projections among 8 populations) needs room for its annotations."""
    if len(spec.populations) > 12:
        return 1.0
    recurrent = sum(p.source in spec.populations for p in spec.projections)
    return 1.0 + 0.5 * min(1.0, max(0, recurrent - 8) / 40)


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
    spec = _as_spec(spec)
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
    recorders = _recorders(spec)
    column(list(recorders), lambda n: recorders[n][1], max(xs) + DEVICE_DX)
    return {name: (float(x), float(y)) for name, (x, y) in pos.items()}


# ------------------------------------------------------------------ nodes
def _regular(cx, cy, r, n, phase_deg):
    a = np.radians(phase_deg + 360.0 * np.arange(n) / n)
    return np.stack([cx + r * np.cos(a), cy + r * np.sin(a)], axis=1)


@dataclass
class _Node:
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

    def __post_init__(self):
        x, y = self.x, self.y
        if self.kind == "excitatory":   # apex up, centroid at (x, y)
            self.outlines = [_regular(x, y, TRIANGLE_R, 3, -90), _regular(x, y, TRIANGLE_R_IN, 3, -90)]
            self.extent = self.clearance = TRIANGLE_R
        elif self.kind == "inhibitory":
            self.outlines = [CIRCLE_R, CIRCLE_R_IN]
            self.extent = self.clearance = CIRCLE_R
        elif self.kind == "stimulus":
            self.outlines = [_regular(x, y, HEXAGON_R, 6, 0)]
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


def _nodes(spec: NetworkSpec, pos: Mapping[str, tuple[float, float]]) -> dict[str, _Node]:
    kinds = population_kinds(spec)
    nodes = {}
    for name, pop in spec.populations.items():
        where = ""
        if pop.positions is not None:
            ext = " × ".join(f"{e:g}" for e in pop.positions.extent)
            where = f", {pop.positions.kind} positions on {ext} mm"
        title = f"{name}: {pop.size} × {pop.model} ({kinds[name]}){where}"
        nodes[name] = _Node(name, kinds[name], *pos[name], (name, f"N={pop.size}"), title)
    for name, device in spec.inputs.items():
        params = ", ".join(f"{k}={_param_text(v)}" for k, v in device.params.items())
        short = device.model.replace("_generator", "")
        nodes[name] = _Node(name, "stimulus", *pos[name], (name, short),
                            f"{name}: {device.model}" + (f" ({params})" if params else ""))
    for name, (kind, pops) in _recorders(spec).items():
        if kind == "spikes":
            detail = "all" if spec.recorders.spikes == "all" else f"{len(pops)} pop."
            nodes[name] = _Node(name, "recorder", *pos[name], ("spikes", detail),
                                f"{name}: spikes of {', '.join(pops)}")
        else:
            vm = spec.recorders.voltmeter
            nodes[name] = _Node(name, "recorder", *pos[name], ("V_m", f"n={vm.n}"),
                                f"{name}: V_m of {vm.n} neuron(s) per population every "
                                f"{vm.interval:g} ms in {', '.join(pops)}")
    return nodes


# ------------------------------------------------------------------ annotations
def _num(x: float) -> str:
    x = float(x)
    if x.is_integer() and abs(x) < 1e9:
        return str(int(x))
    return f"{x:.0f}" if abs(x) >= 1e4 else f"{x:.4g}"


def _dist_text(value) -> str:
    if isinstance(value, Normal):
        core = f"N({_num(value.mean)}, {_num(value.std)})"
    elif isinstance(value, Lognormal):
        core = f"LN({_num(value.mu)}, {_num(value.sigma)})"
    elif isinstance(value, Uniform):
        core = f"U({_num(value.low)}, {_num(value.high)})"
    else:
        core = f"Exp({_num(value.beta)})"
    if value.scale != 1.0:
        core = f"{_num(value.scale)}·{core}"
    if value.offset != 0.0:
        core = f"{core} + {_num(value.offset)}"
    return core


def _rule_text(rule) -> str:
    if isinstance(rule, OneToOne):
        return "δ"
    if isinstance(rule, AllToAll):
        return "Ω"
    if isinstance(rule, PairwiseBernoulli):
        if isinstance(rule.p, (GaussianP, ExponentialP)):
            text = "p(r)"
            if rule.mask is not None:
                text += f", r≤{_num(rule.mask.circular.radius)}"
            return text
        return f"p={_num(rule.p)}"
    if isinstance(rule, FixedIndegree):
        return f"K_in={rule.indegree}"
    if isinstance(rule, FixedOutdegree):
        return f"K_out={rule.outdegree}"
    return f"N_syn={rule.N}"


def _weight_text(synapse) -> str:
    w = synapse.weight
    text = f"w̄={_num(w)}" if isinstance(w, (int, float)) else f"w ~ {_dist_text(w)}"
    if isinstance(synapse.delay, LinearDelay):
        text += ", d(r)"
    return text


def _annotation(proj) -> list[list[tuple[str, str]]]:
    """Lines of (text, tspan class) runs; class '' is plain text."""
    first = [(_rule_text(proj.rule), "")]
    if not proj.rule.allow_autapses:
        first += [(" ", ""), ("A", "no-autapses")]
    if not proj.rule.allow_multapses:
        first += [(" ", ""), ("M", "no-multapses")]
    second = [(_weight_text(proj.synapse), "")]
    if sum(len(t) for t, _ in first + second) <= 18:
        return [first + [(", ", "")] + second]
    return [first, second]


def _edge_title(proj, index: int) -> str:
    rule = type(proj.rule).TAG[1]
    syn = proj.synapse
    weight = _num(syn.weight) if isinstance(syn.weight, (int, float)) else _dist_text(syn.weight)
    d = syn.delay
    if isinstance(d, LinearDelay):
        delay = f"{_num(d.offset)} + r/{_num(d.velocity)}"
    else:
        delay = _num(d) if isinstance(d, (int, float)) else _dist_text(d)
    extra = f", {syn.resolution.levels} weight levels ({syn.resolution.method})" if syn.resolution else ""
    return (f"projections[{index}]: {proj.source} → {proj.target}, {rule} "
            f"{_rule_text(proj.rule)}; weight {weight}; delay {delay} ms{extra}")


# ------------------------------------------------------------------ curves
_T = np.linspace(0.0, 1.0, 49)


def _points_on(curves: np.ndarray, t) -> np.ndarray:
    """Points (m, c, 2) of the cubic Béziers ``curves`` (c, 4, 2) at the m parameters ``t``."""
    t = np.atleast_1d(np.asarray(t, float))[:, None, None]
    u = 1.0 - t
    return (u ** 3 * curves[:, 0] + 3 * u * u * t * curves[:, 1]
            + 3 * u * t * t * curves[:, 2] + t ** 3 * curves[:, 3])


def _bezier(P: np.ndarray, t) -> np.ndarray:
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


def _crossing(P, node: "_Node", lo: float, hi: float) -> float:
    """First parameter in [lo, hi] where the curve crosses the outline of ``node``."""
    ts = np.linspace(lo, hi, 33)
    inside = node.contains(_bezier(P, ts))
    change = np.nonzero(inside != inside[0])[0]
    if not len(change):
        return hi
    a, b = ts[change[0] - 1], ts[change[0]]
    for _ in range(8):
        mid = 0.5 * (a + b)
        if node.contains(_bezier(P, mid))[0] == inside[0]:
            a = mid
        else:
            b = mid
    return 0.5 * (a + b)


def _at_distance(P, end, dist: float) -> float:
    """Largest t whose point lies ``dist`` before the end point (the arrowhead's base)."""
    ts = np.linspace(0.0, 1.0, 65)
    far = np.nonzero(np.hypot(*(_bezier(P, ts) - end).T) > dist)[0]
    if not len(far):
        return 0.0
    a, b = ts[far[-1]], ts[min(far[-1] + 1, 64)]
    for _ in range(8):
        mid = 0.5 * (a + b)
        if math.dist(_bezier(P, mid)[0], end) > dist:
            a = mid
        else:
            b = mid
    return a


@dataclass
class _Edge:
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


class _Obstacles:
    """Nodes as discs, for testing many candidate curves at once."""

    MARGIN = 8.0

    def __init__(self, nodes: dict[str, "_Node"]):
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


def _route(edges: list[_Edge], nodes: dict[str, _Node]):
    """Curves for all edges: straight where clear, offset around nodes in the way,
    parallel edges of one pair fanned out, self-projections as loops."""
    obstacles = _Obstacles(nodes)
    order = obstacles.index
    xy = np.array([(n.x, n.y) for n in nodes.values() if n.kind in ("excitatory", "inhibitory")])
    centroid = xy.mean(axis=0)
    pairs: dict[tuple[str, str], list[_Edge]] = {}
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
    loops: dict[str, list[_Edge]] = {}
    for e in edges:
        if e.source == e.target:
            loops.setdefault(e.source, []).append(e)
    drawn = np.concatenate([np.zeros((0, 2))] + [_bezier(e.line, _T) for e in edges if e.line is not None])
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


def _trim(e: _Edge, nodes: dict[str, _Node]):
    P = e.curve
    src, tgt = nodes[e.source], nodes[e.target]
    t0 = _crossing(P, src, 0.0, 0.5)
    t1 = _crossing(P, tgt, 0.5, 1.0)
    e.tip = _bezier(P, t1)[0]
    e.direction = _tangent(P, t1)
    head = 4.5 if e.sign == "inhibitory" else (9.0 if e.kind == "recording" else 11.0)
    t_end = _at_distance(P, e.tip, head)
    e.line = _segment(P, t0, max(t_end, t0 + 1e-3))


# ------------------------------------------------------------------ label placement
def _text_size(lines: list[list[tuple[str, str]]]) -> tuple[float, float]:
    longest = max(sum(len(t) for t, _ in line) for line in lines)
    return longest * CHAR_EM * ANNOTATION_PX + 4.0, len(lines) * 1.2 * ANNOTATION_PX + 2.0


def _place_annotations(edges: list[_Edge], nodes: dict[str, _Node]) -> dict[int, tuple]:
    """Greedy placement of each annotation near its edge's middle, off its line, clear of
    the nodes and of the annotations placed before (short edges, which have the least
    room, go first); lines of other edges under an annotation cost a little, since the
    text has a white halo."""
    node_boxes = np.array([n.area for n in nodes.values()]) + np.array([-3, -3, 3, 3])
    drawn = [e for e in edges if e.line is not None]
    if not drawn:
        return {}
    per = 24
    samples = np.concatenate([_bezier(e.line, np.linspace(0.04, 0.96, per)) for e in drawn])
    owner = np.repeat(np.arange(len(drawn)), per)
    placed = np.zeros((0, 4))
    todo = [k for k, e in enumerate(drawn) if e.index is not None and e.lines]
    todo.sort(key=lambda k: _length(drawn[k].line))
    ts = (0.5, 0.44, 0.56, 0.38, 0.62, 0.32, 0.68, 0.26, 0.74, 0.2, 0.8, 0.14, 0.86)
    gaps = (2.0, 8.0, 16.0, 28.0)
    out = {}
    for k in todo:
        e = drawn[k]
        w, h = _text_size(e.lines)
        convex = _side_normal(e)
        guide = e.curve if e.source == e.target else e.line  # a loop's middle is its far end
        boxes, base = [], []
        for t in ts:
            p = _bezier(guide, t)[0]
            d = _tangent(guide, t)
            n = np.array([-d[1], d[0]])
            reach = abs(n[0]) * w / 2 + abs(n[1]) * h / 2
            for side in (1.0, -1.0):
                outer = side * float(np.dot(n, convex)) >= -1e-9
                for gap in gaps:
                    cx, cy = p + side * n * (reach + gap)
                    boxes.append((cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2))
                    base.append(30.0 * abs(t - 0.5) + 0.6 * gap + (0.0 if outer else 3.0))
        boxes = np.array(boxes)
        inside = ((samples[None, :, 0] > boxes[:, None, 0]) & (samples[None, :, 0] < boxes[:, None, 2])
                  & (samples[None, :, 1] > boxes[:, None, 1]) & (samples[None, :, 1] < boxes[:, None, 3]))
        mine = owner == k
        cost = (2000.0 * _overlap_area(boxes, placed) / (w * h)
                + 1000.0 * _overlap_area(boxes, node_boxes) / (w * h)
                + 400.0 * inside[:, mine].sum(axis=1)
                + 4.0 * inside[:, ~mine].sum(axis=1)
                + np.array(base))
        best = boxes[int(np.argmin(cost))]
        placed = np.vstack([placed, best])
        out[e.index] = tuple(best)
    return out


def _overlap_area(boxes: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Total area each of ``boxes`` (c, 4) shares with ``others`` (o, 4)."""
    if not len(others):
        return np.zeros(len(boxes))
    dx = np.minimum(boxes[:, None, 2], others[None, :, 2]) - np.maximum(boxes[:, None, 0], others[None, :, 0])
    dy = np.minimum(boxes[:, None, 3], others[None, :, 3]) - np.maximum(boxes[:, None, 1], others[None, :, 1])
    return (np.clip(dx, 0, None) * np.clip(dy, 0, None)).sum(axis=1)


def _length(P: np.ndarray) -> float:
    pts = _bezier(P, np.linspace(0, 1, 17))
    return float(np.hypot(*np.diff(pts, axis=0).T).sum())


def _side_normal(e: _Edge) -> np.ndarray:
    """Direction from the chord to the bulge (the convex side); zero for straight edges."""
    a, b = e.curve[0], e.curve[3]
    mid = _bezier(e.curve, 0.5)[0]
    return mid - 0.5 * (a + b)


# ------------------------------------------------------------------ SVG writing
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


def _node_svg(node: _Node) -> list[str]:
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


def _edge_svg(e: _Edge, opacity: float) -> list[str]:
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


def _arrow_polygon(e: _Edge, length: float, half: float) -> np.ndarray:
    d = e.direction
    n = np.array([-d[1], d[0]])
    base = e.tip - length * d
    return np.array([e.tip, base + half * n, base - half * n])


def _annotation_svg(e: _Edge, box) -> str:
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
        "excitatory population": (_regular(x0, cy + 1.5, 10, 3, -90), "excitatory", "excitatory"),
        "inhibitory population": (8.0, "inhibitory", "inhibitory"),
        "stimulating device": (_regular(x0, cy, 9, 6, 0), "device", "stimulus"),
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


def _as_spec(spec) -> NetworkSpec:
    if isinstance(spec, NetworkSpec):
        return spec
    if isinstance(spec, Mapping):
        from sim_core.spec import from_dict
        return from_dict(spec)
    raise TypeError(f"expected a NetworkSpec or a spec dict, got {type(spec).__name__}")


def network_svg(spec, width: int = 900, layout: dict | None = None, *,
                annotate: bool | None = None) -> str:
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
        ``voltmeter``.
    annotate : bool, optional
        Write the rule and weight next to every projection; by default only when there
        are at most ``MAX_ANNOTATED`` projections (the edges' tooltips always have them).
    """
    spec = _as_spec(spec)
    pos = default_layout(spec)
    if layout:
        unknown = sorted(set(layout) - set(pos))
        if unknown:
            raise ValueError(f"layout: unknown node(s) {', '.join(map(repr, unknown))}; "
                             f"the nodes are {', '.join(pos)}")
        pos.update({k: (float(v[0]), float(v[1])) for k, v in layout.items()})
    nodes = _nodes(spec, pos)
    if annotate is None:
        annotate = len(spec.projections) <= MAX_ANNOTATED

    edges = []
    for name, (kind, pops) in _recorders(spec).items():
        for pop in pops:
            what = "spikes" if kind == "spikes" else "V_m"
            edges.append(_Edge(pop, name, "recording", "recording", title=f"{pop} → {name} ({what})"))
    for i, proj in enumerate(spec.projections):
        kind = "probabilistic" if isinstance(proj.rule, PROBABILISTIC) else "deterministic"
        edges.append(_Edge(proj.source, proj.target, kind, _sign(proj.synapse), i,
                           _edge_title(proj, i), _annotation(proj) if annotate else []))
    _route(edges, nodes)
    boxes = _place_annotations(edges, nodes) if annotate else {}

    # extent of the drawing
    pts = [np.array(n.area).reshape(2, 2) for n in nodes.values()]
    pts += [_bezier(e.line, _T) for e in edges]
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


def save_svg(spec, path, **kwargs) -> Path:
    """Write ``network_svg(spec, **kwargs)`` to ``path`` (UTF-8); returns the path."""
    path = Path(path)
    path.write_text(network_svg(spec, **kwargs), encoding="utf-8")
    return path
