"""A session's simulation: the spec being explored, the built ``Simulation`` and the
background thread that advances it while running. Views read from it; nothing here
draws. Each browser session (and each notebook) makes its own ``SimulationState``."""
from __future__ import annotations

import dataclasses
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import param

from sim_core.engine.live import apply_live, can_apply_live
from sim_core.engine.simulation import Simulation
from sim_core.errors import CapacityError, SpikeScopeError
from sim_core.network import memory
from sim_core.spec.model import NetworkSpec, Recorders, Voltmeter

# What a session keeps in memory: the longest window a live view can show (LiveView's
# window_ms bound). Everything older is let go, or written to disk by "Record to disk";
# unbounded, an hour of the default model held about 190 MB of spikes.
RECORD_WINDOW_MS = 10_000.0
UNDO_DEPTH = 50  # model changes that Undo can take back


@dataclasses.dataclass(frozen=True)
class SessionLimits:
    """What one session of a shared server may build (``spikescope serve --max-neurons
    --max-synapses``); None: only the machine's memory limits it."""

    max_neurons: int | None = None
    max_synapses: float | None = None

    def check(self, spec: NetworkSpec) -> None:
        if self.max_neurons is not None and spec.n_neurons > self.max_neurons:
            raise CapacityError(f"populations: {spec.n_neurons:,} neurons exceed this server's limit of "
                                f"{self.max_neurons:,} per session (spikescope serve --max-neurons)")
        if self.max_synapses is not None:
            synapses, _ = memory.counts(spec)
            if synapses > self.max_synapses:
                raise CapacityError(f"projections: about {synapses:,.0f} synapses exceed this server's limit of "
                                    f"{self.max_synapses:,.0f} per session (spikescope serve --max-synapses)")


def with_default_voltmeter(spec: NetworkSpec, n: int = 2, max_pops: int = 4) -> NetworkSpec:
    """The app shows membrane traces: record a few neurons when the spec records none."""
    if spec.recorders.voltmeter is not None:
        return spec
    pops = tuple(list(spec.populations)[:max_pops])
    n = min([n] + [spec.populations[p].size for p in pops])
    vm = Voltmeter(pops, n, spec.dt * max(1, round(0.5 / spec.dt)))  # about every 0.5 ms
    # the LFP recorder stays (the LFP tab reads it); weight snapshots are not taken, as before
    return dataclasses.replace(spec, recorders=Recorders(spec.recorders.spikes, vm, lfp=spec.recorders.lfp))


class MainThreadRunner:
    """Advances the running sessions from the process's main thread, chunk by chunk in
    turn. ``spikescope serve`` runs the web server in a thread and this loop in the main
    thread: Numba's OpenMP teams launched from the initial thread ran about twice as fast
    here as from any other thread (measured: brunel_small, 3,200 vs 1,470 simulated ms per
    second). Elsewhere (notebooks, tests) each state uses a thread of its own."""

    def __init__(self):
        self.active = False
        self._cv = threading.Condition()
        self._states: list = []

    def add(self, state):
        with self._cv:
            if state not in self._states:
                self._states.append(state)
            self._cv.notify()

    def remove(self, state):
        with self._cv:
            if state in self._states:
                self._states.remove(state)

    def loop(self, stop: threading.Event):
        self.active = True
        try:
            while not stop.is_set():
                with self._cv:
                    if not self._states:
                        self._cv.wait(0.2)
                    batch = list(self._states)
                for state in batch:
                    if not state.chunk_once():
                        self.remove(state)
        finally:
            self.active = False


RUNNER = MainThreadRunner()


class SimulationState(param.Parameterized):
    """Run/Pause/Step/Reset of one simulation; status numbers for the views.

    The simulation advances in a background thread in chunks of ``chunk_ms``; the Numba
    kernel releases the GIL, so the server stays responsive. ``t``, ``n_spikes`` and
    ``rtf`` are refreshed by ``poll()``, which the views call from their own thread.
    """

    spec = param.ClassSelector(class_=NetworkSpec, doc="the model being explored")
    backend = param.Selector(objects=["cpu", "auto", "gpu"], default="cpu")
    threads = param.Integer(default=None, allow_None=True, doc="CPU threads (default: all cores)")
    running = param.Boolean(default=False)
    t = param.Number(default=0.0, doc="simulated time, ms")
    n_spikes = param.Integer(default=0)
    rtf = param.Number(default=0.0, doc="wall time / simulated time while running")
    chunk_ms = param.Number(default=20.0, bounds=(0.1, 1000.0), doc="first chunk; then adapted")
    chunk_wall_s = param.Number(default=0.05, doc="target wall time per chunk: keeps Pause prompt")
    step_ms = param.Number(default=10.0, bounds=(0.1, 10000.0), doc="what Step advances")
    message = param.String(default="", doc="last error or notice, for the status line")
    version = param.Integer(default=0, doc="bumped on every rebuild, so views can reset")
    record_window_ms = param.Number(default=RECORD_WINDOW_MS, allow_None=True,
                                    doc="recent activity kept in memory (None: all of it)")
    limits = param.ClassSelector(class_=SessionLimits, default=SessionLimits())
    recording = param.String(default="", doc="the SONATA file spikes are being written to; '' when none")
    history = param.Integer(default=0, doc="bumped when what Undo/Redo can do changes")

    def __init__(self, spec: NetworkSpec, **params):
        super().__init__(spec=spec, **params)
        self._lock = threading.RLock()
        # Fair hand-off: the simulation thread yields the lock whenever the UI waits for it
        # (an RLock is not fair; without this the UI starves and clicks wait for seconds).
        self._ui = threading.Condition()
        self._ui_waiting = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._wall = self._simulated = 0.0
        self._thread_error = ""  # set by the thread; copied into `message` by poll()
        self._gate = threading.Lock()  # held while a chunk runs
        self._chunk = self.chunk_ms
        self._undo: list[NetworkSpec] = []  # specs before each change, the newest last
        self._redo: list[NetworkSpec] = []
        self.sim: Simulation | None = None
        self.rebuild()

    # ------------------------------------------------------------------ lifecycle
    def check(self, spec: NetworkSpec) -> None:
        """Refuse (CapacityError naming the field) a spec beyond this session's limits or
        the machine's memory, before anything is freed or allocated."""
        self.limits.check(spec)
        memory.check(spec)

    def rebuild(self) -> None:
        self.pause()
        with self._lock:
            self._end_recording("the network was rebuilt")
            self.sim = None  # the old network's memory first: the two never coexist
            self.sim = Simulation(with_default_voltmeter(self.spec), backend=self.backend, threads=self.threads,
                                  keep_ms=self.record_window_ms)
            self._wall = self._simulated = 0.0
        self.version += 1
        self.poll()

    def set_spec(self, spec: NetworkSpec, undoable: bool = True) -> str:
        """Take a new spec: in place when only parameters changed, else rebuild.
        Returns 'live' or 'rebuilt'. A refused spec raises and changes nothing. The spec
        before is kept for ``undo`` (``undoable=False``: not)."""
        before = self.spec
        how = self._set_spec(spec)
        if undoable and spec != before:
            self._undo = (self._undo + [before])[-UNDO_DEPTH:]
            self._redo = []
            self.history += 1
        return how

    def undo(self) -> str | None:
        """Back to the spec before the last change (None when there is none)."""
        return self._step_history(self._undo, self._redo)

    def redo(self) -> str | None:
        return self._step_history(self._redo, self._undo)

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    def _step_history(self, source: list, target: list) -> str | None:
        if not source:
            return None
        current = self.spec
        how = self._set_spec(source[-1])  # refused (limits): both lists stay as they are
        source.pop()
        target.append(current)
        self.history += 1
        return how

    def _set_spec(self, spec: NetworkSpec) -> str:
        with self._lock:
            old = self.sim.spec
            new = with_default_voltmeter(spec)
            if can_apply_live(old, new):
                apply_live(self.sim, new)
                self.spec = spec
                return "live"
        self.check(spec)
        was_running = self.running
        previous, self.spec = self.spec, spec
        try:
            self.rebuild()
        except SpikeScopeError:  # refused while building after all: back to the model before
            self.spec = previous
            self.rebuild()
            raise
        if was_running:
            self.run()
        return "rebuilt"

    # ------------------------------------------------------------------ recording to disk
    def start_recording(self, path=None) -> Path:
        """Write every recorded spike from now on to a SONATA file (default: under
        $SPIKESCOPE_HOME/recordings); the session itself keeps only ``record_window_ms``."""
        if path is None:
            from sim_core.io.registry import home
            stamp = time.strftime("%Y%m%d-%H%M%S")
            path = home() / "recordings" / f"{self.spec.name}-{stamp}-{id(self) % 10_000:04d}.h5"
        from sim_core.io.sonata import stream_spikes
        with self.locked():
            stream = stream_spikes(self.sim, path)
        self.recording = str(stream.path)
        return stream.path

    def stop_recording(self) -> Path | None:
        with self.locked():
            path = self.sim.stop_stream() if self.sim is not None else None
        self.recording = ""
        return path

    def recorded_file(self) -> Path | None:
        """The recording's file, flushed so that it can be read while it grows."""
        with self.locked():
            sink = self.sim.spike_record.sink if self.sim is not None else None
            if sink is not None:
                sink.flush()
        return Path(self.recording) if self.recording else None

    def _end_recording(self, why: str) -> None:
        if self.sim is not None:
            self.sim.stop_stream()
        if self.recording:
            self.message = f"recording ended ({why}): {self.recording}"
            self.recording = ""

    def run(self) -> None:
        if self.running and not self._stop.is_set():
            return
        self._stop.clear()
        self._chunk = self.chunk_ms
        self.running = True
        if RUNNER.active:  # in `spikescope serve`: the main thread advances the sessions
            RUNNER.add(self)
            return
        self._thread = threading.Thread(target=self._loop, name="spikescope-sim", daemon=True)
        self._thread.start()

    def pause(self) -> None:
        self._stop.set()
        RUNNER.remove(self)
        with self._gate:  # waits for a chunk in progress; none starts after this
            pass
        if self._thread is not None:
            self._thread.join()
        self._thread = None
        self.running = False
        self.poll()

    def step(self) -> None:
        self.advance(self.step_ms)

    def advance(self, ms: float) -> None:
        """Advance by ``ms`` now and stay paused (Step; a restored session's re-run)."""
        self.pause()
        self._advance(ms)
        self.poll()

    def reset(self) -> None:
        self.pause()
        with self._lock:
            self._end_recording("reset")
            self.sim.reset()
            self._wall = self._simulated = 0.0
        self.version += 1
        self.poll()

    def close(self) -> None:
        """End of the session (its browser tab closed): stop advancing it, end a recording
        and let go of the network, so that its memory returns to the server."""
        self._stop.set()
        RUNNER.remove(self)
        with self._gate:  # a chunk in progress ends first
            pass
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._thread = None
        self.running = False
        with self._lock:
            self._end_recording("the session closed")
            if self.sim is not None:
                self.sim.close()
            self.sim = None

    # ------------------------------------------------------------------ internals
    def _advance(self, ms: float) -> None:
        t0 = time.perf_counter()
        with self._lock:
            self.sim.run(ms)
        self._wall += time.perf_counter() - t0
        self._simulated += ms

    def _loop(self) -> None:
        while self.chunk_once():
            pass

    def chunk_once(self) -> bool:
        """Advance by one chunk unless paused; False when paused or failed. The chunk adapts
        to take about ``chunk_wall_s``; the UI gets the lock first when it waits for it."""
        with self._gate:
            if self._stop.is_set():
                return False
            with self._ui:
                while self._ui_waiting and not self._stop.is_set():
                    self._ui.wait(0.05)
            t0 = time.perf_counter()
            try:
                self._advance(self._chunk)
            except SpikeScopeError as exc:  # params are not touched here: wrong thread
                self._thread_error = str(exc)
                self._stop.set()
                return False
            wall = max(time.perf_counter() - t0, 1e-4)
            dt = self.sim.network.dt
            chunk = min(max(self._chunk * self.chunk_wall_s / wall, dt), 500.0)
            self._chunk = max(dt, round(chunk / dt) * dt)
            return True

    def poll(self) -> None:
        """Refresh the status numbers (cheap; call from the UI's periodic callback)."""
        sim = self.sim
        if sim is None:
            return
        if self.running and self._stop.is_set() and (self._thread is None or not self._thread.is_alive()):
            self.running = False  # stopped by an error in the simulation
        if self._thread_error:
            self.message, self._thread_error = self._thread_error, ""
        self.t = sim.t
        self.n_spikes = sim.spike_record.n_spikes
        self.rtf = self._wall / (self._simulated / 1000.0) if self._simulated else 0.0

    @property
    def phase(self) -> str:
        """'running', 'paused' or 'ready' (nothing simulated yet)."""
        return "running" if self.running else ("paused" if self.t > 0 else "ready")

    def status_text(self) -> str:
        """``running · t = 1234.5 ms · 56,789 spikes · RTF 0.8``"""
        return f"{self.phase} · t = {self.t:.1f} ms · {self.n_spikes:,} spikes · RTF {self.rtf:.2f}"

    @contextmanager
    def locked(self):
        """Hold the simulation still while reading its arrays (the UI's side of the lock)."""
        with self._ui:
            self._ui_waiting += 1
        try:
            with self._lock:
                yield
        finally:
            with self._ui:
                self._ui_waiting -= 1
                self._ui.notify_all()
