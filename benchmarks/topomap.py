"""The topographic map (preset ``topomap``) on this machine's CPU: how it learns at scale 1
over the paper's 60 s, and its real-time factor at scales 1 to 7 (the paper's range).

    python benchmarks/topomap.py [--t-learn 60000] [--scales 1,2,3,4,5,6,7] [--t-rtf 2000]

Writes benchmarks/results/topomap.json, docs/img/topomap-learning.png (rf_spread and
rf_error over time, connection probability and mean weight against the displacement at
t = 0 and at the end) and docs/img/topomap-rtf.png. RTF = wall time of the simulation /
simulated time (build excluded); the learning run's RTF is the one the issue's target
(RTF <= 0.1 at scale 1) refers to.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim_core.analysis.topomap import grid_units, map_over_time, profile  # noqa: E402
from sim_core.engine.simulation import Simulation  # noqa: E402
from sim_core.io.provenance import cpu_model  # noqa: E402
from sim_core.models.registry import preset_dict  # noqa: E402
from sim_core.spec import from_dict  # noqa: E402


def build(scale: int, **options):
    t0 = time.perf_counter()
    sim = Simulation(from_dict(preset_dict("topomap", scale, **options)))
    return sim, time.perf_counter() - t0


def positions(sim, name):
    sheet = sim.spec.populations[name].positions
    return grid_units(sim.network.connectome.positions[name], sheet.extent, sheet.shape), sheet.shape


def learn(t_ms: float) -> dict:
    """Scale 1 for t_ms: the map's measures at every snapshot, profiles at start and end."""
    sim, build_s = build(1, weights_interval=1000.0)
    pin, shape = positions(sim, "input")
    pt, _ = positions(sim, "target")
    prof0 = {q: profile(*sim.weights(q), pin if q == 1 else pt, pt, shape) for q in (1, 2)}
    t0 = time.perf_counter()
    step = 1000.0
    while sim.t < t_ms - 1e-9:
        sim.run(min(step, t_ms - sim.t))
        print(f"  t = {sim.t / 1000:.0f} s", file=sys.stderr, flush=True)
    sim_s = time.perf_counter() - t0
    sim.snapshot_weights()
    prof1 = {q: profile(*sim.weights(q), pin if q == 1 else pt, pt, shape) for q in (1, 2)}
    ct = sim.backend.plasticity_counters()
    curves = map_over_time(sim.weight_record, 1, pin, pt, shape)
    rates = {n: len(sim.spikes(n)[0]) / sim.spec.populations[n].size / (t_ms / 1000.0) for n in ("input", "target")}
    return {"t_ms": t_ms, "build_s": build_s, "sim_s": sim_s, "rtf": sim_s / (t_ms / 1000.0), "rates_hz": rates,
            "structural": {str(q): {k: v[k] for k in ("formed", "eliminated", "synapses", "failed_formations")}
                           for q, v in ct["rewiring"].items()},
            "history_overflows": ct["history_overflows"], "curves": curves,
            "profiles": {str(q): {"start": {k: np.asarray(v).tolist() for k, v in prof0[q].items()},
                                  "end": {k: np.asarray(v).tolist() for k, v in prof1[q].items()}}
                         for q in (1, 2)}}


def rtf(scales: list[int], t_ms: float) -> list[dict]:
    rows = []
    for s in scales:
        sim, build_s = build(s, weights_interval=t_ms)
        sim.run(100.0)  # warm-up: caches, the first spot
        t0 = time.perf_counter()
        sim.run(t_ms)
        sim_s = time.perf_counter() - t0
        rows.append({"scale": s, "n_neurons": sim.spec.n_neurons, "n_synapses": sim.backend.n_synapses,
                     "build_s": round(build_s, 3), "sim_s": round(sim_s, 3), "rtf": round(sim_s / (t_ms / 1000.0), 4)})
        print(f"  scale {s}: {rows[-1]}", file=sys.stderr, flush=True)
    return rows


def plot(res: dict, out_learn: Path, out_rtf: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    L = res["learning"]
    fig, ax = plt.subplots(1, 5, figsize=(20, 3.8))
    c = L["curves"]
    t = np.array(c["times_ms"]) / 1000.0
    ax[0].plot(t, c["rf_spread"], label="rf_spread")
    ax[0].plot(t, c["rf_error"], label="rf_error")
    ax[0].set(xlabel="time (s)", ylabel="grid units", title="feed-forward receptive fields")
    ax[0].legend()
    prof = L["profiles"]["1"]
    for k, (key, title) in enumerate((("p", "connection probability"), ("w", "mean weight (nS)"))):
        for j, when in enumerate(("start", "end")):
            a = ax[1 + 2 * k + j]
            im = a.imshow(np.array(prof[when][key], dtype=float), origin="lower", cmap="viridis",
                          extent=[prof[when]["dx"][0] - 0.5, prof[when]["dx"][-1] + 0.5,
                                  prof[when]["dy"][0] - 0.5, prof[when]["dy"][-1] + 0.5])
            a.set(title=f"ff {title}, {when}", xlabel="Δx", ylabel="Δy")
            fig.colorbar(im, ax=a, shrink=0.8)
    fig.tight_layout()
    fig.savefig(out_learn, dpi=110)
    rows = res["rtf"]
    if rows:
        fig, a = plt.subplots(figsize=(5.5, 3.8))
        a.loglog([r["n_neurons"] for r in rows], [r["rtf"] for r in rows], "o-", label=f"SpikeScope CPU ({res['machine']['cpu']})")
        a.axhline(1.0, color="grey", ls="--", lw=0.8)
        a.axhline(0.1, color="grey", ls=":", lw=0.8)
        for r in rows:
            a.annotate(f"{r['scale']}", (r["n_neurons"], r["rtf"]), textcoords="offset points", xytext=(4, -10))
        a.set(xlabel="neurons (both layers)", ylabel="RTF", title="topomap: real-time factor by scale")
        a.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out_rtf, dpi=110)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--t-learn", type=float, default=60000.0)
    ap.add_argument("--scales", default="1,2,3,4,5,6,7")
    ap.add_argument("--t-rtf", type=float, default=2000.0)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "topomap.json")
    args = ap.parse_args()
    # a part not asked for (--t-learn 0, --scales "") keeps its earlier result
    res = json.loads(args.out.read_text()) if args.out.exists() else {}
    res["machine"] = {"cpu": cpu_model(), "cores": os.cpu_count()}
    if args.t_learn > 0:
        print("learning at scale 1 ...", file=sys.stderr)
        res["learning"] = learn(args.t_learn)
    scales = [int(s) for s in args.scales.split(",") if s]
    if scales:
        print("RTF by scale ...", file=sys.stderr)
        res["rtf"] = rtf(scales, args.t_rtf)
        res["t_rtf_ms"] = args.t_rtf
    res.setdefault("learning", None)
    res.setdefault("rtf", [])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=1))
    if res["learning"]:
        plot(res, ROOT / "docs" / "img" / "topomap-learning.png", ROOT / "docs" / "img" / "topomap-rtf.png")
    print(json.dumps({"learning_rtf": res["learning"] and res["learning"]["rtf"],
                      "rtf": [(r["scale"], r["rtf"]) for r in res["rtf"]]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
