"""Bounded records (what the app's long sessions keep) and the spike stream to disk: a
bounded record holds the same recent spikes and membrane samples as an unbounded one and
no more than its window; the stream holds every spike, as a SONATA file."""
import numpy as np
import pytest

from app.reliability import soak_spec
from sim_core.engine.simulation import Simulation
from sim_core.io.sonata import read_sorting, read_spikes, stream_spikes
from sim_core.spec import from_dict

# the soak's busy little network (about 120 spikes/s per neuron), with a voltmeter
SPEC = {**soak_spec(200), "recorders": {"spikes": "all",
                                        "voltmeter": {"populations": ["E", "I"], "n": 2, "interval": 0.5}}}


def _run_in_chunks(sim, total_ms, chunk_ms):
    for _ in range(int(round(total_ms / chunk_ms))):
        sim.run(chunk_ms)


def test_bounded_record_keeps_the_same_recent_activity_and_no_more():
    backend = "cpu"  # host-side records: the same for every backend (the simulator is too slow here)
    spec = from_dict(SPEC)
    full = Simulation(spec, backend=backend)
    bounded = Simulation(spec, backend=backend, keep_ms=100.0)
    for sim in (full, bounded):
        _run_in_chunks(sim, 1000.0, 10.0)
    r = bounded.spike_record
    assert full.spike_record.n_spikes == r.n_spikes > 1000  # counts are of the whole run
    assert r.n_dropped > 0 and r.n_held + r.n_dropped == full.spike_record.n_held
    # everything after complete_from_ms is held, and that is within one chunk of the window
    assert 1000.0 - 100.0 - 10.0 - 0.2 <= r.complete_from_ms <= 1000.0 - 100.0 + 0.1
    for t_from in (900.0, 950.0):
        a, b = full.spike_record.window(t_from), r.window(t_from)
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])
    times, ids = bounded.spikes("E")
    t_full, i_full = full.spikes("E")
    sel = t_full > r.complete_from_ms
    assert times.min() <= r.complete_from_ms + 10.0 + 1e-9
    np.testing.assert_array_equal(times[times > r.complete_from_ms], t_full[sel])
    np.testing.assert_array_equal(ids[times > r.complete_from_ms], i_full[sel])
    # membrane samples: the same tail, at the same times
    tv_full, v_full = full.voltages.data()
    tv, v = bounded.voltages.data()
    assert 100.0 <= tv[-1] - tv[0] + 0.5 <= 100.0 + 10.0 + 0.5
    np.testing.assert_array_equal(tv, tv_full[-tv.size:])
    np.testing.assert_array_equal(v, v_full[-tv.size:])
    for t_from in (950.0, 0.0):
        np.testing.assert_array_equal(bounded.voltages.window(t_from)[1], full.voltages.window(max(t_from, tv[0] - 0.5))[1])


def test_bounded_record_stays_bounded_over_a_long_run():
    """Held spikes stay near rate x window however long it runs; chunk lists stay short."""
    sim = Simulation(from_dict(SPEC), backend="cpu", keep_ms=50.0)
    held = []
    for _ in range(40):
        _run_in_chunks(sim, 250.0, 5.0)
        held.append(sim.spike_record.n_held)
    rate = sim.spike_record.n_spikes / sim.t  # spikes per ms
    assert max(held) <= rate * (50.0 + 5.0) * 1.6, (max(held), rate)
    assert len(sim.spike_record._steps) <= 256 and len(sim.voltages._chunks) <= 256


def test_stream_writes_the_full_record_as_sonata(tmp_path):
    backend = "cpu"
    spec = from_dict(SPEC)
    full = Simulation(spec, backend=backend)
    sim = Simulation(spec, backend=backend, keep_ms=20.0)
    full.run(200.0)
    sim.run(50.0)
    stream = stream_spikes(sim, tmp_path / "live" / "spikes.h5")
    _run_in_chunks(sim, 150.0, 10.0)
    stream.flush()
    partial = read_spikes(stream.path)  # readable while it runs
    assert sum(t.size for t, _ in partial.values()) == stream.n_written > 0
    assert sim.stop_stream() == tmp_path / "live" / "spikes.h5" and stream.closed
    got = read_spikes(stream.path)
    assert set(got) == {"E", "I"} and set(read_sorting(stream.path).values()) == {"by_time"}
    for name in ("E", "I"):
        t, i = full.spikes(name)
        np.testing.assert_array_equal(got[name][0], t[t > 50.0])
        np.testing.assert_array_equal(got[name][1], i[t > 50.0])


def test_reset_ends_the_stream(tmp_path):
    sim = Simulation(from_dict(SPEC), backend="cpu")
    stream = stream_spikes(sim, tmp_path / "s.h5")
    sim.run(30.0)
    sim.reset()
    assert stream.closed and sim.spike_record.sink is None
    sim.run(30.0)  # runs on without a stream
    assert read_spikes(tmp_path / "s.h5")["E"][0].max() <= 30.0


def test_libsonata_reads_a_streamed_file(tmp_path):
    libsonata = pytest.importorskip("libsonata")
    sim = Simulation(from_dict(SPEC), backend="cpu")
    with stream_spikes(sim, tmp_path / "s.h5"):
        sim.run(100.0)
    reader = libsonata.SpikeReader(str(tmp_path / "s.h5"))
    t, i = sim.spikes("E")
    spikes = np.array(reader["E"].get())
    np.testing.assert_array_equal(spikes[:, 1], t)
    np.testing.assert_array_equal(spikes[:, 0].astype(np.int64), i)
