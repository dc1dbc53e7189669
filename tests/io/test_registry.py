"""The run registry: what a run records, a killed run, concurrent writers, the CLI."""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from sim_core.engine.simulation import Simulation
from sim_core.io import registry
from sim_core.io.registry import Registry, record, runs_frame
from sim_core.spec import from_dict, load, to_plain

from conftest import SHARED_SPECS

SPEC = {p.stem: p for p in SHARED_SPECS}
REQUIRED = ("id", "spec_sha256", "seed", "backend", "versions", "host", "build_s", "sim_s")


def cli(*args, timeout=300, **kw):
    return subprocess.run([sys.executable, "-m", "sim_core.cli", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, **kw)


def small_spec(seed=4):
    data = to_plain(load(SPEC["brunel_small"]))
    data["populations"]["E"]["size"], data["populations"]["I"]["size"] = 400, 100
    for p in data["projections"][:4]:
        p["rule"]["indegree"] = p["rule"]["indegree"] // 5
    data["seed"] = seed
    return from_dict(data)


def test_record_writes_incomplete_then_complete(_registry_home):
    spec = small_spec()
    reg = Registry()
    assert reg.path == _registry_home / "registry.sqlite"
    with record(spec, seed=3, t_sim=200.0, t_presim=100.0) as run:
        row = reg.get(run.id)  # written before anything is built
        assert row["status"] == "incomplete" and row["sim_s"] is None and row["build_s"] is None
        sim = run.attach(Simulation(spec, seed=3))
        sim.run(300.0)
    r = reg.get(run.id)
    assert r["status"] == "complete" and r["finished"] >= r["created"]
    assert r["seed"] == 3 and r["backend"] == "cpu" and r["model"] == spec.name
    assert r["spec"] == to_plain(spec) and len(r["spec_sha256"]) == 64
    assert r["n_neurons"] == 500 and r["n_synapses"] == sim.n_synapses
    assert r["t_sim_ms"] == pytest.approx(200.0) and r["t_presim_ms"] == 100.0
    assert r["build_s"] == pytest.approx(sim.timers["build"] + sim.timers["load"])
    assert r["sim_s"] == pytest.approx(sim.timers["simulate"]) and r["rtf"] == pytest.approx(r["sim_s"] / 0.3)
    assert set(r["phases_s"]) >= {"build", "load", "compile", "simulate"}
    assert {"numpy", "numba", "python", "spikescope"} <= set(r["versions"])
    assert r["host"]["cores"] >= 1 and r["host"]["memory_bytes"] > 0 and r["host"]["cpu"]
    assert r["device"] and r["threads"] >= 1
    assert set(r["rates_hz"]) == {"E", "I"} and r["rates_hz"]["E"] > 0 and r["n_spikes"] > 0
    assert r["git"] is None or len(r["git"]["commit"]) == 40


def test_same_spec_and_seed_are_recognisable():
    spec = small_spec()
    ids = []
    for seed in (5, 5, 6):
        with record(spec, seed=seed) as run:
            run.attach(Simulation(spec, seed=seed)).run(150.0)
        ids.append(run.id)
    a, b, c = (Registry().get(i) for i in ids)
    assert a["spec_sha256"] == b["spec_sha256"] == c["spec_sha256"]
    assert a["spikes_sha256"] == b["spikes_sha256"] != c["spikes_sha256"]
    same = registry.compare(a, b)
    assert same["same_spec"] and same["same_seed"] and same["same_backend"] and same["identical_spikes"]
    assert not registry.compare(a, c)["same_seed"] and registry.compare(a, c)["identical_spikes"] is False
    # the hash is the spec's content, not its text: key order and written-out defaults do not change it
    data = to_plain(spec)
    shuffled = {k: data[k] for k in reversed(list(data))}
    shuffled["dt"] = 0.1
    with record(from_dict(shuffled), seed=5) as run:
        pass
    assert Registry().get(run.id)["spec_sha256"] == a["spec_sha256"]
    res = cli("runs", "list")
    assert res.returncode == 0 and f"#{ids[0]}" in res.stdout.splitlines()[2]  # run 2 repeats run 1


def test_failed_run_is_marked_failed():
    with pytest.raises(RuntimeError):
        with record(small_spec()) as run:
            raise RuntimeError("boom")
    r = Registry().get(run.id)
    assert r["status"] == "failed" and r["error"] == "RuntimeError: boom" and r["sim_s"] is None


def test_unwritable_registry_does_not_stop_a_run(tmp_path, monkeypatch, capsys):
    (tmp_path / "file").write_text("not a directory")
    monkeypatch.setenv("SPIKESCOPE_HOME", str(tmp_path / "file"))
    with record(small_spec()) as run:
        pass
    assert run.id is None and "registry" in capsys.readouterr().err
    monkeypatch.setenv("SPIKESCOPE_REGISTRY", "off")
    with record(small_spec()) as run:
        pass
    assert run.id is None


def test_killed_run_leaves_a_consistent_registry(_registry_home):
    done = cli("run", SPEC["two_neurons"], "--t-sim", 50, "--json")
    assert done.returncode == 0, done.stderr
    done_id = json.loads(done.stdout.splitlines()[-1])["run_id"]
    before = Registry().get(done_id)
    proc = subprocess.Popen([sys.executable, "-m", "sim_core.cli", "run", SPEC["brunel_small"], "--t-sim", "600000",
                             "--json"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while time.time() < deadline:  # wait until it is simulating
            rows = [r for r in Registry().runs() if r["pid"] == proc.pid]
            if rows:
                break
            time.sleep(0.2)
        assert rows and rows[0]["status"] == "incomplete"
        time.sleep(2.0)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    reg = Registry()
    assert reg.integrity_check() == "ok"
    killed = reg.get(rows[0]["id"])
    assert killed["status"] == "incomplete" and killed["sim_s"] is None and killed["build_s"] is None
    assert reg.get(done_id) == before  # completed runs intact
    res = cli("runs", "list", "--json")
    items = json.loads(res.stdout.splitlines()[-1])
    assert [i["id"] for i in items] == [done_id, killed["id"]]
    for item in items:
        assert all(k in item for k in REQUIRED)
    assert items[1]["sim_s"] is None and items[0]["sim_s"] > 0
    assert "ok" in cli("runs", "check").stdout
    assert "incomplete" in cli("runs", "list").stdout.splitlines()[-1]  # its process is gone


WRITER = """
import sys
from sim_core.io.registry import Registry
reg = Registry()
for i in range(int(sys.argv[1])):
    rid = reg.begin({"format": "spikescope/1", "name": "w", "populations": {}}, seed=i, backend="cpu")
    reg.complete(rid, build_s=0.1, sim_s=0.2, summary={"rates_hz": {"E": float(i)}})
"""


def test_concurrent_writers():
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, "40"]) for _ in range(4)]
    assert all(p.wait(timeout=120) == 0 for p in procs)
    reg = Registry()
    runs = reg.runs()
    assert len(runs) == 160 and all(r["status"] == "complete" for r in runs)
    assert len({r["id"] for r in runs}) == 160 and reg.integrity_check() == "ok"
    with sqlite3.connect(reg.path) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_runs_frame_selects_and_flattens():
    spec = small_spec()
    for seed in (1, 2):
        with record(spec, seed=seed, params={"inputs.ext.params.rate": 1000.0 * seed}) as run:
            run.attach(Simulation(spec, seed=seed)).run(100.0)
    df = runs_frame()
    assert len(df) == 2
    for col in ("id", "spec_sha256", "seed", "rates_hz.E", "cv_isi.I", "host.cpu", "versions.numba",
                "phases_s.simulate", "params.inputs.ext.params.rate"):
        assert col in df.columns, col
    assert list(df["params.inputs.ext.params.rate"]) == [1000.0, 2000.0]
    sel = runs_frame(columns=["id", "seed", "rates_hz.*"], seed=2)
    assert list(sel.columns) == ["id", "seed", "rates_hz.E", "rates_hz.I"] and list(sel["seed"]) == [2]
    assert runs_frame(status="failed").empty


def test_runs_cli_show_compare_and_errors():
    for _ in range(2):
        res = cli("run", SPEC["two_neurons"], "--t-sim", 50, "--json")
        assert res.returncode == 0, res.stderr
    show = json.loads(cli("runs", "show", 1, "--json").stdout)
    assert show["id"] == 1 and show["spec"]["name"] == "two-neurons" and show["kind"] == "cli"
    assert "spec_sha256:" in cli("runs", "show", 1).stdout
    c = json.loads(cli("runs", "compare", 1, 2, "--json").stdout)
    assert c["same_spec"] and c["same_seed"] and c["identical_spikes"]
    assert "same spec" in cli("runs", "compare", 1, 2).stdout
    res = cli("runs", "show", 99)
    assert res.returncode == 2 and res.stderr.strip() == f"spikescope: error: runs: no run 99 in " \
                                                          f"{os.environ['SPIKESCOPE_HOME']}/registry.sqlite"
    res = cli("run", SPEC["two_neurons"], "--t-sim", 50, "--no-record")
    assert res.returncode == 0 and len(Registry().runs()) == 2
