"""A calibration scan of the clustered network as in the seeds' slides: a 4 x 4 grid over
the cluster strength J_E+ (``rep``) and the inhibitory clustering ratio R_J (``rj``), with
the metastability of each point (``analysis.clusters.metastability``) as the result. Wall
time of the whole scan, in one run, for:

- SpikeScope on Dask, each point its own network (batch 1);
- SpikeScope on Dask, points batched into one network per worker (``--batch``);
- NEST 3.10 running each point's exported PyNEST script, the same number of processes at a
  time, one thread each; its spikes go through the same metastability measure.

    python benchmarks/calibration_scan.py [--scale 0.2] [--t-sim 1000] [--workers 2] [--batch 8]

Writes benchmarks/results/calibration-scan.json and docs/img/calibration-scan.png.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim_core.analysis.clusters import metastability  # noqa: E402
from sim_core.io.nest_export import pynest_script  # noqa: E402
from sim_core.io.provenance import cpu_model  # noqa: E402
from sim_core.scan import preset_points, scan_specs  # noqa: E402
from sim_core.spec import from_dict  # noqa: E402

REP = [3.0, 4.5, 6.0, 7.5]
RJ = [0.6, 0.7, 0.82, 0.9]


def nest_point(spec: dict, folder: Path, k: int, seed: int, t_sim: float, t_presim: float) -> dict:
    script, spikes = folder / f"point{k}.py", folder / f"point{k}.npz"
    script.write_text(pynest_script(spec))
    env = {**os.environ, "PYNEST_QUIET": "1", "OMP_NUM_THREADS": "1"}
    res = subprocess.run([sys.executable, str(script), "--t-sim", str(t_sim), "--t-presim", str(t_presim),
                          "--seed", str(seed), "--threads", "1", "--spikes-out", str(spikes)],
                         capture_output=True, text=True, env=env, check=True)
    out = json.loads(res.stdout.strip().splitlines()[-1])
    data = np.load(spikes)
    obj = from_dict(spec)
    spk = {n: (data[f"{n}.times"], data[f"{n}.senders"].astype(np.int64)) for n in obj.populations}  # 0-based
    out["metastability"] = metastability(spk, obj, t_presim, t_presim + t_sim)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=0.2)
    ap.add_argument("--t-sim", type=float, default=1000.0)
    ap.add_argument("--t-presim", type=float, default=200.0)
    ap.add_argument("--workers", type=int, default=os.cpu_count())
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "calibration-scan.json")
    ap.add_argument("--plot", type=Path, default=ROOT / "docs" / "img" / "calibration-scan.png")
    args = ap.parse_args()
    points, specs = preset_points("clustered", args.scale, {"rep": REP, "rj": RJ})
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    common = dict(seed=args.seed, t_sim=args.t_sim, t_presim=args.t_presim, workers=args.workers, record=False,
                  measure="metastability")
    # warm Numba's on-disk cache first, so that neither variant pays for compiling
    scan_specs(specs[:1], points[:1], **{**common, "t_sim": 10.0, "t_presim": 0.0, "workers": 1})
    res = {"machine": {"cpu": cpu_model(), "cores": os.cpu_count()}, "scale": args.scale,
           "n_neurons": sum(p["size"] for p in specs[0]["populations"].values()), "points": points,
           "t_sim_ms": args.t_sim, "t_presim_ms": args.t_presim, "workers": args.workers}
    for label, batch in (("spikescope", 1), ("spikescope_batched", args.batch)):
        log(f"{label} ...")
        r = scan_specs(specs, points, batch=batch, **common)
        res[label] = {"wall_s": round(r.wall_s, 2), "batch": batch,
                      "metastability": [p.get("metastability") for p in r.points],
                      "errors": [p.get("error") for p in r.points if p.get("error")]}
        if res[label]["errors"]:
            raise SystemExit(f"{label}: {len(res[label]['errors'])} points failed: {res[label]['errors'][0]}")
        log(f"  {r.wall_s:.1f} s")
    log("nest ...")
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(args.workers) as pool:
        outs = list(pool.map(lambda kv: nest_point(kv[1], Path(tmp), kv[0], args.seed, args.t_sim, args.t_presim),
                             enumerate(specs)))
    res["nest"] = {"wall_s": round(time.perf_counter() - t0, 2),
                   "metastability": [o["metastability"] for o in outs],
                   "sim_s": [o["sim_s"] for o in outs], "build_s": [o["build_s"] for o in outs]}
    log(f"  {res['nest']['wall_s']:.1f} s")
    for label in ("spikescope", "spikescope_batched"):
        res[label]["nest_over_this"] = round(res["nest"]["wall_s"] / res[label]["wall_s"], 2)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=1))
    plot(res, args.plot)
    print(f"{len(points)} points, {res['n_neurons']:,} neurons each, {args.t_presim:g} + {args.t_sim:g} ms, "
          f"{args.workers} workers")
    print("| | wall (s) | NEST / this |\n|---|---|---|")
    print(f"| SpikeScope | {res['spikescope']['wall_s']} | {res['spikescope']['nest_over_this']}x |")
    print(f"| SpikeScope, batches of {args.batch} | {res['spikescope_batched']['wall_s']} | "
          f"{res['spikescope_batched']['nest_over_this']}x |")
    print(f"| NEST 3.10 | {res['nest']['wall_s']} | 1.0x |")
    return 0


def plot(res: dict, path: Path) -> None:
    """rate_std_hz (the clusters' rate fluctuation) over the grid, SpikeScope beside NEST."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), sharey=True)
    grids = []
    for label in ("spikescope", "nest"):
        grids.append(np.array([m["rate_std_hz"] for m in res[label]["metastability"]]).reshape(len(REP), len(RJ)))
    vmax = max(g.max() for g in grids)
    for ax, g, title in zip(axes, grids, ("SpikeScope", "NEST 3.10")):
        im = ax.imshow(g, origin="lower", cmap="viridis", vmin=0, vmax=vmax, aspect="auto")
        ax.set_xticks(range(len(RJ)), [f"{v:g}" for v in RJ])
        ax.set_yticks(range(len(REP)), [f"{v:g}" for v in REP])
        ax.set(xlabel="R_J (rj)", title=f"{title}: cluster-rate fluctuation")
    axes[0].set_ylabel("J_E+ (rep)")
    fig.colorbar(im, ax=axes, label="rate_std (spikes/s)")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")


if __name__ == "__main__":
    raise SystemExit(main())
