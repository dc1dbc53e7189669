"""The closed loop (engine.loop): periods, the user code's live changes, pacing. The same
seed and code give the same spikes with or without real time, and as a plain run with the
same changes made by hand at the same times."""
import numpy as np
import pytest

from sim_core.engine.live import apply_live
from sim_core.engine.loop import Control, run_loop
from sim_core.engine.simulation import Simulation
from sim_core.errors import SpecError, SpikeScopeError
from sim_core.models.registry import preset_dict
from sim_core.spec import from_dict

BRUNEL = {
    "format": "spikescope/1", "name": "b", "dt": 0.1, "seed": 5,
    "populations": {
        "E0": {"model": "iaf_psc_delta", "size": 80, "params": {"tau_m": 20.0, "t_ref": 2.0, "V_th": 20.0,
               "V_reset": 10.0, "E_L": 0.0, "C_m": 1.0}},
        "E1": {"model": "iaf_psc_delta", "size": 80, "params": {"tau_m": 20.0, "t_ref": 2.0, "V_th": 20.0,
               "V_reset": 10.0, "E_L": 0.0, "C_m": 1.0}},
    },
    "inputs": {"ext": {"model": "poisson_generator", "params": {"rate": 15000.0}},
               "dc": {"model": "dc_generator", "params": {"amplitude": 0.0}}},
    "projections": [
        {"source": "E0", "target": "E1", "rule": {"rule": "fixed_indegree", "indegree": 10},
         "synapse": {"weight": 0.1, "delay": 1.0}},
        {"source": "E1", "target": "E0", "rule": {"rule": "fixed_indegree", "indegree": 10},
         "synapse": {"weight": -0.3, "delay": 1.0}},
        {"source": "ext", "target": "E0", "rule": {"rule": "all_to_all"}, "synapse": {"weight": 0.2, "delay": 0.1}},
        {"source": "ext", "target": "E1", "rule": {"rule": "all_to_all"}, "synapse": {"weight": 0.2, "delay": 0.1}},
        {"source": "dc", "target": "E1", "rule": {"rule": "all_to_all"}, "synapse": {"weight": 1.0, "delay": 0.1}},
    ],
    "recorders": {"spikes": "all"},
}


def controller(log):
    """Holds E0 near 15 spikes/s through the Poisson rate, kicks E1 with DC, changes a weight
    and a neuron parameter: every kind of live change."""
    def code(period, control):
        log.append((period.index, period.t_start, period.t_stop, period.count("E0"), period.count("E1")))
        rate = control.spec.inputs["ext"].params["rate"]
        control.set_rate("ext", max(rate + 100.0 * (15.0 - period.rate("E0")), 0.0))
        if period.index == 3:
            control.set_amplitude("dc", 5.0)
            control.set_weight(0, 0.3)
        if period.index == 6:
            control.set_params("E1", tau_m=10.0)
    return code


def _spikes(sim):
    return {n: sim.spikes(n) for n in sim.spike_record.recorded}


def _same(a, b):
    for n in a:
        np.testing.assert_array_equal(a[n][0], b[n][0])
        np.testing.assert_array_equal(a[n][1], b[n][1])


def test_periods_see_their_spikes_and_a_loop_without_code_is_a_plain_run(backend):
    spec = from_dict(BRUNEL)
    plain = Simulation(spec, backend=backend)
    plain.run(20.0)  # short: the CUDA simulator runs these too
    looped = Simulation(spec, backend=backend)
    seen = []
    report = run_loop(looped, 20.0, lambda p, c: seen.append(p), period_ms=2.0)
    _same(_spikes(plain), _spikes(looped))
    assert report.periods == 10 and [p.t_stop for p in seen] == pytest.approx(np.arange(2, 21, 2))
    times, _ = plain.spikes("E0")
    for p in seen:
        assert p.count("E0") == np.sum((times > p.t_start) & (times <= p.t_stop))
        assert np.all((p.spikes["E0"][0] > p.t_start) & (p.spikes["E0"][0] <= p.t_stop))


def test_loop_is_deterministic_with_and_without_real_time_and_equals_changes_by_hand(backend):
    spec = from_dict(BRUNEL)
    runs = []
    for realtime in (False, True):
        sim = Simulation(spec, backend=backend)
        log = []
        report = run_loop(sim, 16.0, controller(log), period_ms=2.0, realtime=realtime, speed=2.0)
        runs.append((_spikes(sim), log, sim.spec))
        assert report.realtime is realtime and report.periods == 8
    _same(runs[0][0], runs[1][0])
    assert runs[0][1] == runs[1][1] and runs[0][2] == runs[1][2]
    assert runs[0][2].populations["E1"].params["tau_m"] == 10.0
    assert runs[0][2].inputs["ext"].params["rate"] != 15000.0  # the controller acted
    # by hand: the same changes through apply_live at the same times
    sim = Simulation(spec, backend=backend)
    for k in range(8):
        sim.step(20)
        control = Control(sim)
        controller([])(_period(sim, k), control)
        apply_live(sim, control.spec)
    _same(runs[0][0], _spikes(sim))


def _period(sim, k):
    from sim_core.engine.loop import Period, _period_spikes
    return Period(k, sim.t - 2.0, sim.t, sim.spec, _period_spikes(sim, sim.t - 2.0))


def test_pacing_keeps_to_the_wall_clock():
    """Paced, the loop is never ahead of the wall clock and waits no longer than it must;
    a period that ends after its deadline is counted and not slept for. (Which periods end
    late depends on the machine's load: only bounds are tested.)"""
    import time
    sim = Simulation(from_dict(BRUNEL), backend="cpu")
    t0 = time.perf_counter()
    report = run_loop(sim, 200.0, None, period_ms=20.0, realtime=True)
    wall = time.perf_counter() - t0
    busy = sum(report.sim_s) + sum(report.code_s)
    assert 0.2 <= wall <= 0.2 + busy + 0.15 and 0 <= report.late <= 10  # (sleeps overshoot under load)
    s = report.summary()
    assert s["periods"] == 10 and s["deadlines_missed"] == report.late and s["realtime"]
    fast = run_loop(sim, 200.0, None, period_ms=20.0, realtime=True, speed=1e4)  # 2 us per period: impossible
    assert fast.late == 10 and fast.wall_s < 0.2


@pytest.mark.parametrize("change, field", [
    (lambda c: c.set_rate("nope", 10.0), "inputs.nope"),
    (lambda c: c.set_rate("dc", 10.0), "inputs.dc"),
    (lambda c: c.set_rate("ext", -5.0), "inputs.ext.params.rate"),
    (lambda c: c.set_amplitude("dc", float("nan")), "inputs.dc.params.amplitude"),
    (lambda c: c.set_params("E0", tau_m=0.0), "populations.E0.params.tau_m"),
    (lambda c: c.set_params("E0", V_reset=30.0), "populations.E0.params.V_reset"),
    (lambda c: c.set_params("E0", nonsense=1.0), "populations.E0.params.nonsense"),
    (lambda c: c.set_weight(17, 1.0), r"projections\[17\]"),
])
def test_bad_changes_are_refused_with_the_field_and_change_nothing(change, field):
    sim = Simulation(from_dict(BRUNEL), backend="cpu")
    before = sim.spec
    with pytest.raises(SpecError, match=f"^{field}"):
        run_loop(sim, 20.0, lambda p, c: change(c), period_ms=10.0)
    assert sim.spec is before


def test_a_period_must_be_whole_steps():
    sim = Simulation(from_dict(BRUNEL), backend="cpu")
    with pytest.raises(SpikeScopeError, match="period: 0.05 ms"):
        run_loop(sim, 10.0, None, period_ms=0.05)


def test_cluster_rates_in_a_period():
    spec = from_dict(preset_dict("clustered", 0.028))  # 20 clusters of 6 E + 1 I: 140 neurons
    sim = Simulation(spec, backend="cpu")
    got = []
    run_loop(sim, 50.0, lambda p, c: got.append(p.cluster_rates()), period_ms=10.0)
    assert len(got) == 5 and sorted(got[-1]) == list(range(20))
    total = sum(sim.spikes(f"E{k}")[0].size for k in range(20))
    assert sum(r * 6 * 0.01 for g in got for r in g.values()) == pytest.approx(total)


def test_parameter_table_stays_small_and_right_over_many_live_edits():
    """A controller changes a population every period: the backend's parameter table is
    updated in place (not re-sorted over every neuron) and never piles up stale rows."""
    spec = from_dict(preset_dict("clustered", 0.1))
    sim = Simulation(spec, backend="cpu")
    values = iter(np.linspace(0.5, 1.5, 400))
    sizes = []

    def code(period, control):
        control.set_params("E0", I_e=float(next(values)))
        control.set_params("I3", tau_m=9.0 + 0.001 * period.index)
        sizes.append(sim.backend.neurons.P.shape[0])

    run_loop(sim, 400 * 0.5, code, period_ms=0.5)
    nr = sim.backend.neurons
    np.testing.assert_array_equal(nr.P[nr.prow], sim.network.params)  # every neuron reads its own row
    distinct = np.unique(sim.network.params, axis=0).shape[0]
    assert max(sizes) <= 2 * (distinct + 2) + 16 + 2
