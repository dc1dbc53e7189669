"""The simulation lifecycle: build -> load -> run/step -> reset, with phase timers.

>>> from sim_core.spec import load
>>> sim = Simulation(load("two_neurons.yaml"))          # doctest: +SKIP
>>> sim.run(50.0); sim.spikes("post")                    # doctest: +SKIP
"""
from __future__ import annotations

import sys

import numpy as np

from ..backends import make_backend, resolve
from ..backends.protocol import Outputs
from ..errors import BackendError, SpikeScopeError
from ..spec.model import NetworkSpec
from ..network.network import build_network
from .recording import SpikeRecord, VoltageRecord
from .timers import PhaseTimers

BLOCK_STEPS = 500  # steps per kernel call when a progress bar is shown


def _builder_namespace(backend: str):
    """The GPU builds its connectome on the device (CuPy) with the array-namespace
    builder; in the CUDA simulator that builder runs on NumPy, so the tests exercise it."""
    if backend != "gpu":
        return None
    from ..backends.gpu import device
    return device.array_module()


def _plastic_on_cpu(spec: NetworkSpec, asked: str, chosen: str) -> str:
    """Plastic synapses run on the CPU backend only so far: 'auto' takes the CPU for them,
    'gpu' is refused with the projection that needs the CPU."""
    plastic = [i for i, p in enumerate(spec.projections) if p.plastic]
    if chosen != "gpu" or not plastic:
        return chosen
    if asked == "auto":
        return "cpu"
    raise BackendError(f"--backend gpu: projections[{plastic[0]}] is plastic (STDP or rewiring); plastic "
                       "projections run on the CPU backend only so far (use --backend cpu or auto)")


class Simulation:
    """A network instantiated on a backend.

    Parameters
    ----------
    spec : NetworkSpec
    backend : 'cpu' | 'gpu' | 'auto'
    seed : int, optional; default the spec's seed. Same seed and backend: identical spikes.
    threads : int, optional; CPU threads (default: all cores).
    keep_ms : float, optional; keep only the most recent ``keep_ms`` of spikes and membrane
        samples in memory (default: everything). ``io.sonata.stream_spikes`` writes the full record.
    progress : bool, a progress bar on stderr while the network is connected.
    backend_options : passed to the GPU backend (driver='auto'|'persistent'|'per_step',
        blocks, block_threads).
    """

    def __init__(self, spec: NetworkSpec, backend: str = "cpu", seed: int | None = None,
                 threads: int | None = None, keep_ms: float | None = None, progress: bool = False,
                 **backend_options):
        self.spec = spec
        self.seed = spec.seed if seed is None else int(seed)
        self.backend_name = _plastic_on_cpu(spec, backend, resolve(backend))
        self.timers = PhaseTimers()
        if self.backend_name == "gpu":  # the GPU's memory too, before anything is allocated there
            from ..backends.gpu import device
            from ..network import memory
            memory.check(spec, device_free=device.free_memory())
        if spec.recorders.lfp is not None:  # the method's needs, before anything is built
            from .lfp import check_spec
            check_spec(spec)
        with self.timers.phase("build"):
            xp = _builder_namespace(self.backend_name)
            # the GPU draws drawn weights again by default: the builder keeps only their keys
            lazy = xp is not None and backend_options.get("regenerate_weights", True)
            self.network = build_network(spec, self.seed, xp=xp, lazy_weights=lazy, progress=progress)
        with self.timers.phase("load"):
            self.backend = make_backend(self.backend_name, self.network, threads=threads, **backend_options)
        net = self.network
        sizes = {n: p.size for n, p in spec.populations.items()}
        rec = list(spec.populations) if spec.recorders.spikes == "all" else list(spec.recorders.spikes)
        self.spike_record = SpikeRecord(net.pop_start, sizes, rec, net.dt, keep_ms=keep_ms)
        self._out_step = np.empty(max(4 * net.n_neurons, 1 << 20), np.int64)
        self._out_id = np.empty_like(self._out_step)
        self._out_n = np.zeros(1, np.int64)
        vm = spec.recorders.voltmeter
        if vm is not None:
            idx = np.concatenate([net.pop_start[p] + np.arange(vm.n) for p in vm.populations])
            self.voltages = VoltageRecord(list(vm.populations), idx.astype(np.int64),
                                          int(round(vm.interval / net.dt)), net.dt, keep_ms=keep_ms)
        else:
            self.voltages = VoltageRecord([], np.zeros(0, np.int64), 1, net.dt, capacity=1)
        wr = spec.recorders.weights
        self.weight_record = None
        if wr is not None:
            from .weights import WeightRecord
            self.weight_record = WeightRecord(wr.projections, int(round(wr.interval / net.dt)), net.dt,
                                              getattr(self.backend, "rewiring", set()))
        self.lfp = None
        if spec.recorders.lfp is not None:
            from .lfp import LfpRecord
            with self.timers.phase("lfp_kernels"):
                self.lfp = LfpRecord(net, keep_ms=keep_ms)
        from .spot import SpotDrive
        self.spot = SpotDrive(net, self.backend)  # the topographic map's moving input, if any
        self.steps_done = 0
        # Numba compiles (or loads from its cache) on first call: do it now, timed apart,
        # so that neither build_s nor sim_s hides compile time.
        with self.timers.phase("compile"):
            self._advance(0)

    # ------------------------------------------------------------------ time
    @property
    def t(self) -> float:
        """Simulated time in ms."""
        return self.steps_done * self.network.dt

    def run(self, ms: float, progress: bool = False) -> None:
        """Advance by ``ms`` (rounded to whole steps)."""
        n = int(round(ms / self.network.dt))
        if n < 0:
            raise SpikeScopeError(f"run: {ms} ms is negative")
        bar = None
        if progress:
            from tqdm import tqdm
            bar = tqdm(total=round(n * self.network.dt), unit="ms", file=sys.stderr, leave=False,
                       desc=self.spec.name)
        with self.timers.phase("simulate"):
            left = n
            while left > 0:
                block = min(left, BLOCK_STEPS) if bar else left
                done = self._advance(block)
                left -= done
                if bar:
                    bar.update(round((n - left) * self.network.dt) - bar.n)
        if bar:
            bar.close()

    def step(self, n: int = 1) -> None:
        with self.timers.phase("simulate"):
            left = n
            while left > 0:
                left -= self._advance(left)

    def _advance(self, n: int) -> int:
        wr = self.weight_record
        if wr is not None:  # stop at the next snapshot
            if wr.due(self.steps_done):
                wr.take(self.steps_done, self.backend)
            n = min(n, wr.steps_to_next(self.steps_done))
        if self.spot:  # new rates at every period's start
            self.spot.apply(self.steps_done)
            n = min(n, self.spot.steps_to_next(self.steps_done))
        lfp = self.lfp
        if lfp is not None and lfp.method == "proxy":  # stop at the next sample
            if lfp.due(self.steps_done):
                lfp.take(self.steps_done, self.backend)
            n = min(n, lfp.steps_to_next(self.steps_done))
        v = self.voltages
        out = Outputs(self._out_step, self._out_id, self._out_n, v.index, v.every, v.buf, v.n)
        done = self.backend.advance(self.steps_done, n, out)
        self.steps_done += done
        with self.timers.phase("record"):
            while True:
                m = int(self._out_n[0])
                if m:
                    self.spike_record.add(self._out_step[:m], self._out_id[:m])
                    if lfp is not None:
                        lfp.add_spikes(self._out_step[:m], self._out_id[:m])
                    self._out_n[0] = 0
                # spikes of done steps held back by the backend: until none are left
                if self.backend.flush(out) and self._out_n[0] == 0:
                    break
            v.drain()
            if lfp is not None:
                if lfp.due(self.steps_done):
                    lfp.take(self.steps_done, self.backend)
                lfp.advance_to(self.steps_done)
        if wr is not None and wr.due(self.steps_done):
            wr.take(self.steps_done, self.backend)
        return done

    def weights(self, projection: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(source, target, weight) of every synapse of a projection now (sources and
        targets 0-based within their populations); plastic weights as they are now."""
        return self.backend.weights(projection)

    def snapshot_weights(self) -> None:
        """A weight snapshot now (the end of a run), if weights are recorded."""
        if self.weight_record is not None:
            self.weight_record.take(self.steps_done, self.backend)

    def attach_sink(self, sink) -> None:
        """Pass every recorded spike from now on to ``sink.append(steps, global ids)``
        (``io.sonata.stream_spikes`` attaches a SONATA file), replacing an earlier sink,
        which is closed; ``stop_stream()``, ``reset()`` or ``close()`` closes it."""
        self.stop_stream()
        self.spike_record.sink = sink

    def stop_stream(self):
        """Close the spike sink, if any; returns its path (or None)."""
        sink, self.spike_record.sink = self.spike_record.sink, None
        if sink is None:
            return None
        sink.close()
        return getattr(sink, "path", None)

    def close(self) -> None:
        """Close the stream and let go of the recorded data (the network stays)."""
        self.stop_stream()
        self.spike_record.clear()
        self.voltages.clear()
        if self.lfp is not None:
            self.lfp.clear()

    def reset(self) -> None:
        """Back to t = 0 with the same network and initial state (rebuilds nothing); a
        spike stream ends, since its file holds the run before the reset."""
        self.stop_stream()
        self.backend.reset()
        self.spike_record.clear()
        self.voltages.clear()
        if self.weight_record is not None:
            self.weight_record.clear()
        if self.lfp is not None:
            self.lfp.clear()
        self.spot.applied = -1
        self.steps_done = 0

    # ------------------------------------------------------------------ results
    def spikes(self, population: str) -> tuple[np.ndarray, np.ndarray]:
        """(times in ms, node ids 0-based within the population)."""
        return self.spike_record.population(population)

    @property
    def n_synapses(self) -> int:
        """Connections between neurons (device connections are counted separately)."""
        return sum(c.n_synapses for c in self.network.connectome.between_populations(self.spec))

    @property
    def bytes_per_synapse(self) -> float:
        return self.backend.synapse_bytes() / max(self.backend.n_synapses, 1)
