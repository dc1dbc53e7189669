"""The CPU backend: the network's arrays in the kernel layout (``backends.packing``),
advanced by the Numba kernel."""
from __future__ import annotations

import numba
import numpy as np

from ...network import layout as L
from ...network.network import Network
from ...errors import SpikeScopeError
from .. import packing, plastic
from ..protocol import Outputs
from . import kernels
from .kernels import Out, Pending

MAX_BATCH = 16  # steps per parallel region at most
SCRATCH_ENTRIES = 8_000_000  # neurons x batch steps: three int64 arrays of spikes, ~192 MB at most
SMALL_WORK = 1000  # neurons x steps per region at most for one chunk (see __init__)


class CpuBackend:
    name = "cpu"

    def __init__(self, net: Network, threads: int | None = None, regenerate_weights: bool = False):
        self.net = net
        # Numba's thread count is per calling thread: keep ours and apply it on every call,
        # so a simulation advanced from another thread (the app) uses the same count.
        if threads:
            numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
        n = net.n_neurons
        self.threads = numba.get_num_threads()
        self.packed = packing.pack(net, MAX_BATCH, regenerate_weights)
        # plastic projections: their own rows, advanced on one thread (cpu/plastic_kernel.py)
        self._plastic0 = plastic.pack_plastic(net, self.packed.synapses.group_of, list(self.packed.groups))
        self.plastic = self._plastic0._replace(**{f: getattr(self._plastic0, f).copy() for f in plastic.MUTABLE})
        self._plastic_conns = plastic.plastic_connections(net)
        self._plastic_index = {c.index: q for q, c in enumerate(self._plastic_conns)}
        self.n_synapses = self.packed.n_synapses + sum(c.n_synapses for c in plastic.plastic_connections(net))
        # steps per parallel region: up to the smallest spike delay, capped to bound the scratch
        self.batch = max(1, min(self.packed.min_delay, SCRATCH_ENTRIES // max(n, 1)))
        # A small network runs as one chunk, the whole call in one parallel region
        # (kernels.advance_one): opening a region and waiting at its barrier cost more than a
        # second thread saves (clustered network, delays of one step, us per step with 1 vs 2
        # threads: 140 neurons 0.72 vs 2.22, 500: 2.7 vs 3.4, 1,000: 5.1 vs 5.0, 2,000:
        # 10.6 vs 8.6). The crossover is near 1,000 neurons x steps per region.
        chunks = 1 if n * self.batch <= SMALL_WORK or self._plastic_index else max(1, min(self.threads, n))
        bounds = np.linspace(0, n, chunks + 1).astype(np.int64)
        self.lo, self.hi = bounds[:-1].copy(), bounds[1:].copy()
        self.D = net.max_delay + 1
        self.ring_ex = np.zeros((self.D, n), np.int64)
        self.ring_in = np.zeros((self.D, n), np.int64)
        # the backend's own copies: live edits change them through methods only
        self.neurons = packing.neurons(net)
        self.drives = packing.drives(net)
        self.drives = self.drives._replace(pz_lam=self.drives.pz_lam.copy(), pz_w=self.drives.pz_w.copy(),
                                           dc_amp=self.drives.dc_amp.copy())
        # spikes awaiting delivery (emission step, source id): one batch of neurons and generators
        p_step = np.empty(n * self.batch + net.sg_step.shape[0] + 1, np.int64)
        self._pending = Pending(p_step, np.empty_like(p_step), np.zeros(1, np.int64), net.sg_step, net.sg_src,
                                np.zeros(1, np.int64), np.empty(max(n, 1) * self.batch, np.int64),
                                np.zeros((chunks, self.batch), np.int64))
        self._scratch_batch = self.batch
        self.reset()

    # ------------------------------------------------------------------ lifecycle
    def reset(self) -> None:
        self.ring_ex[:] = 0
        self.ring_in[:] = 0
        S = self.neurons.S
        S[:] = 0.0
        S[:, L.V] = self.net.v0
        self.neurons.refr[:] = 0
        self._pending.sg_pos[0] = 0
        self._pending.pending_n[0] = 0
        plastic.reset_plastic(self.plastic, self._plastic0)

    def advance(self, k0: int, n_steps: int, out: Outputs) -> int:
        if not 1 <= self.batch <= self._scratch_batch:
            raise ValueError(f"batch {self.batch}: the scratch holds {self._scratch_batch} steps")
        numba.set_num_threads(self.threads)
        o = Out(out.out_step, out.out_id, out.out_n, out.vm_idx, np.int64(out.vm_every), out.vm_out, out.vm_n)
        if self.lo.shape[0] == 1:  # one chunk: the whole call in one parallel region
            return kernels.advance_one(k0, n_steps, self.net.dt, np.uint64(self.net.seed), self.neurons, self.drives,
                                       self.packed.synapses, self.plastic, self.ring_ex, self.ring_in,
                                       self._pending, o)
        return kernels.advance(k0, n_steps, self.batch, self.net.dt, np.uint64(self.net.seed), self.lo, self.hi,
                               self.neurons, self.drives, self.packed.synapses, self.ring_ex, self.ring_in,
                               self._pending, o)

    def flush(self, out: Outputs) -> bool:
        return True  # the kernel stops before the host buffer could overflow: nothing held back

    def info(self) -> dict:
        """How the backend runs, for run summaries."""
        return {"threads": self.threads if self.lo.shape[0] > 1 else 1, "chunks": int(self.lo.shape[0]),
                "batch_steps": self.batch,
                "regenerate_weights": bool(self.packed.synapses.pr_regen.any())}

    def synapse_bytes(self) -> int:
        pl = self.plastic
        return self.packed.nbytes() + pl.slot_tgt.nbytes + pl.slot_w.nbytes + pl.slot_d.nbytes

    # ------------------------------------------------------------------ plasticity
    def weights(self, projection: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(source, target, weight) of every synapse of a projection now, by source."""
        c = self.net.connectome.connections[projection]
        if projection in self._plastic_index:
            return plastic.synapses_of(self.plastic, self._plastic_index[projection], c.indptr.shape[0] - 1)
        return c.sources().astype(np.int64), c.targets.astype(np.int64), c.weight_array().astype(np.float64)

    @property
    def rewiring(self) -> set[int]:
        """Projections whose synapses change (structural plasticity)."""
        return {int(self._plastic_conns[q].index) for q in self.plastic.rw_pp}

    def weight_slots(self, projection: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(source, target, weight) of every slot of a plastic projection: target -1 and
        weight NaN for an empty one."""
        c = self.net.connectome.connections[projection]
        return plastic.slots_of(self.plastic, self._plastic_index[projection], c.indptr.shape[0] - 1)

    def plasticity_counters(self) -> dict:
        """STDP history reads that lacked spikes; per rewiring projection, synapses formed,
        eliminated, formations that found the row full, the synapses now, and formations and
        eliminations by distance (``bin_mm`` wide bins)."""
        pl = self.plastic
        out = {"history_overflows": int(pl.counters[0]), "rewiring": {}}
        for r, q in enumerate(pl.rw_pp):
            cap, r0, n_src = int(pl.pp_cap[q]), int(pl.pp_row0[q]), int(pl.pp_nsrc[q])
            out["rewiring"][int(self._plastic_conns[q].index)] = {
                "formed": int(pl.rw_count[r, 0]), "eliminated": int(pl.rw_count[r, 1]),
                "failed_formations": int(pl.rw_count[r, 2]),
                "synapses": int((pl.slot_tgt[r0:r0 + n_src * cap] >= 0).sum()),
                "formed_by_distance": pl.rw_hist[r, 0].tolist(), "eliminated_by_distance": pl.rw_hist[r, 1].tolist(),
                "bin_mm": float(pl.rw_fpar[r, 9])}
        return out

    def membrane_potential(self) -> np.ndarray:
        return self.neurons.S[:, L.V] + self.neurons.P[self.neurons.prow, L.EL]

    def synaptic_currents(self) -> tuple[np.ndarray, np.ndarray]:
        return self.neurons.S[:, L.I_EX].copy(), self.neurons.S[:, L.I_IN].copy()

    # ------------------------------------------------------------------ live edits
    def set_weight(self, projection: int, weight: float) -> None:
        """Applies to spikes emitted after the change: the pending ones are delivered first
        with the old weight. Device drives (Poisson, DC) are not spike-delivered
        projections: see set_drives."""
        if projection in self._plastic_index:
            raise SpikeScopeError(f"projections[{projection}].synapse.weight: a plastic projection's weights "
                                  "change by themselves; rebuild to set them")
        kernels.deliver_pending(self.net.n_neurons, self.D, self.packed.synapses, self.plastic, self.ring_ex,
                                self.ring_in, self._pending)
        self.net.connectome.connections[projection].weight = weight
        if projection in self.packed.slot_of:
            self.packed.synapses.pr_wq[self.packed.slot_of[projection]] = packing.fixed_array(weight)

    def set_neuron_params(self, start, stop, params, refr_counts, v0) -> None:
        nr = self.neurons
        dv, table, row, rdecay = packing.edit_neurons(self.net, start, stop, params, refr_counts, v0)
        nr.S[start:stop, L.V] -= dv  # keep absolute V_m
        nr.refr_counts[start:stop] = refr_counts
        self.neurons = nr._replace(P=table, prow=row, rdecay=rdecay)

    def set_drives(self, poisson_value, poisson_weight, dc_value) -> None:
        dr = self.drives
        dr.pz_lam[:] = poisson_value
        dr.pz_elam[:] = packing.exp_neg(poisson_value)
        dr.pz_w[:] = poisson_weight
        dr.dc_amp[:] = dc_value
        self.net.poisson.value[:], self.net.poisson.weight[:], self.net.dc.value[:] = (
            poisson_value, poisson_weight, dc_value)
