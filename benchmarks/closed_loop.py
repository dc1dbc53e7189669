"""The closed loop's cost: the clustered network (20 clusters; 25,000 neurons at scale 5,
as in the GeNN slides) advanced in 10 ms periods with user code called each period (a
controller holding cluster 0's rate, ``engine.loop.hold_rate``), against the same network
advanced for the same time without a loop, in one run on the same build.

    python benchmarks/closed_loop.py [--scale 5] [--t 1000] [--period 10]

Writes benchmarks/results/closed-loop.json. Order: 200 ms warm-up, plain run, loop, plain
run again (the two plain runs bracket any drift of the network's activity).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim_core.engine.loop import hold_rate, run_loop  # noqa: E402
from sim_core.engine.simulation import Simulation  # noqa: E402
from sim_core.io.provenance import cpu_model  # noqa: E402
from sim_core.models.registry import preset_dict  # noqa: E402
from sim_core.spec import from_dict  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=5.0)
    ap.add_argument("--t", type=float, default=1000.0, help="simulated ms of each part")
    ap.add_argument("--period", type=float, default=10.0)
    ap.add_argument("--backend", default="cpu")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "closed-loop.json")
    args = ap.parse_args()
    spec = from_dict(preset_dict("clustered", args.scale))
    print(f"building {spec.n_neurons:,} neurons ...", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    sim = Simulation(spec, backend=args.backend, threads=args.threads, keep_ms=1000.0)
    build_s = time.perf_counter() - t0
    print(f"built in {build_s:.1f} s: {sim.n_synapses:,} synapses", file=sys.stderr, flush=True)
    sim.run(200.0)
    periods = int(round(args.t / args.period))

    rates = []

    def plain():
        n0, t = sim.spike_record.n_spikes, time.perf_counter()
        sim.run(args.t)
        wall = (time.perf_counter() - t) / periods * 1000.0
        rates.append(round((sim.spike_record.n_spikes - n0) / spec.n_neurons / (args.t / 1000.0), 2))
        return wall

    before = plain()
    code = hold_rate("E0", target_hz=10.0, gain=0.05)
    report = run_loop(sim, args.t, code, period_ms=args.period)
    after = plain()
    s = report.summary()
    res = {"machine": {"cpu": cpu_model(), "cores": os.cpu_count()}, "backend": sim.backend_name,
           "threads": args.threads, "n_neurons": spec.n_neurons, "n_synapses": sim.n_synapses,
           "build_s": round(build_s, 2), "period_ms": args.period, "t_ms": args.t,
           "plain_ms_per_period": [round(before, 3), round(after, 3)], "mean_rate_hz": rates, "loop": s,
           "overhead_ms_per_period": round(s["per_period_ms"]["mean"] - (before + after) / 2, 3),
           "controller_last": code.history[-1] if code.history else None}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=1))
    print(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
