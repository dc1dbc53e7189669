"""notebooks/01-getting-started.ipynb in a real JupyterLab, offline: Chromium (Playwright)
opens it, runs all cells, presses the live view's Run and sees the status line's time
advance; no widget is wider than the notebook at a 1,400 px window.

JupyterLab runs on 127.0.0.1 with its config, data, runtime and settings directories in a
temporary folder (never the user's), news and update checks off, and the notebook's own
kernel name registered there for *this* Python (argv[0] is sys.executable). Every request
the page makes to another host is aborted and recorded, so the test also shows what the
notebook needs from the internet: nothing but, after a live update, three of Panel's
stylesheets (see OUTSIDE_OK)."""
from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.ui, pytest.mark.slow]
sync_api = pytest.importorskip("playwright.sync_api")
pytest.importorskip("jupyterlab", reason="JupyterLab is not installed (pip install -e '.[test]')")
pytest.importorskip("ipykernel", reason="ipykernel is not installed (pip install -e '.[test]')")

from app.launch import free_port, status as _status  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "01-getting-started.ipynb"
WIDTH = 1400

# Panel (1.9) links these from its CDN in the patches it sends once a view updates, even
# after pn.extension(inline=True): offline they fail (cosmetic: the loading spinner's and
# the theme's CSS; the first render has what it needs inline). Any other outside request,
# a script above all (blank outputs offline), fails the test.
OUTSIDE_OK = re.compile(r"^https://cdn\.holoviz\.org/panel/[^/]+/dist/[\w/.-]+\.css(\?.*)?$")

# Panel's comm in a notebook holds the browser's events after it sent a message until the
# kernel acknowledges it, or for `timeout` (5 s) when no answer comes. After "Run All
# Cells" the live view's first message (its roots, sent while the kernel is still busy
# with the later cells) gets no answer, so a click in the next 5 s waits in the buffer
# until the *next* browser event. True when each output's comm would send a click now.
COMMS_READY = """() => { const now = Date.now(); let n = 0;
    for (const d of (window.Bokeh ? window.Bokeh.documents : [])) for (const m of d._all_models.values()) {
        if (m.constructor.__name__ !== 'CommManager') continue;
        n++;
        if (m._blocked && now <= m._timeout) return false; }
    return n > 0; }"""

# The right edge of every visible element of the widget outputs (shadow DOMs included)
# against the right edge of its output area and of the notebook panel.
OVERFLOW = """() => {
    const panel = document.querySelector('.jp-NotebookPanel .jp-Notebook').getBoundingClientRect();
    const out = [];
    for (const area of document.querySelectorAll('.jp-Notebook .jp-OutputArea-output')) {
        if (!area.querySelector('.bk-root, [data-root-id]')) continue;   // Panel / Bokeh outputs
        const box = area.getBoundingClientRect();
        if (box.right > panel.right + 1) out.push(['output area', box.right, panel.right]);
        if (area.scrollWidth > area.clientWidth + 1) out.push(['scrolls', area.scrollWidth, area.clientWidth]);
        const visit = (el) => {
            const r = el.getBoundingClientRect(), cs = getComputedStyle(el);
            if (cs.display === 'none' || cs.visibility === 'hidden') return;
            if (r.width > 0 && r.height > 0 && r.right > box.right + 1)
                out.push([el.tagName + '.' + String(el.className).slice(0, 60) + ' ' +
                          (el.textContent || '').trim().slice(0, 40), r.right, box.right]);
            for (const c of el.children) visit(c);
            if (el.shadowRoot) for (const c of el.shadowRoot.children) visit(c);
        };
        for (const c of area.children) visit(c);
    }
    return {panel: [panel.left, panel.right], over: out}; }"""


def _until(page, cond, timeout: float = 30.0) -> bool:
    """Poll ``cond`` every 0.25 s for up to ``timeout`` s, waiting in Playwright: the page's
    route handler runs only while Playwright is called (a time.sleep would hold every
    request of the page)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return True
        page.wait_for_timeout(250)
    return False


def _kernel_name(nb_path: Path) -> str:
    return json.loads(nb_path.read_text())["metadata"]["kernelspec"]["name"]


def _kernel_state(url: str) -> str | None:
    """The execution state of the notebook's kernel, from the server's sessions API."""
    with urllib.request.urlopen(url + "api/sessions", timeout=10) as r:
        for session in json.load(r):
            if session["path"].endswith(NOTEBOOK.name):
                return session["kernel"]["execution_state"]
    return None


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab on a free port of 127.0.0.1 with a copy of notebooks/ as its root; yields
    (base URL, path of its log). Always stopped, whatever happens."""
    from ipykernel.kernelspec import install
    tmp = tmp_path_factory.mktemp("jupyterlab")
    root = tmp / "root"
    shutil.copytree(ROOT / "notebooks", root / "notebooks")
    name = _kernel_name(NOTEBOOK)
    kernels = tmp / "kernels"
    install(kernel_name=name, prefix=str(kernels))  # argv[0] is sys.executable
    settings = tmp / "config" / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    # no "would you like news?" toast over the outputs, no request for news or updates
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    env = dict(os.environ,
               JUPYTER_CONFIG_DIR=str(tmp / "config"), JUPYTER_DATA_DIR=str(tmp / "data"),
               JUPYTER_RUNTIME_DIR=str(tmp / "runtime"), IPYTHONDIR=str(tmp / "ipython"),
               JUPYTER_PATH=str(kernels / "share" / "jupyter"),
               SPIKESCOPE_HOME=str(tmp / "spikescope-home"), SPIKESCOPE_REGISTRY="off",
               MPLBACKEND="Agg",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    port = free_port()
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           f"--ServerApp.root_dir={root}", "--IdentityProvider.token=", "--ServerApp.password=",
           "--ServerApp.disable_check_xsrf=True", "--allow-root",
           "--LabApp.news_url=None",
           "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate",
           "--LabApp.extension_manager=readonly"]
    log_path = tmp / "jupyterlab.log"
    log = open(log_path, "w")
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}/"
        deadline = time.time() + 90
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                with urllib.request.urlopen(url + "api/status", timeout=5):
                    break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    log.flush()
                    pytest.fail(f"JupyterLab did not start:\n{log_path.read_text()[-3000:]}")
                time.sleep(0.5)
        yield url, log_path
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_the_notebooks_kernel_is_this_python(lab):
    url, _ = lab
    with urllib.request.urlopen(url + "api/kernelspecs", timeout=10) as r:
        specs = json.load(r)["kernelspecs"]
    name = _kernel_name(NOTEBOOK)
    assert name in specs, sorted(specs)
    assert specs[name]["spec"]["argv"][0] == sys.executable


@pytest.fixture(scope="module")
def notebook(lab, browser):
    """The notebook open at a 1,400 px window, all its cells run and drawn; yields the page
    and the list of the outside requests it made (aborted)."""
    url, _ = lab
    host = url.rstrip("/")
    outside: list[str] = []

    def route(r):
        u = r.request.url
        if u.startswith(host) or u.startswith(("data:", "blob:")):
            return r.continue_()
        outside.append(u)
        return r.abort()

    page = browser.new_page(viewport={"width": WIDTH, "height": 1000})
    page.route("**/*", route)
    page.set_default_timeout(60_000)
    try:
        page.goto(url + "lab/tree/notebooks/" + NOTEBOOK.name, timeout=60_000)
        page.locator(".jp-NotebookPanel .jp-Notebook").wait_for(timeout=60_000)
        # the kernel the notebook names has started and the page is connected to it (a
        # missing kernelspec would ask for one instead)
        assert _until(page, lambda: _kernel_state(url) == "idle", 60), _kernel_state(url)
        page.locator(".jp-StatusBar-Item", has_text=re.compile(r"\|\s*Idle")).first.wait_for()
        page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Run$")).click()
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        outputs = page.locator(".jp-OutputArea")
        outputs.get_by_role("button", name="Run", exact=True).wait_for(timeout=90_000)
        page.locator(".status-line").first.wait_for(timeout=60_000)
        # the last cell (the editor and its diagram) has run and been drawn
        outputs.get_by_role("button", name="Apply", exact=True).wait_for(timeout=60_000)
        page.locator("g.node.excitatory").first.wait_for(timeout=60_000)
        assert _until(page, lambda: _kernel_state(url) == "idle", 60), _kernel_state(url)
    except Exception as exc:
        shot = Path(os.environ.get("SPIKESCOPE_JUPYTERLAB_SCREENSHOT", "/tmp/spikescope-jupyterlab.png"))
        page.screenshot(path=str(shot.with_name(shot.stem + "-failed.png")), full_page=True)
        errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error'], "
                              ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
        texts = errors.all_inner_texts()[:3]
        page.close()
        raise AssertionError(f"the notebook did not run ({str(exc)[:800]}); errors in it: {texts}") from None
    yield page, outside
    page.close()


def test_all_cells_run_offline(notebook):
    page, outside = notebook
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    tracebacks = [t for t in errors.all_inner_texts() if "Traceback" in t or "Error" in t]
    assert not tracebacks, tracebacks
    assert page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']").count() == 0
    assert not outside, outside  # JupyterLab and the inline resources: nothing from outside


def test_widgets_fit_the_notebook_at_1400_px(notebook):
    """As JupyterLab starts (file browser open), the outputs are about 970 px wide: no
    widget may reach past them (the output would scroll and the status line be cut off)."""
    page, _ = notebook
    fit = page.evaluate(OVERFLOW)
    assert not fit["over"], fit


def test_run_advances_the_live_view(notebook, lab):
    page, outside = notebook
    _, log_path = lab
    outputs = page.locator(".jp-OutputArea")
    t0 = _status(page)[0]
    assert t0 == pytest.approx(200.0)  # the cell before advanced 200 ms
    assert _until(page, lambda: page.evaluate(COMMS_READY), 15)
    outputs.get_by_role("button", name="Run", exact=True).click()
    # the periodic callback brings the time to the status line, again and again
    assert _until(page, lambda: _status(page)[0] > t0, 15), (_status(page), log_path.read_text()[-2000:])
    t1 = _status(page)[0]
    page.wait_for_timeout(2000)
    t2 = _status(page)[0]
    assert t2 > t1, (t1, t2)
    outputs.get_by_role("button", name="Pause", exact=True).click()
    page.wait_for_timeout(1000)
    t3 = _status(page)
    page.wait_for_timeout(1500)
    assert _status(page) == t3  # paused: nothing moves
    page.screenshot(path=os.environ.get("SPIKESCOPE_JUPYTERLAB_SCREENSHOT", "/tmp/spikescope-jupyterlab.png"))
    bad = [u for u in outside if not OUTSIDE_OK.match(u)]
    assert not bad, bad
