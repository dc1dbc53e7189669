"""Build and run a spikescope/1 spec in NEST 3.10 (the reference), independently of
SpikeScope's code. Usage: python nest_runner.py T_PRESIM T_SIM SEED THREADS < spec.json
Prints one JSON line: rates_hz, cv_isi, n_synapses, build_s, sim_s, spikes."""
import json
import sys
import time

import nest
import numpy as np


def param(v):
    if not isinstance(v, dict):
        return v
    if "spatial" in v:
        if v["spatial"] == "gaussian":
            return v["p_center"] * nest.spatial_distributions.gaussian(nest.spatial.distance, std=v["sigma"])
        if v["spatial"] == "exponential":
            return v["p_center"] * nest.spatial_distributions.exponential(nest.spatial.distance, beta=v["beta"])
        return v["offset"] + nest.spatial.distance / v["velocity"]
    kind = v["dist"]
    if kind == "normal":
        x = nest.random.normal(mean=v["mean"], std=v["std"])
    elif kind == "lognormal":
        x = nest.random.lognormal(mean=v["mu"], std=v["sigma"])
    elif kind == "uniform":
        x = nest.random.uniform(min=v["low"], max=v["high"])
    else:
        x = nest.random.exponential(beta=v["beta"])
    if v.get("scale", 1.0) != 1.0 or v.get("offset", 0.0) != 0.0:
        x = v.get("offset", 0.0) + v.get("scale", 1.0) * x
    if kind != "uniform" and (v.get("low") is not None or v.get("high") is not None):
        x = nest.math.redraw(x, min=v.get("low", -1e300), max=v.get("high", 1e300))
    return x


def main():
    t_presim, t_sim, seed, threads = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    spec = json.loads(sys.stdin.read())
    nest.set_verbosity("M_ERROR")
    nest.ResetKernel()
    nest.SetKernelStatus({"resolution": spec.get("dt", 0.1), "rng_seed": seed + 1, "local_num_threads": threads})
    t0 = time.perf_counter()
    nodes, recs = {}, {}
    for name, p in spec["populations"].items():
        pos = p.get("positions")
        if pos:
            ext = pos.get("extent", [1.0, 1.0])
            if pos["kind"] == "grid":
                layer = nest.spatial.grid(shape=pos["shape"], extent=ext, edge_wrap=pos.get("periodic", False))
            else:
                layer = nest.spatial.free([nest.random.uniform(-ext[0] / 2, ext[0] / 2),
                                           nest.random.uniform(-ext[1] / 2, ext[1] / 2)],
                                          extent=ext, edge_wrap=pos.get("periodic", False))
            nodes[name] = (nest.Create(p["model"], positions=layer) if pos["kind"] == "grid"
                           else nest.Create(p["model"], p["size"], positions=layer))
        else:
            nodes[name] = nest.Create(p["model"], p["size"])
        fixed = {k: v for k, v in p.get("params", {}).items() if not isinstance(v, dict)}
        nodes[name].set(fixed)  # together: NEST checks V_reset < V_th on each set()
        for k, v in p.get("params", {}).items():
            if isinstance(v, dict):
                nodes[name].set({k: param(v)})
        for k, v in p.get("initial", {}).items():
            nodes[name].set({k: param(v)})
        recs[name] = nest.Create("spike_recorder")
    for name, i in spec.get("inputs", {}).items():
        nodes[name] = nest.Create(i["model"], params=i.get("params", {}))
    for pr in spec.get("projections", []):
        r = dict(pr["rule"])
        rule = r.pop("rule")
        conn = {"rule": rule, **{k: param(v) if k == "p" else v for k, v in r.items() if k != "mask"}}
        if "mask" in r:
            conn["mask"] = r["mask"]
        syn = {"weight": param(pr["synapse"]["weight"]), "delay": param(pr["synapse"].get("delay", 1.0))}
        nest.Connect(nodes[pr["source"]], nodes[pr["target"]], conn, syn)
    n_syn = sum(nest.GetConnections(nodes[pr["source"]], nodes[pr["target"]]).__len__()
                for pr in spec.get("projections", []) if pr["source"] in spec["populations"])
    for name in spec["populations"]:
        nest.Connect(nodes[name], recs[name])
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    nest.Simulate(t_presim + t_sim)
    sim_s = time.perf_counter() - t0
    rates, cvs = {}, {}
    for name, rec in recs.items():
        ev = rec.events
        first, n = nodes[name][0].global_id, spec["populations"][name]["size"]
        sel = ev["times"] > t_presim
        t, s = ev["times"][sel], ev["senders"][sel] - first
        rates[name] = float(np.bincount(s, minlength=n).mean() / (t_sim / 1000.0))
        cv = []
        for i in range(n):
            ti = np.sort(t[s == i])
            if ti.size >= 3:
                isi = np.diff(ti)
                cv.append(isi.std() / isi.mean())
        cvs[name] = float(np.mean(cv)) if cv else None
    print(json.dumps({"simulator": "nest", "rates_hz": rates, "cv_isi": cvs, "n_synapses": n_syn,
                      "build_s": build_s, "sim_s": sim_s}))


if __name__ == "__main__":
    main()
