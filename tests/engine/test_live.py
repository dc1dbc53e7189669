"""Parameter changes applied to a running simulation without a rebuild behave exactly as
a fresh build with the new parameters (for the steps after the change)."""

import numpy as np

from sim_core.engine.live import apply_live, can_apply_live
from sim_core.engine.simulation import Simulation
from sim_core.spec import from_dict, to_plain


def _spec(rate=8000.0, weight=87.8, i_e=0.0, tau_m=10.0, amp=0.0):
    return from_dict({
        "format": "spikescope/1", "name": "live", "seed": 4,
        "populations": {"E": {"model": "iaf_psc_exp", "size": 200, "params": {"I_e": i_e, "tau_m": tau_m}},
                        "I": {"model": "iaf_psc_alpha", "size": 50}},
        "inputs": {"bg": {"model": "poisson_generator", "params": {"rate": rate}},
                   "dc": {"model": "dc_generator", "params": {"amplitude": amp}}},
        "projections": [
            {"source": "bg", "target": "E", "rule": {"rule": "all_to_all"}, "synapse": {"weight": 87.8, "delay": 1.5}},
            {"source": "bg", "target": "I", "rule": {"rule": "all_to_all"}, "synapse": {"weight": 87.8, "delay": 1.5}},
            {"source": "dc", "target": "I", "rule": {"rule": "all_to_all"}, "synapse": {"weight": 1.0, "delay": 1.0}},
            {"source": "E", "target": "I", "rule": {"rule": "fixed_indegree", "indegree": 20},
             "synapse": {"weight": weight, "delay": 1.0}}]})


def test_live_changes_equal_a_fresh_build():
    new = _spec(rate=12000.0, weight=150.0, i_e=200.0, tau_m=15.0, amp=300.0)
    old = _spec()
    assert can_apply_live(old, new)
    live = Simulation(old)
    live.run(50.0)
    apply_live(live, new)
    live.reset()  # same state as a fresh build of `new`: the arrays must agree
    live.run(100.0)
    fresh = Simulation(new)
    fresh.run(100.0)
    for pop in ("E", "I"):
        a, b = live.spikes(pop), fresh.spikes(pop)
        assert len(a[0]) > 0
        assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_structural_change_needs_rebuild():
    old = _spec()
    data = to_plain(old)
    data["populations"]["E"]["size"] = 300
    assert not can_apply_live(old, from_dict(data))
    data = to_plain(old)
    data["projections"][3]["rule"]["indegree"] = 30
    assert not can_apply_live(old, from_dict(data))


def test_windowed_queries_match_full_record():
    sim = Simulation(_spec(i_e=400.0))
    for _ in range(5):
        sim.run(40.0)
    steps, ids = sim.spike_record.window(120.0)
    t_all, _ = sim.spikes("E")
    n_e_after = np.sum(t_all > 120.0)
    assert np.all((steps + 1) * 0.1 > 120.0 - 1e-9)
    assert np.sum(ids < 200) == n_e_after


def test_live_e_l_then_reset_equals_a_fresh_build():
    """E_L changed live, then Reset: the initial V_m (unset: the model default, whatever
    E_L is) must be the fresh build's. Before the backend protocol, v0 kept the old E_L."""
    data = to_plain(_spec(i_e=300.0))
    old = from_dict(data)
    data["populations"]["E"]["params"]["E_L"] = -60.0
    new = from_dict(data)
    assert can_apply_live(old, new)
    live = Simulation(old)
    live.run(30.0)
    v_before = live.backend.membrane_potential().copy()
    apply_live(live, new)
    assert np.array_equal(live.backend.membrane_potential(), v_before)  # NEST keeps V_m
    live.reset()
    fresh = Simulation(new)
    assert np.array_equal(live.backend.membrane_potential(), fresh.backend.membrane_potential())
    live.run(60.0)
    fresh.run(60.0)
    a, b = live.spikes("E"), fresh.spikes("E")
    assert len(a[0]) > 0
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
