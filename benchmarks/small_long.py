"""Small networks for long times: the clustered network at 140 neurons (20 clusters of 6 E
and 1 I, scale 0.028) for 30 minutes of biological time, SpikeScope (1 and 2 threads) and
NEST 3.10 (the exported script) in one run; and the engine's time per step against size,
which shows its fixed per-step cost.

    python benchmarks/small_long.py [--minutes 30] [--no-nest]

Writes benchmarks/results/small-long.json.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim_core.engine.simulation import Simulation  # noqa: E402
from sim_core.io.nest_export import pynest_script  # noqa: E402
from sim_core.io.provenance import cpu_model  # noqa: E402
from sim_core.models.registry import preset_dict  # noqa: E402
from sim_core.spec import from_dict  # noqa: E402


def spikescope(spec, t_ms: float, threads: int) -> dict:
    sim = Simulation(spec, backend="cpu", threads=threads)
    t0 = time.perf_counter()
    sim.run(t_ms)
    wall = time.perf_counter() - t0
    return {"threads": threads, "wall_s": round(wall, 2), "us_per_step": round(wall / (t_ms / spec.dt) * 1e6, 3),
            "build_s": round(sim.timers["build"] + sim.timers["load"], 3), "n_spikes": sim.spike_record.n_spikes}


def nest(spec_plain: dict, t_ms: float, threads: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "net.py"
        script.write_text(pynest_script(spec_plain))
        env = {**os.environ, "PYNEST_QUIET": "1", "OMP_NUM_THREADS": str(threads)}
        t0 = time.perf_counter()
        res = subprocess.run([sys.executable, str(script), "--t-sim", str(t_ms), "--threads", str(threads)],
                             capture_output=True, text=True, env=env, check=True)
        total = time.perf_counter() - t0
    s = json.loads(res.stdout.strip().splitlines()[-1])
    return {"threads": threads, "wall_s": round(s["sim_s"], 2), "process_s": round(total, 2),
            "us_per_step": round(s["sim_s"] / (t_ms / 0.1) * 1e6, 3), "build_s": round(s["build_s"], 3)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--no-nest", action="store_true")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "small-long.json")
    args = ap.parse_args()
    from sim_core.spec import to_plain
    spec = from_dict(preset_dict("clustered", 0.028))
    t_ms = args.minutes * 60_000.0
    Simulation(spec, backend="cpu").run(10.0)  # Numba's cache loaded before timing
    res = {"machine": {"cpu": cpu_model(), "cores": os.cpu_count()}, "n_neurons": spec.n_neurons,
           "biological_s": t_ms / 1000.0, "spikescope": [], "nest": [], "per_step": []}
    for threads in (1, 2):
        res["spikescope"].append(spikescope(spec, t_ms, threads))
        print("spikescope", res["spikescope"][-1], file=sys.stderr, flush=True)
    if not args.no_nest:
        for threads in (1, 2):
            res["nest"].append(nest(to_plain(spec), t_ms, threads))
            print("nest", res["nest"][-1], file=sys.stderr, flush=True)
    for scale in (0.028, 0.1, 0.2, 0.4):  # 140 to 2,000 neurons: the per-step cost's fixed part
        s = from_dict(preset_dict("clustered", scale))
        r = spikescope(s, 5000.0, 1)
        res["per_step"].append({"n_neurons": s.n_neurons, "us_per_step": r["us_per_step"]})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=1))
    print(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
