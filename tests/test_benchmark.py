"""`spikescope bench`: CSV, plot and registry records; NEST side by side."""
import csv
import json
import subprocess
import sys

import pytest

from sim_core.benchmark import COLUMNS
from sim_core.io.registry import Registry


def bench(*args):
    return subprocess.run([sys.executable, "-m", "sim_core.cli", "bench", *map(str, args)], capture_output=True,
                          text=True, timeout=600)


def read_csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_bench_writes_csv_plot_and_records_runs(tmp_path):
    res = bench("--model", "brunel", "--scales", "0.1,0.15", "--t-sim", 20, "--seeds", 2, "--out", tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    rows = read_csv(tmp_path / "bench.csv")
    assert tuple(rows[0]) == COLUMNS
    assert [(r["scale"], r["seed"]) for r in rows] == [("0.1", "1"), ("0.1", "2"), ("0.15", "1"), ("0.15", "2")]
    assert [int(r["n_neurons"]) for r in rows] == [1250, 1250, 1875, 1875]
    for r in rows:
        assert r["model"] == "brunel" and r["backend"] == "cpu" and r["simulator"] == "spikescope"
        assert float(r["sim_s"]) > 0 and float(r["rtf"]) == pytest.approx(float(r["sim_s"]) / 0.02, rel=1e-3)
        assert int(r["n_synapses"]) == int(r["n_neurons"]) * 1250
    assert (tmp_path / "bench.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    meta = json.loads((tmp_path / "bench.json").read_text())
    runs = Registry().runs(group=meta["group"])
    assert [r["id"] for r in runs] == [int(r["run_id"]) for r in rows]
    assert all(r["kind"] == "bench" and r["status"] == "complete" for r in runs)
    assert "RTF" in res.stdout
    bad = bench("--model", "brunel", "--scales", "0.1,x", "--out", tmp_path)
    assert bad.returncode == 2 and "--scales" in bad.stderr


@pytest.mark.nest
def test_bench_compare_nest(tmp_path):
    pytest.importorskip("nest")
    res = bench("--model", "brunel", "--scales", "0.1", "--t-sim", 50, "--out", tmp_path, "--compare-nest")
    assert res.returncode == 0, res.stderr[-3000:]
    rows = read_csv(tmp_path / "bench.csv")
    assert [r["simulator"] for r in rows] == ["spikescope", "nest"]
    ours, nest = rows
    assert ours["n_neurons"] == nest["n_neurons"] == "1250" and ours["threads"] == nest["threads"]
    assert float(nest["build_s"]) > 0 and float(nest["sim_s"]) > 0
    assert (tmp_path / "nest" / "brunel_0.1.py").exists()  # the exported script NEST ran
    recorded = Registry().get(int(nest["run_id"]))
    assert recorded["backend"] == "nest" and recorded["versions"]["nest-simulator"] == "3.10.0"
    assert recorded["spec_sha256"] == Registry().get(int(ours["run_id"]))["spec_sha256"]
