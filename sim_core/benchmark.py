"""Benchmarks in beNNch's manner: a model at several scales, several seeds each, every run's
phase timings recorded with full metadata (the run registry), one CSV of all runs and a plot
of the real-time factor and the build time against network size.

>>> rows = bench("brunel", [0.25, 0.5, 1.0], t_sim=500.0, seeds=2, out="bench/")  # doctest: +SKIP

With ``compare_nest``, NEST runs the PyNEST script that ``spikescope export --format nest``
writes for the same spec, on the same machine with the same number of threads, and its runs
are recorded too (backend ``nest``).

Each configuration runs in this process, one after the other, after one unrecorded warm-up
run that loads Numba's kernels; so ``build_s`` is network construction only and
``compile_s`` (Numba's load of the time-step kernel) stays near zero. NEST's ``n_synapses``
counts its connections from devices too; SpikeScope's counts those between neurons.
"""
from __future__ import annotations

import csv
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

COLUMNS = ("model", "scale", "simulator", "backend", "seed", "threads", "n_neurons", "n_synapses", "t_sim_ms",
           "t_presim_ms", "build_s", "compile_s", "sim_s", "rtf", "mean_rate_hz", "bytes_per_synapse", "device",
           "run_id")


def model_spec(model: str, scale: float | None, params: dict | None = None):
    """A preset at ``scale`` (with its keyword ``params``), or a spec file (scale None)."""
    from .models.registry import load_model
    return load_model(model, scale, params)


def bench(model: str, scales: list[float | None], *, backend: str = "cpu", t_sim: float = 1000.0,
          t_presim: float = 0.0, seeds: int = 1, threads: int | None = None, out=None,
          compare_nest: bool = False, registry=None, record: bool = True, log=None,
          params: dict | None = None) -> list[dict]:
    """Run every (scale, seed); returns the rows of bench.csv. ``seeds`` = N runs seeds 1..N;
    ``params``: the preset's keyword parameters (``--param``), the same at every scale.
    With ``out``, writes out/bench.csv, out/bench.json (machine, versions) and out/bench.png.
    Every run is recorded in ``registry`` (default: $SPIKESCOPE_HOME's) unless ``record`` is false."""
    from .io.registry import Registry, enabled
    reg = None
    if record and enabled():
        reg = registry if isinstance(registry, Registry) else Registry(registry)
    group = time.strftime("bench-%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
    threads = threads or os.cpu_count() or 1
    warm_up(model_spec(model, scales[0], params), backend, threads)
    rows = []
    for scale in scales:
        spec = model_spec(model, scale, params)
        for seed in range(1, seeds + 1):
            rows.append(_spikescope_run(spec, model, scale, seed, backend, t_sim, t_presim, threads, reg, group))
            _log(log, rows[-1])
        if compare_nest:
            script = _nest_script(spec, model, scale, out)
            for seed in range(1, seeds + 1):
                rows.append(_nest_run(script, spec, model, scale, seed, t_sim, t_presim, threads, reg, group))
                _log(log, rows[-1])
    if out is not None:
        write_outputs(Path(out), rows, group)
    return rows


def warm_up(spec, backend: str, threads: int) -> None:
    """One short unrecorded run, so that no measured run pays for loading (or compiling)
    Numba's kernels: connectivity kernels are compiled on first use inside ``build``."""
    from .engine.simulation import Simulation
    Simulation(spec, backend=backend, seed=0, threads=threads).run(10 * spec.dt)
    gc.collect()


def _log(log, row):
    if log is not None:
        log(f"{row['simulator']:<10} {row['model']} scale {row['scale']} seed {row['seed']}: "
            f"{row['n_neurons']:,} neurons, build {row['build_s']:.2f} s, sim {row['sim_s']:.2f} s, "
            f"RTF {row['rtf']:.2f}")


def _mean_rate(rates: dict, sizes: dict) -> float:
    n = sum(sizes[p] for p in rates)
    return sum(rates[p] * sizes[p] for p in rates) / n if n else 0.0


def _spikescope_run(spec, model, scale, seed, backend, t_sim, t_presim, threads, reg, group) -> dict:
    from .engine.simulation import Simulation
    from .io.registry import record
    with record(spec, seed=seed, backend=backend, t_sim=t_sim, t_presim=t_presim, kind="bench", group=group,
                registry=reg, off=reg is None) as run:
        sim = run.attach(Simulation(spec, backend=backend, seed=seed, threads=threads))
        sim.run(t_presim + t_sim)
    fields = run.result_fields()  # what was recorded
    sizes = {n: p.size for n, p in spec.populations.items()}
    row = {"model": model if scale is not None else spec.name, "scale": scale, "simulator": "spikescope",
           "backend": fields["backend"], "seed": seed, "threads": fields["threads"],
           "n_neurons": fields["n_neurons"], "n_synapses": fields["n_synapses"], "t_sim_ms": t_sim,
           "t_presim_ms": t_presim, "build_s": fields["build_s"], "compile_s": fields["phases"].get("compile"),
           "sim_s": fields["sim_s"], "rtf": fields["sim_s"] / ((t_sim + t_presim) / 1000.0),
           "mean_rate_hz": _mean_rate(fields["summary"]["rates_hz"], sizes),
           "bytes_per_synapse": fields["summary"]["bytes_per_synapse"], "device": fields["device"],
           "run_id": run.id}
    del sim, run
    gc.collect()  # the next, larger network should not wait for this one's memory
    return row


def _nest_script(spec, model, scale, out) -> Path:
    from .io.nest_export import pynest_script
    from .spec import to_plain
    folder = Path(out) / "nest" if out is not None else Path(tempfile.mkdtemp(prefix="spikescope-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{spec.name}_{scale if scale is not None else 'spec'}.py"
    path.write_text(pynest_script(to_plain(spec)))
    return path


def _nest_run(script, spec, model, scale, seed, t_sim, t_presim, threads, reg, group) -> dict:
    from .io import provenance
    from .spec import to_plain
    run_id = None
    if reg is not None:
        run_id = reg.begin(to_plain(spec), seed=seed, backend="nest", kind="bench", group=group,
                           t_sim_ms=t_sim, t_presim_ms=t_presim, env={**provenance.environment("cpu")})
    env = {**os.environ, "PYNEST_QUIET": "1", "OMP_NUM_THREADS": str(threads)}
    cmd = [sys.executable, str(script), "--t-sim", str(t_sim), "--t-presim", str(t_presim), "--seed", str(seed),
           "--threads", str(threads)]
    res = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if res.returncode != 0:
        err = (res.stderr.strip().splitlines() or ["no output"])[-1]
        if run_id is not None:
            reg.fail(run_id, f"NEST script failed: {err}")
        raise RuntimeError(f"NEST run of {script} failed: {err}")
    s = json.loads(res.stdout.strip().splitlines()[-1])
    sizes = {n: p.size for n, p in spec.populations.items()}
    rtf = s["sim_s"] / ((t_sim + t_presim) / 1000.0)
    if run_id is not None:
        reg.complete(run_id, backend="nest", threads=threads, n_neurons=s["n_neurons"], n_synapses=s["n_synapses"],
                     build_s=s["build_s"], sim_s=s["sim_s"], rtf=rtf,
                     versions={**provenance.versions(), "nest-simulator": s["nest_version"]},
                     phases={"build": s["build_s"], "simulate": s["sim_s"]},
                     summary={"rates_hz": s["rates_hz"], "cv_isi": s["cv_isi"], "script": str(script)})
    return {"model": model if scale is not None else spec.name, "scale": scale, "simulator": "nest",
            "backend": "nest", "seed": seed, "threads": threads, "n_neurons": s["n_neurons"],
            "n_synapses": s["n_synapses"], "t_sim_ms": t_sim, "t_presim_ms": t_presim, "build_s": s["build_s"],
            "compile_s": None, "sim_s": s["sim_s"], "rtf": rtf, "mean_rate_hz": _mean_rate(s["rates_hz"], sizes),
            "bytes_per_synapse": None, "device": provenance.cpu_model(), "run_id": run_id}


# ------------------------------------------------------------------ outputs
def write_outputs(out: Path, rows: list[dict], group: str) -> None:
    from .io import provenance
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "bench.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        for r in rows:
            w.writerow({k: _csv_value(r.get(k)) for k in COLUMNS})
    meta = {"group": group, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "command": " ".join(sys.argv),
            "host": provenance.host(), "versions": provenance.versions(), "git": provenance.git_commit()}
    (out / "bench.json").write_text(json.dumps(meta, indent=2) + "\n")
    plot(rows, out / "bench.png")


def read_csv(path) -> list[dict]:
    """The rows of a bench.csv, typed as ``bench`` returns them (to plot again)."""
    ints = ("seed", "threads", "n_neurons", "n_synapses", "run_id")
    rows = []
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            for k, v in r.items():
                if v == "":
                    r[k] = None
                elif k in ints:
                    r[k] = int(v)
                elif k not in ("model", "simulator", "backend", "device"):
                    r[k] = float(v)
            rows.append(r)
    return rows


def _csv_value(v):
    return f"{v:.6g}" if isinstance(v, float) else ("" if v is None else v)


def summarise(rows: list[dict]) -> list[dict]:
    """Median, min and max over seeds of build_s, sim_s and rtf per (simulator, backend, scale)."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["simulator"], r["backend"], r["scale"]), []).append(r)
    out = []
    for (simulator, backend, scale), rs in groups.items():
        d = {"simulator": simulator, "backend": backend, "scale": scale,
             "n_neurons": rs[0]["n_neurons"], "n_synapses": rs[0]["n_synapses"], "runs": len(rs)}
        for k in ("build_s", "sim_s", "rtf"):
            vals = [r[k] for r in rs]
            d[k], d[k + "_min"], d[k + "_max"] = statistics.median(vals), min(vals), max(vals)
        out.append(d)
    return out


def plot(rows: list[dict], path: Path) -> None:
    """RTF and build time against the number of neurons (log-log), median over seeds with
    the range as error bars, one line per simulator and backend."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(9, 3.8), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 2)
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter
    stats = summarise(rows)
    sizes = sorted({(s["n_neurons"], s["n_synapses"]) for s in stats if s["simulator"] == "spikescope"}
                   or {(s["n_neurons"], s["n_synapses"]) for s in stats})
    for key in sorted({(s["simulator"], s["backend"]) for s in stats}):
        pts = sorted((s for s in stats if (s["simulator"], s["backend"]) == key), key=lambda s: s["n_neurons"])
        label = "NEST 3.10" if key[0] == "nest" else f"SpikeScope {key[1]}"
        x = [s["n_neurons"] for s in pts]
        for ax, k in zip(axes, ("rtf", "build_s")):
            y = [s[k] for s in pts]
            err = [[s[k] - s[k + "_min"] for s in pts], [s[k + "_max"] - s[k] for s in pts]]
            ax.errorbar(x, y, yerr=err, marker="o", capsize=3, label=label)
    first = rows[0] if rows else {}
    threads = first.get("threads")
    title = (f"{first.get('model', '')}, {threads} thread{'s' if threads != 1 else ''}, "
             f"{first.get('t_sim_ms', 0):g} ms simulated")
    for ax, ylabel in zip(axes, ("real-time factor (wall s / simulated s)", "build time (s)")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks([n for n, _ in sizes], [f"{n:,}\n{m / 1e6:.3g}M syn" for n, m in sizes])
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("network size (neurons, synapses)")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.savefig(path)
