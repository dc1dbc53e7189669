"""Preset options: defaults merged with the caller's keyword overrides."""
from __future__ import annotations


def merge_options(preset: str, defaults: dict, overrides: dict) -> dict:
    """``{**defaults, **overrides}``, refusing names the preset does not know."""
    unknown = sorted(set(overrides) - set(defaults))
    if unknown:
        raise ValueError(f"{preset}: unknown parameter(s) {', '.join(unknown)}; "
                         f"valid: {', '.join(defaults)}")
    return {**defaults, **overrides}
