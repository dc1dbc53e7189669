"""Live speed of the app, measured in a real browser, next to the CLI in the same run.

Serves the app with `brunel_small` (the default model) on the CPU, presses Run in
Chromium (Playwright) and, for each of ``--rounds`` rounds:

1. measures for ``--seconds`` the simulated ms per wall second (from the status line) and
   how often the live plots (raster, rates, membrane) receive new data in the page;
2. presses Pause and runs the CLI on the same spec (`spikescope run SPEC --json`, all
   cores, its simulate phase only), then presses Run again.

A first run of 10 s is not measured (warm-up). Alternating app and CLI cancels the drift
of a shared machine's speed over minutes; the ratio is taken per round, and the median
and minimum of the rounds are reported.

    python benchmarks/app_live_speed.py [--rounds 3] [--seconds 8] [--threads N]

Writes benchmarks/results/app-live.json.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SPEC = ROOT / "app" / "default_model.yaml"
STATUS = re.compile(r"t = ([\d.,]+) ms")
WARMUP_S = 10.0


def cli_speed(t_sim=3000.0, threads=None):
    cmd = [sys.executable, "-m", "sim_core.cli", "run", str(SPEC), "--t-sim", str(t_sim), "--json", "--no-record"]
    if threads:
        cmd += ["--threads", str(threads)]
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=True)
    s = json.loads(res.stdout.strip().splitlines()[-1])
    return t_sim / s["sim_s"]  # simulated ms per wall second


def _t(status):
    return float(STATUS.search(status.inner_text()).group(1).replace(",", ""))


def measure(rounds, seconds, threads=None, cli_threads=None):
    from playwright.sync_api import sync_playwright

    from app.launch import CHROMIUM_ARGS, COUNT_PLOT_UPDATES, READ_PLOT_UPDATES, running_app
    out = []
    with running_app(backend="cpu", threads=threads) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url, timeout=120_000)
        status = page.locator(".status-line").first
        status.wait_for(timeout=120_000)
        page.evaluate(COUNT_PLOT_UPDATES)
        run, pause = page.get_by_role("button", name="Run"), page.get_by_role("button", name="Pause")
        run.click()  # warm-up, not measured: the page's JavaScript is compiled and the chunk size
        time.sleep(WARMUP_S)  # adapts (the first seconds run up to a third slower)
        pause.click()
        for r in range(rounds):
            run.click()
            time.sleep(2.0)  # settle: chunk size adapts, plots reach their steady size
            t0, u0, w0 = _t(status), page.evaluate(READ_PLOT_UPDATES), time.perf_counter()
            time.sleep(seconds)
            t1, u1, w1 = _t(status), page.evaluate(READ_PLOT_UPDATES), time.perf_counter()
            pause.click()
            app = (t1 - t0) / (w1 - w0)
            # the slowest of the three live plots (raster, rates, membrane) sets the figure
            updates = min(b - a for a, b in zip(u0, u1)) / (w1 - w0)
            cli = cli_speed(threads=cli_threads)
            out.append({"app_ms_per_s": app, "cli_ms_per_s": cli, "ratio": app / cli, "updates_per_s": updates})
            print(f"round {r + 1}: app {app:,.0f} ms/s, CLI {cli:,.0f} ms/s, ratio {app / cli:.2f}, "
                  f"{updates:.1f} updates/s", flush=True)
        browser.close()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=8.0, help="app measurement window per round")
    ap.add_argument("--threads", type=int, default=None, help="the app's simulation threads (default: all cores)")
    ap.add_argument("--cli-threads", type=int, default=None, help="the CLI's threads (default: all cores)")
    args = ap.parse_args()
    rounds = measure(args.rounds, args.seconds, args.threads, args.cli_threads)
    med = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
    record = {"spec": "brunel_small", "app_threads": args.threads, "cli_threads": args.cli_threads,
              "cores": os.cpu_count(), "machine": platform.processor() or platform.machine(),
              "window_s": args.seconds, "median": med, "rounds": rounds}
    out = ROOT / "benchmarks" / "results" / "app-live.json"
    out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"median: app {med['app_ms_per_s']:,.0f} ms/s, CLI {med['cli_ms_per_s']:,.0f} ms/s, "
          f"ratio {med['ratio']:.2f} (min {min(r['ratio'] for r in rounds):.2f}), "
          f"{med['updates_per_s']:.1f} updates/s (min {min(r['updates_per_s'] for r in rounds):.1f})")


if __name__ == "__main__":
    main()
