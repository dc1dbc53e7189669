#!/usr/bin/env python
"""Compute the LFP kernels that SpikeScope ships (sim_core/lfp/data/pd_kernels.npz).

Run with a separate environment that has the LFP stack (``pip install -e .[lfp-kernels]``
or ``LFPykernels==0.2.0 LFPy==2.3.7 neuron==9.0.2``)::

    python scripts/lfp_kernels.py --out sim_core/lfp/data/pd_kernels.npz
    python scripts/lfp_kernels.py --check sim_core/lfp/data/pd_kernels.npz [--pathways L4E:L23E,TC:L4E]
    python scripts/lfp_kernels.py --validate     # pulse kernel vs LFPykernels' KernelApprox.get_kernel

Pathways are written ``SOURCE:TARGET`` (presynaptic X, then postsynaptic Y).

What is computed
----------------
``h[Y, X, z, r, k]``: the extracellular potential (mV) at depth ``z`` and lateral distance
``r`` from the soma axis of ONE cell of population ``Y`` (soma at the lateral origin, at the
middle of its layer), averaged over the azimuth of the electrode (= over rotations of the
cell about the vertical axis) and over the time bin [k*dt, (k+1)*dt), when a current of
1 pA flows INTO the cell during [0, dt) (charge 1 pA * dt), spread over the membrane where
the X -> Y synapses sit.  The current is a transmembrane (synaptic) current: it enters at
the synapses and leaves through the rest of the membrane, so the membrane currents sum to
zero at every instant.  Sign: an inward (depolarising) current is a current sink at the
synapses, so h is negative next to the synapses and positive next to the return currents
(soma / other dendrites).  A network synapse of weight J (pA, negative if inhibitory)
contributes J times the convolution of h with its current shape (in units of dt).  No
delay is included.

The representative-cell approach of LFPykernels (Hagen et al. 2022, PLoS Comput Biol 18:
e1010353) is used: one passive, linear multicompartment cell per cell type, synapses
distributed over its membrane with the per-segment probability given by
``KernelApprox.get_rand_idx_area_and_distribution_prob`` (membrane area times a depth
density), the cell linearised around rest.  The network (Potjans & Diesmann 2014 /
Senk et al. mesocircuit) is current based (iaf_psc_exp), so there is no conductance to
linearise: LFPykernels' ``g_eff`` (the shift of g_pas by the mean synaptic conductance of
conductance-based synapses) is off -- LFPykernels itself refuses ``g_eff=True`` with
``conductance_based=False`` -- and the leak is g_pas = C_m / tau_m with tau_m = 10 ms
(cm = 1 uF/cm^2, Ra = 150 Ohm cm, E_L = -65 mV, segments by lambda_f = 100 Hz), exactly the
passive parameters of the INM-6 mesocircuit's hybridLFPy set-up (lfp/lfp_parameters.py).

Cell types, morphologies and synapse depth profiles follow hybridLFPy's Potjans-Diesmann /
mesocircuit set-up (Hagen et al. 2016 Cereb Cortex; INM-6/mesocircuit-model
``mesocircuit/lfp/lfp_parameters.py``): population Y consists of 1-3 cell types y (16 in
all, e.g. L4E = p4, ss4(L23), ss4(L4)), each with a "stretched" Binzegger-type
reconstruction (scripts/lfp_morphologies/).  From Binzegger et al. 2004's table
(binzegger_connectivity_table.json) come, for each y and presynaptic population X
(X = its cell types x, TC = TCs + TCn):

* the layer specificity L_yXL = k_yXL / sum_L k_yXL, k_yXL = sum_x p_yxL k_yL
  (share of y's X-synapses in layer L), and
* the cell-type specificity T_yX = F_y k_yX / sum_{y' in Y} F_y' k_y'X (share of the
  X -> Y synapses that land on type y; F_y = occurrence).

Within layer L the synapses of y are placed on sections 'apic' and 'dend' (pyramidal
types, name starts with 'p') or 'dend' (all others) with probability proportional to the
segment's membrane area (hybridLFPy's rule).  This is written as LFPykernels' depth
density: ``fun`` = one uniform density per layer, ``funweights`` = L_yXL * thickness_L /
A_yL (A_yL = allowed membrane area of y in layer L), so that the per-segment probability
area_i * sum_L w_L pdf_L(z_i) equals hybridLFPy's expectation L_yXL * area_i / A_yL.
Layers where the cell has no allowed membrane lose their share (hybridLFPy drops those
synapses too); the profile is renormalised to the remaining layers.  The kernel of
population Y is the T_yX-weighted mean of its cell types' kernels:
h_YX = sum_y T_yX h_yX.  Pathways with no synapses in the table are zero and marked
``has_synapses = False``.  Layer boundaries (um): 0, -81.6, -587.1, -922.2, -1170,
-1491.7 (L1, L2/3, L4, L5, L6); somata at the layer middles (L2/3 -334.35, L4 -754.65,
L5 -1046.1, L6 -1330.85 um).  hybridLFPy's +-25 um soma-depth jitter and its random
rotations of non-pyramidal cells about the x axis are not included.

Forward model: LFPy/LFPykit ``RecExtElectrode`` with ``method='root_as_point'`` (soma
as a point source, dendrites as line sources, as in the mesocircuit), infinite homogeneous
medium, sigma = 0.3 S/m, point contacts, no periodic images (the runtime sums cells over
the sheet).  Azimuthal average: the mean over N_PHI = 64 equally spaced electrode
azimuths at each lateral offset r > 0 (exact for r = 0).

Derivation of the pulse response (no deconvolution)
---------------------------------------------------
The passive cell is a linear time-invariant system, and so is NEURON's fixed-step
backward-Euler discretisation of it.  The input is a current I_i(t) = p_i * 1 pA on each
segment i during [0, dt) (p = the pathway's synapse probability per segment, sum p = 1),
injected with one IClamp per segment (delay 0, duration dt), simulated with a time step
dt_sim = dt / SUBSTEPS.  NEURON's ``i_membrane_`` (LFPy's ``imem``) does not contain
electrode currents, so the injected current is added to the membrane current of its
segment as an inward (negative) transmembrane current: I_m,i = imem_i - I_i; the code
asserts that sum_i I_m,i = 0 at every step (charge conservation -- this also pins the
timing: the sample at t_n holds the current of the step (t_{n-1}, t_n], and the pulse
fills exactly the steps of (0, dt]).  The membrane currents are then averaged over each
output bin (SUBSTEPS samples) and mapped to potentials with the azimuth-averaged
transformation matrix M (mV/nA): h = M @ mean_bin(I_m).  This is the exact response of the
discretised linear cell to a rectangular pulse of charge 1 pA * dt.  Backward Euler is
first order in dt_sim (with 0.1-ms bins, dt_sim = dt/8 put the first bins off by ~5 % of
the peak, dt/128 by ~0.4 %), so the currents are computed at dt_sim = dt/16 and dt/32 and
Richardson-extrapolated, I_m = 2 I_m(dt/32) - I_m(dt/16) (each conserves charge exactly);
the same extrapolation from dt/64 and dt/128 differs by < 4e-4 of the peak (3 pathways).
Kernel length: the slowest dendritic mode of the long pyramidal cells decays with
tau ~ 6 ms, so the potential summed over a sheet of cells is still ~3 % of its peak at
25 ms; 40 ms leaves < 0.5 %.
``--validate`` convolves the one-step pulse response with an Exp2SynI current and
compares it with the kernel LFPykernels' own ``KernelApprox.get_kernel`` computes for the
same cell, synapse placement and a current-based synapse, at the same time step.

Data sources and licences: morphologies and the Binzegger table from
INM-6/mesocircuit-model @ 78938020 (GPL-3.0), identical to
INM-6/hybridLFPy examples/Hagen_et_al_2016_cercor (see scripts/lfp_morphologies/README.md).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
MORPH_DIR = HERE / "lfp_morphologies"
TABLE = MORPH_DIR / "binzegger_connectivity_table.json"

TARGETS = ["L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I"]
SOURCES = TARGETS + ["TC"]

# presynaptic population -> Binzegger cell types (hybridLFPy's x_in_X)
X_CELL_TYPES = {
    "L23E": ["p23"], "L23I": ["b23", "nb23"],
    "L4E": ["p4", "ss4(L23)", "ss4(L4)"], "L4I": ["b4", "nb4"],
    "L5E": ["p5(L23)", "p5(L56)"], "L5I": ["b5", "nb5"],
    "L6E": ["p6(L4)", "p6(L56)"], "L6I": ["b6", "nb6"],
    "TC": ["TCs", "TCn"],
}
# postsynaptic population -> (cell type y, morphology) (mesocircuit lfp_parameters.py)
Y_CELL_TYPES = {
    "L23E": [("p23", "L23E_oi24rpy1.hoc")],
    "L23I": [("b23", "L23I_oi38lbc1.hoc"), ("nb23", "L23I_oi38lbc1.hoc")],
    "L4E": [("p4", "L4E_53rpy1.hoc"), ("ss4(L23)", "L4E_j7_L4stellate.hoc"),
            ("ss4(L4)", "L4E_j7_L4stellate.hoc")],
    "L4I": [("b4", "L4I_oi26rbc1.hoc"), ("nb4", "L4I_oi26rbc1.hoc")],
    "L5E": [("p5(L23)", "L5E_oi15rpy4.hoc"), ("p5(L56)", "L5E_j4a.hoc")],
    "L5I": [("b5", "L5I_oi15rbc1.hoc"), ("nb5", "L5I_oi15rbc1.hoc")],
    "L6E": [("p6(L4)", "L6E_51-2a.CNG.hoc"), ("p6(L56)", "L6E_oi15rpy4.hoc")],
    "L6I": [("b6", "L6I_oi15rbc1.hoc"), ("nb6", "L6I_oi15rbc1.hoc")],
}
LAYERS = ["1", "23", "4", "5", "6"]
LAYER_BOUNDARIES_UM = np.array([[0.0, -81.6], [-81.6, -587.1], [-587.1, -922.2],
                                [-922.2, -1170.0], [-1170.0, -1491.7]])
# soma depth of population Y: middle of its layer (um)
SOMA_DEPTH_UM = {Y: float(LAYER_BOUNDARIES_UM[1 + i // 2].mean())
                 for i, Y in enumerate(TARGETS)}

SIGMA_S_PER_M = 0.3
TAU_M_MS = 10.0          # PD14 / mesocircuit iaf_psc_exp
E_L_MV = -65.0
CELL_PARAMS = dict(cm=1.0, Ra=150.0, passive=True,
                   passive_parameters=dict(g_pas=1.0 / (TAU_M_MS * 1e3), e_pas=E_L_MV),
                   v_init=E_L_MV, nsegs_method="lambda_f", lambda_f=100,
                   delete_sections=True, verbose=False)

DT_MS = 0.25                       # output bin
SUBSTEPS = 16                      # simulation steps per bin (and twice as many, see doc)
T_KERNEL_MS = 40.0                 # kernel length (slowest dendritic mode: tau ~ 6 ms)
DEPTHS_MM = np.array([0.0, -0.4, -0.8, -1.2])
OFFSETS_MM = np.array([0, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6,
                       0.8, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0])
N_PHI = 64
PULSE_PA = 1.0


def script_sha256(path: Path = Path(__file__)) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# ---------------------------------------------------------------- synapse statistics
def load_table() -> dict:
    with open(TABLE) as f:
        return json.load(f)["data"]


def layer_counts(table: dict, y: str, X: str) -> np.ndarray:
    """k_yXL: expected X-synapses per y cell in each layer (hybridLFPy's p_yxL k_yL)."""
    k = np.zeros(len(LAYERS))
    for i, L in enumerate(LAYERS):
        d = table[y]["syn_dict"].get(L)
        if d is None:
            continue
        k[i] = sum(d[x] / 100.0 for x in X_CELL_TYPES[X]) * d["number of synapses per neuron"]
    return k


def type_shares(table: dict, Y: str, X: str) -> np.ndarray:
    """T_yX for the cell types y of Y: share of the X -> Y synapses on each type."""
    w = np.array([table[y]["occurrence"] * layer_counts(table, y, X).sum()
                  for y, _ in Y_CELL_TYPES[Y]])
    return w / w.sum() if w.sum() > 0 else w


# ---------------------------------------------------------------- cells and geometry
def make_cell(morphology: str, soma_depth_um: float, tstop: float, dt_sim: float):
    import LFPy
    cell = LFPy.Cell(morphology=str(MORPH_DIR / morphology), dt=dt_sim, tstart=0.0,
                     tstop=tstop, **CELL_PARAMS)
    cell.set_pos(x=0.0, y=0.0, z=soma_depth_um)
    return cell


def allowed_sections(y: str) -> list[str]:
    return ["apic", "dend"] if y.startswith("p") else ["dend"]


def segment_probability(cell, y: str, L_yXL: np.ndarray) -> tuple[np.ndarray, float]:
    """Per-segment synapse probability (sum 1) through LFPykernels' placement function.

    Returns (p, lost): lost = share of the layer profile that falls on layers where the
    cell has no allowed membrane (dropped, profile renormalised)."""
    import scipy.stats as st
    from lfpykernels import KernelApprox

    sections = allowed_sections(y)
    idx = cell.get_idx(section=sections)
    zmid = cell.z[idx].mean(axis=-1)
    funs, funargs, funweights = [], [], []
    lost = 0.0
    for i, (top, bottom) in enumerate(LAYER_BOUNDARIES_UM):
        if L_yXL[i] <= 0:
            continue
        inside = (zmid >= bottom) & (zmid <= top)       # support of scipy's uniform pdf
        area = cell.area[idx][inside].sum()
        if area <= 0:
            lost += L_yXL[i]
            continue
        funs.append(st.uniform)
        funargs.append(dict(loc=bottom, scale=top - bottom))
        funweights.append(L_yXL[i] * (top - bottom) / area)
    if not funs:
        return np.zeros(cell.totnsegs), lost
    approx = KernelApprox.__new__(KernelApprox)   # the method needs no instance state
    p = approx.get_rand_idx_area_and_distribution_prob(
        cell, section=sections, fun=funs, funargs=funargs, funweights=funweights)
    return np.asarray(p, dtype=float), lost


def transformation_matrix(cell) -> np.ndarray:
    """Azimuth-averaged potential per membrane current, shape (n_depth, n_offset, n_seg),
    mV/nA; electrodes at (r cos phi, r sin phi, z) around the soma axis."""
    from lfpykit import RecExtElectrode

    phi = 2 * np.pi * (np.arange(N_PHI) + 0.5) / N_PHI
    xs, ys, zs = [], [], []
    for z in DEPTHS_MM * 1e3:
        for r in OFFSETS_MM * 1e3:
            n = 1 if r == 0 else N_PHI
            xs.append(r * np.cos(phi[:n]) if r else np.zeros(1))
            ys.append(r * np.sin(phi[:n]) if r else np.zeros(1))
            zs.append(np.full(n, z))
    el = RecExtElectrode(cell, x=np.concatenate(xs), y=np.concatenate(ys),
                         z=np.concatenate(zs), sigma=SIGMA_S_PER_M, method="root_as_point")
    M = el.get_transformation_matrix()
    out = np.empty((DEPTHS_MM.size, OFFSETS_MM.size, cell.totnsegs))
    row = 0
    for iz in range(DEPTHS_MM.size):
        for ir, r in enumerate(OFFSETS_MM):
            n = 1 if r == 0 else N_PHI
            out[iz, ir] = M[row:row + n].mean(axis=0)
            row += n
    return out


def pulse_membrane_currents(cell, p: np.ndarray, n_bins: int, substeps: int | None = None,
                            dur: float | None = None) -> np.ndarray:
    """Bin-averaged transmembrane currents (nA), shape (n_seg, n_bins), for a 1 pA
    current into the cell during [0, dur), distributed over the segments by p (bins of
    length dur = substeps simulation steps)."""
    import LFPy

    substeps = SUBSTEPS if substeps is None else substeps
    dur = DT_MS if dur is None else dur
    assert abs(cell.dt * substeps - dur) < 1e-12, (cell.dt, substeps, dur)

    amp_nA = PULSE_PA * 1e-3
    segs = np.flatnonzero(p > 0)
    for i in segs:
        LFPy.StimIntElectrode(cell, idx=int(i), pptype="IClamp", amp=amp_nA * p[i],
                              dur=dur, delay=0.0, record_current=False)
    cell.simulate(rec_imem=True)
    imem = np.array(cell.imem)                      # (n_seg, n_steps + 1), nA
    n_sub = n_bins * substeps
    assert imem.shape[1] >= n_sub + 1, imem.shape
    imem = imem[:, 1:n_sub + 1]                     # sample n: step (t_{n-1}, t_n]
    # the injected current, an inward transmembrane current during the steps of (0, dur]
    imem[segs, :substeps] -= amp_nA * p[segs, None]
    total = np.abs(imem.sum(axis=0)).max()
    assert total < 1e-9 * amp_nA, f"membrane currents do not sum to zero ({total} nA)"
    return imem.reshape(imem.shape[0], n_bins, substeps).mean(axis=-1)


# ---------------------------------------------------------------- kernels
def n_bins() -> int:
    return int(round(T_KERNEL_MS / DT_MS))


def parse_pathways(text: str | None) -> list[tuple[str, str]]:
    """'L4E:L23E,TC:L4E' -> [(Y, X), ...] (target, source)."""
    if not text:
        return [(Y, X) for Y in TARGETS for X in SOURCES]
    out = []
    for item in text.split(","):
        X, Y = item.strip().split(":")
        if X not in SOURCES or Y not in TARGETS:
            raise SystemExit(f"unknown pathway {item!r} (SOURCE:TARGET, sources {SOURCES}, "
                             f"targets {TARGETS})")
        out.append((Y, X))
    return out


def compute_kernels(pathways: list[tuple[str, str]] | None = None, log=print) -> dict:
    """Kernels for the given (target Y, source X) pairs (all if None).

    Returns dict(h={(Y, X): float64 array (n_depth, n_offset, n_bins)},
    has_synapses={(Y, X): bool}, lost={(Y, X): float}, seconds={(Y, X): float})."""
    pathways = parse_pathways(None) if pathways is None else list(pathways)
    table = load_table()
    nb = n_bins()
    tstop = T_KERNEL_MS + DT_MS
    res = dict(h={}, has_synapses={}, lost={}, seconds={})
    geometry_cache: dict[tuple[str, str], np.ndarray] = {}
    for Y, X in pathways:
        t0 = time.perf_counter()
        shares = type_shares(table, Y, X)
        h = np.zeros((DEPTHS_MM.size, OFFSETS_MM.size, nb))
        lost_total = 0.0
        for (y, morph), T_yX in zip(Y_CELL_TYPES[Y], shares):
            if T_yX <= 0:
                continue
            k = layer_counts(table, y, X)
            # backward Euler at dt/SUBSTEPS and dt/(2 SUBSTEPS), Richardson-extrapolated
            I = 0.0
            for substeps, coef in ((SUBSTEPS, -1.0), (2 * SUBSTEPS, 2.0)):
                cell = make_cell(morph, SOMA_DEPTH_UM[Y], tstop, DT_MS / substeps)
                key = (morph, Y)
                if key not in geometry_cache:
                    geometry_cache[key] = transformation_matrix(cell)
                p, lost = segment_probability(cell, y, k / k.sum())
                if p.sum() > 0:
                    I = I + coef * pulse_membrane_currents(cell, p, nb, substeps)
                del cell
            lost_total += T_yX * lost
            h += T_yX * (geometry_cache[key] @ I)
        res["h"][(Y, X)] = h
        res["has_synapses"][(Y, X)] = bool(shares.sum() > 0)
        res["lost"][(Y, X)] = lost_total
        res["seconds"][(Y, X)] = time.perf_counter() - t0
        log(f"{X:>4} -> {Y:<4}  {res['seconds'][(Y, X)]:6.2f} s  "
            f"max|h| {np.abs(h).max():.3e} mV"
            + (f"  (dropped {lost_total:.1%} of the layer profile)" if lost_total > 0 else "")
            + ("" if res["has_synapses"][(Y, X)] else "  no synapses"))
    return res


def versions() -> dict:
    import LFPy
    import lfpykernels
    import neuron
    return dict(lfpykernels_version=lfpykernels.__version__, lfpy_version=LFPy.__version__,
                neuron_version=neuron.__version__)


DESCRIPTION = (
    "h[y, x, z, r, k] (float32, mV) is the extracellular potential at depth depths_mm[z] "
    "and lateral distance offsets_mm[r] from the soma axis of ONE cell of population "
    "targets[y] (soma at the lateral origin, middle of its layer; potential averaged over "
    "the electrode's azimuth, i.e. over rotations of the cell about the vertical axis), "
    "averaged over the bin [k*dt_ms, (k+1)*dt_ms), when a current of 1 pA flows into the "
    "cell during [0, dt_ms) as a synaptic (transmembrane) current spread over the membrane "
    "where the sources[x] -> targets[y] synapses sit. Inward current is a sink at the "
    "synapses (negative potential there); multiply by the synaptic weight in pA (negative "
    "for inhibition) and convolve with the PSC shape sampled at dt_ms. No delay included. "
    "Passive linear cells (tau_m 10 ms, cm 1 uF/cm2, Ra 150 Ohm cm, E_L -65 mV; g_eff off "
    "as the network is current based), LFPykernels' representative-cell synapse placement "
    "with hybridLFPy's Binzegger layer and cell-type specificities, the 16 stretched "
    "Binzegger-type morphologies of Hagen et al. 2016 as in INM-6/mesocircuit-model "
    "(population kernel = synapse-share-weighted mean over its cell types), layer "
    "boundaries and soma depths of the mesocircuit's LFP parameters (cortex top z = 0), "
    "root_as_point line-source forward model, sigma 0.3 S/m, infinite homogeneous medium. "
    "Pathways with has_synapses False are zero. Computed by scripts/lfp_kernels.py.")


def assemble(res: dict) -> dict:
    nb = n_bins()
    h = np.zeros((len(TARGETS), len(SOURCES), DEPTHS_MM.size, OFFSETS_MM.size, nb),
                 dtype=np.float32)
    has = np.zeros((len(TARGETS), len(SOURCES)), dtype=bool)
    lost = np.zeros((len(TARGETS), len(SOURCES)))
    for (Y, X), hyx in res["h"].items():
        iy, ix = TARGETS.index(Y), SOURCES.index(X)
        h[iy, ix] = hyx
        has[iy, ix] = res["has_synapses"][(Y, X)]
        lost[iy, ix] = res["lost"][(Y, X)]
    out = dict(
        targets=np.array(TARGETS), sources=np.array(SOURCES),
        depths_mm=DEPTHS_MM.astype(np.float64), offsets_mm=OFFSETS_MM.astype(np.float64),
        dt_ms=np.float64(DT_MS), h=h, has_synapses=has, dropped_profile_share=lost,
        soma_depths_mm=np.array([SOMA_DEPTH_UM[Y] * 1e-3 for Y in TARGETS]),
        sigma_S_per_m=np.float64(SIGMA_S_PER_M), tau_m_ms=np.float64(TAU_M_MS),
        script_sha256=np.array(script_sha256()),
        units=np.array("mV per pA pulse of length dt_ms"),
        description=np.array(DESCRIPTION),
    )
    out.update({k: np.array(v) for k, v in versions().items()})
    return out


def check(path: str, pathways: list[tuple[str, str]] | None) -> int:
    data = np.load(path)
    targets, sources = list(data["targets"]), list(data["sources"])
    same_grid = (np.array_equal(data["depths_mm"], DEPTHS_MM)
                 and np.array_equal(data["offsets_mm"], OFFSETS_MM)
                 and float(data["dt_ms"]) == DT_MS and data["h"].shape[-1] == n_bins())
    if not same_grid:
        print("grid (depths, offsets, dt, length) differs from the script's")
        return 1
    sha = script_sha256()
    print(f"script sha256 {'matches' if str(data['script_sha256']) == sha else 'DIFFERS'}")
    t0 = time.perf_counter()
    res = compute_kernels(pathways)
    worst_abs, worst_rel = 0.0, 0.0
    for (Y, X), h in res["h"].items():
        ref = data["h"][targets.index(Y), sources.index(X)].astype(np.float64)
        d = np.abs(h.astype(np.float32).astype(np.float64) - ref).max()
        scale = np.abs(ref).max()
        rel = d / scale if scale > 0 else (0.0 if d == 0 else np.inf)
        worst_abs, worst_rel = max(worst_abs, d), max(worst_rel, rel)
        print(f"{X:>4} -> {Y:<4} max abs diff {d:.3e} mV, rel (to max|h|) {rel:.3e}")
    print(f"{len(res['h'])} pathways in {time.perf_counter() - t0:.1f} s: "
          f"max abs diff {worst_abs:.3e} mV, max rel diff {worst_rel:.3e}")
    return 0 if worst_rel <= 1e-5 else 1


def validate(Y: str = "L23E", X: str = "L4E", tau_ms: float = 2.0) -> float:
    """Check the pulse derivation against LFPykernels' own kernel: for the first cell type
    of Y, the response to a pulse of one simulation step (1 pA * dt_sim) convolved with
    a current-based Exp2SynI current must reproduce KernelApprox.get_kernel (one cell,
    one synapse of that current spread by the same placement, no delay, g_eff off) at
    electrodes on the soma axis.  Returns max |difference| / max |KernelApprox|."""
    import shutil
    import subprocess
    import LFPy
    import lfpykernels
    import lfpykernels.kernel_approximator as lka
    import neuron
    import scipy.stats as st
    from lfpykernels import KernelApprox
    from lfpykit import RecExtElectrode

    table = load_table()
    y, morph = Y_CELL_TYPES[Y][0]
    k = layer_counts(table, y, X)
    dt_sim = DT_MS / SUBSTEPS
    n = n_bins() * SUBSTEPS
    z_um = DEPTHS_MM * 1e3
    cell = make_cell(morph, SOMA_DEPTH_UM[Y], T_KERNEL_MS + dt_sim, dt_sim)
    p, _ = segment_probability(cell, y, k / k.sum())
    args = _placement_args(cell, y, k / k.sum())
    M0 = RecExtElectrode(cell, x=0 * z_um, y=0 * z_um, z=z_um, sigma=SIGMA_S_PER_M,
                         method="root_as_point").get_transformation_matrix()
    h_fine = M0 @ pulse_membrane_currents(cell, p, n, substeps=1, dur=dt_sim)
    del cell
    mod = Path(lfpykernels.__file__).parent / "tests" / "exp2synI.mod"
    tmp = Path(tempfile.mkdtemp(prefix="lfpk_mod_"))
    shutil.copy(mod, tmp)
    subprocess.run([str(Path(sys.executable).parent / "nrnivmodl")], cwd=tmp, check=True,
                   capture_output=True)
    neuron.load_mechanisms(str(tmp))
    w, tau1, t_X = 1e-3, dt_sim / 4, T_KERNEL_MS   # peak 1 pA; get_kernel needs t_X >= tau
    ka = KernelApprox(
        X=[X], Y=Y, N_X=np.array([1]), N_Y=1, C_YX=np.array([1.0]),
        cellParameters=dict(morphology=str(MORPH_DIR / morph),
                            **{k_: v for k_, v in CELL_PARAMS.items()
                               if k_ != "delete_sections"}),
        populationParameters=dict(radius=0.0, loc=SOMA_DEPTH_UM[Y], scale=0.0),
        rotationParameters=dict(x=0.0, y=0.0),
        multapseFunction=st.norm, multapseParameters=[dict(loc=1.0, scale=1e-6)],
        delayFunction=st.norm, delayParameters=[dict(loc=0.0, scale=dt_sim / 10)],
        synapseParameters=[dict(weight=w, syntype="Exp2SynI", tau1=tau1, tau2=tau_ms)],
        synapsePositionArguments=[args], conductance_based=False)
    template = lka.TemplateCell
    lka.TemplateCell = lambda **kw: LFPy.Cell(**kw)   # plain hoc morphologies
    try:
        probe = RecExtElectrode(None, x=0 * z_um, y=0 * z_um, z=z_um, sigma=SIGMA_S_PER_M,
                                method="root_as_point")
        H = ka.get_kernel([probe], Vrest=E_L_MV, dt=dt_sim, X=X, t_X=t_X,
                          tau=T_KERNEL_MS, g_eff=False, fir=True)["RecExtElectrode"]
    finally:
        lka.TemplateCell = template
    assert np.allclose(ka.comp_weight / w, p), "placement differs from KernelApprox's"
    # H[:, j] and h_fine[j] are the potentials in the simulation step ending (j + 1) dt_sim
    # after the spike (after the pulse onset).  In NEURON's fixed step the Exp2SynI current
    # of that step is the mean of the synaptic current i(t) at t = (j - 1) dt_sim and
    # (j - 2) dt_sim (event delivered at the next step, the synapse's state read at the
    # start of a step): a delay of two simulation steps and a trapezoidal average.
    t = np.arange(n) * dt_sim
    tp = (tau1 * tau_ms) / (tau_ms - tau1) * np.log(tau_ms / tau1)
    norm = np.exp(-tp / tau_ms) - np.exp(-tp / tau1)

    def current(shift):                             # pA, 0 before the spike
        tt = t - shift * dt_sim
        c = w * 1e3 * (np.exp(-tt / tau_ms) - np.exp(-tt / tau1)) / norm
        return np.where(tt >= 0, c, 0.0)

    cur = 0.5 * (current(1) + current(2))
    pred = np.array([np.convolve(hz, cur)[:n] for hz in h_fine])
    err = np.abs(pred - H[:, :n]).max() / np.abs(H[:, :n]).max()
    print(f"validate {X}->{Y} ({y}, {morph}), electrodes on the soma axis: "
          f"max|KernelApprox| {np.abs(H).max():.3e} mV, "
          f"max|pulse response * current - KernelApprox| / max {err:.2e}")
    return err


def _placement_args(cell, y, L_yXL):
    """The funargs for KernelApprox's synapsePositionArguments (same as
    segment_probability; population scale 0 leaves them unchanged)."""
    import scipy.stats as st
    sections = allowed_sections(y)
    idx = cell.get_idx(section=sections)
    zmid = cell.z[idx].mean(axis=-1)
    funs, funargs, funweights = [], [], []
    for i, (top, bottom) in enumerate(LAYER_BOUNDARIES_UM):
        inside = (zmid >= bottom) & (zmid <= top)
        area = cell.area[idx][inside].sum()
        if L_yXL[i] <= 0 or area <= 0:
            continue
        funs.append(st.uniform)
        funargs.append(dict(loc=bottom, scale=top - bottom))
        funweights.append(L_yXL[i] * (top - bottom) / area)
    return dict(section=sections, fun=funs, funargs=funargs, funweights=funweights)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", help="write the kernels (npz) here")
    ap.add_argument("--check", metavar="FILE", help="recompute and compare with FILE")
    ap.add_argument("--pathways", help="SOURCE:TARGET,... (default: all 72)")
    ap.add_argument("--validate", action="store_true",
                    help="compare with LFPykernels' KernelApprox.get_kernel (one pathway)")
    a = ap.parse_args(argv)
    if a.validate:
        return 0 if validate() < 1e-6 else 1
    pathways = parse_pathways(a.pathways)
    if a.check:
        return check(a.check, pathways)
    if not a.out:
        ap.error("give --out FILE, --check FILE or --validate")
    if a.pathways:
        ap.error("--out computes all pathways; --pathways is for --check")
    t0 = time.perf_counter()
    res = compute_kernels(pathways)
    out = assemble(res)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    np.savez_compressed(a.out, **out)
    secs = np.array(list(res["seconds"].values()))
    print(f"wrote {a.out} ({os.path.getsize(a.out) / 1e6:.2f} MB); {secs.size} pathways, "
          f"{secs.sum():.1f} s (median {np.median(secs):.2f} s, max {secs.max():.2f} s per "
          f"pathway), wall {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
