"""The model in the page's address, so a link opens it: ``?preset=microcircuit&scale=0.1``
or ``?spec=<run id>`` (a run of the run registry, with the spec it ran). ``from_query``
reads it when a session starts; loading a preset writes it back, so the address bar can
be copied into a class handout."""
from __future__ import annotations

from sim_core.errors import SpikeScopeError
from sim_core.models.registry import PRESETS, preset_dict
from sim_core.spec import from_dict


def _arg(args: dict, key: str) -> str | None:
    values = args.get(key)
    if not values:
        return None
    v = values[0]
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)


def from_query(args: dict):
    """(spec or None, what was loaded or why not, (preset, scale) or None) from a query's
    arguments ({name: [bytes]}, as Bokeh gives them). Nothing in the query: (None, "", None)."""
    preset, scale, run = _arg(args, "preset"), _arg(args, "scale"), _arg(args, "spec")
    if run is not None:
        try:
            from sim_core.io.registry import Registry
            row = Registry().get(int(run))
            return from_dict(row["spec"]), f"loaded run #{int(run)} from the registry", None
        except (ValueError, KeyError, TypeError, SpikeScopeError) as exc:
            return None, f"?spec={run[:40]}: {_why(exc)}", None
    if preset is None:
        return None, "", None
    if preset not in PRESETS:
        return None, f"?preset={preset[:40]}: not a preset; presets: {', '.join(sorted(PRESETS))}", None
    try:
        value = float(scale) if scale is not None else 1.0
        if not value > 0:
            raise ValueError(f"scale must be > 0; got {scale}")
        spec = from_dict(preset_dict(preset, value))
    except (ValueError, SpikeScopeError) as exc:
        return None, f"?preset={preset}&scale={(scale or '')[:20]}: {_why(exc)}", None
    return spec, f"loaded {preset} (scale {value:g}) from the address", (preset, value)


def _why(exc) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def location():
    """This session's address (call while the session is created: callbacks may run where
    ``pn.state`` knows no session); None outside a served page."""
    import panel as pn
    doc = pn.state.curdoc
    if doc is None or doc.session_context is None:
        return None
    return pn.state.location


def write(loc, preset: str, scale: float) -> None:
    """Put the preset into the address bar."""
    if loc is not None:
        loc.update_query(preset=preset, scale=f"{scale:g}")


def clear(loc) -> None:
    """The model no longer comes from a preset (an imported file): the address names none."""
    if loc is not None and loc.search:
        loc.search = ""
