"""Views of a learning network (plastic projections: NEST's ``stdp_synapse``), refreshed
while it runs: the weights of each plastic projection (their histogram now; mean and 10/90
percentiles over simulated time) and, for a plastic projection between two grids, the
topographic map it learns (receptive-field centres, connection probability and mean weight
against the displacement, ``rf_error`` and ``rf_spread`` over time: ``analysis.topomap``).

``refresh()`` is called by the app's periodic callback (the UI's thread): it reads the
weights under the state's lock, computes outside it, and samples at most a few times a
second of wall time however often it is called, less often when a sample costs more
(``budget``). The time series live here, bounded; they start again when the model is
rebuilt or reset."""
from __future__ import annotations

import time

import numpy as np
import panel as pn
import param
from bokeh.models import ColorBar, ColumnDataSource, LinearColorMapper, Range1d
from bokeh.palettes import Magma256, Viridis256
from bokeh.plotting import figure

from sim_core.analysis import topomap
from sim_core.spec.declarations import SYNAPSE_MODELS

from .plots import _ordinal
from .state import SimulationState

PLASTIC = "stdp_synapse"
NO_PLASTIC = ("No plastic projections: set a projection's synapse model to stdp_synapse "
              "(`synapse: {model: stdp_synapse}` in a spec file, then import it) to see its weights learn here.")
NO_MAP = ("No topographic map: it needs a plastic projection between two grid populations "
          "(positions kind grid, of the same extent).")
MAX_POINTS = 2000  # per time series; beyond it every other point goes and sampling halves
HIST_BINS = 50  # over [0, Wmax], fixed: the bars of one projection stay comparable over time
MAX_ARROWS_PER_SIDE = 24  # 24 x 24 arrows at most (112 x 112 targets: every 5th column and row;
# 40 x 40 arrows in the 340 px figure were a red carpet)
PROFILE_MIN_HALF = 3  # the profile heatmaps show at least displacements -3..3


def plastic_projections(spec) -> list[int]:
    return [q for q, p in enumerate(spec.projections) if p.synapse.model == PLASTIC]


def _grid(spec, name):
    pop = spec.populations.get(name)
    pos = pop.positions if pop is not None else None
    return pos if pos is not None and pos.kind == "grid" else None


def topographic_projections(spec) -> list[int]:
    """Plastic projections from a grid to a grid of the same extent; those between two
    different populations (a feed-forward map) first."""
    qs = []
    for q in plastic_projections(spec):
        p = spec.projections[q]
        a, b = _grid(spec, p.source), _grid(spec, p.target)
        if a is not None and b is not None and tuple(a.extent) == tuple(b.extent):
            qs.append(q)
    return sorted(qs, key=lambda q: spec.projections[q].source == spec.projections[q].target)


def weight_unit(spec, q) -> str:
    """The weight's unit, as NEST's: that of the target's input (pA; mV for iaf_psc_delta,
    nS for iaf_cond_exp)."""
    model = spec.populations[spec.projections[q].target].model
    return {"iaf_psc_delta": "mV", "iaf_cond_exp": "nS"}.get(model, "pA")


def w_max(spec, q) -> float:
    syn = spec.projections[q].synapse
    return float(syn.params.get("Wmax", SYNAPSE_MODELS[PLASTIC].param("Wmax").default))


def label(spec, q) -> str:
    p = spec.projections[q]
    return f"{q}: {p.source} → {p.target}"


def grid_units(positions_mm: np.ndarray, grid) -> np.ndarray:
    """Positions (mm, the sheet centred on 0) in units of ``grid``'s spacing: columns from
    the left and rows from the bottom, 0 .. shape - 1, y up as on the sheet. (The network's
    order is NEST's, column by column with rows from the top, not
    ``topomap.grid_positions``'s, so the positions are converted, not assumed.)"""
    ext = np.asarray(grid.extent, np.float64)
    spacing = ext / np.asarray(grid.shape, np.float64)
    return (np.asarray(positions_mm, np.float64) + ext / 2) / spacing - 0.5


class Series:
    """A time series of named values that stays bounded: beyond ``max_points`` every other
    point goes, and from then on points closer than the kept spacing are not added, so the
    points stay about evenly spread over the whole run."""

    def __init__(self, names, max_points: int = MAX_POINTS):
        self.names, self.max_points = tuple(names), max_points
        self.clear()

    def clear(self):
        self.t: list[float] = []
        self.values: dict[str, list[float]] = {n: [] for n in self.names}
        self.min_dt = 0.0

    def __len__(self):
        return len(self.t)

    def add(self, t: float, values: dict) -> bool:
        if self.t and (t <= self.t[-1] or t - self.t[-1] < self.min_dt):
            return False  # one point per time (a forced sample of a paused run adds none)
        self.t.append(float(t))
        for n in self.names:
            self.values[n].append(float(values[n]))
        if len(self.t) > self.max_points:
            last = len(self.t) - 1
            keep = list(range(0, last, 2)) + [last]
            self.t = [self.t[i] for i in keep]
            for n in self.names:
                self.values[n] = [self.values[n][i] for i in keep]
            self.min_dt = (self.t[-1] - self.t[0]) / (len(self.t) - 1)
        return True

    def data(self) -> dict[str, np.ndarray]:
        return {"t": np.asarray(self.t), **{n: np.asarray(v) for n, v in self.values.items()}}


def displacement_axes(shape) -> tuple[np.ndarray, np.ndarray]:
    """``topomap.profile``'s axes: the grid's displacements, each in (-L/2, L/2]."""
    cols, rows = int(shape[0]), int(shape[1])
    return np.arange(-((cols - 1) // 2), cols // 2 + 1), np.arange(-((rows - 1) // 2), rows // 2 + 1)


class MapGeometry:
    """One topographic projection: what stays fixed while the network runs (positions in
    grid units, the displacement axes, the targets drawn as arrows) and what follows its
    synapses (each synapse's displacement bin, the connection probability against
    displacement), recomputed only when the synapses changed: never under STDP alone,
    every sample under rewiring."""

    def __init__(self, spec, network, q):
        p = spec.projections[q]
        gs, gt = _grid(spec, p.source), _grid(spec, p.target)
        pos = network.connectome.positions
        self.q, self.shape, self.periodic = q, tuple(int(s) for s in gt.shape), bool(gs.periodic and gt.periodic)
        self.spacing_mm = float(gt.extent[0]) / self.shape[0]
        # both in the target grid's units (same extent; a source grid of another shape gets
        # fractional positions)
        self.src_pos, self.tgt_pos = grid_units(pos[p.source], gt), grid_units(pos[p.target], gt)
        # on its own grid a position is a whole number of spacings: drop the float noise of
        # mm (0.1 mm steps), or a displacement of L/2 may come out as -L/2 - 1e-15
        self.tgt_pos = np.rint(self.tgt_pos)
        # Equal grids on the torus: every target has exactly one source at each displacement,
        # so the pairs per displacement are the targets (what profile() counts pair by pair:
        # 0.15-0.2 s for 40 x 40 grids, each time the synapses change). Other shapes: profile().
        self.equal = tuple(gs.shape) == tuple(gt.shape)
        if self.equal:
            self.src_pos = np.rint(self.src_pos)
        self.dx, self.dy = displacement_axes(self.shape)
        # the heatmaps show the displacements that have had synapses (a Gaussian profile of
        # sigma 2.5 on 112 x 112 grids: 25 x 25 of the 112 x 112); the box only grows, so
        # that rewiring does not make it jump
        self.half = PROFILE_MIN_HALF
        # arrows: at most MAX_ARROWS_PER_SIDE per side, an evenly strided subgrid of targets
        cols, rows = self.shape
        self.stride = max(1, int(np.ceil(max(cols, rows) / MAX_ARROWS_PER_SIDE)))
        g = np.rint(self.tgt_pos).astype(np.int64)
        self.shown = np.flatnonzero((g[:, 0] % self.stride == 0) & (g[:, 1] % self.stride == 0))
        self._local = np.full(self.tgt_pos.shape[0], -1, np.int64)
        self._local[self.shown] = np.arange(self.shown.size)
        self.sources = self.targets = None

    def follow(self, sources, targets) -> None:
        """Take the projection's synapses now (no work when they are those of last time)."""
        if (self.sources is not None and sources.size == self.sources.size and np.array_equal(sources, self.sources)
                and np.array_equal(targets, self.targets)):
            return
        self.sources, self.targets = sources.copy(), targets.copy()
        d = np.rint(topomap.periodic_delta(self.src_pos[sources], self.tgt_pos[targets], self.shape)).astype(np.int64)
        # fractional source positions (a source grid of another shape) may round to -L/2: wrap
        ix, iy = (d[:, 0] - self.dx[0]) % self.dx.size, (d[:, 1] - self.dy[0]) % self.dy.size
        self.bins = iy * self.dx.size + ix
        self.count = np.bincount(self.bins, minlength=self.dx.size * self.dy.size).astype(np.float64)
        if self.equal:
            p_full = self.count.reshape(self.dy.size, self.dx.size) / self.tgt_pos.shape[0]
        else:
            p_full = topomap.profile(sources, targets, np.ones(sources.size), self.src_pos, self.tgt_pos,
                                     self.shape)["p"]
        if d.size:
            self.half = max(self.half, int(np.abs(self.dx[ix]).max()), int(np.abs(self.dy[iy]).max()))
        self.cx, self.cy = np.abs(self.dx) <= self.half, np.abs(self.dy) <= self.half
        self.p = p_full[np.ix_(self.cy, self.cx)]
        self.arrow_syn = np.flatnonzero(self._local[targets] >= 0)
        self.arrow_tgt = self._local[targets[self.arrow_syn]]

    def mean_weight(self, weights) -> np.ndarray:
        """``topomap.profile``'s ``w`` from the bins (one bincount), cropped."""
        wsum = np.bincount(self.bins, np.asarray(weights, np.float64), minlength=self.count.size)
        with np.errstate(invalid="ignore", divide="ignore"):
            w = np.where(self.count > 0, wsum / np.maximum(self.count, 1), np.nan)
        return w.reshape(self.dy.size, self.dx.size)[np.ix_(self.cy, self.cx)]

    def quality(self, weights) -> dict[str, float]:
        return topomap.rf_quality(self.sources, self.targets, weights, self.src_pos, self.tgt_pos, self.shape)

    def arrows(self, weights) -> dict[str, np.ndarray]:
        """Each shown target's position and its receptive-field centre, the short way
        round the torus (the centre may lie across the edge: the arrow leaves the sheet)."""
        m = self.arrow_syn
        centre, _ = topomap.rf_centres(self.sources[m], self.arrow_tgt, np.asarray(weights)[m], self.src_pos,
                                       self.shown.size, self.shape)
        own = self.tgt_pos[self.shown]
        ok = ~np.isnan(centre[:, 0])
        end = own[ok] + topomap.periodic_delta(own[ok], centre[ok], self.shape)
        return dict(x0=own[ok, 0], y0=own[ok, 1], x1=end[:, 0], y1=end[:, 1])


def _image(a):
    return [np.asarray(a, np.float32)]


class LearningPanel(pn.viewable.Viewer):
    """The Learning tab: weight evolution of the plastic projections and, where one links
    two grids, its topographic map."""

    state = param.ClassSelector(class_=SimulationState)
    sample_s = param.Number(default=0.3, bounds=(0.0, None),
                            doc="wall time between samples of the weights, at least (s)")
    map_s = param.Number(default=0.4, bounds=(0.0, None),
                         doc="wall time between computations of the map, at least (s)")
    budget = param.Number(default=0.1, bounds=(0.0, 1.0),
                          doc="share of wall time the samples may take: a costly sample waits longer")

    def __init__(self, **params):
        super().__init__(**params)
        self.note = pn.pane.Markdown("", css_classes=["learning-note"])
        self.projection = pn.widgets.Select(label="Plastic projection", options={}, width=260)
        self.map_projection = pn.widgets.Select(label="Map of projection", options={}, width=260)
        self.map_note = pn.pane.Markdown("", css_classes=["learning-note"])
        self.projection.param.watch(lambda e: self._selected(), "value")
        self.map_projection.param.watch(lambda e: self._selected(), "value")

        # --- weight evolution
        self._hist = ColumnDataSource(dict(left=[], right=[], top=[]), name="learning-weight-histogram")
        self._wseries = ColumnDataSource(dict(t=[], mean=[], p10=[], p90=[]), name="learning-weight-series")
        self._hist_fig = figure(height=260, sizing_mode="stretch_width", title="Weights now",
                                x_axis_label="weight (pA)", y_axis_label="synapses", tools="pan,wheel_zoom,reset,save")
        self._hist_fig.quad(left="left", right="right", top="top", bottom=0, source=self._hist,
                            fill_color="#1f77b4", fill_alpha=0.7, line_color=None)
        self._series_fig = figure(height=260, sizing_mode="stretch_width", title="Weights over time",
                                  x_axis_label="time (ms)", y_axis_label="weight (pA)",
                                  tools="pan,wheel_zoom,reset,save")
        self._series_fig.varea(x="t", y1="p10", y2="p90", source=self._wseries, fill_color="#1f77b4",
                               fill_alpha=0.2, legend_label="10–90 %")
        self._series_fig.line("t", "mean", source=self._wseries, color="#1f77b4", line_width=2, legend_label="mean")
        self._series_fig.legend.location = "bottom_right"

        # --- topographic map
        self._arrows = ColumnDataSource(dict(x0=[], y0=[], x1=[], y1=[]), name="learning-rf-arrows")
        self._arrow_fig = figure(height=340, width=340, title="Receptive-field centres", match_aspect=True,
                                 x_axis_label="x (grid units)", y_axis_label="y (grid units)",
                                 x_range=Range1d(-0.5, 1), y_range=Range1d(-0.5, 1),
                                 tools="pan,wheel_zoom,reset,save")
        self._arrow_fig.segment("x0", "y0", "x1", "y1", source=self._arrows, line_color="#555555", line_width=1.5)
        self._arrow_fig.scatter("x1", "y1", source=self._arrows, size=3, color="#d62728")
        self._p_src = ColumnDataSource(dict(image=_image(np.zeros((1, 1))), x=[0.0], y=[0.0], dw=[1.0], dh=[1.0]),
                                       name="learning-profile-p")
        self._w_src = ColumnDataSource(dict(image=_image(np.zeros((1, 1))), x=[0.0], y=[0.0], dw=[1.0], dh=[1.0]),
                                       name="learning-profile-w")
        self._p_map = LinearColorMapper(palette=Viridis256, low=0, high=1)
        self._w_map = LinearColorMapper(palette=Magma256, low=0, high=1, nan_color="#eeeeee")
        self._p_fig = self._heatmap("Connection probability", self._p_src, self._p_map)
        self._w_fig = self._heatmap("Mean weight (pA)", self._w_src, self._w_map)
        self._rf = ColumnDataSource(dict(t=[], rf_error=[], rf_spread=[]), name="learning-rf-series")
        self._rf_fig = figure(height=240, sizing_mode="stretch_width", title="Map quality over time",
                              x_axis_label="time (ms)", y_axis_label="grid units", tools="pan,wheel_zoom,reset,save")
        self._rf_fig.line("t", "rf_spread", source=self._rf, color="#2ca02c", line_width=2, legend_label="rf_spread")
        self._rf_fig.line("t", "rf_error", source=self._rf, color="#d62728", line_width=2, legend_label="rf_error")
        self._rf_fig.legend.location = "top_right"

        wide = dict(sizing_mode="stretch_width")
        self._weights_box = pn.Column(self.projection, pn.Row(pn.pane.Bokeh(self._hist_fig, **wide),
                                                              pn.pane.Bokeh(self._series_fig, **wide), **wide), **wide)
        self._map_box = pn.Column(self.map_projection,
                                  pn.Row(pn.pane.Bokeh(self._arrow_fig), pn.pane.Bokeh(self._p_fig),
                                         pn.pane.Bokeh(self._w_fig)),
                                  pn.pane.Bokeh(self._rf_fig, sizing_mode="stretch_width"), sizing_mode="stretch_width")
        self._map_heading = pn.pane.Markdown("#### Topographic map")
        self._quiet = False
        self._key = None  # (version, simulation, plastic projections) the series belong to
        self._spec = None
        self._wdata: dict[int, Series] = {}
        self._rfdata: dict[int, Series] = {}
        self._geometry: dict[int, MapGeometry] = {}
        self._last = {"weights": -np.inf, "map": -np.inf}
        self._cost = {"weights": 0.0, "map": 0.0}  # wall seconds of the last sample of each
        self._sampled = {"weights": None, "map": None}  # (version, t) of the last sample
        self._stale = True  # something to show that the page does not have yet
        self._latest: dict[int, np.ndarray] = {}  # weights of the last read, per projection
        # the figures join the page only for a model with plastic projections: every session
        # of a lecture hall (the default model: none) would otherwise hold six more Bokeh
        # figures in its document, kept by the allocator after the session closes
        self._layout = pn.Column(self.note, sizing_mode="stretch_width")
        self.refresh()

    def _heatmap(self, title, src, mapper):
        fig = figure(height=340, width=330, title=title, match_aspect=True,
                     x_axis_label="Δx = x_target − x_source (grid units)", y_axis_label="Δy (grid units)",
                     tools="hover,save", toolbar_location=None,
                     tooltips=[("Δx, Δy", "$x{0}, $y{0}"), ("value", "@image{0.000}")])
        fig.image(image="image", x="x", y="y", dw="dw", dh="dh", source=src, color_mapper=mapper)
        fig.add_layout(ColorBar(color_mapper=mapper, width=8), "right")
        return fig

    def __panel__(self):
        return self._layout

    # ------------------------------------------------------------------ model changes
    def _follow_model(self) -> None:
        """New options when the spec changed; the series start again when the network was
        rebuilt or reset (or its plastic projections are others)."""
        state = self.state
        spec = state.spec
        key = (state.version, id(state.sim), tuple((q, label(spec, q)) for q in plastic_projections(spec)))
        if key != self._key:
            self._key = key
            self._wdata, self._rfdata, self._geometry, self._latest = {}, {}, {}, {}
            self._sampled = {"weights": None, "map": None}
            self._last = {"weights": -np.inf, "map": -np.inf}
            self._stale = True
        if spec is self._spec:
            return
        self._spec = spec
        plastic, maps = plastic_projections(spec), topographic_projections(spec)
        # not discard_events on the widgets: it would also drop Panel's own watchers, and the
        # page would keep the old options
        self._quiet = True
        try:
            for select, qs in ((self.projection, plastic), (self.map_projection, maps)):
                select.options = {label(spec, q): q for q in qs}
                if qs and select.value not in qs:
                    select.value = qs[0]
        finally:
            self._quiet = False
        self.projection.visible = len(plastic) > 1
        self.map_projection.visible = len(maps) > 1
        self.note.object = "" if plastic else NO_PLASTIC
        self.note.visible = not plastic
        self._weights_box.visible = bool(plastic)
        self._map_box.visible = bool(maps)
        self._map_heading.visible = bool(plastic)
        self.map_note.object = NO_MAP if plastic and not maps else ""
        self.map_note.visible = bool(plastic) and not maps
        want = ([self.note, self._weights_box, self._map_heading, self.map_note, self._map_box] if plastic
                else [self.note])
        if list(self._layout.objects) != want:
            self._layout.objects = want
        self._stale = True

    def _selected(self):
        if self._quiet:  # the options follow the model: refresh() draws next
            return
        self._stale = True
        self.refresh(force=True)

    # ------------------------------------------------------------------ sampling
    def _due(self, what: str, interval: float, now: float, t: float) -> bool:
        if self._sampled[what] == (self.state.version, t):
            return False  # nothing has moved since
        # at least `interval` apart, and a costly sample takes at most `budget` of the wall time
        wait = max(interval, self._cost[what] / self.budget if self.budget > 0 else 0.0)
        return now - self._last[what] >= wait

    def refresh(self, active: bool = True, force: bool = False) -> None:
        """Sample and redraw if due. ``active``: the tab is shown; when it is not, the time
        series still grow but nothing is drawn (and the map's pictures are not computed)."""
        state = self.state
        if state.sim is None:
            return
        self._follow_model()
        plastic = plastic_projections(state.spec)
        if not plastic:
            return
        now = time.perf_counter()
        t = state.sim.t
        do_w = force or self._due("weights", self.sample_s, now, t)
        maps = list(self.map_projection.options.values())
        do_map = bool(maps) and (force or self._due("map", self.map_s, now, t))
        if do_w or do_map:
            self._sample(plastic if do_w else [], maps if do_map else [], now, active)
        if active and self._stale:  # shown again, or another projection chosen: all of it
            self._draw_weights()
            self._draw_map()
        self._stale = not active

    def _sample(self, plastic: list[int], maps: list[int], now: float, active: bool) -> None:
        """One read of the weights of ``plastic`` and ``maps`` under the lock; their series
        and (``active``) their pictures, outside it."""
        state = self.state
        t0 = time.perf_counter()
        with state.locked():
            sim = state.sim
            if sim is None:
                return
            t, version, network = sim.t, state.version, sim.network
            read = {q: sim.weights(q) for q in sorted(set(plastic) | set(maps))}
        read_s = time.perf_counter() - t0
        for q, (_, _, w) in read.items():
            self._latest[q] = w
        if plastic:
            t1 = time.perf_counter()
            for q in plastic:
                w = read[q][2]
                if w.size:
                    p10, p90 = np.percentile(w, [10.0, 90.0])
                    self._wdata.setdefault(q, Series(("mean", "p10", "p90"))).add(
                        t, {"mean": w.mean(), "p10": p10, "p90": p90})
            if active and not self._stale:
                self._draw_weights()
            self._sampled["weights"], self._last["weights"] = (version, t), now
            self._cost["weights"] = read_s + time.perf_counter() - t1
        if maps:
            built = 0.0  # a geometry is made once per network: not a sample's cost
            t1 = time.perf_counter()
            for q in maps:
                src, tgt, w = read[q]
                geo = self._geometry.get(q)
                if geo is None:
                    b0 = time.perf_counter()
                    geo = self._geometry[q] = MapGeometry(state.spec, network, q)
                    built += time.perf_counter() - b0
                geo.follow(src, tgt)  # the synapses' part: every sample under rewiring
                self._rfdata.setdefault(q, Series(("rf_error", "rf_spread"))).add(t, geo.quality(w))
            if active and not self._stale:
                self._draw_map()
            self._sampled["map"], self._last["map"] = (version, t), now
            self._cost["map"] = read_s + time.perf_counter() - t1 - built

    # ------------------------------------------------------------------ drawing
    def _draw_weights(self) -> None:
        q = self.projection.value
        spec = self.state.spec
        if q is None or q not in self._latest or q >= len(spec.projections):
            return
        w, top, unit = self._latest[q], w_max(spec, q), weight_unit(spec, q)
        # a drawn initial weight may exceed Wmax (only a constant one is checked); STDP clips it
        counts, edges = np.histogram(w, bins=HIST_BINS, range=(0.0, max(top, float(w.max()) if w.size else top)))
        self._hist.data = dict(left=edges[:-1], right=edges[1:], top=counts)
        s = self._wdata.get(q)
        self._wseries.data = s.data() if s is not None else dict(t=[], mean=[], p10=[], p90=[])
        self._hist_fig.xaxis.axis_label = f"weight ({unit})"
        self._series_fig.yaxis.axis_label = f"weight ({unit})"
        self._hist_fig.title.text = f"{label(spec, q)}: {w.size:,} synapses (Wmax {top:g} {unit})"
        if w.size:
            p10, p90 = np.percentile(w, [10.0, 90.0])
            self._series_fig.title.text = f"Weights: mean {w.mean():.3g} {unit}, 10–90 %: {p10:.3g}–{p90:.3g}"

    def _draw_map_series(self) -> None:
        q = self.map_projection.value
        s = self._rfdata.get(q)
        self._rf.data = s.data() if s is not None else dict(t=[], rf_error=[], rf_spread=[])

    def _draw_map(self) -> None:
        self._draw_map_series()
        q = self.map_projection.value
        geo = self._geometry.get(q)
        if geo is None or q not in self._latest:
            return
        w = self._latest[q]
        spec = self.state.spec
        self._arrows.data = geo.arrows(w)
        cols, rows = geo.shape
        # the sheet (neurons at 0 .. L - 1) and half a spacing more: arrows that cross an edge
        self._arrow_fig.x_range.update(start=-1.0, end=float(cols))
        self._arrow_fig.y_range.update(start=-1.0, end=float(rows))
        every = f", every {_ordinal(geo.stride)} column and row" if geo.stride > 1 else ""
        self._arrow_fig.title.text = (f"RF centres of {spec.projections[q].target} (1 grid unit = "
                                      f"{geo.spacing_mm:g} mm{every})"
                                      + ("" if geo.periodic else "; sheet not periodic"))
        dx, dy = geo.dx[geo.cx], geo.dy[geo.cy]
        box = dict(x=[dx[0] - 0.5], y=[dy[0] - 0.5], dw=[float(dx.size)], dh=[float(dy.size)])
        mean_w = geo.mean_weight(w)
        self._p_src.data = dict(image=_image(geo.p), **box)
        self._w_src.data = dict(image=_image(mean_w), **box)
        self._p_map.high = max(float(geo.p.max()) if geo.p.size else 0.0, 1e-3)
        self._w_map.high = w_max(spec, q)
        self._w_fig.title.text = f"Mean weight ({weight_unit(spec, q)})"
