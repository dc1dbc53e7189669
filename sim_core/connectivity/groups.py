"""Edits of a group of projections at once: "all inhibitory weights x g", "every delay into
L4e x 1.5". One function for the app's group edit, the lessons and scripts.

A weight that is a distribution is scaled exactly: every distribution is ``offset + scale *
X`` (``sim_core.spec.model``), so multiplying ``scale`` and ``offset`` multiplies every draw,
with the redraw bounds (which apply to X) unchanged.
"""
from __future__ import annotations

import dataclasses

from ..errors import SpecError
from ..spec.model import NetworkSpec

#: What a group edit can change, and which projections each kind selects.
GROUPS = ("inhibitory weights", "excitatory weights", "all weights", "all delays")
ANY = "(any)"


def receptor(proj) -> str:
    """'excitatory' or 'inhibitory': the declared receptor, else the sign of the mean weight
    (as the engine decides)."""
    if proj.synapse.receptor is not None:
        return proj.synapse.receptor
    from .values import mean_of
    return "inhibitory" if mean_of(proj.synapse.weight) < 0 else "excitatory"


def select(spec: NetworkSpec, group: str, source: str = ANY, target: str = ANY) -> list[int]:
    """Indices of the projections ``group`` (one of GROUPS) names, from ``source`` to
    ``target`` (``ANY``: every one)."""
    if group not in GROUPS:
        raise SpecError("group", f"'{group}' is not a group; choose one of {', '.join(GROUPS)}")
    out = []
    for i, p in enumerate(spec.projections):
        if source not in (ANY, p.source) or target not in (ANY, p.target):
            continue
        if group.startswith(("inhibitory", "excitatory")) and receptor(p) != group.split()[0]:
            continue
        out.append(i)
    return out


def _scaled(value, factor: float):
    if isinstance(value, (int, float)):
        return float(value) * factor
    return dataclasses.replace(value, scale=value.scale * factor, offset=value.offset * factor)


def scale_group(spec: NetworkSpec, group: str, factor: float, source: str = ANY,
                target: str = ANY) -> tuple[NetworkSpec, list[int]]:
    """The spec with the weights (or delays) of the group multiplied by ``factor`` > 0, and
    the indices changed. Weights keep their sign, so the group stays what it was."""
    if not isinstance(factor, (int, float)) or isinstance(factor, bool) or not factor > 0:
        raise SpecError("factor", f"{factor!r} must be a number > 0 (a weight keeps its sign)")
    chosen = select(spec, group, source, target)
    if not chosen:
        raise SpecError("group", f"no {group} from {source} to {target} in this model")
    projections = list(spec.projections)
    for i in chosen:
        syn = projections[i].synapse
        if group == "all delays":
            if not isinstance(syn.delay, (int, float)) and not hasattr(syn.delay, "scale"):
                raise SpecError(f"projections[{i}].synapse.delay", "a distance-dependent delay: edit it alone")
            syn = dataclasses.replace(syn, delay=_scaled(syn.delay, factor))
        else:
            syn = dataclasses.replace(syn, weight=_scaled(syn.weight, factor))
        projections[i] = dataclasses.replace(projections[i], synapse=syn)
    return dataclasses.replace(spec, projections=tuple(projections)), chosen
