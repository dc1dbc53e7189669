"""The mesocircuit of Senk et al. (2024): the cortical microcircuit on a 4 x 4 mm^2 sheet.

Sources: Senk J, Hagen E, van Albada SJ, Diesmann M (2024) Cereb Cortex 34:bhae405
(arXiv 1805.10235); the model code ``INM-6/mesocircuit-model`` @ 78938020
(``parameterization/{base_network_params,helpers_network}.py``, ``simulation/network.py``,
``scripts/parametersets.py``). Numbers and provenance: ``shared/reference/MODELS.md`` §1, §6.

The eight populations of ``microcircuit`` (L23E ... L6I, ``iaf_psc_exp``), each uniformly at
random on a periodic sheet of ``extent`` x ``extent`` mm^2 with the density of the 1 mm^2
model: N = round(N_1mm2 extent^2 scale). Every pathway is ``pairwise_bernoulli`` with
p(r) = p0 exp(-r / beta) inside a circular mask of radius R = min(5 beta, extent / 2), no
autapses; beta (mm, Reimann et al. 2017) is 0.232 for E->E, 0.161 for I->E, 0.125 for E->I,
0.120 for I->I, and 0.1 from the thalamus. Delays are 0.5 ms + r / (0.3 mm/ms).

In-degrees. K_1mm2 is the 1 mm^2 model's in-degree (PD: N_syn / N_target of
``microcircuit.derived``; MAMV1: the table of the model code). On a larger sheet (extent
> 1 mm) the in-degree grows with the mask, K = K_1mm2 f(R) / f(1/sqrt(pi)) with
f(x) = 1 - exp(-x/beta)(1 + x/beta): the integral of r exp(-r/beta) over the mask against
that over a disc of 1 mm^2. For extent <= 1 the model code keeps K = K_1mm2; so does this
preset. Then K is multiplied by ``scale`` (NEST's K_scaling, as ``microcircuit``).

p0 (the "multiply or divide" caveat of MODELS.md §6). The expected in-degree of a target
under pairwise_bernoulli with p0 exp(-r/beta) inside the mask, sources at density rho, is
rho 2 pi p0 beta^2 f(R); so p0 = K / (rho 2 pi beta^2 f(R)), with rho = (N_src - same) /
extent^2 (a neuron is not its own source). The model code
(``helpers_network.zero_distance_conn_prob_exp``) writes the same integral in its
docstring but *multiplies* by f(R) where it should divide: its p0 is ours times f(R)^2,
so its realized in-degrees are f(R)^2 of its K: 0.921 for R = 5 beta (every pathway of the
4 mm sheet), lower where the mask is cut at extent/2. Checked numerically: a built
network's mean in-degree matches K with this p0 (``tests/models/test_mesocircuit.py``),
and ``inm6_p0`` reproduces the model code's value, f(R)^2 times ours. We divide: the
in-degree the model asks for is then the one it gets. Where p0 > 1 the pathway is split
into n = ceil(p0) identical projections of p0 / n each (multapses), as the model code
repeats its Connect call.

External input and scaling as the model code, which follows ``microcircuit``: the
external in-degree is corrected for the change of the recurrent in-degrees (mean input
kept, at the 1 mm^2 model's rates), then scaled by ``scale``; for scale < 1 the weights
are divided by sqrt(scale) and a DC current restores the mean input that loses
(``microcircuit.derived``'s formula, here with the mesocircuit's in-degrees). MAMV1 then
scales external in-degrees of L23E (x1.1), L4E (x1.08) and all of them (x1.04), not
compensated, and its synaptic time constants (2 and 8 ms) change the weights so that the
mean input is kept (PSC x 0.5 ms / tau_syn).

Variants: 'PD' (default) has the numbers of Potjans & Diesmann (2014), the base parameter
set of the model code (``mesocircuit_PD``); every number is the ``microcircuit`` preset's,
sourced and compared against NEST, so its rates can be set beside that preset's.
'MAMV1' is the paper's model (its figures use it: ``mesocircuit_MAMV1``): macaque V1 of
Schmidt & van Albada (2018), 2.8 times denser (so 2.8 times the cost at one scale),
g = -11, tau_syn 2 / 8 ms, projection-specific in-degree and external in-degree scalings;
its scaled-down DC compensation rests on rates of one NEST 3.4 run that we cannot check.

``thalamus=True`` adds TC (902 parrot neurons per mm^2, as the model code), driven by a
Poisson generator (``th_rate`` spikes/s from ``th_start`` for ``th_duration`` ms; the model
code's 'poisson' thalamic input) and projecting with beta = 0.1 mm, PD14's thalamic
connection probabilities (in-degrees as above) and excitatory weights.

Units follow NEST: ms, mV, pA, pF, spikes/s, mm.
"""
from __future__ import annotations

import copy
import math

from . import microcircuit as mc
from .options import merge_options

POPULATIONS = mc.POPULATIONS
VARIANTS = ("PD", "MAMV1")

#: Decay lengths (mm) of the exponential profile, by (source type, target type).
BETA = {("E", "E"): 0.232, ("I", "E"): 0.161, ("E", "I"): 0.125, ("I", "I"): 0.120}
BETA_TH = 0.1
MASK_SCALING = 5.0            # mask radius = 5 beta (at most extent / 2)
DELAY_OFFSET = 0.5            # ms
VELOCITY = 0.3                # mm/ms
R_1MM2 = 1.0 / math.sqrt(math.pi)  # radius of a disc of 1 mm^2

#: Thalamus (PD14, NEST's stimulus_params; the mesocircuit keeps them).
N_TH_1MM2 = 902
C_TH = (0.0, 0.0, 0.0983, 0.0619, 0.0, 0.0, 0.0512, 0.0196)

#: MAMV1: macaque V1 of Schmidt & van Albada (2018), as ``INM-6/mesocircuit-model`` gives it.
MAMV1_N = (47386, 13366, 70387, 17597, 20740, 4554, 19839, 4063)
MAMV1_K_EXT = tuple(10.0 / 8.0 * k for k in (1267, 1251, 1255, 1246, 1430, 1250, 1777, 1254))
MAMV1_RATES = (0.158, 1.682, 2.408, 2.799, 3.587, 4.231, 2.216, 4.165)  # spikes/s, 1 mm^2 NEST run
#: In-degrees K[target][source] of the 1 mm^2 model.
MAMV1_K = (
    (1062.05780665956, 516.693556417054, 481.639619708102, 227.662598516076,
     77.2223337087846, 2.58278612545931e-05, 56.9825572758422, 0.002547719312792),
    (1441.22871932965, 413.650339113414, 348.511756043073, 142.765724065597,
     183.906753011762, 2.8078192398913e-05, 28.4797152892552, 0.001724818102904),
    (76.101553634937, 17.0532541730215, 548.050632633596, 382.50205031852,
     16.7235740718305, 0.154558136653199, 324.103963496397, 0.002796270620683),
    (718.027297810924, 8.54769496114012, 876.372124238087, 457.88686095073,
     7.1585610485389, 2.55118224065622e-05, 780.639330341388, 0.000999471255078),
    (1042.30016686051, 181.530391691357, 557.991338204657, 15.9348532849194,
     204.095347075258, 227.182779372723, 143.127021832045, 0.006843860953766),
    (568.214412020203, 78.1506995350578, 282.524967334319, 5.33709891502392,
     146.307555909299, 187.593064274647, 64.0388656508819, 0.001459301922844),
    (159.401948962628, 19.9785159873622, 227.441084484738, 46.0107686142342,
     138.832688971888, 10.5525583810149, 287.535665222409, 355.683175924637),
    (368.658922577975, 2.77868306292702, 31.990783610677, 2.64327372576867,
     67.4774463423829, 4.20258522768281, 478.851911854799, 220.365998044097),
)
#: (source, target, factor): in-degree scalings, compensated through K_ext.
MAMV1_K_SCALING = (("L5I", "L5E", 0.9), ("L4I", "L4I", 1.8), ("L6I", "L6I", 0.9),
                   ("L6E", "L6I", 0.75), ("L6I", "L6E", 0.75))
MAMV1_K_EXT_SCALING = {"L23E": 1.1, "L4E": 1.08}  # not compensated
MAMV1_K_EXT_GLOBAL = 1.04

#: Keyword parameters ``build`` accepts (besides ``scale``), with their defaults.
DEFAULTS = {
    "extent": 4.0,           # mm, side of the square sheet
    "variant": "PD",         # 'PD' | 'MAMV1'
    "thalamus": False,       # add the TC population and its Poisson drive
    "bg_input": "poisson",   # 'poisson' | 'dc'
    "V0_type": "optimized",  # 'optimized' | 'original'
    "bg_rate": 8.0,          # spikes/s per external synapse
    "th_rate": 120.0,        # spikes/s of each TC neuron while the thalamus fires
    "th_start": 1000.0,      # ms
    "th_duration": 10.0,     # ms
    "seed": 55,
}


def f_mask(x: float, beta: float) -> float:
    """f(x) = 1 - exp(-x/beta)(1 + x/beta): int_0^x r exp(-r/beta) dr / beta^2."""
    return 1.0 - math.exp(-x / beta) * (1.0 + x / beta)


def beta(source: str, target: str) -> float:
    if source == "TC":
        return BETA_TH
    return BETA[(source[-1], target[-1])]


def mask_radius(b: float, extent: float) -> float:
    return min(MASK_SCALING * b, extent / 2.0)


def p0_for(k: float, n_src: int, same: bool, extent: float, b: float, radius: float) -> float:
    """Zero-distance probability that gives the expected in-degree k (see the docstring)."""
    rho = (n_src - (1 if same else 0)) / (extent * extent)
    if k <= 0.0 or rho <= 0.0:  # no synapses asked for, or no source but the target itself
        return 0.0
    return k / (rho * 2.0 * math.pi * b * b * f_mask(radius, b))


def inm6_p0(k: float, n_src: float, extent: float, b: float, radius: float) -> float:
    """p0 as ``INM-6/mesocircuit-model`` computes it (for the comparison only): the uniform
    probability inside the mask times (R/beta)^2 / 2 times f(R)."""
    c_uni = k / (n_src * math.pi * radius * radius / (extent * extent))
    return c_uni * 0.5 * (radius / b) ** 2 * f_mask(radius, b)


def _thalamic_indegrees(sizes_1mm2) -> list[float]:
    """K(target <- TC) of the 1 mm^2 model from C_TH (``microcircuit.synapse_numbers``'s formula)."""
    out = []
    for t, n_post in enumerate(sizes_1mm2):
        pairs = float(N_TH_1MM2 * n_post)
        n_syn = math.log(1.0 - C_TH[t]) / math.log((pairs - 1.0) / pairs)
        out.append(n_syn / n_post)
    return out


def derived(scale: float = 1.0, **overrides) -> dict:
    """The model's numbers, as plain floats and ints, keyed by name.

    ``sizes``, ``size_th`` (neurons), ``K_1mm2[t][s]``, ``K_full[t][s]`` (full scale, after
    the mask scaling and MAMV1's in-degree scalings), ``K[t][s]`` = K_full scale (the
    target mean in-degree), the same for the thalamus (``K_th*``, per target), ``beta``,
    ``radius``, ``p0[t][s]`` (before any split), ``K_ext`` (rounded), ``I_e`` (pA),
    ``PSC[t][s]``, ``PSC_th``, ``PSC_ext`` (pA, the weights used: time constants and
    1/sqrt(scale) applied), ``tau_syn_ex``, ``tau_syn_in``.
    """
    p = _merge(overrides)
    scale = _check_scale(scale)
    extent = p["extent"]
    pd = p["variant"] == "PD"
    g = -4.0 if pd else -11.0
    base = mc.derived(1.0, g=g, bg_rate=p["bg_rate"])
    psc, psc_ext, tau0 = base["PSC_mean"], base["PSC_ext"], mc.TAU_SYN
    n_1mm2 = mc.N_FULL if pd else MAMV1_N
    rates = mc.FULL_MEAN_RATES if pd else MAMV1_RATES
    k_ext_1mm2 = mc.K_EXT if pd else MAMV1_K_EXT
    if pd:
        k_1mm2 = [[n / mc.N_FULL[t] for n in row] for t, row in enumerate(base["N_syn_full"])]
    else:
        k_1mm2 = [list(row) for row in MAMV1_K]
    k_th_1mm2 = _thalamic_indegrees(n_1mm2)

    area = extent * extent
    sizes = [int(round(n * area * scale)) for n in n_1mm2]
    size_th = int(round(N_TH_1MM2 * area * scale))
    if min(sizes) < 1:
        raise ValueError(f"mesocircuit: scale {scale:g} x extent {extent:g} mm leaves a population without neurons")

    def area_factor(b):  # the model code scales in-degrees only on sheets larger than 1 mm^2
        return f_mask(mask_radius(b, extent), b) / f_mask(R_1MM2, b) if extent > 1.0 else 1.0

    betas = [[beta(s, t) for s in POPULATIONS] for t in POPULATIONS]
    radii = [[mask_radius(b, extent) for b in row] for row in betas]
    k_full = [[k_1mm2[t][s] * area_factor(betas[t][s]) for s in range(8)] for t in range(8)]
    if not pd:
        for s, t, factor in MAMV1_K_SCALING:
            k_full[POPULATIONS.index(t)][POPULATIONS.index(s)] *= factor
    k_th_full = [k * area_factor(BETA_TH) for k in k_th_1mm2]

    # external in-degrees keep the mean input when the recurrent ones change
    k_ext_full = [k_ext_1mm2[t] + sum(psc[t][s] / psc_ext * rates[s] / p["bg_rate"]
                                      * (k_1mm2[t][s] - k_full[t][s]) for s in range(8))
                  for t in range(8)]
    if min(k_ext_full) < 0:
        raise ValueError(f"mesocircuit: extent {extent} leaves a negative external in-degree")

    i_e = [0.0] * 8
    if p["bg_input"] == "dc":
        i_e = [p["bg_rate"] * k_ext_full[t] * psc_ext * tau0 * 0.001 for t in range(8)]
    if scale != 1.0:  # microcircuit.derived's compensation, with these in-degrees
        lost = 1.0 - math.sqrt(scale)
        for t in range(8):
            input_rec = sum(psc[t][s] * k_full[t][s] * rates[s] for s in range(8))
            i_e[t] += 0.001 * tau0 * lost * input_rec
            if p["bg_input"] == "poisson":
                i_e[t] += 0.001 * tau0 * lost * psc_ext * k_ext_full[t] * p["bg_rate"]

    k_ext = []
    for t, name in enumerate(POPULATIONS):
        factor = 1.0 if pd else MAMV1_K_EXT_SCALING.get(name, 1.0) * MAMV1_K_EXT_GLOBAL
        k_ext.append(int(round(k_ext_full[t] * scale * factor)))

    tau_ex, tau_in = (mc.NEURON["tau_syn_ex"], mc.NEURON["tau_syn_in"]) if pd else (2.0, 8.0)
    wf = 1.0 / math.sqrt(scale)
    psc_used = [[psc[t][s] * tau0 / (tau_in if POPULATIONS[s].endswith("I") else tau_ex) * wf
                 for s in range(8)] for t in range(8)]
    k = [[kf * scale for kf in row] for row in k_full]
    k_th = [kf * scale for kf in k_th_full]
    p0 = [[p0_for(k[t][s], sizes[s], s == t, extent, betas[t][s], radii[t][s])
           for s in range(8)] for t in range(8)]
    return {
        "sizes": sizes, "size_th": size_th,
        "K_1mm2": k_1mm2, "K_full": k_full, "K": k,
        "K_th_1mm2": k_th_1mm2, "K_th_full": k_th_full, "K_th": k_th,
        "beta": betas, "radius": radii, "radius_th": mask_radius(BETA_TH, extent), "p0": p0,
        "p0_th": [p0_for(k_th[t], size_th, False, extent, BETA_TH, mask_radius(BETA_TH, extent))
                  if size_th else 0.0 for t in range(8)],
        "K_ext_full": k_ext_full, "K_ext": k_ext, "I_e": i_e,
        "PSC": psc_used, "PSC_th": psc_ext * tau0 / tau_ex * wf, "PSC_ext": psc_ext * tau0 / tau_ex * wf,
        "tau_syn_ex": tau_ex, "tau_syn_in": tau_in, "g": g,
    }


def _pathway(src: str, tgt: str, p0: float, b: float, radius: float, weight: float) -> list[dict]:
    """ceil(p0) identical projections of p0 / n each (one if p0 <= 1); none if p0 == 0."""
    if p0 <= 0.0:
        return []
    n = max(1, math.ceil(p0))
    w = {"dist": "normal", "mean": weight, "std": mc.WEIGHT_REL_STD * abs(weight)}
    w.update({"low": 0.0} if weight >= 0 else {"high": 0.0})  # Dale's law, redrawn
    proj = {
        "source": src, "target": tgt,
        "rule": {"rule": "pairwise_bernoulli",
                 "p": {"spatial": "exponential", "p_center": p0 / n, "beta": b},
                 "mask": {"circular": {"radius": radius}},
                 "allow_autapses": False, "allow_multapses": True},
        "synapse": {"model": "static_synapse", "weight": w,
                    "delay": {"spatial": "linear", "offset": DELAY_OFFSET, "velocity": VELOCITY}},
    }
    return [proj] + [copy.deepcopy(proj) for _ in range(n - 1)]  # no shared objects: no YAML aliases


def build(scale: float = 1.0, **overrides) -> dict:
    """Spec dict (format ``spikescope/1``) of the mesocircuit (see the module docstring).

    ``scale`` in (0, 1] multiplies neuron densities and in-degrees (NEST's N_scaling =
    K_scaling); keyword parameters: ``extent`` (mm, default 4), ``variant`` ('PD' |
    'MAMV1'), ``thalamus`` (False), ``bg_input`` ('poisson' | 'dc'), ``V0_type``
    ('optimized' | 'original'), ``bg_rate`` (8 spikes/s), ``th_rate``, ``th_start``,
    ``th_duration`` (thalamic Poisson drive), ``seed`` (55).
    """
    p = _merge(overrides)
    scale = _check_scale(scale)
    d = derived(scale, **overrides)
    extent = p["extent"]
    sheet = {"kind": "random", "extent": [extent, extent], "periodic": True}

    populations = {}
    for i, name in enumerate(POPULATIONS):
        if p["V0_type"] == "optimized":
            v0 = {"dist": "normal", "mean": mc.V0_OPTIMIZED_MEAN[i], "std": mc.V0_OPTIMIZED_STD[i]}
        else:
            v0 = {"dist": "normal", "mean": mc.V0_ORIGINAL[0], "std": mc.V0_ORIGINAL[1]}
        params = {**mc.NEURON, "tau_syn_ex": d["tau_syn_ex"], "tau_syn_in": d["tau_syn_in"],
                  "I_e": float(d["I_e"][i])}
        populations[name] = {"model": "iaf_psc_exp", "size": d["sizes"][i], "params": params,
                             "initial": {"V_m": v0}, "positions": copy.deepcopy(sheet)}

    projections = []
    for t, tgt in enumerate(POPULATIONS):
        for s, src in enumerate(POPULATIONS):
            projections += _pathway(src, tgt, d["p0"][t][s], d["beta"][t][s], d["radius"][t][s],
                                    d["PSC"][t][s])

    inputs = {}
    if p["bg_input"] == "poisson":
        projections += mc.poisson_background(inputs, p["bg_rate"], d["K_ext"], d["PSC_ext"])

    if p["thalamus"] and d["size_th"] >= 1:
        populations["TC"] = {"model": "parrot_neuron", "size": d["size_th"], "positions": copy.deepcopy(sheet)}
        inputs["th"] = {"model": "poisson_generator",
                        "params": {"rate": p["th_rate"], "start": p["th_start"],
                                   "stop": p["th_start"] + p["th_duration"]}}
        projections.append({  # NEST's Connect defaults: all_to_all, weight 1, delay 1 ms
            "source": "th", "target": "TC",
            "rule": {"rule": "all_to_all", "allow_autapses": True, "allow_multapses": True},
            "synapse": {"model": "static_synapse", "weight": 1.0, "delay": 1.0}})
        for t, tgt in enumerate(POPULATIONS):
            projections += _pathway("TC", tgt, d["p0_th"][t], BETA_TH, d["radius_th"], d["PSC_th"])
    elif p["thalamus"]:
        raise ValueError(f"mesocircuit: scale {scale} x extent {extent} mm leaves TC without neurons")

    n_total = sum(d["sizes"])
    return {
        "format": "spikescope/1",
        "name": "mesocircuit",
        "description": (
            f"Senk et al. (2024) mesocircuit, variant {p['variant']}: {extent:g} x {extent:g} mm^2 "
            f"periodic sheet, scale {scale:g}, {n_total} iaf_psc_exp neurons, exponential "
            f"distance-dependent connectivity and delays, {p['bg_input']} background"
            f"{', thalamus' if p['thalamus'] else ''}."),
        "dt": mc.DT,
        "seed": int(p["seed"]),
        "populations": populations,
        "inputs": inputs,
        "projections": projections,
        "recorders": {"spikes": "all",
                      # 10 x 10 electrodes over 90% of the sheet: 0.4 mm apart on 4 mm, as the model code
                      "lfp": {"method": "kernel",
                              "electrodes": {"grid": [10, 10], "pitch": extent / 10.0, "depth": -0.4},
                              "interval": 0.5}},
    }


def _check_scale(scale) -> float:
    scale = float(scale)
    if not 0.0 < scale <= 1.0:
        raise ValueError(f"mesocircuit: scale must be in (0, 1]; got {scale}")
    return scale


def _merge(overrides: dict) -> dict:
    p = merge_options("mesocircuit", DEFAULTS, overrides)
    if p["variant"] not in VARIANTS:
        raise ValueError(f"mesocircuit: variant must be 'PD' or 'MAMV1'; got {p['variant']!r}")
    if p["bg_input"] not in ("poisson", "dc"):
        raise ValueError(f"mesocircuit: bg_input must be 'poisson' or 'dc'; got {p['bg_input']!r}")
    if p["V0_type"] not in ("optimized", "original"):
        raise ValueError(f"mesocircuit: V0_type must be 'optimized' or 'original'; got {p['V0_type']!r}")
    try:
        extent = float(p["extent"])
    except (TypeError, ValueError):
        raise ValueError(f"mesocircuit: extent must be a number of mm; got {p['extent']!r}") from None
    if not (extent > 0.0 and math.isfinite(extent)):
        raise ValueError(f"mesocircuit: extent must be > 0 mm; got {p['extent']!r}")
    if not isinstance(p["thalamus"], bool):
        raise ValueError(f"mesocircuit: thalamus must be true or false; got {p['thalamus']!r}")
    p["extent"] = extent
    for key in ("bg_rate", "th_rate", "th_start", "th_duration"):
        try:
            p[key] = float(p[key])
        except (TypeError, ValueError):
            raise ValueError(f"mesocircuit: {key} must be a number; got {p[key]!r}") from None
        if p[key] < 0:
            raise ValueError(f"mesocircuit: {key} must be >= 0; got {p[key]}")
    return p
