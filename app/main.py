"""The SpikeScope exploration app: composes the widgets; no simulation logic here.

``create_app()`` builds one session (its own ``SimulationState``); ``serve()`` serves it
at the root URL on 127.0.0.1."""
from __future__ import annotations

import sys
import threading
from pathlib import Path

import panel as pn

from sim_core.spec import load
from widgets.controls import Controls
from widgets.diagram import DiagramView
from widgets.editor import NetworkEditor
from widgets.files import FilesPanel
from widgets.plots import MembraneView, RasterView, RateView, TopoMapView, snapshot
from widgets.scan import ScanView
from widgets.state import RUNNER, SimulationState
from widgets.weights import WeightsPanel

DEFAULT_MODEL = Path(__file__).with_name("default_model.yaml")
REFRESH_MS = 170  # plots and status about 5.8 times a second (measured: docs/benchmarks.md)

CSS = """
.status-line { font-family: monospace; font-size: 15px; }
.field-error input { border: 2px solid #d62728 !important; }
"""


def create_app(spec=None, backend: str = "auto", threads: int | None = None):
    """One session of the app. Sessions share nothing."""
    pn.extension(raw_css=[CSS], notifications=False)
    state = SimulationState(spec or load(DEFAULT_MODEL), backend=backend, threads=threads)
    controls = Controls(state=state)
    raster = RasterView(state=state)  # its time axis serves all three plots: one change per refresh
    views = [raster] + [cls(state=state, x_range=raster.x_range) for cls in (RateView, MembraneView)]
    topo = TopoMapView(state=state)
    diagram = DiagramView(state=state)
    weights = WeightsPanel(state=state)
    scans = ScanView(state=state)

    shown = {}  # what the plots show: redraw only when it changed (an idle page costs nothing)

    def tick():
        # one message per tick: the browser applies all changes, recomputes styles and
        # repaints once (measured: its renderer's CPU use fell by a quarter)
        with pn.io.hold():
            state.poll()
            controls.refresh()
            if shown.get("at") != (state.t, state.version):
                shown["at"] = (state.t, state.version)
                snap = snapshot(state, max(v.window_ms for v in views + [topo]))  # one read for all
                for v in views + [topo]:
                    v.refresh(snap)
            scans.refresh()

    activity = pn.Column(*views, topo, sizing_mode="stretch_width")
    tabs = pn.Tabs(("Activity", activity), ("Network", diagram), ("Weights", weights), ("Scan", scans), dynamic=False,
                   sizing_mode="stretch_width")
    sidebar = pn.Column("### Model", FilesPanel(state=state), "### Edit", NetworkEditor(state=state), width=360)
    page = pn.Column(pn.pane.Markdown("## SpikeScope", margin=(0, 10)), controls,
                     pn.Row(sidebar, tabs, sizing_mode="stretch_width"), sizing_mode="stretch_width")
    tick()
    if pn.state.curdoc is not None and pn.state.curdoc.session_context is not None:
        pn.state.add_periodic_callback(tick, period=REFRESH_MS)
        pn.state.on_session_destroyed(lambda ctx: state.close())
    page.state, page.tick = state, tick  # for notebooks, tests and benchmarks
    return page


def serve(port: int = 5006, address: str = "127.0.0.1", show: bool = False, backend: str = "auto",
          threads: int | None = None):
    # The sessions' simulation threads leave the GIL inside the kernel; hand it back to them
    # quickly when they return (the default 5 ms switch interval costs them ~10 % of a chunk).
    sys.setswitchinterval(0.001)
    origins = [f"{address}:{port}", f"localhost:{port}", f"127.0.0.1:{port}"]
    # the web server in a thread; the main thread advances the running simulations
    server = pn.serve(lambda: create_app(backend=backend, threads=threads), port=port, address=address,
                      show=show, websocket_origin=origins, title="SpikeScope", threaded=True, start=True)
    stop = threading.Event()
    try:
        RUNNER.loop(stop)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
