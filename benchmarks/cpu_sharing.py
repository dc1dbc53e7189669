"""How the CPU engine shares the machine: the microcircuit at scale 0.1 (1 s simulated),
quiet and with one busy process per core, for several OpenMP wait policies, in one run.

    python benchmarks/cpu_sharing.py [--repeats 3] [--variants default,libgomp,passive]

Each measurement is a fresh process (the wait policy is read when OpenMP starts), timing
the simulation loop only (`sim_s`), after the compile cache is warm. Busy processes are
plain Python loops, one per core. Prints a table (median seconds, and busy / quiet) and
writes benchmarks/results/cpu-sharing.json.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = {
    "default": {},  # SpikeScope's: GOMP_SPINCOUNT=500 unless set (sim_core/__init__.py)
    "libgomp": {"GOMP_SPINCOUNT": "300000"},  # libgomp's own default, SpikeScope's before
    "passive": {"OMP_WAIT_POLICY": "PASSIVE"},
    "spin10k": {"GOMP_SPINCOUNT": "10000"},
    "spin1k": {"GOMP_SPINCOUNT": "1000"},
    "spin500": {"GOMP_SPINCOUNT": "500"},
    "spin300": {"GOMP_SPINCOUNT": "300"},
    "spin100": {"GOMP_SPINCOUNT": "100"},
    "active": {"OMP_WAIT_POLICY": "ACTIVE"},
}
RUN = [sys.executable, "-m", "sim_core.cli", "run", "microcircuit", "--scale", "0.1", "--t-presim", "0",
       "--t-sim", "1000", "--json", "--no-record", "--threads", str(os.cpu_count())]
BUSY = "import time\nwhile True:\n    pass\n"


def _run(env_extra: dict) -> float:
    env = {**os.environ, **env_extra}
    r = subprocess.run(RUN, capture_output=True, text=True, env=env, cwd=ROOT, check=True)
    return json.loads(r.stdout.strip().splitlines()[-1])["sim_s"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--variants", default="default,libgomp,passive")
    args = ap.parse_args()
    names = args.variants.split(",")
    _run({})  # warm Numba's cache
    res = {n: {"quiet": [], "busy": []} for n in names}
    cores = os.cpu_count()
    for _ in range(args.repeats):
        for n in names:
            res[n]["quiet"].append(_run(VARIANTS[n]))
        hogs = [subprocess.Popen([sys.executable, "-c", BUSY]) for _ in range(cores)]
        time.sleep(0.5)
        try:
            for n in names:
                res[n]["busy"].append(_run(VARIANTS[n]))
        finally:
            for h in hogs:
                h.kill()
        print({n: {k: v[-1] for k, v in r.items()} for n, r in res.items()}, flush=True)
    rows = []
    print(f"\n{cores} cores, microcircuit 0.1, 1 s simulated, median of {args.repeats}")
    print("| wait policy | quiet (s) | one busy process per core (s) | busy / quiet |\n|---|---|---|---|")
    for n in names:
        q, b = statistics.median(res[n]["quiet"]), statistics.median(res[n]["busy"])
        rows.append({"variant": n, "env": VARIANTS[n], "quiet_s": q, "busy_s": b, "ratio": b / q, **res[n]})
        print(f"| {n} | {q:.2f} | {b:.2f} | {b / q:.1f}x |")
    out = ROOT / "benchmarks" / "results" / "cpu-sharing.json"
    out.write_text(json.dumps({"cores": cores, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
