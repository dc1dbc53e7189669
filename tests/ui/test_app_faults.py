"""Small faults of the app found by a lecturer's try-out (issue 15), each with the browser
test that would have caught it: checkbox labels that did not toggle, a sidebar that cut
off its button and text, an invalid field's red border that never showed (the page's CSS
does not reach into a widget's shadow DOM), the preset selector naming the old preset
after an import, and a status line that said neither what state the run is in nor what
to do first."""
import re
import time

import pytest

pytestmark = pytest.mark.ui
sync_api = pytest.importorskip("playwright.sync_api")

from app.launch import open_app, wait_for  # noqa: E402

# Every element under the root, through open shadow roots, whose box (text or control) ends
# right of the root's right edge: what the reader cannot see.
CLIPPED = """root => { const edge = root.getBoundingClientRect().right + 1; const out = [];
  const walk = (node) => {
    for (const el of node.children || []) {
      const r = el.getBoundingClientRect();
      const leaf = ['INPUT', 'SELECT', 'BUTTON', 'LABEL'].includes(el.tagName) ||
                   (el.children.length === 0 && (el.textContent || '').trim().length > 0);
      if (leaf && r.width > 0 && r.height > 0 && r.right > edge)
        out.push(`${el.tagName} '${(el.textContent || el.value || '').trim().slice(0, 30)}' ends at ${r.right.toFixed(0)} > ${edge.toFixed(0)}`);
      if (el.shadowRoot) walk(el.shadowRoot);
      walk(el);
    } };
  walk(root); return out; }"""


def message(page) -> str:
    """The status line's message ('' when none)."""
    m = page.locator(".message")
    return m.first.inner_text() if m.count() else ""


def test_status_line_says_ready_and_what_to_do_then_running_then_paused(server, browser):
    page = open_app(browser, server)
    line = page.locator(".status-line").first
    assert line.inner_text().startswith("ready")
    assert "press Run" in message(page)
    assert "real-time factor" in line.get_attribute("title")  # RTF explained where it is shown
    page.get_by_role("button", name="Run").click()
    assert wait_for(lambda: line.inner_text().startswith("running"))
    page.get_by_role("button", name="Pause").click()
    assert wait_for(lambda: line.inner_text().startswith("paused"))
    assert "press Run" not in message(page)
    page.close()


def test_clicking_a_checkbox_label_toggles_it(server, browser):
    page = open_app(browser, server)
    box = page.get_by_label("Record to disk")  # a real <label>: the name reaches the input
    assert not box.is_checked()
    page.get_by_text("Record to disk", exact=True).click()
    assert wait_for(lambda: box.is_checked())
    assert wait_for(lambda: "recording to disk" in message(page))  # the server saw it
    page.get_by_text("Record to disk", exact=True).click()
    assert wait_for(lambda: "recorded:" in message(page))
    # the projection form's checkboxes too
    page.get_by_text("projection", exact=True).first.click()
    autapses = page.get_by_label("allow autapses")
    assert wait_for(lambda: autapses.count() == 1)
    before = autapses.is_checked()
    page.get_by_text("allow autapses", exact=True).click()
    assert wait_for(lambda: autapses.is_checked() != before)
    page.close()


def test_nothing_in_the_sidebar_is_cut_off(server, browser):
    page = open_app(browser, server)
    sidebar = page.locator(".sidebar").first
    assert sidebar.evaluate(CLIPPED) == []
    page.get_by_text("projection", exact=True).first.click()  # the longest form
    assert wait_for(lambda: page.get_by_label("allow autapses").count() == 1)
    assert sidebar.evaluate(CLIPPED) == []
    page.close()


def test_the_invalid_field_gets_a_red_border(server, browser):
    page = open_app(browser, server)
    size = page.get_by_label("size", exact=True)
    border = lambda: size.evaluate("e => getComputedStyle(e).borderTopColor")  # noqa: E731
    normal = border()
    size.fill("0")
    size.press("Enter")
    time.sleep(1.0)
    page.get_by_role("button", name="Apply", exact=True).click()
    assert wait_for(lambda: border() == "rgb(214, 39, 40)"), (normal, border())
    size.fill("100")
    size.press("Enter")
    time.sleep(1.0)
    page.get_by_role("button", name="Apply", exact=True).click()
    assert wait_for(lambda: border() == normal)  # fixed: the mark goes
    page.close()


def test_preset_selector_names_no_preset_after_an_import(server, browser, tmp_path):
    from sim_core.models.registry import preset_dict
    from sim_core.spec import dumps, from_dict
    path = tmp_path / "mine.yaml"
    path.write_text(dumps(from_dict(preset_dict("brunel", 0.1))))
    page = open_app(browser, server)
    select = page.get_by_label("Preset")
    assert select.input_value() == "brunel"
    page.locator("input[type=file]").set_input_files(str(path))
    assert wait_for(lambda: "loaded mine.yaml" in message(page))
    assert wait_for(lambda: select.input_value() == "(imported)")
    page.get_by_role("button", name="Load preset").click()  # nothing to load: said so
    err = page.get_by_text(re.compile(r"Preset: choose one of"))
    assert wait_for(lambda: err.count() > 0 and err.first.is_visible())
    page.close()
