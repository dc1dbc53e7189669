"""The shipped model presets by name.

Each preset is a function ``build(scale=1.0, **params) -> dict`` that returns a spec as
plain data (format ``spikescope/1``, see ``shared/design/SPEC.md``), ready for
``yaml.safe_dump`` or for the spec parser. ``spikescope export PRESET`` writes one out.
"""
from __future__ import annotations

from typing import Callable

from . import brunel, clustered, microcircuit, topomap

PRESETS: dict[str, Callable[..., dict]] = {
    "brunel": brunel.build,              # NEST brunel_alpha_nest.py
    "clustered": clustered.build,        # NEST EI_clustered_network (Rostami et al.)
    "microcircuit": microcircuit.build,  # NEST Potjans_2014 (Potjans & Diesmann 2014)
    "topomap": topomap.build,            # Bamford et al. 2010 / Knight & Senk et al. (GeNN)
}


def preset_dict(name: str, scale: float = 1.0, **params) -> dict:
    """Spec dict of preset ``name`` at ``scale`` with keyword ``params`` overridden.

    Raises ``ValueError`` for an unknown preset, an unknown parameter or a scale the
    preset cannot take; the message says what would be valid.
    """
    try:
        build = PRESETS[name]
    except (KeyError, TypeError):  # TypeError: unhashable name
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(sorted(PRESETS))}") from None
    return build(scale=scale, **params)


def load_model(name: str, scale: float | None):
    """A preset name or a spec path -> validated NetworkSpec."""
    from ..errors import SpecError, did_you_mean, one_of
    from ..spec import from_dict, load
    if name in PRESETS:
        try:
            data = preset_dict(name, 1.0 if scale is None else scale)
        except ValueError as exc:
            raise SpecError("--scale", str(exc)) from None
        return from_dict(data)
    from pathlib import Path
    path = Path(name)
    if not path.exists():
        raise SpecError("model", f"'{name}' is neither a spec file nor a preset; presets: "
                        f"{one_of(PRESETS)}{did_you_mean(name, PRESETS)}")
    if scale is not None:
        raise SpecError("--scale", "applies to presets only; edit the sizes in the spec file instead")
    return load(path)
