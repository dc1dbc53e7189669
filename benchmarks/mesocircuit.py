"""The mesocircuit (preset ``mesocircuit``, PD variant, 4 x 4 mm^2): build and simulation time
against network size, SpikeScope's CPU backend side by side with NEST 3.10 in one run.

For each scale the spec is built with ``sim_core.models.mesocircuit.build(scale, extent=...,
variant=..., seed=...)``, its LFP recorder dropped (NEST has none; spikes of all neurons are
recorded by both), and written as YAML and as the PyNEST script of ``sim_core.io.nest_export``
(what ``spikescope export ... --format nest`` writes). SpikeScope runs the YAML with
``spikescope run --json --no-record``, NEST runs the script, both with the same threads, the
same seed, the same simulated time from t = 0 (no presim). Every measurement is its own
process, one at a time; its peak RSS is the child's ru_maxrss (os.wait4). A warm-up run at a
tiny size fills Numba's compile cache first, so SpikeScope's build times are not compile times.

NEST is skipped at a size when its build, extrapolated from the last size it ran (time and
memory grow with the synapses), would exceed --nest-max-build seconds or the free memory; a
NEST run that exceeds --nest-timeout is killed and recorded as such.

    python benchmarks/mesocircuit.py [--scales 0.005,0.01,0.02,0.05,0.1] [--t-sim 500]
        [--threads 2] [--extent 4] [--seed 55] [--repeats 1] [--rate-seeds 1,2,3 --rate-scale 0.02]
    python benchmarks/mesocircuit.py --scales '' --rate-seeds 1,2,3   # the rate check alone
    python benchmarks/mesocircuit.py --quick     # the smallest size only: a smoke test

The rate check (after the sizes): both simulators at --rate-scale with each of --rate-seeds;
per population, each one's mean and sd over seeds and the difference in standard errors.
With --scales '' the timing rows already in the record are kept.

Writes benchmarks/results/mesocircuit.json (after every size: partial results survive),
mesocircuit.csv (one row per size and simulator) and mesocircuit.png, and prints a Markdown
table. --quick (the smallest size, 100 ms, no rate check) writes to $TMPDIR/mesocircuit-quick.*
instead, so a smoke test never touches the record.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from sim_core.io.provenance import cpu_model, memory_bytes, versions  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
CSV_COLUMNS = ("scale", "simulator", "n_neurons", "n_synapses", "t_sim_ms", "threads", "seed", "build_s",
               "sim_s", "rtf", "peak_rss_mib", "mean_rate_hz", "status")

# written to a file and run as a subprocess: the spec and the NEST script of one size
MAKE = r'''
import json, sys
sys.path.insert(0, sys.argv[1])
from sim_core.models import mesocircuit
from sim_core.spec import from_dict, dumps, to_plain
from sim_core.io.nest_export import pynest_script
scale, extent, variant, seed, stem = float(sys.argv[2]), float(sys.argv[3]), sys.argv[4], int(sys.argv[5]), sys.argv[6]
d = mesocircuit.build(scale, extent=extent, variant=variant, seed=seed)
d["recorders"] = {"spikes": "all"}   # no LFP: NEST has none; spikes of every neuron in both
spec = from_dict(d)
open(stem + ".yaml", "w").write(dumps(spec, "yaml"))
open(stem + "_nest.py", "w").write(pynest_script(to_plain(spec)))
print(json.dumps({"n_neurons": spec.n_neurons, "n_projections": len(d["projections"]),
                  "sizes": {k: v["size"] for k, v in d["populations"].items()}}))
'''


def loadavg() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def available_bytes() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return memory_bytes() or 0


def measure(cmd: list[str], env: dict, timeout: float, log: Path) -> dict:
    """Run cmd in its own process; its last stdout line (JSON), wall time, peak RSS (MiB).
    status 'ok', 'timeout' (killed after timeout s) or 'failed' (with the tail of stderr)."""
    out, err = log.with_suffix(".out"), log.with_suffix(".err")
    load = loadavg()
    t0 = time.perf_counter()
    with open(out, "w") as fo, open(err, "w") as fe:
        proc = subprocess.Popen(cmd, stdout=fo, stderr=fe, env=env, cwd=ROOT, start_new_session=True)
        status = None
        while True:
            pid, code, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - t0 > timeout:
                os.killpg(proc.pid, signal.SIGKILL)
                pid, code, usage = os.wait4(proc.pid, 0)
                status = "timeout"
                break
            time.sleep(0.2)
    proc.returncode = os.waitstatus_to_exitcode(code)  # reaped here, not by Popen
    wall = time.perf_counter() - t0
    # CPU seconds of the whole process over its wall time: below the thread count when the
    # process waited (I/O, a serial phase) or when other work on the machine took the cores
    res = {"wall_s": round(wall, 2), "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
           "cores_used": round((usage.ru_utime + usage.ru_stime) / max(wall, 1e-9), 2),
           "peak_rss_mib": round(usage.ru_maxrss / 1024, 1), "exit": proc.returncode,
           "loadavg_1min_before": load}
    if status is None:
        status = "ok" if proc.returncode == 0 else "failed"
    res["status"] = status
    if status == "ok":
        res.update(json.loads(out.read_text().strip().splitlines()[-1]))
    else:
        res["stderr_tail"] = err.read_text()[-2000:]
    return res


def rate_check(ours: dict, nest: dict, sizes: dict, t_s: float) -> dict:
    """Per population: both rates, their relative difference and a Poisson z-score of the spike
    counts, (c1 - c2) / sqrt(c1 + c2). Network fluctuations make counts over-dispersed, so |z| is
    a loose measure: the check asks for the pooled rate within 10 % and every population within
    25 % or |z| < 3."""
    pops, worst_rel, worst_z, ok = {}, 0.0, 0.0, True
    for name, n in sizes.items():
        r1, r2 = ours["rates_hz"][name], nest["rates_hz"][name]
        c1, c2 = r1 * n * t_s, r2 * n * t_s
        z = (c1 - c2) / math.sqrt(c1 + c2) if c1 + c2 > 0 else 0.0
        rel = (r1 - r2) / r2 if r2 > 0 else (0.0 if r1 == 0 else math.inf)
        pops[name] = {"spikescope_hz": round(r1, 4), "nest_hz": round(r2, 4), "rel_diff": round(rel, 4),
                      "z": round(z, 2)}
        worst_rel, worst_z = max(worst_rel, abs(rel)), max(worst_z, abs(z))
        ok &= abs(rel) <= 0.25 or abs(z) < 3.0
    n_all = sum(sizes.values())
    m1 = sum(ours["rates_hz"][k] * n for k, n in sizes.items()) / n_all
    m2 = sum(nest["rates_hz"][k] * n for k, n in sizes.items()) / n_all
    rel_mean = (m1 - m2) / m2 if m2 > 0 else 0.0
    ok &= abs(rel_mean) <= 0.10
    return {"spikescope_mean_hz": round(m1, 4), "nest_mean_hz": round(m2, 4), "mean_rel_diff": round(rel_mean, 4),
            "max_abs_rel_diff": round(worst_rel, 4), "max_abs_z": round(worst_z, 2), "similar": bool(ok),
            "populations": pops}


def seed_summary(runs: list[dict]) -> dict:
    """Per population (and pooled): each simulator's mean and sd over seeds, and the difference
    of the means in units of the seed-to-seed spread (sd of a mean: sqrt(sd1^2/n + sd2^2/n))."""
    if len(runs) < 2:
        return {}
    out = {}
    names = list(runs[0]["spikescope_hz"]) + ["mean"]
    for name in names:
        if name == "mean":
            a = [r["check"]["spikescope_mean_hz"] for r in runs]
            b = [r["check"]["nest_mean_hz"] for r in runs]
        else:
            a = [r["spikescope_hz"][name] for r in runs]
            b = [r["nest_hz"][name] for r in runs]
        ma, mb, sa, sb = statistics.mean(a), statistics.mean(b), statistics.stdev(a), statistics.stdev(b)
        se = math.sqrt((sa * sa + sb * sb) / len(runs))
        out[name] = {"spikescope_mean": round(ma, 4), "spikescope_sd": round(sa, 4), "nest_mean": round(mb, 4),
                     "nest_sd": round(sb, 4), "diff_over_se": round((ma - mb) / se, 2) if se > 0 else None}
    return out


def median_run(runs: list[dict]) -> dict:
    """The run with the median simulation time (its own build time, RSS, rates)."""
    ok = [r for r in runs if r["status"] == "ok"]
    if not ok:
        return runs[-1]
    ok.sort(key=lambda r: r["sim_s"])
    best = dict(ok[(len(ok) - 1) // 2])
    if len(ok) > 1:
        best["build_s_all"] = [r["build_s"] for r in ok]
        best["sim_s_all"] = [r["sim_s"] for r in ok]
        best["build_s"] = statistics.median(best["build_s_all"])
        best["sim_s"] = statistics.median(best["sim_s_all"])
    return best


def nest_prediction(rows: list[dict], n_syn: int) -> dict | None:
    """NEST's build time and peak RSS at n_syn synapses, extrapolated from the last size NEST
    ran: linearly in the synapses (RSS: its part above the smallest run's, per synapse)."""
    ran = [r for r in rows if r["nest"] and r["nest"]["status"] == "ok" and r["n_synapses"]]
    if not ran:
        return None
    last, first = ran[-1], ran[0]
    f = n_syn / max(last["n_synapses"], 1)
    base = first["nest"]["peak_rss_mib"]
    per_syn = (last["nest"]["peak_rss_mib"] - base) / max(last["n_synapses"], 1)
    return {"build_s": last["nest"]["build_s"] * f, "sim_s": last["nest"]["sim_s"] * f,
            "peak_rss_mib": base + per_syn * n_syn}


def write(record: dict, stem: Path) -> None:
    stem.with_suffix(".json").write_text(json.dumps(record, indent=1) + "\n")
    with open(stem.with_suffix(".csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(CSV_COLUMNS)
        for r in record["rows"]:
            for sim in ("spikescope", "nest"):
                m = r[sim]
                if m is None:
                    w.writerow([r["scale"], sim] + [""] * (len(CSV_COLUMNS) - 3) + ["skipped"])
                    continue
                ok = m["status"] == "ok"
                mean = r["rates"][f"{sim}_mean_hz"] if r.get("rates") else ""
                w.writerow([r["scale"], sim, r["n_neurons"], m.get("n_synapses_recurrent", r["n_synapses"]),
                            record["t_sim_ms"], record["threads"], record["seed"],
                            m.get("build_s", "") if ok else "", m.get("sim_s", "") if ok else "",
                            m.get("rtf", "") if ok else "", m["peak_rss_mib"], mean if ok else "", m["status"]])


def plot(record: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(1, 2, figsize=(11, 4.2))
    for sim, color, label in (("spikescope", "C0", "SpikeScope CPU"), ("nest", "C1", "NEST 3.10")):
        rows = [r for r in record["rows"] if r[sim] and r[sim]["status"] == "ok" and r["n_synapses"]]
        x = [r["n_synapses"] for r in rows]
        if not x:
            continue
        ax[0].loglog(x, [r[sim]["build_s"] for r in rows], "s--", color=color, label=f"{label}: build")
        ax[0].loglog(x, [r[sim]["sim_s"] for r in rows], "o-", color=color, label=f"{label}: simulation")
        ax[1].loglog(x, [r[sim]["peak_rss_mib"] / 1024 for r in rows], "o-", color=color, label=label)
    for r in (r for r in record["rows"] if r["n_synapses"]):
        ax[0].annotate(f"{r['scale']:g}", (r["n_synapses"], r["spikescope"]["sim_s"]) if r["spikescope"]
                       and r["spikescope"]["status"] == "ok" else (r["n_synapses"], 1),
                       textcoords="offset points", xytext=(3, -11), fontsize=7, color="grey")
    m = record["machine"]
    ax[0].set(xlabel="synapses (recurrent)", ylabel="wall time (s)",
              title=f"mesocircuit PD {record['extent']:g}x{record['extent']:g} mm$^2$, "
                    f"{record['t_sim_ms']:g} ms simulated, {record['threads']} threads")
    ax[1].set(xlabel="synapses (recurrent)", ylabel="peak RSS (GiB)", title=f"memory ({m['cores']} cores, {m['cpu']})")
    ax[0].legend(fontsize=8)
    ax[1].legend(fontsize=8)
    for a in ax:
        a.grid(True, which="both", lw=0.3, alpha=0.5)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def fmt(x, digits=2):
    return "-" if x is None else f"{x:.{digits}f}" if x < 100 else f"{x:.0f}"


def table(record: dict) -> str:
    lines = ["| scale | neurons | synapses | SpikeScope build / sim (s), RTF, RSS (GiB) "
             "| NEST build / sim (s), RTF, RSS (GiB) | NEST / SpikeScope: build, sim | mean rate (1/s) "
             "SpikeScope / NEST |",
             "|---|---|---|---|---|---|---|"]
    for r in record["rows"]:
        s, n = r["spikescope"], r["nest"]

        def cell(m):
            if m is None:
                return f"skipped: {r.get('nest_note', '')}"
            if m["status"] != "ok":
                return f"{m['status']} after {m['wall_s']:.0f} s"
            return (f"{fmt(m['build_s'])} / {fmt(m['sim_s'])}, {fmt(m['rtf'])}, "
                    f"{m['peak_rss_mib'] / 1024:.2f}")
        ratio = "-"
        if s and n and s["status"] == n["status"] == "ok":
            ratio = f"{n['build_s'] / s['build_s']:.1f}x, {n['sim_s'] / s['sim_s']:.1f}x"
        rates = "-"
        if r.get("rates"):
            q = r["rates"]
            rates = f"{q['spikescope_mean_hz']:.2f} / {q['nest_mean_hz']:.2f}"
        syn = f"{r['n_synapses']:,}" if r["n_synapses"] else "-"
        lines.append(f"| {r['scale']:g} | {r['n_neurons']:,} | {syn} | {cell(s)} | {cell(n)} "
                     f"| {ratio} | {rates} |")
    return "\n".join(lines)


def file_sha(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    except OSError:
        return ""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", default="0.005,0.01,0.02,0.05,0.1")
    ap.add_argument("--extent", type=float, default=4.0, help="mm (default 4)")
    ap.add_argument("--variant", default="PD")
    ap.add_argument("--t-sim", type=float, default=500.0, help="ms, from t = 0 (default 500)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=55, help="the spec's seed (default 55, the preset's)")
    ap.add_argument("--repeats", type=int, default=1, help="runs per simulator and size (median)")
    ap.add_argument("--nest-max-build", type=float, default=600.0,
                    help="skip NEST where its extrapolated build exceeds this (s)")
    ap.add_argument("--nest-timeout", type=float, default=900.0, help="kill a NEST run after this (s)")
    ap.add_argument("--timeout", type=float, default=1200.0, help="kill a SpikeScope run after this (s)")
    ap.add_argument("--quick", action="store_true",
                    help="smoke test: smallest size, 100 ms, no rate check; writes $TMPDIR/mesocircuit-quick.*")
    ap.add_argument("--no-nest", action="store_true")
    ap.add_argument("--rate-seeds", default="1,2,3",
                    help="seeds of the rate check: both simulators at --rate-scale, one run per seed ('' = none)")
    ap.add_argument("--rate-scale", type=float, default=0.02)
    args = ap.parse_args()
    scales = sorted(float(s) for s in args.scales.split(",") if s)
    rate_seeds = [int(s) for s in args.rate_seeds.split(",") if s]
    if args.quick:
        scales, args.t_sim, rate_seeds = scales[:1], min(args.t_sim, 100.0), []
    stem = Path(tempfile.gettempdir()) / "mesocircuit-quick" if args.quick else RESULTS / "mesocircuit"
    RESULTS.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "NUMBA_NUM_THREADS": str(args.threads), "OMP_NUM_THREADS": str(args.threads)}
    py = sys.executable
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=ROOT).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "sim_core"], capture_output=True, text=True,
                           cwd=ROOT).stdout.strip()
    v = versions()
    sha_now = file_sha(ROOT / "sim_core" / "models" / "mesocircuit.py")
    record = {
        "what": "mesocircuit build and simulation time vs size, SpikeScope CPU vs NEST 3.10",
        "command": " ".join([Path(sys.argv[0]).name] + sys.argv[1:]),
        "machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "memory_gib": round((memory_bytes() or 0) / 2**30, 1),
                    "python": platform.python_version()},
        "versions": {k: v[k] for k in ("numpy", "numba", "nest-simulator") if k in v},
        "commit": commit, "sim_core_uncommitted": bool(dirty),
        "mesocircuit_py_sha256": sha_now,
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "variant": args.variant, "extent": args.extent, "t_sim_ms": args.t_sim, "t_presim_ms": 0.0,
        "threads": args.threads, "seed": args.seed, "repeats": args.repeats,
        "notes": ["synapses: recurrent connections (SpikeScope's n_synapses); NEST's num_connections less "
                  "the one connection per neuron from its population's Poisson generator",
                  "build: SpikeScope build + load (Numba compile excluded, cache warmed); NEST: Create + Connect, "
                  "up to Simulate. NEST's Simulate includes its connection-table preparation",
                  "peak RSS: the whole process (interpreter and imports included)"],
        "rows": [],
    }
    old = json.loads(stem.with_suffix(".json").read_text()) if stem.with_suffix(".json").exists() else {}
    if not scales and old.get("rows"):  # --scales '': keep the timing rows (and their settings) of the record
        record.update({k: old[k] for k in ("rows", "started", "finished", "commit", "mesocircuit_py_sha256",
                                           "t_sim_ms", "threads", "seed", "repeats", "command") if k in old})
    if not rate_seeds and old.get("rate_check"):
        record["rate_check"] = old["rate_check"]
    with tempfile.TemporaryDirectory(prefix="meso-bench-") as tmp:
        tmp = Path(tmp)

        def make(scale, extent, name):
            stem_ = tmp / name
            res = subprocess.run([py, "-c", MAKE, str(ROOT), str(scale), str(extent), args.variant,
                                  str(args.seed), str(stem_)], capture_output=True, text=True, cwd=ROOT)
            if res.returncode != 0:
                raise SystemExit(f"building the spec of scale {scale} failed:\n{res.stderr[-3000:]}")
            return stem_, json.loads(res.stdout.strip().splitlines()[-1])

        def ours(stem_, tag):
            return measure([py, "-m", "sim_core.cli", "run", f"{stem_}.yaml", "--t-sim", str(args.t_sim), "--json",
                            "--threads", str(args.threads), "--no-record"], env, args.timeout, tmp / f"{tag}-ss")

        print("warm-up (fills the compile cache) ...", file=sys.stderr, flush=True)
        w, _ = make(0.02, 1.0, "warmup")
        warm = ours(w, "warmup")
        if warm["status"] != "ok":
            raise SystemExit(f"warm-up failed:\n{warm.get('stderr_tail')}")

        for scale in scales:
            name = f"s{scale:g}"
            spec_stem, info = make(scale, args.extent, name)
            sizes = info["sizes"]
            print(f"scale {scale:g}: {info['n_neurons']:,} neurons, load {loadavg():.2f} ...", file=sys.stderr,
                  flush=True)
            s_runs = [ours(spec_stem, f"{name}-{k}") for k in range(args.repeats)]
            s = median_run(s_runs)
            row = {"scale": scale, "n_neurons": info["n_neurons"], "sizes": sizes,
                   "n_synapses": s.get("n_synapses"), "spikescope": s, "nest": None}
            if s["status"] != "ok":
                print(f"  SpikeScope {s['status']}: {s.get('stderr_tail', '')[-500:]}", file=sys.stderr)
                row["n_synapses"] = None
            s.pop("backend_info", None)
            keys = ("n_synapses", "build_s", "sim_s", "peak_rss_mib", "cores_used")
            print(f"  SpikeScope: {json.dumps({k: s.get(k) for k in keys})}",
                  file=sys.stderr, flush=True)

            pred = nest_prediction(record["rows"], row["n_synapses"] or 0)
            note = None
            if args.no_nest:
                note = "--no-nest"
            elif any(r["nest"] and r["nest"]["status"] != "ok" for r in record["rows"]):
                note = "NEST did not finish a smaller size"
            elif pred and pred["build_s"] > args.nest_max_build:
                note = f"extrapolated NEST build {pred['build_s']:.0f} s > {args.nest_max_build:.0f} s"
            elif pred and pred["peak_rss_mib"] * 2**20 > 0.85 * available_bytes():
                note = (f"extrapolated NEST peak RSS {pred['peak_rss_mib'] / 1024:.1f} GiB > 85 % of the "
                        f"{available_bytes() / 2**30:.1f} GiB available")
            if pred:
                row["nest_prediction"] = {k: round(x, 1) for k, x in pred.items()}
            if note is None:
                n_runs = [measure([py, f"{spec_stem}_nest.py", "--t-sim", str(args.t_sim), "--threads",
                                   str(args.threads)], env, args.nest_timeout, tmp / f"{name}-{k}-nest")
                          for k in range(args.repeats)]
                n = median_run(n_runs)
                if n["status"] == "ok":
                    n["n_synapses_recurrent"] = n["n_synapses"] - n["n_neurons"]
                    n["rtf"] = round(n["sim_s"] / (args.t_sim / 1000.0), 4)
                    n["build_s"], n["sim_s"] = round(n["build_s"], 4), round(n["sim_s"], 4)
                else:
                    print(f"  NEST {n['status']}: {n.get('stderr_tail', '')[-500:]}", file=sys.stderr)
                row["nest"] = n
                keys = ("n_synapses_recurrent", "build_s", "sim_s", "peak_rss_mib", "cores_used", "status")
                print(f"  NEST: {json.dumps({k: n.get(k) for k in keys})}",
                      file=sys.stderr, flush=True)
            else:
                row["nest_note"] = note
                print(f"  NEST skipped: {note}", file=sys.stderr, flush=True)
            if s["status"] == "ok" and row["nest"] and row["nest"]["status"] == "ok":
                row["rates"] = rate_check(s, row["nest"], sizes, args.t_sim / 1000.0)
                row["sim_ratio"] = round(row["nest"]["sim_s"] / s["sim_s"], 2)
                row["build_ratio"] = round(row["nest"]["build_s"] / s["build_s"], 2)
                print(f"  rates: {json.dumps({k: v for k, v in row['rates'].items() if k != 'populations'})}",
                      file=sys.stderr, flush=True)
            record["rows"].append(row)
            record["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
            write(record, stem)  # partial results survive
            plot(record, stem.with_suffix(".png"))

        if rate_seeds:
            print(f"rate check at scale {args.rate_scale:g}, seeds {rate_seeds} ...", file=sys.stderr, flush=True)
            runs = []
            for seed in rate_seeds:
                args_seed, args.seed = args.seed, seed
                spec_stem, info = make(args.rate_scale, args.extent, f"rate-{seed}")
                args.seed = args_seed
                s = ours(spec_stem, f"rate-{seed}")
                n = measure([py, f"{spec_stem}_nest.py", "--t-sim", str(args.t_sim), "--threads",
                             str(args.threads)], env, args.nest_timeout, tmp / f"rate-{seed}-nest")
                if s["status"] != "ok" or n["status"] != "ok":
                    print(f"  seed {seed}: {s['status']} / {n['status']}", file=sys.stderr)
                    continue
                runs.append({"seed": seed, "n_synapses": {"spikescope": s["n_synapses"],
                                                          "nest": n["n_synapses"] - n["n_neurons"]},
                             "spikescope_hz": s["rates_hz"], "nest_hz": n["rates_hz"],
                             "check": rate_check(s, n, info["sizes"], args.t_sim / 1000.0)})
                print(f"  seed {seed}: mean {runs[-1]['check']['spikescope_mean_hz']} / "
                      f"{runs[-1]['check']['nest_mean_hz']} 1/s", file=sys.stderr, flush=True)
            record["rate_check"] = {"scale": args.rate_scale, "t_sim_ms": args.t_sim, "seeds": rate_seeds,
                                    "mesocircuit_py_sha256": sha_now, "when": time.strftime("%Y-%m-%d %H:%M:%S"),
                                    "command": " ".join([Path(sys.argv[0]).name] + sys.argv[1:]),
                                    "runs": runs, "summary": seed_summary(runs)}
            write(record, stem)
    if file_sha(ROOT / "sim_core" / "models" / "mesocircuit.py") != sha_now:
        print("WARNING: sim_core/models/mesocircuit.py changed during the run; rerun", file=sys.stderr)
        record["mesocircuit_py_changed_during_run"] = True
        write(record, stem)
    print(table(record))
    if record.get("rate_check", {}).get("summary"):
        rc = record["rate_check"]
        print(f"\nrate check, scale {rc['scale']:g}, seeds {rc['seeds']} (1/s, mean ± sd over seeds):\n")
        print("| population | SpikeScope | NEST 3.10 | difference / its s.e. |\n|---|---|---|---|")
        for name, q in rc["summary"].items():
            print(f"| {name} | {q['spikescope_mean']:.3f} ± {q['spikescope_sd']:.3f} | {q['nest_mean']:.3f} ± "
                  f"{q['nest_sd']:.3f} | {q['diff_over_se']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
