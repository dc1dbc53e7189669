"""Spec -> ``Network``: everything a backend needs, as plain NumPy arrays.

Neurons of all populations share one global index (populations in spec order).
Inputs become drives: a poisson_generator gives each of its connections an
independent train (NEST's semantics), a dc_generator a current, and a
spike_generator becomes a spike source with its own CSR rows.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..connectivity.build import Connectome, build_connectome
from ..spec.model import NetworkSpec
from . import layout as L
from . import memory
from ..random import streams
from .neurons import fill_population, initial_v, population_params

NEVER = np.iinfo(np.int64).max // 4


@dataclass
class Drive:
    """Per-target lists (CSR over neurons) of Poisson trains or DC currents."""
    ptr: np.ndarray
    value: np.ndarray  # Poisson: mean count per step; DC: amplitude * weight (pA)
    weight: np.ndarray  # Poisson only
    delay: np.ndarray  # steps
    first: np.ndarray  # first emission step (inclusive)
    last: np.ndarray  # last emission step (inclusive)
    stream: np.ndarray  # RNG stream per entry (Poisson)
    conn: np.ndarray  # index of the projection each entry comes from


@dataclass
class Network:
    spec: NetworkSpec
    seed: int
    dt: float
    pop_start: dict[str, int]
    model: np.ndarray  # code per neuron: int8, int16 when a code needs it (layout.py)
    params: np.ndarray  # (N, layout.N_COLS)
    refr_counts: np.ndarray
    v0: np.ndarray  # initial V relative to E_L (absolute for iaf_cond_exp: its EL column is 0)
    connectome: Connectome
    poisson: Drive
    dc: Drive
    sg_step: np.ndarray  # emission step of each spike-generator spike
    sg_src: np.ndarray  # its global source id (>= N)
    input_src: dict[str, int] = field(default_factory=dict)  # spike generator -> source id
    longest_refr: int = 0  # the longest refractory count ever set (live edits may shorten t_ref)
    param_rows: tuple | None = None  # (table, row) of the backends' parameter table, kept by live edits

    @property
    def n_neurons(self) -> int:
        return self.model.shape[0]

    @property
    def max_delay(self) -> int:
        d = [c.delay if c.delays is None else int(c.delays.max(initial=1)) for c in self.connectome.connections]
        return max(d + [1])

    def population_of(self, gid: np.ndarray) -> tuple[list[str], np.ndarray]:
        names = list(self.pop_start)
        starts = np.array([self.pop_start[n] for n in names])
        idx = np.searchsorted(starts, gid, side="right") - 1
        return names, idx


def _window(params: dict, dt: float, current: bool = False) -> tuple[int, int]:
    """Emission steps (first, last) of a device active in (start, stop]: a spike stamped
    t = (e + 1) * dt is sent when start < t <= stop (NEST's Device::is_active). Current
    generators are tested one step ahead (NEST's StimulationDevice adds 2 steps, not 1),
    so that with the minimal delay the current acts from start on."""
    shift = 1 if current else 0
    start = params.get("start") or 0.0
    stop = params.get("stop")
    first = int(round(start / dt)) - shift
    last = NEVER if stop is None else int(round(stop / dt)) - 1 - shift
    return first, last


def build_network(spec: NetworkSpec, seed: int, xp=None, lazy_weights: bool = False,
                  progress: bool = False) -> Network:
    """``xp``: build the connectome with the array-namespace builder in that namespace
    (CuPy: on the GPU, the same connectome as the CPU builder's); default the CPU builder.
    ``lazy_weights`` (with ``xp``): keep only the keys of drawn weights, for a backend that
    draws them again (``Connection.weight_key``). ``progress``: a bar while connecting (CPU builder)."""
    memory.check(spec)  # before the first array: a clear error instead of a failed allocation
    dt = spec.dt
    pop_start, s = {}, 0
    for name, pop in spec.populations.items():
        pop_start[name] = s
        s += pop.size
    n = s
    codes = [L.MODEL_CODES[pop.model] for pop in spec.populations.values()]
    model = np.empty(n, np.int8 if max(codes, default=0) <= np.iinfo(np.int8).max else np.int16)  # see layout
    P = np.zeros((n, L.N_COLS))
    refr = np.empty(n, np.int32)
    v0 = np.empty(n)
    for k, (name, pop) in enumerate(spec.populations.items()):
        a, b = pop_start[name], pop_start[name] + pop.size
        prm = population_params(spec, name, k, seed)
        model[a:b] = L.MODEL_CODES[pop.model]
        refr[a:b] = fill_population(P[a:b], pop.model, prm, dt)
        v0[a:b] = initial_v(spec, name, k, seed, P[a:b, L.EL])  # V is relative to the EL column
    if xp is None:
        connectome = build_connectome(spec, seed, progress=progress)
    else:
        from ..connectivity.xp_build import build_connectome_xp
        connectome = build_connectome_xp(spec, seed, xp, lazy_weights=lazy_weights)
    poisson, dc = _drives(spec, connectome, pop_start, n, dt)
    sg_step, sg_src, input_src = _spike_generators(spec, n, dt)
    return Network(spec, seed, dt, pop_start, model, P, refr, v0, connectome, poisson, dc,
                   sg_step, sg_src, input_src, int(refr.max(initial=0)))


def _drives(spec, connectome, pop_start, n, dt):
    parts = {"poisson_generator": [], "dc_generator": []}
    for c in connectome.connections:
        inp = spec.inputs.get(c.source)
        if inp is None or inp.model not in parts and inp.model != "spot_poisson_generator":
            continue
        first, last = _window(inp.params, dt, current=inp.model == "dc_generator")
        tgt = pop_start[c.target] + c.targets.astype(np.int64)
        m = tgt.shape[0]
        kind = "poisson_generator" if inp.model == "spot_poisson_generator" else inp.model
        if kind == "poisson_generator":  # a spot's rates are set per period (engine.spot)
            value = np.full(m, (inp.params.get("rate") or 0.0) * dt / 1000.0)
        else:  # dc: the current each target receives is amplitude * weight
            value = (inp.params.get("amplitude") or 0.0) * c.weight_array().astype(np.float64)
        parts[kind].append((tgt, value, c.weight_array().astype(np.float64), c.delay_array(),
                                 first, last, streams.stream(streams.POISSON, c.index), c.index))
    return _as_drive(parts["poisson_generator"], n), _as_drive(parts["dc_generator"], n)


def _as_drive(items, n) -> Drive:
    if not items:
        z = np.zeros(0)
        e = np.zeros(0, np.int64)
        return Drive(np.zeros(n + 1, np.int64), z, z, e, e, e, e, e)
    tgt = np.concatenate([it[0] for it in items])
    cols = [np.concatenate([it[i] for it in items]) for i in (1, 2, 3)]
    first = np.concatenate([np.full(len(it[0]), it[4], np.int64) for it in items])
    last = np.concatenate([np.full(len(it[0]), it[5], np.int64) for it in items])
    strm = np.concatenate([np.full(len(it[0]), it[6], np.int64) for it in items])
    conn = np.concatenate([np.full(len(it[0]), it[7], np.int64) for it in items])
    order = np.argsort(tgt, kind="stable")
    ptr = np.zeros(n + 1, np.int64)
    np.add.at(ptr, tgt + 1, 1)
    np.cumsum(ptr, out=ptr)
    return Drive(ptr, cols[0][order], cols[1][order], cols[2][order].astype(np.int64), first[order],
                 last[order], strm[order], conn[order])


def _spike_generators(spec, n, dt):
    steps, srcs, ids = [], [], {}
    for name, inp in spec.inputs.items():
        if inp.model != "spike_generator":
            continue
        ids[name] = n + len(ids)
        first, last = _window(inp.params, dt)
        for t in inp.params.get("spike_times") or ():
            e = int(round(t / dt)) - 1  # a spike at t is emitted in the step that ends at t
            if first <= e <= last:
                steps.append(e)
                srcs.append(ids[name])
    order = np.argsort(np.array(steps, np.int64), kind="stable")
    return (np.array(steps, np.int64)[order], np.array(srcs, np.int64)[order], ids)
