"""The Learning tab in Chromium: it says when the model has nothing plastic; after a small
spatial STDP network is imported and run, its weight histogram, weight series, receptive-field
arrows and rf_error / rf_spread lines arrive in the page and keep changing."""
import time

import pytest

pytestmark = [pytest.mark.ui, pytest.mark.timeout(180)]
sync_api = pytest.importorskip("playwright.sync_api")

from app.launch import open_app, status, wait_for  # noqa: E402

# A named ColumnDataSource's columns as plain lists of numbers (typed arrays too; an image
# column becomes nulls), or null when the page has no such source.
COLUMNS = """name => { const m = window.Bokeh.documents[0].get_model_by_name(name);
    if (!m) return null;
    const out = {};
    for (const [k, v] of Object.entries(m.data)) out[k] = Array.from(v, x => typeof x === 'number' ? x : null);
    return out; }"""
N = 8


def stdp_map_spec() -> dict:
    grid = {"kind": "grid", "extent": [0.1 * N, 0.1 * N], "shape": [N, N], "periodic": True}
    return {"format": "spikescope/1", "name": "stdp_map", "dt": 0.1, "seed": 3,
            "populations": {"inp": {"model": "iaf_psc_alpha", "size": N * N, "positions": grid},
                            "out": {"model": "iaf_psc_alpha", "size": N * N, "positions": grid}},
            "inputs": {"bg": {"model": "poisson_generator", "params": {"rate": 20000.0}}},
            "projections": [
                {"source": "bg", "target": "inp", "rule": {"rule": "all_to_all"}, "synapse": {"weight": 20.0}},
                {"source": "bg", "target": "out", "rule": {"rule": "all_to_all"}, "synapse": {"weight": 10.0}},
                {"source": "inp", "target": "out",
                 "rule": {"rule": "pairwise_bernoulli",
                          "p": {"spatial": "gaussian", "p_center": 0.8, "sigma": 0.2}},
                 "synapse": {"model": "stdp_synapse", "weight": {"dist": "uniform", "low": 10.0, "high": 40.0},
                             "params": {"lambda": 0.05, "Wmax": 80.0}}}]}


def message(page) -> str:
    m = page.locator(".message")
    return m.first.inner_text() if m.count() else ""


def test_learning_tab_shows_a_network_learn(server, browser, tmp_path):
    from sim_core.engine.simulation import Simulation
    from sim_core.spec import dumps, from_dict
    spec = from_dict(stdp_map_spec())
    n_synapses = Simulation(spec).weights(2)[0].size  # the same seed: the server's network
    path = tmp_path / "stdp_map.yaml"
    path.write_text(dumps(spec))

    page = open_app(browser, server)
    page.locator(".bk-tab", has_text="Learning").first.click()
    note = page.get_by_text("No plastic projections: set a projection's synapse model to stdp_synapse")
    assert wait_for(lambda: note.count() > 0 and note.first.is_visible())  # the default model
    page.locator("input[type=file]").set_input_files(str(path))
    assert wait_for(lambda: "loaded stdp_map.yaml" in message(page))
    cols = lambda name: page.evaluate(COLUMNS, name)  # noqa: E731
    hist = lambda: cols("learning-weight-histogram")["top"]  # noqa: E731
    assert wait_for(lambda: sum(hist()) == n_synapses), (hist(), n_synapses)
    assert not note.first.is_visible()
    before = hist()
    page.get_by_role("button", name="Run").click()
    # the lines grow while it runs (a few points a second) and the histogram moves
    assert wait_for(lambda: len(cols("learning-weight-series")["t"]) >= 4
                    and len(cols("learning-rf-series")["t"]) >= 4, timeout=30), status(page)
    assert wait_for(lambda: hist() != before)
    assert sum(hist()) == n_synapses
    arrows = cols("learning-rf-arrows")
    assert len(arrows["x0"]) == N * N
    rf = cols("learning-rf-series")
    assert all(0 < s < N for s in rf["rf_spread"]) and rf["t"] == sorted(rf["t"])
    n = len(cols("learning-weight-series")["t"])
    time.sleep(1.5)
    assert len(cols("learning-weight-series")["t"]) > n  # still growing
    page.get_by_role("button", name="Pause").click()
    page.close()
