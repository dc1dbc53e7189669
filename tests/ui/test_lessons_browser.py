"""The lessons, a saved session and the PNG export in Chromium: each lesson end to end as a
student would take it (choose it, Run, do the task with the editor or Show me, see the
result), a session downloaded from one tab reopened in another, the view as a PNG."""
import re
import time

import pytest

pytestmark = pytest.mark.ui
sync_api = pytest.importorskip("playwright.sync_api")

from app.launch import open_app, status, wait_for  # noqa: E402

# the data of a named ColumnDataSource in the page
SOURCE = "name => { const m = window.Bokeh.documents[0].get_model_by_name(name); return m ? m.data : null; }"


def message(page) -> str:
    m = page.locator(".message")
    return m.first.inner_text() if m.count() else ""


def task(page) -> str:
    t = page.locator(".lesson-task div")  # a pane's text is inside its shadow root
    return t.first.inner_text() if t.count() and t.first.is_visible() else ""


def lesson_text(page) -> str:
    return page.locator(".lesson-text div").first.inner_text()


def choose(page, title: str):
    page.get_by_label("Lesson").select_option(label=title)
    assert wait_for(lambda: "1/" in lesson_text(page))


def apply_field(page, label: str, value: str):
    field = page.get_by_label(label, exact=True)
    field.fill(value)
    field.press("Enter")
    time.sleep(1.0)  # the value reaches the server before the click
    page.get_by_role("button", name="Apply", exact=True).click()


def test_the_introduction_is_there_first(server, browser):
    page = open_app(browser, server)
    assert "Welcome to SpikeScope" in lesson_text(page) and "Run" in lesson_text(page)
    page.close()


def test_lesson_fi_curve_end_to_end(server, browser):
    page = open_app(browser, server)
    choose(page, "A neuron's f–I curve")
    assert wait_for(lambda: "lesson: One neuron" in message(page))
    page.get_by_role("button", name="Run").click()
    assert wait_for(lambda: status(page)[0] > 200)
    assert status(page)[1] == 0  # 300 pA: below the rheobase, no spikes
    page.get_by_role("button", name="Next ▶").click()
    assert wait_for(lambda: task(page).startswith("Your turn"))
    apply_field(page, "I_e (pA)", "400")  # the student's change, with the editor
    assert wait_for(lambda: task(page).startswith("✓ done"))
    measured = lambda: page.evaluate(SOURCE, "fi-measured")  # noqa: E731
    assert wait_for(lambda: len(measured()["y"]) == 1, timeout=30), (measured(), status(page), task(page))
    assert measured()["x"][0] == 400.0
    assert abs(measured()["y"][0] - 33.557046979865774) < 1e-9  # on the 0.1 ms grid curve
    page.get_by_role("button", name="Next ▶").click()
    page.get_by_role("button", name="Show me").click()  # I_e = 800 pA
    assert wait_for(lambda: len(measured()["y"]) == 2, timeout=30)
    page.get_by_role("button", name="Pause").click()
    page.close()


def test_lesson_connection_rules_end_to_end(server, browser):
    page = open_app(browser, server)
    choose(page, "Connection rules side by side")
    labels = lambda: (page.evaluate(SOURCE, "lesson-degrees") or {}).get("label", [])  # noqa: E731
    assert wait_for(lambda: "fixed_indegree (std 0.0)" in labels())
    page.get_by_role("button", name="Next ▶").click()
    page.get_by_role("button", name="Run").click()
    assert wait_for(lambda: status(page)[1] > 1000)
    page.get_by_role("button", name="Pause").click()
    page.get_by_role("button", name="Next ▶").click()
    assert wait_for(lambda: task(page).startswith("Your turn"))
    # the student's change: projection 1, p = 0.3
    page.get_by_text("projection", exact=True).first.click()
    page.get_by_label("Edit", exact=True).select_option(label="1: S → bernoulli")
    time.sleep(1.0)
    apply_field(page, "p", "0.3")
    assert wait_for(lambda: task(page).startswith("✓ done"))
    assert wait_for(lambda: any(lab.startswith("pairwise_bernoulli (std 4") for lab in labels()))
    page.close()


def test_lesson_brunel_regimes_end_to_end(server, browser):
    page = open_app(browser, server)
    choose(page, "Brunel's network: its regimes")
    page.get_by_role("button", name="Run").click()
    stats = page.locator("span.live-stats")  # the text, not the pane's host
    assert wait_for(lambda: "CV ISI" in stats.first.inner_text(), timeout=60)
    page.get_by_role("button", name="Next ▶").click()  # SR: the group edit
    page.get_by_label("× factor").fill("0.6")
    page.get_by_label("× factor").press("Enter")
    time.sleep(1.0)
    page.get_by_role("button", name="Multiply").click()
    assert wait_for(lambda: task(page).startswith("✓ done"))
    rate = lambda: float(re.search(r"([\d.]+) spikes/s", stats.first.inner_text()).group(1))  # noqa: E731
    assert wait_for(lambda: rate() > 150, timeout=60)  # synchronous regular: about 210 spikes/s
    page.get_by_role("button", name="Next ▶").click()  # towards AI
    page.get_by_role("button", name="Show me").click()
    assert wait_for(lambda: task(page).startswith("✓ done"))
    page.get_by_role("button", name="Next ▶").click()  # SI
    page.get_by_role("button", name="Show me").click()
    assert wait_for(lambda: task(page).startswith("✓ done"))
    page.get_by_role("button", name="Pause").click()
    page.get_by_role("button", name="Next ▶").click()  # the phase diagram
    page.get_by_role("button", name="Show me").click()
    assert wait_for(lambda: "phase diagram started" in message(page))
    page.close()


def test_a_downloaded_session_reopens_in_a_new_tab(server, browser, tmp_path):
    page = open_app(browser, server)
    choose(page, "Connection rules side by side")
    page.get_by_role("button", name="Step").click()
    assert wait_for(lambda: status(page)[0] > 0)
    page.locator(".bk-tab", has_text="Network").first.click()
    time.sleep(1.0)
    with page.expect_download() as dl:
        page.get_by_role("button", name="Session").click()
    path = tmp_path / dl.value.suggested_filename
    dl.value.save_as(path)
    assert path.name == "connection-rules-session.json"
    shown = status(page)
    with page.expect_download() as dl:
        page.get_by_role("button", name="View (PNG)").click()
    png = tmp_path / "view.png"
    dl.value.save_as(png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    other = open_app(browser, server)
    other.locator("input[type=file]").set_input_files(str(path))
    assert wait_for(lambda: "session restored" in message(other))
    assert status(other) == shown  # the same time and spike count: the same run
    assert "1/3 · Same mean, different spread" in lesson_text(other)
    assert other.locator(".bk-tab.bk-active").first.inner_text() == "Network"
    page.close()
    other.close()
