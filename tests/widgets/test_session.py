"""A session of the app on a shared server: bounded memory, recording to disk, limits on
what it may build (refused with the field named, nothing changed) and its release."""
import time

import numpy as np
import pytest

from app.reliability import soak, soak_spec
from sim_core.errors import CapacityError
from sim_core.io.sonata import read_spikes
from sim_core.models.registry import preset_dict
from sim_core.spec import from_dict
from widgets.files import FilesPanel
from widgets.state import RECORD_WINDOW_MS, SessionLimits, SimulationState


@pytest.fixture
def state():
    s = SimulationState(from_dict(soak_spec(100)), backend="cpu")
    yield s
    s.close()


def test_a_session_keeps_a_bounded_window(state):
    assert state.sim.spike_record.keep_steps == round(RECORD_WINDOW_MS / state.spec.dt)
    state.step_ms = 10_000.0
    state.step()
    state.step()
    rec = state.sim.spike_record
    assert rec.n_dropped > 0 and rec.complete_from_ms >= 20_000.0 - RECORD_WINDOW_MS - 500.0


def test_recording_to_disk_keeps_every_spike_and_ends_at_reset(state, tmp_path):
    state.step_ms = 50.0
    state.step()
    path = state.start_recording(tmp_path / "rec.h5")
    assert state.recording == str(path)
    state.step_ms = 6_000.0  # beyond the window the session keeps
    state.step()
    state.step()
    assert state.recorded_file() == path
    got = read_spikes(path)  # readable while the recording goes on
    assert sum(t.size for t, _ in got.values()) == state.sim.spike_record.n_spikes - _spikes_before(state, 50.0)
    state.reset()
    assert state.recording == "" and "recording ended (reset)" in state.message
    assert state.sim.spike_record.sink is None


def _spikes_before(state, t_ms):
    """Spikes up to t_ms, from a fresh simulation of the same model (equal seeds: equal spikes)."""
    from sim_core.engine.simulation import Simulation
    from widgets.state import with_default_voltmeter
    sim = Simulation(with_default_voltmeter(state.spec), backend="cpu")
    sim.run(t_ms)
    return sim.spike_record.n_spikes


def test_files_panel_records_and_downloads_the_recording(state, tmp_path, monkeypatch):
    monkeypatch.setenv("SPIKESCOPE_HOME", str(tmp_path))
    files = FilesPanel(state=state)
    files.record.value = True
    assert state.recording.startswith(str(tmp_path / "recordings"))
    state.step_ms = 100.0
    state.step()
    data = files._spikes().getvalue()
    assert data == open(state.recording, "rb").read() and len(data) > 1000
    state.rebuild()  # ends the recording; the checkbox follows
    assert files.record.value is False and state.recording == ""


@pytest.mark.parametrize("limits, field", [
    (SessionLimits(max_neurons=1000), "populations: 1,250 neurons exceed this server's limit of 1,000"),
    (SessionLimits(max_synapses=100_000), "projections: about 1,562,500 synapses exceed this server's limit"),
])
def test_a_network_beyond_the_session_limits_is_refused_and_nothing_changes(limits, field):
    state = SimulationState(from_dict(soak_spec(100)), backend="cpu", limits=limits)
    try:
        state.step_ms = 30.0
        state.step()
        sim, spec, t = state.sim, state.spec, state.t
        with pytest.raises(CapacityError, match=field):
            state.set_spec(from_dict(preset_dict("brunel", 0.1)))
        assert (state.sim, state.spec, state.t) == (sim, spec, t)
    finally:
        state.close()


def test_close_lets_go_of_the_network(state, tmp_path):
    state.start_recording(tmp_path / "r.h5")
    state.run()
    time.sleep(0.3)
    state.close()
    assert state.sim is None and not state.running and state.recording == ""
    assert read_spikes(tmp_path / "r.h5")["E"][0].size > 0  # the recording was closed, complete


def test_an_hour_of_a_live_session_keeps_memory_flat():
    """The soak: an app session (views refreshed as the server does) runs an hour of
    simulated time of a busy 50-neuron network, ~22 million spikes (~330 MB had they all
    been kept; before the bounded window they were). Figures: docs/reliability.md."""
    r = soak(sim_ms=3_600_000.0, spec=soak_spec(50))
    during = [d["rss_mb"] for d in r["during"]]
    held = [d["held_spikes"] for d in r["during"]]
    rate = r["n_spikes"] / r["t_ms"]  # spikes per ms
    assert r["t_ms"] >= 3_600_000.0 and r["unbounded_mb"] > 250, r
    assert max(during) - during[0] < 20.0, r  # flat after the first 5 minutes
    assert max(held) <= rate * (RECORD_WINDOW_MS + 600.0) * 1.1, r
    assert np.all(np.diff(during) < 10.0), r


def test_cluster_view_shows_clusters_x_time_and_hides_without_clusters():
    from bokeh.document import Document
    from sim_core.models.registry import preset_dict
    from widgets.plots import ClusterView
    state = SimulationState(from_dict(preset_dict("clustered", 0.1)), backend="cpu")
    try:
        view = ClusterView(state=state, window_ms=1000.0)
        view.__panel__().get_root(Document())
        state.step_ms = 1000.0
        state.step()
        view.refresh()
        image = view._src.data["image"][0]
        assert view._pane.visible and image.shape == (20, 20)  # 20 clusters x 20 bins of 50 ms
        assert image.sum() > 0 and view._fig.title.text.startswith("Cluster rates")
    finally:
        state.close()
    plain = SimulationState(from_dict(soak_spec(100)), backend="cpu")
    try:
        view = ClusterView(state=plain)
        view.refresh()
        assert not view._pane.visible
    finally:
        plain.close()
