"""The CPU engine at an earlier commit against the working tree, side by side in one run.

    python benchmarks/cpu_before_after.py a5673fb [--rounds 2] [--threads 2]

Checks the earlier commit out into a temporary git worktree, then alternates: a process
timing the earlier tree, a process timing this one, round after round (so a busy period
hits both). Each process builds microcircuit 0.1 and brunel 0.5, warms up 100 ms, and
reports the best of two 0.5 s runs of the time loop only. Prints one JSON line per process
and a table of the medians.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

TIMER = r'''
import json, os, sys, time
sys.path.insert(0, sys.argv[1])
os.environ.setdefault("NUMBA_NUM_THREADS", sys.argv[2])
from sim_core.models.registry import preset_dict
from sim_core.spec import from_dict
from sim_core.engine.simulation import Simulation
out = {}
for model, scale in (("microcircuit", 0.1), ("brunel", 0.5)):
    sim = Simulation(from_dict(preset_dict(model, scale)), seed=1, threads=int(sys.argv[2]))
    sim.run(100.0)
    best = float("inf")
    for _ in range(2):
        t0 = time.perf_counter()
        sim.run(500.0)
        best = min(best, time.perf_counter() - t0)
    out[model] = round(best, 4)
print(json.dumps(out))
'''


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("rev", help="the earlier commit")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "before"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(old), args.rev],
                       check=True, capture_output=True)
        try:
            times = {"before": [], "after": []}
            for _ in range(args.rounds):
                for name, tree in (("before", old), ("after", ROOT)):
                    r = subprocess.run([sys.executable, "-c", TIMER, str(tree), str(args.threads)],
                                       capture_output=True, text=True, cwd=tmp, check=True)
                    times[name].append(json.loads(r.stdout.strip().splitlines()[-1]))
                    print(name, times[name][-1], flush=True)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)], check=False)
    print("| model | before (s) | after (s) |\n|---|---|---|")
    for model in times["before"][0]:
        b = statistics.median(t[model] for t in times["before"])
        a = statistics.median(t[model] for t in times["after"])
        print(f"| {model} | {b:.3f} | {a:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
