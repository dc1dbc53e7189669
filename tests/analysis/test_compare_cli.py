"""``spikescope compare RUN_DIR... [--json]`` on directories written by ``spikescope run --out``."""
import json
import os
import subprocess
import sys

import numpy as np
import yaml
from scipy.stats import ks_2samp

from conftest import SHARED_SPECS
from sim_core.io.sonata import read_spikes

SPEC = {p.stem: p for p in SHARED_SPECS}


def cli(*args):
    env = {**os.environ, "SPIKESCOPE_REGISTRY": "off"}
    return subprocess.run([sys.executable, "-m", "sim_core.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=600, env=env)


def test_compare_runs_with_seed_yardstick(tmp_path):
    other = yaml.safe_load(SPEC["brunel_small"].read_text())
    other["projections"][0]["synapse"]["weight"] = {"dist": "lognormal", "mu": -2.1, "sigma": 1.0}
    other["projections"][0]["synapse"]["resolution"] = {"levels": 4, "method": "mean_variance"}
    other_path = tmp_path / "other.yaml"
    other_path.write_text(yaml.safe_dump(other))
    dirs = {k: tmp_path / k for k in ("a", "b", "c")}
    for key, model, seed in (("a", SPEC["brunel_small"], 1), ("b", SPEC["brunel_small"], 2), ("c", other_path, 2)):
        res = cli("run", model, "--t-sim", 300, "--t-presim", 100, "--seed", seed,
                  "--threads", 1, "--json", "--out", dirs[key])
        assert res.returncode == 0, res.stderr
    res = cli("compare", dirs["a"], dirs["b"], dirs["c"], "--json", "--subsample", 40)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["reference"] == str(dirs["a"]) and out["replicates"] == [str(dirs["b"])]
    assert [r["replicate"] for r in out["runs"]] == [True, False]
    assert out["params"] == {"bin_size_ms": 2.0, "subsample": 40, "subsample_seed": 12345}
    # the KS distance of rates, recomputed from the spike files: spikes after t_presim
    a, b = read_spikes(dirs["a"] / "spikes.h5"), read_spikes(dirs["b"] / "spikes.h5")
    rate = lambda s, n: np.bincount(s[1][s[0] > 100.0], minlength=n) / 0.3  # noqa: E731
    d = ks_2samp(rate(a["E"], 2000), rate(b["E"], 2000)).statistic
    assert out["runs"][0]["ks"]["E"]["rate"] == d
    assert out["seed_to_seed"]["E"]["rate"] == {"mean": d, "std": 0.0, "max": d, "n_pairs": 1}
    assert set(out["runs"][1]["ks"]["I"]) == {"rate", "cv", "cc"}
    text = cli("compare", dirs["a"], dirs["c"])
    assert text.returncode == 0 and "no seed replicates" in text.stdout and "KS" in text.stdout


def test_compare_bad_directory_is_one_line_exit_2(tmp_path):
    res = cli("compare", tmp_path / "missing")
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "run.json" in lines[0] and "Traceback" not in res.stderr
