"""The GPU backend object: the packed network in device memory (CuPy on a GPU, NumPy in
the simulator) and the drivers that launch the kernels of ``gpu.kernels``."""
from __future__ import annotations

import math

import numpy as np

from ...errors import BackendError
from ...network import layout as L
from ...network.network import Network
from .. import packing
from ..protocol import Outputs
from . import device

DRIVERS = ("auto", "persistent", "per_step")
MAX_LAUNCH_STEPS = 10_000  # steps per launch at most
DEVICE_SPIKES = 1 << 24  # the device's spike buffer: 256 MB; the full microcircuit gets 217 steps per launch


class GpuBackend:
    name = "gpu"

    def __init__(self, net: Network, threads: int | None = None, driver: str = "auto",
                 block_threads: int | None = None, blocks: int | None = None, regenerate_weights: bool = True):
        from numba import cuda
        from . import kernels
        if driver not in DRIVERS:
            raise BackendError(f"gpu driver: '{driver}' is not valid; expected one of {', '.join(DRIVERS)}")
        self.cuda, self.kernels = cuda, kernels
        self.net = net
        self.xp = device.array_module()
        self.sim = device.simulator()
        n = net.n_neurons
        self.packed = packing.pack(net, regenerate_weights=regenerate_weights)
        self.n_synapses = self.packed.n_synapses
        self.fused = self.packed.min_delay >= 2
        self.D = net.max_delay + 1
        # 128 threads: the persistent kernel takes 145 registers (ptxas, sm_90), so an SM
        # holds 3 such blocks (12 warps) against one of 256 threads (8 warps)
        self.block_threads = block_threads or (32 if self.sim else 128)
        self.neurons = packing.Neurons(*(self._dev(a) for a in packing.neurons(net)))
        self.drives = packing.Drives(*(self._dev(a) for a in packing.drives(net)))
        self.synapses = packing.Synapses(*(self._dev(a) for a in self.packed.synapses))
        xp = self.xp
        self.ring_ex = xp.zeros((self.D, n), np.int64)
        self.ring_in = xp.zeros((self.D, n), np.int64)
        self.spk = xp.zeros((3, max(n, 1)), np.int64)
        self.spk_n = xp.zeros(3, np.int64)
        self.sg_step = self._dev(net.sg_step)
        self.sg_src = self._dev(net.sg_src)
        self._io_cap = 0
        self.driver = self._choose_driver(driver, blocks)
        self.reset()

    # ------------------------------------------------------------------ setup
    def _dev(self, a):
        a = np.ascontiguousarray(a)
        return a.copy() if self.sim else self.xp.asarray(a)

    def _kernel_arg(self, a):
        """CuPy arrays wrapped once without a stream sync per launch (GPU-NOTES)."""
        if self.sim:
            return a
        return self.cuda.as_cuda_array(a, sync=False) if hasattr(a, "__cuda_array_interface__") else a

    def _choose_driver(self, driver, blocks):
        """The simulator runs the persistent kernel on one block only (its grid sync does not
        synchronise blocks). On a GPU, 'auto' and 'persistent' are settled at the first
        launch, when the kernel is compiled for its arguments and the co-resident limit
        is known (``_settle``)."""
        n = max(self.net.n_neurons, 1)
        self._want_blocks = blocks or max(1, math.ceil(n / self.block_threads))
        if self.sim:
            self.blocks = 1 if driver == "persistent" else (blocks or min(self._want_blocks, 4))
            return "persistent" if driver == "persistent" else "per_step"
        self.blocks = self._want_blocks
        return driver

    def _settle(self, args):
        want = self.driver
        try:
            compiled = self.kernels.persistent_kernel._compile_for_args(*args)
            limit = int(compiled.max_cooperative_grid_blocks(self.block_threads))
        except Exception as e:  # noqa: BLE001  (no cooperative launch here: one launch per phase)
            if want == "persistent":
                raise BackendError(f"gpu driver persistent: cooperative launch unavailable ({e})") from e
            import warnings
            self.cooperative_error = f"{type(e).__name__}: {e}"
            warnings.warn(f"gpu: no cooperative launch ({self.cooperative_error}); one launch per phase "
                          "instead (tens of microseconds per step)", RuntimeWarning, stacklevel=3)
            limit = 0
        self.cooperative_limit = limit
        if limit < 1:
            self.driver = "per_step"
            return
        self.driver = "persistent"
        self.blocks = min(self._want_blocks, limit)

    def _io(self, cap, rows):
        """Device output buffers for one launch: spikes (step, id), count, voltmeter rows."""
        if cap > self._io_cap or rows > getattr(self, "_vm_rows", -1):
            xp = self.xp
            self._out_step = xp.zeros(cap, np.int64)
            self._out_id = xp.zeros(cap, np.int64)
            self._io_cap = cap
            self._vm_rows = rows
            self._vm_dev = xp.zeros((max(rows, 1), max(self._n_vm, 1)))
        self._out_n = self.xp.zeros(1, np.int64) if not hasattr(self, "_out_n") else self._out_n

    # ------------------------------------------------------------------ lifecycle
    def reset(self) -> None:
        nr = self.neurons
        nr[packing.NR_S][:] = 0.0
        nr[packing.NR_S][:, L.V] = self._dev(self.net.v0)
        nr[packing.NR_REFR][:] = 0
        self.ring_ex[:] = 0
        self.ring_in[:] = 0
        self.spk_n[:] = 0
        self._k_next = 0  # the next step to run
        self._deliver_from = 0  # deliveries of steps before it are done (see set_weight)
        self._vm_key = None
        self._stage_step = np.zeros(0, np.int64)
        self._stage_id = np.zeros(0, np.int64)

    def _voltmeter(self, out: Outputs):
        key = (out.vm_idx.tobytes(), out.vm_every)
        if key != self._vm_key:
            col = np.full(max(self.net.n_neurons, 1), -1, np.int64)
            col[out.vm_idx] = np.arange(out.vm_idx.shape[0])
            self._vm_col = self._dev(col)
            self._n_vm = out.vm_idx.shape[0]
            self._vm_key = key
            self._vm_rows = -1

    def advance(self, k0: int, n_steps: int, out: Outputs) -> int:
        """Launches of up to ``DEVICE_SPIKES // n`` steps each (the device buffer holds a
        spike per neuron and step): the launch length does not depend on the host's
        buffer. Spikes that do not fit there wait in a host stage for the next call."""
        self._voltmeter(out)
        if n_steps == 0:
            self._compile(out)
        if not self.flush(out):
            return 0
        n = max(self.net.n_neurons, 1)
        k, end = k0, k0 + n_steps
        while k < end:
            n_b = min(end - k, max(DEVICE_SPIKES // n, 1), MAX_LAUNCH_STEPS)
            if self._n_vm:
                n_b = min(n_b, (out.vm_out.shape[0] - int(out.vm_n[0])) * out.vm_every - (k % out.vm_every))
            if n_b <= 0:
                break
            rows = (k + n_b) // out.vm_every - k // out.vm_every
            self._io(n_b * n, rows)
            self._out_n[:] = 0
            self._launch(k, n_b, out.vm_every)
            self._collect(out, rows)
            k += n_b
            self._k_next = k
            if not self.flush(out):
                break
        return k - k0

    def flush(self, out: Outputs) -> bool:
        """Staged spikes into the host buffer; True when none are left waiting."""
        m = self._stage_step.shape[0]
        if m == 0:
            return True
        a = int(out.out_n[0])
        take = min(m, out.out_step.shape[0] - a)
        out.out_step[a:a + take] = self._stage_step[:take]
        out.out_id[a:a + take] = self._stage_id[:take]
        out.out_n[0] = a + take
        self._stage_step, self._stage_id = self._stage_step[take:], self._stage_id[take:]
        return take == m

    def _views(self):
        """The kernels' arguments, wrapped once as Numba device arrays without a stream sync
        (wrapping a CuPy array costs a sync per launch otherwise: GPU-NOTES); CuPy keeps
        the same memory for reset and live edits, which change it in place."""
        key = (id(self._out_step), id(self._vm_dev), id(self._vm_col))
        if getattr(self, "_views_key", None) != key:
            w = self._kernel_arg
            self._v = dict(
                nr=packing.Neurons(*(w(a) for a in self.neurons)), dr=packing.Drives(*(w(a) for a in self.drives)),
                sy=packing.Synapses(*(w(a) for a in self.synapses)), ring_ex=w(self.ring_ex),
                ring_in=w(self.ring_in), spk=w(self.spk), spk_n=w(self.spk_n), sg_step=w(self.sg_step),
                sg_src=w(self.sg_src),
                io=tuple(w(a) for a in (self._out_step, self._out_id, self._out_n, self._vm_col, self._vm_dev)))
            self._views_key = key
        return self._v

    def _args(self, k, n_b, vm_every):
        """Arguments of each kernel for a launch at step k of n_b steps."""
        v = self._views()
        seed, h, every = np.uint64(self.net.seed), self.net.dt, np.int64(vm_every)
        state = (v["ring_ex"], v["ring_in"], v["spk"], v["spk_n"])
        kk, k_first = np.int64(k), np.int64(k)
        return dict(
            persistent=(kk, np.int64(n_b), self.fused, np.int64(self._deliver_from), seed, h, v["nr"], v["dr"],
                        v["sy"], *state, v["sg_step"],
                        v["sg_src"], v["io"], every),
            fused=(kk, np.int64(self._deliver_from), seed, h, v["nr"], v["dr"], v["sy"], *state, v["sg_step"],
                   v["sg_src"], v["io"], every,
                   k_first),
            update=(kk, seed, h, v["nr"], v["dr"], *state, v["io"], every, k_first),
            deliver=(kk, v["sy"], *state, v["sg_step"], v["sg_src"]))

    def _compile(self, out: Outputs):
        """Compile the kernels of the driver that will run (Simulation's compile phase calls
        advance with no steps), so that neither build nor simulate time hides it."""
        if self.sim:
            return
        n = max(self.net.n_neurons, 1)
        self._io(max(DEVICE_SPIKES // n, 1) * n, 1)
        args = self._args(0, 1, out.vm_every)
        if self.driver in ("auto", "persistent"):
            self._settle(args["persistent"])
        if self.driver == "per_step":
            K = self.kernels
            for name in (("fused",) if self.fused else ("update", "deliver")):
                getattr(K, f"{name}_kernel")._compile_for_args(*args[name])

    def _launch(self, k, n_b, vm_every):
        K = self.kernels
        args = self._args(k, n_b, vm_every)  # once per launch; the per-step loop swaps the step in
        if self.driver in ("auto", "persistent"):
            if not hasattr(self, "cooperative_limit") and not self.sim:
                self._settle(args["persistent"])
            if self.driver == "persistent":
                K.persistent_kernel[self.blocks, self.block_threads](*args["persistent"])
                return
        grid = (self.blocks, self.block_threads)
        fused, update, deliver = args["fused"][1:], args["update"][1:], args["deliver"][1:]
        for kk in range(k, k + n_b):
            step = np.int64(kk)
            if self.fused:
                K.fused_kernel[grid](step, *fused)
            else:
                K.update_kernel[grid](step, *update)
                K.deliver_kernel[grid](step, *deliver)

    def _collect(self, out: Outputs, rows: int):
        """Spikes to the host in (step, id) order (atomics appended them in any order)."""
        m = int(device.to_host(self._out_n)[0])
        if m:
            steps = device.to_host(self._out_step[:m])
            ids = device.to_host(self._out_id[:m])
            order = np.lexsort((ids, steps))
            self._stage_step = np.concatenate([self._stage_step, steps[order]])
            self._stage_id = np.concatenate([self._stage_id, ids[order]])
        if self._n_vm and rows:
            r = int(out.vm_n[0])
            out.vm_out[r:r + rows] = device.to_host(self._vm_dev[:rows])
            out.vm_n[0] = r + rows

    def info(self) -> dict:
        """How the backend runs, for run summaries."""
        return {"driver": self.driver, "blocks": self.blocks, "block_threads": self.block_threads,
                "cooperative_limit": getattr(self, "cooperative_limit", None),
                "cooperative_error": getattr(self, "cooperative_error", None), "fused": bool(self.fused),
                "regenerate_weights": bool(self.packed.synapses.pr_regen.any()),
                "simulator": self.sim}

    def weights(self, projection: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(source, target, weight) of a projection's synapses: static here (plastic
        projections run on the CPU), so the host's connectome holds them."""
        c = self.net.connectome.connections[projection]
        return c.sources().astype(np.int64), c.targets.astype(np.int64), c.weight_array().astype(np.float64)

    def synapse_bytes(self) -> int:
        return self.packed.nbytes()

    def membrane_potential(self) -> np.ndarray:
        nr = self.neurons
        return device.to_host(nr[packing.NR_S][:, L.V] + nr[packing.NR_P][nr[packing.NR_PROW], L.EL])

    def synaptic_currents(self) -> tuple[np.ndarray, np.ndarray]:
        S = self.neurons[packing.NR_S]
        return device.to_host(S[:, L.I_EX]), device.to_host(S[:, L.I_IN])

    # ------------------------------------------------------------------ live edits
    def set_weight(self, projection: int, weight: float) -> None:
        """Applies to spikes emitted after the change, as on the CPU: with fused phases the
        last step's spikes are still undelivered, so they are delivered first, with the
        old weight, and the next launch skips them."""
        k = self._k_next
        if self.fused and k > 0 and k - 1 >= self._deliver_from:
            a = self._args(k - 1, 1, 1)["deliver"]
            self.kernels.deliver_kernel[self.blocks, self.block_threads](*a)
            self._deliver_from = k
        self.net.connectome.connections[projection].weight = weight
        q = self.packed.slot_of.get(projection)
        if q is not None:
            self.packed.synapses.pr_wq[q] = packing.fixed_array(weight)
            self.synapses[packing.SY_PR_WQ][q] = int(packing.fixed_array(weight))

    def set_neuron_params(self, start, stop, params, refr_counts, v0) -> None:
        nr = self.neurons
        dv, table, row, rdecay = packing.edit_neurons(self.net, start, stop, params, refr_counts, v0)
        nr[packing.NR_S][start:stop, L.V] -= self._dev(dv)  # keep absolute V_m
        nr[packing.NR_REFR_COUNTS][start:stop] = self._dev(refr_counts)
        self.neurons = nr._replace(P=self._dev(table), prow=self._dev(row), rdecay=self._dev(rdecay))
        self._views_key = None  # the kernels' views of the new table

    def set_drives(self, poisson_value, poisson_weight, dc_value) -> None:
        dr = self.drives
        dr[packing.PZ_LAM][:] = self._dev(poisson_value)
        dr[packing.PZ_ELAM][:] = self._dev(packing.exp_neg(poisson_value))
        dr[packing.PZ_W][:] = self._dev(poisson_weight)
        dr[packing.DC_AMP][:] = self._dev(dc_value)
        self.net.poisson.value[:], self.net.poisson.weight[:], self.net.dc.value[:] = (
            poisson_value, poisson_weight, dc_value)

