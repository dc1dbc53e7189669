"""The app in a real browser: Playwright driving Debian's Chromium against
`spikescope serve` on 127.0.0.1."""
import os
import re
import time

import pytest

pytestmark = pytest.mark.ui
sync_api = pytest.importorskip("playwright.sync_api")

from app.launch import open_app as _open, status as _status, wait_for as _wait_for  # noqa: E402


def test_page_loads_and_diagram_has_the_notation(server, browser):
    page = _open(browser, server)
    assert _status(page) == (0.0, 0)
    # default model (brunel_small): E excitatory, I inhibitory, Poisson input, spike recorder
    assert page.locator("g.node.excitatory").count() >= 1
    assert page.locator("g.node.inhibitory").count() >= 1
    assert page.locator("g.node.stimulus").count() == 1
    assert page.locator("g.node.recorder").count() >= 1
    assert page.locator("g.edge.probabilistic.excitatory").count() == 2  # E->E, E->I fixed in-degree
    assert page.locator("g.edge.probabilistic.inhibitory").count() == 2
    assert page.locator("g.edge.deterministic").count() == 2  # ext -> E, I all-to-all
    assert page.locator("g.edge.recording").count() == 2
    page.screenshot(path=os.environ.get("SPIKESCOPE_SCREENSHOT", "/tmp/spikescope-app.png"))
    page.close()


def test_run_advances_and_pause_stops(server, browser):
    page = _open(browser, server)
    page.get_by_role("button", name="Run").click()
    assert _wait_for(lambda: _status(page)[0] > 50 and _status(page)[1] > 0), _status(page)
    page.get_by_role("button", name="Pause").click()
    time.sleep(1.0)
    t1 = _status(page)
    time.sleep(1.5)
    assert _status(page) == t1  # paused: nothing moves
    page.get_by_role("button", name="Step").click()
    assert _wait_for(lambda: _status(page)[0] > t1[0])
    page.close()


def test_bad_entry_shows_error_and_app_keeps_working(server, browser):
    page = _open(browser, server)
    size = page.get_by_label("size")
    size.fill("0")
    size.press("Enter")
    page.get_by_role("button", name="Apply", exact=True).click()
    error = page.get_by_text(re.compile(r"populations\.E\.size: 0 must be >= 1"))
    assert _wait_for(lambda: error.count() > 0 and error.first.is_visible())
    page.get_by_role("button", name="Run").click()
    assert _wait_for(lambda: _status(page)[0] > 20)
    page.get_by_role("button", name="Pause").click()
    page.close()


def test_two_sessions_are_independent(server, browser):
    a, b = _open(browser, server), _open(browser, server)
    a.get_by_role("button", name="Run").click()
    assert _wait_for(lambda: _status(a)[0] > 50)
    time.sleep(1.0)
    assert _status(b) == (0.0, 0)
    a.get_by_role("button", name="Pause").click()
    a.close()
    b.close()


def test_plots_update_while_running_and_an_idle_page_sends_nothing(server, browser):
    """The three live plots get new data several times a second while running; paused,
    the server sends them nothing (an idle page must not keep the CPU busy)."""
    from app.launch import COUNT_PLOT_UPDATES, READ_PLOT_UPDATES
    page = _open(browser, server)
    page.evaluate(COUNT_PLOT_UPDATES)
    assert len(page.evaluate(READ_PLOT_UPDATES)) == 3  # raster, rates, membrane
    page.get_by_role("button", name="Run").click()
    assert _wait_for(lambda: _status(page)[0] > 50)
    c0, w0 = page.evaluate(READ_PLOT_UPDATES), time.time()
    time.sleep(3.0)
    c1, w1 = page.evaluate(READ_PLOT_UPDATES), time.time()
    # ~5.8/s on an idle 2-core machine (benchmarks/app_live_speed.py); lenient under CI load
    assert min(b - a for a, b in zip(c0, c1)) / (w1 - w0) > 2.5, (c0, c1)
    page.get_by_role("button", name="Pause").click()
    time.sleep(1.0)
    c2 = page.evaluate(READ_PLOT_UPDATES)
    time.sleep(2.0)
    assert page.evaluate(READ_PLOT_UPDATES) == c2
    page.close()


RASTER = """() => { const out = {};
    for (const m of window.Bokeh.documents[0].all_models) {
        if (m.title && m.title.text && m.title.text.startsWith('Spike raster')) out.range = [m.y_range.start, m.y_range.end];
        if (m.constructor.__name__ === 'ColumnDataSource' && Object.keys(m.data).join(',') === 't,y,pop')
            out.ymax = m.data.y.length ? Math.max(...m.data.y) : -1;
    } return out; }"""


def test_a_link_opens_its_model_and_the_raster_shows_all_of_it(server, browser):
    """?preset=clustered&scale=0.1 opens that model (500 neurons, 40 populations); the
    raster's axis is the model's, and the last populations' spikes are on it. Loading a
    preset writes it into the address, and that address opens it in a new session."""
    page = _open(browser, server + "?preset=clustered&scale=0.1")
    notice = page.get_by_text("loaded clustered (scale 0.1) from the address")
    assert _wait_for(lambda: notice.count() > 0)
    page.get_by_role("button", name="Run").click()
    assert _wait_for(lambda: _status(page)[0] > 300)
    page.get_by_role("button", name="Pause").click()
    assert _wait_for(lambda: page.evaluate(RASTER).get("range") == [0, 500])
    assert page.evaluate(RASTER)["ymax"] >= 450  # the I populations (neurons 400-499) are drawn
    page.get_by_label("Preset").select_option("brunel")
    time.sleep(1.0)  # the selection reaches the server before the click does
    page.get_by_role("button", name="Load preset").click()
    href = lambda: page.evaluate("() => window.location.href")  # noqa: E731 (history.replaceState: not page.url)
    assert _wait_for(lambda: "preset=brunel" in href() and "scale=0.1" in href()), href()
    assert _wait_for(lambda: page.evaluate(RASTER).get("range") == [0, 1250])  # the axis follows the new model
    shared = _open(browser, href())
    assert _wait_for(lambda: shared.get_by_text("loaded brunel (scale 0.1) from the address").count() > 0)
    assert _wait_for(lambda: shared.evaluate(RASTER).get("range") == [0, 1250])
    page.close()
    shared.close()


def test_the_same_file_imported_twice_is_imported_twice(server, browser, tmp_path):
    """Import a spec, change the model, import the same file again: the file's model is
    back (the second import did nothing: the input's value had not changed)."""
    from conftest import SHARED_SPECS
    path = [p for p in SHARED_SPECS if p.stem == "two_neurons"][0]
    page = _open(browser, server)
    upload = page.locator("input[type=file]").first
    upload.set_input_files(str(path))
    assert _wait_for(lambda: f"loaded {path.name}" in page.locator(".message").first.inner_text())
    page.get_by_label("Preset").select_option("brunel")
    time.sleep(1.0)
    page.get_by_role("button", name="Load preset").click()
    assert _wait_for(lambda: "loaded brunel" in page.locator(".message").first.inner_text())
    upload.set_input_files(str(path))
    assert _wait_for(lambda: f"loaded {path.name}" in page.locator(".message").first.inner_text())
    page.close()


def test_the_diagram_fits_a_narrow_window(server, browser):
    """The diagram scales to the space it has (it kept 900 px and was cut off)."""
    page = browser.new_page(viewport={"width": 1000, "height": 900})  # the sidebar takes 360 px of it
    page.goto(server, timeout=120_000)
    page.locator(".status-line").first.wait_for(timeout=120_000)
    page.locator(".bk-tab", has_text="Network").first.click()
    svg = page.locator("svg.spikescope-notation").first  # not the first icon on the page
    assert _wait_for(lambda: svg.is_visible())
    box = svg.bounding_box()
    assert box["x"] >= 360 and box["x"] + box["width"] <= 1000 + 1, box
    page.close()


def _box(locator):
    """The element's bounding box, waiting while it is re-rendered (the status line's span is
    replaced at every refresh: read at that moment, it had no box and the test failed)."""
    found = {}

    def has_box() -> bool:
        found["box"] = locator.bounding_box()
        return found["box"] is not None

    _wait_for(has_box)
    return found["box"]


def test_presentation_mode_fits_a_projector(server, browser):
    """At 1280x720 with ?present=1 the controls, the status line, the raster and the rates
    are on screen without scrolling; the sidebar comes back when the mode is left."""
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    page.goto(server + "?present=1", timeout=120_000)
    page.locator(".status-line").first.wait_for(timeout=120_000)
    page.get_by_role("button", name="Run").click()
    assert _wait_for(lambda: _status(page)[0] > 50)
    page.get_by_role("button", name="Pause").click()
    canvases = page.locator("canvas")
    assert _wait_for(lambda: canvases.count() >= 2)
    boxes = [_box(page.get_by_role("button", name="Run")), _box(page.locator(".status-line").first),
             _box(canvases.nth(0)), _box(canvases.nth(1))]
    for box in boxes:
        assert box and box["y"] >= 0 and box["y"] + box["height"] <= 720 and box["x"] + box["width"] <= 1280, boxes
    load = page.get_by_role("button", name="Load preset")
    assert load.count() == 0 or not load.is_visible()  # the sidebar is folded away
    page.get_by_role("button", name="Presentation").click()
    assert _wait_for(lambda: page.get_by_role("button", name="Load preset").is_visible())
    page.close()
