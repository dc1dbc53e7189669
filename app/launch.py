"""Start `spikescope serve` in a subprocess on a free port and wait until it answers, and
count the live plots' updates in the page; for the browser tests, the live-speed benchmark
and the screenshot script."""
from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_app(backend: str = "cpu", threads: int | None = None, timeout: float = 180.0,
                with_process: bool = False, args: tuple[str, ...] = ()):
    """Yields the app's URL (with the server's pid: ``with_process``); stops the server
    afterwards. ``args`` go to `spikescope serve` (limits, for example)."""
    port = free_port()
    cmd = [sys.executable, "-m", "sim_core.cli", "serve", "--port", str(port), "--backend", backend, *args]
    if threads:
        cmd += ["--threads", str(threads)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.time() + timeout
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError(f"spikescope serve exited:\n{proc.stdout.read()[-3000:]}") from None
                if time.time() > deadline:
                    raise TimeoutError(f"spikescope serve did not answer on port {port}") from None
                time.sleep(0.5)
        url = f"http://127.0.0.1:{port}/"
        yield (url, proc.pid) if with_process else url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

# Count, in the page, how often each live plot's data arrives (BokehJS: a change of the
# ColumnDataSource's `data`): raster (t, y, pop), rates and membrane traces (xs, ys, ...).
COUNT_PLOT_UPDATES = """() => { window.__plots = [];
    for (const m of window.Bokeh.documents[0].all_models) {
        if (m.constructor.__name__ !== 'ColumnDataSource') continue;
        const cols = Object.keys(m.data).join(',');
        if (cols === 't,y,pop' || cols === 'xs,ys,color,name') {
            const k = window.__plots.push(0) - 1;
            m.properties.data.change.connect(() => window.__plots[k]++);
        } } }"""
READ_PLOT_UPDATES = "() => window.__plots.slice()"

STATUS = re.compile(r"t = ([\d.,]+) ms · ([\d,]+) spikes")


def open_app(browser, url: str, width: int = 1400, height: int = 1000, timeout_ms: int = 120_000):
    """A new page of ``browser`` (Playwright) on the app, once its status line shows."""
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(url, timeout=timeout_ms)
    page.locator(".status-line").first.wait_for(timeout=timeout_ms)
    return page


def status(page) -> tuple[float, int]:
    """(simulated ms, spikes) from the page's status line."""
    text = page.locator(".status-line").first.inner_text()
    m = STATUS.search(text)
    if not m:
        raise AssertionError(f"no status in {text!r}")
    return float(m.group(1).replace(",", "")), int(m.group(2).replace(",", ""))


def wait_for(cond, timeout: float = 30.0) -> bool:
    """Poll ``cond`` every 0.25 s until it is true (True) or ``timeout`` s pass (False)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(0.25)
    return False
