"""Structural plasticity, weight snapshots and the moving spot input: reproducible, counted,
bounded, and written as SPEC.md says."""
import json

import numpy as np
import pytest

from sim_core.engine.simulation import Simulation
from sim_core.errors import SpecError
from sim_core.spec import from_dict

SHEET = {"kind": "grid", "shape": [10, 10], "extent": [10.0, 10.0], "periodic": True}


def _rewiring_spec(rewiring, synapse=None, rule=None, seed=3):
    return {
        "format": "spikescope/1", "name": "rewire", "dt": 0.1, "seed": seed,
        "populations": {
            "src": {"model": "iaf_psc_alpha", "size": 100, "params": {"I_e": {"dist": "uniform", "low": 380.0,
                                                                               "high": 460.0}}, "positions": SHEET},
            "tgt": {"model": "iaf_psc_alpha", "size": 100, "params": {"I_e": 330.0}, "positions": SHEET},
        },
        "projections": [{
            "source": "src", "target": "tgt",
            "rule": rule or {"rule": "pairwise_bernoulli", "p": {"spatial": "gaussian", "p_center": 0.5, "sigma": 2.0}},
            "synapse": synapse or {"model": "stdp_synapse", "weight": 50.0, "delay": 1.0,
                                   "params": {"lambda": 0.02, "alpha": 1.2, "Wmax": 100.0}},
            "rewiring": rewiring,
        }],
        "recorders": {"weights": {"projections": [0], "interval": 100.0}},
    }


REWIRING = {"interval": 1.0, "attempts": 20, "capacity": 30, "threshold": 50.0, "p_elim_below": 0.5,
            "p_elim_above": 0.01}


def _run(data, t=1000.0):
    sim = Simulation(from_dict(data))
    sim.run(t)
    return sim


def test_rewiring_is_reproducible_and_seeded():
    a, b = _run(_rewiring_spec(REWIRING)), _run(_rewiring_spec(REWIRING))
    ca, cb = a.backend.plasticity_counters(), b.backend.plasticity_counters()
    assert ca == cb and ca["rewiring"][0]["formed"] > 100 and ca["rewiring"][0]["eliminated"] > 100
    for x, y in zip(a.backend.weight_slots(0), b.backend.weight_slots(0)):
        assert np.array_equal(x, y, equal_nan=True)
    c = _run(_rewiring_spec(REWIRING, seed=4)).backend.plasticity_counters()
    assert c["rewiring"][0]["formed"] != ca["rewiring"][0]["formed"]


def test_rewiring_counts_follow_the_rule():
    """A constant p = 0.05, nothing eliminated: formations follow attempts x p until the rows
    are full; then formations fail, are counted, and the run goes on."""
    rw = {"interval": 1.0, "attempts": 50, "capacity": 20, "p_elim_below": 0.0, "p_elim_above": 0.0}
    data = _rewiring_spec(rw, synapse={"weight": 10.0, "delay": 1.0},
                          rule={"rule": "pairwise_bernoulli", "p": 0.05})
    sim = Simulation(from_dict(data))
    initial = sim.backend.plasticity_counters()["rewiring"][0]["synapses"]
    sim.run(100.0)  # 100 events x 50 attempts x p 0.05 x 95 % missing pairs: about 240 formations
    early = sim.backend.plasticity_counters()["rewiring"][0]
    assert abs(early["formed"] - 5000 * 0.05 * 0.95) < 4 * np.sqrt(240) and early["failed_formations"] == 0
    sim.run(2900.0)  # 145,000 attempts more: the rows fill up
    ct = sim.backend.plasticity_counters()["rewiring"][0]
    assert ct["eliminated"] == 0
    assert ct["synapses"] == initial + ct["formed"] == 100 * 20  # every row full
    assert ct["failed_formations"] > 1000
    src, tgt, w = sim.weights(0)
    assert len(src) == 2000 and np.all(w == 10.0)
    pairs = set(zip(src.tolist(), tgt.tolist()))
    assert len(pairs) == 2000  # no pair formed twice
    assert sum(ct["formed_by_distance"]) == ct["formed"]


def test_eliminations_depend_on_the_weight_threshold():
    """Every synapse below the threshold goes (p 1) when drawn, none above it (p 0)."""
    static = {"weight": 10.0, "delay": 1.0}
    weak = _run(_rewiring_spec({**REWIRING, "threshold": 20.0, "p_elim_below": 1.0, "p_elim_above": 0.0},
                               synapse=static), 300.0).backend.plasticity_counters()["rewiring"][0]
    strong = _run(_rewiring_spec({**REWIRING, "threshold": 5.0, "p_elim_below": 1.0, "p_elim_above": 0.0},
                                 synapse=static), 300.0).backend.plasticity_counters()["rewiring"][0]
    assert weak["eliminated"] > 100 and strong["eliminated"] == 0


def test_formation_is_distance_dependent():
    """With a Gaussian p(d) (p_center 0.05: nearly every pair is missing, so formations follow
    p(d) alone) the formations' distances are distributed as p(d) over the torus's pairs."""
    rw = {"interval": 1.0, "attempts": 400, "capacity": 60, "p_elim_below": 0.0, "p_elim_above": 0.0}
    data = _rewiring_spec(rw, synapse={"weight": 10.0, "delay": 1.0},
                          rule={"rule": "pairwise_bernoulli", "p": {"spatial": "gaussian", "p_center": 0.05,
                                                                   "sigma": 1.5}})
    sim = _run(data, 300.0)
    ct = sim.backend.plasticity_counters()["rewiring"][0]
    hist, width = np.array(ct["formed_by_distance"]), ct["bin_mm"]
    pos = sim.network.connectome.positions["src"]
    d = pos[:, None, :] - pos[None, :, :]
    d -= 10.0 * np.round(d / 10.0)
    r = np.hypot(d[..., 0], d[..., 1]).ravel()
    p = 0.05 * np.exp(-r ** 2 / (2 * 1.5 ** 2))
    expected = np.bincount(np.minimum((r / width).astype(int), len(hist) - 1), p, minlength=len(hist))
    expected *= hist.sum() / expected.sum()
    assert hist.sum() > 500
    seen = expected > 5
    chi2 = (((hist - expected) ** 2)[seen] / expected[seen]).sum()
    assert chi2 < 3 * seen.sum(), (hist, expected.round(1))  # chi^2 about its degrees of freedom
    assert hist[expected == 0].sum() == 0


def test_plastic_projections_refuse_what_they_cannot_be():
    bad = _rewiring_spec(None)
    bad["projections"][0]["synapse"]["resolution"] = {"levels": 8}
    with pytest.raises(SpecError, match=r"projections\[0\]\.synapse\.resolution: a plastic synapse"):
        from_dict(bad)
    bad = _rewiring_spec(None)
    bad["projections"][0]["synapse"]["weight"] = -5.0
    with pytest.raises(SpecError, match=r"projections\[0\]\.synapse\.weight"):
        from_dict(bad)
    bad = _rewiring_spec(REWIRING, rule={"rule": "fixed_indegree", "indegree": 5})
    with pytest.raises(SpecError, match=r"projections\[0\]\.rule: a rewiring projection"):
        from_dict(bad)
    bad = _rewiring_spec({**REWIRING, "capacity": 2})
    with pytest.raises(Exception, match=r"rewiring\.capacity: 2 synapses per row"):
        Simulation(from_dict(bad))


def test_weight_snapshots_go_to_weights_h5(tmp_path):
    from sim_core.cli import main
    from sim_core.io.weights_h5 import read_weights
    spec = _rewiring_spec(None)
    spec["projections"][0].pop("rewiring")
    path = tmp_path / "stdp.json"
    path.write_text(json.dumps(spec))
    out = tmp_path / "run"
    assert main(["run", str(path), "--t-sim", "250", "--out", str(out), "--json", "--no-record"]) == 0
    w = read_weights(out / "weights.h5")[0]
    assert list(w["times"]) == [0.0, 100.0, 200.0, 250.0]  # from t = 0, and at the end
    assert w["weight"].shape == (4, len(w["source"])) and len(w["source"]) == len(w["target"]) > 100
    assert np.all(w["weight"][0] == 50.0) and not np.all(w["weight"][-1] == 50.0)
    sim = _run(_rewiring_spec(None) | {"projections": spec["projections"]}, 250.0)
    assert np.array_equal(sim.weights(0)[2], w["weight"][-1])


def test_a_rewiring_projection_is_recorded_slot_by_slot():
    sim = _run(_rewiring_spec(REWIRING), 300.0)
    sim.snapshot_weights()
    a = sim.weight_record.arrays(0)
    assert a["target"].shape == a["weight"].shape == (4, 100 * 30)
    assert np.all(np.isnan(a["weight"][a["target"] < 0]))
    assert (a["target"][0] != a["target"][-1]).any()  # the synapses changed


def test_the_spot_moves_and_drives_its_neighbourhood():
    data = {
        "format": "spikescope/1", "name": "spot", "dt": 0.1,
        "populations": {"p": {"model": "parrot_neuron", "size": 256,
                              "positions": {"kind": "grid", "shape": [16, 16], "extent": [16.0, 16.0],
                                            "periodic": True}}},
        "inputs": {"spot": {"model": "spot_poisson_generator",
                            "params": {"rate": 5.0, "peak_rate": 152.8, "sigma": 2.0, "period": 20.0}}},
        "projections": [{"source": "spot", "target": "p", "rule": {"rule": "all_to_all"},
                         "synapse": {"weight": 1.0, "delay": 0.1}}],
    }
    sim = Simulation(from_dict(data))
    centres, near, far = [], 0, 0
    pos = sim.network.connectome.positions["p"]
    for _ in range(50):
        t0 = sim.t
        sim.run(20.0)
        centres.append(sim.spot.centres[0].copy())
        t, i = sim.spikes("p")
        sel = t > t0
        d = pos[i[sel]] - centres[-1]
        d -= 16.0 * np.round(d / 16.0)
        r = np.hypot(d[:, 0], d[:, 1])
        near += (r < 2.0).sum()
        far += (r > 6.0).sum()
    assert len({tuple(np.round(c, 6)) for c in centres}) == 50
    rate = len(sim.spikes("p")[0]) / 256 / 1.0
    expected = 5.0 + 152.8 * 2 * np.pi * 4.0 / 256  # mean over the torus: 20 spikes/s
    assert abs(rate - expected) < 0.1 * expected
    # 12.6 mm^2 within 2 mm against 143 beyond 6: far more spikes per area near the spot
    assert near / (np.pi * 4) > 10 * far / (256 - np.pi * 36)


def test_topomap_run_reports_rewiring_and_the_map(tmp_path, capsys):
    """`spikescope run topomap --json`: structural counts and the map's measures at every
    weight snapshot (the first at t = 0), and weights.h5 for both plastic projections."""
    from sim_core.cli import main
    assert main(["run", "topomap", "--t-sim", "1000", "--json", "--no-record", "--out", str(tmp_path)]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    s = out["structural"]
    assert s["formed"] > 100 and s["synapses"] > 3000 and s["failed_formations"] == 0
    assert set(s["projections"]) == {"1", "2"}
    m = out["topomap"]
    assert m["projection"] == 1 and m["times_ms"] == [0.0, 1000.0]
    assert 2.0 < m["rf_spread"][0] < 3.5 and 0.5 < m["rf_error"][0] < 2.5  # the initial Gaussian profile
    assert out["plasticity"]["history_overflows"] == 0 and out["rates_hz"]["input"] > 15
    from sim_core.io.weights_h5 import read_weights
    w = read_weights(tmp_path / "weights.h5")
    assert set(w) == {1, 2} and w[1]["target"].shape == w[1]["weight"].shape == (2, 256 * 64)


def test_a_static_rewiring_projection_is_delivered_once_and_kept_off_the_gpu():
    """A static synapse with rewiring runs in the plastic rows only (it was delivered twice,
    and the GPU ran it without rewiring)."""
    from sim_core.engine.simulation import _plastic_on_cpu
    from sim_core.errors import BackendError
    static = {"weight": 10.0, "delay": 1.0}
    quiet = {"interval": 10_000.0, "attempts": 1, "capacity": 60}  # no event in the run
    with_rw = from_dict(_rewiring_spec(quiet, synapse=static))
    plain = _rewiring_spec(None, synapse=static)
    plain["projections"][0].pop("rewiring")
    a, b = Simulation(with_rw), Simulation(from_dict(plain))
    a.run(500.0)
    b.run(500.0)
    assert a.backend.n_synapses == b.backend.n_synapses
    for name in ("src", "tgt"):
        assert np.array_equal(a.spikes(name)[0], b.spikes(name)[0])
        assert np.array_equal(a.spikes(name)[1], b.spikes(name)[1])
    assert _plastic_on_cpu(with_rw, "auto", "gpu") == "cpu"
    with pytest.raises(BackendError, match=r"projections\[0\] is plastic"):
        _plastic_on_cpu(with_rw, "gpu", "gpu")


def test_edits_a_plastic_network_cannot_take_live_rebuild():
    """Plastic weights and parameters, rewiring, tau_minus and the spot's parameters live in
    the rows and the drive: changing them rebuilds (they were accepted and ignored, or
    raised after half the edit was applied)."""
    from sim_core.engine.live import can_apply_live
    base = _rewiring_spec(REWIRING)
    old = from_dict(base)
    for change in (lambda d: d["projections"][0]["synapse"].update(weight=60.0),
                   lambda d: d["projections"][0]["synapse"]["params"].update(alpha=1.0),
                   lambda d: d["projections"][0]["rewiring"].update(attempts=5),
                   lambda d: d["populations"]["tgt"]["params"].update(tau_minus=30.0)):
        d = json.loads(json.dumps(base))
        change(d)
        assert not can_apply_live(old, from_dict(d))
    d = json.loads(json.dumps(base))
    d["populations"]["tgt"]["params"]["I_e"] = 340.0  # a neuron parameter still applies live
    assert can_apply_live(old, from_dict(d))


def test_bad_plasticity_input_names_its_field():
    d = _rewiring_spec({**REWIRING, "weight": 500.0})
    with pytest.raises(SpecError, match=r"projections\[0\]\.rewiring\.weight: 500.0 lies outside"):
        from_dict(d)
    for projections, msg in (([], "name at least one"), ([0, 0], "names a projection twice")):
        d = _rewiring_spec(REWIRING)
        d["recorders"]["weights"]["projections"] = projections
        with pytest.raises(SpecError, match=rf"recorders\.weights\.projections: .*{msg}"):
            from_dict(d)
    spot = {"format": "spikescope/1", "name": "s", "dt": 0.1,
            "populations": {"p": {"model": "parrot_neuron", "size": 4,
                                  "positions": {"kind": "grid", "shape": [2, 2], "extent": [2.0, 2.0]}}},
            "inputs": {"spot": {"model": "spot_poisson_generator", "params": {"period": 0.04}}},
            "projections": [{"source": "spot", "target": "p", "rule": {"rule": "all_to_all"},
                             "synapse": {"weight": 1.0, "delay": 0.1}}]}
    with pytest.raises(SpecError, match=r"inputs\.spot\.params\.period: 0.04 ms is not a positive multiple"):
        from_dict(spot)
    spot["inputs"]["spot"]["params"] = {"tiles": 1.5}
    with pytest.raises(SpecError, match=r"inputs\.spot\.params\.tiles"):
        from_dict(spot)
    spot["inputs"]["spot"]["params"] = {}
    spot["projections"][0]["synapse"]["weight"] = -1.0
    with pytest.raises(SpecError, match=r"projections\[0\]\.synapse\.weight: a parrot_neuron"):
        from_dict(spot)


def test_the_nest_export_refuses_what_nest_cannot_run():
    from sim_core.io.nest_export import pynest_script
    from sim_core.models.registry import preset_dict
    with pytest.raises(SpecError, match=r"inputs\.spot\.model: spot_poisson_generator has no NEST counterpart"):
        pynest_script(preset_dict("topomap", 1))
    with pytest.raises(SpecError, match=r"projections\[0\]\.rewiring"):
        pynest_script(_rewiring_spec(REWIRING))
