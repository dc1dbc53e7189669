"""The lesson panel: an introduction, then the lessons of ``widgets/lesson_content.py`` step
by step (Back / Show me / Next), with the plot a step needs: the f-I curve with the points
the student has measured, or the in-degree distributions of the connection rules."""
from __future__ import annotations

import numpy as np
import panel as pn
import param
from bokeh.models import ColumnDataSource
from bokeh.palettes import Category10_10
from bokeh.plotting import figure

from sim_core.errors import SpikeScopeError

from .lesson_content import INTRO, LESSONS
from .state import SimulationState

CHOOSE = "(introduction)"
SETTLE_SPIKES = 1  # the first interval after a change of I_e is a transient: not measured


class LessonPanel(pn.viewable.Viewer):
    state = param.ClassSelector(class_=SimulationState)
    scans = param.Parameter(default=None, doc="the app's ScanView, for the phase-diagram step")
    lesson = param.String(default="")
    step = param.Integer(default=0)

    def __init__(self, **params):
        super().__init__(**params)
        titles = {lesson.title: key for key, lesson in LESSONS.items()}
        self._keys = {CHOOSE: "", **titles}
        self.choose = pn.widgets.Select(label="Lesson", options=list(self._keys), value=CHOOSE, width=320)
        self.text = pn.pane.Markdown(INTRO, width=320, css_classes=["lesson-text"])
        self.task = pn.pane.Alert("", alert_type="info", visible=False, width=320, css_classes=["lesson-task"])
        self.back = pn.widgets.Button(label="◀ Back", width=80, disabled=True)
        self.show_me = pn.widgets.Button(label="Show me", width=90, visible=False)
        self.next = pn.widgets.Button(label="Next ▶", color="primary", width=80, visible=False)
        self.back.on_click(lambda e: self.go(self.step - 1))
        self.next.on_click(lambda e: self.go(self.step + 1))
        self.show_me.on_click(lambda e: self.do_show())
        self._quiet = False  # showing a restored session's step: load nothing
        self.choose.param.watch(lambda e: self.open(self._keys[e.new], enter=not self._quiet), "value")
        self._fi = _FiPlot()
        self._degrees = _DegreePlot()
        self.plot = pn.Column(width=330)
        self.state.param.watch(lambda e: self._spec_changed(), "spec")

    def __panel__(self):
        return pn.Column(self.choose, self.text, self.task, pn.Row(self.back, self.show_me, self.next), self.plot,
                         width=340, css_classes=["lessons"])

    # ------------------------------------------------------------------ navigation
    @property
    def current(self):
        lesson = LESSONS.get(self.lesson)
        return lesson.steps[self.step] if lesson else None

    def open(self, key: str, enter: bool = True) -> None:
        """Start lesson ``key`` ('' for the introduction)."""
        self.lesson = key
        if self._keys[self.choose.value] != key:
            self.choose.value = next(t for t, k in self._keys.items() if k == key)
        self._fi.reset()  # a lesson's measured points stay from step to step
        self.go(0, enter)

    def show_step(self, key: str, index: int) -> None:
        """Show a step of a lesson without doing what opening it does (a restored session
        has its model already)."""
        self._quiet = True
        try:
            self.open(key, enter=False)
        finally:
            self._quiet = False
        self.go(index, enter=False)

    def go(self, index: int, enter: bool = True) -> None:
        lesson = LESSONS.get(self.lesson)
        if lesson is None:
            self.text.object, self.task.visible, self.plot.objects = INTRO, False, []
            self.back.disabled, self.next.visible, self.show_me.visible = True, False, False
            return
        self.step = max(0, min(index, len(lesson.steps) - 1))
        s = lesson.steps[self.step]
        if enter and s.enter is not None:
            self._act(s.enter, f"lesson: {s.title}")
        self.text.object = f"**{self.step + 1}/{len(lesson.steps)} · {s.title}**\n\n{s.text}"
        self.back.disabled = self.step == 0
        self.next.visible = True
        self.next.disabled = self.step == len(lesson.steps) - 1
        self.show_me.visible = s.show is not None or s.view == "scan"
        self.plot.objects = {"fi": [self._fi.pane], "degrees": [self._degrees.pane]}.get(s.view, [])
        self._task()
        self._spec_changed()

    def do_show(self) -> None:
        """The change the step asks for, made for the student."""
        s = self.current
        if s is None:
            return
        if s.view == "scan" and self.scans is not None:
            self.scans.setup_phase_diagram()
            self.scans.start()
            self.state.message = "lesson: phase diagram started (Scan tab)"
        elif s.show is not None:
            self._act(s.show, f"lesson: shown — {s.title}")

    def _act(self, action, message: str) -> None:
        try:
            action(self.state)
        except SpikeScopeError as exc:
            self.state.message = f"lesson: {exc}"
            return
        self.state.message = message

    def _task(self) -> None:
        s = self.current
        if s is None or not s.task:
            self.task.visible = False
            return
        done = s.done is not None and s.done(self.state.spec)
        self.task.object = ("✓ done — " if done else "Your turn: ") + s.task
        self.task.alert_type = "success" if done else "info"
        self.task.visible = True

    def _spec_changed(self) -> None:
        s = self.current
        if s is None:
            return
        self._task()
        if s.view == "degrees":
            self._degrees.update(self.state)

    # ------------------------------------------------------------------ live
    def refresh(self, snap) -> None:
        """From the app's tick: the f-I step measures the neuron's rate as it runs."""
        s = self.current
        if s is not None and s.view == "fi":
            self._fi.measure(self.state, snap)


class _FiPlot:
    """Theory (continuous and on the step grid) and the rates measured in this session."""

    def __init__(self):
        from sim_core.analysis.fi import lif_rate
        fig = figure(height=230, width=320, title="f–I curve", x_axis_label="I_e (pA)",
                     y_axis_label="rate (spikes/s)", tools="save", toolbar_location=None)
        self._theory = ColumnDataSource(dict(x=[], y=[]))
        self._grid = ColumnDataSource(dict(x=[], y=[]))
        self._points = ColumnDataSource(dict(x=[], y=[]), name="fi-measured")  # named: the browser test reads it
        fig.line("x", "y", source=self._theory, color="#888", legend_label="theory")
        fig.scatter("x", "y", source=self._grid, size=5, fill_color=None, line_color="#888",
                    legend_label="on the 0.1 ms grid")
        fig.scatter("x", "y", source=self._points, size=9, color="#d62728", legend_label="measured")
        fig.legend.location, fig.legend.label_text_font_size = "top_left", "10px"
        self.fig, self.pane = fig, pn.pane.Bokeh(fig)
        self._lif_rate = lif_rate
        self.measured: dict[float, float] = {}
        self._since = None  # (I_e, params, t) of the current setting

    def reset(self):
        self.measured, self._since = {}, None
        self._points.data = dict(x=[], y=[])

    def measure(self, state, snap) -> None:
        spec = state.spec
        if "neuron" not in spec.populations:
            return
        params = dict(spec.populations["neuron"].params)
        key = tuple(sorted((k, v) for k, v in params.items() if isinstance(v, (int, float))))
        if self._since is None or self._since[0] != key or snap.t < self._since[1]:  # changed, or Reset
            self._since = (key, snap.t)
            self._draw_theory(params)
            return
        gid = snap.sim.network.pop_start["neuron"]
        steps, ids = snap.spikes_since(self._since[1])
        times = np.sort((steps[ids == gid] + 1) * snap.sim.network.dt)[SETTLE_SPIKES:]
        from sim_core.analysis.fi import regular_rate
        rate = regular_rate(times) if times.size >= 3 else None
        I_e = float(params.get("I_e", 0.0))
        if rate is not None and self.measured.get(I_e) != rate:
            self.measured[I_e] = rate
            xs = sorted(self.measured)
            self._points.data = dict(x=xs, y=[self.measured[x] for x in xs])

    def _draw_theory(self, params):
        p = {k: float(params[k]) for k in ("C_m", "tau_m", "t_ref", "E_L", "V_reset", "V_th") if k in params}
        top = max(2000.0, *(self.measured or {0.0: 0}).keys(), float(params.get("I_e", 0.0)) * 1.2)
        x = np.linspace(0.0, top, 300)
        coarse = np.arange(0.0, top + 1.0, 100.0)
        self._theory.data = dict(x=x, y=self._lif_rate(x, **p))
        self._grid.data = dict(x=coarse, y=self._lif_rate(coarse, dt=0.1, **p))


class _DegreePlot:
    """In-degree distribution of each projection out of S, one line per rule."""

    def __init__(self):
        fig = figure(height=230, width=320, title="Inputs per target neuron", x_axis_label="in-degree",
                     y_axis_label="target neurons", tools="save", toolbar_location=None)
        self._src = ColumnDataSource(dict(xs=[], ys=[], color=[], label=[]), name="lesson-degrees")
        fig.multi_line("xs", "ys", source=self._src, color="color", line_width=2, legend_field="label")
        fig.legend.label_text_font_size = "10px"
        self.fig, self.pane = fig, pn.pane.Bokeh(fig)

    def update(self, state) -> None:
        from sim_core.analysis.degrees import degrees, histogram
        from sim_core.connectivity.build import build_connectome
        spec = state.spec
        # the network as built (same seed: the connectome is the simulation's, spike for spike)
        conns = [c for c in build_connectome(spec, state.sim.network.seed).connections
                 if c.source in spec.populations]
        xs, ys, colors, labels = [], [], [], []
        for k, c in enumerate(conns):
            _, in_deg = degrees(c.indptr, c.targets, spec.populations[c.target].size)
            x, n = histogram(in_deg)
            xs.append(np.repeat(x, 2)[1:].tolist() + [x[-1] + 1])
            ys.append(np.repeat(n, 2).tolist())
            colors.append(Category10_10[k % 10])
            labels.append(f"{spec.projections[c.index].rule.__class__.TAG[1]} (std {in_deg.std():.1f})")
        self._src.data = dict(xs=xs, ys=ys, color=colors, label=labels)
