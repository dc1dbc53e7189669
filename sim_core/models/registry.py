"""The shipped model presets by name.

Each preset is a function ``build(scale=1.0, **params) -> dict`` that returns a spec as
plain data (format ``spikescope/1``, see ``shared/design/SPEC.md``), ready for
``yaml.safe_dump`` or for the spec parser. ``spikescope export PRESET`` writes one out.
"""
from __future__ import annotations

from typing import Callable

from . import brunel, clustered, mesocircuit, microcircuit, topomap

PRESETS: dict[str, Callable[..., dict]] = {
    "brunel": brunel.build,              # NEST brunel_alpha_nest.py
    "clustered": clustered.build,        # NEST EI_clustered_network (Rostami et al.)
    "mesocircuit": mesocircuit.build,    # INM-6 mesocircuit-model (Senk et al. 2024)
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


def preset_options(name: str) -> tuple[str, ...]:
    """Names of the keyword parameters preset ``name`` takes (its module's ``DEFAULTS`` or
    ``OPTIONS``), besides ``scale``."""
    import sys
    module = sys.modules[PRESETS[name].__module__]
    return tuple(getattr(module, "DEFAULTS", None) or getattr(module, "OPTIONS", ()))


def parse_params(texts) -> dict:
    """``['NAME=VALUE', ...]`` (``--param``) -> {NAME: VALUE}; a value is read as JSON where it
    is JSON (``true``, ``4.0``, ``"PD"``, ``[1, 2]``), else taken as the string itself."""
    import json

    from ..errors import SpecError
    out = {}
    for text in texts or ():
        name, sep, value = text.partition("=")
        name = name.strip()
        if not sep or not name or not value.strip():
            raise SpecError("--param", f"'{text}' is not NAME=VALUE (e.g. --param variant=MAMV1)")
        if name in out:
            raise SpecError(f"--param {name}", "given twice")
        try:
            out[name] = json.loads(value)
        except ValueError:
            out[name] = value.strip()
    return out


def load_model(name: str, scale: float | None, params: dict | None = None):
    """A preset name or a spec path -> validated NetworkSpec. ``params``: the preset's
    keyword parameters (``--param NAME=VALUE``); a wrong one is reported as ``--param NAME``."""
    import re

    from ..errors import SpecError, did_you_mean, one_of
    from ..spec import from_dict, load
    params = dict(params or {})
    if name in PRESETS:
        valid = preset_options(name)
        for key in params:
            if key not in valid:
                raise SpecError(f"--param {key}", f"{name} has no parameter '{key}'{did_you_mean(key, valid)}; "
                                f"valid: {', '.join(valid)}")
        try:
            data = preset_dict(name, 1.0 if scale is None else scale, **params)
        except (ValueError, TypeError, ArithmeticError) as exc:
            # name the option the message is about: a parameter it mentions, else the scale
            named = [k for k in params if re.search(rf"(?<![\w.]){re.escape(k)}(?![\w])", str(exc))]
            where = (f"--param {named[0]}" if named else "--scale" if "scale" in str(exc) or not params
                     else f"--param {next(iter(params))}" if len(params) == 1 else "--param")
            raise SpecError(where, str(exc)) from None
        return from_dict(data)
    from pathlib import Path
    path = Path(name)
    if not path.exists():
        raise SpecError("model", f"'{name}' is neither a spec file nor a preset; presets: "
                        f"{one_of(PRESETS)}{did_you_mean(name, PRESETS)}")
    if scale is not None:
        raise SpecError("--scale", "applies to presets only; edit the sizes in the spec file instead")
    if params:
        raise SpecError(f"--param {next(iter(params))}", "applies to presets only; edit the spec file instead "
                        "(or scan its fields: spikescope scan SPEC --param PATH=v1,v2)")
    return load(path)
