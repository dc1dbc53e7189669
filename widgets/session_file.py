"""A saved session: the model, how far it ran and what the page showed (tab, presentation
mode, lesson and step, time window), in one JSON file that reloads as it was.

The simulation is not stored: it is deterministic (same spec, seed and backend: the same
spikes), so loading rebuilds the model and runs it again to the saved time, paused, and
the plots show what they showed. A model edited while it ran is re-run with its last
spec from t = 0, so its spikes before the edit differ from the ones seen then.
"""
from __future__ import annotations

import json

from sim_core.errors import SpecError
from sim_core.spec import from_dict, to_plain

FORMAT = "spikescope-session/1"
MAX_REPLAY_MS = 60_000.0  # a session is re-run to its time on load: beyond a minute, it stops there


def is_session(data) -> bool:
    return isinstance(data, dict) and data.get("format") == FORMAT


def dumps(state, view: dict) -> str:
    """The session of ``state`` with the page's ``view`` (plain values) as JSON text."""
    return json.dumps({"format": FORMAT, "spec": to_plain(state.spec), "t_ms": round(state.t, 6),
                       "seed": state.sim.seed, "view": view}, indent=1)


def restore(state, data: dict) -> dict:
    """Rebuild ``state`` from a session (validated first: a bad file changes nothing), run it
    to the saved time (at most MAX_REPLAY_MS), paused; returns the saved view."""
    if not is_session(data):
        raise SpecError("format", f"not a SpikeScope session (expected format: {FORMAT})")
    try:
        spec = from_dict(data.get("spec"))
    except SpecError as exc:  # the field as the session file has it
        raise SpecError(f"spec.{exc.path}" if exc.path else "spec", exc.message) from None
    t = data.get("t_ms", 0.0)
    if not isinstance(t, (int, float)) or isinstance(t, bool) or not 0.0 <= t:
        raise SpecError("t_ms", f"{t!r} must be a time >= 0 (ms)")
    seed = data.get("seed", spec.seed)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise SpecError("seed", f"{seed!r} must be an integer >= 0")
    if seed != spec.seed:
        import dataclasses
        spec = dataclasses.replace(spec, seed=seed)
    view = data.get("view") if isinstance(data.get("view"), dict) else {}
    state.pause()
    state.set_spec(spec)
    state.reset()
    run = min(float(t), MAX_REPLAY_MS)
    if run > 0:
        state.advance(round(run / state.sim.network.dt) * state.sim.network.dt)
    state.message = f"session restored at t = {state.t:.1f} ms" + (
        f" (re-run stopped at {MAX_REPLAY_MS / 1000:g} s of {t / 1000:g} s)" if t > MAX_REPLAY_MS else "")
    return view
