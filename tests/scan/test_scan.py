"""A 2x2 scan on a 2-worker Dask LocalCluster; every point is a run in the registry."""
import json
import subprocess
import sys

import pytest

from sim_core.io.registry import Registry, runs_frame
from sim_core.scan import scan
from sim_core.spec import from_dict, load, to_plain

from conftest import SHARED_SPECS

SPEC = {p.stem: p for p in SHARED_SPECS}
pytestmark = pytest.mark.timeout(300)


def small_brunel():
    data = to_plain(load(SPEC["brunel_small"]))
    data["populations"]["E"]["size"], data["populations"]["I"]["size"] = 800, 200
    for p in data["projections"][:4]:
        p["rule"]["indegree"] = p["rule"]["indegree"] * 2 // 5
    return from_dict(data)


def test_2x2_scan_on_a_2_worker_local_cluster():
    spec = small_brunel()
    seen = []
    res = scan(spec, {"inputs.ext.params.rate": [6000.0, 12000.0], "projections[2].synapse.weight": [-0.6, -1.8]},
               t_sim=200.0, t_presim=50.0, workers=2, on_result=seen.append)
    assert [p["params"] for p in res.points] == [
        {"inputs.ext.params.rate": r, "projections[2].synapse.weight": w} for r in (6000.0, 12000.0)
        for w in (-0.6, -1.8)]
    assert len(seen) == 4 and not any(p.get("error") for p in res.points)
    rate = {(p["params"]["inputs.ext.params.rate"], p["params"]["projections[2].synapse.weight"]): p["rates_hz"]["E"]
            for p in res.points}
    assert rate[(12000.0, -0.6)] > rate[(6000.0, -0.6)]  # more drive, more spikes
    assert rate[(12000.0, -1.8)] < rate[(12000.0, -0.6)]  # more inhibition, fewer
    # two worker processes ran the points, one thread each
    reg = Registry()
    runs = reg.runs(group=res.scan_id)
    assert len(runs) == 4 and all(r["status"] == "complete" and r["kind"] == "scan" for r in runs)
    assert all(r["threads"] == 1 and r["sim_s"] > 0 for r in runs)
    assert len({r["spec_sha256"] for r in runs}) == 4 and {r["seed"] for r in runs} == {spec.seed}
    assert sorted(r["id"] for r in runs) == sorted(p["run_id"] for p in res.points)
    by_id = {r["id"]: r for r in runs}
    for p in res.points:  # the registry holds each point's own spec and parameters
        r = reg.get(p["run_id"])
        assert r["params"] == p["params"] and by_id[p["run_id"]]["rates_hz"] == p["rates_hz"]
        assert r["spec"]["inputs"]["ext"]["params"]["rate"] == p["params"]["inputs.ext.params.rate"]
    df = res.frame()
    heat = df.pivot(index="inputs.ext.params.rate", columns="projections[2].synapse.weight", values="rates_hz.E")
    assert heat.shape == (2, 2)
    flat = runs_frame(group=res.scan_id, columns=["id", "params.*", "rates_hz.E"])
    assert list(flat.columns) == ["id", "params.inputs.ext.params.rate", "params.projections[2].synapse.weight",
                                  "rates_hz.E"]


def test_scan_cli_json_on_an_existing_cluster(tmp_path):
    import logging
    from distributed import LocalCluster
    from sim_core.scan.runner import WORKER_ENV
    from sim_core.spec import save
    spec = tmp_path / "small.yaml"
    save(small_brunel(), spec)
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None, silence_logs=logging.ERROR,
                      env=dict(WORKER_ENV)) as cluster:
        res = subprocess.run([sys.executable, "-m", "sim_core.cli", "scan", spec, "--param",
                              "inputs.ext.params.rate=6000,9000", "--scheduler", cluster.scheduler_address,
                              "--t-sim", "100", "--json"], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    points = json.loads(res.stdout.strip().splitlines()[-1])
    assert [p["params"] for p in points] == [{"inputs.ext.params.rate": 6000}, {"inputs.ext.params.rate": 9000}]
    assert all(set(p["rates_hz"]) == {"E", "I"} and set(p["cv_isi"]) == {"E", "I"} for p in points)
    assert all(set(p["synchrony"]) == {"E", "I"} and p["network_synchrony"] > 0 for p in points)
    assert "run/s" in res.stderr or "2/2" in res.stderr  # the progress bar
    assert [r["status"] for r in Registry().runs(kind="scan")] == ["complete", "complete"]
    bad = subprocess.run([sys.executable, "-m", "sim_core.cli", "scan", spec, "--param", "inputs.bgg.params.rate=1"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and bad.stderr.strip().splitlines() == [
        "spikescope: error: --param inputs.bgg.params.rate: 'bgg' is not in inputs; valid: ext"]
