"""The LFP recorder (``recorders.lfp``): the kernel method's FFT path against one kernel per
spike, the kernels against the network they come from, the proxy against currents read by
hand, DIR/lfp.h5, and the errors for specs the methods cannot take."""
import json
import subprocess
import sys

import numpy as np
import pytest

from sim_core.engine.lfp import LfpRecord
from sim_core.engine.simulation import Simulation
from sim_core.errors import SpecError
from sim_core.lfp.convolve import brute_force
from sim_core.spec import from_dict
from small_spec import spec


def _brute(sim, rec):
    steps, ids = sim.spike_record._all()
    src = rec._src[ids]
    ok = src >= 0
    k = (steps[ok] + 1) // rec.every
    n = sim.steps_done // rec.every
    keep = k < n
    return brute_force(rec.kernels, rec.grid, src[ok][keep], rec._bin[ids[ok]][keep], k[keep], n)


@pytest.mark.parametrize("periodic", [True, False])
def test_fft_path_equals_one_kernel_per_spike(periodic):
    sim = Simulation(from_dict(spec(periodic=periodic)))
    # a second recorder with short blocks: several overlap-add blocks and a partial one
    short = LfpRecord(sim.network, block=40)
    seen = []
    for ms in (37.3, 100.0, 62.7):
        steps0 = sim.steps_done
        t_from = sim.t
        sim.run(ms)
        seen.append(sim.lfp.window(t_from))  # what a live view reads: each part once
        steps, ids = sim.spike_record._all()
        new = steps >= steps0
        short.add_spikes(steps[new], ids[new])
        short.advance_to(sim.steps_done)
    assert short.conv.block < 100  # more than one block
    ref = _brute(sim, sim.lfp)
    assert ref.shape[1] == 400 and np.abs(ref).max() > 0
    for rec in (sim.lfp, short):
        times, data = rec.data()
        np.testing.assert_allclose(times, 0.5 * np.arange(1, 401))
        np.testing.assert_allclose(data, ref, rtol=0, atol=1e-12 * np.abs(ref).max())
    # the windows read along the way tile the run: 74 + 200 + 126 samples (37.0, 137.0, 200 ms)
    np.testing.assert_allclose(np.concatenate([t for t, _ in seen]), 0.5 * np.arange(1, 401))
    np.testing.assert_allclose(np.concatenate([d for _, d in seen], axis=1), ref, rtol=0,
                               atol=1e-12 * np.abs(ref).max())
    t, d = sim.lfp.window(150.0)
    np.testing.assert_array_equal(t, 0.5 * np.arange(301, 401))


def test_kernels_follow_the_network():
    """Twice the E->E weight: twice that pathway's share; 1 ms more delay: the kernel
    two samples later; nothing before the shortest delay."""
    def kernels(**kw):
        sim = Simulation(from_dict(spec(**kw)))
        return sim.lfp.sources, sim.lfp.kernels

    names, base = kernels()
    _, double = kernels(w_ee=80.0)
    _, late = kernels(delay_offset=1.5)
    e = names.index("L4E")
    n = base.shape[-1] - 2
    np.testing.assert_allclose(late[:, :, :, 2:2 + n], base[:, :, :, :n], atol=1e-9 * np.abs(base).max())
    assert np.abs(base[:, :, :, :1]).max() < 1e-3 * np.abs(base).max()  # 0.5 ms delay: nothing in sample 0
    i = names.index("L4I")
    np.testing.assert_allclose(double[i], base[i])               # L4I's kernel unchanged
    assert not np.allclose(double[e], base[e])
    # the E->E part is linear in the weight: H(80) - H(40) = H(40) - H(0)
    _, zero = kernels(w_ee=0.0)
    np.testing.assert_allclose(double[e] - base[e], base[e] - zero[e], atol=1e-9 * np.abs(base[e]).max())


def test_proxy_is_the_current_sum_read_by_hand():
    s = from_dict(spec(method="proxy"))
    sim = Simulation(s)
    sim.run(20.0)
    times, data = sim.lfp.data()
    assert data.shape == (16, 40) and np.allclose(times, 0.5 * np.arange(1, 41))

    ref = Simulation(s)
    el = sim.lfp.grid.positions()[:, :2]
    pos = ref.network.connectome.positions["L4E"]
    d = pos[:, None, :2] - el[None]
    d -= np.round(d)  # the 1 mm sheet is periodic
    near = np.argmin((d ** 2).sum(-1), axis=1)
    inside = (np.abs(d[np.arange(len(pos)), near]) <= 0.125).all(axis=1)
    ex, inh = [], []
    for _ in range(40):
        ref.step(5)
        i_ex, i_in = ref.backend.synaptic_currents()
        a = ref.network.pop_start["L4E"]
        ex.append([np.abs(i_ex[a:a + 400][inside & (near == e)]).sum() for e in range(16)])
        inh.append([np.abs(i_in[a:a + 400][inside & (near == e)]).sum() for e in range(16)])
    ex, inh = np.array(ex).T, np.array(inh).T
    want = -1.65 * inh
    want[:, 12:] += ex[:, :-12]  # 6 ms earlier
    np.testing.assert_allclose(data, want, rtol=1e-12, atol=1e-9)
    assert np.abs(inh).max() > 0 and np.abs(ex).max() > 0


def test_run_writes_lfp_h5(tmp_path):
    f = tmp_path / "m.json"
    f.write_text(json.dumps(spec()))
    out = tmp_path / "out"
    subprocess.run([sys.executable, "-m", "sim_core.cli", "run", str(f), "--t-sim", "50", "--out", str(out),
                    "--no-record"], check=True, capture_output=True)
    from sim_core.io.lfp_h5 import read_lfp
    d = read_lfp(out / "lfp.h5")
    assert d["data"].shape == (16, 100) and d["positions"].shape == (16, 3)
    np.testing.assert_allclose(d["times"], 0.5 * np.arange(1, 101))
    assert d["method"] == "kernel" and d["units"] == "mV"
    np.testing.assert_allclose(d["positions"][:, 2], -0.4)
    # electrodes 0.25 mm apart on the bin centres of a 1 mm sheet, x-major
    np.testing.assert_allclose(np.unique(d["positions"][:, 0]), [-0.375, -0.125, 0.125, 0.375], atol=1e-12)
    assert np.abs(d["data"]).max() > 0


def _rename(s, old, new):
    s["populations"][new] = s["populations"].pop(old)
    for p in s["projections"]:
        for end in ("source", "target"):
            if p[end] == old:
                p[end] = new


@pytest.mark.parametrize("change, field", [
    (lambda s: _rename(s, "L4I", "X"), "recorders.lfp.method"),
    (lambda s: s["recorders"]["lfp"]["electrodes"].update(depth=-1.5), "recorders.lfp.electrodes.depth"),
    (lambda s: s["populations"]["L4E"].update(model="iaf_psc_delta"), "recorders.lfp.method"),
    (lambda s: s["recorders"]["lfp"].update(interval=0.25), "recorders.lfp.interval"),
    (lambda s: s["recorders"]["lfp"]["electrodes"].update(pitch=0.4), "recorders.lfp.electrodes.pitch"),
])
def test_specs_the_lfp_cannot_take_are_refused(change, field):
    s = spec()
    change(s)
    with pytest.raises(SpecError) as e:
        Simulation(from_dict(s))
    assert str(e.value).startswith(field), str(e.value)
    assert "\n" not in str(e.value)


def test_proxy_refuses_models_without_currents():
    s = spec(method="proxy")
    for p in s["populations"].values():
        p["model"] = "iaf_psc_delta"
    with pytest.raises(SpecError, match="recorders.lfp.method"):
        Simulation(from_dict(s))
