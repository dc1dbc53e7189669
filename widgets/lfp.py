"""The LFP tab: what a multi-electrode array in the model's sheet would record
(``recorders.lfp``; ``sim_core.engine.lfp``), refreshed while the network runs.

- **Map**: the electrode grid (gx x gy cells, x across, y up, as on the sheet) coloured by
  the LFP at the displayed time, minus each electrode's mean over the traces' window (the
  LFP of the kernel method sits on a large offset: without it the map is one colour), on a
  colour range symmetric about zero. A click on an electrode adds or removes its trace.
- **Traces** of a few electrodes (4 spread over the grid at first; the map or the selector
  chooses), the last ``trace_ms``.
- **Activity**: the spikes of the last ``activity_ms`` counted in squares of the electrode
  pitch on the sheet (all populations or one), in the map's orientation and axes.
- **Time slider**, for a paused or finished run: scrubs map, traces and activity through
  the samples the session holds (the last 10 s: ``state.RECORD_WINDOW_MS``).

Refresh: nothing is read while the tab is hidden. Shown, each refresh reads under the
state's lock only the samples after the last one read (``LfpRecord.window``: it convolves
the spikes not yet convolved first, the one costly part) and the spikes of the activity
window, at most every ``period_s`` of wall time and less often when a read costs more than
``budget`` of it. The traces' buffer holds ``trace_ms``; a pause copies the held samples
once (float32) for the slider, and lets them go when the run goes on."""
from __future__ import annotations

import time

import numpy as np
import panel as pn
import param
from bokeh.models import ColorBar, ColumnDataSource, LinearColorMapper, Range1d, Span, TapTool
from bokeh.palettes import Category10_10, RdBu11, Viridis256, interp_palette
from bokeh.plotting import figure

from .checkbox import LabelledCheckbox
from .state import SimulationState

MAX_TRACES = len(Category10_10)
ALL = "all populations"
ACTIVITY_WINDOWS_MS = (5.0, 10.0, 20.0, 50.0, 100.0)
MAX_ACTIVITY_BINS = 40  # per axis: squares of the electrode pitch, at most this many across
DIVERGING = interp_palette(RdBu11, 256)  # blue below the mean, red above
METHODS = {"kernel": "kernel method (Hagen et al. 2022): population spike counts on the sheet convolved with "
                     "spatiotemporal kernels of multicompartment neurons",
           "proxy": "current proxy (Mazzoni et al. 2015): a weighted sum of the synaptic currents of the neurons "
                    "near each electrode (arbitrary units, shown in pA)"}


def has_lfp(state: SimulationState) -> bool:
    """The model of ``state`` records an LFP (its tab joins the page)."""
    return state.sim is not None and getattr(state.sim, "lfp", None) is not None


def electrode_index(ix: int, iy: int, shape) -> int:
    """``LfpRecord``'s order: x-major (index = ix * gy + iy)."""
    return int(ix) * int(shape[1]) + int(iy)


def electrode_label(k: int, shape) -> str:
    """``(ix, iy)``: column from the left, row from the bottom."""
    return f"({k // int(shape[1])}, {k % int(shape[1])})"


def default_electrodes(shape, n: int = 4) -> list[int]:
    """Up to ``n`` (4) electrodes spread over the grid: the corners of its middle half."""
    gx, gy = int(shape[0]), int(shape[1])
    xs = sorted({gx // 4, (3 * gx) // 4})
    ys = sorted({gy // 4, (3 * gy) // 4})
    return [electrode_index(ix, iy, shape) for ix in xs for iy in ys][:n]


def display_unit(units: str, magnitude: float) -> tuple[float, str]:
    """(factor, unit) to show values of about ``magnitude`` ``units`` with readable numbers:
    the kernel method's mV as µV (below 0.1 mV) or nV (below 0.1 µV); the proxy's pA as nA
    (from 10 nA)."""
    m = abs(float(magnitude))
    if units == "mV" and 0 < m < 0.1:
        return (1e3, "µV") if m >= 1e-4 else (1e6, "nV")
    if units == "pA" and m >= 1e4:
        return 1e-3, "nA"
    return 1.0, units


def trace_window(times: np.ndarray, j: int, trace_ms: float, centred: bool) -> tuple[int, int]:
    """Sample range [a, b) of the traces shown at sample ``j`` (of evenly spaced ``times``):
    the ``trace_ms`` ending there (live) or around it (``centred``: scrubbing), inside the
    samples held."""
    S = times.size
    if S == 0:
        return 0, 0
    n = int(round(trace_ms / (times[1] - times[0]))) if S > 1 else 1
    if not centred:
        return max(j + 1 - n, 0), j + 1
    a = int(np.clip(j - n // 2, 0, max(S - n, 0)))
    return a, min(a + n, S)


def grid_positions(shape, pitch: float) -> tuple[np.ndarray, np.ndarray]:
    """x, y (mm) of each electrode of a ``shape`` grid ``pitch`` apart centred on the sheet,
    in the record's order."""
    gx, gy = int(shape[0]), int(shape[1])
    k = np.arange(gx * gy)
    return (k // gy - (gx - 1) / 2.0) * pitch, (k % gy - (gy - 1) / 2.0) * pitch


class SheetBins:
    """The activity histogram's squares: the sheet cut into squares of about the electrode
    pitch (x across, y up), and each spatial neuron's square (-1: not on the sheet)."""

    def __init__(self, network, extent, pitch: float):
        self.extent = (float(extent[0]), float(extent[1]))
        self.n = tuple(int(np.clip(round(e / pitch), 1, MAX_ACTIVITY_BINS)) for e in self.extent)
        self.bin = np.full(network.n_neurons, -1, np.int32)
        self.pop = np.full(network.n_neurons, -1, np.int16)
        self.populations: list[str] = []
        for k, (name, pos) in enumerate(network.connectome.positions.items()):
            if pos is None:
                continue
            a = network.pop_start[name]
            ij = []
            for ax in range(2):
                w = self.extent[ax] / self.n[ax]
                ij.append(np.clip(np.floor((pos[:, ax] + self.extent[ax] / 2) / w), 0, self.n[ax] - 1).astype(np.int32))
            self.bin[a:a + pos.shape[0]] = ij[0] * self.n[1] + ij[1]
            self.pop[a:a + pos.shape[0]] = len(self.populations)
            self.populations.append(name)

    def counts(self, ids: np.ndarray, population: str | None = None) -> np.ndarray:
        """[ny, nx] spikes of ``ids`` (global ids) per square, rows from the bottom (an image)."""
        b, p = self.bin[ids], self.pop[ids]
        keep = b >= 0 if population in (None, ALL) else p == self.populations.index(population)
        c = np.bincount(b[keep], minlength=self.n[0] * self.n[1])
        return c.reshape(self.n[0], self.n[1]).T


class LfpPanel(pn.viewable.Viewer):
    """The LFP tab (see the module's docstring). ``refresh(active)`` is called by the app's
    periodic callback; the figures are made when a model with an LFP first comes."""

    state = param.ClassSelector(class_=SimulationState)
    trace_ms = param.Number(default=500.0, bounds=(10.0, 5000.0), doc="traces shown (ms)")
    period_s = param.Number(default=0.15, bounds=(0.0, None), doc="wall time between reads, at least (s)")
    budget = param.Number(default=0.2, bounds=(0.0, 1.0),
                          doc="share of wall time the reads may take: a costly read waits longer")

    def __init__(self, **params):
        super().__init__(**params)
        self._layout = pn.Column(sizing_mode="stretch_width")
        self._built = False
        self._key = None
        self._quiet = False
        self._last_read = -np.inf  # wall clock of the last read
        self._cost = 0.0            # its wall seconds
        self._clear()

    def __panel__(self):
        return self._layout

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        """The widgets and figures: once, for the first model with an LFP."""
        self._built = True
        self.note = pn.pane.Markdown("", css_classes=["lfp-note"], sizing_mode="stretch_width")
        self.electrodes = pn.widgets.MultiChoice(label="Electrodes (or click them on the map)", options={},
                                                 max_items=MAX_TRACES, width=420)
        self.population = pn.widgets.Select(label="Activity of", options=[ALL], width=170)
        self.activity_ms = pn.widgets.Select(label="Activity window (ms)", options=list(ACTIVITY_WINDOWS_MS),
                                             value=20.0, width=150)
        self.subtract = LabelledCheckbox(label="LFP minus each electrode's mean over the traces' window", value=True,
                                         description="the kernel method's LFP sits on a large offset: without "
                                                     "this the map is one colour")
        self.time = pn.widgets.FloatSlider(label="Time (ms): pause to scrub through the samples held", start=0.0,
                                           end=1.0, value=0.0, step=0.5, disabled=True,
                                           sizing_mode="stretch_width", css_classes=["lfp-time"])
        for w, what in ((self.electrodes, "value"), (self.population, "value"), (self.activity_ms, "value"),
                        (self.subtract, "value")):
            w.param.watch(lambda e: self._redraw(), what)
        self.time.param.watch(lambda e: self._scrubbed(), "value")

        self._xr, self._yr = Range1d(-0.5, 0.5), Range1d(-0.5, 0.5)  # the sheet, shared by both maps
        self._map_src = ColumnDataSource(dict(x=[], y=[], w=[], h=[], value=[], ix=[], iy=[], e=[], bx=[], by=[]),
                                        name="lfp-map")
        self._chosen_src = ColumnDataSource(dict(x=[], y=[], w=[], h=[], color=[], e=[]), name="lfp-chosen")
        self._map_color = LinearColorMapper(palette=DIVERGING, low=-1.0, high=1.0)
        fig = figure(height=370, width=420, title="LFP", name="lfp-map-figure", match_aspect=True, x_range=self._xr,
                     y_range=self._yr, x_axis_label="x (mm)", y_axis_label="y (mm)", tools="tap,hover,save",
                     toolbar_location="above",
                     tooltips=[("electrode (ix, iy)", "(@ix, @iy)"), ("x, y (mm)", "@x{0.000}, @y{0.000}"),
                               ("computed at (mm)", "@bx{0.000}, @by{0.000}"),
                               ("LFP", "@value{0.000}"), ("", "click: show or hide its trace")])
        self._cells = fig.rect("x", "y", "w", "h", source=self._map_src, line_color="white", line_alpha=0.4,
                               fill_color={"field": "value", "transform": self._map_color},
                               nonselection_fill_alpha=1.0, selection_fill_alpha=1.0)
        fig.select_one(TapTool).renderers = [self._cells]
        fig.rect("x", "y", "w", "h", source=self._chosen_src, fill_color=None, line_color="color", line_width=3)
        self._map_bar = ColorBar(color_mapper=self._map_color, width=10, title="LFP")
        fig.add_layout(self._map_bar, "right")
        self._map_src.selected.on_change("indices", self._tapped)
        self._map_fig = fig

        self._act_src = ColumnDataSource(dict(image=[np.zeros((1, 1), np.float32)], x=[-0.5], y=[-0.5], dw=[1.0],
                                              dh=[1.0]), name="lfp-activity")
        self._act_color = LinearColorMapper(palette=Viridis256, low=0, high=1)
        act = figure(height=370, width=420, title="Spikes on the sheet", match_aspect=True, x_range=self._xr,
                     y_range=self._yr, x_axis_label="x (mm)", y_axis_label="y (mm)", tools="hover,save",
                     toolbar_location="above", tooltips=[("spikes", "@image{0}")])
        act.image(image="image", x="x", y="y", dw="dw", dh="dh", source=self._act_src, color_mapper=self._act_color)
        self._act_bar = ColorBar(color_mapper=self._act_color, width=10, title="spikes")
        act.add_layout(self._act_bar, "right")
        self._act_fig = act

        self._trace_src = ColumnDataSource(dict(xs=[], ys=[], color=[], name=[]), name="lfp-traces")
        tr = figure(height=260, sizing_mode="stretch_width", title="LFP traces", x_axis_label="time (ms)",
                    y_axis_label="LFP", tools="pan,wheel_zoom,reset,save")
        tr.multi_line("xs", "ys", source=self._trace_src, color="color", legend_field="name", line_width=1.5)
        tr.add_layout(tr.legend[0], "right")
        tr.legend.click_policy = "hide"
        self._now = Span(location=0.0, dimension="height", line_color="#555555", line_dash="dashed", visible=False)
        tr.add_layout(self._now)
        self._trace_fig = tr

        self._layout.objects = [
            self.note,
            pn.Row(pn.pane.Bokeh(self._map_fig), pn.pane.Bokeh(self._act_fig)),
            self.time,
            pn.Row(self.electrodes, self.population, self.activity_ms),
            self.subtract,
            pn.pane.Bokeh(self._trace_fig, sizing_mode="stretch_width")]

    # ------------------------------------------------------------------ model changes
    def _clear(self) -> None:
        """Forget what was read (a new network, a reset)."""
        self._times = np.zeros(0)
        self._data = np.zeros((0, 0), np.float32)
        self._spikes = np.zeros(0, np.int64)  # global ids of the last activity window read
        self._t = None                        # (version, simulated ms) of the last read
        self._scrub = None                    # the held samples and spikes, while paused
        self._continuous = False              # the buffer runs up to now (no gap since the last read)

    def _follow_model(self) -> None:
        state = self.state
        sim = state.sim
        key = (state.version, id(sim))
        if key == self._key:
            return
        self._key = key
        self._clear()
        if not self._built:
            self._build()
        rec = sim.lfp  # not kept: a rebuild lets the old network (and its kernels) go first
        self._units, self._interval = rec.units, rec.interval
        same_grid = getattr(self, "_shape", None) == tuple(int(g) for g in rec.grid.shape)
        self._shape = tuple(int(g) for g in rec.grid.shape)
        self._pitch = float(state.spec.recorders.lfp.electrodes.pitch)
        self._sheet = SheetBins(sim.network, rec.grid.extent, self._pitch)
        pos = rec.positions  # where the LFP is computed: the centre of the kernel bin each falls in
        gx, gy = self._shape
        idx = np.arange(gx * gy)
        # the cells at the electrodes' nominal places (a regular grid centred on the sheet):
        # the bin centres need not be evenly spaced (6 electrodes 0.15 mm apart on 1 mm)
        cx, cy = grid_positions(self._shape, self._pitch)
        self._map_src.data = dict(x=cx, y=cy, w=np.full(idx.size, self._pitch), h=np.full(idx.size, self._pitch),
                                  value=np.zeros(idx.size), ix=idx // gy, iy=idx % gy, e=idx,
                                  bx=pos[:, 0], by=pos[:, 1])
        ex, ey = rec.grid.extent
        self._xr.update(start=-ex / 2, end=ex / 2)
        self._yr.update(start=-ey / 2, end=ey / 2)
        self._quiet = True
        try:
            options = {electrode_label(k, self._shape): int(k) for k in idx}
            self.electrodes.options = options
            if not (same_grid and self.electrodes.value):  # the same grid keeps its choice
                self.electrodes.value = default_electrodes(self._shape)
            pops = [ALL] + self._sheet.populations
            self.population.options = pops
            if self.population.value not in pops:
                self.population.value = ALL
            self.time.param.update(start=0.0, end=max(rec.interval, 1e-3), value=0.0, step=rec.interval,
                                   disabled=True)
        finally:
            self._quiet = False
        lfp = state.spec.recorders.lfp
        self.note.object = (f"**{gx} × {gy} electrodes**, {self._pitch:g} mm apart, {-lfp.electrodes.depth:g} mm "
                            f"below the surface, a sample every {rec.interval:g} ms; {METHODS[rec.method]}. "
                            "Map and activity share the sheet's axes; the session holds the last "
                            f"{(state.record_window_ms or 0) / 1000:g} s.")
        self._draw_empty()

    # ------------------------------------------------------------------ reading
    def refresh(self, active: bool = True) -> None:
        """Read and draw if due (called every tick of the app). ``active``: the tab is
        shown; hidden, nothing is read."""
        state = self.state
        if not has_lfp(state):
            if self._key is not None:  # the model has no LFP any more: let go of what was read
                self._key = None
                self._clear()
            return
        self._follow_model()
        if not active:
            self._continuous = False  # the buffer will have a gap: read the whole window again
            return
        at = (state.version, state.sim.t)
        if not state.running and state.sim.t > 0:  # paused or finished: the slider scrubs
            if self._scrub is None or self._scrub["at"] != at:
                self._enter_scrub(at)
            return
        if self._scrub is not None:  # running again: the copy goes
            self._scrub = None
            self.time.disabled = True
        if at == self._t:
            return
        now = time.perf_counter()
        wait = max(self.period_s, self._cost / self.budget if self.budget > 0 else 0.0)
        if now - self._last_read < wait:
            return
        self._read_live()
        self._cost = time.perf_counter() - now
        self._last_read = now

    def _read_live(self) -> None:
        state = self.state
        w = float(self.activity_ms.value)
        with state.locked():
            sim = state.sim
            t = sim.t
            start = self._times[-1] if self._continuous and self._times.size else t - self.trace_ms
            times, new = sim.lfp.window(start)
            new = np.asarray(new, np.float32)  # a copy, the record's own arrays stay its own
            _, ids = sim.spike_record.window(t - w)
        self._t = (state.version, t)
        self._continuous = True
        if self._times.size and times.size and times[0] <= self._times[-1]:  # reset under us: start again
            self._times, self._data = np.zeros(0), np.zeros((new.shape[0], 0), np.float32)
        times = np.concatenate([self._times, times]) if self._times.size else np.asarray(times, np.float64)
        data = np.concatenate([self._data, new], axis=1) if self._data.size else new
        a = trace_window(times, times.size - 1, self.trace_ms, centred=False)[0]
        self._times, self._data, self._spikes = times[a:], data[:, a:], ids
        self._redraw()
        if self._times.size:  # the slider shows the time and the span held; Pause lets it move
            end = float(self._times[-1])
            start = max(self._interval, end - (state.record_window_ms or end))
            if end > start:
                self._quiet = True
                try:
                    self.time.param.update(start=start, end=end, value=end)
                finally:
                    self._quiet = False

    def _enter_scrub(self, at) -> None:
        """Paused at ``at``: copy the samples held and the spikes around them, once, and
        put the slider at the end."""
        state = self.state
        wmax = max(ACTIVITY_WINDOWS_MS)
        with state.locked():
            sim = state.sim
            times, sig = sim.lfp.data()
            times, sig = np.array(times, np.float64), np.array(sig, np.float32)
            first = times[0] if times.size else sim.t
            steps, ids = sim.spike_record.window(first - wmax)
            dt = sim.network.dt
        keep = self._sheet.bin[ids] >= 0
        self._scrub = dict(at=at, times=times, data=sig, stamps=(steps[keep] + 1) * dt, ids=ids[keep].astype(np.int32))
        self._t = at
        self._continuous = False
        self._quiet = True
        try:
            if times.size >= 2:
                self.time.param.update(start=float(times[0]), end=float(times[-1]), value=float(times[-1]),
                                       step=self._interval, disabled=False)
            else:
                self.time.disabled = True
        finally:
            self._quiet = False
        self._redraw()

    def _scrubbed(self) -> None:
        if not self._quiet and self._scrub is not None:
            self._redraw()

    # ------------------------------------------------------------------ drawing
    def _draw_empty(self) -> None:
        self._trace_src.data = dict(xs=[], ys=[], color=[], name=[])
        self._act_src.data = dict(image=[np.zeros(self._sheet.n[::-1], np.float32)], x=[-self._sheet.extent[0] / 2],
                                  y=[-self._sheet.extent[1] / 2], dw=[self._sheet.extent[0]],
                                  dh=[self._sheet.extent[1]])
        self._draw_chosen()
        self._map_fig.title.text = "LFP (press Run)"

    def _redraw(self) -> None:
        """Map, traces and activity from what was read last (live) or at the slider (paused)."""
        if self._quiet or not self._built or self._key is None:
            return
        s = self._scrub
        if s is not None:
            times, data = s["times"], s["data"]
            if times.size == 0:
                return
            j = int(np.clip(np.searchsorted(times, float(self.time.value) - 1e-9), 0, times.size - 1))
            t_show = float(times[j])
            a, b = trace_window(times, j, self.trace_ms, centred=True)
            w = float(self.activity_ms.value)
            lo, hi = np.searchsorted(s["stamps"], [t_show - w + 1e-9, t_show + 1e-9])
            ids = s["ids"][lo:hi]
        else:
            times, data = self._times, self._data
            if times.size == 0:
                return
            j, t_show = times.size - 1, float(times[-1])
            a, b = trace_window(times, j, self.trace_ms, centred=False)
            ids = self._spikes
        window = data[:, a:b]
        base = window.mean(axis=1) if self.subtract.value and window.shape[1] else np.zeros(data.shape[0], np.float32)
        shown = window - base[:, None]
        # symmetric about 0, to the 99th percentile of the window's values: the one largest
        # swing would leave the map pale
        lim = float(np.percentile(np.abs(shown), 99)) if shown.size else 0.0
        factor, unit = display_unit(self._units, lim)
        lim = lim * factor if lim > 0 else 1.0
        what = "LFP − mean" if self.subtract.value else "LFP"
        self._map_src.data["value"] = ((data[:, j] - base) * factor).astype(np.float64)  # this column only
        self._map_color.update(low=-lim, high=lim)
        self._map_bar.title = f"{what} ({unit})"
        self._map_fig.title.text = f"LFP at t = {t_show:.1f} ms"
        chosen = [k for k in self.electrodes.value if k < data.shape[0]]
        colors = [Category10_10[i % MAX_TRACES] for i in range(len(chosen))]
        tt = times[a:b]
        self._trace_src.data = dict(xs=[tt] * len(chosen), ys=[(shown[k] * factor).astype(np.float32) for k in chosen],
                                    color=colors, name=[electrode_label(k, self._shape) for k in chosen])
        self._trace_fig.yaxis.axis_label = f"{what} ({unit})"
        self._trace_fig.title.text = (f"LFP traces: {len(chosen)} electrode{'s' if len(chosen) != 1 else ''}"
                                      + (f", the {self.trace_ms:g} ms around t = {t_show:.1f} ms" if s is not None
                                         else f", the last {self.trace_ms:g} ms"))
        self._now.location, self._now.visible = t_show, s is not None
        self._draw_chosen(chosen, colors)
        self._draw_activity(ids, t_show)

    def _draw_chosen(self, chosen=None, colors=None) -> None:
        if chosen is None:
            chosen = list(self.electrodes.value)
            colors = [Category10_10[i % MAX_TRACES] for i in range(len(chosen))]
        d = self._map_src.data
        x, y = np.asarray(d["x"]), np.asarray(d["y"])
        ok = [k for k in chosen if k < x.size]
        self._chosen_src.data = dict(x=x[ok], y=y[ok], w=np.full(len(ok), self._pitch), h=np.full(len(ok), self._pitch),
                                     color=colors[:len(ok)], e=ok)

    def _draw_activity(self, ids: np.ndarray, t_show: float) -> None:
        sheet = self._sheet
        pop = self.population.value
        counts = sheet.counts(ids, pop)
        self._act_src.data = dict(image=[counts.astype(np.float32)], x=[-sheet.extent[0] / 2],
                                  y=[-sheet.extent[1] / 2], dw=[sheet.extent[0]], dh=[sheet.extent[1]])
        self._act_color.high = max(float(counts.max()), 1.0)
        w = float(self.activity_ms.value)
        side = sheet.extent[0] / sheet.n[0]
        self._act_fig.title.text = f"Spikes{'' if pop == ALL else ' of ' + pop}, {t_show - w:.0f}–{t_show:.0f} ms"
        self._act_bar.title = f"spikes in {w:g} ms per {side:.2g} mm square"

    # ------------------------------------------------------------------ choosing electrodes
    def _tapped(self, attr, old, new) -> None:
        """A click on an electrode (Bokeh's TapTool selects its cell): show or hide its trace."""
        if not new:
            return
        k = int(self._map_src.data["e"][new[0]])
        self._map_src.selected.indices = []  # a second click on the same electrode counts again
        self.toggle(k)

    def toggle(self, k: int) -> None:
        """Add electrode ``k`` to the traces, or remove it (at most ``MAX_TRACES``)."""
        chosen = list(self.electrodes.value)
        if k in chosen:
            chosen.remove(k)
        elif len(chosen) < MAX_TRACES:
            chosen.append(k)
        else:
            chosen = chosen[1:] + [k]  # the oldest makes room
        self.electrodes.value = chosen
