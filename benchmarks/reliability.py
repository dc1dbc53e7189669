"""The figures of docs/reliability.md: the soak (one app session, an hour of simulated
time) and the load test (10 browser sessions at once on one server, then closed), at the
sizes the tests use, written to benchmarks/results/reliability.json.

    python benchmarks/reliability.py [--sim-s 3600] [--neurons 50] [--sessions 10] [--rounds 2]
    python benchmarks/reliability.py --plot-only     # docs/img/reliability.png from the JSON
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.reliability import load, soak, soak_spec  # noqa: E402
from sim_core.io.provenance import cpu_model  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sim-s", type=float, default=3600.0, help="simulated seconds of the soak")
    ap.add_argument("--neurons", type=int, default=50, help="neurons of the soak's network")
    ap.add_argument("--sessions", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "reliability.json")
    ap.add_argument("--plot", type=Path, default=ROOT / "docs" / "img" / "reliability.png")
    ap.add_argument("--plot-only", action="store_true", help="redraw the figure from --out")
    args = ap.parse_args()
    if args.plot_only:
        plot(json.loads(args.out.read_text()), args.plot)
        return 0
    machine = {"cpu": cpu_model(), "python": platform.python_version()}
    print("soak ...", file=sys.stderr)
    s = soak(sim_ms=args.sim_s * 1000.0, spec=soak_spec(args.neurons),
             log=lambda d: print(f"  t = {d['t_ms'] / 1000:.0f} s: RSS {d['rss_mb']} MB, "
                                 f"{d['held_spikes']:,} spikes held of {d['spikes']:,}", file=sys.stderr))
    print("load ...", file=sys.stderr)
    ld = load(n_sessions=args.sessions, rounds=args.rounds, log=lambda r: print(f"  {r}", file=sys.stderr))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": machine, "soak": s, "load": ld}, indent=1))
    print(f"soak: {s['n_spikes']:,} spikes in {s['t_ms'] / 1000:.0f} s simulated ({s['wall_s']} s wall); RSS "
          f"{s['before_mb']} MB before, {s['during'][0]['rss_mb']}-{max(d['rss_mb'] for d in s['during'])} MB "
          f"during, {s['after_mb']} MB after; unbounded it would have held {s['unbounded_mb']} MB of spikes")
    for k, r in enumerate(ld["rounds"], 1):
        print(f"load round {k}: server RSS {ld['warm_mb']} MB warm, {r['during_mb']} MB with {args.sessions} "
              f"sessions running, {r['after_mb']} MB {r['release_s']} s after they closed")
    plot(json.loads(args.out.read_text()), args.plot)
    print(f"written: {args.out}, {args.plot}")
    return 0


def plot(res: dict, path: Path) -> None:
    """Left: the soak's memory over simulated time, beside what keeping every spike would
    have cost. Right: the server's memory through the load test's rounds."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    s, ld = res["soak"], res["load"]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.6))
    t = [0.0] + [d["t_ms"] / 60_000 for d in s["during"]]
    rss = [s["before_mb"]] + [d["rss_mb"] for d in s["during"]]
    unbounded = [s["before_mb"]] + [s["during"][0]["rss_mb"] + (d["spikes"] - d["held_spikes"]) * 16 / 2**20
                                    for d in s["during"]]
    a.plot(t, rss, "o-", label="SpikeScope (10 s kept)")
    a.plot(t, unbounded, "--", color="grey", label="had every spike been kept")
    a.set(xlabel="simulated time (min)", ylabel="process RSS (MB)",
          title=f"soak: one session, {s['n_neurons']} neurons, {s['n_spikes'] / 1e6:.1f} M spikes")
    a.legend(frameon=False)
    labels, values = ["start", "warm"], [ld["start_mb"], ld["warm_mb"]]
    for k, r in enumerate(ld["rounds"], 1):
        labels += [f"{ld['n_sessions']} open\n(round {k})", f"closed\n(round {k})"]
        values += [r["during_mb"], r["after_mb"]]
    b.bar(range(len(values)), values, color=["#999", "#999"] + ["#d62728", "#2ca02c"] * len(ld["rounds"]))
    b.set_xticks(range(len(values)), labels, fontsize=8)
    b.set(ylabel="server RSS (MB)", title=f"load: {ld['n_sessions']} browser sessions at once")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    raise SystemExit(main())
