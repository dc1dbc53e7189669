"""SpikeScope's CPU backend vs NEST 3.10, side by side in one run on the same machine.

For each model, the spec is written with ``spikescope export``; SpikeScope runs it with
``spikescope run --json``, NEST runs the PyNEST script that ``spikescope export
--format nest`` writes for the same spec. Both use the same number of threads.
A warm-up run first fills Numba's compile cache, so build times are not compile times.

    python benchmarks/bench_vs_nest.py [--threads 2] [--t-sim 1000] [--repeats 2]

Writes benchmarks/results/cpu-vs-nest.json and prints a Markdown table.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from sim_core.io.provenance import cpu_model  # noqa: E402

CASES = [("microcircuit", 0.1), ("brunel", 1.0)]


def sh(cmd, env=None):
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    if res.returncode != 0:
        raise SystemExit(f"failed: {' '.join(map(str, cmd))}\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--t-sim", type=float, default=1000.0)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    env = {**os.environ, "NUMBA_NUM_THREADS": str(args.threads), "OMP_NUM_THREADS": str(args.threads)}
    py = sys.executable
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for model, scale in CASES:
            spec = Path(tmp) / f"{model}.yaml"
            script = Path(tmp) / f"{model}_nest.py"
            subprocess.run([py, "-m", "sim_core.cli", "export", model, "--scale", str(scale), "-o", spec],
                           check=True, cwd=ROOT, capture_output=True)
            subprocess.run([py, "-m", "sim_core.cli", "export", str(spec), "--format", "nest", "-o", script],
                           check=True, cwd=ROOT, capture_output=True)
            run = [py, "-m", "sim_core.cli", "run", str(spec), "--t-sim", str(args.t_sim), "--json",
                   "--threads", str(args.threads)]
            sh(run[:5] + ["--t-sim", "10", "--json"], env)  # warm the compile cache
            ours = [sh(run, env) for _ in range(args.repeats)]
            nest = [sh([py, str(script), "--t-sim", str(args.t_sim), "--threads", str(args.threads)], env)
                    for _ in range(args.repeats)]
            med = lambda runs, k: statistics.median(r[k] for r in runs)  # noqa: E731
            row = {
                "model": model, "scale": scale, "n_neurons": ours[0]["n_neurons"],
                "n_synapses": ours[0]["n_synapses"], "t_sim_ms": args.t_sim, "threads": args.threads,
                "spikescope_build_s": med(ours, "build_s"), "nest_build_s": med(nest, "build_s"),
                "spikescope_sim_s": med(ours, "sim_s"), "nest_sim_s": med(nest, "sim_s"),
                "spikescope_rates_hz": ours[0]["rates_hz"], "nest_rates_hz": nest[0]["rates_hz"],
                "bytes_per_synapse": ours[0]["bytes_per_synapse"],
            }
            row["sim_speedup"] = row["nest_sim_s"] / row["spikescope_sim_s"]
            row["build_speedup"] = row["nest_build_s"] / row["spikescope_build_s"]
            rows.append(row)
            print(f"{model}: sim {row['spikescope_sim_s']:.2f} s vs NEST {row['nest_sim_s']:.2f} s "
                  f"({row['sim_speedup']:.1f}x); build {row['spikescope_build_s']:.2f} vs "
                  f"{row['nest_build_s']:.2f} s", file=sys.stderr)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=ROOT).stdout.strip()
    record = {"machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "python": platform.python_version()},
              "commit": commit, "rows": rows}
    out = ROOT / "benchmarks" / "results" / "cpu-vs-nest.json"
    out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"| model | neurons | synapses | build SpikeScope / NEST (s) | sim SpikeScope / NEST (s) | sim speed-up |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['model']} {r['scale']} | {r['n_neurons']:,} | {r['n_synapses']:,} | "
              f"{r['spikescope_build_s']:.2f} / {r['nest_build_s']:.2f} | "
              f"{r['spikescope_sim_s']:.2f} / {r['nest_sim_s']:.2f} | {r['sim_speedup']:.1f}x |")


if __name__ == "__main__":
    main()
