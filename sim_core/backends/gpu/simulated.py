"""Numba's CUDA simulator runs kernels as Python, on wrapped arrays that compiled
``@njit`` functions cannot take. For the simulator, the shared time step is used as its
plain-Python twin: the same source, with every ``@njit`` function it calls replaced by
that function's twin in turn."""
from __future__ import annotations

import types

from numba.core.registry import CPUDispatcher

_twins: dict = {}


def python_twin(fn):
    """``fn`` (an ``@njit`` function) as plain Python calling plain Python."""
    if not isinstance(fn, CPUDispatcher):
        return fn
    if fn in _twins:
        return _twins[fn]
    py = fn.py_func
    scope = dict(py.__globals__)
    twin = types.FunctionType(py.__code__, scope, py.__name__, py.__defaults__, py.__closure__)
    _twins[fn] = twin
    for name in py.__code__.co_names:
        if isinstance(scope.get(name), CPUDispatcher):
            scope[name] = python_twin(scope[name])
    return twin
