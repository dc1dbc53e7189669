"""The CLI contract other tools rely on: JSON summary, SONATA output, one-line errors."""
import json
import subprocess
import sys

import h5py
import numpy as np
import pytest

from conftest import SHARED_SPECS

SPEC = {p.stem: p for p in SHARED_SPECS}


def run_cli(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "sim_core.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)


def test_run_json_summary_and_out(tmp_path):
    res = run_cli("run", SPEC["brunel_small"], "--t-sim", 300, "--t-presim", 100, "--json", "--out", tmp_path)
    assert res.returncode == 0, res.stderr
    s = json.loads(res.stdout.strip().splitlines()[-1])
    for key in ("n_neurons", "n_synapses", "build_s", "sim_s", "rtf", "backend", "bytes_per_synapse",
                "rates_hz", "cv_isi"):
        assert key in s
    assert s["n_neurons"] == 2500 and s["n_synapses"] == 625000 and s["backend"] == "cpu"
    assert s["rtf"] == pytest.approx(s["sim_s"] / 0.4, rel=1e-2)
    assert 0 < s["bytes_per_synapse"] < 8
    assert set(s["rates_hz"]) == {"E", "I"} and s["rates_hz"]["E"] > 5
    assert "%|" not in res.stderr  # no progress bar with --json
    with h5py.File(tmp_path / "spikes.h5") as f:
        ts, ids = f["spikes/E/timestamps"][()], f["spikes/E/node_ids"][()]
    assert np.all(np.diff(ts) >= 0) and ids.max() < 2000 and ts.max() <= 400.0
    # rates in the summary are those of the spikes written, after t_presim
    assert s["rates_hz"]["E"] == pytest.approx(np.sum(ts > 100.0) / 2000 / 0.3, rel=1e-9)
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["spec"]["name"] == "brunel-small" and run["seed"] == 7


def test_progress_bar_on_stderr_without_json():
    res = run_cli("run", SPEC["two_neurons"], "--t-sim", 100)
    assert res.returncode == 0
    assert "two-neurons" in res.stderr and "post" in res.stdout
    assert "connecting two-neurons" in res.stderr  # the build has its bar too (minutes for large ones)
    assert "connecting" not in run_cli("run", SPEC["two_neurons"], "--t-sim", 10, "--json").stderr


@pytest.mark.parametrize("args, words", [
    (["run", "nosuchmodel"], "neither a spec file nor a preset"),
    (["run", "brunel", "--t-sim", "-5"], "--t-sim"),
    (["run", "brunel", "--scale", "abc"], "--scale"),
    (["run", "brunel", "--backend", "tpu"], "--backend"),
    (["run", SPEC["two_neurons"], "--scale", "0.5"], "--scale: applies to presets only"),
])
def test_bad_arguments_one_line_exit_2(args, words):
    res = run_cli(*args)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0] and "Traceback" not in res.stderr


def test_bad_spec_one_line_exit_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(SPEC["brunel_small"].read_text().replace("indegree: 50}", "indegree: 5000, allow_multapses: false}", 1))
    res = run_cli("run", bad)
    assert res.returncode == 2
    assert res.stderr.strip() == ("spikescope: error: projections[2].rule.indegree: 5000 exceeds the 500 "
                                  "sources of 'I' while allow_multapses is false")


def test_too_large_network_refused_before_allocating(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_text("format: spikescope/1\nname: big\npopulations:\n  E: {model: iaf_psc_exp, size: 10000000}\n"
                   "projections:\n  - {source: E, target: E, rule: {rule: fixed_indegree, indegree: 100000},"
                   " synapse: {weight: 1.0}}\n")
    res = run_cli("run", big, timeout=60)
    assert res.returncode == 2
    assert "network too large" in res.stderr and "GiB" in res.stderr


def test_cli_imports_no_gui_and_no_cupy():
    code = ("import sys, sim_core.cli as c; c.main(['validate', %r]); "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('cupy', 'panel', 'bokeh', 'holoviews', 'param')]; "
            "print('BAD', bad)" % str(SPEC["two_neurons"]))
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "BAD []" in res.stdout, res.stdout + res.stderr


def test_import_packages_without_cupy():
    code = "import sys, sim_core, sim_core.engine.simulation, app, widgets; print('cupy' in sys.modules)"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.stdout.strip() == "False", res.stderr


def test_schema_command():
    res = run_cli("schema")
    assert res.returncode == 0 and json.loads(res.stdout)["title"].startswith("SpikeScope")


def test_realtime_run_reports_its_periods_and_gives_the_same_spikes(tmp_path):
    """--realtime paces the run in periods (--loop-ms) and reports them; the spikes are
    those of the same run without pacing."""
    from sim_core.io.sonata import read_spikes
    outs = []
    for flags in ((), ("--realtime", "--loop-ms", "5")):
        out = tmp_path / ("rt" if flags else "plain")
        res = run_cli("run", "clustered", "--scale", "0.028", "--t-sim", 300, "--json", "--no-record", "--out", out,
                      *flags)
        assert res.returncode == 0, res.stderr
        outs.append((json.loads(res.stdout.strip().splitlines()[-1]), read_spikes(out / "spikes.h5")))
    (plain, a), (rt, b) = outs
    assert "loop" not in plain
    lp = rt["loop"]
    assert lp["realtime"] and lp["period_ms"] == 5.0 and lp["periods"] == 60
    assert isinstance(lp["deadlines_missed"], int) and lp["wall_s"] >= 0.3
    assert lp["per_period_ms"]["mean"] <= lp["per_period_ms"]["max"]
    assert a.keys() == b.keys() and sum(t.size for t, _ in a.values()) > 0
    for name in a:
        np.testing.assert_array_equal(a[name][0], b[name][0])
        np.testing.assert_array_equal(a[name][1], b[name][1])


def test_loop_period_must_be_positive():
    res = run_cli("run", "clustered", "--scale", "0.028", "--loop-ms", "0")
    assert res.returncode == 2 and res.stderr.strip().count("\n") == 0 and "--loop-ms" in res.stderr
