"""The model presets: derived numbers against the values in shared/reference/MODELS.md,
sizes and scaling, weight signs, and that each preset is plain data that survives YAML."""
import math

import pytest
import yaml

from sim_core.models import brunel, clustered, microcircuit
from sim_core.models.registry import PRESETS, preset_dict

POPS = ["L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I"]


def _proj(spec, source, target):
    found = [p for p in spec["projections"] if p["source"] == source and p["target"] == target]
    assert len(found) == 1, (source, target, len(found))
    return found[0]


def _mean(value):
    return value["mean"] if isinstance(value, dict) else value


def _walk(obj, path="spec"):
    """Yield (path, leaf) for every leaf of a nested dict/list."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            assert isinstance(k, str), f"{path}: key {k!r} is not a string"
            yield from _walk(v, f"{path}.{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _walk(v, f"{path}[{i}]")
    else:
        yield path, obj


# ------------------------------------------------------------------ all presets
CASES = [("brunel", 1.0), ("brunel", 0.1), ("microcircuit", 1.0), ("microcircuit", 0.1),
         ("microcircuit", 0.05), ("clustered", 1.0), ("clustered", 0.5)]


@pytest.mark.parametrize("name,scale", CASES)
def test_plain_data_and_yaml_roundtrip(name, scale):
    spec = preset_dict(name, scale)
    for path, leaf in _walk(spec):
        # no numpy scalars, no tuples: only what yaml.safe_dump writes as plain YAML
        assert type(leaf) in (str, int, float, bool), f"{path}: {type(leaf).__name__}"
        if type(leaf) is float:
            assert math.isfinite(leaf), path
    assert yaml.safe_load(yaml.safe_dump(spec, sort_keys=False)) == spec
    assert spec["format"] == "spikescope/1"
    assert spec["name"] == name
    assert spec["recorders"] == {"spikes": "all"}
    for proj in spec["projections"]:
        assert proj["source"] in spec["populations"] or proj["source"] in spec["inputs"]
        assert proj["target"] in spec["populations"]


@pytest.mark.parametrize("name,scale", [("brunel", 0.2), ("microcircuit", 0.02), ("clustered", 0.2)])
def test_presets_pass_the_spec_parser_and_schema(name, scale):
    import jsonschema
    from sim_core.spec import from_dict, json_schema

    data = preset_dict(name, scale)
    jsonschema.validate(data, json_schema())
    spec = from_dict(data)
    assert spec.n_neurons == sum(p["size"] for p in data["populations"].values())


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_excitatory_and_inhibitory_weight_signs(name):
    spec = preset_dict(name, {"microcircuit": 0.1, "topomap": 1}.get(name, 0.5))
    for proj in spec["projections"]:
        w = proj["synapse"]["weight"]
        src = proj["source"]
        inhibitory = src in spec["populations"] and (src.startswith("I") or src.endswith("I"))
        assert (_mean(w) < 0) == inhibitory, (src, proj["target"], w)
        if isinstance(w, dict):  # a distribution must not be able to cross zero
            assert (w.get("high") == 0.0) if inhibitory else (w.get("low") == 0.0)


def test_registry_rejects_unknown_names_and_parameters():
    with pytest.raises(ValueError, match=r"unknown preset 'x'; choose one of brunel, clustered, mesocircuit, microcircuit, topomap"):
        preset_dict("x")
    with pytest.raises(ValueError, match="valid: g, eta"):
        preset_dict("brunel", gee=3)
    assert set(PRESETS) == {"brunel", "clustered", "mesocircuit", "microcircuit", "topomap"}


# ------------------------------------------------------------------ brunel
def test_brunel_derived_numbers():
    d = brunel.derived()
    assert d["J_ex"] == pytest.approx(20.68, abs=0.01)
    assert d["J_in"] == pytest.approx(-5 * d["J_ex"])
    assert d["p_rate"] == pytest.approx(17789, abs=1)
    # the conversion factor really gives a 0.1 mV peak: check against a fine grid
    C, tm, ts = 250.0, 20.0, 0.5
    b = 1 / ts - 1 / tm
    peak = max(math.e / (ts * C * b * b) * (math.exp(-t / tm) - math.exp(-t / ts) * (1 + b * t))
               for t in (i * 1e-4 for i in range(1, 50000)))
    assert peak * d["J_ex"] == pytest.approx(0.1, rel=1e-6)


def test_brunel_spec():
    spec = brunel.build()
    assert spec["populations"]["E"]["size"] == 10000 and spec["populations"]["I"]["size"] == 2500
    assert spec["inputs"]["ext"]["params"]["rate"] == pytest.approx(17789, abs=1)
    e = spec["populations"]["E"]
    assert e["model"] == "iaf_psc_alpha" and e["initial"] == {"V_m": 0.0}
    assert e["params"] == {"C_m": 250.0, "tau_m": 20.0, "tau_syn_ex": 0.5, "tau_syn_in": 0.5,
                           "t_ref": 2.0, "E_L": 0.0, "V_reset": 0.0, "V_th": 20.0}
    ee, ie = _proj(spec, "E", "E"), _proj(spec, "I", "E")
    assert ee["rule"] == {"rule": "fixed_indegree", "indegree": 1000,
                          "allow_autapses": True, "allow_multapses": True}
    assert ie["rule"]["indegree"] == 250
    assert ee["synapse"]["weight"] == pytest.approx(20.68, abs=0.01)
    assert ie["synapse"]["weight"] == pytest.approx(-103.40, abs=0.05)
    assert all(p["synapse"]["delay"] == 1.5 for p in spec["projections"])
    assert _proj(spec, "ext", "I")["rule"]["rule"] == "all_to_all"
    assert spec["dt"] == 0.1


def test_brunel_scaling_and_overrides():
    spec = brunel.build(0.3)
    assert spec["populations"]["E"]["size"] == 3000 and spec["populations"]["I"]["size"] == 750
    assert _proj(spec, "E", "I")["rule"]["indegree"] == 1000  # in-degrees do not scale
    with pytest.raises(ValueError, match="scale must be >= 0.1"):
        brunel.build(0.05)
    spec = brunel.build(g=6.0, eta=4.0)
    assert _proj(spec, "I", "I")["synapse"]["weight"] == pytest.approx(-6 * 20.680, abs=0.01)
    assert spec["inputs"]["ext"]["params"]["rate"] == pytest.approx(2 * 17789, abs=2)


# ------------------------------------------------------------------ microcircuit
def test_microcircuit_derived_numbers():
    d = microcircuit.derived()
    assert d["PSC_over_PSP"] == pytest.approx(585.39, abs=0.01)
    assert d["PSC_ext"] == pytest.approx(87.81, abs=0.01)
    assert d["PSC_mean"][0][2] == pytest.approx(175.62, abs=0.01)  # L4E -> L23E doubled
    assert d["PSC_mean"][0][1] == pytest.approx(-351.23, abs=0.01)
    n_syn = d["N_syn_full"]
    assert sum(map(sum, n_syn)) == pytest.approx(2.989e8, rel=5e-4)
    k = lambda t, s: n_syn[POPS.index(t)][POPS.index(s)] / microcircuit.N_FULL[POPS.index(t)]
    assert k("L23E", "L23E") == pytest.approx(2199.9, abs=0.05)
    assert k("L23I", "L23E") == pytest.approx(2990.0, abs=0.05)
    assert k("L4I", "L4E") == pytest.approx(1813.0, abs=0.05)
    assert k("L6I", "L6E") == pytest.approx(979.8, abs=0.05)


def test_microcircuit_full_scale_spec():
    spec = microcircuit.build()
    sizes = [spec["populations"][p]["size"] for p in POPS]
    assert sizes == [20683, 5834, 21915, 5479, 4850, 1065, 14395, 2948] and sum(sizes) == 77169
    assert sum(p["rule"]["N"] for p in spec["projections"] if p["rule"]["rule"] == "fixed_total_number") \
        == pytest.approx(2.989e8, rel=5e-4)
    rec = _proj(spec, "L23E", "L23E")
    assert rec["rule"]["rule"] == "fixed_total_number"
    assert rec["rule"]["allow_autapses"] and rec["rule"]["allow_multapses"]
    assert rec["rule"]["N"] / 20683 == pytest.approx(2199.9, abs=0.05)
    assert rec["synapse"]["weight"] == {"dist": "normal", "mean": pytest.approx(87.81, abs=0.01),
                                        "std": pytest.approx(8.781, abs=0.001), "low": 0.0}
    assert rec["synapse"]["delay"] == {"dist": "normal", "mean": 1.5, "std": 0.75, "low": 0.05}
    inh = _proj(spec, "L4I", "L4E")["synapse"]
    assert inh["weight"]["mean"] == pytest.approx(-351.23, abs=0.01) and inh["weight"]["high"] == 0.0
    assert inh["delay"] == {"dist": "normal", "mean": 0.75, "std": 0.375, "low": 0.05}
    assert _proj(spec, "L4E", "L23E")["synapse"]["weight"]["mean"] == pytest.approx(175.62, abs=0.01)
    # C = 0 pairs get no projection
    assert not [p for p in spec["projections"] if p["source"] == "L6I" and p["target"] == "L23E"]
    # one generator per population at 8 K_ext, weight PSC_ext (not doubled), delay 1.5
    for pop, k_ext in zip(POPS, [1600, 1500, 2100, 1900, 2000, 1900, 2900, 2100]):
        assert spec["inputs"][f"bg_{pop}"] == {"model": "poisson_generator", "params": {"rate": 8.0 * k_ext}}
        bg = _proj(spec, f"bg_{pop}", pop)
        assert bg["rule"]["rule"] == "all_to_all"
        assert bg["synapse"]["weight"] == pytest.approx(87.81, abs=0.01)
        assert bg["synapse"]["delay"] == 1.5
        assert spec["populations"][pop]["params"]["I_e"] == 0.0
    p = spec["populations"]["L23E"]
    assert p["model"] == "iaf_psc_exp"
    assert p["initial"]["V_m"] == {"dist": "normal", "mean": -68.28, "std": 5.36}
    assert spec["populations"]["L6I"]["initial"]["V_m"] == {"dist": "normal", "mean": -61.43, "std": 4.48}
    assert {k: p["params"][k] for k in ("C_m", "tau_m", "tau_syn_ex", "tau_syn_in", "t_ref",
                                        "E_L", "V_reset", "V_th")} == \
        {"C_m": 250.0, "tau_m": 10.0, "tau_syn_ex": 0.5, "tau_syn_in": 0.5, "t_ref": 2.0,
         "E_L": -65.0, "V_reset": -65.0, "V_th": -50.0}
    assert spec["dt"] == 0.1 and spec["seed"] == 55


def _dc_compensation(full, scale, poisson):
    """Recompute NEST's adjust_weights_and_input_to_synapse_scaling from a full-scale spec:
    0.001 tau_syn (1 - sqrt(K_scaling)) [sum_s J K_full nu_full (+ J_ext K_ext bg_rate)].
    The spec holds rounded synapse numbers and NEST uses the unrounded ones, hence the
    comparisons at rel=1e-4 below (1 in 10^4: rounding a count of ~10^4)."""
    out = []
    for t in POPS:
        x = 0.0
        for p in full["projections"]:
            if p["target"] == t and p["source"] in POPS:
                nu = microcircuit.FULL_MEAN_RATES[POPS.index(p["source"])]
                x += p["synapse"]["weight"]["mean"] * p["rule"]["N"] / full["populations"][t]["size"] * nu
        if poisson:
            x += full["inputs"][f"bg_{t}"]["params"]["rate"] * _proj(full, f"bg_{t}", t)["synapse"]["weight"]
        out.append(0.001 * 0.5 * (1 - math.sqrt(scale)) * x)
    return out


def test_microcircuit_scaled_spec():
    full, spec = microcircuit.build(1.0), microcircuit.build(0.1)
    sizes = [spec["populations"][p]["size"] for p in POPS]
    assert sizes == [round(n * 0.1) for n in microcircuit.N_FULL]
    n_full = microcircuit.derived()["N_syn_full"]
    for t, tgt in enumerate(POPS):
        for s, src in enumerate(POPS):
            if n_full[t][s] * 0.01 >= 0.5:
                assert _proj(spec, src, tgt)["rule"]["N"] == round(n_full[t][s] * 0.01)
    # weights / sqrt(K_scaling), internal and external
    w = _proj(spec, "L23E", "L23I")["synapse"]["weight"]
    assert w["mean"] == pytest.approx(87.8085 / math.sqrt(0.1), abs=1e-3)
    assert w["std"] == pytest.approx(0.1 * w["mean"])
    assert _proj(spec, "bg_L4E", "L4E")["synapse"]["weight"] == pytest.approx(87.8085 / math.sqrt(0.1), abs=1e-3)
    assert spec["inputs"]["bg_L4E"]["params"]["rate"] == 8.0 * 210
    # DC compensation of the lost mean input
    i_e = [spec["populations"][p]["params"]["I_e"] for p in POPS]
    assert i_e == pytest.approx(_dc_compensation(full, 0.1, poisson=True), rel=1e-4)
    assert i_e[0] == pytest.approx(29.04, abs=0.01)  # hand check, L23E
    assert all(x > 0 for x in i_e)


def test_microcircuit_dc_background():
    full = microcircuit.build(1.0, bg_input="dc")
    assert full["inputs"] == {}
    assert not [p for p in full["projections"] if p["source"].startswith("bg_")]
    # bg_rate K_ext PSC_ext tau_syn 0.001 = 8 * 1600 * 87.8085 * 0.5e-3
    assert full["populations"]["L23E"]["params"]["I_e"] == pytest.approx(561.97, abs=0.01)
    scaled = microcircuit.build(0.1, bg_input="dc")
    poisson_full = microcircuit.build(1.0)
    extra = _dc_compensation(poisson_full, 0.1, poisson=False)
    for t, pop in enumerate(POPS):
        assert scaled["populations"][pop]["params"]["I_e"] == pytest.approx(
            full["populations"][pop]["params"]["I_e"] + extra[t], rel=1e-4)
    with pytest.raises(ValueError, match="bg_input"):
        microcircuit.build(bg_input="noise")


def test_microcircuit_options_and_limits():
    spec = microcircuit.build(0.1, V0_type="original", seed=7)
    assert spec["populations"]["L5I"]["initial"]["V_m"] == {"dist": "normal", "mean": -58.0, "std": 10.0}
    assert spec["seed"] == 7
    for bad in (0.0, -1.0, 1.5):
        with pytest.raises(ValueError, match="scale"):
            microcircuit.build(bad)


# ------------------------------------------------------------------ clustered
def test_clustered_derived_numbers():
    d = clustered.derived()
    j = d["j"]
    assert j["EE"] == pytest.approx(0.2245, abs=1e-4)
    assert j["EI"] == pytest.approx(-0.4310, abs=1e-4)
    assert j["IE"] == pytest.approx(0.1789, abs=1e-4)
    assert j["II"] == pytest.approx(-0.7155, abs=1e-4)
    assert d["J_plus"] == {"EE": 6.0, "EI": pytest.approx(5.1), "IE": pytest.approx(5.1), "II": pytest.approx(5.1)}
    assert d["J_minus"]["EE"] == pytest.approx(14 / 19) == pytest.approx(0.737, abs=1e-3)
    assert d["J_minus"]["II"] == pytest.approx(14.9 / 19) == pytest.approx(0.784, abs=1e-3)
    assert d["I_e_E"] == pytest.approx(1.25) and d["I_e_I"] == pytest.approx(1.56)


def test_clustered_spec():
    spec = clustered.build()
    names = [f"E{i}" for i in range(20)] + [f"I{i}" for i in range(20)]
    assert list(spec["populations"]) == names
    assert sum(p["size"] for p in spec["populations"].values()) == 5000
    e, i = spec["populations"]["E3"], spec["populations"]["I3"]
    assert e["size"] == 200 and i["size"] == 50
    assert e["params"] == {"C_m": 1.0, "tau_m": 20.0, "tau_syn_ex": 5.0, "tau_syn_in": 5.0, "t_ref": 5.0,
                           "E_L": 0.0, "V_reset": 0.0, "V_th": 20.0, "I_e": pytest.approx(1.25)}
    assert i["params"]["tau_m"] == 10.0 and i["params"]["I_e"] == pytest.approx(1.56)
    assert e["initial"]["V_m"] == {"dist": "lognormal", "mu": 0.0, "sigma": 1.0, "scale": -20.0, "offset": 20.0}
    assert spec["inputs"] == {}
    assert len(spec["projections"]) == 4 * 20 * 20
    j = clustered.derived()["j"]
    expect = {  # (source, target): (p, weight)
        ("E2", "E2"): (0.2, 6.0 * j["EE"]), ("E2", "E5"): (0.2, 14 / 19 * j["EE"]),
        ("I2", "E2"): (0.5, 5.1 * j["EI"]), ("I2", "E5"): (0.5, 14.9 / 19 * j["EI"]),
        ("E2", "I2"): (0.5, 5.1 * j["IE"]), ("E2", "I5"): (0.5, 14.9 / 19 * j["IE"]),
        ("I2", "I2"): (0.5, 5.1 * j["II"]), ("I2", "I5"): (0.5, 14.9 / 19 * j["II"]),
    }
    for (src, tgt), (p, w) in expect.items():
        proj = _proj(spec, src, tgt)
        assert proj["rule"] == {"rule": "pairwise_bernoulli", "p": p,
                                "allow_autapses": False, "allow_multapses": False}
        assert proj["synapse"] == {"model": "static_synapse", "weight": pytest.approx(w), "delay": 0.1}
    assert spec["dt"] == 0.1 and spec["seed"] == 55


def test_clustered_scaling_and_overrides():
    spec = clustered.build(0.5)
    assert spec["populations"]["E0"]["size"] == 100 and spec["populations"]["I19"]["size"] == 25
    # weights follow the balanced-network scaling j ~ 1/sqrt(K)
    assert clustered.derived(0.5)["j"]["EE"] == pytest.approx(0.2245 * math.sqrt(2), abs=1e-4)
    spec = clustered.build(n_clusters=10, rep=3.0)
    assert len(spec["populations"]) == 20 and spec["populations"]["E0"]["size"] == 400
    w_in, w_out = (_proj(spec, "E0", t)["synapse"]["weight"] for t in ("E0", "E1"))
    assert w_in / w_out == pytest.approx(3.0 / (7 / 9))
    with pytest.raises(ValueError, match="J\\+"):
        clustered.build(rep=25.0)
    with pytest.raises(ValueError, match="scale"):
        clustered.build(0.001)
    with pytest.raises(ValueError, match="valid: n_clusters"):
        clustered.build(Q=5)


# ------------------------------------------------------------------ topomap
def test_topomap_spec():
    """The GeNN model's numbers (MODELS.md, "Topographic map") in NEST's terms."""
    from sim_core.spec import from_dict
    d = preset_dict("topomap", 2)
    assert {n: p["size"] for n, p in d["populations"].items()} == {"input": 1024, "target": 1024}
    assert d["populations"]["target"]["positions"] == {"kind": "grid", "shape": [32, 32], "extent": [32.0, 32.0],
                                                       "periodic": True}
    t = d["populations"]["target"]["params"]
    assert (t["C_m"], t["g_L"], t["V_th"], t["t_ref"], t["tau_minus"]) == (20000.0, 1000.0, -54.0, 5.0, 64.0)
    ff, lat = d["projections"][1], d["projections"][2]
    assert ff["rule"]["p"] == {"spatial": "gaussian", "p_center": 0.16, "sigma": 2.5}
    assert lat["rule"]["p"] == {"spatial": "gaussian", "p_center": 1.0, "sigma": 1.0}
    syn = ff["synapse"]["params"]
    # A+ = lambda Wmax = 0.1 g_max; A- = alpha A+ = 1.2 A+ tau+ / tau-
    assert syn["lambda"] * syn["Wmax"] == pytest.approx(0.1 * 200.0)
    assert syn["alpha"] == pytest.approx(1.2 * 20.0 / 64.0) and syn["mu_plus"] == syn["mu_minus"] == 0.0
    assert ff["rewiring"]["attempts"] == 40 and ff["rewiring"]["threshold"] == 100.0  # 10 scale^2; g_max / 2
    assert d["inputs"]["spot"]["params"]["tiles"] == 2.0
    from_dict(d)
    with pytest.raises(ValueError, match="whole number"):
        preset_dict("topomap", 1.5)
    with pytest.raises(ValueError, match="unknown option 'x'"):
        preset_dict("topomap", 1, x=1)
