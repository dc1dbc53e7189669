"""The largest clustered network (Rostami et al.; NEST's EI_clustered_network, our
`clustered` preset) that runs in real time on this machine: SpikeScope and NEST 3.10 (the
exported PyNEST script) side by side in one run, same threads, RTF against neurons.

    python benchmarks/realtime_clustered.py [--scales 0.2,0.4,0.7,1,1.5,2,3] [--t-sim 1000]

Writes benchmarks/results/realtime-clustered.json and docs/img/realtime-clustered.png.
RTF = wall time of the simulation loop / simulated time (presim included); build excluded.
The largest real-time size is interpolated (log-log) between the last size with RTF <= 1
and the first above it.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim_core.benchmark import bench  # noqa: E402
from sim_core.io.provenance import cpu_model  # noqa: E402


def largest_realtime(points: list[tuple[int, float]]) -> float | None:
    """Neurons at RTF = 1 from (neurons, rtf) sorted by neurons, log-log interpolated."""
    below = [p for p in points if p[1] <= 1.0]
    if not below:
        return None
    n0, r0 = max(below)
    above = [p for p in points if p[0] > n0 and p[1] > 1.0]
    if not above:
        return float(n0)  # real time at every size measured: a lower bound
    n1, r1 = min(above)
    f = (0.0 - math.log(r0)) / (math.log(r1) - math.log(r0))
    return float(math.exp(math.log(n0) + f * (math.log(n1) - math.log(n0))))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", default="0.2,0.4,0.7,1,1.5,2,3")
    ap.add_argument("--t-sim", type=float, default=1000.0)
    ap.add_argument("--t-presim", type=float, default=100.0)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "realtime-clustered.json")
    ap.add_argument("--plot", type=Path, default=ROOT / "docs" / "img" / "realtime-clustered.png")
    args = ap.parse_args()
    scales = [float(s) for s in args.scales.split(",")]
    rows = bench("clustered", scales, t_sim=args.t_sim, t_presim=args.t_presim, seeds=1, threads=args.threads,
                 compare_nest=True, record=False, log=lambda m: print(m, file=sys.stderr, flush=True))
    res = {"machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "threads": args.threads},
           "t_sim_ms": args.t_sim, "t_presim_ms": args.t_presim, "rows": rows, "largest_realtime_neurons": {}}
    for simulator in ("spikescope", "nest"):
        pts = sorted((r["n_neurons"], r["rtf"]) for r in rows if r["simulator"] == simulator)
        res["largest_realtime_neurons"][simulator] = largest_realtime(pts)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=1))
    plot(res, args.plot)
    print("| neurons | synapses | SpikeScope RTF | NEST RTF | NEST / SpikeScope |\n|---|---|---|---|---|")
    by = {(r["simulator"], r["scale"]): r for r in rows}
    for s in scales:
        a, b = by[("spikescope", s)], by[("nest", s)]
        print(f"| {a['n_neurons']:,} | {a['n_synapses']:,} | {a['rtf']:.2f} | {b['rtf']:.2f} | {b['rtf'] / a['rtf']:.1f}x |")
    for simulator, n in res["largest_realtime_neurons"].items():
        print(f"largest real-time network, {simulator}: {n:,.0f} neurons" if n else f"{simulator}: never real time")
    return 0


def plot(res: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4))
    for simulator, label, color in (("spikescope", "SpikeScope (CPU)", "#1f77b4"), ("nest", "NEST 3.10", "#d62728")):
        pts = sorted((r["n_neurons"], r["rtf"]) for r in res["rows"] if r["simulator"] == simulator)
        ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", color=color, label=label)
        n = res["largest_realtime_neurons"][simulator]
        if n:
            ax.axvline(n, color=color, ls=":", lw=1)
            ax.annotate(f"{n:,.0f}", (n, 1.0), textcoords="offset points", xytext=(4, 6), color=color, fontsize=8)
    ax.axhline(1.0, color="grey", lw=1)
    ax.set(xscale="log", yscale="log", xlabel="neurons (20 clusters)", ylabel="real-time factor (wall / simulated)",
           title=f"clustered network, {res['machine']['threads']} threads ({res['machine']['cpu']})")
    ax.legend(frameon=False)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    raise SystemExit(main())
