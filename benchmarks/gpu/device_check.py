#!/usr/bin/env python3
"""SpikeScope device check: everything about the GPU backend that only a real GPU can show,
in one run of at most 9 minutes (``bash benchmarks/gpu/device_check.sh``; see
``docs/device-check.md``).

Steps, cheapest first (each with its wall time and its results, or an ``error``):

  versions          Python, NumPy, CuPy, Numba, numba-cuda, CUDA driver/runtime, the device, commit
  grid_sync         µs per grid sync (a tiny cooperative kernel), µs per back-to-back launch
  cross_block_sync  does a grid sync really order the blocks? (each block writes, all check)
  compile           first launch (compile) vs second launch of every kernel, on a small network
  registers         registers, local memory per thread, co-resident blocks of the persistent kernel
  identity          GPU vs CPU spikes on ~1,000 neurons for 1 s, both drivers; GPU-built connectome
                    vs the CPU's
  microcircuit      the full microcircuit: build, compile, 0.5 s presim, 10 s simulated, RTF, bytes
                    per synapse, rates; writes benchmarks/results/microcircuit-gpu.json
  microcircuit_connectome  (if time is left) its GPU-built connectome against the CPU builder's
  closed_loop       issue 13's loop: the clustered network at 25,000 neurons, a controller every 10 ms
  mesocircuit       the 4 x 4 mm^2 mesocircuit with its 10 x 10 LFP (1.2 M neurons, 5.9e9 synapses at
                    full size): the memory estimate against the device's free memory, then the largest
                    scale that fits both the memory and the time left (two pilot builds predict the
                    build time), build, LFP kernels, compile, 0.2 s presim, 1 s simulated: RTF, bytes per
                    synapse, rates, peak GPU memory, the LFP; writes benchmarks/results/mesocircuit-gpu.json.
                    It needs about 4 minutes of its own: in the full check it is skipped with a note,
                    and runs as a second device run (``device_check.sh OUT_DIR --steps mesocircuit``)

``OUT_DIR/device_check.json`` is rewritten whenever a step finishes, so a run cut short keeps
the steps done. The steps run in child processes (one for the cheap probes, one for the
identity, one for the microcircuit), so a crash, a sticky CUDA error or a hang in one of them
costs only that step: the parent records it and goes on, each child under a deadline (the
mesocircuit has a child of its own too).

Without a GPU: ``NUMBA_ENABLE_CUDASIM=1 python benchmarks/gpu/device_check.py --simulator
--out /tmp/dc`` runs the logic in Numba's CUDA simulator with every size shrunk (40 neurons,
30 ms), skipping the timing-only steps and the microcircuit (``--steps`` forces any of them,
tiny).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RESULTS_FILE = REPO / "benchmarks" / "results" / "microcircuit-gpu.json"
MESO_RESULTS_FILE = REPO / "benchmarks" / "results" / "mesocircuit-gpu.json"

STEP_ORDER = ("versions", "grid_sync", "cross_block_sync", "compile", "registers", "identity",
              "microcircuit", "microcircuit_connectome", "closed_loop", "mesocircuit")
# Steps that share a child process (compiled kernels and the microcircuit stay in memory).
GROUPS = (("probe", ("versions", "grid_sync", "cross_block_sync", "compile", "registers")),
          ("identity", ("identity",)),
          ("microcircuit", ("microcircuit", "microcircuit_connectome")),
          ("loop", ("closed_loop",)),
          ("mesocircuit", ("mesocircuit",)))
# Seconds: the most a group may take, and what it must leave for the groups after it.
GROUP_CAP = {"probe": 150.0, "identity": 200.0, "microcircuit": math.inf, "loop": 90.0, "mesocircuit": math.inf}
GROUP_RESERVE = {"probe": 380.0, "identity": 320.0, "microcircuit": 90.0, "loop": 0.0, "mesocircuit": 0.0}
# Seconds a group needs at the least (by mode); with less left it is skipped with this note.
GROUP_NEED = {"mesocircuit": {"gpu": 240.0, "simulator": 60.0}}
SECOND_RUN = {"mesocircuit": "run it as a second device run: bash benchmarks/gpu/device_check.sh OUT_DIR "
                             "--steps mesocircuit (docs/device-check.md)"}
MIN_GROUP_S = 20.0   # a group with less than this left is not started
KILL_GRACE_S = 15.0  # a child past its deadline by this much is killed
BUDGET_S = 520.0     # the shell wrapper kills everything at 530 s

# In the simulator (about 20 ms per step) the timing-only steps and the microcircuit are
# skipped unless --steps names them; cross_block_sync runs its logic on one block.
SIMULATOR_SKIPS = {
    "grid_sync": "timing only: the simulator's times say nothing about a GPU",
    "compile": "timing only: the simulator compiles nothing",
    "registers": "the simulator compiles nothing (no registers, no co-resident limit)",
    "microcircuit": "77,169 neurons: far too large for the simulator",
    "microcircuit_connectome": "needs the microcircuit step",
    "closed_loop": "25,000 neurons: far too large for the simulator",
    "mesocircuit": "1.2 million neurons, 5.9e9 synapses: far too large for the simulator",
}

SIZES = {
    "gpu": {"identity_n": 1000, "identity_ms": 1000.0, "compile_n": 100, "sync_counts": (1000, 10000),
            "sync_reps": 3, "launches": 10000, "xblock_steps": 10000, "mc_scale": 1.0,
            "mc_presim_ms": 500.0, "mc_sim_ms": 10000.0, "mc_chunk_ms": 1000.0, "presim_chunk_ms": 100.0,
            "mc_connectome_min_s": 60.0, "loop_scale": 5.0, "loop_ms": 1000.0,
            # mesocircuit: candidate scales (largest first) on a 4 mm sheet; a warm-up build, then
            # two timed pilot builds that predict the build time of each candidate
            "meso_extent": 4.0, "meso_scales": (1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1),
            "meso_warmup_scale": 0.01, "meso_pilot_scales": (0.01, 0.1), "meso_pilot_ms": 20.0,
            "meso_presim_ms": 200.0, "meso_sim_ms": 1000.0, "meso_chunk_ms": 250.0,
            "meso_presim_chunk_ms": 100.0},
    "simulator": {"identity_n": 40, "identity_ms": 30.0, "compile_n": 20, "sync_counts": (5, 10),
                  "sync_reps": 1, "launches": 20, "xblock_steps": 20, "mc_scale": 0.001,
                  "mc_presim_ms": 2.0, "mc_sim_ms": 4.0, "mc_chunk_ms": 1.0, "presim_chunk_ms": 1.0,
                  "mc_connectome_min_s": 0.0, "loop_scale": 0.028, "loop_ms": 4.0,
                  "meso_extent": 1.0, "meso_scales": (0.002, 0.0015), "meso_warmup_scale": 0.0015,
                  "meso_pilot_scales": (0.0015, 0.002), "meso_pilot_ms": 1.0, "meso_presim_ms": 2.0,
                  "meso_sim_ms": 20.0, "meso_chunk_ms": 5.0, "meso_presim_chunk_ms": 1.0},
}
KERNEL_NAMES = ("persistent_kernel", "update_kernel", "deliver_kernel", "fused_kernel")
IDENTITY_NETS = ("exp_alpha_min_delay_1", "delta_min_delay_2")


# ================================================================================ small helpers

def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def _json_default(o):
    try:
        import numpy as np
        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
    except ImportError:
        pass
    if isinstance(o, (set, tuple)):
        return list(o)
    return str(o)


def write_json(path: Path, data) -> None:
    """Atomically: a reader (or a kill) never sees half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(_finite(data), indent=2, default=_json_default) + "\n")
    os.replace(tmp, path)


def _finite(o):
    """NaN and infinities as null: the file stays strict JSON (jq, browsers)."""
    if isinstance(o, float):
        return o if math.isfinite(o) else None
    if isinstance(o, dict):
        return {str(k): _finite(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_finite(v) for v in o]
    return o


def read_json(path: Path):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def git_commit() -> tuple[str | None, str | None]:
    """(commit, where it came from): ``git rev-parse HEAD``, the checkout's .git read
    directly, the environment variable SPIKESCOPE_COMMIT, else (None, None)."""
    try:
        r = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, timeout=5)
        if r.returncode == 0 and r.stdout.strip():
            return r.stdout.strip(), "git rev-parse HEAD"
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        from sim_core.io.provenance import git_commit as read_git
        g = read_git()
        if g and g.get("commit"):
            return g["commit"], ".git (read directly)"
    except Exception:  # noqa: BLE001
        pass
    env = os.environ.get("SPIKESCOPE_COMMIT")
    if env:
        return env.strip(), "SPIKESCOPE_COMMIT"
    return None, None


def cuda_version(v) -> str | None:
    """12080 -> '12.8'."""
    try:
        v = int(v)
    except (TypeError, ValueError):
        return None
    return f"{v // 1000}.{(v % 1000) // 10}"


def short(text, n=300) -> str:
    text = str(text)
    return text if len(text) <= n else text[:n] + f"... ({len(text)} chars)"


def err(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}"


# ================================================================================ the child side

class Ctx:
    """What the steps of one child process share."""

    def __init__(self, args, part: "Part"):
        self.simulator = bool(args.simulator)
        self.sizes = SIZES["simulator" if self.simulator else "gpu"]
        self.deadline = float(args.deadline)
        self.out = Path(args.out)
        self.part = part
        self.args = args
        self.state: dict = {}

    def remaining(self) -> float:
        return self.deadline - time.time()

    def save(self) -> None:
        self.part.write()

    # ---------------------------------------------------------------- device helpers
    def xp(self):
        if self.simulator:
            import numpy
            return numpy
        import cupy
        return cupy

    def sync(self) -> None:
        if not self.simulator:
            import cupy
            cupy.cuda.Device().synchronize()

    def timed(self, fn, *a, **k):
        """(wall seconds, result) of fn, with the device synchronised before and after."""
        self.sync()
        t0 = time.perf_counter()
        r = fn(*a, **k)
        self.sync()
        return time.perf_counter() - t0, r

    def host(self, a):
        return a.get() if hasattr(a, "get") and not self.simulator else a

    def sm_count(self) -> int:
        if self.simulator:
            return 1
        import cupy
        return int(cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)["multiProcessorCount"])

    def device_name(self) -> str:
        from sim_core.backends import describe_gpu
        return describe_gpu()


class Part:
    """This child's share of the report, written after every change (the parent merges it)."""

    def __init__(self, path):
        self.path = Path(path)
        self.data = {"pid": os.getpid(), "current": None, "steps": {}}

    def write(self):
        write_json(self.path, self.data)


def run_child(args) -> int:
    import warnings
    warnings.filterwarnings("ignore", message=".*[Gg]rid size.*")
    try:
        from numba.core.errors import NumbaPerformanceWarning
        warnings.simplefilter("ignore", NumbaPerformanceWarning)
    except Exception:  # noqa: BLE001
        pass
    part = Part(args.part)
    ctx = Ctx(args, part)
    forced = set(args.force or ())
    for name in args.steps.split(","):
        res = {"status": "running", "started": now_iso(), "t_started": time.time()}
        part.data["current"] = name
        part.data["steps"][name] = res
        part.write()
        t0 = time.perf_counter()
        try:
            if ctx.simulator and name in SIMULATOR_SKIPS and name not in forced:
                res.update(status="skipped", skipped=f"simulator: {SIMULATOR_SKIPS[name]}")
            else:
                STEP_FUNCS[name](ctx, res)
        except Exception as e:  # noqa: BLE001  (one step's failure must not stop the next)
            res["status"] = "error"
            res["error"] = err(e)
            res["traceback"] = traceback.format_exc()[-4000:]
        if res.get("status") == "running":
            res["status"] = "ok"
        res["wall_s"] = round(time.perf_counter() - t0, 3)
        part.data["current"] = None
        part.write()
    return 0


# ================================================================================ tiny kernels

_TINY = {}
cuda = None  # numba.cuda, imported by tiny_kernels (the parent process never imports it)


def tiny_kernels():
    """The cooperative and empty kernels of grid_sync and cross_block_sync (compiled once)."""
    global cuda  # a module global: the simulator swaps a kernel's global ``cuda`` for its own
    if _TINY:
        return _TINY
    from numba import cuda

    @cuda.jit
    def sync_loop(n, out):
        g = cuda.cg.this_grid()
        for _ in range(n):
            g.sync()
        if cuda.grid(1) == 0:
            out[0] = n

    @cuda.jit
    def empty0():
        pass

    @cuda.jit
    def empty4(a, b, c, d):
        pass

    @cuda.jit
    def xblock(n_steps, slots, fail):
        """Step s: thread 0 of each block writes s*nb + b + 1 into slots[s % 2, b]; grid sync;
        every block checks every block's entry. A block that ran ahead past a missing sync
        would overwrite slot s % 2 (two steps later) before the others had read it, or read
        it before its owner wrote it: both are counted as mismatches."""
        g = cuda.cg.this_grid()
        b = cuda.blockIdx.x
        nb = cuda.gridDim.x
        t = cuda.threadIdx.x
        for s in range(n_steps):
            row = s % 2
            if t == 0:
                slots[row, b] = s * nb + b + 1
            g.sync()
            for j in range(t, nb, cuda.blockDim.x):
                if slots[row, j] != s * nb + j + 1:
                    cuda.atomic.add(fail, 0, 1)
                    cuda.atomic.min(fail, 1, s)

    _TINY.update(sync_loop=sync_loop, empty0=empty0, empty4=empty4, xblock=xblock)
    return _TINY


def coop_limit(ctx, disp, block_threads: int) -> int:
    """Co-resident blocks of a compiled cooperative kernel (1 in the simulator)."""
    if ctx.simulator:
        return 1
    ov = next(iter(disp.overloads.values()))
    return int(ov.max_cooperative_grid_blocks(block_threads))


# ================================================================================ step a: versions

def _dist(name):
    import importlib.metadata as md
    try:
        return md.version(name)
    except md.PackageNotFoundError:
        return None


def step_versions(ctx: Ctx, res: dict) -> None:
    import platform

    import numba
    import numpy
    res["python"] = platform.python_version()
    res["python_executable"] = sys.executable
    res["numpy"] = numpy.__version__
    res["numba"] = numba.__version__
    res["numba_cuda"] = _dist("numba-cuda")
    res["cuda_bindings"] = _dist("cuda-bindings") or _dist("cuda-python")
    res["cupy"] = next((v for v in (_dist(p) for p in ("cupy-cuda13x", "cupy-cuda12x", "cupy")) if v), None)
    res["h5py"], res["pyyaml"] = _dist("h5py"), _dist("pyyaml") or _dist("PyYAML")
    res["spikescope_installed"] = _dist("spikescope")
    import sim_core
    from sim_core.io.provenance import cpu_model
    res["sim_core_path"] = str(Path(sim_core.__file__).parent)
    res["commit"], res["commit_source"] = git_commit()
    res["simulator"] = ctx.simulator
    res["env"] = {k: os.environ.get(k) for k in ("NUMBA_CUDA_ARRAY_INTERFACE_SYNC", "NUMBA_ENABLE_CUDASIM",
                                                  "CUDA_VISIBLE_DEVICES", "SPIKESCOPE_COMMIT",
                                                  "PYTHONPATH")}
    res["host"] = {"cpu": cpu_model(), "cores": os.cpu_count(), "platform": platform.platform()}
    if ctx.simulator:
        res["device"] = {"name": "Numba CUDA simulator (CPU)"}
        res["summary"] = f"simulator; numba {res['numba']}, numba-cuda {res['numba_cuda']}"
        return
    import cupy
    res["cupy"] = cupy.__version__
    rt = cupy.cuda.runtime
    res["cuda_runtime_version"] = cuda_version(rt.runtimeGetVersion())
    res["cuda_driver_version"] = cuda_version(rt.driverGetVersion())
    p = rt.getDeviceProperties(cupy.cuda.Device().id)
    name = p["name"].decode() if isinstance(p["name"], bytes) else str(p["name"])
    free, total = rt.memGetInfo()
    dev = {"name": name, "sm_count": p.get("multiProcessorCount"),
           "compute_capability": f"{p.get('major')}.{p.get('minor')}",
           "total_memory_bytes": p.get("totalGlobalMem"), "free_memory_bytes": free,
           "l2_cache_bytes": p.get("l2CacheSize"), "max_threads_per_sm": p.get("maxThreadsPerMultiProcessor"),
           "regs_per_sm": p.get("regsPerMultiprocessor"), "shared_mem_per_sm": p.get("sharedMemPerMultiprocessor"),
           "cooperative_launch": p.get("cooperativeLaunch"), "clock_khz": p.get("clockRate"),
           "memory_clock_khz": p.get("memoryClockRate"), "memory_bus_width": p.get("memoryBusWidth")}
    res["device"] = {k: v for k, v in dev.items() if v is not None}
    res["device"]["total_memory_gib"] = round(total / 2**30, 2)
    from numba import cuda
    try:
        d = cuda.get_current_device()
        nm = d.name.decode() if isinstance(d.name, bytes) else str(d.name)
        res["numba_device"] = {"name": nm, "compute_capability": list(d.compute_capability),
                               "sm_count": d.MULTIPROCESSOR_COUNT}
    except Exception as e:  # noqa: BLE001
        res["numba_device"] = {"error": err(e)}
    try:
        from numba.cuda.cudadrv.driver import driver
        res["numba_driver_version"] = list(driver.get_version())
    except Exception as e:  # noqa: BLE001
        res["numba_driver_version"] = err(e)
    try:
        res["numba_runtime_version"] = list(cuda.runtime.get_version())
    except Exception as e:  # noqa: BLE001
        res["numba_runtime_version"] = err(e)
    try:
        q = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,clocks.sm,clocks.max.sm,"
                            "power.limit,temperature.gpu,memory.used,memory.total",
                            "--format=csv,noheader"], capture_output=True, text=True, timeout=10)
        res["nvidia_smi"] = q.stdout.strip() or q.stderr.strip()
    except (OSError, subprocess.SubprocessError) as e:
        res["nvidia_smi"] = err(e)
    res["summary"] = (f"{name}, {dev['sm_count']} SMs, CC {dev['compute_capability']}, "
                      f"{res['device']['total_memory_gib']} GiB; CUDA driver {res['cuda_driver_version']}, "
                      f"runtime {res['cuda_runtime_version']}; cupy {res['cupy']}, numba-cuda {res['numba_cuda']}; "
                      f"commit {(res['commit'] or 'unknown')[:10]}")


# ================================================================================ step d: grid_sync

def step_grid_sync(ctx: Ctx, res: dict) -> None:
    import numpy as np
    from numba import cuda
    S, xp, K = ctx.sizes, ctx.xp(), tiny_kernels()
    out = xp.zeros(1, np.int64)
    res["compile_s"] = round(ctx.timed(lambda: K["sync_loop"][1, 32](np.int64(1), out))[0], 4)
    sm = ctx.sm_count()
    res["sm_count"] = sm
    configs = [(32, 1)] if ctx.simulator else [(256, None), (256, sm), (1024, sm)]
    res["configs"] = []

    def best(n, nb, bt):
        return min(ctx.timed(lambda: K["sync_loop"][nb, bt](np.int64(n), out))[0] for _ in range(S["sync_reps"]))

    for bt, blocks in configs:
        entry = {"block_threads": bt}
        res["configs"].append(entry)
        try:
            limit = coop_limit(ctx, K["sync_loop"], bt)
            nb = limit if blocks is None else blocks
            entry.update(cooperative_limit=limit, blocks=nb, grid="max co-resident" if blocks is None else "SM count")
            base = best(0, nb, bt)
            entry["launch_only_s"] = round(base, 6)
            for n in S["sync_counts"]:
                t = best(n, nb, bt)
                entry[f"n{n}_s"] = round(t, 6)
                entry[f"us_per_sync_n{n}"] = round((t - base) / n * 1e6, 4)
        except Exception as e:  # noqa: BLE001
            entry["error"] = err(e)
        ctx.save()
    n = S["launches"]
    arrs = [xp.zeros(16) for _ in range(4)]
    wrapped = arrs if ctx.simulator else [cuda.as_cuda_array(a, sync=False) for a in arrs]
    res["launch_us"] = {}
    for label, fn in (("no_args", lambda: K["empty0"][1, 32]()),
                      ("4_cupy_arrays", lambda: K["empty4"][1, 32](*arrs)),
                      ("4_wrapped_arrays", lambda: K["empty4"][1, 32](*wrapped))):
        try:
            fn()  # compile, warm
            t = ctx.timed(lambda: [fn() for _ in range(n)])[0]
            res["launch_us"][label] = round(t / n * 1e6, 3)
        except Exception as e:  # noqa: BLE001
            res["launch_us"][label] = err(e)
    res["launches"] = n
    main = next((c for c in res["configs"] if "error" not in c), None)
    if main:
        k = max(S["sync_counts"])
        res["us_per_sync"] = main.get(f"us_per_sync_n{k}")
        res["summary"] = (f"{res['us_per_sync']} µs per grid sync ({main['blocks']} x {main['block_threads']}); "
                          f"empty launch {res['launch_us'].get('no_args')} µs, with 4 arrays "
                          f"{res['launch_us'].get('4_cupy_arrays')} µs")
    if ctx.simulator:
        res["note"] = "simulator: logic only, the times mean nothing"


# ================================================================================ step e: cross_block_sync

def step_cross_block_sync(ctx: Ctx, res: dict) -> None:
    import numpy as np
    S, xp, K = ctx.sizes, ctx.xp(), tiny_kernels()
    steps = S["xblock_steps"]
    big = np.int64(1) << 62

    def check(nb, bt):
        # nb^2 loads per step: at most ~2e10 in all (thousands of blocks of 128 threads)
        n_steps = min(steps, max(100, int(2e10 // (nb * nb))))
        slots = xp.zeros((2, nb), np.int64)
        fail = xp.asarray(np.array([0, big], np.int64))
        t = ctx.timed(lambda: K["xblock"][nb, bt](np.int64(n_steps), slots, fail))[0]
        f = ctx.host(fail)
        checked = n_steps * nb * nb
        return {"blocks": nb, "block_threads": bt, "steps": n_steps, "wall_s": round(t, 4),
                "checks": checked, "checks_passed": checked - int(f[0]), "checks_failed": int(f[0]),
                "first_failed_step": None if int(f[1]) == big else int(f[1]), "passed": int(f[0]) == 0}

    res["configs"] = []
    if ctx.simulator:
        res["configs"].append(check(1, 32))
        # negative control: the simulator's grid sync does not synchronise blocks, so this must fail
        neg = check(3, 32)
        neg["expected"] = "fail (simulator: blocks run one after another)"
        res["negative_control"] = neg
        res["status"] = "skipped"
        res["skipped"] = ("simulator: grid sync does not synchronise blocks; ran the logic on one block "
                          f"(passed: {res['configs'][0]['passed']}) and on 3 blocks as a negative control "
                          f"(failed checks: {neg['checks_failed']})")
        res["summary"] = res["skipped"]
        return
    sm = ctx.sm_count()
    # the xblock kernel must be compiled before its co-resident limit can be read
    K["xblock"][1, 32](np.int64(1), xp.zeros((2, 1), np.int64), xp.asarray(np.array([0, big], np.int64)))
    for bt, blocks in ((256, None), (128, None), (1024, sm)):
        try:
            limit = coop_limit(ctx, K["xblock"], bt)
            e = check(limit if blocks is None else blocks, bt)
            e["cooperative_limit"] = limit
        except Exception as ex:  # noqa: BLE001
            e = {"block_threads": bt, "error": err(ex)}
        res["configs"].append(e)
        ctx.save()
    ok = [c for c in res["configs"] if "error" not in c]
    res["configs_passed"] = sum(c["passed"] for c in ok)
    res["configs_failed"] = sum(not c["passed"] for c in ok) + (len(res["configs"]) - len(ok))
    res["checks_passed"] = sum(c["checks_passed"] for c in ok)
    res["checks_failed"] = sum(c["checks_failed"] for c in ok)
    res["summary"] = (f"{res['configs_passed']}/{len(res['configs'])} grids passed; "
                      f"{res['checks_failed']} of {res['checks_passed'] + res['checks_failed']} checks failed")


# ================================================================================ networks

def identity_spec(kind: str, n: int, seed: int = 11) -> dict:
    """A random E/I network of about n neurons: fixed in-degrees, drawn normal weights (one
    projection with a 16-level weight table: uint8 codes) and drawn normal delays, Poisson
    input, a spike generator (and a DC generator). ``exp_alpha_min_delay_1``: iaf_psc_exp E
    and iaf_psc_alpha I, smallest delay one step (update and delivery in separate phases);
    ``delta_min_delay_2``: iaf_psc_delta, smallest delay two steps (the fused kernel).
    About 15-30 spikes/s at n = 1,000."""
    n_e = max(4, int(round(0.8 * n)))
    n_i = max(2, n - n_e)
    k_e, k_i = max(2, n_e // 10), max(1, n_i // 10)
    delta = kind.startswith("delta")
    low = 0.2 if delta else 0.1  # ms: rounds to 2 steps / 1 step
    f_i = 1.0 if delta else 1.0 / math.e  # alpha PSCs carry e times the charge of exp PSCs

    def nw(m, rel=0.2):
        d = {"dist": "normal", "mean": m, "std": abs(m) * rel}
        d.update({"low": 0.0} if m > 0 else {"high": 0.0})
        return d

    def nd(m):
        return {"dist": "normal", "mean": m, "std": 0.5 * m, "low": low}

    if delta:
        we, wi, wp, ws, rate = 0.2, -1.0, 0.2, 2.0, 7000.0  # mV
        v0 = {"dist": "uniform", "low": -70.0, "high": -56.0}
        pops = {"E": {"model": "iaf_psc_delta", "size": n_e, "initial": {"V_m": v0}},
                "I": {"model": "iaf_psc_delta", "size": n_i, "params": {"refractory_input": True},
                      "initial": {"V_m": v0}}}
    else:
        we, wi, wp, ws, rate = 87.8, -300.0, 87.8, 500.0, 8000.0  # pA
        prm = {"tau_m": 10.0, "tau_syn_ex": 0.5, "tau_syn_in": 0.5}
        v0 = {"dist": "normal", "mean": -62.0, "std": 4.0}
        pops = {"E": {"model": "iaf_psc_exp", "size": n_e, "params": dict(prm), "initial": {"V_m": v0}},
                "I": {"model": "iaf_psc_alpha", "size": n_i, "params": dict(prm), "initial": {"V_m": v0}}}
    projs = [
        {"source": "bg", "target": "E", "rule": {"rule": "all_to_all"}, "synapse": {"weight": wp, "delay": 1.5}},
        {"source": "bg", "target": "I", "rule": {"rule": "all_to_all"},
         "synapse": {"weight": wp * f_i, "delay": 1.5}},
        # one step (exp/alpha: min delay 1 step even where few delays are drawn) / 5 steps
        {"source": "sg", "target": "E", "rule": {"rule": "fixed_outdegree", "outdegree": max(1, n_e // 4)},
         "synapse": {"weight": ws, "delay": 0.5 if delta else 0.1}},
        {"source": "E", "target": "E", "rule": {"rule": "fixed_indegree", "indegree": k_e},
         "synapse": {"weight": nw(we), "delay": nd(1.5)}},
        {"source": "E", "target": "I", "rule": {"rule": "fixed_indegree", "indegree": k_e},
         "synapse": {"weight": nw(we * f_i), "delay": nd(1.5)}},
        {"source": "I", "target": "E", "rule": {"rule": "fixed_indegree", "indegree": k_i},
         "synapse": {"weight": nw(wi), "delay": nd(0.75)}},
        {"source": "I", "target": "I", "rule": {"rule": "fixed_indegree", "indegree": k_i, "allow_autapses": False},
         "synapse": {"weight": nw(wi * f_i), "delay": nd(0.75)}},
    ]
    inputs = {"bg": {"model": "poisson_generator", "params": {"rate": rate}},
              "sg": {"model": "spike_generator", "params": {"spike_times": [5.0, 5.1, 12.5, 50.0, 333.3, 700.0]}}}
    if not delta:
        projs[4]["synapse"]["resolution"] = {"levels": 16, "method": "mean_variance"}
        inputs["dc"] = {"model": "dc_generator", "params": {"amplitude": 40.0, "start": 10.0, "stop": 800.0}}
        projs.append({"source": "dc", "target": "I", "rule": {"rule": "all_to_all"},
                      "synapse": {"weight": 1.0, "delay": 0.1}})
    return {"format": "spikescope/1", "name": f"devcheck-{kind}", "seed": seed, "dt": 0.1,
            "populations": pops, "inputs": inputs, "projections": projs,
            "recorders": {"spikes": "all", "voltmeter": {"populations": ["E", "I"], "n": 2, "interval": 1.0}}}


def backend_info(sim) -> dict:
    b = sim.backend
    return {"backend": sim.backend_name, "driver": getattr(b, "driver", None), "blocks": getattr(b, "blocks", None),
            "block_threads": getattr(b, "block_threads", None),
            "cooperative_limit": getattr(b, "cooperative_limit", None), "fused": getattr(b, "fused", None)}


class CompileLog:
    """Times every compilation of the backend's kernels: wraps each dispatcher's
    ``compile`` (what the first launch, and the backend's ``_settle``, call)."""

    def __init__(self):
        self.events: list[dict] = []
        self._wrapped: dict = {}

    def install(self) -> bool:
        from sim_core.backends.gpu import kernels as K
        for name in KERNEL_NAMES:
            disp = getattr(K, name, None)
            if disp is None or not hasattr(disp, "overloads") or not hasattr(disp, "compile"):
                continue  # the simulator's kernels compile nothing
            orig = disp.compile

            def wrapped(sig, _orig=orig, _name=name, _disp=disp):
                before = len(_disp.overloads)
                t0 = time.perf_counter()
                try:
                    return _orig(sig)
                finally:
                    if len(_disp.overloads) > before:
                        self.events.append({"kernel": _name, "compile_s": round(time.perf_counter() - t0, 3)})
            try:
                disp.compile = wrapped
                self._wrapped[name] = disp
            except (AttributeError, TypeError):
                pass
        return bool(self._wrapped)

    def uninstall(self) -> None:
        for disp in self._wrapped.values():
            try:
                del disp.compile
            except AttributeError:
                pass
        self._wrapped.clear()

    def mark(self) -> int:
        return len(self.events)

    def since(self, mark: int) -> list[dict]:
        return self.events[mark:]


# ================================================================================ step b: compile

def step_compile(ctx: Ctx, res: dict) -> None:
    from sim_core.engine.simulation import Simulation
    from sim_core.spec import from_dict
    log = CompileLog()
    res["compile_timer"] = "dispatcher.compile wrapped" if log.install() else "unavailable (first-call times only)"
    n = ctx.sizes["compile_n"]
    cases = [("per_step, min delay 1 step: update_kernel + deliver_kernel", "exp_alpha_min_delay_1",
              {"driver": "per_step"}),
             ("per_step, min delay 2 steps: fused_kernel", "delta_min_delay_2", {"driver": "per_step"}),
             ("persistent, min delay 2 steps: persistent_kernel", "delta_min_delay_2", {"driver": "persistent"}),
             ("persistent, min delay 1 step (same overload expected)", "exp_alpha_min_delay_1",
              {"driver": "persistent"}),
             ("auto", "delta_min_delay_2", {"driver": "auto"})]
    res["n_neurons"] = n
    res["cases"] = []
    kernels: dict = {}
    try:
        for label, kind, opts in cases:
            entry = {"case": label, "network": kind, "options": opts}
            res["cases"].append(entry)
            try:
                spec = from_dict(identity_spec(kind, n))
                t_ctor, sim = ctx.timed(lambda: Simulation(spec, backend="gpu", **opts))
                entry["constructor_s"] = round(t_ctor, 4)
                entry["build_s"] = round(sim.timers["build"], 4)
                entry["load_s"] = round(sim.timers["load"], 4)
                dt = sim.network.dt
                m = log.mark()
                entry["first_call_s"] = round(ctx.timed(sim.run, dt)[0], 4)
                entry["compiled"] = log.since(m)
                entry["second_call_s"] = round(ctx.timed(sim.run, dt)[0], 5)
                entry["third_call_s"] = round(ctx.timed(sim.run, dt)[0], 5)
                entry.update(backend_info(sim))
                for ev in entry["compiled"]:
                    kernels.setdefault(ev["kernel"], {"compile_s": ev["compile_s"], "case": label,
                                                      "first_call_s": entry["first_call_s"],
                                                      "second_call_s": entry["second_call_s"]})
            except Exception as e:  # noqa: BLE001
                entry["error"] = err(e)
                entry["traceback"] = traceback.format_exc()[-2000:]
            ctx.save()
    finally:
        log.uninstall()
    res["kernels"] = kernels
    missing = [k for k in KERNEL_NAMES if k not in kernels]
    if missing:
        res["not_compiled"] = missing
    res["summary"] = ", ".join(f"{k.replace('_kernel', '')} {v['compile_s']} s" for k, v in kernels.items()) \
        or "no compile recorded"
    if any("error" in c for c in res["cases"]):
        res["summary"] += f"; {sum('error' in c for c in res['cases'])} case(s) failed"


# ================================================================================ step c: registers

def step_registers(ctx: Ctx, res: dict) -> None:
    from sim_core.backends.gpu import kernels as K
    sm = ctx.sm_count()
    res["sm_count"] = sm
    if not any(len(getattr(K, k).overloads) for k in KERNEL_NAMES):
        # the compile step failed or did not run: compile the persistent kernel here
        from sim_core.engine.simulation import Simulation
        from sim_core.spec import from_dict
        sim = Simulation(from_dict(identity_spec("delta_min_delay_2", ctx.sizes["compile_n"])), backend="gpu",
                         driver="persistent")
        sim.run(sim.network.dt)
        res["note"] = "compiled the persistent kernel here (no overloads from the compile step)"
    res["kernels"] = {}
    parts = []
    for name in KERNEL_NAMES:
        disp = getattr(K, name)
        entries = []
        for argtypes, ov in list(disp.overloads.items()):
            e = {"signature": short(argtypes, 400)}
            for attr, key in (("regs_per_thread", "regs_per_thread"), ("local_mem_per_thread", "local_mem_per_thread_bytes"),
                              ("shared_mem_per_block", "shared_mem_per_block_bytes"),
                              ("const_mem_size", "const_mem_bytes"), ("max_threads_per_block", "max_threads_per_block")):
                try:
                    e[key] = int(getattr(ov, attr))
                except Exception as ex:  # noqa: BLE001
                    e[key] = err(ex)
            if name == "persistent_kernel":
                e["max_cooperative_grid_blocks"], e["blocks_per_sm"] = {}, {}
                for bt in (128, 256, 512, 1024):
                    try:
                        v = int(ov.max_cooperative_grid_blocks(bt))
                        e["max_cooperative_grid_blocks"][str(bt)] = v
                        e["blocks_per_sm"][str(bt)] = round(v / sm, 3)
                    except Exception as ex:  # noqa: BLE001
                        e["max_cooperative_grid_blocks"][str(bt)] = err(ex)
            entries.append(e)
        try:
            regs = disp.get_regs_per_thread()
            regs = {short(k, 120): v for k, v in regs.items()} if isinstance(regs, dict) else regs
        except Exception as ex:  # noqa: BLE001
            regs = err(ex)
        res["kernels"][name] = {"overloads": entries, "get_regs_per_thread": regs}
        if entries:
            parts.append(f"{name.replace('_kernel', '')} {entries[0].get('regs_per_thread')} regs"
                         + (f" ({entries[0]['local_mem_per_thread_bytes']} B local)"
                            if entries[0].get("local_mem_per_thread_bytes") else ""))
    pk = res["kernels"]["persistent_kernel"]["overloads"]
    if pk:
        res["persistent_max_cooperative_grid_blocks"] = pk[0].get("max_cooperative_grid_blocks")
        parts.append(f"persistent co-resident blocks {pk[0].get('max_cooperative_grid_blocks')}")
    res["summary"] = "; ".join(parts) + f"; {sm} SMs"


# ================================================================================ step f: identity

def compare_connectomes(cpu, dev) -> dict:
    """Per projection: structure (indptr, targets) equal, weight and delay differences."""
    import numpy as np
    out = {"projections": []}
    if len(cpu.connections) != len(dev.connections):
        out["error"] = f"{len(cpu.connections)} vs {len(dev.connections)} projections"
        return out
    tot_w = tot_d = 0
    max_w = 0.0
    all_struct = True
    for a, b in zip(cpu.connections, dev.connections):
        r = {"projection": a.index, "source": a.source, "target": a.target,
             "n_synapses": a.n_synapses, "n_synapses_gpu": b.n_synapses,
             "indptr_equal": bool(np.array_equal(a.indptr, b.indptr)),
             "targets_equal": bool(np.array_equal(a.targets, b.targets)),
             "weights": "codes" if a.weight_codes is not None else ("drawn" if a.weights is not None else "one value"),
             "delays": "drawn" if a.delays is not None else "one value"}
        all_struct &= r["indptr_equal"] and r["targets_equal"]
        if a.n_synapses == b.n_synapses:
            wa = np.asarray(a.weight_array(), np.float64)
            wb = np.asarray(b.weight_array(), np.float64)
            dw = np.abs(wa - wb)
            r["max_abs_weight_diff"] = float(dw.max(initial=0.0))
            r["n_weights_differing"] = int(np.count_nonzero(wa != wb))
            r["n_delays_differing"] = int(np.count_nonzero(a.delay_array() != b.delay_array()))
            if a.weight_codes is not None:
                r["codes_equal"] = bool(b.weight_codes is not None and np.array_equal(a.weight_codes, b.weight_codes))
                r["tables_equal"] = bool(b.weight_table is not None and np.array_equal(a.weight_table, b.weight_table))
            tot_w += r["n_weights_differing"]
            tot_d += r["n_delays_differing"]
            max_w = max(max_w, r["max_abs_weight_diff"])
            del wa, wb, dw
        out["projections"].append(r)
    n_syn = sum(c.n_synapses for c in cpu.connections)
    out.update(structure_equal=all_struct, n_synapses=n_syn, n_weights_differing=tot_w,
               n_delays_differing=tot_d, max_abs_weight_diff=max_w,
               identical=all_struct and tot_w == 0 and tot_d == 0)
    return out


def first_difference(ta, ia, tb, ib):
    import numpy as np
    n = min(len(ta), len(tb))
    bad = np.nonzero((ta[:n] != tb[:n]) | (ia[:n] != ib[:n]))[0]
    i = int(bad[0]) if bad.size else (n if len(ta) != len(tb) else None)
    if i is None:
        return None

    def at(t, ids):
        return {"t_ms": float(t[i]), "id": int(ids[i])} if i < len(t) else None
    return {"index": i, "cpu": at(ta, ia), "gpu": at(tb, ib)}


def compare_spikes(ref: dict, got: dict) -> dict:
    import numpy as np
    out = {}
    for pop, (ta, ia) in ref.items():
        tb, ib = got[pop]
        same = bool(np.array_equal(ta, tb) and np.array_equal(ia, ib))
        r = {"cpu_spikes": int(len(ta)), "gpu_spikes": int(len(tb)), "identical": same}
        if not same:
            oa, ob = np.lexsort((ia, ta)), np.lexsort((ib, tb))
            r["same_after_sorting"] = bool(len(ta) == len(tb) and np.array_equal(ta[oa], tb[ob])
                                           and np.array_equal(ia[oa], ib[ob]))
            r["first_difference"] = first_difference(ta, ia, tb, ib)
        out[pop] = r
    return out


def _identity_run(ctx, g, spec, T, ref, ref_v, opts) -> str:
    """One GPU run of the identity network, compared with the CPU's spikes and traces."""
    import numpy as np
    from sim_core.engine.simulation import Simulation
    if ctx.remaining() < 15:
        g["skipped"] = "time budget spent"
        return "skipped"
    try:
        t_ctor, sim = ctx.timed(lambda: Simulation(spec, backend="gpu", **opts))
        g["constructor_s"] = round(t_ctor, 4)
        dt = sim.network.dt
        g["first_step_s"] = round(ctx.timed(sim.run, dt)[0], 4)  # includes any compile
        t_rest = ctx.timed(sim.run, T - dt)[0]
        steps = sim.steps_done - 1
        g.update(run_s=round(t_rest, 4), us_per_step=round(t_rest / max(steps, 1) * 1e6, 3),
                 rtf=round(t_rest / (steps * dt / 1000.0), 4) if steps else None, **backend_info(sim))
        got = {p: sim.spikes(p) for p in spec.populations}
        g["populations"] = compare_spikes(ref, got)
        g["identical"] = all(r["identical"] for r in g["populations"].values())
        v = sim.voltages.data()[1]
        g["voltages_identical"] = bool(v.shape == ref_v.shape and np.array_equal(v, ref_v))
        if v.shape == ref_v.shape and v.size:
            g["voltages_max_abs_diff_mv"] = float(np.abs(v - ref_v).max())
        return "identical" if g["identical"] and g["voltages_identical"] else \
            ("DIFFERENT spikes" if not g["identical"] else "same spikes, DIFFERENT voltages")
    except Exception as e:  # noqa: BLE001
        g["error"] = err(e)
        g["traceback"] = traceback.format_exc()[-2000:]
        return "error"


def step_identity(ctx: Ctx, res: dict) -> None:
    from sim_core.backends.gpu import device
    from sim_core.connectivity.build import build_connectome
    from sim_core.connectivity.xp_build import build_connectome_xp
    from sim_core.engine import simulation as simmod
    from sim_core.engine.simulation import Simulation
    from sim_core.spec import from_dict
    S = ctx.sizes
    n, T = S["identity_n"], S["identity_ms"]
    if ctx.simulator:
        variants = [("persistent", {"driver": "persistent"}), ("per_step_3_blocks", {"driver": "per_step", "blocks": 3})]
    else:
        sm = ctx.sm_count()
        variants = [("persistent", {"driver": "persistent"}), ("per_step", {"driver": "per_step"}),
                    (f"persistent_{sm}x128", {"driver": "persistent", "blocks": sm, "block_threads": 128})]
    res.update(n_neurons_target=n, t_sim_ms=T, networks={})
    verdicts = []
    for kind in IDENTITY_NETS:
        net = {}
        res["networks"][kind] = net
        spec = from_dict(identity_spec(kind, n))
        net["n_neurons"] = spec.n_neurons
        # -------- connectome: GPU builder against the CPU builder
        try:
            t_cpu, cpu_c = ctx.timed(build_connectome, spec, spec.seed)
            xp = device.array_module()
            t_dev, dev_c = ctx.timed(build_connectome_xp, spec, spec.seed, xp)
            net["connectome"] = compare_connectomes(cpu_c, dev_c)
            net["connectome"].update(cpu_build_s=round(t_cpu, 4), device_build_s=round(t_dev, 4),
                                     namespace=xp.__name__)
            del cpu_c, dev_c
        except Exception as e:  # noqa: BLE001
            net["connectome"] = {"error": err(e), "traceback": traceback.format_exc()[-2000:]}
        ctx.save()
        # -------- the CPU reference
        try:
            sim = Simulation(spec, backend="cpu")
            t_run = ctx.timed(sim.run, T)[0]
            ref = {p: sim.spikes(p) for p in spec.populations}
            ref_v = sim.voltages.data()[1]
            net["cpu"] = {"run_s": round(t_run, 4), "build_s": round(sim.timers["build"], 4),
                          "compile_s": round(sim.timers["compile"], 4),
                          "spikes": {p: int(len(t)) for p, (t, _) in ref.items()},
                          "rates_hz": {p: round(len(t) / spec.populations[p].size / (T / 1000.0), 3)
                                       for p, (t, _) in ref.items()}}
            del sim
        except Exception as e:  # noqa: BLE001
            net["cpu"] = {"error": err(e), "traceback": traceback.format_exc()[-2000:]}
            verdicts.append(f"{kind}: CPU failed")
            ctx.save()
            continue
        ctx.save()
        # -------- the GPU, each driver
        net["gpu"] = {}
        for label, opts in variants:
            net["gpu"][label] = g = {"options": opts}
            verdicts.append(f"{kind}/{label}: " + _identity_run(ctx, g, spec, T, ref, ref_v, opts))
            ctx.save()
        # spikes differ and so does the connectome: rerun the kernels on the CPU builder's
        # connectome, to tell a kernel difference from a builder difference
        if (not all(g.get("identical", True) for g in net["gpu"].values())
                and not net.get("connectome", {}).get("identical", True)):
            label = "persistent_cpu_connectome"
            net["gpu"][label] = g = {"options": {"driver": "persistent"},
                                     "note": "GPU kernels on the CPU builder's connectome"}
            saved = simmod._builder_namespace
            simmod._builder_namespace = lambda backend: None
            try:
                verdicts.append(f"{kind}/{label}: " + _identity_run(ctx, g, spec, T, ref, ref_v,
                                                                     {"driver": "persistent"}))
            finally:
                simmod._builder_namespace = saved
            ctx.save()
        c = net.get("connectome", {})
        verdicts.append(f"{kind}/connectome: " + ("identical" if c.get("identical") else
                                                  "error" if "error" in c else
                                                  f"{c.get('n_weights_differing')} weights, "
                                                  f"{c.get('n_delays_differing')} delays differ"
                                                  + ("" if c.get("structure_equal") else ", STRUCTURE differs")))
    runs = [g for net in res["networks"].values() for g in net.get("gpu", {}).values()]
    done = [g for g in runs if "identical" in g]
    res["gpu_runs"], res["gpu_runs_done"] = len(runs), len(done)
    res["all_identical"] = bool(done) and all(g["identical"] and g.get("voltages_identical") for g in done)
    res["verdicts"] = verdicts
    head = ("no GPU run completed" if not done else
            f"{'all' if len(done) == len(runs) else f'{len(done)} of {len(runs)}'} GPU runs "
            + ("identical to the CPU (spikes and traces)" if res["all_identical"] else "NOT all identical"))
    res["summary"] = head + " — " + "; ".join(verdicts)


# ================================================================================ step g: microcircuit

def _pop_rates(sim, t0, t1) -> dict:
    from sim_core.analysis.stats import rates_hz
    out = {}
    for name in sim.spike_record.recorded:
        times, ids = sim.spikes(name)
        out[name] = round(float(rates_hz(times, ids, sim.spec.populations[name].size, t0, t1).mean()), 4)
    return out


def step_microcircuit(ctx: Ctx, res: dict) -> None:
    from sim_core.engine import simulation as simmod
    from sim_core.engine.simulation import Simulation
    from sim_core.models import microcircuit as mc  # not the registry: brunel needs scipy
    from sim_core.spec import from_dict
    S = ctx.sizes
    scale = S["mc_scale"]
    margin = 12.0  # seconds kept for rates and writing
    spec = from_dict(mc.build(scale=scale))
    res.update(scale=scale, n_neurons=spec.n_neurons, presim_ms=S["mc_presim_ms"],
               target_t_sim_ms=S["mc_sim_ms"], chunk_ms=S["mc_chunk_ms"], phase="build")
    commit, _ = git_commit()
    device_name = ctx.device_name()
    res["device"] = device_name
    ctx.save()
    log = CompileLog()
    log.install()
    try:
        # ---------------- build (network on the device) and load, timed apart
        try:
            t_ctor, sim = ctx.timed(lambda: Simulation(spec, backend="gpu"))
            res["connectome_builder"] = "build_connectome_xp (CuPy)" if not ctx.simulator else \
                "build_connectome_xp (NumPy, simulator)"
        except Exception as e:  # noqa: BLE001
            res["gpu_builder_error"] = err(e)
            res["gpu_builder_traceback"] = traceback.format_exc()[-2000:]
            ctx.save()
            saved = simmod._builder_namespace
            simmod._builder_namespace = lambda backend: None  # fall back to the CPU builder
            try:
                t_ctor, sim = ctx.timed(lambda: Simulation(spec, backend="gpu"))
            finally:
                simmod._builder_namespace = saved
            res["connectome_builder"] = "build_connectome (CPU), after the GPU builder failed"
        ctx.state["mc_sim"] = sim
        ctx.state["mc_builder"] = res["connectome_builder"]
        res["build_network_s"] = round(sim.timers["build"], 3)
        res["load_s"] = round(sim.timers["load"], 3)
        res["build_s"] = round(sim.timers["build"] + sim.timers["load"], 3)
        res["constructor_s"] = round(t_ctor, 3)
        res["n_synapses"] = int(sim.n_synapses)
        res["n_synapses_stored"] = int(sim.backend.n_synapses)
        res["synapse_bytes"] = int(sim.backend.synapse_bytes())
        res["bytes_per_synapse"] = round(sim.bytes_per_synapse, 3)
        n = sim.network.n_neurons
        from sim_core.backends.gpu import engine as gpu_engine
        res["steps_per_launch"] = min(max(gpu_engine.DEVICE_SPIKES // max(n, 1), 1), gpu_engine.MAX_LAUNCH_STEPS)
        res["compile_phase_s"] = round(sim.timers["compile"], 3)  # kernels compiled in the constructor
        res["phase"] = "compile"
        _gpu_memory(ctx, res)
        ctx.save()
        # ---------------- compile: the first one-step run (settle + compile + one launch)
        dt = sim.network.dt
        m = log.mark()
        try:
            res["compile_s"] = round(ctx.timed(sim.run, dt)[0], 3)
        except Exception as e:  # noqa: BLE001
            res["first_launch_error"] = err(e)
            res["first_launch_traceback"] = traceback.format_exc()[-2000:]
            ctx.save()
            sim.backend.driver = "per_step"  # the fallback driver, on the same network
            sim.reset()
            res["compile_s"] = round(ctx.timed(sim.run, dt)[0], 3)
            res["driver_note"] = "persistent launch failed: fell back to per_step"
        res["kernel_compiles"] = log.since(m)
        res.update(backend_info(sim))
        res["phase"] = "presim"
        ctx.save()
        # ---------------- presim, in chunks (stop if the budget would not hold)
        presim_walls = []
        while sim.t < S["mc_presim_ms"] - dt / 2:
            chunk = min(S["presim_chunk_ms"], S["mc_presim_ms"] - sim.t)
            est = (presim_walls[-1] if presim_walls else 1.0) * 1.5 + 1.0
            if ctx.remaining() - margin < est:
                res["stopped_early"] = f"presim stopped at {sim.t:.1f} ms: time budget"
                break
            presim_walls.append(ctx.timed(sim.run, chunk)[0])
        res["presim_done_ms"] = round(sim.t, 3)
        res["presim_wall_s"] = round(sum(presim_walls) + res["compile_s"], 3)
        per_ms = (presim_walls[-1] / S["presim_chunk_ms"]) if presim_walls else None
        res["phase"] = "simulate"
        ctx.save()
        # ---------------- the measured simulation: chunks of 1,000 ms up to 10 s
        t0_ms = sim.t
        walls: list[float] = []
        n_chunks = int(round(S["mc_sim_ms"] / S["mc_chunk_ms"]))
        for c in range(n_chunks if "stopped_early" not in res else 0):
            est = (walls[-1] if walls else (per_ms or 1.0) * S["mc_chunk_ms"]) * 1.2 + 1.0
            if ctx.remaining() - margin < est:
                res["stopped_early"] = (f"after {c} of {n_chunks} chunks: {ctx.remaining():.0f} s left, "
                                        f"a chunk takes about {est:.1f} s")
                break
            walls.append(ctx.timed(sim.run, S["mc_chunk_ms"])[0])
            t_done = sim.t - t0_ms
            res.update(t_sim_ms=round(t_done, 3), sim_wall_s=round(sum(walls), 4),
                       rtf=round(sum(walls) / (t_done / 1000.0), 5), chunk_walls_s=[round(w, 4) for w in walls])
            res["rates_hz"] = _pop_rates(sim, t0_ms, sim.t)
            _write_mc_results(ctx, res, sim, device_name, commit)
            ctx.save()
        res["phase"] = "done"
        if walls:
            from sim_core.analysis.stats import population_summary
            rates, cvs = population_summary(sim, t0_ms, sim.t)
            res["rates_hz"] = {k: round(v, 4) for k, v in rates.items()}
            res["cv_isi"] = {k: (round(v, 4) if v is not None else None) for k, v in cvs.items()}
            res["n_spikes"] = int(sim.spike_record.n_spikes)
            _write_mc_results(ctx, res, sim, device_name, commit)
            res["summary"] = (f"RTF {res['rtf']:.4g} over {res['t_sim_ms'] / 1000:.4g} s simulated; build "
                              f"{res['build_s']:.3g} s (network {res['build_network_s']:.3g} s + load "
                              f"{res['load_s']:.3g} s), compile {res['compile_s']:.3g} s; "
                              f"{res['bytes_per_synapse']} B/synapse; driver {res['driver']} "
                              f"{res['blocks']}x{res['block_threads']}")
        else:
            res["summary"] = "no simulated chunk completed: " + res.get("stopped_early", "?")
        _gpu_memory(ctx, res)
        ctx.save()
        res["backend_info"] = sim.backend.info()
        ctx.save()
    finally:
        log.uninstall()


def _gpu_memory(ctx, res):
    if ctx.simulator:
        return
    try:
        import cupy
        pool = cupy.get_default_memory_pool()
        free, total = cupy.cuda.runtime.memGetInfo()
        res["gpu_memory"] = {"pool_used_bytes": int(pool.used_bytes()), "pool_total_bytes": int(pool.total_bytes()),
                             "device_used_bytes": int(total - free), "device_total_bytes": int(total)}
    except Exception as e:  # noqa: BLE001
        res["gpu_memory"] = {"error": err(e)}


def _write_mc_results(ctx, res, sim, device_name, commit):
    """benchmarks/results/microcircuit-gpu.json (exactly these keys) and its copy in OUT_DIR;
    rewritten after every chunk, so a run cut short keeps how far it got."""
    b = sim.backend
    data = {"device": device_name, "scale": res["scale"], "t_sim_ms": res["t_sim_ms"], "rtf": res["rtf"],
            "build_s": res["build_s"], "bytes_per_synapse": res["bytes_per_synapse"],
            "n_synapses": res["n_synapses"], "rates_hz": res["rates_hz"], "commit": commit,
            "driver": b.driver, "blocks": int(b.blocks), "block_threads": int(b.block_threads)}
    write_json(ctx.out / "microcircuit-gpu.json", data)
    res["results_files"] = [str(ctx.out / "microcircuit-gpu.json")]
    if not ctx.simulator:  # a simulator run is no GPU result: the repository copy stays untouched
        try:
            write_json(RESULTS_FILE, data)
            res["results_files"].append(str(RESULTS_FILE))
        except OSError as e:
            res["results_file_error"] = err(e)


def step_microcircuit_connectome(ctx: Ctx, res: dict) -> None:
    from sim_core.connectivity.build import build_connectome
    sim = ctx.state.get("mc_sim")
    if sim is None:
        raise RuntimeError("the microcircuit step built no network")
    if str(ctx.state.get("mc_builder", "")).startswith("build_connectome (CPU)"):
        res.update(status="skipped", skipped="the microcircuit used the CPU builder (GPU builder failed)")
        return
    if ctx.remaining() < ctx.sizes["mc_connectome_min_s"]:
        res.update(status="skipped", skipped=f"time budget: {ctx.remaining():.0f} s left")
        return
    t, cpu = ctx.timed(build_connectome, sim.spec, sim.seed)
    res["cpu_build_s"] = round(t, 3)
    res.update(compare_connectomes(cpu, sim.network.connectome))
    res["summary"] = ("identical" if res.get("identical") else
                      f"structure {'equal' if res.get('structure_equal') else 'DIFFERS'}, "
                      f"{res.get('n_weights_differing')} of {res.get('n_synapses')} weights and "
                      f"{res.get('n_delays_differing')} delays differ (max |dw| {res.get('max_abs_weight_diff'):.3g})") + \
        f"; CPU build {res['cpu_build_s']} s"


def step_closed_loop(ctx: Ctx, res: dict) -> None:
    """Issue 13's loop on the GPU: the clustered network at 25,000 neurons advanced in 10 ms
    periods with a controller called each period, against the same time without a loop."""
    from sim_core.engine.loop import hold_rate, run_loop
    from sim_core.engine.simulation import Simulation
    from sim_core.models.registry import preset_dict
    from sim_core.spec import from_dict
    S = ctx.sizes
    spec = from_dict(preset_dict("clustered", S["loop_scale"]))
    t, sim = ctx.timed(Simulation, spec, backend="gpu", keep_ms=1000.0)
    res.update(n_neurons=spec.n_neurons, n_synapses=sim.n_synapses, build_s=round(t, 3))
    ctx.save()
    sim.run(min(200.0, S["loop_ms"]))
    period = min(10.0, S["loop_ms"])
    periods = max(int(round(S["loop_ms"] / period)), 1)
    t, _ = ctx.timed(sim.run, S["loop_ms"])
    res["plain_ms_per_period"] = round(t / periods * 1000.0, 3)
    code = hold_rate("E0", target_hz=10.0, gain=0.05)
    t, report = ctx.timed(run_loop, sim, S["loop_ms"], code, period)
    res["loop"] = report.summary()
    res["overhead_ms_per_period"] = round(res["loop"]["per_period_ms"]["mean"] - res["plain_ms_per_period"], 3)
    res["summary"] = (f"{spec.n_neurons:,} neurons: {res['loop']['per_period_ms']['mean']:.2f} ms per {period:g} ms "
                      f"period with the loop, {res['plain_ms_per_period']:.2f} ms without")


# ================================================================================ step i: mesocircuit

MESO_SIM_ALLOWANCE_CAP_S = 90.0  # the simulation is chunked and stops early: predict at most this
MESO_FIXED_S = 30.0              # first launch (settle, a compile the warm-up missed) + rates, LFP, writes
MESO_SAFETY = 1.25               # on the predicted construction time
MESO_MARGIN_S = 15.0             # kept for rates, the LFP and writing, during the simulation


class MemSampler:
    """Peak device memory in use (total - free), polled every 0.1 s in a thread, so that a
    transient peak during the build is seen; plus snapshots of CuPy's pool at named moments.
    The pool keeps freed blocks cached, so its total after a phase is that phase's high-water
    mark (unless an allocation failed and CuPy freed the cache to retry)."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.peak = 0
        self.snapshots: dict = {}
        self._stop = None
        self._thread = None

    def used(self) -> int | None:
        if self.ctx.simulator:
            return None
        import cupy
        free, total = cupy.cuda.runtime.memGetInfo()
        return int(total - free)

    def start(self):
        if self.ctx.simulator:
            return
        import threading
        self._stop = threading.Event()

        def poll():
            import cupy
            cupy.cuda.Device(0).use()
            while not self._stop.wait(0.1):
                try:
                    self.peak = max(self.peak, self.used())
                except Exception:  # noqa: BLE001
                    return
        self._thread = threading.Thread(target=poll, daemon=True)
        self._thread.start()

    def stop(self):
        if self._stop is not None:
            self._stop.set()
            self._thread.join(timeout=2)

    def snap(self, name) -> None:
        if self.ctx.simulator:
            return
        try:
            import cupy
            pool = cupy.get_default_memory_pool()
            used = self.used()
            self.peak = max(self.peak, used)
            self.snapshots[name] = {"device_used_bytes": used, "pool_used_bytes": int(pool.used_bytes()),
                                    "pool_total_bytes": int(pool.total_bytes())}
        except Exception as e:  # noqa: BLE001
            self.snapshots[name] = {"error": err(e)}

    def record(self, baseline: int | None) -> dict:
        if self.ctx.simulator:
            return {"note": "simulator: no device memory"}
        pool_peak = max((s.get("pool_total_bytes", 0) for s in self.snapshots.values()), default=0)
        return {"peak_device_used_bytes": self.peak,
                "peak_device_used_gib": round(self.peak / 2**30, 2),
                "baseline_device_used_bytes": baseline,
                "peak_above_baseline_bytes": None if baseline is None else self.peak - baseline,
                "peak_pool_total_bytes": pool_peak, "peak_pool_total_gib": round(pool_peak / 2**30, 2),
                "at": self.snapshots}


def _free_device(ctx):
    """Let go of what the pilots left in CuPy's pools (their Simulation must be dropped first)."""
    import gc
    gc.collect()
    if ctx.simulator:
        return
    import cupy
    cupy.get_default_memory_pool().free_all_blocks()
    cupy.get_default_pinned_memory_pool().free_all_blocks()


def _device_free_total(ctx):
    """(free, total) bytes on the device; (--meso-device-free, None) if that is given (a test of
    the fallback), (None, None) in the simulator."""
    fake = getattr(ctx.args, "meso_device_free", None)
    if fake is not None:
        return int(fake * 2**30), None
    if ctx.simulator:
        return None, None
    import cupy
    free, total = cupy.cuda.runtime.memGetInfo()
    return int(free), int(total)


def _meso_spec(ctx, scale):
    from sim_core.models import mesocircuit as meso
    from sim_core.spec import from_dict
    d = meso.build(scale=scale, extent=ctx.sizes["meso_extent"], variant="PD")
    if getattr(ctx.args, "meso_no_lfp", False):
        d["recorders"].pop("lfp", None)
    return from_dict(d)


def _memory_verdict(spec, device_free) -> dict:
    """The estimate (host and device parts) and ``memory.check``'s verdict, with the device's
    free memory: "ok", or the refusal message."""
    from sim_core.connectivity.build import available_memory
    from sim_core.errors import CapacityError
    from sim_core.network import memory
    parts = memory.estimate(spec)
    dev = memory.device_estimate(spec, parts)
    syn, _ = memory.counts(spec)
    host_have = available_memory()
    v = {"n_neurons": spec.n_neurons, "n_synapses_expected": int(syn),
         "host_estimate_bytes": int(sum(parts.values())), "host_parts": parts,
         "device_estimate_bytes": int(sum(dev.values())), "device_parts": dev,
         "host_available_bytes": int(host_have), "device_free_bytes": device_free,
         "fits_host": sum(parts.values()) <= 0.9 * host_have,
         "fits_device": None if device_free is None else sum(dev.values()) <= 0.9 * device_free}
    try:
        memory.check(spec, device_free=device_free)
        v["check"] = "ok"
    except CapacityError as e:
        v["check"] = str(e)
    return v


def _construct(ctx, spec, log=None):
    """A GPU Simulation of ``spec``, timed by phase."""
    from sim_core.engine.simulation import Simulation
    t, sim = ctx.timed(lambda: Simulation(spec, backend="gpu"))
    T = sim.timers
    rec = {"constructor_s": round(t, 3), "build_network_s": round(T["build"], 3), "load_s": round(T["load"], 3),
           "lfp_kernels_s": round(T["lfp_kernels"], 3) if spec.recorders.lfp is not None else 0.0,
           "compile_phase_s": round(T["compile"], 3), "n_neurons": spec.n_neurons,
           "n_synapses": int(sim.n_synapses)}
    rec["construct_s"] = round(rec["build_network_s"] + rec["load_s"] + rec["lfp_kernels_s"], 3)
    return sim, rec


def _pilot(ctx, scale, run_ms) -> dict:
    """Build (and briefly run) the mesocircuit at a small scale; dropped afterwards."""
    spec = _meso_spec(ctx, scale)
    sim, rec = _construct(ctx, spec)
    rec["scale"] = scale
    dt = sim.network.dt
    try:
        rec["first_run_s"] = round(ctx.timed(sim.run, dt)[0], 3)
    except Exception as e:  # noqa: BLE001  (as the microcircuit: the per_step driver instead)
        rec["first_launch_error"] = err(e)
        sim.backend.driver = "per_step"
        sim.reset()
        rec["first_run_s"] = round(ctx.timed(sim.run, dt)[0], 3)
        rec["driver_note"] = "persistent launch failed: fell back to per_step"
    if run_ms:
        t, _ = ctx.timed(sim.run, run_ms)
        rec["run_ms"], rec["rtf"] = run_ms, round(t / (run_ms / 1000.0), 4)
        rec["driver"] = getattr(sim.backend, "driver", None)
    del sim
    _free_device(ctx)
    return rec


def _predict(pilots: list, n_syn: float, sim_ms: float) -> dict:
    """Seconds for a mesocircuit of ``n_syn`` synapses: each construction phase linear in the
    synapses through the two pilots (fixed part + slope), the simulation's RTF proportional to
    the synapses from the larger pilot (an upper estimate: a small network is launch-bound)."""
    a, b = pilots[0], pilots[-1]
    out = {}
    for k in ("build_network_s", "load_s", "lfp_kernels_s"):
        ta, tb = a[k], b[k]
        sa, sb = a["n_synapses"], b["n_synapses"]
        slope = (tb - ta) / (sb - sa) if sb > sa and tb > ta else tb / max(sb, 1)
        out[k] = round(tb + slope * (n_syn - sb), 2)
    construct = sum(out.values())
    rtf = b.get("rtf", 0.0) * n_syn / max(b["n_synapses"], 1)
    sim_s = min(rtf * sim_ms / 1000.0, MESO_SIM_ALLOWANCE_CAP_S)
    out.update(construct_s=round(construct, 2), rtf_upper=round(rtf, 3), sim_allowance_s=round(sim_s, 2),
               needed_s=round(MESO_SAFETY * construct + sim_s + MESO_FIXED_S, 1))
    return out


def _choose_scale(ctx, res, pilots, device_free):
    """The largest candidate scale that ``memory.check`` accepts and whose predicted time fits;
    every candidate's verdict goes into ``res['candidates']``."""
    S = ctx.sizes
    forced = getattr(ctx.args, "meso_scale", None)
    scales = [forced] if forced else list(S["meso_scales"])
    left = ctx.remaining()
    res["time_left_at_choice_s"] = round(left, 1)
    cands, first_mem, chosen = [], None, None
    for s in scales:
        v = _memory_verdict(_meso_spec(ctx, s), device_free)
        c = {"scale": s, "n_neurons": v["n_neurons"], "n_synapses_expected": v["n_synapses_expected"],
             "host_estimate_gib": round(v["host_estimate_bytes"] / 2**30, 2),
             "device_estimate_gib": round(v["device_estimate_bytes"] / 2**30, 2),
             "fits_host": v["fits_host"], "fits_device": v["fits_device"], "check": v["check"]}
        c["predicted"] = _predict(pilots, v["n_synapses_expected"], S["meso_presim_ms"] + S["meso_sim_ms"])
        c["fits_time"] = forced is not None or c["predicted"]["needed_s"] <= left
        cands.append(c)
        if v["check"] == "ok" and first_mem is None:
            first_mem = s
        if chosen is None and v["check"] == "ok" and c["fits_time"]:
            chosen = s
    res["candidates"] = cands
    req = scales[0]
    if chosen is None:  # nothing fits the prediction: the largest that fits the memory (the run stops early)
        chosen = first_mem
    if chosen is None:
        raise RuntimeError(f"memory.check refused every candidate scale ({', '.join(map(str, scales))}); "
                           f"at {req}: {cands[0]['check']}")
    notes = []
    if forced:
        notes.append(f"scale {forced} forced (--meso-scale)")
    elif chosen == req:
        notes.append(f"the requested scale {req} fits the memory and, as predicted, the time")
    else:
        if cands[0]["check"] != "ok":
            notes.append(f"scale {req} refused by memory.check: {cands[0]['check']}")
        if first_mem is not None and first_mem != chosen:
            c = next(c for c in cands if c["scale"] == first_mem)
            notes.append(f"scale {first_mem} fits the memory but needs about {c['predicted']['needed_s']:.0f} s "
                         f"(predicted), {left:.0f} s left")
        notes.append(f"fell back to scale {chosen}, the largest that fits"
                     + ("" if next(c for c in cands if c["scale"] == chosen)["fits_time"]
                        else " the memory (none fits the predicted time: the simulation may stop early)"))
    return chosen, "; ".join(notes)


def step_mesocircuit(ctx: Ctx, res: dict) -> None:
    """The mesocircuit (Senk et al. 2024) at full size on the GPU with its 10 x 10 kernel LFP:
    memory estimate against the device, the largest scale that fits (memory, then time), build,
    LFP kernels, compile, presim and 1 s simulated; writes mesocircuit-gpu.json."""
    from sim_core.errors import CapacityError
    S = ctx.sizes
    res.update(variant="PD", extent_mm=S["meso_extent"], requested_scale=S["meso_scales"][0],
               presim_ms=S["meso_presim_ms"], target_t_sim_ms=S["meso_sim_ms"], chunk_ms=S["meso_chunk_ms"],
               lfp_recorded=not getattr(ctx.args, "meso_no_lfp", False), phase="memory")
    commit, _ = git_commit()
    res["device"] = ctx.device_name()
    res["commit"] = commit
    res["versions"] = {"numpy": _dist("numpy"), "numba": _dist("numba"), "numba_cuda": _dist("numba-cuda"),
                       "cupy": next((v for v in (_dist(p) for p in ("cupy-cuda13x", "cupy-cuda12x", "cupy"))
                                     if v), None)}
    # ---------------- the memory estimate of the full size against the device's free memory
    device_free, device_total = _device_free_total(ctx)
    res["memory"] = {"device_total_bytes": device_total, "device_free_bytes": device_free,
                     "full_size": _memory_verdict(_meso_spec(ctx, S["meso_scales"][0]), device_free)}
    if getattr(ctx.args, "meso_device_free", None) is not None:
        res["memory"]["note"] = f"device free memory given by --meso-device-free ({ctx.args.meso_device_free} GiB)"
    _write_meso_results(ctx, res)
    ctx.save()
    mem = MemSampler(ctx)
    log = CompileLog()
    log.install()
    try:
        # ---------------- warm-up (CuPy's JIT, the kernels' compile), then two timed pilots
        res["phase"] = "pilots"
        m = log.mark()
        t, _ = ctx.timed(_pilot, ctx, S["meso_warmup_scale"], S["meso_pilot_ms"] / 10.0)
        res["warmup"] = {"scale": S["meso_warmup_scale"], "wall_s": round(t, 3), "kernel_compiles": log.since(m),
                         "note": "first build and launch in this process: CuPy's JIT and the kernels' compile"}
        ctx.save()
        pilots = []
        for s in S["meso_pilot_scales"]:
            pilots.append(_pilot(ctx, s, S["meso_pilot_ms"]))
            res["pilots"] = pilots
            ctx.save()
        # ---------------- the largest scale that fits (memory, then time)
        scale, note = _choose_scale(ctx, res, pilots, device_free)
        res.update(scale=scale, scale_reason=note, phase="build")
        _write_meso_results(ctx, res)
        ctx.save()
        # ---------------- build: network on the device, load, LFP kernels (CapacityError or an
        # out-of-memory error: the next smaller candidate that passed memory.check)
        _free_device(ctx)
        mem.snap("before_build")
        baseline = mem.used()
        mem.start()
        order = [c["scale"] for c in res["candidates"] if c["check"] == "ok" and c["scale"] <= scale]
        sim, attempts = None, []
        for s in order:
            try:
                spec = _meso_spec(ctx, s)
                m = log.mark()
                sim, rec = _construct(ctx, spec)
                break
            except Exception as e:  # noqa: BLE001
                oom = (isinstance(e, CapacityError) or "OutOfMemory" in type(e).__name__
                       or "out of memory" in str(e).lower() or "OUT_OF_MEMORY" in str(e))
                attempts.append({"scale": s, "error": err(e), "traceback": traceback.format_exc()[-2000:]})
                res["build_attempts"] = attempts
                ctx.save()
                sim = None
                _free_device(ctx)
                if not oom:
                    raise
        if sim is None:
            raise RuntimeError(f"no candidate scale could be built: {attempts[-1]['error'] if attempts else '?'}")
        if s != scale:
            res["scale_reason"] += f"; {scale} failed to build ({attempts[-1]['error'][:200]}): built {s}"
            res["scale"] = scale = s
        mem.snap("after_build")
        res.update(rec)
        res["build_s"] = round(rec["build_network_s"] + rec["load_s"], 3)
        res["n_synapses_stored"] = int(sim.backend.n_synapses)
        res["synapse_bytes"] = int(sim.backend.synapse_bytes())
        res["bytes_per_synapse"] = round(sim.bytes_per_synapse, 3)
        res["constructor_compiles"] = log.since(m)
        res["predicted_for_this_scale"] = next((c["predicted"] for c in res["candidates"] if c["scale"] == scale), None)
        res["phase"] = "compile"
        res["gpu_memory"] = mem.record(baseline)
        _write_meso_results(ctx, res, sim)
        ctx.save()
        # ---------------- compile: the first one-step run (settle, compile if the warm-up missed it, launch)
        dt = sim.network.dt
        m = log.mark()
        try:
            res["compile_s"] = round(ctx.timed(sim.run, dt)[0], 3)
        except Exception as e:  # noqa: BLE001
            res["first_launch_error"] = err(e)
            res["first_launch_traceback"] = traceback.format_exc()[-2000:]
            ctx.save()
            sim.backend.driver = "per_step"
            sim.reset()
            res["compile_s"] = round(ctx.timed(sim.run, dt)[0], 3)
            res["driver_note"] = "persistent launch failed: fell back to per_step"
        res["kernel_compiles"] = log.since(m)
        res.update(backend_info(sim))
        mem.snap("after_compile")
        res["phase"] = "presim"
        ctx.save()
        # ---------------- presim and the measured second, in chunks (stop if the budget would not hold)
        walls: list[float] = []
        while sim.t < S["meso_presim_ms"] - dt / 2:
            chunk = min(S["meso_presim_chunk_ms"], S["meso_presim_ms"] - sim.t)
            est = (walls[-1] if walls else 1.0) * 1.5 + 1.0
            if ctx.remaining() - MESO_MARGIN_S < est:
                res["stopped_early"] = f"presim stopped at {sim.t:.1f} ms: time budget"
                break
            walls.append(ctx.timed(sim.run, chunk)[0])
        res["presim_done_ms"] = round(sim.t, 3)
        res["presim_wall_s"] = round(sum(walls), 3)
        per_ms = walls[-1] / S["meso_presim_chunk_ms"] if walls else None
        res["phase"] = "simulate"
        ctx.save()
        t0_ms = sim.t
        walls = []
        n_chunks = int(round(S["meso_sim_ms"] / S["meso_chunk_ms"]))
        for c in range(n_chunks if "stopped_early" not in res else 0):
            est = (walls[-1] if walls else (per_ms or 1.0) * S["meso_chunk_ms"]) * 1.2 + 1.0
            if ctx.remaining() - MESO_MARGIN_S < est:
                res["stopped_early"] = (f"after {c} of {n_chunks} chunks: {ctx.remaining():.0f} s left, "
                                        f"a chunk takes about {est:.1f} s")
                break
            walls.append(ctx.timed(sim.run, S["meso_chunk_ms"])[0])
            t_done = sim.t - t0_ms
            res.update(t_sim_ms=round(t_done, 3), sim_wall_s=round(sum(walls), 4),
                       rtf=round(sum(walls) / (t_done / 1000.0), 5), chunk_walls_s=[round(w, 4) for w in walls])
            res["rates_hz"] = _pop_rates(sim, t0_ms, sim.t)
            mem.snap(f"after_chunk_{c + 1}")
            res["gpu_memory"] = mem.record(baseline)
            _write_meso_results(ctx, res, sim)
            ctx.save()
        res["phase"] = "results"
        ctx.save()
        if walls:
            from sim_core.analysis.stats import population_summary
            rates, cvs = population_summary(sim, t0_ms, sim.t)
            res["rates_hz"] = {k: round(v, 4) for k, v in rates.items()}
            res["cv_isi"] = {k: (round(v, 4) if v is not None else None) for k, v in cvs.items()}
        res["n_spikes"] = int(sim.spike_record.n_spikes)
        # ---------------- the LFP: sim.lfp.data() (everything held), and its std over the measured window
        if sim.lfp is not None:
            t, (times, sig) = ctx.timed(sim.lfp.data)
            import numpy as np
            win = sig[:, times > t0_ms] if sig.ndim == 2 else sig
            res["lfp"] = {"method": sim.lfp.method, "units": sim.lfp.units, "interval_ms": sim.lfp.interval,
                          "shape": list(sig.shape), "n_electrodes": int(sig.shape[0]),
                          "t_first_ms": float(times[0]) if times.size else None,
                          "t_last_ms": float(times[-1]) if times.size else None,
                          "std": float(sig.std()) if sig.size else None,
                          "std_measured_window": float(win.std()) if win.size else None,
                          "std_per_electrode_mean": float(win.std(axis=1).mean()) if win.size else None,
                          "mean": float(sig.mean()) if sig.size else None,
                          "finite": bool(np.isfinite(sig).all()), "data_s": round(t, 3)}
        mem.stop()
        mem.snap("end")
        res["gpu_memory"] = mem.record(baseline)
        res["phase"] = "done"
        if walls:
            res["summary"] = (f"scale {scale} ({res['n_neurons']:,} neurons, {res['n_synapses']:.3g} synapses): "
                              f"RTF {res['rtf']:.4g} over {res['t_sim_ms'] / 1000:.4g} s; build {res['build_s']:.3g} s "
                              f"(network {res['build_network_s']:.3g} + load {res['load_s']:.3g}), LFP kernels "
                              f"{res['lfp_kernels_s']:.3g} s, compile {res['compile_s']:.3g} s; "
                              f"{res['bytes_per_synapse']} B/synapse"
                              + (f"; peak {res['gpu_memory']['peak_device_used_gib']} GiB on the device"
                                 if "peak_device_used_gib" in res["gpu_memory"] else "")
                              + (f"; LFP {res['lfp']['shape']} std {res['lfp']['std_measured_window']:.3g} "
                                 f"{res['lfp']['units']}" if res.get("lfp") and res["lfp"]["std_measured_window"]
                                 is not None else "")
                              + f" — {res['scale_reason']}")
        else:
            res["summary"] = f"scale {scale}: no simulated chunk completed: " + res.get("stopped_early", "?")
        _write_meso_results(ctx, res, sim)
        res["backend_info"] = sim.backend.info()
        ctx.save()
    finally:
        mem.stop()
        log.uninstall()


MESO_KEYS = ("device", "commit", "mode", "variant", "extent_mm", "requested_scale", "scale", "scale_reason",
             "n_neurons", "n_synapses", "memory", "time_left_at_choice_s", "candidates", "warmup", "pilots",
             "build_attempts", "predicted_for_this_scale", "build_s", "build_network_s", "load_s", "lfp_kernels_s",
             "compile_phase_s", "compile_s", "kernel_compiles", "presim_ms", "presim_done_ms", "target_t_sim_ms",
             "t_sim_ms", "rtf", "chunk_walls_s", "bytes_per_synapse", "rates_hz", "cv_isi", "n_spikes",
             "gpu_memory", "lfp_recorded", "lfp", "driver", "blocks", "block_threads", "driver_note",
             "stopped_early", "phase", "versions")


def _write_meso_results(ctx, res, sim=None):
    """OUT_DIR/mesocircuit-gpu.json and (not in the simulator) benchmarks/results/mesocircuit-gpu.json:
    rewritten at every phase and chunk, so a run cut short keeps how far it got."""
    data = {k: res.get(k) for k in MESO_KEYS if k in res}
    data["mode"] = "simulator" if ctx.simulator else "gpu"
    data["written"] = now_iso()
    if sim is not None:
        b = sim.backend
        data.update(driver=getattr(b, "driver", None), blocks=int(getattr(b, "blocks", 0) or 0),
                    block_threads=int(getattr(b, "block_threads", 0) or 0))
    mem = data.get("memory")
    if mem:  # the full-size estimate without its part tables (they are in device_check.json)
        fs = {k: v for k, v in mem.get("full_size", {}).items() if not k.endswith("_parts")}
        data["memory"] = {**mem, "full_size": fs}
    write_json(ctx.out / "mesocircuit-gpu.json", data)
    res["results_files"] = [str(ctx.out / "mesocircuit-gpu.json")]
    if not ctx.simulator:
        try:
            write_json(MESO_RESULTS_FILE, data)
            res["results_files"].append(str(MESO_RESULTS_FILE))
        except OSError as e:
            res["results_file_error"] = err(e)


STEP_FUNCS = {
    "versions": step_versions,
    "grid_sync": step_grid_sync,
    "cross_block_sync": step_cross_block_sync,
    "compile": step_compile,
    "registers": step_registers,
    "identity": step_identity,
    "microcircuit": step_microcircuit,
    "microcircuit_connectome": step_microcircuit_connectome,
    "closed_loop": step_closed_loop,
    "mesocircuit": step_mesocircuit,
}


# ================================================================================ the parent side

class Parent:
    def __init__(self, args):
        self.args = args
        self.out = Path(args.out)
        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / "parts").mkdir(exist_ok=True)
        self.t_start = time.time()
        self.t_end = self.t_start + args.budget
        self.report_path = self.out / "device_check.json"
        commit, source = git_commit()
        self.report = {
            "tool": "benchmarks/gpu/device_check.py", "mode": "simulator" if args.simulator else "gpu",
            "started": now_iso(), "budget_s": args.budget, "commit": commit, "commit_source": source,
            "argv": sys.argv[1:], "python": sys.executable, "status": "running",
            "step_order": [s for s in STEP_ORDER if s in args.selected], "steps": {}}
        self.printed: set = set()
        self.proc: subprocess.Popen | None = None
        self.current_group: str | None = None
        self.write()

    def write(self):
        self.report["elapsed_s"] = round(time.time() - self.t_start, 1)
        self.report["statuses"] = {k: v.get("status") for k, v in self.report["steps"].items()}
        write_json(self.report_path, self.report)

    def say(self, name, rec):
        if name in self.printed or rec.get("status") in (None, "running"):
            return
        self.printed.add(name)
        line = (f"[{time.time() - self.t_start:6.1f} s] {name:<24} {rec.get('status', '?'):<8} "
                f"{rec.get('wall_s', 0.0):7.1f} s  ")
        tail = rec.get("summary") or rec.get("skipped") or rec.get("error") or ""
        print(line + short(tail, 400).replace("\n", " "), flush=True)

    def merge(self, part_path) -> dict | None:
        data = read_json(part_path)
        if not data:
            return None
        for name, rec in data.get("steps", {}).items():
            self.report["steps"][name] = rec
        self.write()
        for name, rec in data.get("steps", {}).items():
            self.say(name, rec)
        return data

    def env(self):
        env = dict(os.environ)
        env.setdefault("NUMBA_CUDA_ARRAY_INTERFACE_SYNC", "0")
        env.setdefault("NUMBA_CUDA_LOW_OCCUPANCY_WARNINGS", "0")
        if self.args.simulator:
            env["NUMBA_ENABLE_CUDASIM"] = "1"
        try:
            import importlib.util
            have = importlib.util.find_spec("sim_core") is not None
        except (ImportError, ValueError):
            have = False
        if not have:
            env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        return env

    def run_group(self, group: str, names: list[str]) -> None:
        pending = list(names)
        attempt = 0
        need = GROUP_NEED.get(group, {}).get(self.report["mode"])
        if need is not None and self.t_end - time.time() < need:
            for name in pending:  # too little time left: a note saying how to run it, not a failure
                rec = {"status": "skipped", "wall_s": 0.0,
                       "skipped": f"needs about {need:.0f} s, {self.t_end - time.time():.0f} s left: "
                                  + SECOND_RUN.get(group, "run it alone with --steps")}
                self.report["steps"][name] = rec
                self.say(name, rec)
            self.write()
            return
        while pending:
            now = time.time()
            f = min(1.0, self.args.budget / BUDGET_S)  # a shorter budget shrinks caps and reserves alike
            deadline = min(now + f * GROUP_CAP[group], self.t_end - f * GROUP_RESERVE[group])
            if deadline - now < MIN_GROUP_S:
                for name in pending:
                    rec = {"status": "not_run", "skipped": f"time budget: {self.t_end - now:.0f} s of "
                                                            f"{self.args.budget:.0f} s left", "wall_s": 0.0}
                    self.report["steps"][name] = rec
                    self.say(name, rec)
                self.write()
                return
            attempt += 1
            part = self.out / "parts" / f"{group}-{attempt}.json"
            log = self.out / "parts" / f"{group}-{attempt}.log"
            cmd = [sys.executable, str(Path(__file__).resolve()), "--child", "--steps", ",".join(pending),
                   "--out", str(self.out), "--part", str(part), "--deadline", f"{deadline:.3f}"]
            if self.args.simulator:
                cmd.append("--simulator")
            for opt in ("meso_scale", "meso_device_free"):
                if getattr(self.args, opt, None) is not None:
                    cmd += ["--" + opt.replace("_", "-"), str(getattr(self.args, opt))]
            if getattr(self.args, "meso_no_lfp", False):
                cmd.append("--meso-no-lfp")
            if self.args.force:
                cmd += ["--force", *self.args.force]
            self.current_group = group
            with open(log, "w") as logf:
                self.proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, env=self.env(),
                                             cwd=str(REPO))
                killed = None
                mtime = None
                while True:
                    try:
                        rc = self.proc.wait(timeout=0.5)
                        break
                    except subprocess.TimeoutExpired:
                        pass
                    try:
                        m = part.stat().st_mtime_ns
                    except OSError:
                        m = None
                    if m is not None and m != mtime:
                        mtime = m
                        self.merge(part)
                    if killed is None and time.time() > deadline + KILL_GRACE_S:
                        killed = "deadline"
                        self.proc.terminate()
                        try:
                            self.proc.wait(timeout=5)
                        except subprocess.TimeoutExpired:
                            self.proc.kill()
                rc = self.proc.wait()
            self.proc = None
            data = self.merge(part) or {"steps": {}, "current": None}
            done = {n for n, r in data["steps"].items() if r.get("status") not in (None, "running")}
            current = data.get("current")
            tail = _tail(log)
            if current and current not in done:
                rec = self.report["steps"].setdefault(current, {})
                if killed:
                    rec.update(status="timeout", error=f"child killed {KILL_GRACE_S:.0f} s past its deadline "
                                                      f"({deadline - self.t_start:.0f} s into the run)")
                else:
                    rec.update(status="crashed", error=f"child process ended with rc={rc} during this step")
                rec["log_tail"] = tail
                if rec.get("t_started"):
                    rec.setdefault("wall_s", round(time.time() - rec["t_started"], 1))
                done.add(current)
                self.say(current, rec)
            elif rc != 0:
                self.report.setdefault("child_errors", []).append({"group": group, "rc": rc, "log_tail": tail})
            pending = [n for n in pending if n not in done]
            if killed:
                for name in pending:
                    rec = {"status": "not_run", "skipped": "the group's time was spent", "wall_s": 0.0}
                    self.report["steps"][name] = rec
                    self.say(name, rec)
                pending = []
            self.write()
            if attempt > len(names) + 1:
                break

    def run(self) -> int:
        selected = set(self.args.selected)
        for group, names in GROUPS:
            names = [n for n in names if n in selected]
            if names:
                self.run_group(group, names)
        self.finish("done")
        return 0

    def finish(self, status):
        self.report["status"] = status
        self.report["finished"] = now_iso()
        self.report["results_files"] = [f for step in ("microcircuit", "mesocircuit")
                                        for f in self.report["steps"].get(step, {}).get("results_files", [])]
        self.write()
        bad = [k for k, v in self.report["steps"].items() if v.get("status") not in ("ok", "skipped")]
        print(f"[{time.time() - self.t_start:6.1f} s] wrote {self.report_path}"
              + (f"; not ok: {', '.join(bad)}" if bad else "; every step ok or skipped"), flush=True)

    def interrupted(self, signum, frame):
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.proc.terminate()
            except OSError:
                pass
        for p in sorted((self.out / "parts").glob("*.json")):
            self.merge(p)
        for name, rec in self.report["steps"].items():
            if rec.get("status") == "running":
                rec.update(status="timeout", error=f"killed by signal {signum} (the outer timeout)")
                if rec.get("t_started"):
                    rec["wall_s"] = round(time.time() - rec["t_started"], 1)
                self.say(name, rec)
        for name in self.args.selected:
            if name not in self.report["steps"]:
                self.report["steps"][name] = {"status": "not_run", "skipped": f"killed by signal {signum}"}
        self.finish(f"killed by signal {signum}")
        os._exit(124)


def _tail(path, n=3000) -> str:
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return ""
    return text[-n:]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=os.environ.get("OUT") or str(REPO / "benchmarks" / "results" / "gpu"),
                   help="output folder (default: $OUT, else benchmarks/results/gpu)")
    p.add_argument("--simulator", "--dry-run", action="store_true",
                   help="Numba's CUDA simulator, every size shrunk; timing-only steps and the microcircuit skipped")
    p.add_argument("--steps", help=f"comma-separated subset of: {', '.join(STEP_ORDER)} (default: all)")
    p.add_argument("--budget", type=float, default=BUDGET_S, help="seconds for the whole check (default 520)")
    p.add_argument("--meso-scale", type=float, help="mesocircuit: build this scale (still memory-checked) "
                   "instead of the largest that fits the memory and the predicted time")
    p.add_argument("--meso-no-lfp", action="store_true",
                   help="mesocircuit: without its LFP recorder (the network alone)")
    p.add_argument("--meso-device-free", type=float, metavar="GIB",
                   help="mesocircuit: take the device's free memory to be this (a test of the fallback)")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--part", help=argparse.SUPPRESS)
    p.add_argument("--deadline", type=float, help=argparse.SUPPRESS)
    p.add_argument("--force", nargs="*", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.simulator:
        os.environ["NUMBA_ENABLE_CUDASIM"] = "1"
    if args.child:
        try:
            import sim_core  # noqa: F401
        except ImportError:
            sys.path.insert(0, str(REPO))
        return run_child(args)
    args.selected = list(STEP_ORDER)
    args.force = []
    if args.steps:
        wanted = [s.strip() for s in args.steps.split(",") if s.strip()]
        unknown = [s for s in wanted if s not in STEP_ORDER]
        if unknown:
            p.error(f"--steps: unknown {', '.join(unknown)}; choose from {', '.join(STEP_ORDER)}")
        args.selected = wanted
        args.force = [s for s in wanted if s in SIMULATOR_SKIPS]  # named explicitly: run even in the simulator
    parent = Parent(args)
    signal.signal(signal.SIGTERM, parent.interrupted)
    signal.signal(signal.SIGINT, parent.interrupted)
    print(f"device check ({parent.report['mode']}): {len(args.selected)} steps, budget {args.budget:.0f} s, "
          f"output {parent.report_path}", flush=True)
    return parent.run()


if __name__ == "__main__":
    sys.exit(main())
