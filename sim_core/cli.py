"""``spikescope`` command line: run a spec or preset, export a preset as a spec.

Imports no GUI package and no CuPy unless ``--backend gpu`` asks for it. Bad input
ends with one line on stderr naming the field, and exit code 2.
"""
from __future__ import annotations

import argparse
import importlib
import json
import re
import sys
import time
from pathlib import Path

from .errors import SpikeScopeError, SpecError
from .models.registry import PRESETS, load_model, parse_params  # noqa: F401  (commands use cli.load_model)

PARAM_HELP = ("a preset's keyword parameter (presets only; repeat for several), the value read as JSON "
              "where it is JSON, else as a string, e.g. --param variant=MAMV1 --param extent=2 "
              "--param thalamus=true (mesocircuit)")


# Modules that add a subcommand: each has ``add_parser(subparsers)``, which registers the
# command with ``set_defaults(handler=fn)``; fn(args) -> exit code. They must import
# nothing heavy at module level (the CLI path stays free of GUI packages and CuPy).
COMMAND_MODULES: list[str] = ["app.serve_command", "sim_core.commands.runs", "sim_core.commands.bench", "sim_core.commands.scan", "sim_core.commands.compare"]


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse prints usage over several)
        message = re.sub(r"argument (\S+): \1: ", r"\1: ", message)  # our messages name the option
        sys.stderr.write(f"spikescope: error: {message}\n")
        sys.exit(2)


def _positive(name):
    def conv(text):
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name}: '{text}' is not a number") from None
        if not v > 0:
            raise argparse.ArgumentTypeError(f"{name}: {v} must be > 0")
        return v
    return conv


def _nonneg(name, kind=float):
    def conv(text):
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name}: '{text}' is not a valid {kind.__name__}") from None
        if v < 0:
            raise argparse.ArgumentTypeError(f"{name}: {v} must be >= 0")
        return v
    return conv


def _backend(text):
    from .backends import BACKENDS
    if text not in BACKENDS:
        raise argparse.ArgumentTypeError(f"--backend: '{text}' is not valid; expected one of {', '.join(BACKENDS)}")
    return text


def make_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="spikescope", description="Build and simulate spiking networks (spec spikescope/1).")
    sub = p.add_subparsers(dest="command", parser_class=_Parser, required=True)
    r = sub.add_parser("run", help="simulate a spec file or a preset")
    r.add_argument("model", help=f"spec file (.yaml/.json) or preset name ({', '.join(PRESETS)})")
    r.add_argument("--scale", type=_positive("--scale"), help="preset scale (presets only)")
    r.add_argument("--param", action="append", metavar="NAME=VALUE", help=PARAM_HELP)
    r.add_argument("--t-sim", type=_positive("--t-sim"), default=1000.0, help="simulated time after presim, ms")
    r.add_argument("--t-presim", type=_nonneg("--t-presim"), default=0.0, help="warm-up time, ms (not analysed)")
    r.add_argument("--seed", type=_nonneg("--seed", int), help="random seed (default: the spec's)")
    r.add_argument("--backend", default="cpu", type=_backend, help="cpu | gpu | auto")
    r.add_argument("--threads", type=_nonneg("--threads", int), help="CPU threads (default: all cores)")
    r.add_argument("--json", action="store_true", help="print a JSON summary as the last stdout line")
    r.add_argument("--progress", action="store_true", help="show the progress bar even with --json")
    r.add_argument("--out", help="write DIR/spikes.h5 (SONATA), DIR/run.json and, with recorders.weights, "
                                 "DIR/weights.h5, with recorders.lfp, DIR/lfp.h5")
    r.add_argument("--save-connectivity", action="store_true", help="also write the network as SONATA in DIR/sonata")
    r.add_argument("--no-record", action="store_true", help="do not record the run in the run registry")
    r.add_argument("--realtime", action="store_true",
                   help="pace the simulation to the wall clock (in periods of --loop-ms); report late periods")
    r.add_argument("--loop-ms", type=_positive("--loop-ms"), default=None,
                   help="run in periods of this many ms, as a closed loop does (default 10 with --realtime)")
    e = sub.add_parser("export", help="write a preset (or a spec) as an editable spec file")
    e.add_argument("model", help="preset name or spec file")
    e.add_argument("--scale", type=_positive("--scale"), help="preset scale")
    e.add_argument("--param", action="append", metavar="NAME=VALUE", help=PARAM_HELP)
    e.add_argument("--format", default=None, help="yaml | json | nest | sonata | svg (default: from the file suffix)")
    e.add_argument("--seed", type=_nonneg("--seed", int), help="seed of the network written by sonata (default: the spec's)")
    e.add_argument("-o", "--output", required=True, help="output file ('-' for stdout)")
    v = sub.add_parser("validate", help="check a spec file and say what is wrong")
    v.add_argument("model")
    sub.add_parser("schema", help="print the JSON Schema of spikescope/1")
    for module in COMMAND_MODULES:  # further commands live in their own modules
        importlib.import_module(module).add_parser(sub)
    return p


def cmd_run(args) -> int:
    from .io.registry import record

    spec = load_model(args.model, args.scale, parse_params(args.param))
    if args.save_connectivity and not args.out:
        raise SpecError("--save-connectivity", "needs --out DIR (the network goes to DIR/sonata)")
    show = (not args.json) or args.progress
    if show:
        print(f"building {spec.name}: {spec.n_neurons:,} neurons ...", file=sys.stderr)
    # the registry row is written before building: a run killed midway stays 'incomplete'
    with record(spec, seed=args.seed, backend=args.backend, t_sim=args.t_sim, t_presim=args.t_presim,
                kind="cli", off=args.no_record) as run:
        return _run(args, spec, run, show)


def _device(sim) -> str:
    from .io.provenance import cpu_model
    if sim.backend_name == "gpu":
        from .backends import describe_gpu
        return describe_gpu()
    return cpu_model()


def _run(args, spec, run, show) -> int:
    from .analysis.stats import population_summary
    from .engine.simulation import Simulation
    sim = run.attach(Simulation(spec, backend=args.backend, seed=args.seed, threads=args.threads, progress=show))
    if args.backend == "auto" and show:
        from .backends import describe_gpu
        why = f"GPU found: {describe_gpu()}" if sim.backend_name == "gpu" else "no GPU found"
        print(f"backend auto: using {sim.backend_name} ({why})", file=sys.stderr)
    t_total = args.t_presim + args.t_sim
    loop = None
    if args.realtime or args.loop_ms:
        loop = _run_loop(sim, t_total, args, show)
    else:
        sim.run(t_total, progress=show)
    sim.snapshot_weights()  # the last snapshot at the end of the run
    rates, cvs = population_summary(sim, args.t_presim, t_total)
    sim_s = sim.timers["simulate"]
    summary = {
        "model": spec.name, "n_neurons": spec.n_neurons, "n_synapses": sim.n_synapses,
        "n_synapses_stored": sim.backend.n_synapses,
        "build_s": round(sim.timers["build"] + sim.timers["load"], 4), "sim_s": round(sim_s, 4),
        "rtf": round(sim_s / (t_total / 1000.0), 4), "backend": sim.backend_name,
        "threads": getattr(sim.backend, "threads", None), "device": _device(sim),
        "backend_info": sim.backend.info(),
        "bytes_per_synapse": round(sim.bytes_per_synapse, 3), "seed": sim.seed,
        "t_sim_ms": args.t_sim, "t_presim_ms": args.t_presim, "n_spikes": sim.spike_record.n_spikes,
        "rates_hz": rates, "cv_isi": cvs, "phases_s": {k: round(v, 4) for k, v in sim.timers.seconds.items()},
    }
    if loop is not None:
        summary["loop"] = loop
    summary.update(_plasticity_summary(sim))
    run.summary.update(rates_hz=rates, cv_isi=cvs)
    summary["run_id"] = run.id
    if args.out:
        _write_out(Path(args.out), sim, spec, summary)
        run.spike_file = Path(args.out) / "spikes.h5"
    if args.save_connectivity:
        from .io.sonata_network import write_network
        run.network_dir = Path(args.out) / "sonata"
        write_network(run.network_dir, spec, sim.seed, sim.network.connectome, tstop=t_total)
    if args.json:
        print(json.dumps(summary))
    else:
        _print_table(summary)
    return 0


def _run_loop(sim, t_total, args, show) -> dict:
    """The run in periods (``engine.loop``), paced with --realtime; its report."""
    from tqdm import tqdm

    from .engine.loop import run_loop
    period = args.loop_ms or 10.0
    with tqdm(total=round(t_total), unit="ms", file=sys.stderr, leave=False, disable=not show,
              desc=f"{sim.spec.name} (real time)" if args.realtime else sim.spec.name) as bar:
        report = run_loop(sim, t_total, None, period_ms=period, realtime=args.realtime,
                          progress=lambda t: bar.update(round(t) - bar.n))
    out = report.summary()
    if show and args.realtime and out["deadlines_missed"]:
        print(f"real time: {out['deadlines_missed']} of {out['periods']} periods of {period:g} ms ended late "
              f"(mean {out['per_period_ms']['mean']:.2f} ms of wall time per period)", file=sys.stderr)
    return out


def _plasticity_summary(sim) -> dict:
    """What plastic projections did: STDP history reads that lacked spikes (0 when exact),
    and for rewiring projections ``structural: {formed, eliminated, synapses}`` (summed over
    them) with the failed formations and the counts per projection."""
    if not hasattr(sim.backend, "plasticity_counters") or not any(p.plastic for p in sim.spec.projections):
        return {}
    ct = sim.backend.plasticity_counters()
    out = {"plasticity": {"history_overflows": ct["history_overflows"]}}
    if ct["rewiring"]:
        per = ct["rewiring"]
        out["structural"] = {k: sum(v[k] for v in per.values())
                             for k in ("formed", "eliminated", "synapses", "failed_formations")}
        out["structural"]["projections"] = {str(q): v for q, v in per.items()}
    out.update(_topomap_summary(sim))
    return out


def _topomap_summary(sim) -> dict:
    """``topomap: {times_ms, rf_spread, rf_error}`` of the map's feed-forward projection at
    every weight snapshot (analysis.topomap), when it is recorded."""
    from .analysis.topomap import grid_units, map_over_time, map_projection
    spec, wr = sim.spec, sim.weight_record
    q = map_projection(spec)
    if q is None or wr is None or q not in wr.projections:
        return {}
    p = spec.projections[q]
    sheets = {n: spec.populations[n].positions for n in (p.source, p.target)}
    pos = {n: grid_units(sim.network.connectome.positions[n], sheets[n].extent, sheets[n].shape) for n in sheets}
    return {"topomap": {"projection": q, **map_over_time(wr, q, pos[p.source], pos[p.target],
                                                         sheets[p.target].shape)}}


def _write_out(out: Path, sim, spec, summary):
    from .io.sonata import write_spikes
    from .spec import to_plain
    out.mkdir(parents=True, exist_ok=True)
    write_spikes(out / "spikes.h5", {n: sim.spikes(n) for n in sim.spike_record.recorded})
    if sim.weight_record is not None:
        from .io.weights_h5 import write_weights
        write_weights(out / "weights.h5", sim.weight_record)
    record = {**summary, "spec": to_plain(spec), "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    (out / "run.json").write_text(json.dumps(record, indent=2))
    if getattr(sim, "lfp", None) is not None:
        from .io.lfp_h5 import write_lfp
        write_lfp(out / "lfp.h5", sim)


def _print_table(s):
    print(f"{s['model']}: {s['n_neurons']:,} neurons, {s['n_synapses']:,} synapses, backend {s['backend']}")
    print(f"build {s['build_s']:.2f} s, simulation {s['sim_s']:.2f} s (RTF {s['rtf']:.2f}), "
          f"{s['bytes_per_synapse']:.1f} bytes/synapse, {s['n_spikes']:,} spikes")
    if s.get("loop"):
        lp = s["loop"]
        late = f", {lp['deadlines_missed']} ended late" if lp["realtime"] else ""
        print(f"{lp['periods']} periods of {lp['period_ms']:g} ms: {lp['per_period_ms']['mean']:.2f} ms of wall time "
              f"each (p95 {lp['per_period_ms']['p95']:.2f}, max {lp['per_period_ms']['max']:.2f}){late}")
    print(f"{'population':<12}{'rate (spikes/s)':>16}{'CV ISI':>10}")
    for name, rate in s["rates_hz"].items():
        cv = s["cv_isi"][name]
        print(f"{name:<12}{rate:>16.3f}{('%.3f' % cv) if cv is not None else '-':>10}")


def cmd_export(args) -> int:
    from .spec import dumps
    spec = load_model(args.model, args.scale, parse_params(args.param))
    fmt = args.format or ("json" if args.output.endswith(".json") else
                          "nest" if args.output.endswith(".py") else
                          "svg" if args.output.endswith(".svg") else "yaml")
    if fmt in ("sonata", "svg"):
        return _export_files(spec, fmt, args)
    if fmt in ("yaml", "json"):
        text = dumps(spec, fmt)
    elif fmt == "nest":
        from .io.nest_export import pynest_script
        from .spec import to_plain
        text = pynest_script(to_plain(spec))
    else:
        raise SpecError("--format", f"'{fmt}' is not valid; expected one of json, nest, sonata, svg, yaml")
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text)
        print(f"wrote {args.output}", file=sys.stderr)
    return 0


def _export_files(spec, fmt, args) -> int:
    if args.output == "-":
        raise SpecError("-o", f"{fmt} is written to files: give a {'directory' if fmt == 'sonata' else 'file'}")
    if fmt == "sonata":  # the instantiated network: nodes, edges, types, configs
        from .io.sonata_network import write_network
        config = write_network(args.output, spec, args.seed)
        print(f"wrote {config.parent}/ (SONATA; in NEST: nest.SonataNetwork('{config}', "
              f"'{config.parent / 'simulation_config.json'}'))", file=sys.stderr)
    else:
        from widgets.notation import save_svg  # the network diagram, drawn by the app's widget
        save_svg(spec, args.output)
        print(f"wrote {args.output}", file=sys.stderr)
    return 0


def cmd_validate(args) -> int:
    spec = load_model(args.model, None)
    print(f"{args.model}: valid ({spec.n_neurons:,} neurons, {len(spec.projections)} projections)")
    return 0


def cmd_schema(args) -> int:
    from .spec import json_schema
    print(json.dumps(json_schema(), indent=2))
    return 0


def main(argv=None) -> int:
    args = make_parser().parse_args(argv)
    handlers = {"run": cmd_run, "export": cmd_export, "validate": cmd_validate, "schema": cmd_schema}
    try:
        return handlers[args.command](args) if args.command in handlers else args.handler(args)
    except SpikeScopeError as exc:
        sys.stderr.write(f"spikescope: error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("spikescope: interrupted\n")
        return 130


if __name__ == "__main__":
    sys.exit(main())
