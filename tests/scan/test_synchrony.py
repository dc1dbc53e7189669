"""Scan metrics beyond rates and CVs: synchrony (the app's live measure, one definition),
per point, in the frame, the JSON and the registry; paths with an index list; Brunel's
phase diagram over g and eta, whose corners are two regimes."""
import numpy as np
import pytest

from app.reliability import soak_spec
from sim_core.analysis.stats import window_statistics
from sim_core.engine.simulation import Simulation
from sim_core.io.registry import Registry, runs_frame
from sim_core.scan import run_batch, run_point, scan
from sim_core.spec import from_dict, load, to_plain

from conftest import SHARED_SPECS

pytestmark = pytest.mark.timeout(300)
SPEC = {p.stem: p for p in SHARED_SPECS}


def small(rate: float, n: int = 400) -> dict:
    return to_plain(from_dict(soak_spec(n, rate)))


def test_scan_synchrony_is_the_live_statistics_synchrony_of_the_same_run():
    data, seed, t_presim, t_sim = small(10000.0), 3, 50.0, 300.0
    fields = run_point(data, seed, "cpu", t_sim, t_presim)
    sim = Simulation(from_dict(data), backend="cpu", seed=seed, threads=1)
    sim.run(t_presim + t_sim)
    assert sim.spike_record.n_spikes == fields["summary"]["n_spikes"]  # the same run
    sync = fields["summary"]["synchrony"]
    assert set(sync) == {"E", "I"}
    every_t, every_i, offset = [], [], 0
    for pop in ("E", "I"):
        times, ids = sim.spikes(pop)
        live = window_statistics(times, ids, sim.spec.populations[pop].size, t_presim, t_presim + t_sim)
        assert sync[pop] == live["synchrony"] and live["synchrony"] > 0
        every_t.append(times)
        every_i.append(ids + offset)
        offset += sim.spec.populations[pop].size
    # the whole network's, as the app's live line computes it over all recorded neurons
    live = window_statistics(np.concatenate(every_t), np.concatenate(every_i), offset, t_presim, t_presim + t_sim)
    assert fields["summary"]["network_synchrony"] == live["synchrony"]
    # batched points carry their own
    batched = run_batch([small(8000.0), data], seed, "cpu", t_sim, t_presim)
    assert all(set(b["summary"]["synchrony"]) == {"E", "I"} and b["summary"]["network_synchrony"] > 0
               for b in batched)


def test_synchrony_in_points_frame_json_and_registry():
    res = scan(from_dict(small(8000.0, n=200)), {"inputs.ext.params.rate": [6000.0, 12000.0]},
               t_sim=200.0, t_presim=50.0, workers=1)
    assert not any(p.get("error") for p in res.points)
    reg = Registry()
    for p, j in zip(res.points, res.to_json()):
        assert set(p["synchrony"]) == {"E", "I"} and p["network_synchrony"] > 0
        assert j["synchrony"] == p["synchrony"] and j["network_synchrony"] == p["network_synchrony"]
        run = reg.get(p["run_id"])
        assert run["synchrony"] == p["synchrony"] and run["network_synchrony"] == p["network_synchrony"]
    df = res.frame()
    assert list(df["synchrony.E"]) == [p["synchrony"]["E"] for p in res.points]
    assert list(df["network_synchrony"]) == [p["network_synchrony"] for p in res.points]
    flat = runs_frame(group=res.scan_id, columns=["id", "synchrony.*", "network_synchrony"])
    assert list(flat.columns) == ["id", "synchrony.E", "synchrony.I", "network_synchrony"]


def test_a_registry_written_before_synchrony_reads():
    """A run completed without synchrony (an older registry, or a plain `run`) reads with
    synchrony None, and its results stay where they were."""
    reg = Registry()
    data = small(8000.0, n=50)
    rid = reg.begin(data, seed=1, backend="cpu", kind="scan", params={"x": 1})
    reg.complete(rid, sim_s=0.1, summary={"rates_hz": {"E": 5.0}, "cv_isi": {"E": 0.9}, "n_spikes": 3})
    run = reg.get(rid)
    assert run["rates_hz"] == {"E": 5.0} and run["synchrony"] is None and run["network_synchrony"] is None
    assert run["extra"] is None
    assert list(runs_frame(columns=["id", "rates_hz.E", "synchrony.*"]).columns) == ["id", "rates_hz.E"]


def test_brunel_axes_name_g_and_eta_in_spec_paths():
    from sim_core.scan.phase import brunel_axes, brunel_network, brunel_params
    g, eta = brunel_axes(load(SPEC["brunel_small"]))  # the app's default model: J = 0.2 mV
    assert (g.path, g.unit) == ("projections[2,3].synapse.weight", -0.2)  # weight = -g J
    assert (eta.path, eta.unit) == ("inputs.ext.params.rate", 5000.0)  # 1000 theta / (J tau_m)
    assert g.value(-1.2) == 6.0 and eta.value(10000.0) == 2.0
    assert brunel_params(brunel_network(), g=[3, 6], eta=[2]) == {
        "projections[2,3].synapse.weight": [-1.5, -3.0], "inputs.ext.params.rate": [4000.0]}
    from sim_core.errors import SpecError
    exp = to_plain(load(SPEC["brunel_small"]))
    for pop in exp["populations"].values():
        pop["model"], pop["params"] = "iaf_psc_exp", {}
    with pytest.raises(SpecError, match="populations E and I of iaf_psc_delta"):
        brunel_axes(from_dict(exp))


def test_the_phase_diagram_shows_brunels_regimes():
    """Corners of the default grid (t_sim 500 ms after 100 ms): g = 3 synchronous regular
    (SR: ~330 spikes/s, CV < 0.2, synchrony > 200), g = 6 asynchronous irregular (AI:
    CV ~1, synchrony ~20) - measured 331/0.05/328 and 30/1.15/16.5."""
    from sim_core.scan import grid, point_specs
    from sim_core.scan.phase import brunel_network, brunel_params
    base = brunel_network()
    params = brunel_params(base, g=[3, 6], eta=[2])
    specs = point_specs(from_dict(base), grid(params))
    sr, ai = (run_point(s, base["seed"], "cpu", 500.0, 100.0)["summary"] for s in specs)
    assert sr["rates_hz"]["E"] > 250 and sr["cv_isi"]["E"] < 0.2 and sr["synchrony"]["E"] > 200
    assert 15 < ai["rates_hz"]["E"] < 60 and 0.8 < ai["cv_isi"]["E"] < 1.5 and ai["synchrony"]["E"] < 40
