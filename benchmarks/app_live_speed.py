"""Live speed of the app, measured in a real browser.

Serves the app with `brunel_small` (the default model) on the CPU, presses Run in
Chromium (Playwright) and measures for ``--seconds``: simulated ms per wall second (from
the status line) and how often the page's plots/status update (MutationObserver in the
page). Compares with a CLI run of the same spec on the same machine, in the same run.

    python benchmarks/app_live_speed.py [--seconds 10]

Writes benchmarks/results/app-live.json.
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SPEC = ROOT / "app" / "default_model.yaml"
STATUS = re.compile(r"t = ([\d.,]+) ms")


def cli_speed(t_sim=3000.0):
    res = subprocess.run([sys.executable, "-m", "sim_core.cli", "run", str(SPEC), "--t-sim", str(t_sim), "--json"],
                         capture_output=True, text=True, cwd=ROOT, check=True)
    s = json.loads(res.stdout.strip().splitlines()[-1])
    return t_sim / s["sim_s"]  # simulated ms per wall second


def app_speed(seconds, threads=None):
    from playwright.sync_api import sync_playwright

    from app.launch import CHROMIUM_ARGS, running_app
    with running_app(backend="cpu", threads=threads) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url, timeout=120_000)
        status = page.locator(".status-line").first
        status.wait_for(timeout=120_000)
        # count DOM updates inside the status line's shadow root
        status.evaluate("""el => { window.__updates = 0;
            new MutationObserver(() => window.__updates++).observe(el.getRootNode(),
                {subtree: true, childList: true, characterData: true}); }""")
        page.get_by_role("button", name="Run").click()
        time.sleep(2.0)  # let it settle
        t0, u0, w0 = _t(status), page.evaluate("window.__updates"), time.perf_counter()
        time.sleep(seconds)
        t1, u1, w1 = _t(status), page.evaluate("window.__updates"), time.perf_counter()
        page.get_by_role("button", name="Pause").click()
        browser.close()
    return (t1 - t0) / (w1 - w0), (u1 - u0) / (w1 - w0)


def _t(status):
    return float(STATUS.search(status.inner_text()).group(1).replace(",", ""))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--threads", type=int, default=None, help="the app's simulation threads")
    args = ap.parse_args()
    cli = cli_speed()
    app, updates = app_speed(args.seconds, args.threads)
    record = {"spec": "brunel_small", "app_threads": args.threads, "cli_ms_per_s": cli, "app_ms_per_s": app, "ratio": app / cli,
              "updates_per_s": updates, "window_s": args.seconds}
    out = ROOT / "benchmarks" / "results" / "app-live.json"
    out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"CLI {cli:.0f} ms/s, app {app:.0f} ms/s (ratio {app / cli:.2f}), {updates:.1f} status updates/s")


if __name__ == "__main__":
    main()
