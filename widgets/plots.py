"""Live views of a ``SimulationState``: spike raster, population rates, membrane traces
and, for spatial populations, a topographic map of recent activity. Each view keeps one
Bokeh ColumnDataSource and replaces its data on ``refresh()``; the raster is decimated
so the browser never receives more than ``max_points`` points."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import panel as pn
import param
from bokeh.models import ColumnDataSource, FixedTicker, LinearColorMapper, Range1d
from bokeh.palettes import Category10_10, Viridis256
from bokeh.plotting import figure

from .state import SimulationState

COLORS = Category10_10


def _pop_colors(spec):
    return {name: COLORS[i % len(COLORS)] for i, name in enumerate(spec.populations)}


@dataclass(frozen=True)
class Snapshot:
    """What the live views draw, read from the simulation in one go: the spikes and
    membrane samples of the last ``window_ms``."""

    sim: object
    t: float
    steps: np.ndarray
    ids: np.ndarray
    vm_times: np.ndarray
    vm: np.ndarray

    def spikes_since(self, t_from: float) -> tuple[np.ndarray, np.ndarray]:
        """(steps, global ids) of the spikes stamped after ``t_from`` ms (within the window)."""
        a = np.searchsorted(self.steps, int(np.floor(t_from / self.sim.network.dt)))
        return self.steps[a:], self.ids[a:]


def snapshot(state: SimulationState, window_ms: float) -> Snapshot:
    """One read under the state's lock: each read makes the simulation wait, so the app
    takes one per refresh and hands it to all its views."""
    with state.locked():
        sim = state.sim
        t = sim.t
        steps, ids = sim.spike_record.window(t - window_ms)
        vm_times, vm = sim.voltages.window(t - window_ms)
    return Snapshot(sim, t, steps, ids, vm_times, vm)


class LiveView(pn.viewable.Viewer):
    """Base: a Bokeh figure over a sliding time window of the state's simulation."""

    state = param.ClassSelector(class_=SimulationState)
    window_ms = param.Number(default=500.0, bounds=(10.0, 10000.0), doc="time window shown")
    x_range = param.ClassSelector(class_=Range1d, default=None,
                                  doc="time axis; pass one to several views so they pan and zoom together")

    def __init__(self, **params):
        super().__init__(**params)
        if self.x_range is None:
            self.x_range = Range1d(0, self.window_ms)
        self._fig = self._make_figure()
        self._pane = pn.pane.Bokeh(self._fig, sizing_mode="stretch_width")

    def __panel__(self):
        return self._pane

    def _make_figure(self):
        raise NotImplementedError

    def present(self, on: bool, height: int | None = None) -> None:
        """Presentation mode: projector-sized text and, with ``height``, a shorter plot, so
        that raster, rates and controls fit a 1280x720 screen."""
        present_figure(self._fig, on)
        if height is not None:
            if not hasattr(self, "_height"):
                self._height = self._fig.height
            self._fig.height = height if on else self._height

    def _snapshot(self, snap):
        return snap if snap is not None else snapshot(self.state, self.window_ms)

    def _x_range(self, t):
        start, end = max(0.0, t - self.window_ms), max(t, self.window_ms * 0.05)
        if (self.x_range.start, self.x_range.end) != (start, end):  # a shared range changes once
            self.x_range.update(start=start, end=end)

    def refresh(self, snap: Snapshot | None = None):
        """Redraw from ``snap`` (taken over at least ``window_ms``), or from a fresh read."""
        raise NotImplementedError


def present_figure(fig, on: bool) -> None:
    """Text sizes of a figure for a projector (on) or a screen (off)."""
    big = {"title": "18px", "label": "16px", "tick": "14px"}
    small = {"title": "13px", "label": "13px", "tick": "11px"}
    size = big if on else small
    fig.title.text_font_size = size["title"]
    for axis in fig.xaxis + fig.yaxis:
        axis.axis_label_text_font_size = size["label"]
        axis.major_label_text_font_size = size["tick"]
    for legend in fig.legend:
        legend.label_text_font_size = size["tick"]


class RasterView(LiveView):
    max_points = param.Integer(default=5000, doc="most points sent to the browser per update")

    def _make_figure(self):
        # numeric columns only (population index through a colour mapper): they travel as
        # binary buffers, and a few thousand squares draw fast even without a GPU
        self._src = ColumnDataSource(dict(t=np.zeros(0), y=np.zeros(0, np.int32), pop=np.zeros(0, np.uint8)))
        self._mapper = LinearColorMapper(palette=list(COLORS), low=-0.5, high=len(COLORS) - 0.5)
        # an explicit range, set from the model: a data range kept the first model's size
        # (microcircuit after the default model: only L2/3 visible)
        fig = figure(height=300, sizing_mode="stretch_width", title="Spike raster", x_axis_label="time (ms)",
                     y_axis_label="neuron", x_range=self.x_range, y_range=Range1d(0, 1),
                     tools="pan,wheel_zoom,reset,save")
        fig.scatter("t", "y", source=self._src, size=2, marker="square", line_color=None,
                    fill_color={"field": "pop", "transform": self._mapper})
        fig.yaxis.ticker = FixedTicker(ticks=[])
        self._layout = None
        return fig

    def _follow_model(self, net):
        """Axis and labels of the current model: its size, a tick and label per population
        at its middle (few populations) or at its start (many)."""
        layout = tuple((n, net.pop_start[n]) for n in net.pop_start)
        if layout == self._layout:
            return
        self._layout = layout
        n = max(net.n_neurons, 1)
        self._fig.y_range.update(start=0, end=n)
        sizes = {name: net.spec.populations[name].size for name, _ in layout}
        many = len(layout) > 12
        ticks = [a if many else a + sizes[name] / 2 for name, a in layout]
        self._fig.yaxis.ticker = FixedTicker(ticks=ticks)
        self._fig.yaxis.major_label_overrides = {t: name for t, (name, _) in zip(ticks, layout)}
        self._fig.yaxis.axis_label = "population" if not many else "population (from its first neuron)"

    def refresh(self, snap=None):
        snap = self._snapshot(snap)
        sim, net = snap.sim, snap.sim.network
        steps, ids = snap.spikes_since(snap.t - self.window_ms)
        stride = 1
        if ids.size > self.max_points:  # keep whole rows: every stride-th neuron
            stride = int(np.ceil(ids.size / self.max_points))
            keep = ids % stride == 0
            steps, ids = steps[keep], ids[keep]
        _, pop_idx = net.population_of(ids)
        # 32-bit ids, 8-bit colours (times stay 64-bit: float32 cannot tell 0.1 ms steps apart
        # after about 17 simulated minutes)
        self._src.data = dict(t=(steps + 1) * net.dt, y=ids.astype(np.int32), pop=(pop_idx % len(COLORS)).astype(np.uint8))
        self._fig.title.text = "Spike raster" + (f" (every {_ordinal(stride)} neuron)" if stride > 1 else "")
        self._follow_model(net)
        self._x_range(snap.t)


def _ordinal(k: int) -> str:
    """2nd, 3rd, 4th, 11th, 12th, 13th, 21st, 22nd, ..."""
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix}"


class RateView(LiveView):
    bin_ms = param.Number(default=5.0, bounds=(0.1, 100.0))

    def _make_figure(self):
        self._src = ColumnDataSource(dict(xs=[], ys=[], color=[], name=[]))
        fig = figure(height=220, sizing_mode="stretch_width", title="Population rates", x_axis_label="time (ms)",
                     y_axis_label="rate (spikes/s)", x_range=self.x_range, tools="pan,wheel_zoom,reset,save")
        fig.multi_line("xs", "ys", source=self._src, color="color", legend_field="name", line_width=1.5)
        fig.add_layout(fig.legend[0], "right")  # beside the plot: inside, it covered the data
        fig.legend.click_policy = "hide"
        return fig

    def refresh(self, snap=None):
        snap = self._snapshot(snap)
        sim, t1 = snap.sim, snap.t
        steps, ids = snap.spikes_since(t1 - self.window_ms)
        t0 = max(0.0, t1 - self.window_ms)
        net = sim.network
        edges = np.arange(t0, t1 + self.bin_ms, self.bin_ms)
        xs, ys, cs, ns = [], [], [], []
        if edges.size >= 2:
            times = (steps + 1) * net.dt
            names, pop_idx = net.population_of(ids)
            colors = _pop_colors(sim.spec)
            for k, name in enumerate(names):
                if name not in sim.spike_record.recorded:
                    continue
                counts, _ = np.histogram(times[pop_idx == k], edges)
                size = sim.spec.populations[name].size
                xs.append(0.5 * (edges[1:] + edges[:-1]))
                ys.append(counts / size / (self.bin_ms / 1000.0))
                cs.append(colors[name])
                ns.append(name)
        self._src.data = dict(xs=xs, ys=ys, color=cs, name=ns)
        self._x_range(t1)


class MembraneView(LiveView):
    def _make_figure(self):
        self._src = ColumnDataSource(dict(xs=[], ys=[], color=[], name=[]))
        fig = figure(height=220, sizing_mode="stretch_width", title="Membrane potential", x_axis_label="time (ms)", y_axis_label="V_m (mV)",
                     x_range=self.x_range, tools="pan,wheel_zoom,reset,save")
        fig.multi_line("xs", "ys", source=self._src, color="color", line_width=1)
        return fig

    def refresh(self, snap=None):
        snap = self._snapshot(snap)
        sim = snap.sim
        keep = snap.vm_times > snap.t - self.window_ms
        times, v = snap.vm_times[keep], snap.vm[keep]
        rec = sim.voltages
        names, pop_idx = sim.network.population_of(rec.index)
        colors = _pop_colors(sim.spec)
        # voltages as 32-bit floats (half the bytes); times stay 64-bit, as in the raster
        self._src.data = dict(xs=[times] * v.shape[1], ys=[v[:, j].astype(np.float32) for j in range(v.shape[1])],
                              color=[colors[names[pop_idx[j]]] for j in range(v.shape[1])],
                              name=[names[pop_idx[j]] for j in range(v.shape[1])])
        self._x_range(snap.t)


class TopoMapView(pn.viewable.Viewer):
    """Activity on the sheet: each neuron of the spatial populations at its position,
    coloured by its spike count in the last ``window_ms``."""

    state = param.ClassSelector(class_=SimulationState)
    window_ms = param.Number(default=50.0, bounds=(1.0, 5000.0))

    def __init__(self, **params):
        super().__init__(**params)
        self._src = ColumnDataSource(dict(x=[], y=[], rate=[], marker=[]))
        self._mapper = LinearColorMapper(palette=Viridis256, low=0, high=50)
        fig = figure(height=320, width=360, title="Activity on the sheet (spikes/s)", match_aspect=True,
                     x_axis_label="x (mm)", y_axis_label="y (mm)", tools="pan,wheel_zoom,reset,save")
        fig.scatter("x", "y", source=self._src, size=5, marker="marker", line_color=None,
                    fill_color={"field": "rate", "transform": self._mapper})
        self._fig = fig
        self._pane = pn.pane.Bokeh(fig)
        self._empty = pn.pane.Markdown("*No spatial population in this model.*")

    def __panel__(self):
        return pn.Column(self._pane, self._empty)

    def refresh(self, snap: Snapshot | None = None):
        net = (snap.sim if snap is not None else self.state.sim).network
        pos = net.connectome.positions
        spatial = [n for n, p in pos.items() if p is not None]
        self._pane.visible = bool(spatial)
        self._empty.visible = not spatial
        if not spatial:  # nothing to draw: do not read the spikes at all
            return
        if snap is None:
            snap = snapshot(self.state, self.window_ms)
        steps, ids = snap.spikes_since(snap.t - self.window_ms)
        counts = np.bincount(ids, minlength=net.n_neurons)
        xs, ys, rs, ms = [], [], [], []
        markers = ["circle", "triangle", "square", "diamond"]
        for k, name in enumerate(spatial):
            a = net.pop_start[name]
            p = pos[name]
            xs.append(p[:, 0])
            ys.append(p[:, 1])
            rs.append(counts[a:a + p.shape[0]] / (self.window_ms / 1000.0))
            ms.append(np.full(p.shape[0], markers[k % len(markers)], dtype=object))
        rate = np.concatenate(rs)
        self._mapper.high = max(float(np.percentile(rate, 99)), 1.0)
        self._src.data = dict(x=np.concatenate(xs), y=np.concatenate(ys), rate=rate, marker=np.concatenate(ms))


class ClusterView(pn.viewable.Viewer):
    """Metastability made visible: the excitatory rate of every cluster (populations named
    E0, E1, ...; ``analysis.clusters``) over the last ``window_ms``, as an image of clusters
    x time, with the clusters in their high state now."""

    state = param.ClassSelector(class_=SimulationState)
    window_ms = param.Number(default=5000.0, bounds=(100.0, 10000.0))
    bin_ms = param.Number(default=50.0, bounds=(1.0, 1000.0))

    def __init__(self, **params):
        super().__init__(**params)
        self._src = ColumnDataSource(dict(image=[np.zeros((1, 1))], x=[0.0], y=[-0.5], dw=[1.0], dh=[1.0]))
        self._mapper = LinearColorMapper(palette=Viridis256, low=0, high=50)
        fig = figure(height=260, sizing_mode="stretch_width", title="Cluster rates (spikes/s)",
                     x_axis_label="time (ms)", y_axis_label="cluster", tools="pan,wheel_zoom,reset,save")
        fig.image(image="image", x="x", y="y", dw="dw", dh="dh", source=self._src, color_mapper=self._mapper)
        self._fig = fig
        self._pane = pn.pane.Bokeh(fig, sizing_mode="stretch_width")

    def __panel__(self):
        return self._pane

    def refresh(self, snap: Snapshot | None = None):
        from sim_core.analysis.clusters import cluster_rates, clusters_of, high_states
        sim = snap.sim if snap is not None else self.state.sim
        groups = clusters_of(sim.spec)
        self._pane.visible = bool(groups)
        if not groups:
            return
        if snap is None:
            snap = snapshot(self.state, self.window_ms)
        t1 = snap.t
        t0 = max(0.0, t1 - self.window_ms)
        t0 = t1 - np.floor((t1 - t0) / self.bin_ms) * self.bin_ms  # whole bins ending now
        if t1 - t0 < self.bin_ms:
            return
        spikes = sim.spike_record.split(*snap.spikes_since(t0))
        for name in sim.spec.populations:  # populations not recorded: no spikes
            spikes.setdefault(name, (np.zeros(0), np.zeros(0, np.int64)))
        _, clusters, rates = cluster_rates(spikes, sim.spec, t0, t1, self.bin_ms)
        high, _ = high_states(rates)
        self._mapper.high = max(float(np.percentile(rates, 99)), 1.0)
        self._src.data = dict(image=[rates.astype(np.float32)], x=[t0], y=[-0.5], dw=[t1 - t0], dh=[len(clusters)])
        now = [str(c) for c, h in zip(clusters, high[:, -1]) if h]
        self._fig.title.text = ("Cluster rates (spikes/s); high now: " + (", ".join(now) if now else "none"))
