"""The SpikeScope exploration app: composes the widgets; no simulation logic here.

``create_app()`` builds one session (its own ``SimulationState``); ``serve()`` serves it
at the root URL on 127.0.0.1, with the shared server's limits (``ServerLimits``)."""
from __future__ import annotations

import ctypes
import dataclasses
import gc
import sys
import threading
from pathlib import Path

import panel as pn

from sim_core.analysis.clusters import clusters_of
from sim_core.errors import SpikeScopeError
from sim_core.spec import load
from widgets.controls import Controls
from widgets.diagram import DiagramView
from widgets.editor import NetworkEditor
from widgets.files import FilesPanel
from widgets.lesson_content import LESSONS
from widgets.lessons import LessonPanel
from widgets.lfp import LfpPanel, has_lfp
from widgets.plasticity import LearningPanel
from widgets.plots import ClusterView, MembraneView, RasterView, RateView, TopoMapView, snapshot
from widgets.scan import ScanView
from widgets.state import RUNNER, SessionLimits, SimulationState
from widgets.urlstate import from_query
from widgets.weights import WeightsPanel

DEFAULT_MODEL = Path(__file__).with_name("default_model.yaml")
REFRESH_MS = 170  # plots and status about 5.8 times a second (measured: docs/benchmarks.md)

CSS = """
.status-line { font-family: monospace; font-size: 15px; }
.live-stats { font-family: monospace; font-size: 13px; color: #444; }
.presenting .status-line { font-size: 20px; }
.presenting { font-size: 18px; }
.field-error input { border: 2px solid #d62728 !important; }
"""


@dataclasses.dataclass(frozen=True)
class ServerLimits:
    """``spikescope serve``'s limits for a server that many people share."""

    max_sessions: int = 12  # browser tabs open at once; more get a "server busy" page
    session: SessionLimits = SessionLimits(max_neurons=200_000, max_synapses=100_000_000)
    max_upload_mb: float = 8.0  # one websocket message: an uploaded spec (base64) and more
    # A closed tab's session is released this long after its connection ends (Bokeh's
    # default is 15 s, checked every 17 s; a reload within it reconnects to nothing anyway).
    release_after_ms: int = 3000


class Sessions:
    """The open sessions of one server: counted, so that a full server says so."""

    def __init__(self):
        self._lock = threading.Lock()
        self.open = 0

    def enter(self, limit: int) -> bool:
        with self._lock:
            if self.open >= limit:
                return False
            self.open += 1
            return True

    def leave(self) -> None:
        with self._lock:
            self.open -= 1


SESSIONS = Sessions()


def _release_memory() -> None:
    """Return a closed session's memory to the system: its arrays are freed by the garbage
    collector (Bokeh's documents hold reference cycles), and glibc keeps freed heap pages
    unless asked (measured: without malloc_trim the server stayed ~60 MB above its start
    after ten sessions closed)."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to trim
        pass


def busy_page(limit: int):
    return pn.Column(pn.pane.Markdown(
        f"## SpikeScope\n\nThis server already has **{limit}** sessions open, its limit. Close a SpikeScope "
        "tab or try again in a minute (whoever runs it can raise `spikescope serve --max-sessions`)."),
        sizing_mode="stretch_width")


STATS_MS = 500.0  # live statistics over the last half second
LEARNING_TAB = 4  # index of the Learning tab in the main tabs
LFP_TAB = 5  # the LFP tab, after it, only for a model with recorders.lfp


def _statistics_text(snap, window_ms: float) -> str:
    """``last 500 ms: 8.21 spikes/s · CV ISI 0.93 · synchrony 1.2`` of the recorded neurons."""
    from sim_core.analysis.stats import window_statistics
    t1 = snap.t
    t0 = max(0.0, t1 - window_ms)
    if t1 - t0 < 10.0:
        return ""
    sim = snap.sim
    steps, ids = snap.spikes_since(t0)
    n = sum(sim.spec.populations[p].size for p in sim.spike_record.recorded)
    s = window_statistics((steps + 1) * sim.network.dt, ids, max(sim.network.n_neurons, 1), t0, t1)
    s["rate_hz"] = s["rate_hz"] * sim.network.n_neurons / max(n, 1)  # per recorded neuron
    cv = "-" if s["cv_isi"] is None else f"{s['cv_isi']:.2f}"
    sync = "-" if s["synchrony"] is None else f"{s['synchrony']:.1f}"
    return (f"<span class='live-stats' title='mean rate of the recorded neurons, their mean ISI CV, and the "
            f"Fano factor of the population count in 1 ms bins (1: asynchronous; larger: synchronous)'>"
            f"last {t1 - t0:.0f} ms: {s['rate_hz']:.2f} spikes/s · CV ISI {cv} · synchrony {sync}</span>")


def create_app(spec=None, backend: str = "auto", threads: int | None = None,
               limits: SessionLimits | None = None):
    """One session of the app. Sessions share nothing."""
    pn.extension(raw_css=[CSS], notifications=False)
    linked, notice, preset = None, "", None
    if spec is None and pn.state.curdoc is not None and pn.state.curdoc.session_context is not None:
        linked, notice, preset = from_query(pn.state.session_args or {})  # ?preset=...&scale=... or ?spec=RUN
        if linked is not None:
            try:
                (limits or SessionLimits()).check(linked)
            except SpikeScopeError as exc:
                linked, notice, preset = None, f"{notice.split(' from ')[0]}: {exc}", None
    state = SimulationState(spec or linked or load(DEFAULT_MODEL), backend=backend, threads=threads,
                            limits=limits or SessionLimits())
    state.message = notice
    controls = Controls(state=state)
    raster = RasterView(state=state)  # its time axis serves all three plots: one change per refresh
    views = [raster] + [cls(state=state, x_range=raster.x_range) for cls in (RateView, MembraneView)]
    topo = TopoMapView(state=state)
    clusters = ClusterView(state=state)
    diagram = DiagramView(state=state)
    weights = WeightsPanel(state=state)
    scans = ScanView(state=state)
    learning = LearningPanel(state=state)
    lfp = LfpPanel(state=state)  # its figures are made when a model with an LFP first comes

    shown = {}  # what the plots show: redraw only when it changed (an idle page costs nothing)
    # fixed size, like the status line: changing text must not re-lay out the page
    stats = pn.pane.HTML("", css_classes=["live-stats"], margin=(0, 10), height=24, width=760)

    def tick():
        # one message per tick: the browser applies all changes, recomputes styles and
        # repaints once (measured: its renderer's CPU use fell by a quarter)
        if state.sim is None:  # the session has ended (a last callback may still come)
            return
        with pn.io.hold():
            state.poll()
            controls.refresh()
            if shown.get("at") != (state.t, state.version):
                shown["at"] = (state.t, state.version)
                live = views + [topo] + ([clusters] if clusters_of(state.spec) else [])
                snap = snapshot(state, max(v.window_ms for v in live))  # one read for all
                for v in live:
                    v.refresh(snap)
                stats.object = _statistics_text(snap, STATS_MS)
                lessons.refresh(snap)
                if clusters not in live:
                    clusters.refresh(snap)  # hides itself
            scans.refresh()
            # every tick: it samples on its own clock (a few times a second), and draws only
            # while its tab is shown
            learning.refresh(active=tabs.active == LEARNING_TAB)
            sync_tabs()
            lfp.refresh(active=tabs.active == LFP_TAB)

    activity = pn.Column(*views, clusters, topo, sizing_mode="stretch_width")
    # Learning fifth, then LFP where the model has one (sync_tabs): a saved session names its
    # tab by index (spikescope-session/1)
    tabs = pn.Tabs(("Activity", activity), ("Network", diagram), ("Weights", weights), ("Scan", scans),
                   ("Learning", learning), dynamic=False, sizing_mode="stretch_width")

    def sync_tabs():
        """The LFP tab joins the page with a model that records an LFP and leaves with it."""
        shown_lfp = len(tabs) > LFP_TAB
        if has_lfp(state) and not shown_lfp:
            tabs.append(("LFP", lfp))
        elif shown_lfp and not has_lfp(state):
            if tabs.active == LFP_TAB:
                tabs.active = 0
            tabs.pop(LFP_TAB)

    files = FilesPanel(state=state)
    if preset is not None:
        files.preset.value, files.scale.value = preset
    lessons = LessonPanel(state=state, scans=scans)  # the introduction first, then the lessons
    sidebar = pn.Column(pn.Card(lessons, title="Start here: introduction and lessons", collapsed=False, width=350,
                                css_classes=["lesson-card"]),
                        "### Model", files, "### Edit", NetworkEditor(state=state), width=360, css_classes=["sidebar"])
    # Presentation mode (a projector, a lecture): the sidebar folds away, text grows, and the
    # raster and rates shrink so that they and the controls fit 1280x720 without scrolling.
    # ?present=1 in the address starts in it.
    present = pn.widgets.Toggle(label="Presentation", value=False, width=120, margin=(12, 10))

    def presenting(on: bool):
        sidebar.visible = not on
        views[0].present(on, height=250)
        views[1].present(on, height=170)
        views[2].present(on)
        page.css_classes = ["presenting"] if on else []

    present.param.watch(lambda e: presenting(e.new), "value")

    def view() -> dict:  # what a saved session keeps of the page
        return {"tab": tabs.active, "presenting": present.value, "lesson": lessons.lesson, "step": lessons.step,
                "window_ms": raster.window_ms}

    def set_view(v: dict) -> None:
        if isinstance(v.get("window_ms"), (int, float)) and 10.0 <= v["window_ms"] <= 10_000.0:
            for w in views:
                w.window_ms = float(v["window_ms"])
        sync_tabs()  # a restored model with an LFP: its tab, before the saved tab is chosen
        if isinstance(v.get("tab"), int) and 0 <= v["tab"] < len(tabs):
            tabs.active = v["tab"]
        present.value = bool(v.get("presenting", False))
        if v.get("lesson") in LESSONS:
            step = v.get("step", 0)
            lessons.show_step(v["lesson"], step if isinstance(step, int) else 0)
        shown.clear()  # redraw at once

    from widgets.png import view_png
    files.get_view, files.set_view = view, set_view
    files.get_png = lambda: view_png(raster, views[1], f"{state.spec.name} · t = {state.t:.0f} ms")
    header = pn.Row(pn.pane.Markdown("## SpikeScope", margin=(0, 10)), pn.HSpacer(), present,
                    sizing_mode="stretch_width")
    page = pn.Column(header, controls, stats, pn.Row(sidebar, tabs, sizing_mode="stretch_width"),
                     sizing_mode="stretch_width")
    if pn.state.curdoc is not None and pn.state.curdoc.session_context is not None:
        if (pn.state.session_args or {}).get("present", [b""])[0] in (b"1", b"true", b"yes"):
            present.value = True
    tick()
    if pn.state.curdoc is not None and pn.state.curdoc.session_context is not None:
        pn.state.add_periodic_callback(tick, period=REFRESH_MS)
        pn.state.on_session_destroyed(lambda ctx: state.close())
    page.state, page.tick, page.present, page.stats = state, tick, present, stats  # for notebooks, tests and benchmarks
    page.lessons, page.scans, page.files, page.tabs = lessons, scans, files, tabs
    page.learning, page.lfp = learning, lfp
    return page


def server_session(backend: str, threads: int | None, limits: ServerLimits):
    """One browser session of `spikescope serve`: the app, or the busy page when the server
    is full; its count and memory are given back when the session ends."""
    if not SESSIONS.enter(limits.max_sessions):
        return busy_page(limits.max_sessions)

    def ended(ctx):
        SESSIONS.leave()
        _release_memory()
        print(f"session closed; {SESSIONS.open} open", file=sys.stderr, flush=True)

    try:
        page = create_app(backend=backend, threads=threads, limits=limits.session)
    except BaseException:
        SESSIONS.leave()
        raise
    pn.state.on_session_destroyed(ended)  # after create_app's own: the state is closed first
    return page


def serve(port: int = 5006, address: str = "127.0.0.1", show: bool = False, backend: str = "auto",
          threads: int | None = None, limits: ServerLimits | None = None):
    limits = limits or ServerLimits()
    # The sessions' simulation threads leave the GIL inside the kernel; hand it back to them
    # quickly when they return (the default 5 ms switch interval costs them ~10 % of a chunk).
    sys.setswitchinterval(0.001)
    origins = [f"{address}:{port}", f"localhost:{port}", f"127.0.0.1:{port}"]
    if address not in ("127.0.0.1", "localhost"):  # reached by this machine's name or address
        origins = ["*"]
    # the web server in a thread; the main thread advances the running simulations
    server = pn.serve(lambda: server_session(backend, threads, limits), port=port, address=address,
                      show=show, websocket_origin=origins, title="SpikeScope", threaded=True, start=True,
                      websocket_max_message_size=int(limits.max_upload_mb * 2**20),
                      unused_session_lifetime_milliseconds=limits.release_after_ms,
                      check_unused_sessions_milliseconds=max(limits.release_after_ms // 2, 500))
    stop = threading.Event()
    try:
        RUNNER.loop(stop)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
