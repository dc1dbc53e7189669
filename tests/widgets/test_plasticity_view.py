"""The Learning tab's views (widgets/plasticity.py) on a small spatial STDP network run in a
SimulationState: the weight histogram and series, the receptive-field map, the profile
heatmaps and the rf_error / rf_spread lines, checked against counts made here."""
import numpy as np
import pytest
from bokeh.document import Document

from sim_core.analysis import topomap
from sim_core.spec import from_dict
from widgets.plasticity import MAX_POINTS, NO_PLASTIC, LearningPanel, Series
from widgets.state import SimulationState

N = 8  # 8 x 8 grids, 0.1 mm apart
PLASTIC_Q = 2


def stdp_map_spec(n: int = N, recurrent: bool = False) -> dict:
    """Two grids on one periodic sheet: ``inp`` (driven by Poisson input, so that it fires)
    projects onto ``out`` with a Gaussian profile through stdp_synapse."""
    grid = {"kind": "grid", "extent": [0.1 * n, 0.1 * n], "shape": [n, n], "periodic": True}
    stdp = {"model": "stdp_synapse", "weight": {"dist": "uniform", "low": 10.0, "high": 40.0},
            "params": {"lambda": 0.05, "Wmax": 80.0}}
    projections = [
        {"source": "bg", "target": "inp", "rule": {"rule": "all_to_all"}, "synapse": {"weight": 20.0}},
        {"source": "bg", "target": "out", "rule": {"rule": "all_to_all"}, "synapse": {"weight": 10.0}},
        {"source": "inp", "target": "out",
         "rule": {"rule": "pairwise_bernoulli", "p": {"spatial": "gaussian", "p_center": 0.8, "sigma": 0.2}},
         "synapse": stdp}]
    if recurrent:  # a second plastic projection, within one grid
        projections.insert(2, {"source": "out", "target": "out",
                               "rule": {"rule": "pairwise_bernoulli", "p": {"spatial": "gaussian", "p_center": 0.3,
                                                                            "sigma": 0.1}},
                               "synapse": {**stdp, "weight": 5.0}})
    return {"format": "spikescope/1", "name": "stdp_map", "dt": 0.1, "seed": 3,
            "populations": {"inp": {"model": "iaf_psc_alpha", "size": n * n, "positions": grid},
                            "out": {"model": "iaf_psc_alpha", "size": n * n, "positions": grid}},
            "inputs": {"bg": {"model": "poisson_generator", "params": {"rate": 20000.0}}},
            "projections": projections}


@pytest.fixture
def state():
    s = SimulationState(from_dict(stdp_map_spec()), backend="cpu")
    yield s
    s.close()


def panel(state) -> LearningPanel:
    """The panel sampling on every refresh (no wall-clock throttle), rendered in a document."""
    p = LearningPanel(state=state, sample_s=0.0, map_s=0.0, budget=0.0)
    p.__panel__().get_root(Document())
    return p


def nest_grid_units(n_rows: int, size: int) -> np.ndarray:
    """Grid units of NEST's order, by hand: node k in column k // rows, row k % rows from
    the top (y up here: rows - 1 - row)."""
    k = np.arange(size)
    return np.column_stack([k // n_rows, n_rows - 1 - k % n_rows]).astype(float)


def test_weight_views_follow_the_learning_network(state):
    p = panel(state)
    assert not p.note.visible and p._weights_box.visible and p._map_box.visible
    src, _, w0 = state.sim.weights(PLASTIC_Q)
    hist0 = list(p._hist.data["top"])
    assert sum(hist0) == src.size > 0  # every synapse in a bin (weights in [0, Wmax])
    for _ in range(3):
        state.advance(100.0)
        p.refresh()
    _, _, w = state.sim.weights(PLASTIC_Q)
    assert not np.array_equal(w, w0)  # it learns
    assert sum(p._hist.data["top"]) == src.size and list(p._hist.data["top"]) != hist0
    s = p._wseries.data
    assert list(s["t"]) == [0.0, 100.0, 200.0, 300.0]
    assert s["mean"][0] == pytest.approx(w0.mean()) and s["mean"][-1] == pytest.approx(w.mean())
    assert s["p10"][-1] == pytest.approx(np.percentile(w, 10)) and s["p90"][-1] == pytest.approx(np.percentile(w, 90))
    assert f"{src.size:,} synapses" in p._hist_fig.title.text
    assert p._hist_fig.xaxis[0].axis_label == "weight (pA)"
    # an idle page: nothing moved, nothing sampled
    p.refresh()
    assert len(p._wseries.data["t"]) == 4


def test_topographic_map_views_are_correct(state):
    p = panel(state)
    for _ in range(3):
        state.advance(100.0)
        p.refresh()
    rf = p._rf.data
    assert list(rf["t"]) == [0.0, 100.0, 200.0, 300.0]  # the lines grow
    src, tgt, w = state.sim.weights(PLASTIC_Q)
    pos = nest_grid_units(N, N * N)
    expected = topomap.rf_quality(src, tgt, w, pos, pos, (N, N))
    assert rf["rf_error"][-1] == pytest.approx(expected["rf_error"])
    assert rf["rf_spread"][-1] == pytest.approx(expected["rf_spread"])
    assert 0 < rf["rf_spread"][-1] < 4  # Gaussian sigma 2 grid units: about 2.5
    # connection probability at displacement 0, by hand: synapses whose source sits where
    # their target does, over the targets (each target has one source at each displacement)
    mm = state.sim.network.connectome.positions
    same = np.all(np.isclose(mm["inp"][src], mm["out"][tgt]), axis=1)
    img = np.asarray(p._p_src.data["image"][0])
    x0, y0 = p._p_src.data["x"][0], p._p_src.data["y"][0]
    centre = (int(round(0 - y0 - 0.5)), int(round(0 - x0 - 0.5)))  # the pixel of (0, 0)
    assert img[centre] == pytest.approx(same.sum() / (N * N))
    assert img.shape == (N, N)  # the whole grid of displacements: the profile fills it
    # both heatmaps are topomap.profile's (p from the synapse counts: equal grids)
    prof = topomap.profile(src, tgt, w, pos, pos, (N, N))
    np.testing.assert_allclose(img, prof["p"].astype(np.float32))
    np.testing.assert_allclose(np.asarray(p._w_src.data["image"][0]), prof["w"].astype(np.float32), equal_nan=True)
    assert p._w_src.data["x"][0] == prof["dx"][0] - 0.5 and p._w_src.data["dw"][0] == prof["dx"].size
    # one arrow per target, from its position to its RF centre the short way round
    a = {k: np.asarray(v) for k, v in p._arrows.data.items()}
    assert a["x0"].size == N * N
    centre_xy, _ = topomap.rf_centres(src, tgt, w, pos, N * N, (N, N))
    np.testing.assert_allclose(np.column_stack([a["x0"], a["y0"]]), pos)
    end = np.column_stack([a["x1"], a["y1"]])
    np.testing.assert_allclose(np.mod(end, N), np.mod(centre_xy, N), atol=1e-9)
    assert np.all(np.abs(end - pos) <= N / 2)


def test_rewiring_changes_the_synapses_and_the_probability_follows():
    spec = stdp_map_spec()
    spec["projections"][2]["rewiring"] = {"interval": 1.0, "attempts": 20, "capacity": 32, "threshold": 30.0,
                                          "p_elim_below": 0.5, "p_elim_above": 0.0, "weight": 25.0}
    st = SimulationState(from_dict(spec), backend="cpu")
    try:
        p = panel(st)
        n0 = st.sim.weights(PLASTIC_Q)[0].size
        p0 = np.asarray(p._p_src.data["image"][0]).copy()
        st.advance(200.0)
        p.refresh()
        src, tgt, w = st.sim.weights(PLASTIC_Q)
        assert src.size != n0 and sum(p._hist.data["top"]) == src.size
        pos = nest_grid_units(N, N * N)
        img = np.asarray(p._p_src.data["image"][0])
        assert not np.array_equal(img, p0)
        np.testing.assert_allclose(img, topomap.profile(src, tgt, w, pos, pos, (N, N))["p"].astype(np.float32))
    finally:
        st.close()


def test_a_source_grid_of_another_shape_maps_onto_the_target_grid():
    spec = stdp_map_spec()
    spec["populations"]["out"]["size"] = 16
    spec["populations"]["out"]["positions"] = {**spec["populations"]["out"]["positions"], "shape": [4, 4]}  # spacing 0.2 mm, the same 0.8 mm sheet
    st = SimulationState(from_dict(spec), backend="cpu")
    try:
        p = panel(st)
        geo = p._geometry[PLASTIC_Q]
        assert geo.shape == (4, 4) and not geo.equal
        # 8 sources per row, 0.1 mm apart: half a target spacing, the first 0.05 mm from the edge
        np.testing.assert_allclose(np.unique(np.round(geo.src_pos, 9)), np.arange(-0.25, 3.3, 0.5))
        src, tgt, w = st.sim.weights(PLASTIC_Q)
        np.testing.assert_allclose(np.asarray(p._p_src.data["image"][0]), topomap.profile(
            src, tgt, w, geo.src_pos, geo.tgt_pos, (4, 4))["p"][np.ix_(geo.cy, geo.cx)].astype(np.float32))
        assert len(p._arrows.data["x0"]) == 16 and len(p._rf.data["t"]) == 1
    finally:
        st.close()


def test_series_start_again_after_reset_and_rebuild(state):
    p = panel(state)
    state.advance(100.0)
    p.refresh()
    assert len(p._wseries.data["t"]) == 2 and len(p._rf.data["t"]) == 2
    state.reset()
    p.refresh()
    assert list(p._wseries.data["t"]) == [0.0] and list(p._rf.data["t"]) == [0.0]
    state.advance(50.0)
    p.refresh()
    state.set_spec(from_dict({**stdp_map_spec(), "seed": 4}))  # another network: rebuilt
    p.refresh()
    assert list(p._wseries.data["t"]) == [0.0] and list(p._rf.data["t"]) == [0.0]


def test_selectors_prefer_the_feed_forward_map_and_switch():
    st = SimulationState(from_dict(stdp_map_spec(recurrent=True)), backend="cpu")
    try:
        p = panel(st)
        assert p.projection.visible and list(p.projection.options.values()) == [2, 3]
        assert p.map_projection.visible and p.map_projection.value == 3  # inp -> out before out -> out
        st.advance(100.0)
        p.refresh()
        n2, n3 = (st.sim.weights(q)[0].size for q in (2, 3))
        assert sum(p._hist.data["top"]) == n2
        p.projection.value = 3
        assert sum(p._hist.data["top"]) == n3 and "3: inp → out" in p._hist_fig.title.text
        assert len(p._wseries.data["t"]) >= 2  # its series was kept while the other was shown
        p.map_projection.value = 2
        assert "RF centres of out" in p._arrow_fig.title.text and len(p._rf.data["t"]) >= 2
    finally:
        st.close()


def test_no_plastic_projection_says_so_and_costs_nothing():
    spec = stdp_map_spec()
    spec["projections"][2]["synapse"] = {"weight": 20.0}
    st = SimulationState(from_dict(spec), backend="cpu")
    try:
        p = panel(st)
        assert p.note.visible and p.note.object == NO_PLASTIC and "stdp_synapse" in NO_PLASTIC
        assert not p._weights_box.visible and not p._map_box.visible
        st.advance(50.0)
        p.refresh()
        assert len(p._wseries.data["t"]) == 0
    finally:
        st.close()


def test_non_spatial_plastic_projection_has_weights_but_no_map():
    spec = stdp_map_spec()
    for pop in spec["populations"].values():
        pop.pop("positions")
    spec["projections"][2]["rule"] = {"rule": "fixed_indegree", "indegree": 10}
    st = SimulationState(from_dict(spec), backend="cpu")
    try:
        p = panel(st)
        assert p._weights_box.visible and not p._map_box.visible and p.map_note.visible
        assert sum(p._hist.data["top"]) == 640
    finally:
        st.close()


def test_sampling_is_throttled_by_wall_time_and_cost(state):
    p = LearningPanel(state=state, sample_s=30.0)  # long enough that a slow machine cannot pass it
    p.__panel__().get_root(Document())
    state.advance(20.0)
    p.refresh()  # too early
    assert len(p._wseries.data["t"]) == 1
    p._last["weights"] -= 31.0  # as if 31 s had passed
    p.refresh()
    assert len(p._wseries.data["t"]) == 2
    # a costly sample (5 s, 10 % budget) waits 50 s, not 30
    p._cost["weights"], p._last["weights"] = 5.0, p._last["weights"] - 40.0
    state.advance(20.0)
    p.refresh()
    assert len(p._wseries.data["t"]) == 2
    p._last["weights"] -= 11.0
    p.refresh()
    assert len(p._wseries.data["t"]) == 3


def test_hidden_tab_keeps_series_and_draws_when_shown(state):
    p = panel(state)
    hist0 = list(p._hist.data["top"])
    state.advance(100.0)
    p.refresh(active=False)
    assert len(p._wdata[PLASTIC_Q]) == 2 and len(p._wseries.data["t"]) == 1  # sampled, not drawn
    assert list(p._hist.data["top"]) == hist0
    p.refresh(active=True)  # shown again: drawn at once, though nothing moved
    assert len(p._wseries.data["t"]) == 2 and len(p._rf.data["t"]) == 2


def test_series_stays_bounded_and_spread_over_the_run():
    s = Series(("v",), max_points=100)
    for k in range(10_000):
        s.add(float(k), {"v": float(k)})
    d = s.data()
    assert 50 <= len(s) <= 100 and d["t"][0] == 0.0 and d["t"][-1] >= 9_900
    gaps = np.diff(d["t"])
    assert gaps.max() <= 3 * np.median(gaps)  # about evenly spread, old and new
    np.testing.assert_array_equal(d["v"], d["t"])
    assert MAX_POINTS <= 5000


def test_the_app_has_a_learning_tab():
    from app.main import LEARNING_TAB, create_app
    page = create_app(from_dict(stdp_map_spec()), backend="cpu")
    try:
        assert page.tabs._names[LEARNING_TAB] == "Learning"
        page.learning.sample_s = page.learning.map_s = 0.0
        page.state.advance(100.0)
        page.tick()  # the tab hidden: sampled, not drawn
        assert len(page.learning._wseries.data["t"]) == 1
        page.tabs.active = LEARNING_TAB
        page.tick()
        assert len(page.learning._wseries.data["t"]) == 2 and len(page.learning._rf.data["t"]) == 2
    finally:
        page.state.close()
