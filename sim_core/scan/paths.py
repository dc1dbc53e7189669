"""Addressing a field of a spec by path: ``inputs.bg.params.rate``,
``projections[2].synapse.weight``, ``populations.E.params.I_e`` — the same paths that spec
errors name. Several items of a list take one value together: ``projections[2,3].synapse.weight``
sets the weight of projections 2 and 3 (Brunel's g: both inhibitory projections at once).

The spec is taken as plain data with its defaults filled in (``to_data(spec, True)``), so
every field of the format exists and a path that does not resolve is a typo: the error says
which part and what would be valid. Only the last key may be new, in a mapping (a neuron
parameter left at NEST's default); the spec's own validation then checks the name.
"""
from __future__ import annotations

import copy
import re


from ..errors import SpecError, did_you_mean, one_of

_TOKEN = re.compile(r"\.?([^.\[\]]+)|\[(\d+(?:\s*,\s*\d+)*)\]")


def parse_path(path: str) -> list[str | int | tuple[int, ...]]:
    """'projections[2].synapse.weight' -> ['projections', 2, 'synapse', 'weight'];
    'projections[2,3].synapse.weight' -> ['projections', (2, 3), 'synapse', 'weight']."""
    tokens, pos = [], 0
    while pos < len(path):
        m = _TOKEN.match(path, pos)
        if m is None or (pos == 0 and path.startswith(".")):
            raise SpecError(f"--param {path}", "not a spec path; write it like inputs.bg.params.rate or "
                                               "projections[2].synapse.weight")
        if m.group(1) is not None:
            tokens.append(m.group(1))
        else:
            idx = tuple(int(k) for k in m.group(2).split(","))
            if len(set(idx)) != len(idx):
                raise SpecError(f"--param {path}", f"[{m.group(2)}] names an item twice")
            tokens.append(idx[0] if len(idx) == 1 else idx)
        pos = m.end()
    if not tokens:
        raise SpecError("--param", "empty path")
    return tokens


def _step(node, token, where: str, path: str, last: bool):
    if isinstance(node, list):
        if not isinstance(token, int):
            raise SpecError(f"--param {path}", f"{where} is a list: index it like {where}[0]")
        if not 0 <= token < len(node):
            raise SpecError(f"--param {path}", f"{where} has {len(node)} items (indices 0-{len(node) - 1})")
        return node[token]
    if isinstance(node, dict):
        if isinstance(token, int):
            raise SpecError(f"--param {path}", f"{where} is a mapping, not a list; its keys: {one_of(node)}")
        if token not in node:
            if last:
                return None
            hint = did_you_mean(token, node)
            if not where:  # a population or input named without its section
                hint = next((f" (did you mean '{k}.{path}'?)" for k in ("populations", "inputs")
                             if isinstance(node.get(k), dict) and token in node[k]), hint)
            raise SpecError(f"--param {path}", f"'{token}' is not in {where or 'the spec'}; valid: "
                                               f"{one_of(node)}{hint}")
        return node[token]
    raise SpecError(f"--param {path}", f"{where} is a value ({node!r}), it has no fields")


def _where(tokens) -> str:
    out = ""
    for t in tokens:
        out += f"[{t}]" if isinstance(t, int) else (f".{t}" if out else t)
    return out


def _each(tokens) -> list[list]:
    """The single-index token lists a path with index lists stands for, in order."""
    out = [[]]
    for t in tokens:
        out = [o + [k] for o in out for k in (t if isinstance(t, tuple) else (t,))]
    return out


def get_path(data, path: str):
    """The value at ``path`` (None for a key that may exist but is not set); a path with an
    index list (``projections[2,3].synapse.weight``): the list of the values."""
    parsed = parse_path(path)
    values = []
    for tokens in _each(parsed):
        node = data
        for i, t in enumerate(tokens):
            node = _step(node, t, _where(tokens[:i]), path, i == len(tokens) - 1)
        values.append(node)
    return values if any(isinstance(t, tuple) for t in parsed) else values[0]


def set_path(data, path: str, value):
    """A deep copy of ``data`` with ``value`` at ``path`` (at each of its items, for a path
    with an index list)."""
    out = copy.deepcopy(data)
    for tokens in _each(parse_path(path)):
        node = out
        for i, t in enumerate(tokens[:-1]):
            node = _step(node, t, _where(tokens[:i]), path, False)
        _step(node, tokens[-1], _where(tokens[:-1]), path, True)  # checks the container
        node[tokens[-1]] = copy.deepcopy(value)
    return out


def parse_param(text: str) -> tuple[str, list]:
    """'PATH=v1,v2,...' (or 'PATH=[v1, v2]') -> (path, values); values are read as YAML
    scalars (numbers, true/false, strings)."""
    path, sep, values = text.partition("=")
    path = path.strip()
    if not sep or not path or not values.strip():
        raise SpecError("--param", f"'{text}' is not PATH=v1,v2,... (e.g. inputs.bg.params.rate=8000,12000)")
    parse_path(path)
    from ..spec.io import parse_text  # the spec loader's limits (depth, aliases, size)
    try:
        items = parse_text(values) if values.strip().startswith("[") else \
            [parse_text(v) for v in values.split(",")]
    except SpecError:
        raise SpecError(f"--param {path}", f"cannot read the values '{values}'") from None
    if not isinstance(items, list) or any(v is None for v in items):
        raise SpecError(f"--param {path}", f"cannot read the values '{values}' (empty item?)")
    return path, items
