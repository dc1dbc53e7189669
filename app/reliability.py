"""The app's reliability studies, measured the same way by the tests and by
``benchmarks/reliability.py``: a soak (one live session running an hour of simulated
time, memory sampled throughout) and a load test (many browser sessions on one server at
once, then all closed, the server's memory sampled before, during and after)."""
from __future__ import annotations

import time

import psutil

MB = 2**20


def soak_spec(n: int = 100, rate_hz: float = 12_000.0) -> dict:
    """A small, busy network (about 120 spikes/s per neuron): an hour of it is 40 million
    spikes, about 700 MB if a session kept them all."""
    neuron = {"model": "iaf_psc_delta", "params": {"tau_m": 20.0, "t_ref": 2.0, "V_th": 20.0, "V_reset": 10.0,
                                                   "E_L": 0.0, "C_m": 1.0},
              "initial": {"V_m": {"dist": "uniform", "low": 0.0, "high": 20.0}}}
    n_e = 4 * n // 5
    return {
        "format": "spikescope/1", "name": "soak", "dt": 0.1, "seed": 11,
        "populations": {"E": dict(neuron, size=n_e), "I": dict(neuron, size=n - n_e)},
        "inputs": {"ext": {"model": "poisson_generator", "params": {"rate": rate_hz}}},
        "projections": [
            {"source": "E", "target": "E", "rule": {"rule": "fixed_indegree", "indegree": 8},
             "synapse": {"weight": 0.2, "delay": 1.5}},
            {"source": "I", "target": "E", "rule": {"rule": "fixed_indegree", "indegree": 2},
             "synapse": {"weight": -1.0, "delay": 1.5}},
            {"source": "ext", "target": "E", "rule": {"rule": "all_to_all"}, "synapse": {"weight": 0.2, "delay": 1.5}},
            {"source": "ext", "target": "I", "rule": {"rule": "all_to_all"}, "synapse": {"weight": 0.2, "delay": 1.5}},
        ],
        "recorders": {"spikes": "all"},
    }


def rss_mb(pid: int | None = None) -> float:
    return psutil.Process(pid).memory_info().rss / MB


def soak(sim_ms: float = 3_600_000.0, spec: dict | None = None, refresh_s: float = 0.17, samples: int = 12,
         log=None) -> dict:
    """Run one app session (``create_app``, its views refreshed as the server's periodic
    callback does) for ``sim_ms`` of simulated time. Returns the process's memory (RSS, MB)
    before, at ``samples`` points during and after, with the spikes held at each point."""
    from sim_core.spec import from_dict

    from .main import create_app
    page = create_app(spec=from_dict(spec or soak_spec()), backend="cpu")
    state = page.state
    out = {"sim_ms": sim_ms, "n_neurons": state.spec.n_neurons, "before_mb": rss_mb(), "during": []}
    next_sample, t0 = sim_ms / samples, time.perf_counter()
    state.run()
    try:
        while state.t < sim_ms:
            time.sleep(refresh_s)
            page.tick()
            if state.message and not state.running:
                raise RuntimeError(f"the session stopped: {state.message}")
            if state.t >= next_sample:
                rec = state.sim.spike_record
                out["during"].append({"t_ms": round(state.t, 1), "rss_mb": round(rss_mb(), 1),
                                      "held_spikes": rec.n_held, "spikes": rec.n_spikes})
                next_sample += sim_ms / samples
                if log:
                    log(out["during"][-1])
    finally:
        state.pause()
    out["wall_s"] = round(time.perf_counter() - t0, 1)
    out["t_ms"], out["n_spikes"] = state.t, state.n_spikes
    out["unbounded_mb"] = round(state.n_spikes * 16 / MB, 1)  # (step, id) per spike, had it all been kept
    state.close()
    out["after_mb"] = round(rss_mb(), 1)
    out["before_mb"] = round(out["before_mb"], 1)
    return out


def load(n_sessions: int = 10, rounds: int = 1, run_s: float = 5.0, settle_s: float = 8.0, log=None,
         browser=None) -> dict:
    """``rounds`` times: ``n_sessions`` Chromium pages on one `spikescope serve` at once,
    each pressing Run on the default model, then all closed. Returns the server's RSS (MB):
    at start, after one warm-up session (imports and compiled kernels stay), and per round
    the peak with all sessions open and running and the level after they closed and the
    server released them; with the simulated time each page had reached. ``browser``: a
    Playwright Chromium to use (default: one of its own)."""
    from playwright.sync_api import sync_playwright

    from .launch import CHROMIUM_ARGS, open_app, running_app, status
    out = {"n_sessions": n_sessions, "rounds": []}

    def open_page(browser, url):
        return open_app(browser, url, width=1280, height=800)

    def t_of(page):
        try:
            return status(page)[0]
        except AssertionError:
            return None

    def settled(pid):
        """The RSS once the closed sessions are released: stable for ``settle_s`` seconds."""
        levels, deadline = [], time.time() + 60.0
        while time.time() < deadline:
            time.sleep(1.0)
            levels.append(rss_mb(pid))
            recent = levels[-int(settle_s):]
            if len(levels) >= settle_s and max(recent) - min(recent) < 1.0:
                break
        return round(levels[-1], 1), len(levels)

    if browser is None:
        with sync_playwright() as p:
            own = p.chromium.launch(executable_path=_chromium(), headless=True, args=CHROMIUM_ARGS)
            try:
                return load(n_sessions, rounds, run_s, settle_s, log, own)
            finally:
                own.close()
    with running_app(backend="cpu", with_process=True) as (url, pid):
        out["start_mb"] = round(rss_mb(pid), 1)
        warm = open_page(browser, url)
        warm.get_by_role("button", name="Run").click()
        time.sleep(2.0)
        warm.close()
        out["warm_mb"], _ = settled(pid)
        for _ in range(rounds):
            t0 = time.perf_counter()
            pages = [open_page(browser, url) for _ in range(n_sessions)]
            r = {"open_s": round(time.perf_counter() - t0, 1)}
            for page in pages:
                page.get_by_role("button", name="Run").click()
            peak, deadline = 0.0, time.time() + run_s
            while time.time() < deadline:
                peak = max(peak, rss_mb(pid))
                time.sleep(0.5)
            r["sim_t_ms"] = [t_of(page) for page in pages]
            r["during_mb"] = round(peak, 1)
            for page in pages:
                page.close()
            r["after_mb"], r["release_s"] = settled(pid)
            out["rounds"].append(r)
            if log:
                log(r)
    return out


def _chromium() -> str:
    import shutil
    return shutil.which("chromium") or "/usr/bin/chromium"
