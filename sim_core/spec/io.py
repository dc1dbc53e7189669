"""Load and save specs as YAML or JSON. Loading never executes anything (safe YAML
constructors and ``json.loads`` only, then the typed parser and validation), and it is
bounded: a spec from anyone (a file, the app's upload, a dict from Python) is refused
with a one-line ``SpecError`` naming the place before it can take much time or memory.

Limits (module constants; the CLI, the Python API and the app's upload share them):

- ``MAX_SPEC_BYTES``: size of the file or text (4 MiB), checked before it is parsed.
- ``MAX_NODES``: values, lists and mappings in the document *after* YAML aliases are
  expanded (200,000; the largest preset, ``clustered``, has about 20,000). Aliases are
  allowed, but each one counts as the whole subtree it stands for, counted while the YAML
  is composed, so an alias bomb ("billion laughs") is refused before it is expanded.
  Recursive aliases (a node that contains itself) are refused.
- ``MAX_DEPTH``: nesting of lists and mappings (64 levels; a spec needs about 6),
  checked while the YAML is composed, after ``json.loads`` (whose own recursion limit is
  caught and located), and in ``from_dict`` by an iterative walk, so no input reaches
  Python's recursion limit.

Messages are made one line (control characters escaped, very long ones shortened), as
the CLI prints them.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from collections.abc import Mapping  # isinstance against typing.Mapping is several times slower

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent, MappingStartEvent, SequenceStartEvent
from yaml.nodes import ScalarNode, SequenceNode
from yaml.resolver import Resolver

from ..errors import SpecError
from .model import FORMAT, NetworkSpec
from .parse import parse_value, to_data
from .validate import validate

#: Largest spec file or text accepted, in bytes (UTF-8).
MAX_SPEC_BYTES = 4 * 1024 * 1024
#: Most nodes (values, lists, mappings, mapping keys) after YAML aliases are expanded.
MAX_NODES = 200_000
#: Deepest nesting of lists and mappings (the top-level mapping is level 1).
MAX_DEPTH = 64
#: Longest error message printed; longer ones are shortened in the middle.
MAX_MESSAGE_CHARS = 500

_PATH_SHOWN = 12  # path components named in a nesting error before '...'


def from_dict(data, max_nodes: int | None = MAX_NODES) -> NetworkSpec:
    """Plain data -> validated ``NetworkSpec`` (raises ``SpecError``).

    The data is first walked (iteratively) for ``MAX_DEPTH`` and ``max_nodes``, so a
    deeply nested, self-referencing or huge structure from Python gets a clean error.
    Code that builds a large spec from specs already checked (a batch of scan points)
    passes ``max_nodes=None``; the depth limit stays."""
    try:
        check_structure(data, max_nodes)
        if not isinstance(data, Mapping):
            raise SpecError("", f"a spec must be a mapping at the top level, got {type(data).__name__}")
        if data.get("format") != FORMAT:
            raise SpecError("format", f"got {_short(repr(data.get('format')))}; expected '{FORMAT}'")
        spec = parse_value(NetworkSpec, data, "")
        try:
            return validate(spec)
        except ArithmeticError as exc:  # extreme numbers (dt 1e308: round(inf)) in a check
            raise SpecError("", f"a number is out of range for the checks ({type(exc).__name__}: "
                            f"{exc}); look at dt, delays and times") from None
    except SpecError as exc:
        raise _one_line(exc) from None


def loads(text: str | bytes, fmt: str = "yaml") -> NetworkSpec:
    """YAML or JSON text (``str``, or UTF-8 ``bytes`` as uploaded) -> validated spec."""
    return from_dict(parse_text(text, fmt))


def load(path) -> NetworkSpec:
    path = Path(path)
    return from_dict(parse_text(read_spec_bytes(path), _fmt(path), source=f"spec file '{path}'"))


def read_spec_bytes(path) -> bytes:
    """The bytes of a spec file, refused above ``MAX_SPEC_BYTES`` without reading it all."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            data = f.read(MAX_SPEC_BYTES + 1)
    except OSError as e:
        raise _one_line(SpecError("", f"cannot read spec file '{path}': {e.strerror or e}")) from None
    if len(data) > MAX_SPEC_BYTES:
        raise _one_line(SpecError("", f"spec file '{path}' is larger than the limit of "
                                      f"{_size(MAX_SPEC_BYTES)}")) from None
    return data


def parse_text(text: str | bytes, fmt: str = "yaml", source: str = "spec") -> object:
    """YAML/JSON text -> plain data, within the limits (raises ``SpecError``)."""
    try:
        return _parse_text(text, fmt, source)
    except SpecError as exc:
        raise _one_line(exc) from None


def _parse_text(text, fmt, source):
    fmt = "json" if fmt == "json" else "yaml"  # as before: anything else is YAML
    if len(text) > MAX_SPEC_BYTES:  # characters <= bytes: over the limit either way
        raise SpecError("", f"{source} is larger than the limit of {_size(MAX_SPEC_BYTES)}")
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise SpecError("", f"{source} is not UTF-8 text (byte {e.start})") from None
    elif len(text.encode("utf-8", "surrogatepass")) > MAX_SPEC_BYTES:
        raise SpecError("", f"{source} is larger than the limit of {_size(MAX_SPEC_BYTES)}")
    try:
        if fmt == "json":
            return _json_loads(text)
        return _yaml_load(text)
    except SpecError:
        raise
    except RecursionError:  # not expected (depth is checked first); never a traceback
        raise SpecError("", f"not valid {fmt.upper()}: nested too deeply") from None
    except (yaml.YAMLError, ValueError, TypeError, OverflowError) as e:
        # YAMLError, JSONDecodeError, and what constructors raise on bad typed scalars
        # (a '2001-13-45' timestamp, an int of more than 4300 digits)
        raise SpecError("", f"not valid {fmt.upper()}: {_describe_error(e)}") from None


def _describe_error(e: Exception) -> str:
    """A parser's error on one line, with the line and column where it has them."""
    if isinstance(e, yaml.MarkedYAMLError):
        what = ": ".join(x for x in (e.context, e.problem) if x) or type(e).__name__
        mark = e.problem_mark or e.context_mark
        return what + (f" (line {mark.line + 1}, column {mark.column + 1})" if mark else "")
    first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return first


# ------------------------------------------------------------------ structure limits
def check_structure(data, max_nodes: int | None = MAX_NODES) -> None:
    """Walk plain data without recursion: nesting at most ``MAX_DEPTH`` lists/mappings,
    at most ``max_nodes`` nodes counting shared objects each time they occur (a cycle
    is refused by the depth limit). Raises ``SpecError`` naming the place."""
    MAX = float("inf") if max_nodes is None else max_nodes
    nodes = 0
    # (object, depth, parent entry, key or index, is a key); the path is built on error only
    stack = [(data, 0, None, None, False)]
    while stack:
        entry = stack.pop()
        obj, depth = entry[0], entry[1]
        nodes += 1
        if nodes > MAX:
            raise SpecError(_entry_path(entry), f"the spec has more than {max_nodes:,} values, lists "
                            "and mappings")
        if isinstance(obj, (Mapping, list, tuple)) and nodes + len(obj) > MAX:
            raise SpecError(_entry_path(entry), f"the spec has more than {max_nodes:,} values, lists "
                            "and mappings")
        if isinstance(obj, Mapping):
            nodes += len(obj)  # the keys
            children = [(v, depth + 1, entry, k, True) for k, v in obj.items()]
        elif isinstance(obj, (list, tuple)):
            children = [(v, depth + 1, entry, i, False) for i, v in enumerate(obj)]
        else:
            continue
        if depth + 1 > MAX_DEPTH:
            raise SpecError(_entry_path(entry), f"nesting deeper than {MAX_DEPTH} levels")
        children.reverse()
        stack.extend(children)


def _entry_path(entry) -> str:
    parts = []
    while entry is not None and entry[2] is not None:
        _, _, parent, comp, is_key = entry
        parts.append(f".{_key(comp)}" if is_key else f"[{comp}]")
        entry = parent
    return _show_path(parts[::-1])


def _show_path(parts: list[str]) -> str:
    """Components ('.key', '[i]') -> 'populations.E.params.I_e[0]', the first few only."""
    parts = [p for p in parts if p]
    if len(parts) > _PATH_SHOWN:
        parts = parts[:_PATH_SHOWN] + ["..."]
    text = "".join(parts)
    return text.removeprefix(".")


def _key(k) -> str:
    return _short(k if isinstance(k, str) else repr(k), 60)


# ------------------------------------------------------------------ YAML with limits
if getattr(yaml, "__with_libyaml__", False):  # libyaml's parser makes the events: fast
    from yaml.cyaml import CParser as _Events

    def _init_events(self, stream):
        _Events.__init__(self, stream)
else:  # pragma: no cover - PyYAML without libyaml: its own (slower) reader, scanner, parser
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _Events(Reader, Scanner, Parser):
        pass

    def _init_events(self, stream):
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)


class _LimitedComposer(Composer):
    """PyYAML's composer, counting as it goes: nodes (an alias counts as the size of its
    anchor's subtree), nesting depth (through aliases too) and the path, for errors."""

    def _start_limits(self):
        self._nodes = 0          # nodes so far, aliases expanded
        self._depth = 0          # lists/mappings enclosing the node being composed
        self._deepest = 0        # deepest level reached in the current subtree
        self._path: list[str] = []
        self._expanded = {}      # id(anchored node) -> (nodes, height); absent while composing

    def compose_node(self, parent, index):
        self._path.append(self._component(parent, index))
        try:
            if self.check_event(AliasEvent):
                return self._alias(parent, index)
            event = self.peek_event()
            container = isinstance(event, (SequenceStartEvent, MappingStartEvent))
            self._count(1, "the spec has more than {n:,} values, lists and mappings")
            if not container:
                node = super().compose_node(parent, index)
                self._deepest = max(self._deepest, self._depth)
                if event.anchor is not None:
                    self._expanded[id(node)] = (1, 0)
                return node
            if self._depth + 1 > MAX_DEPTH:
                raise SpecError(_show_path(self._path), f"nesting deeper than {MAX_DEPTH} levels")
            before, outer_deepest = self._nodes, self._deepest
            self._depth += 1
            self._deepest = self._depth
            try:
                node = super().compose_node(parent, index)
            finally:
                self._depth -= 1
            height = self._deepest - self._depth
            self._deepest = max(outer_deepest, self._deepest)
            if event.anchor is not None:
                self._expanded[id(node)] = (self._nodes - before, height)
            return node
        finally:
            self._path.pop()

    def _alias(self, parent, index):
        event = self.peek_event()
        target = self.anchors.get(event.anchor)
        if target is None:  # undefined: PyYAML's own error
            return super().compose_node(parent, index)
        if id(target) not in self._expanded:
            raise SpecError(_show_path(self._path), f"YAML alias *{_short(event.anchor, 40)} refers to a "
                            "node that contains it (recursive aliases are not allowed)")
        size, height = self._expanded[id(target)]
        self._count(size, "YAML aliases expand to more than {n:,} nodes")
        if self._depth + height > MAX_DEPTH:
            raise SpecError(_show_path(self._path), f"nesting deeper than {MAX_DEPTH} levels "
                            f"(through alias *{_short(event.anchor, 40)})")
        self._deepest = max(self._deepest, self._depth + height)
        return super().compose_node(parent, index)

    def _count(self, n, message):
        self._nodes += n
        if self._nodes > MAX_NODES:
            raise SpecError(_show_path(self._path), message.format(n=MAX_NODES))

    @staticmethod
    def _component(parent, index) -> str:
        if parent is None:
            return ""
        if isinstance(parent, SequenceNode):
            return f"[{index}]"
        if isinstance(index, ScalarNode):
            return "." + _short(index.value, 60)
        return ".(key)"  # a mapping key itself, or the value of a non-scalar key


class _LimitedLoader(_Events, _LimitedComposer, SafeConstructor, Resolver):
    """Safe YAML loader within ``MAX_NODES`` / ``MAX_DEPTH`` (libyaml's parser where
    PyYAML has it, PyYAML's safe constructors, our counting composer)."""

    # the composer's methods, not the C parser's own composer
    check_node = _LimitedComposer.check_node
    get_node = _LimitedComposer.get_node
    get_single_node = _LimitedComposer.get_single_node

    def __init__(self, stream):
        _init_events(self, stream)
        _LimitedComposer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)
        self._start_limits()


def _yaml_load(text: str, retry: bool = True):
    loader = _LimitedLoader(text)
    try:
        return loader.get_single_data()
    except yaml.YAMLError as e:
        if "maximum nesting depth" in str(e):
            raise _libyaml_too_deep(text, e, retry) from None
        raise
    finally:
        loader.dispose()


def _libyaml_too_deep(text: str, e: yaml.YAMLError, retry: bool) -> SpecError:
    """libyaml scans a flow collection ahead to its end and stops at 1000 levels, before
    the composer sees them. The text up to that point (fewer levels, composed quickly)
    gives the composer's refusal with the path; else the line and column."""
    mark = getattr(e, "problem_mark", None)
    if retry and mark is not None and 0 < mark.index < len(text):
        try:
            _yaml_load(text[:mark.index], retry=False)
        except SpecError as inner:
            if "nesting deeper" in inner.message:
                return inner
        except (yaml.YAMLError, ValueError, TypeError):  # the cut text ends mid-collection
            pass
    where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
    return SpecError("", f"nesting deeper than {MAX_DEPTH} levels{where}")


# ------------------------------------------------------------------ JSON with limits
def _json_loads(text: str):
    try:
        return json.loads(text)
    except RecursionError:  # the C decoder's recursion guard: find where it got too deep
        where = _json_deep_path(text)
        if where is None:
            raise SpecError("", f"nesting deeper than {MAX_DEPTH} levels") from None
        raise SpecError(where, f"nesting deeper than {MAX_DEPTH} levels") from None


_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}:,]')


def _json_deep_path(text: str) -> str | None:
    """The path of the first list/mapping nested deeper than ``MAX_DEPTH`` (a scan of the
    tokens that matter, no recursion), or None."""
    stack: list[list] = []  # [kind, component, index or pending key]
    key = None
    for m in _JSON_TOKEN.finditer(text):
        tok = m.group()
        if tok in "[{":
            if stack:
                top = stack[-1]
                comp = f"[{top[2]}]" if top[0] == "[" else f".{_short(key or '', 60)}"
            else:
                comp = ""
            stack.append([tok, comp, 0])
            if len(stack) > MAX_DEPTH:
                return _show_path([s[1] for s in stack[:-1]])
            key = None
        elif tok in "]}":
            if stack:
                stack.pop()
        elif tok == ",":
            if stack and stack[-1][0] == "[":
                stack[-1][2] += 1
            key = None
        elif tok == ":":
            pass
        elif stack and stack[-1][0] == "{" and key is None:
            try:
                key = json.loads(tok)
            except ValueError:
                key = tok
    return None


# ------------------------------------------------------------------ messages
def _one_line(exc: SpecError) -> SpecError:
    """The same error with a message fit for one line: control characters escaped, at
    most ``MAX_MESSAGE_CHARS`` characters (long quoted input shortened in the middle)."""
    path, message = _escape(exc.path), _escape(exc.message)
    if path == exc.path and message == exc.message and len(str(exc)) <= MAX_MESSAGE_CHARS:
        return exc
    path = _short(path, MAX_MESSAGE_CHARS // 2)
    message = _short(message, MAX_MESSAGE_CHARS - len(path) - 2)
    return SpecError(path, message)


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _escape(text: str) -> str:
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), str(text))


def _short(text, limit: int = 60) -> str:
    text = _escape(text)
    if len(text) <= limit:
        return text
    half = max(limit - 3, 2) // 2
    return text[:half] + "..." + text[len(text) - half:]


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:g} MiB" if n >= 1024 * 1024 else f"{n:,} bytes"


def _fmt(path: Path) -> str:
    return "json" if path.suffix.lower() == ".json" else "yaml"


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
