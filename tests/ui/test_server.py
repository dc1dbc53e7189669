"""`spikescope serve` under many users and hostile input, in a real browser: the session
limit, per-session network limits, uploads (alias bomb, oversize, markup in names) that
leave the server responsive, and the load test (10 sessions at once, then closed, the
server's memory back near where it was). Figures: docs/reliability.md."""
import re
import time

import pytest

pytestmark = pytest.mark.ui
sync_api = pytest.importorskip("playwright.sync_api")

from app.launch import open_app as _app, running_app, status, wait_for as _wait_for  # noqa: E402
from app.reliability import load  # noqa: E402


def _open(browser, url, timeout=120_000):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url, timeout=timeout)
    return page


def test_session_limit_and_network_limit(browser):
    with running_app(args=("--max-sessions", "2", "--max-neurons", "1000")) as url:
        a, b = _app(browser, url), _app(browser, url)
        c = _open(browser, url)
        busy = c.get_by_text(re.compile(r"already has 2 sessions open"))
        assert _wait_for(lambda: busy.count() > 0), c.content()[:500]
        c.close()
        b.close()  # its session is released a few seconds later: then a new tab gets the app
        d, t0 = None, time.time()
        while d is None and time.time() - t0 < 30.0:
            page = _open(browser, url)
            try:
                page.locator(".status-line").first.wait_for(timeout=3_000)
                d = page
            except sync_api.TimeoutError:
                page.close()
        assert d is not None, "a closed tab's session was not released within 30 s"
        # a network beyond --max-neurons: refused with the field, the model stays
        a.get_by_label("Preset").select_option("brunel")
        a.get_by_role("button", name="Load preset").click()
        error = a.get_by_text(re.compile(r"populations: 1,250 neurons exceed this server's limit of 1,000"))
        assert _wait_for(lambda: error.count() > 0 and error.first.is_visible())
        a.get_by_role("button", name="Run").click()
        assert _wait_for(lambda: status(a)[0] > 20)
        a.close()
        d.close()


def _laughs(path):
    from conftest import billion_laughs
    path.write_text(billion_laughs())
    return path


HOSTILE_NAME = """format: spikescope/1
name: "<img src=x onerror=window.__pwned=1>"
populations:
  E: {model: iaf_psc_exp, size: 10}
"""
HOSTILE_TEXT = """format: spikescope/1
name: hostile
description: "<script>window.__pwned=2</script><img src=y onerror=window.__pwned=3><b>bold</b>"
populations:
  E: {model: iaf_psc_exp, size: 10}
"""


def test_hostile_uploads_leave_the_server_responsive(browser, tmp_path):
    with running_app(args=("--max-upload-mb", "1")) as url:
        a = _app(browser, url)
        upload = a.locator("input[type=file]").first
        # the alias bomb: refused in under 5 s, with one line; another session loads at once
        t0 = time.time()
        upload.set_input_files(str(_laughs(tmp_path / "laughs.yaml")))
        error = a.get_by_text(re.compile(r"laughs\.yaml: .*(alias|nodes)"))
        assert _wait_for(lambda: error.count() > 0, timeout=5.0), time.time() - t0
        b = _app(browser, url, timeout_ms=20_000)
        b.close()
        # markup in a spec's strings is shown as text, never run or rendered: in the
        # error that quotes a refused name, and in the diagram's description
        (tmp_path / "name.yaml").write_text(HOSTILE_NAME)
        upload.set_input_files(str(tmp_path / "name.yaml"))
        quoted = a.get_by_text(re.compile(r"name\.yaml: name: '<img src=x onerror"))
        assert _wait_for(lambda: quoted.count() > 0)
        (tmp_path / "text.yaml").write_text(HOSTILE_TEXT)
        upload.set_input_files(str(tmp_path / "text.yaml"))
        assert _wait_for(lambda: "loaded text.yaml" in a.locator(".message").first.inner_text()), a.locator(".message").first.inner_text()
        a.locator(".bk-tab", has_text="Network").first.click()
        assert _wait_for(lambda: a.locator("desc").count() > 0)
        assert "<script>" in a.locator("desc").first.text_content()  # as text
        time.sleep(1.0)
        assert a.evaluate("() => window.__pwned") is None
        assert a.locator("img[src=x], img[src=y], script:text('__pwned'), b:text('bold')").count() == 0
        # larger than --max-upload-mb: that connection is dropped, the server goes on
        (tmp_path / "big.yaml").write_text("# " + "x" * (3 * 2**20 // 2))
        a.locator("input[type=file]").first.set_input_files(str(tmp_path / "big.yaml"))
        time.sleep(2.0)
        c = _app(browser, url, timeout_ms=20_000)
        c.get_by_role("button", name="Run").click()
        assert _wait_for(lambda: status(c)[0] > 20)
        a.close()
        c.close()


def test_ten_sessions_at_once_then_closed_memory_returns(browser):
    """Two rounds of 10 sessions running the default model at once. Each round, the
    server's memory rises with the sessions and falls back when they close; a second round
    ends where the first did (nothing kept per session)."""
    r = load(n_sessions=10, rounds=2, browser=browser)
    first, second = r["rounds"]
    for rnd in (first, second):
        assert all(t and t > 0 for t in rnd["sim_t_ms"]), rnd  # every session ran
        assert rnd["during_mb"] > r["warm_mb"] + 50, r  # ten networks were held ...
        # ... and let go: most of what they took is back (allocator fragmentation keeps some)
        # (0.52-0.54 measured in two clean-clone CI runs once the app had a Learning tab,
        # against 0.5 before; a leak shows in the second round's check below)
        assert rnd["after_mb"] - r["warm_mb"] < 0.6 * (rnd["during_mb"] - r["warm_mb"]), r
    assert second["after_mb"] - first["after_mb"] < 20.0, r
