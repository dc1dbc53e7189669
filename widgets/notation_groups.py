"""The notation's compact form for repeated groups: E0..E19 drawn as one indexed node E_i.

Part of ``widgets.notation``. Populations whose names are one prefix and a cluster number
(``sim_core.analysis.clusters.clusters_of``: E0, I0, E1, I1, ...) form a group, drawn as
one stacked node (Senk et al. 2022 draw repeated populations as a pile of shapes). Their
projections collapse into one arrow per (source, target, within/between clusters, sign,
rule type), annotated once: the clustered preset's 1,600 arrows become 8.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from sim_core.analysis.clusters import CLUSTER, clusters_of
from sim_core.spec.model import NetworkSpec, Recorders, Voltmeter

from .notation_terms import annotation_lines, edge_title, synapse_sign

#: Compact form by default above this many projections, when the model has groups.
#: Measured on the clustered preset with all labels drawn: with 2 clusters (16
#: projections) 1 label of 16 lay on another arrow, with 3 clusters (36) 14 of 36 did.
COMPACT_ABOVE = 24

RELATION_TEXT = {"within": "i = j", "between": "i ≠ j"}


@dataclass(frozen=True)
class Group:
    """Populations ``members`` (cluster number -> name) drawn as the one node ``name``."""
    name: str
    prefix: str
    members: dict


@dataclass(frozen=True)
class CompactView:
    """The spec as drawn in compact form, and what each of its parts stands for."""
    spec: NetworkSpec          # groups as single populations, one projection per arrow
    groups: dict               # node name -> Group
    members: tuple             # per projection of ``spec``: indices into the original's
    relations: tuple           # per projection of ``spec``: 'within' | 'between' | ''
    lines: tuple               # per projection of ``spec``: its annotation


def population_groups(spec: NetworkSpec) -> dict[str, Group]:
    """Groups of at least two populations named prefix + cluster number, by node name
    (``E_i``); empty when the model has none."""
    by_prefix: dict[str, dict[int, str]] = {}
    clash = set()
    for number, names in clusters_of(spec).items():
        for name in names:
            prefix = CLUSTER.match(name).group(1)
            if number in by_prefix.setdefault(prefix, {}):
                clash.add(prefix)  # E1 and E01: not one index, so not a group
            by_prefix[prefix][number] = name
    taken = set(spec.populations) | set(spec.inputs)
    out = {}
    for prefix, members in by_prefix.items():
        name = f"{prefix or 'P'}_i"
        if len(members) >= 2 and prefix not in clash and name not in taken:
            out[name] = Group(name, prefix, dict(sorted(members.items())))
    return out


def compact_view(spec: NetworkSpec, groups: dict[str, Group]) -> CompactView:
    """``spec`` with each group as one population and parallel projections merged."""
    group_of = {pop: (g.name, number) for g in groups.values() for number, pop in g.members.items()}
    classes: dict[tuple, list[int]] = {}
    for i, proj in enumerate(spec.projections):
        s, si = group_of.get(proj.source, (proj.source, None))
        t, ti = group_of.get(proj.target, (proj.target, None))
        relation = "" if si is None or ti is None else ("within" if si == ti else "between")
        key = (s, t, relation, synapse_sign(proj.synapse), type(proj.rule).__name__)
        classes.setdefault(key, []).append(i)
    projections, members, relations, lines = [], [], [], []
    for (s, t, relation, _, _), idx in classes.items():
        rep = spec.projections[idx[0]]
        projections.append(dataclasses.replace(rep, source=s, target=t))
        members.append(tuple(idx))
        relations.append(relation)
        lines.append(_merged_lines([spec.projections[i] for i in idx], relation))
    populations = {}
    for name, pop in spec.populations.items():
        g = group_of.get(name)
        if g is None:
            populations[name] = pop
        elif g[0] not in populations:
            populations[g[0]] = pop
    view = dataclasses.replace(spec, populations=populations, projections=tuple(projections),
                               recorders=_recorders(spec.recorders, group_of))
    return CompactView(view, groups, tuple(members), tuple(relations), tuple(lines))


def group_label(group: Group, spec: NetworkSpec) -> tuple[tuple[str, str], str]:
    """((name, detail), title) of a group's node: E with index i, and what it stands for."""
    numbers = list(group.members)
    sizes = sorted({spec.populations[p].size for p in group.members.values()})
    size = f"{sizes[0]}" if len(sizes) == 1 else f"{sizes[0]}–{sizes[-1]}"
    span = f"{numbers[0]}…{numbers[-1]}" if numbers == list(range(numbers[0], numbers[-1] + 1)) \
        else ",".join(map(str, numbers))
    names = ", ".join(group.members.values())
    title = f"{group.name}: {len(numbers)} populations ({names}), N={size} each"
    return (group.prefix or "P", f"i={span}"), title


def compact_title(spec: NetworkSpec, view: CompactView, k: int) -> str:
    """Tooltip of arrow ``k`` of the compact view: what it stands for, and one example."""
    proj = view.spec.projections[k]
    idx = view.members[k]
    rel = f" ({RELATION_TEXT[view.relations[k]]})" if view.relations[k] else ""
    shown = ", ".join(map(str, idx[:6])) + (", …" if len(idx) > 6 else "")
    same = "" if len({_text(annotation_lines(spec.projections[i])) for i in idx}) == 1 else \
        "; rules or weights differ between them, e.g. "
    return (f"{proj.source} → {proj.target}{rel}: {len(idx)} projection(s) [{shown}]"
            f"{same or '; '}{edge_title(spec.projections[idx[0]], idx[0])}")


# ------------------------------------------------------------------ helpers
def _text(lines) -> str:
    return "|".join("".join(t for t, _ in line) for line in lines)


def _merged_lines(projs, relation: str) -> list:
    """The annotation shared by ``projs`` (the first's, marked '…' where they differ),
    headed by the cluster relation."""
    lines = [list(line) for line in annotation_lines(projs[0])]
    if len({_text(annotation_lines(p)) for p in projs}) > 1:
        lines[-1].append((" …", ""))
    if relation:
        lines[0] = [(RELATION_TEXT[relation], "relation"), (": ", "")] + lines[0]
    return lines


def _recorders(rec: Recorders, group_of: dict) -> Recorders:
    def merge(names):
        return tuple(dict.fromkeys(group_of.get(n, (n,))[0] for n in names))
    spikes = rec.spikes if rec.spikes == "all" else merge(rec.spikes)
    vm = rec.voltmeter
    if vm is not None:
        vm = Voltmeter(merge(vm.populations), vm.n, vm.interval)
    return Recorders(spikes, vm)
