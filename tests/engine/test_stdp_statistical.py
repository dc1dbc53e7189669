"""A random network with STDP on its excitatory recurrent synapses against NEST 3.10: rates,
ISI CVs and the final weight distribution agree within seed-to-seed variability (connectivity
and input differ per seed). NEST runs the script of ``spikescope export --format nest``
(``--weights-out``), so this also tests the export of plastic synapses."""
import json
import subprocess
import sys

import numpy as np
import pytest

from sim_core.analysis.compare import ks_distance
from sim_core.analysis.stats import population_summary
from sim_core.engine.simulation import Simulation
from sim_core.io.nest_export import pynest_script
from sim_core.spec import from_dict, to_plain

pytest.importorskip("nest", reason="NEST 3.10 is the reference (pip install nest-simulator==3.10.0)")
pytestmark = pytest.mark.nest

SEEDS = (1, 2, 3)
T_PRESIM, T_SIM = 200.0, 1000.0
NEURON = {"tau_m": 20.0, "tau_syn_ex": 0.5, "tau_syn_in": 0.5, "E_L": 0.0, "V_reset": 0.0, "V_th": 20.0,
          "C_m": 250.0, "tau_minus": 30.0}

PLASTIC = {
    "format": "spikescope/1", "name": "stdp_random", "dt": 0.1,
    "populations": {
        "E": {"model": "iaf_psc_alpha", "size": 800, "params": NEURON,
              "initial": {"V_m": {"dist": "uniform", "low": 0.0, "high": 20.0}}},
        "I": {"model": "iaf_psc_alpha", "size": 200, "params": NEURON},
    },
    "inputs": {"bg": {"model": "poisson_generator", "params": {"rate": 15000.0}}},
    "projections": [
        {"source": "E", "target": "E", "rule": {"rule": "fixed_indegree", "indegree": 80},
         "synapse": {"model": "stdp_synapse", "weight": {"dist": "uniform", "low": 10.0, "high": 40.0},
                     "delay": {"dist": "uniform", "low": 0.8, "high": 2.5},
                     "params": {"lambda": 0.02, "alpha": 1.1, "mu_plus": 0.4, "mu_minus": 0.4, "Wmax": 80.0,
                                "tau_plus": 15.0}}},
        {"source": "E", "target": "I", "rule": {"rule": "fixed_indegree", "indegree": 80},
         "synapse": {"weight": 20.0, "delay": 1.5}},
        {"source": "I", "target": "E", "rule": {"rule": "fixed_indegree", "indegree": 20},
         "synapse": {"weight": -100.0, "delay": 1.0}},
        {"source": "I", "target": "I", "rule": {"rule": "fixed_indegree", "indegree": 20},
         "synapse": {"weight": -100.0, "delay": 0.8}},
        {"source": "bg", "target": "E", "rule": {"rule": "all_to_all"}, "synapse": {"weight": 20.0, "delay": 1.0}},
        {"source": "bg", "target": "I", "rule": {"rule": "all_to_all"}, "synapse": {"weight": 20.0, "delay": 1.0}},
    ],
}


def _nest(seed, tmp_path):
    script = tmp_path / "stdp_random_nest.py"
    script.write_text(pynest_script(to_plain(from_dict(PLASTIC))))
    weights = tmp_path / f"w{seed}.npz"
    res = subprocess.run([sys.executable, str(script), "--t-presim", str(T_PRESIM), "--t-sim", str(T_SIM),
                          "--seed", str(seed), "--threads", "2", "--weights-out", str(weights)],
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    out["weights"] = np.load(weights)["0.weight"]
    return out


def _ours(seed):
    sim = Simulation(from_dict(PLASTIC), seed=seed)
    sim.run(T_PRESIM + T_SIM)
    rates, cvs = population_summary(sim, T_PRESIM, T_PRESIM + T_SIM)
    assert sim.backend.plasticity_counters()["history_overflows"] == 0
    return {"rates_hz": rates, "cv_isi": cvs, "weights": sim.weights(0)[2]}


def test_stdp_random_network_agrees_with_nest(tmp_path):
    ours = [_ours(s) for s in SEEDS]
    ref = [_nest(s, tmp_path) for s in SEEDS]
    report = []
    for pop in ("E", "I"):
        r_o, r_n = (float(np.mean([r["rates_hz"][pop] for r in x])) for x in (ours, ref))
        c_o, c_n = (float(np.mean([r["cv_isi"][pop] for r in x])) for x in (ours, ref))
        report.append(f"{pop}: rate {r_o:.2f} vs NEST {r_n:.2f}, CV {c_o:.3f} vs {c_n:.3f}")
        assert r_n > 2.0, report
        assert abs(r_o - r_n) <= 0.12 * r_n, report
        assert abs(c_o - c_n) <= 0.08, report
    # the weights moved, and their final distribution is NEST's within seed-to-seed variability
    w_o, w_n = [r["weights"] for r in ours], [r["weights"] for r in ref]
    assert all(len(a) == 800 * 80 for a in w_o + w_n)
    m_o, m_n = np.array([w.mean() for w in w_o]), np.array([w.mean() for w in w_n])
    s_o, s_n = np.array([w.std() for w in w_o]), np.array([w.std() for w in w_n])
    initial_std = 30.0 / np.sqrt(12.0)  # uniform on [10, 40]
    report.append(f"final weight mean {m_o.mean():.3f} vs NEST {m_n.mean():.3f} (initial 25), "
                  f"std {s_o.mean():.3f} vs {s_n.mean():.3f} (initial {initial_std:.3f})")
    assert abs(m_n.mean() - 25.0) > 0.5, report  # plasticity acted
    spread = max(np.ptp(m_n), np.ptp(m_o), 0.05)
    assert abs(m_o.mean() - m_n.mean()) <= 2 * spread, report
    assert abs(s_o.mean() - s_n.mean()) <= 2 * max(np.ptp(s_n), np.ptp(s_o), 0.05), report
    ks_between = np.mean([ks_distance(a, b) for a, b in zip(w_o, w_n)])
    ks_seeds = np.mean([ks_distance(w_n[i], w_n[j]) for i, j in ((0, 1), (0, 2), (1, 2))])
    report.append(f"KS ours vs NEST {ks_between:.4f}, NEST seed vs seed {ks_seeds:.4f}")
    assert ks_between <= 2 * ks_seeds + 0.01, report
    print("\n" + "\n".join(report))
