"""JSON Schema of ``spikescope/1``, generated from the dataclasses in ``model.py`` and
the model declarations in ``declarations.py`` (never written by hand)."""
from __future__ import annotations

import dataclasses
import typing
from typing import Any, Literal, Mapping, Union

from .declarations import DEVICE_MODELS, NEURON_MODELS
from .model import NetworkSpec, Population, Input
from .parse import _hints, _tagged_members

_BOUND_KEYS = {"gt": "exclusiveMinimum", "ge": "minimum", "le": "maximum", "pattern": "pattern",
               "min_items": "minProperties"}


def _schema(tp, md: dict | None = None, defs: dict | None = None) -> dict:
    md = md or {}
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    extra = {_BOUND_KEYS[k]: v for k, v in md.items() if k in _BOUND_KEYS}
    if md.get("doc"):
        extra["description"] = md["doc"] + (f" [{md['unit']}]" if md.get("unit") else "")
    if tp is Any:
        return extra
    if origin is Union:
        alts = []
        for a in args:
            alts.append({"type": "null"} if a is type(None) else _schema(a, None, defs))
        return {"anyOf": alts, **extra}
    if origin is Literal:
        return {"enum": list(args), **extra}
    if tp is bool:
        return {"type": "boolean", **extra}
    if tp is int:
        return {"type": "integer", **extra}
    if tp is float:
        return {"type": "number", **extra}
    if tp is str:
        return {"type": "string", **extra}
    if origin is tuple:
        return {"type": "array", "items": _schema(args[0], None, defs), **extra}
    if origin is not None and issubclass(origin, Mapping):
        return {"type": "object", "additionalProperties": _schema(args[1], None, defs), **extra}
    if dataclasses.is_dataclass(tp):
        return {**_object(tp, defs), **extra}
    raise TypeError(f"no schema for {tp!r}")


def _object(cls, defs: dict | None) -> dict:
    hints = _hints(cls)
    props, required = {}, []
    if hasattr(cls, "TAG"):
        props[cls.TAG[0]] = {"const": cls.TAG[1]}
        required.append(cls.TAG[0])
    for f in dataclasses.fields(cls):
        props[f.name] = _schema(hints[f.name], dict(f.metadata), defs)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            required.append(f.name)
        elif f.default is not dataclasses.MISSING and isinstance(f.default, (int, float, str, bool)):
            props[f.name]["default"] = f.default
    out = {"type": "object", "properties": props, "additionalProperties": False}
    if required:
        out["required"] = required
    return out


def _per_model(decls: dict, field: str) -> list[dict]:
    """if model == m then params may hold only m's declared parameters."""
    rules = []
    for name, decl in decls.items():
        props = {}
        for p in decl.params if field == "params" else decl.state:
            d = {"description": f"{p.doc} [{p.unit}]" if p.unit else p.doc}
            if p.default is not None and p.kind == "number":
                d["default"] = p.default
            props[p.name] = d
        rules.append({"if": {"properties": {"model": {"const": name}}},
                      "then": {"properties": {field: {"propertyNames": {"enum": list(props)}}}}})
    return rules


def json_schema() -> dict:
    schema = _schema(NetworkSpec)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "SpikeScope model spec (spikescope/1)"
    pops = schema["properties"]["populations"]["additionalProperties"]
    pops["properties"]["model"]["enum"] = list(NEURON_MODELS)
    pops["allOf"] = _per_model(NEURON_MODELS, "params") + _per_model(NEURON_MODELS, "initial")
    inputs = schema["properties"]["inputs"]["additionalProperties"]
    inputs["properties"]["model"]["enum"] = list(DEVICE_MODELS)
    inputs["allOf"] = _per_model(DEVICE_MODELS, "params")
    return schema


__all__ = ["json_schema", "Population", "Input"]
