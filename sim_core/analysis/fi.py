"""The f-I curve of a leaky integrate-and-fire neuron under a constant current: what the
f-I lesson compares its measured points with.

From V_reset the membrane relaxes towards E_L + R I (R = tau_m / C_m) and reaches V_th after
T = tau_m ln((R I - (V_reset - E_L)) / (R I - (V_th - E_L))); with the refractory period the
rate is 1 / (t_ref + T). NEST's neurons (and SpikeScope's, spike for spike) integrate
exactly but test the threshold at the end of each step, so T is rounded up to whole steps
of dt: ``grid=True`` gives that rate, which measured points meet to the last digit.
"""
from __future__ import annotations

import math

import numpy as np

DEFAULTS = {"C_m": 250.0, "tau_m": 10.0, "t_ref": 2.0, "E_L": -70.0, "V_reset": -70.0, "V_th": -55.0}


def rheobase(**params) -> float:
    """The smallest constant current (pA) that makes the neuron fire."""
    p = {**DEFAULTS, **params}
    return p["C_m"] * (p["V_th"] - p["E_L"]) / p["tau_m"]


def lif_rate(I_e, dt: float | None = None, **params) -> np.ndarray:
    """Rate (spikes/s) for each current in ``I_e`` (pA); with ``dt`` (ms), the time to
    threshold rounded up to the step grid, as the simulation has it."""
    p = {**DEFAULTS, **params}
    current = np.atleast_1d(np.asarray(I_e, dtype=float))
    drive = current * p["tau_m"] / p["C_m"]  # R I, mV
    theta, start = p["V_th"] - p["E_L"], p["V_reset"] - p["E_L"]
    out = np.zeros_like(current)
    fires = drive > theta
    T = p["tau_m"] * np.log((drive[fires] - start) / (drive[fires] - theta))
    if dt is not None:
        T = np.ceil(T / dt - 1e-9) * dt
        t_ref = math.ceil(p["t_ref"] / dt - 1e-9) * dt
    else:
        t_ref = p["t_ref"]
    out[fires] = 1000.0 / (t_ref + T)
    return out


def regular_rate(times: np.ndarray) -> float | None:
    """Rate (spikes/s) of a regular train from its mean inter-spike interval (None with
    fewer than two spikes): a window's spike count would be off by up to one spike."""
    times = np.sort(np.asarray(times, dtype=float))
    if times.size < 2:
        return None
    return 1000.0 / float(np.mean(np.diff(times)))
