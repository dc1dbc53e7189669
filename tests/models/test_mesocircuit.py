"""The mesocircuit preset (Senk et al. 2024): built networks against the numbers of
``mesocircuit.derived`` (in-degrees, p0 and its split, mask radii, linear delays), the
model code's p0 for comparison, both variants, the LFP recorder, clear errors for bad
options (also through ``--param``), and the memory check that refuses the full size on
this machine before anything is allocated."""
import math

import numpy as np
import pytest

from sim_core import cli
from sim_core.connectivity.build import build_connectome
from sim_core.errors import CapacityError
from sim_core.models import mesocircuit as meso
from sim_core.models.registry import preset_dict
from sim_core.spec import from_dict

POPS = meso.POPULATIONS


def _network(scale, **options):
    spec = from_dict(preset_dict("mesocircuit", scale, **options))
    return spec, build_connectome(spec, spec.seed)


@pytest.fixture(scope="module")
def sheet4():
    """4 x 4 mm^2 at scale 0.01 (12,346 neurons): masks of 5 beta."""
    return _network(0.01)


@pytest.fixture(scope="module")
def sheet15():
    """1.5 x 1.5 mm^2 at scale 0.05 (8,682 neurons): masks cut at extent / 2 = 0.75 mm."""
    return _network(0.05, extent=1.5)


def _pathway_synapses(spec, conns):
    """{(source, target): synapses summed over the pathway's projections}, populations only."""
    out = {}
    for c in conns.connections:
        if c.source in spec.populations:
            out[(c.source, c.target)] = out.get((c.source, c.target), 0) + c.n_synapses
    return out


def _distances(c, pos, extent):
    """Periodic distance of every synapse of connection c (as the kernels compute it)."""
    src, tgt = pos[c.source][c.sources()], pos[c.target][c.targets]
    d = np.abs(tgt - src)
    d = np.minimum(d, extent - d)
    return np.sqrt(d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1])


@pytest.mark.parametrize("net,extent,scale", [("sheet4", 4.0, 0.01), ("sheet15", 1.5, 0.05)])
def test_mean_indegree_per_pathway_is_K(net, extent, scale, request):
    """Synapses of each pathway / target size = K[t][s] of ``derived`` (within 5 standard
    deviations of a Poisson count: the synapses are independent Bernoulli draws)."""
    spec, conns = request.getfixturevalue(net)
    d = meso.derived(scale, extent=extent)
    got = _pathway_synapses(spec, conns)
    checked = 0
    for t, tgt in enumerate(POPS):
        for s, src in enumerate(POPS):
            want = d["K"][t][s] * d["sizes"][t]
            n = got.get((src, tgt), 0)
            if want == 0:
                assert n == 0, (src, tgt)
                continue
            assert abs(n - want) <= 5.0 * math.sqrt(want) + 1, (src, tgt, n, want)
            checked += 1
    assert checked == 55
    total = sum(d["K"][t][s] * d["sizes"][t] for t in range(8) for s in range(8))
    assert abs(sum(got.values()) - total) <= 5.0 * math.sqrt(total)  # the whole network, tighter


def test_K_grows_with_the_mask_on_a_larger_sheet():
    d1, d4 = meso.derived(1.0, extent=1.0), meso.derived(1.0, extent=4.0)
    for t in range(8):
        for s in range(8):
            b = d4["beta"][t][s]
            factor = meso.f_mask(min(5 * b, 2.0), b) / meso.f_mask(1 / math.sqrt(math.pi), b)
            assert d4["K_full"][t][s] == pytest.approx(d1["K_1mm2"][t][s] * factor, rel=1e-12)
            assert d1["K_full"][t][s] == pytest.approx(d1["K_1mm2"][t][s], rel=1e-12)
    # PD's 1 mm^2 in-degrees are the microcircuit's: N_syn / N_target
    assert d1["K_1mm2"][0][0] == pytest.approx(2199.9, abs=0.1)


def test_p0_over_one_is_split_into_ceil_p0_projections():
    d = meso.derived(1.0)
    spec = preset_dict("mesocircuit", 1.0)
    split = 0
    for t, tgt in enumerate(POPS):
        for s, src in enumerate(POPS):
            p0 = d["p0"][t][s]
            projs = [p for p in spec["projections"] if (p["source"], p["target"]) == (src, tgt)]
            n = 0 if p0 <= 0 else max(1, math.ceil(p0))
            assert len(projs) == n, (src, tgt, p0)
            if n:
                centers = [p["rule"]["p"]["p_center"] for p in projs]
                assert all(c == p0 / n for c in centers) and max(centers) <= 1.0
                assert all(p == projs[0] for p in projs) and all(p is not projs[0] for p in projs[1:])
            split += n > 1
    assert split == 10  # PD on 4 mm: L5I -> L5I has p0 = 4.4, five projections of 0.88
    assert d["p0"][5][5] == pytest.approx(4.424, abs=1e-3)


def test_split_pathways_keep_their_indegree(sheet4):
    """The five projections of L5I -> L5I together give K, a p0 of 4.4 that one projection
    could not reach (it would saturate at p = 1)."""
    spec, conns = sheet4
    d = meso.derived(0.01)
    t = s = POPS.index("L5I")
    parts = [c for c in conns.connections if (c.source, c.target) == ("L5I", "L5I")]
    assert len(parts) == 5
    n, want = sum(c.n_synapses for c in parts), d["K"][t][s] * d["sizes"][t]
    assert abs(n - want) <= 5 * math.sqrt(want)


def test_delays_are_linear_in_distance_rounded_to_dt(sheet4):
    spec, conns = sheet4
    checked = 0
    for c in conns.connections:
        if c.source not in spec.populations:
            continue
        r = _distances(c, conns.positions, 4.0)
        want = np.maximum(np.floor((0.5 + r / 0.3) / spec.dt + 0.5), 1)
        assert c.delays is not None and np.array_equal(c.delays, want.astype(c.delays.dtype)), (c.source, c.target)
        checked += c.n_synapses
    assert checked > 500_000
    p = preset_dict("mesocircuit", 0.01)["projections"][0]["synapse"]["delay"]
    assert p == {"spatial": "linear", "offset": 0.5, "velocity": 0.3}


def test_mask_radius_is_5_beta_at_most_half_the_sheet(sheet4):
    for extent in (4.0, 1.5, 1.0):
        spec = preset_dict("mesocircuit", 0.01, extent=extent)
        for p in spec["projections"]:
            if p["source"] in POPS:
                b = meso.BETA[(p["source"][-1], p["target"][-1])]
                assert p["rule"]["p"]["beta"] == b
                assert p["rule"]["mask"]["circular"]["radius"] == min(5 * b, extent / 2)
                assert p["rule"]["allow_autapses"] is False
    spec, conns = sheet4
    for c in conns.connections:
        if c.source not in spec.populations:
            continue
        radius = 5 * meso.BETA[(c.source[-1], c.target[-1])]
        r = _distances(c, conns.positions, 4.0)
        assert r.max() <= radius, (c.source, c.target)
        if c.n_synapses > 20_000:  # the mask, not the profile, ends these: synapses reach it
            assert r.max() > 0.8 * radius, (c.source, c.target, r.max())


def test_inm6_p0_is_ours_times_f_squared():
    """The model code multiplies by f(R) where the integral divides: its p0 is ours x f(R)^2."""
    d = meso.derived(1.0)
    for extent in (4.0, 1.0):
        d = meso.derived(1.0, extent=extent)
        for t in range(8):
            for s in range(8):
                k, b, radius = d["K"][t][s], d["beta"][t][s], d["radius"][t][s]
                if k == 0:
                    continue
                ours = meso.p0_for(k, d["sizes"][s], False, extent, b, radius)
                f = meso.f_mask(radius, b)
                assert meso.inm6_p0(k, d["sizes"][s], extent, b, radius) == pytest.approx(ours * f * f, rel=1e-12)
    # and ours integrates to K: rho 2 pi p0 beta^2 f(R) over the mask
    k, n, b = 100.0, 10_000, 0.232
    p0 = meso.p0_for(k, n, False, 4.0, b, 5 * b)
    assert n / 16.0 * 2 * math.pi * p0 * b * b * meso.f_mask(5 * b, b) == pytest.approx(k, rel=1e-12)


@pytest.mark.parametrize("variant", ["PD", "MAMV1"])
def test_both_variants_build_and_validate(variant):
    spec, conns = _network(0.02, extent=1.0, variant=variant, thalamus=True)
    d = meso.derived(0.02, extent=1.0, variant=variant)
    assert [spec.populations[p].size for p in POPS] == d["sizes"]
    assert spec.populations["L4E"].params["tau_syn_in"] == (0.5 if variant == "PD" else 8.0)
    assert "TC" in spec.populations and spec.populations["TC"].model == "parrot_neuron"
    got = _pathway_synapses(spec, conns)
    want = sum(d["K"][t][s] * d["sizes"][t] for t in range(8) for s in range(8))
    rec = sum(n for (s, t), n in got.items() if s != "TC")
    assert abs(rec - want) <= 5 * math.sqrt(want)
    th = sum(n for (s, t), n in got.items() if s == "TC")
    want_th = sum(d["K_th"][t] * d["sizes"][t] for t in range(8))
    assert abs(th - want_th) <= 5 * math.sqrt(want_th)
    assert variant in spec.description


def test_the_spec_records_spikes_and_the_lfp_on_the_paper_grid():
    for extent in (4.0, 2.0):
        spec = from_dict(preset_dict("mesocircuit", 0.01, extent=extent))
        lfp = spec.recorders.lfp
        assert spec.recorders.spikes == "all"
        assert lfp.method == "kernel"
        assert tuple(lfp.electrodes.grid) == (10, 10)
        assert lfp.electrodes.pitch == pytest.approx(extent / 10)
        assert lfp.electrodes.depth == -0.4
        pos = spec.populations["L23E"].positions
        assert pos.kind == "random" and pos.periodic and tuple(pos.extent) == (extent, extent)


@pytest.mark.parametrize("options,match", [
    ({"variant": "X"}, r"mesocircuit: variant must be 'PD' or 'MAMV1'; got 'X'"),
    ({"extent": -1}, r"mesocircuit: extent must be > 0 mm"),
    ({"extent": "wide"}, r"mesocircuit: extent must be a number of mm"),
    ({"thalamus": "yes"}, r"mesocircuit: thalamus must be true or false"),
    ({"bg_input": "noise"}, r"mesocircuit: bg_input must be 'poisson' or 'dc'"),
    ({"bg_rate": -1}, r"mesocircuit: bg_rate must be >= 0"),
    ({"colour": 1}, r"mesocircuit: unknown parameter\(s\) colour; valid: extent, variant"),
])
def test_bad_options_are_named(options, match):
    with pytest.raises(ValueError, match=match):
        preset_dict("mesocircuit", 0.01, **options)


@pytest.mark.parametrize("scale", [0.0, 1.5])
def test_bad_scale(scale):
    with pytest.raises(ValueError, match=r"mesocircuit: scale must be in \(0, 1\]"):
        meso.build(scale)


@pytest.mark.parametrize("argv,names", [
    (["--param", "variant=X"], "--param variant: mesocircuit: variant must be 'PD' or 'MAMV1'; got 'X'"),
    (["--param", "colour=red"], "--param colour: mesocircuit has no parameter 'colour'"),
    (["--param", "extent=2", "--param", "thalamus=maybe"], "--param thalamus: mesocircuit: thalamus must be"),
    (["--param", "extent"], "--param: 'extent' is not NAME=VALUE"),
    (["--param", "extent=1", "--param", "extent=2"], "--param extent: given twice"),
    (["--scale", "0.0001", "--param", "extent=0.5"], "--param extent: mesocircuit: scale 0.0001 x extent 0.5 mm"),
])
def test_command_line_params_name_the_option(argv, names, capsys, tmp_path):
    code = cli.main(["export", "mesocircuit", *argv, "-o", str(tmp_path / "m.yaml")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and names in err[0], err


def test_command_line_params_reach_the_preset(tmp_path, capsys):
    out = tmp_path / "m.yaml"
    assert cli.main(["export", "mesocircuit", "--scale", "0.01", "--param", "variant=MAMV1", "--param", "extent=2",
                     "--param", "thalamus=true", "--param", 'bg_input="dc"', "-o", str(out)]) == 0
    from sim_core.spec import load
    spec = load(out)
    assert "variant MAMV1: 2 x 2 mm^2" in spec.description and "TC" in spec.populations
    assert spec.populations["L23E"].positions.extent == (2.0, 2.0) and not spec.inputs.get("bg_L23E")
    # a spec file takes no --param
    assert cli.main(["export", str(out), "--param", "extent=2", "-o", str(tmp_path / "n.yaml")]) == 2
    assert "--param extent: applies to presets only" in capsys.readouterr().err


def test_full_size_is_refused_before_any_allocation(monkeypatch, capsys):
    """At scale 1 (1.2 million neurons, 5.9e9 synapses) the estimate far exceeds 24 GiB: the
    simulation is refused with the estimate, in one line, before the network is built."""
    from sim_core.engine.simulation import Simulation
    from sim_core.network import memory, network
    monkeypatch.setattr(memory, "available_memory", lambda: 24 * 2**30)

    def no(*args, **kwargs):
        raise AssertionError("allocated before the memory check")
    monkeypatch.setattr(network, "build_connectome", no)
    monkeypatch.setattr(network, "fill_population", no)
    spec = from_dict(preset_dict("mesocircuit", 1.0))
    with pytest.raises(CapacityError) as err:
        Simulation(spec)
    msg = str(err.value)
    assert "\n" not in msg and "GiB needed (synapses" in msg and "24.0 GiB are available" in msg
    need = float(msg.split("about ")[1].split(" GiB")[0])
    assert need == pytest.approx(sum(memory.estimate(spec).values()) / 2**30, abs=0.1) and need > 100
    # the command line: one line, exit 2
    assert cli.main(["run", "mesocircuit", "--scale", "1", "--t-sim", "1", "--no-record"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("building mesocircuit")
    assert lines[1].startswith("spikescope: error: network too large: about") and "GiB needed" in lines[1]


def test_memory_estimate_uses_the_mask_for_linear_delays():
    """Ring buffers: the longest delay is 0.5 + R / 0.3 ms (R = 1.16 mm), not the sheet's diagonal."""
    from sim_core.network import memory
    spec = from_dict(preset_dict("mesocircuit", 0.01))
    slots = int((0.5 + 1.16 / 0.3) / 0.1) + 2
    assert memory.estimate(spec)["ring buffers"] == 2 * 8 * slots * spec.n_neurons


def test_plain_data_that_survives_yaml():
    """Split projections are copies, not one shared object: YAML writes no aliases."""
    import yaml
    spec = preset_dict("mesocircuit", 0.01, thalamus=True)
    text = yaml.safe_dump(spec, sort_keys=False)
    assert "&id" not in text and yaml.safe_load(text) == spec
