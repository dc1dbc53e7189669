"""``spikescope scan SPEC --param PATH=v1,v2 [--param ...]``: a parameter scan on Dask (or
``spikescope scan PRESET --option NAME=v1,v2``: a grid over the preset's own options). Every
point reports its rate, CV ISI and synchrony (the Fano factor of the population count in
1 ms bins, as the app's live statistics) per population, and the network's synchrony."""
from __future__ import annotations

import json
import sys

from ..errors import SpecError


def add_parser(subparsers) -> None:
    from ..cli import _backend, _nonneg, _positive
    p = subparsers.add_parser("scan", help="simulate a grid of parameter values on a Dask cluster")
    p.add_argument("model", help="spec file or preset name")
    p.add_argument("--scale", type=_positive("--scale"), help="preset scale (presets only)")
    p.add_argument("--param", action="append", metavar="PATH=V1,V2,...",
                   help="a spec path and its values, e.g. inputs.bg.params.rate=8000,12000 or "
                        "'projections[2].synapse.weight=-300,-400' ('projections[2,3]...': both items, one "
                        "value); several --param make a grid")
    p.add_argument("--option", action="append", metavar="NAME=V1,V2,...",
                   help="a preset option and its values (presets only), e.g. rep=3,6,9 for clustered's J_E+")
    p.add_argument("--batch", type=_positive("--batch"), default=1,
                   help="points simulated together as one network (default 1: each alone)")
    p.add_argument("--measure", choices=["metastability"], help="add this measure to every point")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=_positive("--workers"), help="LocalCluster workers (default: all cores)")
    where.add_argument("--scheduler", metavar="ADDRESS", help="an existing Dask scheduler, e.g. tcp://host:8786")
    p.add_argument("--t-sim", type=_positive("--t-sim"), default=1000.0, help="simulated time after presim, ms")
    p.add_argument("--t-presim", type=_nonneg("--t-presim"), default=0.0, help="warm-up time, ms (not analysed)")
    p.add_argument("--seed", type=_nonneg("--seed", int), help="seed of every point (default: the spec's)")
    p.add_argument("--backend", default="cpu", type=_backend, help="cpu | gpu | auto")
    p.add_argument("--json", action="store_true",
                   help="print a JSON array (one item per point: params, rates_hz, cv_isi, synchrony, "
                        "network_synchrony, ...) as the last line")
    p.add_argument("--no-record", action="store_true", help="do not record the points in the run registry")
    p.set_defaults(handler=cmd_scan)


def cmd_scan(args) -> int:
    from ..models.registry import PRESETS, load_model
    from ..scan import grid, parse_param, point_specs, preset_points, scan_specs
    if bool(args.param) == bool(args.option):
        raise SpecError("--param", "give --param PATH=... (a spec's fields) or --option NAME=... (a preset's options)")
    if args.option and args.model not in PRESETS:
        raise SpecError("--option", f"'{args.model}' is not a preset; --option takes a preset's options")
    params = {}
    for text in args.param or args.option:
        path, values = parse_param(text)
        if path in params:
            raise SpecError(f"--param {path}", "given twice; list all its values in one --param")
        params[path] = values
    points = grid(params)
    if args.option:
        points, specs = preset_points(args.model, args.scale or 1.0, params)
        name, seed = args.model, args.seed if args.seed is not None else specs[0].get("seed", 0)
    else:
        spec = load_model(args.model, args.scale)
        specs, name = point_specs(spec, points), spec.name  # a bad path fails here, before the cluster starts
        seed = spec.seed if args.seed is None else args.seed
    print(f"scan of {name}: {len(points)} points over {', '.join(params)}"
          + (f", in batches of {int(args.batch)}" if args.batch > 1 else ""), file=sys.stderr)
    res = scan_specs(specs, points, seed=seed, backend=args.backend, t_sim=args.t_sim, t_presim=args.t_presim,
                     workers=int(args.workers) if args.workers else None, scheduler=args.scheduler,
                     record=not args.no_record, progress=True, batch=int(args.batch), measure=args.measure)
    failed = [p for p in res.points if p.get("error")]
    if args.json:
        print(json.dumps(res.to_json()))
    else:
        _print_table(res)
    print(f"wall time {res.wall_s:.1f} s", file=sys.stderr)
    for p in failed:
        print(f"spikescope: point {p['index']} ({p['params']}) failed: {p['error']}", file=sys.stderr)
    return 1 if failed else 0


def _print_table(res) -> None:
    pops = []
    for p in res.points:
        pops += [k for k in (p.get("rates_hz") or {}) if k not in pops]
    many = len(pops) > 6  # (the clustered network has 40): their mean instead of a column each
    if many:
        pops = []
    meta = any(p.get("metastability") for p in res.points)
    heads = [*res.paths, *(f"rate {k}" for k in pops), *(f"CV {k}" for k in pops), *(f"sync {k}" for k in pops),
             *(("mean rate", "sync all") if many else ()),
             *(("rate_std", "switch/s", "FF") if meta else ()), "run"]
    width = [max(len(h), 10) for h in heads]
    print("  ".join(f"{h:>{w}}" for h, w in zip(heads, width)))
    for p in res.points:
        cells = [str(p["params"][k]) for k in res.paths]
        cells += [_f(p.get("rates_hz", {}).get(k) if p.get("rates_hz") else None) for k in pops]
        cells += [_f(p.get("cv_isi", {}).get(k) if p.get("cv_isi") else None) for k in pops]
        cells += [_f((p.get("synchrony") or {}).get(k)) for k in pops]
        if many:
            rates = list((p.get("rates_hz") or {}).values())
            cells += [_f(sum(rates) / len(rates) if rates else None), _f(p.get("network_synchrony"))]
        if meta:
            m = p.get("metastability") or {}
            cells += [_f(m.get("rate_std_hz")), _f(m.get("switch_rate_hz")), _f(m.get("fano_factor_mean"))]
        cells.append("-" if p.get("run_id") is None else f"#{p['run_id']}")
        print("  ".join(f"{c:>{w}}" for c, w in zip(cells, width)))
    print(f"scan id {res.scan_id} (spikescope runs list --group {res.scan_id})", file=sys.stderr)


def _f(x) -> str:
    return "-" if x is None else f"{x:.3f}"
