"""The mesocircuit's picture (Senk et al. 2024) at one size on this machine: asynchronous
irregular spiking, weak pairwise spike correlations, strong LFP correlations that fall off
with distance (the paper's analysis: ``sim_core.analysis.lfp``).

    python benchmarks/mesocircuit_lfp.py --scale 0.05 [--t-sim 2500] [--variant PD] [--method kernel]

Writes benchmarks/results/mesocircuit_lfp_<variant>_<scale>.json and
docs/img/mesocircuit-lfp-<variant>-<scale>.png. The first 500 ms are dropped from every
statistic (the paper's transient); rates and CVs of the ISI come from all neurons, spike
correlations from 200 neurons per population in 5 ms bins, the LFP from the 10 x 10 grid.
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim_core.analysis import lfp as al  # noqa: E402
from sim_core.engine.simulation import Simulation  # noqa: E402
from sim_core.io.provenance import cpu_model  # noqa: E402
from sim_core.models import mesocircuit  # noqa: E402
from sim_core.spec import from_dict  # noqa: E402

DROP = al.DROP_MS


def cv_isi(times, ids, n):
    order = np.lexsort((times, ids))
    t, i = times[order], ids[order]
    same = i[1:] == i[:-1]
    isi = np.diff(t)[same]
    owner = i[1:][same]
    cnt = np.bincount(owner, minlength=n)
    ok = cnt >= 2
    if not ok.any():
        return float("nan")
    s1 = np.bincount(owner, weights=isi, minlength=n)[ok]
    s2 = np.bincount(owner, weights=isi * isi, minlength=n)[ok]
    m = s1 / cnt[ok]
    sd = np.sqrt(np.maximum(s2 / cnt[ok] - m * m, 0.0))
    return float(np.mean(sd / m))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=0.05)
    ap.add_argument("--t-sim", type=float, default=2500.0, help="ms, the first 500 ms dropped")
    ap.add_argument("--variant", default="PD")
    ap.add_argument("--method", default="kernel")
    ap.add_argument("--extent", type=float, default=4.0)
    args = ap.parse_args(argv)

    spec = mesocircuit.build(args.scale, variant=args.variant, extent=args.extent)
    spec["recorders"]["lfp"]["method"] = args.method
    t0 = time.perf_counter()
    sim = Simulation(from_dict(spec))
    build_s = time.perf_counter() - t0
    print(f"built {sim.network.n_neurons:,} neurons, {sim.n_synapses:,} synapses in {build_s:.0f} s "
          f"({sim.timers.seconds})", flush=True)
    t0 = time.perf_counter()
    done = 0.0
    while done < args.t_sim - 1e-9:
        step = min(250.0, args.t_sim - done)
        sim.run(step)
        done += step
        print(f"  t = {done:.0f} ms, {time.perf_counter() - t0:.0f} s", flush=True)
    sim_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    times, lfp = sim.lfp.data()
    read_s = time.perf_counter() - t1

    sheet = (args.extent, args.extent)
    pops = {}
    for name, pop in sim.spec.populations.items():
        t, i = sim.spikes(name)
        late = t > DROP
        pos = sim.network.connectome.positions[name]
        sc = al.spike_correlation_vs_distance(t, i, pos, args.t_sim, 200, sheet, True)
        pops[name] = {"n": pop.size, "rate_hz": float(late.sum() / pop.size / ((args.t_sim - DROP) / 1000.0)),
                      "cv_isi": cv_isi(t[late], i[late], pop.size),
                      "spike_corr_mean": sc["mean"], "spike_corr_fit": sc["fit"],
                      "_sc": sc}
    lc = al.lfp_correlation_vs_distance(times, lfp, sim.lfp.positions, sheet, True)
    late = times > DROP
    out = {
        "model": "mesocircuit", "variant": args.variant, "scale": args.scale, "extent_mm": args.extent,
        "method": args.method, "t_sim_ms": args.t_sim, "dropped_ms": DROP,
        "n_neurons": int(sim.network.n_neurons), "n_synapses": int(sim.n_synapses),
        "bytes_per_synapse": float(sim.bytes_per_synapse),
        "build_s": build_s, "sim_s": sim_s, "rtf": sim_s / (args.t_sim / 1000.0),
        "phases_s": {k: round(v, 2) for k, v in sim.timers.seconds.items()}, "lfp_read_s": read_s,
        "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20,
        "populations": {k: {kk: vv for kk, vv in v.items() if not kk.startswith("_")} for k, v in pops.items()},
        "lfp": {"units": sim.lfp.units, "std": float(lfp[:, late].std(axis=1).mean()),
                "fit": lc["fit"], "mean_corr": float(np.nanmean(lc["correlation"])),
                "corr_by_distance": _by_distance(lc["distance"], lc["correlation"])},
        "machine": {"cpu": cpu_model(), "cores": 2},
    }
    res = ROOT / "benchmarks" / "results"
    res.mkdir(parents=True, exist_ok=True)
    tag = f"{args.variant}_{args.scale:g}" + ("" if args.method == "kernel" else f"_{args.method}")
    (res / f"mesocircuit_lfp_{tag}.json").write_text(json.dumps(out, indent=2))
    _plot(ROOT / "docs" / "img" / f"mesocircuit-lfp-{tag.replace('_', '-')}.png", sim, times, lfp, lc, pops, out)
    print(json.dumps({k: out[k] for k in ("n_neurons", "n_synapses", "build_s", "sim_s", "rtf")}))
    print(json.dumps(out["lfp"]["fit"]), {k: round(v["rate_hz"], 2) for k, v in out["populations"].items()})


def _by_distance(r, rho, width=0.4):
    edges = np.arange(0.0, r.max() + width, width)
    out = []
    for lo in edges[:-1]:
        m = (r >= lo) & (r < lo + width) & np.isfinite(rho)
        if m.any():
            out.append([round(float(lo + width / 2), 3), float(rho[m].mean())])
    return out


def _plot(path, sim, times, lfp, lc, pops, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(2, 2, figsize=(11, 8))
    a = ax[0, 0]
    win = (times > DROP) & (times <= DROP + 500.0)
    row = [i * 10 + 4 for i in range(10)] if lfp.shape[0] == 100 else range(min(10, lfp.shape[0]))
    scale = 4 * np.nanstd(lfp[:, win]) or 1.0
    for k, e in enumerate(row):
        a.plot(times[win], lfp[e, win] / scale + k, lw=0.6, color="k")
    a.set(title=f"LFP, a row of electrodes ({sim.lfp.units}, offset)", xlabel="t (ms)", ylabel="electrode")
    a = ax[0, 1]
    for name in ("L23E", "L4E", "L5E", "L6E"):
        sc = pops[name]["_sc"]
        a.plot(sc["distance"], sc["correlation"], ".", ms=1, alpha=0.3, label=f"{name} spikes")
    a.plot(lc["distance"], lc["correlation"], "o", ms=3, color="k", label="LFP")
    rr = np.linspace(0, lc["distance"].max(), 100)
    f = lc["fit"]
    a.plot(rr, f["a"] * np.exp(-rr / f["b"]) + f["c"], "r-",
           label=f"fit {f['a']:.2f} exp(-r/{f['b']:.2f} mm) + {f['c']:.2f}")
    a.set(xlabel="distance (mm)", ylabel="correlation coefficient (5 ms bins)", ylim=(-0.2, 1.0),
          title="pairwise correlations against distance")
    a.legend(fontsize=7, markerscale=4)
    a = ax[1, 0]
    names = list(pops)
    a.bar(names, [pops[n]["rate_hz"] for n in names], color=["C3" if n.endswith("E") else "C0" for n in names])
    a.set(ylabel="rate (spikes/s)", title=f"rates (CV ISI {np.nanmean([pops[n]['cv_isi'] for n in names]):.2f} mean)")
    a = ax[1, 1]
    k = int(np.searchsorted(times, DROP + 250.0))
    m = (lfp[:, k] - lfp[:, late_idx(times)].mean(axis=1)).reshape(sim.lfp.grid.shape)  # minus each mean
    v = np.abs(lfp[:, late_idx(times)] - lfp[:, late_idx(times)].mean(axis=1, keepdims=True)).max() or 1.0
    im = a.imshow(m.T, origin="lower", cmap="RdBu_r", vmin=-v, vmax=v,
                  extent=[-out["extent_mm"] / 2, out["extent_mm"] / 2] * 2)
    fig.colorbar(im, ax=a, label=sim.lfp.units)
    a.set(title=f"LFP minus its mean at t = {times[k]:.1f} ms", xlabel="x (mm)", ylabel="y (mm)")
    fig.suptitle(f"mesocircuit {out['variant']}, scale {out['scale']:g}: {out['n_neurons']:,} neurons, "
                 f"{out['n_synapses']:,} synapses ({out['method']} LFP)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def late_idx(times):
    return times > DROP


if __name__ == "__main__":
    main()
