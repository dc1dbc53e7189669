"""The one error family SpikeScope raises for bad input.

Every message names the field path in the spec (``projections[2].rule.indegree``)
and what would be valid, so the CLI can print it on one line and exit with code 2.
"""
from __future__ import annotations

import difflib


class SpikeScopeError(Exception):
    """Base class of all errors that are the user's to fix (bad spec, bad argument)."""


class SpecError(SpikeScopeError, ValueError):
    """A spec field is invalid. ``path`` is the field path, e.g. ``populations.E.size``."""

    def __init__(self, path: str, message: str):
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}" if path else message)


class BackendError(SpikeScopeError, RuntimeError):
    """The requested backend cannot run here (e.g. ``gpu`` without a GPU)."""


class CapacityError(SpikeScopeError, MemoryError):
    """The network would not fit in memory; raised before anything large is allocated."""


def did_you_mean(word: str, choices) -> str:
    """A ' (did you mean 'x'?)' hint, or '' when nothing is close."""
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def one_of(choices) -> str:
    return ", ".join(sorted(str(c) for c in choices))
