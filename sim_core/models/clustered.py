"""EI-clustered network of Rostami et al., as in NEST's ``EI_clustered_network`` example.

Sources: NEST example ``pynest/examples/EI_clustered_network`` (``network_params.py``,
``helper.py`` ``calculate_RBN_weights``, ``network.py``; F. J. Schmitt, V. Rostami,
M. Nawrot 2023); Rostami V et al. (2024) Nat Commun 15:6304. Numbers and their
provenance: ``shared/reference/MODELS.md`` §3.

Q = 20 clusters, each one excitatory (E0..E19, 200 neurons) and one inhibitory
(I0..I19, 50 neurons) population of ``iaf_psc_exp`` neurons, 5,000 neurons in all.
Every pair of populations is connected with ``pairwise_bernoulli`` at the baseline
probability of its type (no autapses, no multapses). Clustering is by weight: a
connection inside a cluster has weight J+ j, between clusters J- j, with
J- = (Q - J+) / (Q - 1) so that the mean input to a neuron is the same as in the
unclustered balanced network. Background drive is a constant current I_e, a
multiple of the rheobase current. No stimulus.

Units follow NEST: ms, mV, pA, pF, spikes/s.
"""
from __future__ import annotations

import math

from .microcircuit import exp_psp_peak
from .options import merge_options

N_E_FULL, N_I_FULL = 4000, 1000

#: Baseline connection probabilities by (target type, source type), as in NEST's
#: ``baseline_conn_prob``: EE = E->E, EI = I->E, IE = E->I, II = I->I.
P = {"EE": 0.2, "EI": 0.5, "IE": 0.5, "II": 0.5}
#: Relative inhibitory strengths (NEST ``gei``, ``gie``, ``gii``).
G = {"EI": 1.2, "IE": 1.0, "II": 1.0}

E_L = 0.0        # mV
V_TH = 20.0      # mV, E and I
V_RESET = 0.0    # mV
C_M = 1.0        # pF
TAU_E = 20.0     # ms, membrane time constant of E neurons
TAU_I = 10.0     # ms, of I neurons
T_REF = 5.0      # ms
TAU_SYN = 5.0    # ms, tau_syn_ex = tau_syn_in
DELAY = 0.1      # ms

#: Keyword parameters ``build`` accepts, with their defaults (NEST example values).
DEFAULTS = {
    "n_clusters": 20,  # Q
    "rep": 6.0,        # J_E+: within-cluster factor of E->E weights
    "rj": 0.82,        # R_J: J_I+ = 1 + (J_E+ - 1) R_J for the other three types
    "I_th_E": 1.25,    # background current of E neurons, in rheobase units
    "I_th_I": 0.78,    # of I neurons
    "seed": 55,        # NEST example's randseed
}


def rheobase(tau_m: float) -> float:
    """Smallest constant current (pA) that takes V_m to threshold: (V_th - E_L) C_m / tau_m."""
    return (V_TH - E_L) * C_M / tau_m


def base_weights(n_e: int = N_E_FULL, n_i: int = N_I_FULL) -> dict:
    """Unclustered weights j (pA) of the balanced random network, keyed EE, EI, IE, II.

    "Eqs. 7-10 of Rostami 2024" as in NEST's ``calculate_RBN_weights``, divided by
    sqrt(N) as NEST's ``connect_weight`` does: K = p N_pre in-degrees, psp(tau_m) = peak
    PSP of a 1 pA exponential current, and

    - j_EE = (V_th - E_L) / (sqrt(K_EE) psp_E): sqrt(K_EE) coincident inputs reach threshold;
    - j_EI = -gei j_EE K_EE psp_E / (K_EI psp_E): I->E input cancels E->E input (times gei);
    - j_IE = gie (V_th - E_L) / (sqrt(K_IE) psp_I);
    - j_II = -gii j_IE K_IE psp_I / (K_II psp_I).

    At full size: 0.2245, -0.4310, 0.1789, -0.7155 pA.
    """
    # PSP peaks per target type; NEST distinguishes amp_EE/amp_EI (tau_syn_ex/in), which
    # are equal here because tau_syn_ex = tau_syn_in
    psp_e = exp_psp_peak(C_M, TAU_E, TAU_SYN)
    psp_i = exp_psp_peak(C_M, TAU_I, TAU_SYN)
    k = {"EE": P["EE"] * n_e, "EI": P["EI"] * n_i, "IE": P["IE"] * n_e, "II": P["II"] * n_i}
    theta = V_TH - E_L
    j_ee = theta / (math.sqrt(k["EE"]) * psp_e)
    j_ie = G["IE"] * theta / (math.sqrt(k["IE"]) * psp_i)
    return {
        "EE": j_ee,
        "EI": -G["EI"] * j_ee * k["EE"] * psp_e / (k["EI"] * psp_e),
        "IE": j_ie,
        "II": -G["II"] * j_ie * k["IE"] * psp_i / (k["II"] * psp_i),
    }


def derived(scale: float = 1.0, **overrides) -> dict:
    """Derived numbers: cluster sizes ``n_e``, ``n_i``; base weights ``j``; factors
    ``J_plus`` and ``J_minus`` per type (EE uses J_E+ = rep, the others
    J_I+ = 1 + (rep - 1) rj); ``I_e_E``, ``I_e_I`` (pA) = I_th x rheobase."""
    p = _merge(overrides)
    q = p["n_clusters"]
    n_e, n_i = _cluster_sizes(scale, q)
    j_ip = 1.0 + (p["rep"] - 1.0) * p["rj"]
    j_plus = {"EE": p["rep"], "EI": j_ip, "IE": j_ip, "II": j_ip}
    if q == 1:  # one cluster: the plain balanced random network (as NEST does)
        j_plus = {t: 1.0 for t in j_plus}
    j_minus = {t: (q - jp) / (q - 1.0) if q > 1 else 1.0 for t, jp in j_plus.items()}
    if any(jp < 0.0 or jm < 0.0 for jp, jm in zip(j_plus.values(), j_minus.values())):
        # J+ > Q would make J- negative and flip the sign of between-cluster weights
        raise ValueError(f"clustered: rep = {p['rep']:g}, rj = {p['rj']:g} give J+ outside "
                         f"[0, n_clusters = {q}]: {j_plus}")
    return {
        "n_e": n_e, "n_i": n_i,
        "j": base_weights(n_e * q, n_i * q),
        "J_plus": j_plus, "J_minus": j_minus,
        "I_e_E": p["I_th_E"] * rheobase(TAU_E),
        "I_e_I": p["I_th_I"] * rheobase(TAU_I),
    }


def build(scale: float = 1.0, **overrides) -> dict:
    """Spec dict (format ``spikescope/1``) of NEST's EI_clustered_network example.

    ``scale`` multiplies N_E = 4000 and N_I = 1000, split evenly over the clusters
    (200 E and 50 I per cluster at scale 1 with Q = 20; rounded, at least 1); the
    weights are recomputed for the scaled sizes (j ~ 1 / sqrt(K)), as the NEST
    example does when N_E, N_I are changed.

    Keyword overrides (NEST names): ``n_clusters`` (Q), ``rep`` (J_E+), ``rj`` (R_J),
    ``I_th_E``, ``I_th_I`` (rheobase units), ``seed``.
    """
    p = _merge(overrides)
    d = derived(scale, **overrides)
    q = p["n_clusters"]

    def neuron(tau_m: float, i_e: float) -> dict:
        return {"C_m": C_M, "tau_m": tau_m, "tau_syn_ex": TAU_SYN, "tau_syn_in": TAU_SYN,
                "t_ref": T_REF, "E_L": E_L, "V_reset": V_RESET, "V_th": V_TH, "I_e": i_e}

    # V_m(0) = V_th - 20 X, X ~ lognormal(0, 1): spread below threshold (NEST's "rand")
    v0 = {"dist": "lognormal", "mu": 0.0, "sigma": 1.0, "scale": -20.0, "offset": V_TH}
    populations = {}
    for kind, size, tau, i_e in (("E", d["n_e"], TAU_E, d["I_e_E"]), ("I", d["n_i"], TAU_I, d["I_e_I"])):
        for c in range(q):
            populations[f"{kind}{c}"] = {"model": "iaf_psc_exp", "size": size,
                                         "params": neuron(tau, i_e), "initial": {"V_m": dict(v0)}}

    projections = []
    # type key is target+source, as NEST's matrices: "EI" is I -> E
    for key in ("EE", "EI", "IE", "II"):
        tgt_kind, src_kind = key[0], key[1]
        for s in range(q):
            for t in range(q):
                factor = d["J_plus"][key] if s == t else d["J_minus"][key]
                projections.append({
                    "source": f"{src_kind}{s}", "target": f"{tgt_kind}{t}",
                    "rule": {"rule": "pairwise_bernoulli", "p": P[key],
                             "allow_autapses": False, "allow_multapses": False},
                    "synapse": {"model": "static_synapse", "weight": factor * d["j"][key],
                                "delay": DELAY},
                })

    return {
        "format": "spikescope/1",
        "name": "clustered",
        "description": (
            f"EI-clustered network (Rostami et al. 2024) as in NEST's EI_clustered_network "
            f"example (scale {scale:g}: {q} clusters of {d['n_e']} E + {d['n_i']} I "
            f"iaf_psc_exp neurons, J_E+ = {p['rep']:g}, R_J = {p['rj']:g}, no stimulus)."),
        "dt": 0.1,
        "seed": int(p["seed"]),
        "populations": populations,
        "inputs": {},
        "projections": projections,
        "recorders": {"spikes": "all"},
    }


def _cluster_sizes(scale, q: int) -> tuple[int, int]:
    """Neurons per E and per I cluster: N_E scale / Q and N_I scale / Q, rounded
    (200 and 50 at scale 1, Q = 20). NEST requires Q to divide N_E and N_I; rounding
    per cluster keeps the populations equal in size whatever the scale."""
    scale = float(scale)
    if not scale > 0.0:
        raise ValueError(f"clustered: scale must be > 0; got {scale}")
    n_e = int(round(N_E_FULL * scale / q))
    n_i = int(round(N_I_FULL * scale / q))
    if n_e < 1 or n_i < 1:
        raise ValueError(f"clustered: scale {scale} with {q} clusters leaves clusters "
                         f"without neurons (needs N_I scale / Q >= 0.5)")
    return n_e, n_i


def _merge(overrides: dict) -> dict:
    p = merge_options("clustered", DEFAULTS, overrides)
    q = p["n_clusters"]
    if isinstance(q, bool) or not isinstance(q, int) or q < 1:
        raise ValueError(f"clustered: n_clusters must be an integer >= 1; got {q!r}")
    for k in ("rep", "rj", "I_th_E", "I_th_I"):
        p[k] = float(p[k])
    return p
