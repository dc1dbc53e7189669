"""Run / Pause / Step / Reset and the status line of a ``SimulationState``."""
from __future__ import annotations

from html import escape  # error and status text may carry a spec's strings: never markup
import panel as pn
import param

from .state import SimulationState


RTF_HELP = ("t: simulated time; spikes: all recorded so far; RTF (real-time factor): wall-clock time per "
            "simulated second while running (below 1: faster than real time)")


class Controls(pn.viewable.Viewer):
    state = param.ClassSelector(class_=SimulationState)

    def __init__(self, **params):
        super().__init__(**params)
        self.run_button = pn.widgets.Button(label="Run", color="success", width=80)
        self.pause_button = pn.widgets.Button(label="Pause", color="warning", width=80)
        self.step_button = pn.widgets.Button(label="Step", width=80)
        self.reset_button = pn.widgets.Button(label="Reset", width=80)
        self.run_button.on_click(lambda e: self.state.run())
        self.pause_button.on_click(lambda e: self.state.pause())
        self.step_button.on_click(lambda e: self.state.step())
        self.reset_button.on_click(lambda e: self.state.reset())
        # fixed height and clipped text: a changing text must not make the browser re-lay out the
        # page 6 times a second; the width follows the window so that a notebook cell does not
        # scroll sideways (640 px overflowed a 1,400 px JupyterLab window beside its side panel)
        self.status = pn.pane.HTML(self._status_html(), css_classes=["status"], margin=(12, 10),
                                   sizing_mode="stretch_width", min_width=200, height=28,
                                   stylesheets=[":host { overflow: hidden; white-space: nowrap; "
                                                "text-overflow: ellipsis; }"])
        self.backend = pn.widgets.Select(label="", options=["cpu", "auto", "gpu"], value=self.state.backend, width=80)
        self._reverting = False
        self.backend.param.watch(self._set_backend, "value")

    def _set_backend(self, event):
        if self._reverting:
            return
        from sim_core.backends import resolve
        from sim_core.errors import SpikeScopeError
        try:
            chosen = resolve(event.new)  # before anything is rebuilt: an unavailable GPU costs nothing
        except SpikeScopeError:
            self._revert(event.old, f"{event.new}: no GPU this server can use (an NVIDIA GPU with CuPy and "
                                    f"numba-cuda); the simulation goes on, on {self.state.sim.backend_name}")
            return
        if chosen == self.state.sim.backend_name:  # 'auto' naming what already runs: nothing to rebuild
            self.state.backend = event.new
            self.state.message = f"backend: {chosen}"
            self.refresh()
            return
        try:
            self.state.backend = event.new
            self.state.rebuild()
            self.state.message = f"backend: {self.state.sim.backend_name}"
        except Exception as exc:  # a clear message instead of a broken session
            self.state.backend = event.old
            self._revert(event.old, str(exc))
            self.state.rebuild()
            return
        self.refresh()

    def _revert(self, old, message):
        self._reverting = True
        try:
            self.backend.value = old
        finally:
            self._reverting = False
        self.state.message = message
        self.refresh()

    def _status_html(self):
        s = self.state
        msg = f" <span class='message'>— {escape(s.message)}</span>" if s.message else ""
        if not msg and s.phase == "ready":  # a first visit: say what to do
            msg = " <span class='message hint'>— press Run to start the simulation</span>"
        return (f"<span class='status-line {s.phase}' title='{RTF_HELP}'>{s.status_text()}</span>{msg}")

    def refresh(self):
        self.status.object = self._status_html()
        self.run_button.disabled = self.state.running
        self.pause_button.disabled = not self.state.running

    def __panel__(self):
        return pn.Row(self.run_button, self.pause_button, self.step_button, self.reset_button,
                      self.backend, self.status, sizing_mode="stretch_width")
