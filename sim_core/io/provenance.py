"""Where a run came from: the spec's canonical hash, package versions, the host, the git commit.

Everything here is cheap (no subprocess unless ``nvidia-smi`` exists, no git command: the
commit is read from ``.git`` directly) and cached per process, so recording a run costs
milliseconds.
"""
from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import os
import platform
import shutil
import subprocess
from pathlib import Path

# Distribution names whose versions matter to a result (absent ones are left out).
PACKAGES = ("spikescope", "numpy", "numba", "scipy", "h5py", "pyyaml", "pandas", "dask", "distributed",
            "cupy-cuda12x", "cupy-cuda11x", "cupy", "nest-simulator")


def canonical_json(spec_data: dict) -> str:
    """The spec as canonical JSON: sorted keys, no spaces. Hash this, not the YAML text, so
    that formatting, key order and omitted defaults do not change the identity of a model."""
    return json.dumps(spec_data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def spec_sha256(spec_data: dict) -> str:
    return hashlib.sha256(canonical_json(spec_data).encode()).hexdigest()


@functools.lru_cache(maxsize=1)
def versions() -> dict[str, str]:
    """Python and the installed versions of the packages that shape a result."""
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return out


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def memory_bytes() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


@functools.lru_cache(maxsize=1)
def gpus() -> list[dict]:
    """NVIDIA GPUs seen by ``nvidia-smi`` (name, memory in MiB); [] where there is none."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return []
    try:
        res = subprocess.run([smi, "--query-gpu=name,memory.total,driver_version",
                              "--format=csv,noheader,nounits"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return []
    out = []
    for line in res.stdout.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 3:
            out.append({"name": parts[0], "memory_mib": int(float(parts[1])) if parts[1] else None,
                        "driver": parts[2]})
    return out


@functools.lru_cache(maxsize=1)
def host() -> dict:
    """The machine: name, OS, CPU model, cores (all, and those this process may use),
    memory, GPUs."""
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count()
    return {"hostname": platform.node(), "os": platform.platform(), "cpu": cpu_model(),
            "cores": os.cpu_count(), "cores_usable": usable, "memory_bytes": memory_bytes(),
            "gpus": gpus()}


def device(backend: str) -> str:
    """What ran the simulation: the GPU's name for 'gpu', else the CPU model."""
    if backend == "gpu" and gpus():
        return gpus()[0]["name"]
    return cpu_model()


# ------------------------------------------------------------------ git, without running git
def _git_dir(start: Path) -> Path | None:
    for d in [start, *start.parents]:
        dot = d / ".git"
        if dot.is_dir():
            return dot
        if dot.is_file():  # a worktree or submodule: "gitdir: <path>"
            text = dot.read_text().strip()
            if text.startswith("gitdir:"):
                p = Path(text.split(":", 1)[1].strip())
                return p if p.is_absolute() else (d / p).resolve()
    return None


def _resolve_ref(git_dir: Path, ref: str) -> str | None:
    # a worktree keeps its HEAD but shares refs with the main repository ("commondir")
    dirs = [git_dir]
    common = git_dir / "commondir"
    if common.is_file():
        dirs.append((git_dir / common.read_text().strip()).resolve())
    for d in dirs:
        loose = d / ref
        if loose.is_file():
            return loose.read_text().strip()
        packed = d / "packed-refs"
        if packed.is_file():
            for line in packed.read_text().splitlines():
                if line.endswith(" " + ref) and not line.startswith(("#", "^")):
                    return line.split(" ", 1)[0]
    return None


@functools.lru_cache(maxsize=1)
def git_commit() -> dict | None:
    """{'commit', 'branch'} of the checkout SpikeScope runs from; None for an installed copy."""
    git_dir = _git_dir(Path(__file__).resolve().parents[2])
    if git_dir is None:
        return None
    try:
        head = (git_dir / "HEAD").read_text().strip()
        if head.startswith("ref:"):
            ref = head.split(":", 1)[1].strip()
            return {"commit": _resolve_ref(git_dir, ref), "branch": ref.rsplit("/", 1)[-1]}
        return {"commit": head, "branch": None}  # detached HEAD
    except OSError:
        return None


def environment(backend: str) -> dict:
    """versions, host, git and device in one dict (what a registry row needs)."""
    return {"versions": versions(), "host": host(), "git": git_commit(), "device": device(backend)}
