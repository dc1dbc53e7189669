"""The Scan tab in a real browser: a tiny scan (2x2 points of 100 ms of the default model on a
2-worker Dask cluster), then a click on a heatmap cell loads that point into the live
session and the status line says so."""
import re

import pytest

pytestmark = [pytest.mark.ui, pytest.mark.timeout(180)]
sync_api = pytest.importorskip("playwright.sync_api")

from app.launch import open_app, running_app, wait_for  # noqa: E402

# The page position of a cell of the scan's heatmap (the figure whose source has a `point`
# column), from BokehJS's own scales: [x, y] of the cell (x factor, y factor).
CELL = """([fx, fy]) => {
    const doc = window.Bokeh.documents[0];
    const src = [...doc.all_models].find(m => m.data && 'point' in m.data && 'sync' in m.data);
    const plot = [...doc.all_models].find(
        m => Array.isArray(m.renderers) && m.renderers.some(r => r.data_source === src));
    const view = window.Bokeh.index.find_one(plot);
    const box = view.canvas_view.el.getBoundingClientRect();
    return [box.left + view.frame.x_scale.compute(plot.x_range.synthetic(fx)),
            box.top + view.frame.y_scale.compute(plot.y_range.synthetic(fy))];
}"""
FACTORS = """() => {
    const doc = window.Bokeh.documents[0];
    const src = [...doc.all_models].find(m => m.data && 'point' in m.data && 'sync' in m.data);
    const plot = [...doc.all_models].find(
        m => Array.isArray(m.renderers) && m.renderers.some(r => r.data_source === src));
    return [src.data.point.length, plot.x_range.factors, plot.y_range.factors];
}"""


def test_a_click_on_a_heatmap_cell_loads_the_point(browser):
    with running_app(backend="cpu") as url:
        page = open_app(browser, url)
        page.locator(".bk-tab", has_text="Scan").first.click()
        for label, value in (("parameter 1 (spec path=values)", "projections[2,3].synapse.weight=-0.6,-1.2"),
                             ("parameter 2 (spec path=values)", "inputs.ext.params.rate=8000,12000"),
                             ("t_sim (ms)", "100")):
            field = page.get_by_label(label)
            field.fill(value)
            field.press("Enter")
        page.get_by_role("button", name="Run scan").click()
        done = page.get_by_text(re.compile(r"^scan: 4 of 4 points$"))
        assert wait_for(lambda: done.count() > 0 and page.evaluate(FACTORS)[0] == 4, timeout=120), \
            page.evaluate(FACTORS)
        n, xs, ys = page.evaluate(FACTORS)
        # the default model is Brunel's network: the axes are g (= -w / J) and eta
        assert (xs, ys) == (["3", "6"], ["1.6", "2.4"])
        x, y = page.evaluate(CELL, ["6", "1.6"])
        page.mouse.click(x, y)
        message = page.locator(".message").first
        assert wait_for(lambda: "loaded scan point" in (message.inner_text() if message.count() else ""), 30)
        assert message.inner_text() == "— loaded scan point g=6, eta=1.6 (input rate 8000 spikes/s)"
        page.close()
