"""The one protocol every backend implements and the rest of the code uses. Callers never
write into a backend's arrays: live edits go through the methods below, which keep the
backend's copy and the host ``Network`` (what ``reset`` returns to) in step."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np


@dataclass
class Outputs:
    """Host buffers the backend fills during ``advance`` and the caller drains.

    out_step/out_id: spikes (emission step, global neuron id) in (step, id) order, out_n[0]
    of them; vm_out: voltmeter rows (one per ``vm_every`` steps, columns ``vm_idx``),
    vm_n[0] of them. A backend stops early rather than overflow either buffer."""
    out_step: np.ndarray
    out_id: np.ndarray
    out_n: np.ndarray
    vm_idx: np.ndarray
    vm_every: int
    vm_out: np.ndarray
    vm_n: np.ndarray


@runtime_checkable
class Backend(Protocol):
    name: str
    n_synapses: int  # stored synapses (population and spike-generator sources)

    def reset(self) -> None:
        """Back to the network's initial state (t = 0, empty buffers)."""

    def advance(self, k0: int, n_steps: int, out: Outputs) -> int:
        """Advance from step k0 by up to n_steps; returns the steps done (fewer when an
        output buffer is full: drain it and call again)."""

    def flush(self, out: Outputs) -> bool:
        """Hand over spikes of steps already done that did not fit in ``out`` (the GPU
        runs long launches whatever the host buffer's size); True when none are left."""

    def info(self) -> dict:
        """How the backend runs (threads and batch; driver, blocks, cooperative limit...),
        for run summaries."""

    def synapse_bytes(self) -> int:
        """Bytes of synapse storage (targets, weights or codes, delays, row pointers)."""

    def membrane_potential(self) -> np.ndarray:
        """V_m (mV) of every neuron, on the host."""

    def synaptic_currents(self) -> tuple[np.ndarray, np.ndarray]:
        """(I_ex, I_in) in pA of every neuron now, on the host (the LFP proxy; current-based
        models only: iaf_cond_exp keeps conductances in these columns)."""

    def weights(self, projection: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(source, target, weight) of every synapse of a projection as it is now (plastic
        weights change), sources and targets 0-based within their populations."""

    # live edits ---------------------------------------------------------------
    def set_weight(self, projection: int, weight: float) -> None:
        """A one-valued projection's weight, for the spikes emitted after the change (the
        pending ones are delivered first, with the old weight)."""

    def set_neuron_params(self, start: int, stop: int, params: np.ndarray, refr_counts: np.ndarray,
                          v0: np.ndarray) -> None:
        """Neurons start..stop get new parameter rows (layout.N_COLS), refractory counts and
        initial V (relative to E_L); the present V_m stays where it is in absolute terms
        (NEST keeps V_m when E_L changes)."""

    def set_drives(self, poisson_value: np.ndarray, poisson_weight: np.ndarray,
                   dc_value: np.ndarray) -> None:
        """Every Poisson entry's mean count per step and weight, every DC entry's current."""
