"""The LFP tab in Chromium: absent for the default model (no LFP recorder); a small spatial
network with an LFP recorder imported, the tab joins, and while the network runs the map's
values change and the traces move on; paused, the time slider scrubs the map back; Undo
(the default model again) takes the tab away."""
import importlib.util
import os
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.ui, pytest.mark.timeout(180)]
sync_api = pytest.importorskip("playwright.sync_api")

from app.launch import open_app, status, wait_for  # noqa: E402

SHOTS = os.environ.get("SPIKESCOPE_LFP_SCREENSHOT")  # a path: the page as the test leaves it, for a look

# A named ColumnDataSource's columns: numbers as they are, a column of arrays (multi_line's
# xs and ys, an image) as lists of numbers; null when the page has no such source.
COLUMNS = """name => { const m = window.Bokeh.documents[0].get_model_by_name(name);
    if (!m) return null;
    const out = {};
    for (const [k, v] of Object.entries(m.data))
        out[k] = Array.from(v, x => typeof x === 'number' ? x : (x && x.length !== undefined ? Array.from(x) : x));
    return out; }"""


_SMALL = importlib.util.spec_from_file_location(
    "lfp_small_spec", Path(__file__).resolve().parents[1] / "lfp" / "small_spec.py")
small = importlib.util.module_from_spec(_SMALL)
_SMALL.loader.exec_module(small)


def lfp_spec() -> dict:
    """tests/lfp's small network (L4E and L4I at random on a periodic 1 x 1 mm^2 sheet),
    200 + 50 neurons, 5 x 5 electrodes 0.2 mm apart."""
    return small.spec(grid=(5, 5), pitch=0.2, size=(200, 50))


MAP_TIME = """() => parseFloat(window.Bokeh.documents[0].get_model_by_name('lfp-map-figure').title.text
    .match(/t = ([\\d.]+) ms/)[1])"""  # the time the map shows, from its title


def message(page) -> str:
    m = page.locator(".message")
    return m.first.inner_text() if m.count() else ""


def lfp_tab(page):
    return page.locator(".bk-tab", has_text="LFP")


def test_lfp_tab_live_map_traces_slider(server, browser, tmp_path):
    from sim_core.spec import dumps, from_dict
    path = tmp_path / "lfp_small.yaml"
    path.write_text(dumps(from_dict(lfp_spec())))

    page = open_app(browser, server)
    assert page.locator(".bk-tab", has_text="Learning").count() == 1
    assert lfp_tab(page).count() == 0  # the default model records no LFP
    page.locator("input[type=file]").set_input_files(str(path))
    assert wait_for(lambda: "loaded lfp_small.yaml" in message(page))
    assert wait_for(lambda: lfp_tab(page).count() == 1)
    lfp_tab(page).first.click()
    cols = lambda name: page.evaluate(COLUMNS, name)  # noqa: E731
    assert wait_for(lambda: cols("lfp-map") is not None and len(cols("lfp-map")["value"]) == 25)
    assert page.get_by_text("5 × 5 electrodes").count() > 0

    page.get_by_role("button", name="Run").click()
    # live: the map's values change from refresh to refresh, the traces run on
    assert wait_for(lambda: len(cols("lfp-traces")["xs"]) == 4 and len(cols("lfp-traces")["xs"][0]) > 10,
                    timeout=30), status(page)
    maps, ends = [], []
    deadline = time.time() + 10
    while time.time() < deadline and len({tuple(m) for m in maps}) < 3:
        maps.append(cols("lfp-map")["value"])
        ends.append(cols("lfp-traces")["xs"][0][-1])
        time.sleep(0.3)
    assert len({tuple(m) for m in maps}) >= 3, "the map did not change"
    assert ends[-1] > ends[0] and ends == sorted(ends)
    assert any(abs(v) > 0 for v in maps[-1])
    assert sum(cols("lfp-activity")["image"][0]) > 0  # spikes on the sheet (the image, flat)
    assert wait_for(lambda: status(page)[0] > 700, timeout=30), status(page)  # more than the traces' 500 ms

    page.get_by_role("button", name="Pause").click()
    line = page.locator(".status-line").first
    assert wait_for(lambda: line.inner_text().startswith("paused"))
    t_end = status(page)[0]
    slider = page.locator(".lfp-time .noUi-handle").first
    assert wait_for(lambda: slider.get_attribute("aria-disabled") != "true")
    assert wait_for(lambda: abs(float(slider.get_attribute("aria-valuenow")) - t_end) < 1.0), \
        (slider.get_attribute("aria-valuenow"), t_end)
    at_end = cols("lfp-map")["value"]
    value = lambda attr: float(slider.get_attribute(f"aria-value{attr}"))  # noqa: E731
    assert value("min") < t_end - 500 and value("max") == pytest.approx(t_end, abs=1.0)
    shown_t = lambda: page.evaluate(MAP_TIME)  # noqa: E731
    assert shown_t() == pytest.approx(value("max"), abs=0.01)
    # scrub: a click on the slider's bar moves the handle there (its keys worked only once)
    bar = page.locator(".lfp-time .noUi-base").first.bounding_box()
    for frac in (0.02, 0.5):
        before = cols("lfp-map")["value"]
        page.mouse.click(bar["x"] + frac * bar["width"], bar["y"] + bar["height"] / 2)
        target = value("min") + frac * (value("max") - value("min"))
        assert wait_for(lambda: abs(value("now") - target) < 0.05 * (value("max") - value("min"))), \
            (value("now"), target)
        assert wait_for(lambda: shown_t() == pytest.approx(value("now"), abs=0.5)), (shown_t(), value("now"))
        assert wait_for(lambda: cols("lfp-map")["value"] != before)
    assert cols("lfp-map")["value"] != at_end
    if SHOTS:
        page.screenshot(path=SHOTS, full_page=True)

    # Undo: back to the default model, and the tab goes
    page.get_by_role("button", name="Undo").click()
    assert wait_for(lambda: lfp_tab(page).count() == 0, timeout=30)
    page.close()
