"""Spec -> instantiated connectivity: one ``Connection`` (CSR by source) per projection,
with weights and delays drawn per synapse where they are distributions, and weights
discretized where the projection has a ``resolution``."""
from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from ..analysis.discretize import discretize
from ..random import streams
from ..errors import CapacityError
from ..spec.model import LinearDelay, NetworkSpec
from . import kernels as ck
from .positions import positions
from .rules import connect, expected_synapses
from .values import draw_array

# Bytes held per synapse while building (pairs, CSR, float64 draws) and after it.
BUILD_BYTES_PER_SYNAPSE = 28


@dataclass
class Connection:
    """One instantiated projection. ``targets`` are indices within the target population;
    ``weights``/``delays`` are None when the projection has one value for all synapses
    (then ``weight``/``delay`` hold it), which costs no memory per synapse. A projection
    with a weight resolution keeps ``weight_codes`` (uint8 per synapse) into
    ``weight_table`` (float64) instead of ``weights``."""
    index: int
    source: str
    target: str
    indptr: np.ndarray
    targets: np.ndarray
    weight: float = 0.0
    weights: np.ndarray | None = None
    delay: int = 1  # steps
    delays: np.ndarray | None = None
    weight_table: np.ndarray | None = None
    weight_codes: np.ndarray | None = None
    # drawn weights not stored (the GPU draws them again in delivery): (value, seed, stream,
    # spec path); weight_array() draws them on the host when something asks
    weight_key: tuple | None = None

    @property
    def n_synapses(self) -> int:
        return int(self.targets.shape[0])

    def sources(self) -> np.ndarray:
        """Source index (within the source population) of every synapse."""
        return np.repeat(np.arange(self.indptr.shape[0] - 1, dtype=np.int32), np.diff(self.indptr))

    @property
    def drawn_weights(self) -> bool:
        """One weight per synapse, drawn (stored as float32, or only its key)."""
        return self.weights is not None or self.weight_key is not None

    def weight_array(self) -> np.ndarray:
        if self.weights is None and self.weight_key is not None:
            value, seed, stream, path = self.weight_key
            return draw_array(value, self.n_synapses, seed, stream, path).astype(np.float32)
        if self.weight_codes is not None:
            return self.weight_table[self.weight_codes]
        return self.weights if self.weights is not None else np.full(self.n_synapses, self.weight)

    def delay_array(self) -> np.ndarray:
        return self.delays if self.delays is not None else np.full(self.n_synapses, self.delay, np.int32)

    def storage_bytes(self) -> int:
        n = self.targets.nbytes + self.indptr.nbytes
        n += self.weights.nbytes if self.weights is not None else 0
        if self.weight_codes is not None:
            n += self.weight_codes.nbytes + self.weight_table.nbytes
        n += self.delays.nbytes if self.delays is not None else 0
        return n


@dataclass
class Connectome:
    connections: list[Connection]
    positions: dict[str, np.ndarray | None] = field(default_factory=dict)

    def between_populations(self, spec: NetworkSpec) -> list[Connection]:
        return [c for c in self.connections if c.source in spec.populations]


def estimate_synapses(spec: NetworkSpec) -> int:
    return int(sum(_expected_of(spec, proj) for proj in spec.projections))


def available_memory() -> int:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")


def check_capacity(spec: NetworkSpec, bytes_per_synapse: int = BUILD_BYTES_PER_SYNAPSE) -> None:
    """Refuse, before allocating, a network whose synapses would not fit in memory."""
    n = estimate_synapses(spec)
    need = n * bytes_per_synapse + spec.n_neurons * 400
    have = available_memory()
    if need > 0.9 * have:
        raise CapacityError(f"network too large: about {n:,} synapses need ~{need / 2**30:.1f} GiB "
                            f"to build, but only {have / 2**30:.1f} GiB are available; reduce sizes "
                            "or degrees (or --scale)")


def projection_geometry(spec: NetworkSpec, pos: dict):
    """Per projection: (index, projection, source size, target size, source positions,
    target positions, sheet = (extent_x, extent_y, periodic) or None): what every builder
    needs before drawing."""
    for i, proj in enumerate(spec.projections):
        pos_s, pos_t, sheet = pos.get(proj.source), pos.get(proj.target), None
        if pos_s is not None and pos_t is not None:
            p = spec.populations[proj.target].positions
            sheet = (p.extent[0], p.extent[1], p.periodic)
        yield i, proj, spec.node_size(proj.source), spec.node_size(proj.target), pos_s, pos_t, sheet


def build_connectome(spec: NetworkSpec, seed: int, progress: bool = False) -> Connectome:
    """``progress``: a bar on stderr over the expected synapses (a large spatial network
    takes minutes to build: the mesocircuit at scale 0.3, half an hour on 2 cores)."""
    check_capacity(spec)
    pop_index = {name: i for i, name in enumerate(spec.populations)}
    pos = {name: positions(p, pop_index[name], seed) for name, p in spec.populations.items()}
    conns = []
    bar = _progress_bar(spec) if progress else None
    for i, proj, n_src, n_tgt, pos_s, pos_t, sheet in projection_geometry(spec, pos):
        indptr, targets = connect(proj.rule, n_src, n_tgt, proj.source == proj.target, seed,
                                  streams.stream(streams.CONNECT, i), pos_s, pos_t, sheet)
        conn = Connection(i, proj.source, proj.target, indptr, targets)
        _draw_synapse_values(spec, i, proj, conn, seed, pos_s, pos_t, sheet)
        conns.append(conn)
        if bar is not None:
            bar.update(_expected_of(spec, proj))
    if bar is not None:
        bar.close()
    return Connectome(conns, pos)


def _expected_of(spec: NetworkSpec, proj) -> float:
    pop_s = spec.populations.get(proj.source)
    ext = pop_s.positions.extent if pop_s is not None and pop_s.positions else None
    return expected_synapses(proj.rule, spec.node_size(proj.source), spec.node_size(proj.target),
                             proj.source == proj.target, ext)


def _progress_bar(spec: NetworkSpec):
    import sys

    from tqdm import tqdm
    total = sum(_expected_of(spec, p) for p in spec.projections)
    return tqdm(total=total, unit="syn", unit_scale=True, file=sys.stderr, leave=False,
                desc=f"connecting {spec.name}")


def _draw_synapse_values(spec, i, proj, conn, seed, pos_s, pos_t, sheet):
    syn, path, n = proj.synapse, f"projections[{i}].synapse", conn.n_synapses
    if isinstance(syn.weight, float):
        conn.weight = syn.weight
    else:
        w = draw_array(syn.weight, n, seed, streams.stream(streams.WEIGHT, i), f"{path}.weight")
        if syn.resolution is None:
            conn.weights = w.astype(np.float32)
        else:
            _discretize_weights(conn, w, syn.resolution, spec.node_size(proj.target))
    if isinstance(syn.delay, float):
        conn.delay = delay_steps(syn.delay, spec.dt)
        return
    if isinstance(syn.delay, LinearDelay):
        d_ms = ck.spatial_delays(conn.indptr, conn.targets, pos_s, pos_t, *sheet,
                                 syn.delay.offset, syn.delay.velocity)
    else:
        d_ms = draw_array(syn.delay, n, seed, streams.stream(streams.DELAY, i), f"{path}.delay")
    steps = np.maximum(np.floor(d_ms / spec.dt + 0.5), 1)  # NEST rounds to the grid (ld_round)
    conn.delays = steps.astype(np.uint8 if n == 0 or steps.max() < 256 else np.uint16)


def _discretize_weights(conn, w, res, n_targets):
    """Drawn weights -> codes into a table (see ``analysis.discretize``); a single value
    (method ``mean``) becomes the projection's constant weight: no memory per synapse."""
    d = discretize(w, res.levels, res.method, conn.targets, n_targets)
    if d.table.size == 1:
        conn.weight = float(d.table[0])
    else:
        conn.weight_table, conn.weight_codes = d.table, d.codes


def delay_steps(delay_ms: float, dt: float) -> int:
    return max(1, int(np.floor(delay_ms / dt + 0.5)))
