"""The figures of docs/reliability.md: the soak (one app session, an hour of simulated
time) and the load test (10 browser sessions at once on one server, then closed), at the
sizes the tests use, written to benchmarks/results/reliability.json.

    python benchmarks/reliability.py [--sim-s 3600] [--neurons 50] [--sessions 10] [--rounds 2]
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
    args = ap.parse_args()
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
    print(f"written: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
