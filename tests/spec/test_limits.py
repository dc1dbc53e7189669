"""Specs are parsed with limits (issue 14): file size, YAML alias expansion, nesting depth.

A hostile or broken spec is refused quickly, with one line naming the place and exit code
2, through every door: the CLI, the Python API (``load``, ``loads``, ``from_dict``) and the
app's upload. A property-based fuzz feeds the loader mutated example specs.
"""
from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim_core import cli
from sim_core.errors import SpecError, SpikeScopeError
from sim_core.models.registry import PRESETS, load_model
from sim_core.spec import from_dict, load, loads
from sim_core.spec.io import MAX_DEPTH, MAX_NODES, MAX_SPEC_BYTES
from conftest import SHARED_SPECS, billion_laughs

ROOT = Path(__file__).resolve().parents[2]

SECONDS = 5.0  # the bound for refusing any malformed spec, start-up included


# ------------------------------------------------------------------ hostile documents
def deep_yaml(depth: int) -> str:
    return ("format: spikescope/1\nname: deep\npopulations:\n  E: {model: iaf_psc_exp, size: 10, "
            f"params: {{I_e: {'[' * depth}1.0{']' * depth}}}}}\n")


def deep_json(depth: int) -> str:
    return ('{"format": "spikescope/1", "name": "deep", "populations": {"E": {"model": '
            f'"iaf_psc_exp", "size": 10, "params": {{"I_e": {"[" * depth}1.0{"]" * depth}}}}}}}}}')


def deep_block_yaml(depth: int) -> str:
    """Block style ('- - - 1.0', compact nested sequences), which libyaml does not limit."""
    return ("format: spikescope/1\nname: deep\npopulations:\n  E:\n    model: iaf_psc_exp\n"
            f"    size: 10\n    params:\n      I_e:\n        {'- ' * depth}1.0\n")


def cli_validate(path: Path) -> tuple[subprocess.CompletedProcess, float]:
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "sim_core.cli", "validate", str(path)], cwd=ROOT,
                       capture_output=True, text=True, timeout=60)
    return p, time.perf_counter() - t0


def assert_refused(p: subprocess.CompletedProcess, seconds: float, *words: str) -> str:
    err = p.stderr
    assert p.returncode == 2, (p.returncode, err[-2000:])
    assert "Traceback" not in err
    assert err.endswith("\n") and err.count("\n") == 1, err[-2000:]
    assert err.startswith("spikescope: error: ")
    assert seconds < SECONDS, f"refused after {seconds:.1f} s"
    for w in words:
        assert w in err, err
    return err


@pytest.fixture
def write(tmp_path):
    def write(name: str, text: str | bytes) -> Path:
        path = tmp_path / name
        (path.write_bytes if isinstance(text, bytes) else path.write_text)(text)
        return path
    return write


# ------------------------------------------------------------------ the CLI
def test_billion_laughs_refused_by_the_cli(write):
    p, s = cli_validate(write("laughs.yaml", billion_laughs()))
    err = assert_refused(p, s, "aliases expand to more than", "populations.E.params.I_e")
    assert f"{MAX_NODES:,}" in err


def test_billion_laughs_refused_by_run_before_anything_is_built(write):
    path = write("laughs.yaml", billion_laughs())
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "sim_core.cli", "run", str(path), "--t-sim", "1",
                        "--no-record"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert_refused(p, time.perf_counter() - t0, "aliases expand")
    assert p.stdout == ""


@pytest.mark.parametrize("make,name", [(deep_yaml, "deep.yaml"), (deep_json, "deep.json"),
                                       (deep_block_yaml, "block.yaml")])
def test_5000_deep_nesting_refused_by_the_cli(write, make, name):
    p, s = cli_validate(write(name, make(5000)))
    assert_refused(p, s, f"nesting deeper than {MAX_DEPTH} levels", "populations.E.params.I_e")


def test_oversized_file_refused_by_the_cli(write):
    text = deep_yaml(1).replace("name: deep", "name: big\ndescription: " + "x" * MAX_SPEC_BYTES)
    p, s = cli_validate(write("big.yaml", text))
    assert_refused(p, s, "larger than the limit of 4 MiB")


def test_binary_file_refused_by_the_cli(write):
    p, s = cli_validate(write("binary.yaml", b"format: spikescope/1\nname: \xff\xfe\x00\n"))
    assert_refused(p, s, "not UTF-8")


# ------------------------------------------------------------------ the Python API
def _refused(call, *words):
    t0 = time.perf_counter()
    with pytest.raises(SpecError) as info:
        call()
    assert time.perf_counter() - t0 < SECONDS
    msg = str(info.value)
    assert "\n" not in msg and "\r" not in msg
    for w in words:
        assert w in msg, msg
    return msg


def test_api_limits_through_load_and_loads(write):
    _refused(lambda: loads(billion_laughs()), "aliases expand")
    _refused(lambda: load(write("laughs.yaml", billion_laughs())), "aliases expand")
    for depth in (65, 999, 1001, 5000, 100_000):
        _refused(lambda d=depth: loads(deep_yaml(d)), "nesting deeper", "populations.E.params.I_e")
        _refused(lambda d=depth: loads(deep_json(d), "json"), "nesting deeper", "populations.E.params.I_e")
    _refused(lambda: loads(deep_block_yaml(300)), "nesting deeper", "populations.E.params.I_e")
    _refused(lambda: loads("x" * (MAX_SPEC_BYTES + 1)), "larger than the limit")
    _refused(lambda: loads(b"\xff" * 10), "not UTF-8")


def test_limits_are_exact(write):
    # MAX_DEPTH levels of lists and mappings load (the spec then says what is wrong) ...
    _refused(lambda: loads(deep_yaml(MAX_DEPTH - 4)), "populations.E.params.I_e: got")
    _refused(lambda: loads(deep_json(MAX_DEPTH - 4), "json"), "populations.E.params.I_e: got")
    # ... one more is refused as nesting
    _refused(lambda: loads(deep_yaml(MAX_DEPTH - 3)), "nesting deeper")
    _refused(lambda: loads(deep_json(MAX_DEPTH - 3), "json"), "nesting deeper")
    # nodes: a long list loads up to the budget
    times = ", ".join(["1.0"] * (MAX_NODES - 100))
    doc = ("format: spikescope/1\nname: many\npopulations: {E: {model: iaf_psc_exp, size: 1}}\n"
           "inputs: {sg: {model: spike_generator, params: {spike_times: [" + times + "]}}}\n")
    spec = loads(doc)
    assert len(spec.inputs["sg"].params["spike_times"]) == MAX_NODES - 100
    _refused(lambda: loads(doc.replace("[1.0,", "[" + "1.0, " * 200 + "1.0,")), "more than")


def test_aliases_within_the_budget_are_fine():
    doc = ("format: spikescope/1\nname: shared\n"
           "populations:\n  E: {model: iaf_psc_exp, size: 80, params: &p {tau_m: 20.0, I_e: 100.0}}\n"
           "  I: {model: iaf_psc_exp, size: 20, params: *p}\n")
    spec = loads(doc)
    assert spec.populations["I"].params["tau_m"] == 20.0


def test_recursive_alias_refused():
    doc = "format: spikescope/1\nname: loop\npopulations: &p {E: {model: iaf_psc_exp, size: 1, params: *p}}\n"
    _refused(lambda: loads(doc), "recursive")


def test_alias_depth_counts_the_anchored_subtree():
    # 40 levels anchored, used again 40 levels deep: 80 levels once expanded
    doc = (f"format: spikescope/1\nname: d\nx: &d {'[' * 40}1{']' * 40}\n"
           f"populations: {{E: {{model: iaf_psc_exp, size: 1, params: {{I_e: {'[' * 40}*d{']' * 40}}}}}}}\n")
    _refused(lambda: loads(doc), "nesting deeper", "through alias *d")


def test_from_dict_checks_depth_nodes_and_cycles_without_recursion_error():
    deep: list = [1.0]
    for _ in range(10_000):
        deep = [deep]
    data = {"format": "spikescope/1", "name": "d",
            "populations": {"E": {"model": "iaf_psc_exp", "size": 1, "params": {"I_e": deep}}}}
    _refused(lambda: from_dict(data), "populations.E.params.I_e[0][0]", "nesting deeper")
    cycle: list = []
    cycle.append(cycle)
    data["populations"]["E"]["params"]["I_e"] = cycle
    _refused(lambda: from_dict(data), "nesting deeper")
    shared: list = [1.0] * 9
    for _ in range(8):
        shared = [shared] * 9  # a Python billion laughs: 9**9 leaves, 9*9 objects
    data["populations"]["E"]["params"]["I_e"] = shared
    _refused(lambda: from_dict(data), f"more than {MAX_NODES:,}")


def test_messages_stay_on_one_line():
    msg = _refused(lambda: loads('format: spikescope/1\nname: x\n"bad\\nkey\\rhere": 1\n'), "unknown field")
    assert "bad\\nkey\\rhere" in msg
    long_name = "y" * 100_000 + " !"  # not a valid name: the message quotes it, shortened
    msg = _refused(lambda: loads(f"format: spikescope/1\nname: '{long_name}'\n"
                                 "populations: {E: {model: iaf_psc_exp, size: 1}}\n"), "name")
    assert len(msg) <= 600


def test_typed_scalars_that_fail_to_construct_are_spec_errors():
    _refused(lambda: loads("format: spikescope/1\nname: x\nseed: 2001-13-45\n"), "not valid YAML")
    _refused(lambda: loads("format: spikescope/1\nname: x\nseed: !!int nope\n"), "not valid YAML")
    _refused(lambda: loads("format: spikescope/1\nname: x\nseed: !!python/object:os.system {}\n"),
             "not valid YAML")
    _refused(lambda: loads('{"format": "spikescope/1", "seed": 1' + "0" * 5000 + "}", "json"),
             "not valid JSON")


# ------------------------------------------------------------------ normal specs still load
@pytest.mark.parametrize("path", SHARED_SPECS, ids=lambda p: p.stem)
def test_example_specs_still_load(path):
    spec = load(path)
    assert spec.n_neurons > 0
    assert loads(path.read_bytes()).name == spec.name


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_exported_presets_still_load(tmp_path, preset):
    for suffix in ("yaml", "json"):
        out = tmp_path / f"{preset}.{suffix}"
        assert cli.main(["export", preset, "-o", str(out)]) == 0
        assert load(out).name == load_model(preset, None).name


def test_upload_goes_through_the_same_loader():
    from widgets.files import FilesPanel
    from widgets.state import SimulationState
    state = SimulationState(load(next(p for p in SHARED_SPECS if p.stem == "two_neurons")), backend="cpu")
    files = FilesPanel(state=state)
    before = state.spec
    for name, body, words in [("laughs.yaml", billion_laughs().encode(), "aliases expand"),
                              ("deep.json", deep_json(5000).encode(), "nesting deeper"),
                              ("big.yaml", b"#" * (MAX_SPEC_BYTES + 1), "larger than the limit"),
                              ("bin.yaml", b"\xff\xfe", "not UTF-8")]:
        t0 = time.perf_counter()
        files.upload.filename = name
        files.upload.value = body
        assert time.perf_counter() - t0 < 2.0
        assert files.error.visible and words in files.error.object, files.error.object
        assert files.error.object.startswith(name) and "\n" not in files.error.object
        assert state.spec is before
    state.close()


# ------------------------------------------------------------------ fuzzing
EXAMPLES = [yaml.safe_load(p.read_text()) for p in SHARED_SPECS]

HUGE = st.sampled_from([1e308, -1e308, math.inf, -math.inf, math.nan, 5e-324, 10**300, -(10**30),
                        2**63, 2**64 + 1, 0, -1, 1e-300])
SCALARS = st.one_of(HUGE, st.integers(), st.floats(allow_nan=True, allow_infinity=True),
                    st.booleans(), st.none(), st.text(max_size=30),
                    st.sampled_from(["", "all", "iaf_psc_exp", "fixed_indegree", "normal", "E", "I",
                                     "1e400", ".inf", "2001-13-45", "\x00", "a\nb", "spikescope/1"]))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=8), inner,
                                                                       max_size=4)),
                      max_leaves=12)


def _paths(node, prefix=(), seen=None):
    """Every place in a document, (path, value); a shared list or mapping (an alias, a
    bomb) is entered once only."""
    seen = set() if seen is None else seen
    yield prefix, node
    if isinstance(node, (dict, list)):
        if id(node) in seen or len(prefix) > 20:
            return
        seen.add(id(node))
        for k, v in (node.items() if isinstance(node, dict) else enumerate(node)):
            yield from _paths(v, prefix + (k,), seen)


def _copy(node):
    return json.loads(json.dumps(node))


def _set(doc, path, value):
    if not path:
        return value
    parent = doc
    for k in path[:-1]:
        parent = parent[k]
    parent[path[-1]] = value
    return doc


def _drop(doc, path):
    if path:
        parent = doc
        for k in path[:-1]:
            parent = parent[k]
        del parent[path[-1]]
    return doc


def _swap_type(v):
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, (int, float)):
        return [v] if isinstance(v, int) else str(v)
    if isinstance(v, str):
        return {v: v}
    if isinstance(v, list):
        return {str(i): x for i, x in enumerate(v)}
    if isinstance(v, dict):
        return list(v.values())
    return 0


def _nest(v, depth):
    for _ in range(depth):
        v = [v]
    return v


def _bomb(levels, fanout=9):
    node = [1.0] * fanout
    for _ in range(levels - 1):
        node = [node] * fanout  # shared: yaml.safe_dump writes anchors and aliases
    return node


@st.composite
def mutated_documents(draw):
    fmt = draw(st.sampled_from(["yaml", "json"]))
    doc = _copy(draw(st.sampled_from(EXAMPLES)))
    for _ in range(draw(st.integers(1, 3))):
        places = list(_paths(doc))
        leaves = [pv for pv in places if not isinstance(pv[1], (dict, list))]
        pick = leaves if leaves and draw(st.booleans()) else places  # numbers and names often
        path, value = pick[draw(st.integers(0, len(pick) - 1))]
        how = draw(st.sampled_from(["value", "huge", "huge", "swap", "drop", "nest", "alias", "bomb",
                                    "key"]))
        if how == "value":
            doc = _set(doc, path, draw(VALUES))
        elif how == "huge":
            doc = _set(doc, path, draw(HUGE))
        elif how == "swap":
            doc = _set(doc, path, _swap_type(value))
        elif how == "drop":
            doc = _drop(doc, path)
        elif how == "nest":
            doc = _set(doc, path, _nest(value, draw(st.sampled_from([1, 5, MAX_DEPTH, 150]))))
        elif how == "alias":  # the same object twice: an anchor and an alias in YAML
            other, _ = places[draw(st.integers(0, len(places) - 1))]
            if other[:len(path)] != path:  # not inside itself
                doc = _set(doc, other, value)
        elif how == "bomb":
            # JSON has no aliases: json.dumps writes every copy, so a small bomb only
            doc = _set(doc, path, _bomb(draw(st.integers(2, 9 if fmt == "yaml" else 4))))
        elif isinstance(value, dict):
            value[draw(st.text(max_size=10))] = draw(VALUES)
    text = _dump(doc, fmt)
    if draw(st.integers(0, 9)) == 0:  # damage the text itself
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(["", ": [", "&a ", "*a", "!!python/none ", "{", "\t",
                                                   "\x00", "- ", "'", "<<: *a\n"])) + text[at:]
    return fmt, text


def _dump(doc, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(doc, allow_nan=True)
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


@settings(max_examples=200, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(case=mutated_documents())
def test_fuzzed_specs_are_loaded_or_refused_with_one_line(fuzz_dir, case):
    fmt, text = case
    path = fuzz_dir / f"fuzzed.{fmt}"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    t0 = time.perf_counter()
    try:
        load_model(str(path), None)  # what `spikescope run/validate FILE` calls
    except SpikeScopeError as exc:
        msg = str(exc)
        assert msg and "\n" not in msg and "\r" not in msg, repr(msg)
    assert time.perf_counter() - t0 < SECONDS


EXTREMES = [1e308, -1e308, math.inf, -math.inf, math.nan, 5e-324, -5e-324, 10**300, -(10**300), 2**63, 0,
            -1, "x", None, True, [], {}, [1e308], {"dist": "normal", "mean": 1e308, "std": 1e308},
            {"dist": "lognormal", "mu": 1e308, "sigma": 1e308}, {"dist": "exponential", "beta": 5e-324},
            {"dist": "uniform", "low": -1e308, "high": 1e308}]


def test_every_field_of_the_examples_with_extreme_values():
    """Deterministic companion of the fuzz: each place in each example spec set to each
    extreme value loads or is refused with a one-line SpikeScopeError."""
    n = 0
    for doc in EXAMPLES:
        for path, _ in list(_paths(doc)):
            for value in EXTREMES if path else []:
                n += 1
                try:
                    from_dict(_set(_copy(doc), path, value))
                except SpikeScopeError as exc:
                    assert "\n" not in str(exc), (path, value, str(exc))
    assert n > 1000


def test_mutated_documents_via_the_cli_exit_2_with_one_line(write):
    base = EXAMPLES[0]
    bad = [("types.yaml", yaml.safe_dump(_set(_copy(base), ("populations",), ["E", 1]))),
           ("nan.json", json.dumps(_set(_copy(base), ("dt",), math.nan), allow_nan=True)),
           ("huge.yaml", yaml.safe_dump(_set(_copy(base), ("dt",), 1e308))),
           ("dropped.yaml", yaml.safe_dump(_drop(_copy(base), ("populations",)))),
           ("bomb.yaml", yaml.safe_dump(_set(_copy(base), ("name",), _bomb(9)))),
           ("deep.json", json.dumps(_set(_copy(base), ("name",), _nest("x", 900)))),
           ("key.yaml", yaml.safe_dump(_set(_copy(base), ("bad\nkey",), 1)))]
    for name, text in bad:
        p, s = cli_validate(write(name, text))
        assert_refused(p, s)


def test_cli_main_in_process_matches(write, capsys):
    """The in-process entry point the fuzz relies on is the CLI's own: exit code 2, one line."""
    path = write("laughs.yaml", billion_laughs())
    assert cli.main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "aliases expand" in err


@pytest.mark.parametrize("field, value, path", [
    ("dt", 1e308, "dt"), ("dt", 5e-324, "dt"),
    ("delay", 1e308, "projections[0].synapse.delay")])
def test_extreme_numbers_name_their_field(field, value, path):
    """Found by the fuzz test: round() of an infinite number of steps raised OverflowError,
    which from_dict could only report without the field's name."""
    from sim_core.errors import SpecError
    from sim_core.spec import from_dict
    data = {"format": "spikescope/1", "name": "x", "populations": {"E": {"model": "iaf_psc_exp", "size": 2}},
            "projections": [{"source": "E", "target": "E", "rule": {"rule": "all_to_all"},
                             "synapse": {"weight": 1.0, "delay": 1.0}}]}
    if field == "dt":
        data["dt"] = value
    else:
        data["projections"][0]["synapse"]["delay"] = value
    with pytest.raises(SpecError) as exc:
        from_dict(data)
    assert exc.value.path == path
