"""Parameter scans from the app: two spec paths with their values, run on Dask in the
background (``sim_core.scan.scan``), shown as a heatmap of a population's rate, CV ISI or
synchrony next to the runs in the registry. Clicking a cell loads that point's spec into
the live session. ``setup_phase_diagram()``: Brunel's phase diagram (g against the input
rate eta) in one call."""
from __future__ import annotations

from html import escape  # error and status text may carry a spec's strings: never markup
import threading

import numpy as np
import panel as pn
import param
from bokeh.models import ColorBar, ColumnDataSource, LinearColorMapper, TapTool
from bokeh.palettes import Viridis256
from bokeh.plotting import figure

from sim_core.errors import SpikeScopeError
from sim_core.scan.paths import parse_param

from .state import SimulationState

#: heatmap metrics: label -> key of a scan point (a dict per population)
METRICS = {"rate (spikes/s)": "rates_hz", "CV ISI": "cv_isi", "synchrony (Fano factor, 1 ms)": "synchrony"}
_TITLES = {"rates_hz": "Rate of {pop} (spikes/s)", "cv_isi": "CV ISI of {pop}",
           "synchrony": "Synchrony of {pop} (Fano factor of the count in 1 ms bins)"}


def _fmt(x) -> str:
    """An axis value (g, eta) short: 5.0 -> '5'."""
    return f"{x:g}" if isinstance(x, float) else str(x)


class ScanView(pn.viewable.Viewer):
    state = param.ClassSelector(class_=SimulationState)

    def __init__(self, **params):
        super().__init__(**params)
        first, second = self._default_paths()
        self.param1 = pn.widgets.TextInput(label="parameter 1 (spec path=values)", value=first)
        self.param2 = pn.widgets.TextInput(label="parameter 2 (spec path=values)", value=second)
        self.t_sim = pn.widgets.FloatInput(label="t_sim (ms)", value=300.0, start=1.0, width=120)
        self.t_presim = pn.widgets.FloatInput(label="warm-up (ms)", value=0.0, start=0.0, width=120)
        self.workers = pn.widgets.IntInput(label="Dask workers", value=2, start=1, width=120)
        self.population = pn.widgets.Select(label="population", options=list(self.state.spec.populations), width=120)
        self.metric = pn.widgets.Select(label="colour by", options=METRICS, value="rates_hz", width=200)
        self.run_button = pn.widgets.Button(label="Run scan", color="primary", width=120)
        self.run_button.on_click(lambda e: self.start())
        self.progress = pn.indicators.Progress(value=0, max=1, width=300, visible=False)
        self.message = pn.pane.Markdown("")
        self.error = pn.pane.Alert("", alert_type="danger", visible=False)
        self.runs = pn.pane.DataFrame(None, sizing_mode="stretch_width", max_rows=30, index=False)
        self._src = ColumnDataSource(dict(x=[], y=[], value=[], rate=[], cv=[], sync=[], label=[], point=[]))
        self._src.selected.on_change("indices", self._on_tap)
        self._mapper = LinearColorMapper(palette=Viridis256, low=0, high=1, nan_color="lightgray")
        self._fig = None
        self._points: list[dict] = []
        self._drawn = None  # (points, population, metric) on the heatmap
        self._total = 0
        self._running = False
        self._thread_error = ""
        self._runs_stale = True
        self._scan = None  # (spec, grid points, {path: Axis}) of the scan shown: what load_point loads
        self.population.param.watch(lambda e: self.refresh(), "value")
        self.metric.param.watch(lambda e: self.refresh(), "value")
        self.state.param.watch(lambda e: self._on_spec(), "spec")

    def _default_paths(self):
        """Brunel's phase diagram (g x eta, ``sim_core.scan.phase``) for a Brunel network,
        else a population's input rate and an inhibitory weight, each at 0.8x and 1.2x."""
        from sim_core.scan.phase import brunel_params
        spec = self.state.spec
        try:
            return tuple(f"{path}=" + ",".join(str(v) for v in values)
                         for path, values in brunel_params(spec).items())
        except SpikeScopeError:
            pass
        inputs = [n for n, i in spec.inputs.items() if i.model == "poisson_generator"]
        first = f"inputs.{inputs[0]}.params.rate=" + ",".join(
            str(round(spec.inputs[inputs[0]].params.get("rate", 1000.0) * f)) for f in (0.8, 1.2)) if inputs else ""
        inh = [i for i, p in enumerate(spec.projections) if isinstance(p.synapse.weight, float) and p.synapse.weight < 0]
        second = (f"projections[{inh[0]}].synapse.weight=" + ",".join(
            str(round(spec.projections[inh[0]].synapse.weight * f, 4)) for f in (0.75, 1.25))) if inh else ""
        return first, second

    def _on_spec(self):
        self.population.options = list(self.state.spec.populations)

    def __panel__(self):
        return pn.Column(
            pn.pane.Markdown("Each point is a full simulation on a Dask worker and a run in the registry. "
                             "Click a cell of the heatmap to load its point into the live simulation."),
            self.param1, self.param2, pn.Row(self.t_sim, self.t_presim, self.workers, self.run_button),
            pn.Row(self.metric, self.population),
            self.progress, self.message, self.error, pn.pane.Bokeh(self._figure(), sizing_mode="stretch_width"),
            "**Runs in the registry (newest first)**", self.runs, sizing_mode="stretch_width")

    def _figure(self):
        if self._fig is None:
            fig = figure(height=320, title="Rate (spikes/s)", tools="hover,save", x_range=[], y_range=[],
                         tooltips=[("point", "@label"), ("rate", "@rate{0.00} spikes/s"), ("CV ISI", "@cv{0.00}"),
                                   ("synchrony", "@sync{0.0}"), ("", "click: load this point")])
            cells = fig.rect("x", "y", 1, 1, source=self._src, line_color="white",
                             fill_color={"field": "value", "transform": self._mapper},
                             nonselection_fill_alpha=1.0, selection_line_color="black")
            fig.add_tools(TapTool(renderers=[cells]))
            fig.add_layout(ColorBar(color_mapper=self._mapper), "right")
            self._fig = fig
        return self._fig

    # ------------------------------------------------------------------ scan
    def params(self) -> dict[str, list]:
        out = {}
        for w in (self.param1, self.param2):
            if w.value.strip():
                path, values = parse_param(w.value)
                out[path] = values
        if not out:
            raise SpikeScopeError("give at least one parameter as PATH=v1,v2,...")
        return out

    def setup_phase_diagram(self, g=None, eta=None, *, network: bool = True, t_sim: float | None = None,
                            t_presim: float | None = None, metric: str = "synchrony") -> dict[str, list]:
        """Set the view up for Brunel's phase diagram: the live model becomes
        ``sim_core.scan.phase.brunel_network()`` (``network=False``: keep the live model,
        which must be a Brunel network of iaf_psc_delta neurons), parameter 1 the relative
        inhibition ``g`` (both inhibitory weights, -g J), parameter 2 the input rate as
        ``eta`` = nu_ext / nu_thr (defaults ``BRUNEL_G`` x ``BRUNEL_ETA``), t_sim and the
        warm-up ``PHASE_T_SIM`` / ``PHASE_T_PRESIM``, the heatmap coloured by ``metric``
        of E. Returns the scan's {spec path: values}; ``start()`` runs it."""
        from sim_core.scan import phase
        from sim_core.spec import from_dict
        if network:
            self.state.set_spec(from_dict(phase.brunel_network()))
        params = phase.brunel_params(self.state.spec, phase.BRUNEL_G if g is None else g,
                                     phase.BRUNEL_ETA if eta is None else eta)
        (p1, v1), (p2, v2) = params.items()
        self.param1.value = f"{p1}=" + ",".join(str(v) for v in v1)
        self.param2.value = f"{p2}=" + ",".join(str(v) for v in v2)
        self.t_sim.value = float(phase.PHASE_T_SIM if t_sim is None else t_sim)
        self.t_presim.value = float(phase.PHASE_T_PRESIM if t_presim is None else t_presim)
        self.metric.value = metric
        self.population.value = "E"
        self.state.message = "Brunel's phase diagram: g x eta set up in the Scan tab (Run scan)"
        return params

    def start(self):
        if self._running:
            return
        try:
            params = self.params()
        except SpikeScopeError as exc:
            self.error.object, self.error.visible = escape(str(exc)), True
            return
        self.error.visible = False
        self._points, self._running, self._thread_error, self._drawn = [], True, "", None
        self._total = int(np.prod([len(v) for v in params.values()]))
        self.progress.max, self.progress.value, self.progress.visible = self._total, 0, True
        spec, t_sim, workers = self.state.spec, float(self.t_sim.value), int(self.workers.value)
        from sim_core.scan.runner import grid
        self._scan = (spec, grid(params), _axes_of(spec, params))
        threading.Thread(target=self._run, args=(spec, params, t_sim, float(self.t_presim.value or 0.0), workers),
                         daemon=True, name="spikescope-scan").start()

    def _run(self, spec, params, t_sim, t_presim, workers):
        from sim_core.scan.runner import scan
        try:
            scan(spec, params, t_sim=t_sim, t_presim=t_presim, workers=workers, on_result=self._points.append)
        except Exception as exc:  # shown in the view; the session goes on
            self._thread_error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        finally:
            self._running = False
            self._runs_stale = True

    # ------------------------------------------------------------------ a point into the live session
    def point_spec(self, index: int) -> dict:
        """The plain spec of grid point ``index`` of the scan shown (``point_specs``)."""
        from sim_core.scan.runner import point_specs
        if self._scan is None:
            raise SpikeScopeError("no scan to load a point from: run one first")
        spec, points, _axes = self._scan
        return point_specs(spec, [points[index]])[0]

    def point_text(self, index: int) -> str:
        """'g=5, eta=2 (inputs.ext.params.rate=4000)' or 'PATH=value, ...' of grid point ``index``."""
        _spec, points, axes = self._scan
        parts = []
        for path, value in points[index].items():
            axis = axes.get(path)
            if axis is None:
                parts.append(f"{path}={value}")
            elif axis.name == "eta":
                parts.append(f"eta={_fmt(axis.value(value))} (input rate {value} spikes/s)")
            else:
                parts.append(f"{axis.name}={_fmt(axis.value(value))}")
        return ", ".join(parts)

    def load_point(self, index: int) -> str:
        """Load grid point ``index`` of the scan shown into the live session
        (``state.set_spec``: in place when only parameters differ from the live model, as
        for g and the input rate); the status line says which point. Returns
        'live' or 'rebuilt'; a refused spec leaves the session as it was and shows why."""
        from sim_core.spec import from_dict
        try:
            how = self.state.set_spec(from_dict(self.point_spec(index)))
        except SpikeScopeError as exc:
            self.error.object, self.error.visible = escape(str(exc)), True
            self.state.message = f"scan point not loaded: {exc}"
            return ""
        self.error.visible = False
        self.state.message = f"loaded scan point {self.point_text(index)}"
        return how

    def _on_tap(self, attr, old, new):
        """A click on a heatmap cell (Bokeh's TapTool selects it): load its point."""
        if not new:
            return
        point = self._src.data["point"][new[0]]
        self._src.selected.indices = []  # a second click on the same cell loads it again
        self.load_point(int(point))

    # ------------------------------------------------------------------ refresh
    def refresh(self):
        """Called by the app's periodic callback: progress, heatmap, runs table."""
        if self._thread_error:
            self.error.object, self.error.visible, self._thread_error = escape(self._thread_error), True, ""
        self.progress.value = min(len(self._points), self._total)
        self.message.object = (f"scan: {len(self._points)} of {self._total} points"
                               + (" (running)" if self._running else "")) if self._total else ""
        self._heatmap()
        if not self._running and self._runs_stale:  # the registry is read once per scan, not per tick
            self._runs_stale = False
            self._runs_table()

    def _heatmap(self):
        pts = sorted((p for p in list(self._points) if p.get("rates_hz")), key=lambda p: p["index"])
        pop, metric = self.population.value, self.metric.value
        if not pts or pop is None or self._drawn == (len(pts), pop, metric):
            return  # nothing new: do not make the browser redraw
        self._drawn = (len(pts), pop, metric)
        axes = self._scan[2] if self._scan is not None else {}
        paths = list(pts[0]["params"])

        def shown(p, path):
            v = p["params"][path]
            return _fmt(axes[path].value(v)) if path in axes else str(v)

        def num(s):
            try:
                return float(s)
            except ValueError:
                return 0.0

        xs = [shown(p, paths[0]) for p in pts]
        ys = [shown(p, paths[1]) if len(paths) > 1 else "" for p in pts]

        def of(key):
            return np.array([np.nan if (p.get(key) or {}).get(pop) is None else float(p[key][pop]) for p in pts])

        cols = {"rates_hz": of("rates_hz"), "cv_isi": of("cv_isi"), "synchrony": of("synchrony")}
        value = cols[metric]
        self._fig.x_range.factors = sorted(set(xs), key=num)
        self._fig.y_range.factors = sorted(set(ys), key=num)
        name = lambda path: f"{axes[path].name} ({path})" if path in axes else path  # noqa: E731
        self._fig.xaxis.axis_label = name(paths[0])
        self._fig.yaxis.axis_label = name(paths[1]) if len(paths) > 1 else ""
        finite = value[np.isfinite(value)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        self._mapper.low, self._mapper.high = lo, max(hi, lo + 1e-9)
        self._fig.title.text = _TITLES[metric].format(pop=pop)
        self._src.data = dict(x=xs, y=ys, value=value, rate=cols["rates_hz"], cv=cols["cv_isi"],
                              sync=cols["synchrony"], label=[f"{x} / {y}" for x, y in zip(xs, ys)],
                              point=[p["index"] for p in pts])

    def _runs_table(self):
        try:
            from sim_core.io.registry import runs_frame
            df = runs_frame(columns=["id", "created", "model", "status", "seed", "backend", "sim_s",
                                     "rates_hz.*", "params.*"])
        except Exception as exc:  # an unreadable registry must not break the app
            self.runs.object = None
            self.message.object = escape(f"registry: {exc}")
            return
        if len(df):
            df = df.iloc[::-1].head(30)
        self.runs.object = df


def _axes_of(spec, params) -> dict:
    """{path: Axis} of the scan's paths that are Brunel's g and eta (shown as such)."""
    from sim_core.scan.phase import brunel_axes
    try:
        return {a.path: a for a in brunel_axes(spec) if a.path in params}
    except SpikeScopeError:
        return {}
