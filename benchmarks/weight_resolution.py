"""Limited weight resolution: how far do rates, ISI CVs and spike-count correlations move?

The study of Dasbach et al. (2021, arXiv 2105.05002) on SpikeScope's presets, at a scale a
CPU runs in minutes:

- ``brunel``: the Brunel preset (NEST's brunel_alpha, fixed in-degrees) with its recurrent
  weights made heavy-tailed: lognormal with the preset's mean and sigma = 1 of the
  underlying normal (coefficient of variation 1.3); the external drive stays constant;
- ``microcircuit``: the Potjans-Diesmann preset as it is (normal weights, CV 0.1, and
  binomially distributed in-degrees from fixed_total_number);
- ``microcircuit-lognormal``: the same with lognormal recurrent weights as for brunel.

For every method (naive, mean_variance, mean) and number of levels (2, 4, 16, 256), the
network is discretized and run at seeds 2..(1 + --repeats); each run is compared with the
full-resolution network of seed 1 by the two-sample KS distance of the per-neuron rate, the
ISI CV and the spike-count correlation distributions (per population, then averaged over
populations). The yardstick is the same distance for the full-resolution networks of seeds
2..(1 + --repeats) (seed-to-seed): at a given seed, the discretized and the full network
share connectivity, drawn weights and Poisson input, only the discretization differs.

    python benchmarks/weight_resolution.py [--networks brunel,microcircuit,...] [--repeats 2]

Writes benchmarks/results/weight-resolution/{results.json, table.md, weight_resolution.png}.
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim_core.analysis.compare import STATISTICS, ks_distances, simulation_statistics  # noqa: E402
from sim_core.engine.simulation import Simulation  # noqa: E402
from sim_core.io.provenance import cpu_model  # noqa: E402
from sim_core.models.registry import preset_dict  # noqa: E402
from sim_core.spec import from_dict  # noqa: E402

METHODS = ("naive", "mean_variance", "mean")
LEVELS = (2, 4, 16, 256)
SCALES = {"brunel": 0.2, "microcircuit": 0.1}
NETWORKS = ("brunel", "microcircuit", "microcircuit-lognormal")
LOGNORMAL_SIGMA = 1.0


def network(name: str, scale: float) -> dict:
    """The preset's spec dict; brunel and *-lognormal: lognormal recurrent weights with the
    preset's mean weight of each projection."""
    d = preset_dict(name.removesuffix("-lognormal"), scale)
    if name == "brunel" or name.endswith("-lognormal"):
        for p in d["projections"]:
            w = p["synapse"]["weight"]
            if p["source"] not in d["populations"]:
                continue
            mean = w if isinstance(w, float) else w["mean"]  # the microcircuit's are normal
            mu = math.log(abs(mean)) - LOGNORMAL_SIGMA ** 2 / 2  # mean exp(mu + sigma^2/2) = |mean|
            p["synapse"]["weight"] = {"dist": "lognormal", "mu": mu, "sigma": LOGNORMAL_SIGMA,
                                      "scale": math.copysign(1.0, mean)}
    return d


def with_resolution(d: dict, method: str | None, levels: int) -> dict:
    """Every projection with drawn weights gets ``resolution``; None: full resolution."""
    d = copy.deepcopy(d)
    if method is not None:
        for p in d["projections"]:
            if isinstance(p["synapse"]["weight"], dict):
                p["synapse"]["resolution"] = {"levels": levels, "method": method}
    return d


def run(d: dict, seed: int, args) -> tuple[dict, dict]:
    t0 = time.perf_counter()
    sim = Simulation(from_dict(d), seed=seed, threads=args.threads)
    build = time.perf_counter() - t0
    sim.run(args.t_presim + args.t_sim)
    stats = simulation_statistics(sim, args.t_presim, bin_size=2.0, subsample=args.subsample)
    info = {"seed": seed, "bytes_per_synapse": sim.bytes_per_synapse, "n_synapses": sim.backend.n_synapses,
            "build_s": build, "sim_s": sim.timers["simulate"],
            "rates_hz": {p: float(s["rate"].mean()) for p, s in stats.items()}}
    return stats, info


def mean_over_pops(d: dict) -> dict:
    return {s: float(np.nanmean([v[s] for v in d.values()])) for s in STATISTICS}


def study(name: str, args, log) -> dict:
    scale = args.scale[name.removesuffix("-lognormal")]
    base = network(name, scale)
    seeds = list(range(2, 2 + args.repeats))
    ref_stats, ref_info = run(base, 1, args)
    log(f"{name}: {ref_info['n_synapses']:,} synapses, {ref_info['bytes_per_synapse']:.2f} B/synapse, "
        f"rates {ref_info['rates_hz']}")
    out = {"network": name, "scale": scale, "reference": ref_info, "seed_to_seed": [], "runs": []}
    for s in seeds:
        st, info = run(base, s, args)
        out["seed_to_seed"].append({**info, "ks": mean_over_pops(ks_distances(ref_stats, st)),
                                    "ks_per_population": ks_distances(ref_stats, st)})
    for method in METHODS:
        for levels in (LEVELS if method != "mean" else (1,)):
            d = with_resolution(base, method, max(levels, 2))
            for s in seeds:
                st, info = run(d, s, args)
                ks = ks_distances(ref_stats, st)
                out["runs"].append({"method": method, "levels": levels, **info, "ks": mean_over_pops(ks),
                                    "ks_per_population": ks})
            last = out["runs"][-1]
            log(f"  {method:<14}{levels:>4} levels: {last['bytes_per_synapse']:.2f} B/synapse, KS "
                + ", ".join(f"{k} {v:.3f}" for k, v in last["ks"].items()))
    return out


def summary_rows(res: dict) -> list[dict]:
    """One row per (method, levels): KS distances averaged over the repeats."""
    rows = []
    yard = {s: [r["ks"][s] for r in res["seed_to_seed"]] for s in STATISTICS}
    rows.append({"method": "full (seed-to-seed)", "levels": "-",
                 "bytes": res["reference"]["bytes_per_synapse"],
                 **{s: (float(np.mean(v)), float(np.std(v))) for s, v in yard.items()}})
    keys = []
    for r in res["runs"]:
        if (r["method"], r["levels"]) not in keys:
            keys.append((r["method"], r["levels"]))
    for m, lv in keys:
        rs = [r for r in res["runs"] if r["method"] == m and r["levels"] == lv]
        rows.append({"method": m, "levels": lv if m != "mean" else 1, "bytes": rs[0]["bytes_per_synapse"],
                     **{s: (float(np.mean([r["ks"][s] for r in rs])), float(np.std([r["ks"][s] for r in rs])))
                        for s in STATISTICS}})
    return rows


def markdown(results: list[dict], args) -> str:
    lines = [f"Machine: {args.machine}. Simulated {args.t_presim:g} ms + {args.t_sim:g} ms analysed per run, "
             f"{args.repeats} seeds per configuration, threads {args.threads}; KS distances to the "
             "full-resolution network of seed 1, mean over populations, then mean ± std over seeds.", ""]
    for res in results:
        y = summary_rows(res)[0]
        lines += [f"**{res['network']}** (scale {res['scale']:g}, {res['reference']['n_synapses']:,} synapses)", "",
                  "| method | levels | bytes/synapse | KS rate | KS CV | KS CC | rate / seed | CV / seed | CC / seed |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in summary_rows(res):
            ratio = [f"{r[s][0] / y[s][0]:.1f}" if r is not y else "1" for s in STATISTICS]
            lines.append(f"| {r['method']} | {r['levels']} | {r['bytes']:.2f} | "
                         + " | ".join(f"{r[s][0]:.3f} ± {r[s][1]:.3f}" for s in STATISTICS)
                         + " | " + " | ".join(ratio) + " |")
        lines.append("")
    return "\n".join(lines)


def figure(results: list[dict], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    labels = {"rate": "rate", "cv": "ISI CV", "cc": "spike-count CC"}
    fig, axes = plt.subplots(len(results), 3, figsize=(11, 3.2 * len(results)), squeeze=False)
    colors = {"naive": "tab:red", "mean_variance": "tab:blue", "mean": "tab:green"}
    for row, res in zip(axes, results):
        rows = summary_rows(res)
        y = rows[0]
        for ax, s in zip(row, STATISTICS):
            m, sd = y[s]
            ax.axhspan(max(m - sd, 0), m + sd, color="0.85", label="seed-to-seed (mean ± std)")
            ax.axhline(m, color="0.5", lw=1)
            for method in ("naive", "mean_variance"):
                rs = [r for r in rows if r["method"] == method]
                ax.errorbar([r["levels"] for r in rs], [r[s][0] for r in rs], [r[s][1] for r in rs],
                            marker="o", capsize=3, color=colors[method], label=method)
            mean = [r for r in rows if r["method"] == "mean"]
            if mean:
                ax.axhline(mean[0][s][0], color=colors["mean"], ls="--", label="mean (1 value)")
            ax.set_xscale("log", base=2)
            ax.set_xticks(LEVELS, [str(v) for v in LEVELS])
            ax.set_yscale("log")
            ax.set_title(f"{res['network']}: {labels[s]}", fontsize=9)
            ax.set_xlabel("levels")
            ax.set_ylabel("KS distance to reference")
        row[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--networks", default=",".join(NETWORKS))
    ap.add_argument("--scale-brunel", type=float, default=SCALES["brunel"])
    ap.add_argument("--scale-microcircuit", type=float, default=SCALES["microcircuit"])
    ap.add_argument("--t-presim", type=float, default=500.0, help="ms, not analysed")
    ap.add_argument("--t-sim", type=float, default=1500.0, help="ms analysed")
    ap.add_argument("--repeats", type=int, default=2, help="seeds per configuration (and seed-to-seed pairs)")
    ap.add_argument("--subsample", type=int, default=50, help="neurons per population for CCs (INM-6: 50)")
    ap.add_argument("--threads", type=int, default=1, help="CPU threads per run (default 1)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "weight-resolution"))
    ap.add_argument("--replot", action="store_true", help="only redraw the figure from OUT/results.json")
    args = ap.parse_args(argv)
    if args.replot:
        figure(json.loads((Path(args.out) / "results.json").read_text())["results"],
               Path(args.out) / "weight_resolution.png")
        return 0
    args.scale = {"brunel": args.scale_brunel, "microcircuit": args.scale_microcircuit}
    args.machine = f"{cpu_model()}, {os.cpu_count()} cores"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    log = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    t0 = time.perf_counter()
    results = [study(n, args, log) for n in args.networks.split(",")]
    wall = time.perf_counter() - t0
    meta = {"machine": args.machine, "t_presim_ms": args.t_presim, "t_sim_ms": args.t_sim,
            "repeats": args.repeats, "subsample": args.subsample, "threads": args.threads, "wall_s": wall}
    (out / "results.json").write_text(json.dumps({"meta": meta, "results": results}, indent=1))
    table = markdown(results, args) + f"\nWall time of the study: {wall / 60:.1f} min.\n"
    (out / "table.md").write_text(table)
    figure(results, out / "weight_resolution.png")
    print(table)
    log(f"wrote {out}/results.json, table.md, weight_resolution.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
