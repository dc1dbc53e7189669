"""Parameter scans on Dask: every point of a grid over spec paths is one simulation, run on
a ``dask.distributed`` cluster (a LocalCluster by default, or an existing one by address)
and recorded in the run registry.

>>> from sim_core.scan import scan                                  # doctest: +SKIP
>>> res = scan(spec, {"inputs.bg.params.rate": [8000.0, 12000.0],
...                   "projections[2].synapse.weight": [-300.0, -400.0]}, t_sim=500.0, workers=2)
>>> res.frame().pivot(index="inputs.bg.params.rate", columns="projections[2].synapse.weight",
...                   values="rates_hz.E")                           # a heatmap's data

The client writes the registry (workers may be on other machines): every point gets an
'incomplete' row before anything is submitted, completed with the worker's timings, host
and versions when its result comes back. Each worker runs one simulation at a time on one
thread (Numba too), so N workers use N cores; with ``backend='gpu'`` on a LocalCluster
each worker is given its own GPU.
"""
from __future__ import annotations

import itertools
import logging
import os
import sys
import time
import uuid
from dataclasses import dataclass, field

from ..errors import SpecError
from .paths import set_path

WORKER_ENV = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
              "OPENBLAS_NUM_THREADS": "1"}


@dataclass
class ScanResult:
    """``points``: one dict per grid point, in grid order, with ``index``, ``run_id``,
    ``params`` ({path: value}), ``seed``, ``rates_hz``, ``cv_isi``, ``sim_s`` (or ``error``)."""
    scan_id: str
    paths: list[str]
    points: list[dict] = field(default_factory=list)

    def to_json(self) -> list[dict]:
        keys = ("run_id", "params", "seed", "rates_hz", "cv_isi", "build_s", "sim_s", "error")
        return [{k: p.get(k) for k in keys} for p in self.points]

    def frame(self):
        """A DataFrame: one row per point, a column per parameter path, ``rates_hz.<pop>``
        and ``cv_isi.<pop>`` columns."""
        import pandas as pd
        rows = []
        for p in self.points:
            row = {"run_id": p.get("run_id"), "seed": p.get("seed"), **p["params"]}
            for key in ("rates_hz", "cv_isi"):
                row.update({f"{key}.{pop}": v for pop, v in (p.get(key) or {}).items()})
            row.update(sim_s=p.get("sim_s"), error=p.get("error"))
            rows.append(row)
        return pd.DataFrame(rows)


def grid(params: dict[str, list]) -> list[dict]:
    """The Cartesian product of the values, first path varying slowest."""
    paths = list(params)
    return [dict(zip(paths, combo)) for combo in itertools.product(*(params[p] for p in paths))]


def point_specs(spec, points: list[dict]) -> list[dict]:
    """Each point's spec as plain data, validated; a bad path or value raises SpecError
    naming it (before anything runs)."""
    from ..spec import from_dict, to_plain
    from ..spec.parse import to_data
    base = to_data(spec if not isinstance(spec, dict) else from_dict(spec), keep_defaults=True)
    out = []
    for point in points:
        data = base
        for path, value in point.items():
            data = set_path(data, path, value)
        try:
            out.append(to_plain(from_dict(data)))
        except SpecError as exc:
            shown = ", ".join(f"{k}={v}" for k, v in point.items())
            raise SpecError(exc.path, f"{exc.message} (scan point {shown})") from None
    return out


def run_point(spec_data: dict, seed: int, backend: str, t_sim: float, t_presim: float,
              threads: int = 1, n_gpus: int = 0) -> dict:
    """One simulation, on a worker: the registry's result fields plus the worker's host,
    versions and git commit."""
    if n_gpus and "CUDA_VISIBLE_DEVICES" not in os.environ:
        _pick_gpu(n_gpus)
    from ..engine.simulation import Simulation
    from ..io import provenance
    from ..io.registry import simulation_fields
    from ..spec import from_dict
    sim = Simulation(from_dict(spec_data), backend=backend, seed=seed, threads=threads)
    sim.run(t_presim + t_sim)
    fields = simulation_fields(sim, t_presim)
    env = provenance.environment(sim.backend_name)
    fields.update(versions=env["versions"], host=env["host"], git=env["git"])
    return fields


def _pick_gpu(n_gpus: int) -> None:
    """One GPU per worker of a LocalCluster (workers are named 0, 1, ...); set before
    anything imports CuPy in this worker process."""
    try:
        from distributed import get_worker
        name = get_worker().name
    except (ImportError, ValueError):
        return
    if isinstance(name, int) or str(name).isdigit():
        os.environ["CUDA_VISIBLE_DEVICES"] = str(int(name) % n_gpus)


def _count_gpus() -> int:
    from ..backends import gpu_available
    from ..backends.gpu import device
    if not gpu_available() or device.simulator():
        return 0
    import cupy
    return int(cupy.cuda.runtime.getDeviceCount())


def scan(spec, params: dict[str, list], *, seed: int | None = None, backend: str = "cpu",
         t_sim: float = 1000.0, t_presim: float = 0.0, workers: int | None = None,
         scheduler: str | None = None, client=None, registry=None, record: bool = True,
         progress: bool = False, on_result=None) -> ScanResult:
    """Simulate every point of the grid over ``params`` ({spec path: values}).

    Parameters
    ----------
    spec : NetworkSpec or plain spec dict
    seed : every point runs with this seed (default: the spec's), so that points differ
        only in their parameters.
    workers : LocalCluster size (default: all cores; with backend 'gpu', one per GPU).
    scheduler : address of an existing Dask scheduler ('tcp://host:8786') instead.
    client : an existing ``distributed.Client`` (the app passes its own).
    registry : Registry or path (default: $SPIKESCOPE_HOME's); ``record=False`` records nothing.
    on_result : called as ``on_result(point)`` as each point finishes (in completion order).
    """
    from ..io.registry import Registry, enabled
    from ..spec import from_dict
    spec_obj = from_dict(spec) if isinstance(spec, dict) else spec
    seed = spec_obj.seed if seed is None else int(seed)
    points = grid(params)
    specs = point_specs(spec_obj, points)
    scan_id = time.strftime("scan-%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
    result = ScanResult(scan_id, list(params))
    reg = None
    if record and enabled():
        reg = registry if isinstance(registry, Registry) else Registry(registry)
    run_ids = [reg.begin(s, seed=seed, backend=backend, kind="scan", group=scan_id, params=p,
                         t_sim_ms=t_sim, t_presim_ms=t_presim) if reg else None
               for s, p in zip(specs, points)]
    own_client, cluster, n_gpus = client is None, None, 0
    if client is None:
        from distributed import Client, LocalCluster
        if scheduler:
            client = Client(scheduler)
        else:
            n_gpus = _count_gpus() if backend in ("gpu", "auto") else 0
            n = workers or (n_gpus or os.cpu_count() or 1)
            cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                                   silence_logs=logging.ERROR, env=dict(WORKER_ENV))
            client = Client(cluster)
    try:
        _run_all(client, result, points, specs, run_ids, seed, backend, t_sim, t_presim, n_gpus, reg,
                 progress, on_result)
    finally:
        if own_client:
            client.close()
            if cluster is not None:
                cluster.close()
    return result


def _run_all(client, result, points, specs, run_ids, seed, backend, t_sim, t_presim, n_gpus, reg,
             progress, on_result):
    from distributed import as_completed
    from tqdm import tqdm
    futures = {client.submit(run_point, s, seed, backend, t_sim, t_presim, 1, n_gpus, pure=False): i
               for i, s in enumerate(specs)}
    slots: list[dict | None] = [None] * len(points)
    bar = tqdm(total=len(points), unit="run", desc=result.scan_id, file=sys.stderr, disable=not progress)
    try:
        for fut in as_completed(futures):
            i = futures[fut]
            point = {"index": i, "run_id": run_ids[i], "params": points[i], "seed": seed}
            try:
                fields = fut.result()
            except Exception as exc:  # a point that fails is recorded and reported, the scan goes on
                point["error"] = f"{type(exc).__name__}: {exc}"
                if reg:
                    reg.fail(run_ids[i], point["error"])
            else:
                if reg:
                    reg.complete(run_ids[i], **fields)
                summary = fields["summary"]
                point.update(rates_hz=summary["rates_hz"], cv_isi=summary["cv_isi"], build_s=fields["build_s"],
                             sim_s=fields["sim_s"], n_synapses=fields["n_synapses"], host=fields["host"]["hostname"])
            slots[i] = point
            bar.update(1)
            if on_result is not None:
                on_result(point)
    finally:
        bar.close()
    result.points = slots
