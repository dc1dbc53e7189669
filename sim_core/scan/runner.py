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
    ``params`` ({path: value}), ``seed``, ``rates_hz``, ``cv_isi``, ``synchrony`` (per
    population), ``network_synchrony`` (all recorded neurons together), ``sim_s`` (or
    ``error``). Synchrony is ``analysis.stats.synchrony``, the app's live measure: the Fano
    factor of the population spike count in 1 ms bins."""
    scan_id: str
    paths: list[str]
    points: list[dict] = field(default_factory=list)

    batch: int = 1
    wall_s: float | None = None

    def to_json(self) -> list[dict]:
        keys = ("run_id", "params", "seed", "rates_hz", "cv_isi", "synchrony", "network_synchrony", "metastability",
                "build_s", "sim_s", "error")
        return [{k: p.get(k) for k in keys} for p in self.points]

    def frame(self):
        """A DataFrame: one row per point, a column per parameter path, ``rates_hz.<pop>``,
        ``cv_isi.<pop>``, ``synchrony.<pop>`` and ``network_synchrony`` columns."""
        import pandas as pd
        rows = []
        for p in self.points:
            row = {"run_id": p.get("run_id"), "seed": p.get("seed"), **p["params"]}
            for key in ("rates_hz", "cv_isi", "synchrony", "metastability"):
                row.update({f"{key}.{pop}": v for pop, v in (p.get(key) or {}).items()})
            row["network_synchrony"] = p.get("network_synchrony")
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
              threads: int = 1, n_gpus: int = 0, measure: str | None = None) -> dict:
    """One simulation, on a worker: the registry's result fields plus the worker's host,
    versions and git commit (and ``summary['metastability']`` with that measure)."""
    return run_batch([spec_data], seed, backend, t_sim, t_presim, threads, n_gpus, measure)[0]


def run_batch(spec_datas: list[dict], seed: int, backend: str, t_sim: float, t_presim: float,
              threads: int = 1, n_gpus: int = 0, measure: str | None = None) -> list[dict]:
    """Several points as one network (``batch``; one point: its own network, exactly as
    run alone). Per point, the registry's fields: its rates, CVs, synchrony and measure; the batch's
    build and simulation time shared equally, and the whole batch's in ``summary['batch']``."""
    if n_gpus and "CUDA_VISIBLE_DEVICES" not in os.environ:
        _pick_gpu(n_gpus)
    from ..analysis.stats import population_synchrony, summary_of
    from ..engine.simulation import Simulation
    from ..io import provenance
    from ..io.registry import simulation_fields
    from ..spec import from_dict
    from . import batch
    single = len(spec_datas) == 1
    parsed = [from_dict(d) for d in spec_datas]
    spec = parsed[0] if single else batch.merge(parsed)
    sim = Simulation(spec, backend=backend, seed=seed, threads=threads)
    sim.run(t_presim + t_sim)
    t_total = t_presim + t_sim
    env = provenance.environment(sim.backend_name)
    shared = None if single else simulation_fields(sim, t_presim, {"rates_hz": {}, "cv_isi": {}})
    out = []
    for k, (data, point) in enumerate(zip(spec_datas, parsed)):
        spikes = {n: sim.spikes(n) for n in sim.spike_record.recorded} if single else batch.split(sim, k, point)
        sizes = {n: point.populations[n].size for n in spikes}
        rates, cvs = summary_of(spikes, sizes, t_presim, t_total)
        sync, network_sync = population_synchrony(spikes, t_presim, t_total)
        summary = {"rates_hz": rates, "cv_isi": cvs, "synchrony": sync, "network_synchrony": network_sync}
        if measure == "metastability":
            from ..analysis.clusters import metastability
            summary["metastability"] = metastability(spikes, point, t_presim, t_total)
        elif measure is not None:
            raise SpecError("measure", f"'{measure}' is not a scan measure; expected metastability")
        if single:
            fields = simulation_fields(sim, t_presim, summary)
        else:  # the batch's timings shared equally; sizes and spikes of this point
            n, pre = len(spec_datas), batch.prefix(k)
            fields = {**shared, "summary": {**shared["summary"], **summary}}
            fields["summary"].update(n_spikes=int(sum(t.size for t, _ in spikes.values())),
                                     batch={"size": n, "index": k, "sim_s": shared["sim_s"],
                                            "build_s": shared["build_s"]})
            fields["summary"].pop("spikes_sha256", None)  # the batch's, not this point's
            fields.update(n_neurons=point.n_neurons,
                          build_s=shared["build_s"] / n, sim_s=shared["sim_s"] / n,
                          n_synapses=sum(c.n_synapses for c in sim.network.connectome.between_populations(spec)
                                         if c.source.startswith(pre)))
            fields["rtf"] = fields["sim_s"] / (t_total / 1000.0)
        fields.update(versions=env["versions"], host=env["host"], git=env["git"])
        out.append(fields)
    return out


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
         progress: bool = False, on_result=None, batch: int = 1, measure: str | None = None) -> ScanResult:
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
    batch : points simulated together as one network (``scan.batch``); 1: each alone.
    measure : 'metastability' adds ``analysis.clusters.metastability`` to every point.
    """
    from ..spec import from_dict
    spec_obj = from_dict(spec) if isinstance(spec, dict) else spec
    points = grid(params)
    return scan_specs(point_specs(spec_obj, points), points, seed=spec_obj.seed if seed is None else int(seed),
                      backend=backend, t_sim=t_sim, t_presim=t_presim, workers=workers, scheduler=scheduler,
                      client=client, registry=registry, record=record, progress=progress, on_result=on_result,
                      batch=batch, measure=measure)


def preset_points(name: str, scale: float, options: dict[str, list]) -> tuple[list[dict], list[dict]]:
    """(points, plain specs) of a grid over a preset's options (``clustered``: rep, rj,
    I_th_E, ...), for calibrations that change derived quantities (J+ changes J- and every
    weight)."""
    from ..models.registry import preset_dict
    from ..spec import from_dict, to_plain
    points = grid(options)
    specs = []
    for point in points:
        try:
            specs.append(to_plain(from_dict(preset_dict(name, scale, **point))))
        except (ValueError, TypeError) as exc:
            shown = ", ".join(f"{k}={v}" for k, v in point.items())
            raise SpecError("--option", f"{exc} (scan point {shown})") from None
    return points, specs


def scan_specs(specs: list[dict], points: list[dict], *, seed: int = 0, backend: str = "cpu",
               t_sim: float = 1000.0, t_presim: float = 0.0, workers: int | None = None,
               scheduler: str | None = None, client=None, registry=None, record: bool = True,
               progress: bool = False, on_result=None, batch: int = 1, measure: str | None = None) -> ScanResult:
    """``scan`` of given specs (plain dicts), one per point ({label: value})."""
    from ..io.registry import Registry, enabled
    if batch < 1:
        raise SpecError("batch", f"{batch} must be >= 1")
    if measure not in (None, "metastability"):
        raise SpecError("measure", f"'{measure}' is not a scan measure; expected metastability")
    t_wall = time.perf_counter()
    scan_id = time.strftime("scan-%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
    result = ScanResult(scan_id, list(points[0]) if points else [], batch=batch)
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
                 progress, on_result, batch, measure)
    finally:
        if own_client:
            client.close()
            if cluster is not None:
                cluster.close()
    result.wall_s = time.perf_counter() - t_wall
    return result


def _run_all(client, result, points, specs, run_ids, seed, backend, t_sim, t_presim, n_gpus, reg,
             progress, on_result, batch=1, measure=None):
    from distributed import as_completed
    from tqdm import tqdm
    groups = [list(range(a, min(a + batch, len(specs)))) for a in range(0, len(specs), batch)]
    futures = {client.submit(run_batch, [specs[i] for i in g], seed, backend, t_sim, t_presim, 1, n_gpus, measure,
                             pure=False): g for g in groups}
    slots: list[dict | None] = [None] * len(points)
    bar = tqdm(total=len(points), unit="run", desc=result.scan_id, file=sys.stderr, disable=not progress)
    try:
        for fut in as_completed(futures):
            group = futures[fut]
            try:
                results = fut.result()
            except Exception as exc:  # a batch that fails is recorded and reported, the scan goes on
                results = [exc] * len(group)
            for i, fields in zip(group, results):
                point = {"index": i, "run_id": run_ids[i], "params": points[i], "seed": seed}
                if isinstance(fields, Exception):
                    point["error"] = f"{type(fields).__name__}: {fields}"
                    if reg:
                        reg.fail(run_ids[i], point["error"])
                else:
                    if reg:
                        reg.complete(run_ids[i], **fields)
                    summary = fields["summary"]
                    point.update(rates_hz=summary["rates_hz"], cv_isi=summary["cv_isi"], build_s=fields["build_s"],
                                 sim_s=fields["sim_s"], n_synapses=fields["n_synapses"],
                                 host=fields["host"]["hostname"], synchrony=summary.get("synchrony"),
                                 network_synchrony=summary.get("network_synchrony"))
                    if "metastability" in summary:
                        point["metastability"] = summary["metastability"]
                slots[i] = point
                bar.update(1)
                if on_result is not None:
                    on_result(point)
    finally:
        bar.close()
    result.points = slots
