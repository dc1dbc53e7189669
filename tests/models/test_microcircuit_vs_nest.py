"""microcircuit --scale 0.1 against NEST 3.10 running the same exported spec, over seeds:
every population's mean rate lies within NEST's own seed-to-seed range (+5 %)."""
import json
import subprocess
import sys

import numpy as np
import pytest

from sim_core.analysis.stats import population_summary
from sim_core.engine.simulation import Simulation
from sim_core.io.nest_export import pynest_script
from sim_core.models.registry import preset_dict
from sim_core.spec import from_dict, to_plain

pytest.importorskip("nest")
pytestmark = [pytest.mark.nest, pytest.mark.slow]
SEEDS = (1, 2, 3)


def test_microcircuit_rates_within_nest_seed_range(tmp_path):
    spec = from_dict(preset_dict("microcircuit", 0.1))
    script = tmp_path / "mc_nest.py"
    script.write_text(pynest_script(to_plain(spec)))
    ours, ref = [], []
    for seed in SEEDS:
        sim = Simulation(spec, seed=seed)
        sim.run(1500.0)
        ours.append(population_summary(sim, 500.0, 1500.0)[0])
        res = subprocess.run([sys.executable, str(script), "--t-presim", "500", "--t-sim", "1000",
                              "--seed", str(seed), "--threads", "2"], capture_output=True, text=True, timeout=600)
        assert res.returncode == 0, res.stderr[-2000:]
        ref.append(json.loads(res.stdout.strip().splitlines()[-1])["rates_hz"])
    lines = []
    for pop in spec.populations:
        o = np.array([r[pop] for r in ours])
        n = np.array([r[pop] for r in ref])
        lines.append(f"{pop}: {o.mean():.3f} vs NEST {n.mean():.3f} [{n.min():.3f}, {n.max():.3f}]")
        assert abs(o.mean() - n.mean()) <= np.ptp(n) + 0.05 * n.mean(), lines
    print("\n".join(lines))
