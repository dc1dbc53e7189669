"""The Scan tab as a phase diagram: Brunel's g x eta set up in one call, the heatmap
coloured by rate, CV ISI or synchrony, and a click on a cell loading that point's spec into
the live session. The scan itself is replaced by a stand-in here (its points come back in
another order than the grid's, as from Dask); tests/ui/test_scan_browser.py runs a real one."""
import time

import pytest
from bokeh.document import Document

from sim_core.scan import grid, point_specs
from sim_core.spec import from_dict, load, to_plain
from widgets.state import SimulationState

from conftest import SHARED_SPECS

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def state():
    s = SimulationState(load([p for p in SHARED_SPECS if p.stem == "brunel_small"][0]), backend="cpu", threads=1)
    yield s
    s.close()


def fake_scan(spec, params, *, on_result, **kw):
    """Points as Dask hands them back: last first; rates, CVs and synchrony made up from the index."""
    for i, point in reversed(list(enumerate(grid(params)))):
        on_result({"index": i, "params": point, "rates_hz": {"E": 10.0 * i, "I": 1.0},
                   "cv_isi": {"E": 0.1 * i, "I": None}, "synchrony": {"E": 100.0 + i, "I": 2.0},
                   "network_synchrony": 50.0})


def run_fake(view, monkeypatch):
    import sim_core.scan.runner as runner
    monkeypatch.setattr(runner, "scan", fake_scan)
    view.start()
    deadline = time.time() + 30
    while view._running and time.time() < deadline:
        time.sleep(0.05)
    view.refresh()


def test_phase_diagram_heatmap_and_a_click_loads_the_point(state, monkeypatch):
    from widgets.scan import ScanView
    view = ScanView(state=state)
    view.__panel__().get_root(Document())
    params = view.setup_phase_diagram(g=[3, 6], eta=[1, 2])
    from sim_core.scan.phase import brunel_network
    base = brunel_network()
    assert to_plain(state.spec) == to_plain(from_dict(base))  # the phase diagram's network is live
    assert params == {"projections[2,3].synapse.weight": [-1.5, -3.0], "inputs.ext.params.rate": [2000.0, 4000.0]}
    assert view.params() == params and view.metric.value == "synchrony" and view.population.value == "E"
    assert (view.t_sim.value, view.t_presim.value) == (500.0, 100.0)
    run_fake(view, monkeypatch)
    data = view._src.data
    points = grid(params)
    # every cell is its own point: the labels are that point's g and eta
    g_eta = {0: ("3", "1"), 1: ("3", "2"), 2: ("6", "1"), 3: ("6", "2")}
    assert sorted(data["point"]) == [0, 1, 2, 3]
    for row, i in enumerate(data["point"]):
        assert (data["x"][row], data["y"][row]) == g_eta[i]
        assert data["value"][row] == 100.0 + i and data["rate"][row] == 10.0 * i  # coloured by synchrony of E
    assert view._fig.xaxis.axis_label == "g (projections[2,3].synapse.weight)"
    assert "Synchrony of E" in view._fig.title.text
    view.metric.value = "cv_isi"
    assert list(view._src.data["value"]) == [0.1 * i for i in view._src.data["point"]]
    view.population.value = "I"
    assert all(v != v for v in view._src.data["value"])  # no CV for I: NaN, drawn grey

    # a click (the TapTool selects a cell) loads exactly that point's spec
    row = list(data["point"]).index(2)
    view._src.selected.indices = [row]
    expected = point_specs(from_dict(base), [points[2]])[0]
    assert to_plain(state.spec) == expected
    assert state.spec.projections[2].synapse.weight == state.spec.projections[3].synapse.weight == -3.0
    assert state.spec.inputs["ext"].params["rate"] == 2000.0
    assert state.message == "loaded scan point g=6, eta=1 (input rate 2000.0 spikes/s)"
    assert view._src.selected.indices == []  # the same cell can be clicked again
    # load_point directly, for another point; only parameters differ: applied in place
    assert view.load_point(1) == "live"
    assert to_plain(state.spec) == point_specs(from_dict(base), [points[1]])[0]
    assert state.message.startswith("loaded scan point g=3, eta=2")


def test_a_plain_scan_loads_its_point_by_path(monkeypatch):
    """Outside Brunel's network the cells are labelled with the spec values and a click
    loads the point named by its paths; a second scan replaces what a click loads."""
    from widgets.scan import ScanView
    spec = from_dict({"format": "spikescope/1", "name": "scan", "seed": 3, "populations": {
        "E": {"model": "iaf_psc_exp", "size": 20}},
        "inputs": {"bg": {"model": "poisson_generator", "params": {"rate": 8000.0}}},
        "projections": [{"source": "bg", "target": "E", "rule": {"rule": "all_to_all"},
                         "synapse": {"weight": 87.8, "delay": 1.0}}]})
    st = SimulationState(spec, backend="cpu", threads=1)
    try:
        view = ScanView(state=st)
        view.__panel__().get_root(Document())
        view.param1.value = "inputs.bg.params.rate=6000,12000"
        view.param2.value = "projections[0].synapse.weight=60.0,90.0"
        run_fake(view, monkeypatch)
        assert sorted(zip(view._src.data["x"], view._src.data["y"])) == [
            ("12000", "60.0"), ("12000", "90.0"), ("6000", "60.0"), ("6000", "90.0")]
        row = list(view._src.data["point"]).index(3)
        view._src.selected.indices = [row]
        assert st.spec.inputs["bg"].params["rate"] == 12000 and st.spec.projections[0].synapse.weight == 90.0
        assert st.message == "loaded scan point inputs.bg.params.rate=12000, projections[0].synapse.weight=90.0"
        view.param2.value = ""
        run_fake(view, monkeypatch)
        view.load_point(0)
        assert st.spec.inputs["bg"].params["rate"] == 6000 and st.spec.projections[0].synapse.weight == 90.0
    finally:
        st.close()
