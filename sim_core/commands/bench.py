"""``spikescope bench --model M --scales a,b,... --out DIR``: beNNch-style benchmarks."""
from __future__ import annotations

import sys

from ..errors import SpecError


def _scales(text: str) -> list[float]:
    import argparse
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--scales: '{text}' is not a list of numbers like 0.1,0.2") from None
    if not values or any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError(f"--scales: '{text}' must list numbers > 0")
    return values


def add_parser(subparsers) -> None:
    from ..cli import _backend, _nonneg, _positive
    p = subparsers.add_parser("bench", help="benchmark a model at several scales (CSV, plot, registry)")
    p.add_argument("--model", required=True, help="preset name (or a spec file, without --scales)")
    p.add_argument("--scales", type=_scales, help="comma-separated preset scales (default: 1)")
    p.add_argument("--param", action="append", metavar="NAME=VALUE",
                   help="a preset's keyword parameter at every scale (presets only; repeatable), the value "
                        "read as JSON where it is JSON, e.g. --param extent=2 --param variant=MAMV1")
    p.add_argument("--backend", default="cpu", type=_backend, help="cpu | gpu | auto")
    p.add_argument("--t-sim", type=_positive("--t-sim"), default=1000.0, help="simulated time, ms")
    p.add_argument("--t-presim", type=_nonneg("--t-presim"), default=0.0, help="warm-up time, ms (timed too)")
    p.add_argument("--seeds", type=_positive("--seeds"), default=1, help="runs per scale, seeds 1..N")
    p.add_argument("--threads", type=_positive("--threads"), help="threads (default: all cores; NEST too)")
    p.add_argument("--out", required=True, help="writes DIR/bench.csv, DIR/bench.png, DIR/bench.json")
    p.add_argument("--compare-nest", action="store_true", help="also run NEST on the exported PyNEST script")
    p.add_argument("--no-record", action="store_true", help="do not record the runs in the run registry")
    p.set_defaults(handler=cmd_bench)


def cmd_bench(args) -> int:
    from ..benchmark import bench, summarise
    from ..models.registry import PRESETS, parse_params
    params = parse_params(args.param)
    if args.model not in PRESETS and args.scales is not None:
        raise SpecError("--scales", "applies to presets only; a spec file runs at its own size")
    scales = (args.scales or [1.0]) if args.model in PRESETS else [None]
    if args.compare_nest:
        import importlib.util
        if importlib.util.find_spec("nest") is None:
            raise SpecError("--compare-nest", "NEST is not installed here (pip install nest-simulator==3.10.0)")
    rows = bench(args.model, scales, backend=args.backend, t_sim=args.t_sim, t_presim=args.t_presim,
                 seeds=int(args.seeds), threads=int(args.threads) if args.threads else None, out=args.out,
                 compare_nest=args.compare_nest, record=not args.no_record, params=params,
                 log=lambda line: print(line, file=sys.stderr))
    print(f"{'simulator':<11}{'scale':>7}{'neurons':>10}{'synapses':>13}{'build s':>9}{'sim s':>9}{'RTF':>8}{'runs':>6}")
    for s in summarise(rows):
        print(f"{s['simulator']:<11}{s['scale'] if s['scale'] is not None else '-':>7}{s['n_neurons']:>10,}"
              f"{s['n_synapses']:>13,}{s['build_s']:>9.3f}{s['sim_s']:>9.3f}{s['rtf']:>8.3f}{s['runs']:>6}")
    print(f"wrote {args.out}/bench.csv, bench.png, bench.json", file=sys.stderr)
    return 0
