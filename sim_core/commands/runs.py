"""``spikescope runs list|show|compare|check``: read the run registry."""
from __future__ import annotations

import json
import os
import platform

from ..errors import SpikeScopeError


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("runs", help="list, show and compare recorded runs (the run registry)")
    p.add_argument("--registry", metavar="FILE", help="registry file (default: $SPIKESCOPE_HOME/registry.sqlite)")
    sub = p.add_subparsers(dest="runs_command", required=True)
    ls = sub.add_parser("list", help="recorded runs, oldest first")
    ls.add_argument("--json", action="store_true", help="print one JSON array")
    ls.add_argument("--limit", type=int, help="only the latest N runs")
    for name in ("model", "kind", "status", "group", "backend"):
        ls.add_argument(f"--{name}")
    ls.add_argument("--seed", type=int)
    ls.add_argument("--spec", metavar="SHA256", help="runs of this spec (a prefix of its SHA-256 is enough)")
    show = sub.add_parser("show", help="everything recorded about one run")
    show.add_argument("id", type=int)
    show.add_argument("--json", action="store_true")
    cmp = sub.add_parser("compare", help="what two runs share and where they differ")
    cmp.add_argument("a", type=int)
    cmp.add_argument("b", type=int)
    cmp.add_argument("--json", action="store_true")
    sub.add_parser("check", help="SQLite integrity check and run counts")
    p.set_defaults(handler=cmd_runs)


def cmd_runs(args) -> int:
    from ..io.registry import Registry
    reg = Registry(args.registry)
    return {"list": _list, "show": _show, "compare": _compare, "check": _check}[args.runs_command](reg, args)


def _get(reg, run_id):
    try:
        return reg.get(run_id)
    except KeyError:
        raise SpikeScopeError(f"runs: no run {run_id} in {reg.path}") from None


# ------------------------------------------------------------------ list
def _list(reg, args) -> int:
    runs = reg.runs(model=args.model, kind=args.kind, status=args.status, group=args.group,
                    backend=args.backend, seed=args.seed, spec=args.spec, limit=args.limit)
    if args.json:
        print(json.dumps(runs))
        return 0
    if not runs:
        print(f"no runs recorded in {reg.path}")
        return 0
    first = {}  # (spec, seed, backend) -> first run: later ones repeat it
    for r in reg.runs():
        first.setdefault((r["spec_sha256"], r["seed"], r["backend"]), r["id"])
    head = f"{'id':>5}  {'created (UTC)':<19}  {'status':<10}  {'kind':<6}  {'model':<16}  {'spec':<12}  " \
           f"{'seed':>6}  {'backend':<7}  {'neurons':>9}  {'build s':>8}  {'sim s':>8}  {'RTF':>7}  repeats"
    print(head)
    for r in runs:
        twin = first.get((r["spec_sha256"], r["seed"], r["backend"]))
        print(f"{r['id']:>5}  {r['created'][:19].replace('T', ' '):<19}  {_status(r):<10}  {r['kind'][:6]:<6}  "
              f"{r['model'][:16]:<16}  {r['spec_sha256'][:12]:<12}  {r['seed']:>6}  {r['backend']:<7}  "
              f"{_num(r['n_neurons'], '{:,}'):>9}  {_num(r['build_s']):>8}  {_num(r['sim_s']):>8}  "
              f"{_num(r['rtf']):>7}  {'#%d' % twin if twin != r['id'] else ''}")
    return 0


def _status(r) -> str:
    """'running' for an incomplete run whose process is alive on this machine."""
    if r["status"] != "incomplete" or not r.get("pid") or (r.get("host") or {}).get("hostname") != platform.node():
        return r["status"]
    try:
        os.kill(r["pid"], 0)
    except ProcessLookupError:
        return "incomplete"
    except PermissionError:
        pass
    return "running"


def _num(x, fmt="{:.3f}") -> str:
    return "-" if x is None else fmt.format(x)


# ------------------------------------------------------------------ show
def _show(reg, args) -> int:
    r = _get(reg, args.id)
    if args.json:
        print(json.dumps(r))
        return 0
    spec = r.pop("spec")
    for key, value in r.items():
        if value is None:
            continue
        if isinstance(value, dict):
            print(f"{key}:")
            for k, v in value.items():
                print(f"  {k}: {json.dumps(v) if isinstance(v, (dict, list)) else v}")
        else:
            print(f"{key}: {value}")
    print(f"spec: {json.dumps(spec)}")
    return 0


# ------------------------------------------------------------------ compare
def _compare(reg, args) -> int:
    from ..io.registry import compare
    a, b = _get(reg, args.a), _get(reg, args.b)
    c = compare(a, b)
    if args.json:
        print(json.dumps(c))
        return 0
    same = [f"{'same' if c['same_spec'] else 'different'} spec ({a['spec_sha256'][:12]}"
            + ("" if c["same_spec"] else f" vs {b['spec_sha256'][:12]}") + ")",
            f"{'same' if c['same_seed'] else 'different'} seed ({a['seed']}"
            + ("" if c["same_seed"] else f" vs {b['seed']}") + ")",
            f"{'same' if c['same_backend'] else 'different'} backend"]
    verdict = {True: "spikes identical", False: "spikes differ", None: "spikes not compared (no hash)"}
    print(f"runs {a['id']} and {b['id']}: {', '.join(same)}; {verdict[c['identical_spikes']]}")
    if c["same_spec"] and c["same_seed"] and c["same_backend"] and c["identical_spikes"] is False:
        print("  (same spec, seed and backend should give identical spikes: check the versions below)")
    width = max([len(k) for k in c["differences"]] + [12])
    print(f"{'field':<{width}}  {'run %d' % a['id']:>24}  {'run %d' % b['id']:>24}")
    for key, (va, vb) in c["differences"].items():
        print(f"{key:<{width}}  {_short(va):>24}  {_short(vb):>24}")
    for pop, d in c["rates_hz"].items():
        rel = "" if d["relative_difference"] is None else f"  ({100 * d['relative_difference']:+.1f} %)"
        print(f"{'rate ' + pop:<{width}}  {_short(d['a']):>24}  {_short(d['b']):>24}{rel}")
    return 0


def _short(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    s = "-" if v is None else str(v)
    return s if len(s) <= 24 else s[:21] + "..."


# ------------------------------------------------------------------ check
def _check(reg, args) -> int:
    if not reg.path.exists():
        print(f"{reg.path}: no registry yet")
        return 0
    result = reg.integrity_check()
    counts = {}
    for r in reg.runs():
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    print(f"{reg.path}: integrity {result}; " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    return 0 if result == "ok" else 1
