"""Parameter scans from the app: two spec paths with their values, run on Dask in the
background (``sim_core.scan.scan``), shown as a heatmap of a population's rate (e.g.
Brunel's phase diagram over g and the input rate) next to the runs in the registry."""
from __future__ import annotations

from html import escape  # error and status text may carry a spec's strings: never markup
import threading

import numpy as np
import panel as pn
import param
from bokeh.models import ColorBar, ColumnDataSource, LinearColorMapper
from bokeh.palettes import Viridis256
from bokeh.plotting import figure

from sim_core.errors import SpikeScopeError
from sim_core.scan.paths import parse_param

from .state import SimulationState


class ScanView(pn.viewable.Viewer):
    state = param.ClassSelector(class_=SimulationState)

    def __init__(self, **params):
        super().__init__(**params)
        first, second = self._default_paths()
        self.param1 = pn.widgets.TextInput(label="parameter 1 (spec path=values)", value=first)
        self.param2 = pn.widgets.TextInput(label="parameter 2 (spec path=values)", value=second)
        self.t_sim = pn.widgets.FloatInput(label="t_sim (ms)", value=300.0, start=1.0, width=120)
        self.workers = pn.widgets.IntInput(label="Dask workers", value=2, start=1, width=120)
        self.population = pn.widgets.Select(label="rate of", options=list(self.state.spec.populations), width=120)
        self.run_button = pn.widgets.Button(label="Run scan", color="primary", width=120)
        self.run_button.on_click(lambda e: self.start())
        self.progress = pn.indicators.Progress(value=0, max=1, width=300, visible=False)
        self.message = pn.pane.Markdown("")
        self.error = pn.pane.Alert("", alert_type="danger", visible=False)
        self.runs = pn.pane.DataFrame(None, sizing_mode="stretch_width", max_rows=30, index=False)
        self._src = ColumnDataSource(dict(x=[], y=[], rate=[], label=[]))
        self._mapper = LinearColorMapper(palette=Viridis256, low=0, high=1)
        self._fig = None
        self._points: list[dict] = []
        self._drawn = None  # (points, population) on the heatmap
        self._total = 0
        self._running = False
        self._thread_error = ""
        self._runs_stale = True
        self.population.param.watch(lambda e: self.refresh(), "value")
        self.state.param.watch(lambda e: self._on_spec(), "spec")

    def _default_paths(self):
        spec = self.state.spec
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
            pn.pane.Markdown("Each point is a full simulation on a Dask worker and a run in the registry."),
            self.param1, self.param2, pn.Row(self.t_sim, self.workers, self.population, self.run_button),
            self.progress, self.message, self.error, pn.pane.Bokeh(self._figure(), sizing_mode="stretch_width"),
            "**Runs in the registry (newest first)**", self.runs, sizing_mode="stretch_width")

    def _figure(self):
        if self._fig is None:
            fig = figure(height=320, title="Rate (spikes/s)", tools="hover,save", x_range=[], y_range=[],
                         tooltips=[("point", "@label"), ("rate", "@rate{0.00}")])
            fig.rect("x", "y", 1, 1, source=self._src, fill_color={"field": "rate", "transform": self._mapper},
                     line_color="white")
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
        threading.Thread(target=self._run, args=(spec, params, t_sim, workers), daemon=True,
                         name="spikescope-scan").start()

    def _run(self, spec, params, t_sim, workers):
        from sim_core.scan.runner import scan
        try:
            scan(spec, params, t_sim=t_sim, workers=workers, on_result=self._points.append)
        except Exception as exc:  # shown in the view; the session goes on
            self._thread_error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        finally:
            self._running = False
            self._runs_stale = True

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
        pts = [p for p in list(self._points) if "rates_hz" in p and p.get("rates_hz")]
        pop = self.population.value
        if not pts or pop is None or self._drawn == (len(pts), pop):
            return  # nothing new: do not make the browser redraw
        self._drawn = (len(pts), pop)
        paths = list(pts[0]["params"])
        fx = lambda p: f"{p['params'][paths[0]]}"  # noqa: E731
        fy = (lambda p: f"{p['params'][paths[1]]}") if len(paths) > 1 else (lambda p: "")  # noqa: E731
        xs, ys = [fx(p) for p in pts], [fy(p) for p in pts]
        rates = [float(p["rates_hz"].get(pop, np.nan)) for p in pts]
        self._fig.x_range.factors = sorted(set(xs), key=lambda s: float(s))
        self._fig.y_range.factors = sorted(set(ys), key=lambda s: float(s) if s else 0.0)
        self._fig.xaxis.axis_label = paths[0]
        self._fig.yaxis.axis_label = paths[1] if len(paths) > 1 else ""
        self._mapper.low, self._mapper.high = float(np.nanmin(rates)), max(float(np.nanmax(rates)), 1e-9)
        self._fig.title.text = f"Rate of {pop} (spikes/s)"
        self._src.data = dict(x=xs, y=ys, rate=rates, label=[f"{x} / {y}" for x, y in zip(xs, ys)])

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
