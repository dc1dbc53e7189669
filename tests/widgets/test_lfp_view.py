"""The LFP tab's views (widgets/lfp.py) on a small spatial network with an LFP recorder run in
a SimulationState: the map is the record's latest sample minus the traces' mean, the traces
the chosen electrodes' last 500 ms, the activity the spikes of the window counted on the
sheet, the slider scrubs a paused run; the helpers' geometry (electrode order, squares)."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest
from bokeh.document import Document

from sim_core.spec import from_dict
from widgets.lfp import (LfpPanel, SheetBins, default_electrodes, display_unit, electrode_index, electrode_label,
                         grid_positions, has_lfp, trace_window)
from widgets.state import SimulationState, with_default_voltmeter


_SMALL = importlib.util.spec_from_file_location(
    "lfp_small_spec", Path(__file__).resolve().parents[1] / "lfp" / "small_spec.py")
small = importlib.util.module_from_spec(_SMALL)
_SMALL.loader.exec_module(small)


def lfp_spec(method: str = "kernel", grid=(5, 4), pitch: float = 0.2, lfp: bool = True) -> dict:
    """tests/lfp's small network (L4E and L4I, named as the shipped kernels), 200 + 50 neurons,
    a 5 x 4 electrode grid by default; ``lfp`` False: no LFP recorder."""
    d = small.spec(method=method, grid=grid, pitch=pitch, size=(200, 50))
    if not lfp:
        del d["recorders"]["lfp"]
    return d


@pytest.fixture
def state():
    s = SimulationState(from_dict(lfp_spec()), backend="cpu")
    yield s
    s.close()


def panel(state) -> LfpPanel:
    """The panel reading on every refresh (no wall-clock throttle), rendered in a document."""
    p = LfpPanel(state=state, period_s=0.0, budget=0.0)
    p.__panel__().get_root(Document())
    return p


def run_live(state, p, ms: float, chunk: float = 25.0):
    """Advance as the app's thread does (running) and refresh after every chunk."""
    state._stop.clear()  # running, as far as poll() can tell
    state.running = True
    try:
        for _ in range(int(round(ms / chunk))):
            state._advance(chunk)
            state.poll()
            p.refresh(active=True)
    finally:
        state._stop.set()
        state.running = False


def test_the_app_keeps_the_lfp_recorder():
    """``with_default_voltmeter`` rebuilt the recorders from spikes and voltmeter alone: the
    app's simulation had no LFP (the bug this tab found)."""
    spec = from_dict(lfp_spec())
    assert with_default_voltmeter(spec).recorders.lfp == spec.recorders.lfp
    s = SimulationState(spec, backend="cpu")
    try:
        assert has_lfp(s)
    finally:
        s.close()


def test_geometry_helpers():
    shape = (5, 4)
    assert electrode_index(2, 3, shape) == 11 and electrode_label(11, shape) == "(2, 3)"
    assert default_electrodes(shape) == [electrode_index(1, 1, shape), electrode_index(1, 3, shape),
                                         electrode_index(3, 1, shape), electrode_index(3, 3, shape)]
    assert default_electrodes((10, 10)) == [22, 27, 72, 77]
    assert default_electrodes((1, 1)) == [0]
    assert display_unit("mV", 2e-4) == (1e3, "µV") and display_unit("mV", 2e-7) == (1e6, "nV")
    assert display_unit("mV", 0.2) == (1.0, "mV") and display_unit("pA", 3e4) == (1e-3, "nA")
    assert display_unit("pA", 300.0) == (1.0, "pA") and display_unit("mV", 0.0) == (1.0, "mV")
    times = 0.5 * np.arange(1, 2001)  # 1000 ms of samples
    a, b = trace_window(times, 1999, 500.0, centred=False)  # the 500 ms up to 1000 ms
    assert times[a] == 500.5 and times[b - 1] == 1000.0
    a, b = trace_window(times, 199, 500.0, centred=True)  # at 100 ms: the first 500 ms
    assert times[a] == 0.5 and times[b - 1] == 500.0
    a, b = trace_window(times, 999, 500.0, centred=True)  # at 500 ms: 250 .. 749.5
    assert times[a] == 250.0 and times[b - 1] == 749.5 and times[999] == 500.0


def test_live_map_traces_and_activity(state):
    p = panel(state)
    run_live(state, p, 300.0)
    sim = state.sim
    times, data = sim.lfp.window(sim.t - 500.0)
    assert times[-1] == pytest.approx(sim.t) and times.size == 600
    # the map: the latest sample minus each electrode's mean over the last 500 ms, in the
    # colour bar's unit, on a symmetric range
    m = p._map_src.data
    factor, unit = display_unit("mV", np.abs(data - data.mean(1, keepdims=True)).max())
    expect = (data[:, -1] - data.mean(1)) * factor
    np.testing.assert_allclose(m["value"], expect, rtol=1e-4, atol=1e-5 * np.abs(expect).max())
    lim = np.percentile(np.abs(data - data.mean(1, keepdims=True)), 99) * factor
    assert p._map_color.low == -p._map_color.high and p._map_color.high == pytest.approx(lim, rel=1e-4)
    assert p._map_bar.title == f"LFP − mean ({unit})"
    # cells on the nominal grid, 0.2 mm apart, x-major as the record; the bins' centres
    # where the LFP is computed beside them
    np.testing.assert_allclose(np.c_[m["x"], m["y"]], np.c_[grid_positions((5, 4), 0.2)], atol=1e-12)
    assert list(m["ix"][:5]) == [0, 0, 0, 0, 1] and m["x"][0] == pytest.approx(-0.4) and m["y"][3] == pytest.approx(0.3)
    np.testing.assert_allclose(np.c_[m["bx"], m["by"]], sim.lfp.positions[:, :2])
    np.testing.assert_allclose(sim.lfp.positions[:, :2], np.c_[m["x"], m["y"]], atol=0.2 / 3)
    # the traces: the four default electrodes over the buffer (the run's 300 ms so far)
    tr = p._trace_src.data
    assert tr["name"] == [electrode_label(k, (5, 4)) for k in default_electrodes((5, 4))]
    np.testing.assert_allclose(tr["xs"][0], times)
    k = default_electrodes((5, 4))[2]
    np.testing.assert_allclose(tr["ys"][2], (data[k] - data[k].mean()) * factor, rtol=1e-4,
                               atol=1e-5 * np.abs(tr["ys"][2]).max())
    # the activity: the last 20 ms of spikes, counted in 0.2 mm squares of the sheet
    _, ids = sim.spike_record.window(sim.t - 20.0)
    img = p._act_src.data["image"][0]
    assert img.shape == (5, 5) and img.sum() == ids.size > 0
    sheet = SheetBins(sim.network, (1.0, 1.0), 0.2)
    pos = np.concatenate([sim.network.connectome.positions[n] for n in ("L4E", "L4I")])
    g = pos[ids]  # ids are global, E then I
    hand = np.histogram2d(g[:, 1], g[:, 0], bins=5, range=[[-0.5, 0.5], [-0.5, 0.5]])[0]  # rows: y
    np.testing.assert_array_equal(img, hand)
    np.testing.assert_array_equal(sheet.counts(ids), hand)
    p.population.value = "L4I"
    n_i = int((ids >= 200).sum())
    assert p._act_src.data["image"][0].sum() == n_i
    # the map keeps changing while it runs
    before = np.array(m["value"])
    run_live(state, p, 300.0)
    assert not np.allclose(p._map_src.data["value"], before)
    assert len(p._trace_src.data["xs"][0]) == 1000  # 500 ms: the buffer stays bounded
    assert p._times.size == 1000 and p._data.shape == (20, 1000)


def test_hidden_tab_reads_nothing_then_catches_up(state):
    p = panel(state)
    run_live(state, p, 50.0)
    t_read = p._t
    state._stop.clear()
    state.running = True
    state._advance(600.0)
    state.poll()
    p.refresh(active=False)
    assert p._t == t_read  # hidden: no read
    p.refresh(active=True)
    state._stop.set()
    state.running = False
    assert p._times[-1] == pytest.approx(state.sim.t) and p._times[0] == pytest.approx(state.sim.t - 499.5)


def test_slider_scrubs_a_paused_run(state):
    p = panel(state)
    run_live(state, p, 400.0)
    p.refresh(active=True)  # paused now: the slider covers the held samples
    assert not p.time.disabled
    assert (p.time.start, p.time.end, p.time.value) == (0.5, pytest.approx(400.0), pytest.approx(400.0))
    at_end = np.array(p._map_src.data["value"])
    p.time.value = 150.0
    times, data = state.sim.lfp.data()
    j = int(np.searchsorted(times, 150.0))
    a, b = trace_window(times, j, 500.0, centred=True)
    base = data[:, a:b].mean(1)
    factor, _ = display_unit("mV", np.abs(data[:, a:b] - base[:, None]).max())
    np.testing.assert_allclose(p._map_src.data["value"], (data[:, j] - base) * factor, rtol=1e-4,
                               atol=1e-5 * np.abs(at_end).max() * factor)
    assert p._now.visible and p._now.location == 150.0
    assert "150.0 ms" in p._map_fig.title.text
    # activity of the 20 ms up to 150 ms
    steps, ids = state.sim.spike_record.window(0.0)
    stamp = (steps + 1) * state.sim.network.dt
    n = int(((stamp > 130.0 + 1e-9) & (stamp <= 150.0 + 1e-9)).sum())
    assert p._act_src.data["image"][0].sum() == n
    # Run again: the copy goes, the slider is off
    state.running = True
    p.refresh(active=True)
    assert p._scrub is None and p.time.disabled
    state.running = False


def test_electrodes_chosen_by_clicks(state):
    p = panel(state)
    run_live(state, p, 50.0)
    first = list(p.electrodes.value)
    assert 0 not in first
    p._map_src.selected.indices = [0]  # the TapTool selects cell 0: electrode (0, 0)
    assert p.electrodes.value == first + [0] and p._map_src.selected.indices == []
    assert p._trace_src.data["name"][-1] == "(0, 0)"
    assert list(p._chosen_src.data["e"]) == first + [0]
    p._map_src.selected.indices = [first[0]]  # a click on a shown one takes it away
    assert p.electrodes.value == first[1:] + [0] and len(p._trace_src.data["ys"]) == 4


def test_follows_the_model(state):
    p = panel(state)
    run_live(state, p, 50.0)
    state.set_spec(from_dict(lfp_spec(grid=(3, 3), pitch=0.3)))
    p.refresh(active=True)
    assert len(p._map_src.data["value"]) == 9 and p._times.size == 0
    assert p.electrodes.value == default_electrodes((3, 3))
    state.set_spec(from_dict(lfp_spec(lfp=False)))
    assert not has_lfp(state)
    p.refresh(active=True)
    assert p._key is None and p._times.size == 0


def test_proxy_method(state):
    state.set_spec(from_dict(lfp_spec(method="proxy")))
    p = panel(state)
    run_live(state, p, 100.0)
    assert len(p._trace_src.data["xs"]) == 4 and p._map_bar.title in ("LFP − mean (pA)", "LFP − mean (nA)")
    assert "current proxy" in p.note.object


def test_app_adds_the_tab_only_with_an_lfp():
    from app.main import LFP_TAB, create_app
    page = create_app(spec=from_dict(lfp_spec(lfp=False)), backend="cpu")
    try:
        names = lambda: [t for t in page.tabs._names]  # noqa: E731
        assert "LFP" not in names() and len(page.tabs) == LFP_TAB
        page.state.set_spec(from_dict(lfp_spec()))
        page.tick()
        assert names()[LFP_TAB] == "LFP"
        page.tabs.active = LFP_TAB
        page.state.undo()  # back to no LFP: the tab goes, the page shows the first tab
        page.tick()
        assert "LFP" not in names() and page.tabs.active == 0
    finally:
        page.state.close()
