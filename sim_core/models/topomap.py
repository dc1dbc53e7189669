"""Preset ``topomap``: a topographic map that forms by STDP and structural plasticity, after
Bamford et al. (2010) as in Knight & Senk et al. (GeNN structural plasticity, arXiv
2510.19764; code: jhnnsnk/genn_structural_plasticity, ``topomap/``). Parameters:
shared/reference/MODELS.md, "Topographic map".

- Two periodic grids of (16 scale)^2 neurons, spacing 1 mm (grid units): ``input``
  (parrot neurons relaying a moving Poisson spot) and ``target`` (conductance-based LIF).
- Input: 5 + 152.8 exp(-d^2 / 8) spikes/s around a centre drawn anew every 20 ms (one spot
  per 16 x 16 block at larger scales, as the GeNN code tiles its pattern).
- Feed-forward (input -> target) and lateral (target -> target) projections: initial
  Gaussian probabilities p = 0.16 exp(-d^2 / 2 2.5^2) and 1.0 exp(-d^2 / 2), weight
  g_max = 0.2 µS = 200 nS; additive all-to-all STDP (A+ = 0.1 g_max, A- = 1.2 A+ tau+/tau-,
  tau+ = 20 ms, tau- = 64 ms) in NEST's stdp_synapse terms: lambda = A+/Wmax = 0.1,
  alpha = A-/A+ = 0.375, mu_plus = mu_minus = 0, Wmax = 200 nS.
- Rewiring every 1 ms, 10 scale^2 attempts per projection; a synapse below 0.1 µS is
  removed with probability 1 (GeNN's 0.0245 x 50 = 1.225 acts as 1), one above with
  0.000136 x 50 = 0.0068; a missing one forms with the initial p(d) at g_max; rows hold 64.
- Target neurons: GeNN's LIF with C = 20 nF, tau_m = 20 ms (g_L = 1 µS), V_rest = V_reset =
  -70 mV, V_th = -54 mV, t_ref = 5 ms, V_m ~ N(-60, 5) mV; exponential conductances,
  tau = 5 ms, E = 0 mV. Here: NEST's iaf_cond_exp with those values.
- dt 0.1 ms; delays one step (0.1 ms), as GeNN's default; the paper runs 60 s.

Differences from the GeNN code: NEST's STDP (the delay is dendritic; GeNN pairs by
per-neuron traces one step later), NEST's integrator (RKF45) instead of exponential Euler,
counter-based random numbers (the GeNN stimulus is not seeded), the spot's centre over the
whole block (GeNN's randint(0, 15) never reaches the last row and column), input from t = 0
(GeNN's is silent for the first 20 ms).
"""
from __future__ import annotations

SIDE = 16  # grid side at scale 1
G_MAX = 200.0  # nS (0.2 µS)
OPTIONS = ("seed", "t_ref", "attempts", "capacity", "weights_interval")


def build(scale: float = 1.0, **overrides) -> dict:
    """Spec dict of the topographic map at ``scale`` (1 to 7 in the paper: (16 scale)^2
    neurons per layer; a whole number). Overrides: ``seed``, ``attempts`` (rewiring
    attempts per ms and projection, default 10 scale^2), ``capacity`` (64),
    ``weights_interval`` (ms between weight snapshots, 1000)."""
    bad = set(overrides) - set(OPTIONS)
    if bad:
        raise ValueError(f"topomap: unknown option {sorted(bad)[0]!r}; options: {', '.join(OPTIONS)}")
    s = float(scale)
    if not (s >= 1.0 and abs(s - round(s)) < 1e-9):
        raise ValueError(f"topomap: scale must be a whole number >= 1 (the grid is 16 scale per side); got {scale}")
    s = int(round(s))
    side = SIDE * s
    sheet = {"kind": "grid", "shape": [side, side], "extent": [float(side), float(side)], "periodic": True}
    attempts = int(overrides.get("attempts", 10 * s * s))
    capacity = int(overrides.get("capacity", 64))

    def plastic(p_center, sigma):
        return {
            "rule": {"rule": "pairwise_bernoulli", "p": {"spatial": "gaussian", "p_center": p_center, "sigma": sigma}},
            "synapse": {"model": "stdp_synapse", "weight": G_MAX, "delay": 0.1,
                        "params": {"tau_plus": 20.0, "lambda": 0.1, "alpha": 0.375, "mu_plus": 0.0,
                                   "mu_minus": 0.0, "Wmax": G_MAX}},
            "rewiring": {"interval": 1.0, "attempts": attempts, "capacity": capacity, "threshold": 0.5 * G_MAX,
                         "p_elim_below": 1.0, "p_elim_above": 0.000136 * 50, "weight": G_MAX},
        }

    return {
        "format": "spikescope/1",
        "name": "topomap",
        "description": (f"Topographic map formation by STDP and rewiring (Bamford et al. 2010; Knight & Senk et "
                        f"al.): two periodic {side}x{side} grids, a moving Poisson spot as input."),
        "dt": 0.1,
        "seed": int(overrides.get("seed", 564)),  # the paper's runs: 564, 951, 398
        "populations": {
            "input": {"model": "parrot_neuron", "size": side * side, "positions": sheet},
            "target": {"model": "iaf_cond_exp", "size": side * side, "positions": sheet,
                       "params": {"C_m": 20000.0, "g_L": 1000.0, "E_L": -70.0, "V_reset": -70.0, "V_th": -54.0,
                                  "t_ref": float(overrides.get("t_ref", 5.0)), "E_ex": 0.0, "tau_syn_ex": 5.0,
                                  "tau_syn_in": 5.0, "tau_minus": 64.0},
                       "initial": {"V_m": {"dist": "normal", "mean": -60.0, "std": 5.0}}},
        },
        "inputs": {"spot": {"model": "spot_poisson_generator",
                            "params": {"rate": 5.0, "peak_rate": 152.8, "sigma": 2.0, "period": 20.0,
                                       "tiles": float(s)}}},
        "projections": [
            {"source": "spot", "target": "input", "rule": {"rule": "all_to_all"},
             "synapse": {"weight": 1.0, "delay": 0.1}},
            {"source": "input", "target": "target", **plastic(0.16, 2.5)},
            {"source": "target", "target": "target", **plastic(1.0, 1.0)},
        ],
        "recorders": {"spikes": "all",
                      "weights": {"projections": [1, 2], "interval": float(overrides.get("weights_interval", 1000.0))}},
    }
