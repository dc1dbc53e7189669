"""``spikescope compare RUN_DIR... [--json]``: KS distances between the activity of runs.

RUN_DIR is what ``spikescope run --out DIR`` writes (``spikes.h5``, ``run.json``). The first
directory is the reference; every other run is compared with it (two-sample KS distance of
the per-neuron rate, ISI CV and spike-count correlation distributions, per population; see
``sim_core.analysis.compare``). Runs whose spec equals the reference's except for the seed
are seed replicates: the distances among the reference and its replicates (all pairs) are
the seed-to-seed yardstick printed next to each distance.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

from ..errors import SpikeScopeError


def add_parser(subparsers) -> None:
    from ..cli import _nonneg, _positive
    p = subparsers.add_parser("compare", help="KS distances of rate/CV/correlation distributions between runs")
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR",
                   help="directories written by 'spikescope run --out'; the first is the reference")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--bin-size", type=_positive("--bin-size"), default=2.0, help="spike-count bin for correlations, ms")
    p.add_argument("--subsample", type=_nonneg("--subsample", int), default=50,
                   help="neurons per population for correlations (0: all)")
    p.add_argument("--subsample-seed", type=_nonneg("--subsample-seed", int), default=12345,
                   help="seed of the random neuron subsample")
    p.add_argument("--t-start", type=_nonneg("--t-start"),
                   help="analyse spikes after this time, ms (default: each run's t_presim)")
    p.set_defaults(handler=cmd_compare)


def load_run(path: Path, t_start: float | None = None, **stat_kwargs) -> dict:
    """A run directory -> {'dir', 'seed', 'spec', 'stats'} (statistics over the run's
    analysed interval)."""
    from ..analysis.compare import run_statistics
    from ..io.sonata import read_spikes
    meta_file, spike_file = path / "run.json", path / "spikes.h5"
    for f in (meta_file, spike_file):
        if not f.is_file():
            raise SpikeScopeError(f"compare: {f} not found; RUN_DIR must be written by 'spikescope run --out DIR'")
    meta = json.loads(meta_file.read_text())
    t_presim = float(meta.get("t_presim_ms", 0.0))
    t_stop = t_presim + float(meta["t_sim_ms"])
    t_start = t_presim if t_start is None else t_start
    if not t_start < t_stop:
        raise SpikeScopeError(f"--t-start: {t_start} ms is not before the end of {path} ({t_stop} ms)")
    spikes = read_spikes(spike_file)
    sizes = {name: int(meta["spec"]["populations"][name]["size"]) for name in spikes}
    return {"dir": str(path), "seed": meta.get("seed"), "spec": meta["spec"], "t_start": t_start,
            "t_stop": t_stop, "stats": run_statistics(spikes, sizes, t_start, t_stop, **stat_kwargs)}


def _same_model(a: dict, b: dict) -> bool:
    strip = lambda s: {k: v for k, v in s.items() if k != "seed"}  # noqa: E731
    return strip(a["spec"]) == strip(b["spec"])


def compare_runs(runs: list[dict]) -> dict:
    """Distances of runs[1:] to runs[0] and the seed-to-seed yardstick (plain data)."""
    from ..analysis.compare import ks_distances, seed_to_seed
    ref = runs[0]
    replicates = [ref]
    for r in runs[1:]:  # one run per seed: a repeated seed would add a zero distance
        if _same_model(ref, r) and all(r["seed"] != x["seed"] for x in replicates):
            replicates.append(r)
    is_replicate = [any(r is x for x in replicates) for r in runs[1:]]
    yard = seed_to_seed([r["stats"] for r in replicates])
    for pop in yard.values():
        for v in pop.values():
            v.pop("values")
    return {
        "reference": ref["dir"],
        "seed_to_seed": yard,
        "replicates": [r["dir"] for r in replicates[1:]],
        "runs": [{"dir": r["dir"], "seed": r["seed"], "replicate": rep,
                  "ks": ks_distances(ref["stats"], r["stats"])} for r, rep in zip(runs[1:], is_replicate)],
    }


def cmd_compare(args) -> int:
    kw = {"bin_size": args.bin_size, "subsample": args.subsample or None, "seed": args.subsample_seed,
          "t_start": args.t_start}
    runs = [load_run(Path(d), **kw) for d in args.run_dirs]
    result = compare_runs(runs)
    result["params"] = {"bin_size_ms": args.bin_size, "subsample": args.subsample or None,
                        "subsample_seed": args.subsample_seed}
    if args.json:
        print(json.dumps(_finite(result)))
    else:
        _print(result)
    return 0


def _finite(x):
    """NaN -> None, so the JSON is standard."""
    if isinstance(x, float):
        return None if math.isnan(x) else x
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_finite(v) for v in x]
    return x


def _fmt(v):
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3f}"


def _print(res):
    yard = res["seed_to_seed"]
    print(f"reference: {res['reference']}")
    if res["replicates"]:
        print(f"seed-to-seed yardstick from {len(res['replicates']) + 1} runs of the same model "
              f"(mean / max over pairs)")
    else:
        print("no seed replicates of the reference among the runs: no seed-to-seed yardstick "
              "(add runs of the same spec with other --seed)")
    for run in res["runs"]:
        tag = " (seed replicate)" if run["replicate"] else ""
        print(f"\n{run['dir']}  seed {run['seed']}{tag}")
        print(f"  {'population':<12}{'statistic':<10}{'KS':>8}{'seed mean':>11}{'seed max':>10}")
        for pop, d in run["ks"].items():
            for stat, v in d.items():
                y = yard.get(pop, {}).get(stat, {})
                print(f"  {pop:<12}{stat:<10}{_fmt(v):>8}{_fmt(y.get('mean')):>11}{_fmt(y.get('max')):>10}")
