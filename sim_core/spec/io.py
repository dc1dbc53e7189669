"""Load and save specs as YAML or JSON. Loading never executes anything:
``yaml.safe_load`` and ``json.loads`` only, then the typed parser and validation."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping

import yaml

from ..errors import SpecError
from .model import FORMAT, NetworkSpec
from .parse import parse_value, to_data
from .validate import validate


def from_dict(data) -> NetworkSpec:
    """Plain data -> validated ``NetworkSpec`` (raises ``SpecError``)."""
    if not isinstance(data, Mapping):
        raise SpecError("", f"a spec must be a mapping at the top level, got {type(data).__name__}")
    if data.get("format") != FORMAT:
        raise SpecError("format", f"got {data.get('format')!r}; expected '{FORMAT}'")
    return validate(parse_value(NetworkSpec, data, ""))


def loads(text: str, fmt: str = "yaml") -> NetworkSpec:
    try:
        data = json.loads(text) if fmt == "json" else yaml.safe_load(text)
    except (yaml.YAMLError, json.JSONDecodeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise SpecError("", f"not valid {fmt.upper()}: {first}") from None
    return from_dict(data)


def load(path) -> NetworkSpec:
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as e:
        raise SpecError("", f"cannot read spec file '{path}': {e.strerror}") from None
    return loads(text, "json" if path.suffix.lower() == ".json" else "yaml")


def to_plain(spec: NetworkSpec) -> dict:
    """Spec -> plain dict, with ``format`` and ``name`` first for readability."""
    data = to_data(spec)
    head = {k: data.pop(k) for k in ("format", "name", "description", "dt", "seed") if k in data}
    return {**head, **data}


def dumps(spec: NetworkSpec, fmt: str = "yaml") -> str:
    data = to_plain(spec)
    if fmt == "json":
        return json.dumps(data, indent=2) + "\n"
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=100)


def save(spec: NetworkSpec, path) -> None:
    path = Path(path)
    Path(path).write_text(dumps(spec, "json" if path.suffix.lower() == ".json" else "yaml"))
