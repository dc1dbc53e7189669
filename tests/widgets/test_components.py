"""The app's components without a browser (Panel's get_root), on small models."""
import numpy as np
import pytest
from bokeh.document import Document

from sim_core.spec import dumps, from_dict, load, to_plain
from widgets.editor import NetworkEditor
from widgets.files import FilesPanel
from widgets.plots import MembraneView, RasterView, RateView, TopoMapView
from widgets.state import SimulationState
from widgets.weights import WeightsPanel


@pytest.fixture
def state():
    from conftest import SHARED_SPECS
    s = SimulationState(load([p for p in SHARED_SPECS if p.stem == "brunel_small"][0]), backend="cpu")
    yield s
    s.close()


def test_views_render_and_raster_is_decimated(state):
    state.step_ms = 300.0
    state.step()
    raster = RasterView(state=state, max_points=2000)
    views = [raster, RateView(state=state), MembraneView(state=state), TopoMapView(state=state)]
    for v in views:
        v.__panel__().get_root(Document())
        v.refresh()
    n = len(raster._src.data["t"])
    assert 0 < n <= 2000
    ys = np.asarray(raster._src.data["y"])
    import re
    stride = int(re.search(r"every (\d+)(st|nd|rd|th) neuron", raster._fig.title.text).group(1))
    assert np.all(ys % stride == 0)  # whole rows of every stride-th neuron
    rates = views[1]._src.data
    assert set(rates["name"]) == {"E", "I"} and max(np.max(y) for y in rates["ys"]) > 5
    assert len(views[2]._src.data["ys"]) == 4  # default voltmeter: 2 neurons of E and I


def test_editor_bad_entry_changes_nothing(state):
    ed = NetworkEditor(state=state)
    ed.__panel__().get_root(Document())
    before = dumps(state.spec)
    ed.fields["size"].value = 0
    ed.apply()
    assert ed.error.visible and "populations.E.size" in ed.error.object
    assert "field-error" in ed.fields["size"].css_classes
    assert dumps(state.spec) == before
    ed.fields["size"].value = 2000
    ed.fields["params.tau_m"].value = "15.0"  # a parameter: applied without rebuild
    ed.apply()
    assert not ed.error.visible and "applied live" in state.message
    assert state.spec.populations["E"].params["tau_m"] == 15.0


def test_editor_structural_change_rebuilds_and_adds_projection(state):
    ed = NetworkEditor(state=state)
    ed.kind_select.value = "projection"
    ed.item_select.value = "(new)"
    ed.fields["source"].value, ed.fields["target"].value = "I", "E"
    ed.fields["rule.rule"].value = "pairwise_bernoulli"
    ed.fields["rule.p"].value = "0.05"
    ed.fields["synapse.weight"].value = "-0.5"
    ed.apply()
    assert len(state.spec.projections) == 7 and "rebuilt" in state.message
    ed.item_select.value = ed.item_select.options[6]
    ed.fields["rule.p"].value = "1.5"  # invalid probability
    ed.apply()
    assert ed.error.visible and "rule.p" in ed.error.object


def test_files_import_error_keeps_model(state):
    files = FilesPanel(state=state)
    before = dumps(state.spec)
    files.upload.filename = "bad.yaml"
    files.upload.value = b"format: spikescope/1\nname: x\npopulations: {E: {model: iaf_psc_foo, size: 3}}\n"
    assert files.error.visible and "populations.E.model" in files.error.object
    assert dumps(state.spec) == before
    files.upload.filename = "good.yaml"
    files.upload.value = before.replace("size: 500", "size: 400").encode()
    assert not files.error.visible and state.spec.populations["I"].size == 400
    assert files._spikes().getvalue()[:4] == b"\x89HDF"


def test_weights_panel_histogram(state):
    w = WeightsPanel(state=state)
    w.__panel__().get_root(Document())
    w.projection.value = 2  # I -> E, weight -1.2
    assert sum(w._src.data["top"]) == 100000
    assert "bytes/synapse" in w.info.object


def test_sessions_do_not_share_state():
    spec = from_dict({"format": "spikescope/1", "name": "a", "populations": {
        "E": {"model": "iaf_psc_exp", "size": 10, "params": {"I_e": 500.0}}}})
    a, b = SimulationState(spec, backend="cpu"), SimulationState(spec, backend="cpu")
    a.step_ms = 50.0
    a.step()
    assert a.t == 50.0 and b.t == 0.0 and b.n_spikes == 0 and a.sim is not b.sim


def test_weights_panel_previews_discretization_and_applies_it():
    spec = from_dict({"format": "spikescope/1", "name": "w", "populations": {
        "E": {"model": "iaf_psc_exp", "size": 300}},
        "projections": [{"source": "E", "target": "E", "rule": {"rule": "fixed_indegree", "indegree": 50},
                         "synapse": {"weight": {"dist": "lognormal", "mu": 3.0, "sigma": 0.8}, "delay": 1.0}}]})
    st = SimulationState(spec, backend="cpu")
    w = WeightsPanel(state=st)
    w.__panel__().get_root(Document())
    assert len(w._after.data["x"]) == 0 and "1 bytes" not in w.info.object
    bps_before = st.sim.bytes_per_synapse
    w.enabled.value, w.levels.value, w.method.value = True, 4, "naive"
    assert len(w._after.data["x"]) <= 4 and sum(w._after.data["top"]) == 15000
    assert "−" in w.info.object and "MiB" in w.info.object  # memory before -> after
    w.apply()
    assert st.spec.projections[0].synapse.resolution.levels == 4
    assert st.sim.bytes_per_synapse <= bps_before - 2.9  # float32 weight -> uint8 code
    st.close()


def _scan_to_end(view, n_points, timeout=240.0):
    """Start the view's scan, wait until its ``n_points`` are in, refresh the view."""
    import time
    view.start()
    deadline = time.time() + timeout
    while (view._running or len(view._points) < n_points) and time.time() < deadline:
        time.sleep(0.5)
    view.refresh()


def test_scan_view_runs_a_scan_and_shows_heatmap_and_runs(tmp_path, monkeypatch):
    """A 2x2 scan from the app's scan view on a 2-worker LocalCluster."""
    from widgets.scan import ScanView
    monkeypatch.setenv("SPIKESCOPE_HOME", str(tmp_path))
    spec = from_dict({"format": "spikescope/1", "name": "scan", "seed": 3, "populations": {
        "E": {"model": "iaf_psc_exp", "size": 50}},
        "inputs": {"bg": {"model": "poisson_generator", "params": {"rate": 8000.0}}},
        "projections": [{"source": "bg", "target": "E", "rule": {"rule": "all_to_all"},
                         "synapse": {"weight": 87.8, "delay": 1.0}}]})
    st = SimulationState(spec, backend="cpu")
    view = ScanView(state=st)
    view.__panel__().get_root(Document())
    assert view.param1.value.startswith("inputs.bg.params.rate=")
    view.param1.value = "inputs.bg.params.rate=6000,12000"
    view.param2.value = "projections[0].synapse.weight=60.0,90.0"
    view.t_sim.value = 200.0
    _scan_to_end(view, 4)
    assert not view.error.visible, view.error.object
    rates = dict(zip(view._src.data["label"], view._src.data["rate"]))
    assert len(rates) == 4
    assert rates["12000 / 90.0"] > rates["6000 / 60.0"]  # more drive, more spikes
    assert len(view.runs.object) == 4 and set(view.runs.object["status"]) == {"complete"}
    # a second scan of the same size: the heatmap must show it (it redraws only on news)
    view.param1.value = "inputs.bg.params.rate=7000,9000"
    view.t_sim.value = 50.0
    _scan_to_end(view, 4)
    assert sorted(set(view._src.data["x"])) == ["7000", "9000"]
    st.close()


def test_spec_strings_never_become_markup(state):
    """A name or message from an uploaded spec is shown as text: Panel's Markdown and HTML
    panes render raw HTML, so an error quoting `<img onerror=...>` would run script."""
    from widgets.controls import Controls
    files = FilesPanel(state=state)
    files.upload.filename = "x.yaml"
    files.upload.value = b"format: spikescope/1\nname: x\npopulations: {'<img src=x onerror=alert(1)>': " \
                         b"{model: iaf_psc_exp, size: 3}}\n"
    assert files.error.visible and "<img" not in files.error.object and "&lt;img" in files.error.object
    state.message = "<script>alert(1)</script>"
    html = Controls(state=state)._status_html()
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_raster_follows_the_model_and_labels_its_populations(state):
    """The neuron axis and the population labels change with the model (they stayed at the
    first model's 2,500 neurons: only L2/3 of the microcircuit was visible)."""
    from sim_core.models.registry import preset_dict
    from widgets.plots import _ordinal
    raster = RasterView(state=state)
    raster.__panel__().get_root(Document())
    raster.refresh()
    assert (raster._fig.y_range.start, raster._fig.y_range.end) == (0, 2500)
    assert sorted(raster._fig.yaxis.major_label_overrides.values()) == ["E", "I"]
    state.set_spec(from_dict(preset_dict("microcircuit", 0.05)))
    state.step_ms = 20.0
    state.step()
    raster.refresh()
    net = state.sim.network
    assert raster._fig.y_range.end == net.n_neurons > 2500
    labels = raster._fig.yaxis.major_label_overrides
    assert set(labels.values()) == set(net.pop_start) and len(labels) == 8
    assert [_ordinal(k) for k in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 111)] == \
        ["1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st", "111th"]


def test_small_faults_of_the_model_panel(state):
    """Exports are named after the model; a scale of -1 is refused with the field (it was
    clamped to 0.0001 and reported as loaded); a long float is shown short but kept exact
    unless edited."""
    files = FilesPanel(state=state)
    assert [w.filename for w in files.downloads.objects] == [
        "brunel-small.yaml", "brunel-small.json", "brunel-small-diagram.svg", "brunel-small-spikes.h5",
        "brunel-small-session.json", "brunel-small-view.png"]
    before = state.spec
    files.scale.value = -1.0
    files.load_preset()
    assert files.error.visible and "scale: -1.0 must be &gt; 0" in files.error.object and state.spec is before
    files.scale.value, files.preset.value = 0.1, "clustered"
    files.load_preset()
    assert files.downloads.objects[0].filename == "clustered.yaml"
    data = to_plain(state.spec)
    data["populations"]["E0"]["params"]["I_e"] = 29.03500917400072
    state.set_spec(from_dict(data))
    editor = NetworkEditor(state=state)
    editor.kind_select.value = "population"
    editor.item_select.value = "E0"
    field = editor.fields["params.I_e"]
    assert field.value == "29.03501"
    editor.apply()
    assert state.spec.populations["E0"].params["I_e"] == 29.03500917400072  # untouched: exact
    editor.fields["params.I_e"].value = "30"  # (the form is rebuilt after an apply)
    editor.apply()
    assert state.spec.populations["E0"].params["I_e"] == 30.0


def test_an_unavailable_backend_changes_nothing(state):
    """Choosing the GPU where there is none keeps the run as it is (it was reset), and the
    message names no command-line flag."""
    from sim_core.backends import gpu_available
    from widgets.controls import Controls
    if gpu_available():
        pytest.skip("a GPU is available here")
    controls = Controls(state=state)
    state.step_ms = 50.0
    state.step()
    sim, t = state.sim, state.t
    controls.backend.value = "gpu"
    assert state.sim is sim and state.t == t == 50.0 and controls.backend.value == "cpu"
    assert "no GPU" in state.message and "--" not in state.message
    controls.backend.value = "auto"  # auto is the CPU here: nothing to rebuild
    assert state.sim is sim and state.t == 50.0


def test_undo_and_redo_take_back_any_change(state):
    """Remove a population (and its projections), undo: it is back; redo: gone again. A
    new change after an undo clears what Redo could do."""
    editor = NetworkEditor(state=state)
    original = state.spec
    assert editor.undo_button.disabled and editor.redo_button.disabled
    editor.kind_select.value = "population"
    editor.item_select.value = "I"
    editor.remove()
    assert "I" not in state.spec.populations and len(state.spec.projections) < len(original.projections)
    gone = len(original.projections) - len(state.spec.projections)
    assert f"population I and its {gone} projections removed (Undo restores them)" in state.message
    assert not editor.undo_button.disabled
    editor.undo_button.clicks += 1
    assert state.spec == original and "undone" in state.message and not editor.redo_button.disabled
    editor.redo_button.clicks += 1
    assert "I" not in state.spec.populations
    editor.undo_button.clicks += 1
    assert state.spec == original
    data = to_plain(original)
    data["populations"]["E"]["params"]["tau_m"] = 10.0
    state.set_spec(from_dict(data))  # a new change: nothing left to redo
    assert editor.redo_button.disabled and state.redo() is None
    assert state.undo() == "live" and state.spec == original
