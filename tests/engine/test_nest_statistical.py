"""Random networks against NEST 3.10: per-population rates within 12 % and mean ISI CV
within 0.08, each averaged over seeds (connectivity and input differ per seed). NEST runs
the script of ``spikescope export --format nest``, so this also tests the exporter."""
import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest
import yaml

from sim_core.analysis.stats import population_summary
from sim_core.engine.simulation import Simulation
from sim_core.io.nest_export import pynest_script
from sim_core.spec import from_dict, to_plain

pytest.importorskip("nest", reason="NEST 3.10 is the reference (pip install nest-simulator==3.10.0)")
pytestmark = pytest.mark.nest

SPECS = pathlib.Path(__file__).parents[1] / "data" / "specs"
SEEDS = (1, 2, 3)

MIXED = {  # alpha neurons; three more rules; weight and delay distributions; heterogeneous I_e
    "format": "spikescope/1", "name": "mixed", "dt": 0.1,
    "populations": {
        "E": {"model": "iaf_psc_alpha", "size": 800, "params": {"tau_m": 20.0, "tau_syn_ex": 0.5, "tau_syn_in": 0.5,
              "E_L": 0.0, "V_reset": 0.0, "V_th": 20.0, "C_m": 250.0,
              "I_e": {"dist": "uniform", "low": 0.0, "high": 50.0}},
              "initial": {"V_m": {"dist": "uniform", "low": 0.0, "high": 20.0}}},
        "I": {"model": "iaf_psc_alpha", "size": 200, "params": {"tau_m": 20.0, "tau_syn_ex": 0.5, "tau_syn_in": 0.5,
              "E_L": 0.0, "V_reset": 0.0, "V_th": 20.0, "C_m": 250.0}},
    },
    "inputs": {"bg": {"model": "poisson_generator", "params": {"rate": 16000.0}}},
    "projections": [
        {"source": "E", "target": "E", "rule": {"rule": "pairwise_bernoulli", "p": 0.1, "allow_autapses": False},
         "synapse": {"weight": {"dist": "normal", "mean": 20.0, "std": 8.0, "low": 0.0}, "delay":
                     {"dist": "uniform", "low": 0.8, "high": 2.5}}},
        {"source": "E", "target": "I", "rule": {"rule": "fixed_total_number", "N": 16000},
         "synapse": {"weight": 20.0, "delay": 1.5}},
        {"source": "I", "target": "E", "rule": {"rule": "fixed_outdegree", "outdegree": 200, "allow_multapses": False},
         "synapse": {"weight": {"dist": "normal", "mean": -100.0, "std": 20.0, "high": 0.0},
                     "delay": {"dist": "normal", "mean": 1.0, "std": 0.5, "low": 0.05}}},
        {"source": "I", "target": "I", "rule": {"rule": "fixed_indegree", "indegree": 20},
         "synapse": {"weight": -100.0, "delay": 0.8}},
        {"source": "bg", "target": "E", "rule": {"rule": "all_to_all"}, "synapse": {"weight": 20.0, "delay": 1.0}},
        {"source": "bg", "target": "I", "rule": {"rule": "all_to_all"}, "synapse": {"weight": 20.0, "delay": 1.0}},
    ],
}


def _nest(data, seed, t_presim, t_sim, tmp_path):
    """The PyNEST script that `spikescope export --format nest` writes, run in NEST."""
    script = tmp_path / f"{data['name']}_nest.py"
    script.write_text(pynest_script(to_plain(from_dict(data))))
    res = subprocess.run([sys.executable, str(script), "--t-presim", str(t_presim), "--t-sim", str(t_sim),
                          "--seed", str(seed), "--threads", "2"], capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    return json.loads(res.stdout.strip().splitlines()[-1])


def _ours(data, seed, t_presim, t_sim):
    sim = Simulation(from_dict(data), seed=seed)
    sim.run(t_presim + t_sim)
    rates, cvs = population_summary(sim, t_presim, t_presim + t_sim)
    all_connections = sum(c.n_synapses for c in sim.network.connectome.connections)
    return {"rates_hz": rates, "cv_isi": cvs, "n_synapses": all_connections}


def _mean(runs, key, pop):
    return float(np.mean([r[key][pop] for r in runs]))


@pytest.mark.parametrize("name", ["brunel_small", "sheet_small", "mixed"])
def test_random_network_statistics_agree_with_nest(name, tmp_path):
    data = MIXED if name == "mixed" else yaml.safe_load((SPECS / f"{name}.yaml").read_text())
    t_presim, t_sim = 200.0, 1000.0
    ours = [_ours(data, s, t_presim, t_sim) for s in SEEDS]
    ref = [_nest(data, s, t_presim, t_sim, tmp_path) for s in SEEDS]
    report = []
    for pop in data["populations"]:
        r_o, r_n = _mean(ours, "rates_hz", pop), _mean(ref, "rates_hz", pop)
        c_o, c_n = _mean(ours, "cv_isi", pop), _mean(ref, "cv_isi", pop)
        report.append(f"{pop}: rate {r_o:.3f} vs NEST {r_n:.3f}, CV {c_o:.3f} vs {c_n:.3f}")
        assert r_n > 0.5, f"reference network silent: {report}"
        assert abs(r_o - r_n) <= 0.12 * r_n, report
        assert abs(c_o - c_n) <= 0.08, report
    # connectivity, inputs included: counts agree (exact for fixed-number rules, within 1 % otherwise)
    n_o, n_n = np.mean([r["n_synapses"] for r in ours]), np.mean([r["n_synapses"] for r in ref])
    assert abs(n_o - n_n) <= 0.01 * n_n
    print("\n" + "\n".join(report))
