"""The model spec ``spikescope/1``: dataclasses, loading/saving, validation, schema."""
from .io import dumps, from_dict, load, loads, save, to_plain
from .model import FORMAT, NetworkSpec
from .schema import json_schema

__all__ = ["FORMAT", "NetworkSpec", "dumps", "from_dict", "json_schema", "load", "loads", "save", "to_plain"]
