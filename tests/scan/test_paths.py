"""Spec paths for scans: resolving, setting, and one-line errors that name the path."""
import pytest

from sim_core.errors import SpecError
from sim_core.scan import get_path, grid, parse_param, parse_path, point_specs, set_path
from sim_core.spec import load
from sim_core.spec.parse import to_data

from conftest import SHARED_SPECS

SPEC = {p.stem: p for p in SHARED_SPECS}


@pytest.fixture(scope="module")
def data():
    return to_data(load(SPEC["brunel_small"]), keep_defaults=True)


def test_parse_and_get(data):
    assert parse_path("projections[2].synapse.weight") == ["projections", 2, "synapse", "weight"]
    assert parse_path("inputs.ext.params.rate") == ["inputs", "ext", "params", "rate"]
    assert get_path(data, "projections[2].synapse.weight") == -1.2
    assert get_path(data, "inputs.ext.params.rate") == 10000.0
    assert get_path(data, "dt") == 0.1  # a default, present because defaults are filled in
    assert get_path(data, "populations.E.params.I_e") is None  # unset: NEST's default


def test_set_returns_a_copy(data):
    new = set_path(data, "projections[2].synapse.weight", -2.0)
    assert get_path(new, "projections[2].synapse.weight") == -2.0
    assert get_path(data, "projections[2].synapse.weight") == -1.2
    assert get_path(set_path(data, "populations.E.params.I_e", 5.0), "populations.E.params.I_e") == 5.0


@pytest.mark.parametrize("path, words", [
    ("inputs.bgg.params.rate", "'bgg' is not in inputs; valid: ext"),
    ("ext.params.rate", "did you mean 'inputs.ext.params.rate'?"),
    ("projections[7].synapse.weight", "projections has 6 items (indices 0-5)"),
    ("projections.synapse.weight", "projections is a list: index it like projections[0]"),
    ("populations[0].size", "populations is a mapping, not a list"),
    ("dt.x", "dt is a value (0.1), it has no fields"),
    ("projections[2]..weight", "not a spec path"),
])
def test_bad_paths_name_the_path(data, path, words):
    with pytest.raises(SpecError) as err:
        set_path(data, path, 1.0)
    msg = str(err.value)
    assert msg.startswith(f"--param {path}: ") and words in msg and "\n" not in msg


def test_parse_param_and_grid():
    assert parse_param("inputs.bg.params.rate=8000,12000") == ("inputs.bg.params.rate", [8000, 12000])
    assert parse_param("projections[2].synapse.weight=[-300.5, -400]") == \
        ("projections[2].synapse.weight", [-300.5, -400])
    assert parse_param("recorders.spikes=all") == ("recorders.spikes", ["all"])
    for bad in ("rate", "=1,2", "x=", "x=1,,2"):
        with pytest.raises(SpecError):
            parse_param(bad)
    g = grid({"a": [1, 2], "b": [3, 4]})
    assert g == [{"a": 1, "b": 3}, {"a": 1, "b": 4}, {"a": 2, "b": 3}, {"a": 2, "b": 4}]


def test_point_specs_validate_each_point():
    spec = load(SPEC["brunel_small"])
    specs = point_specs(spec, [{"inputs.ext.params.rate": 8000.0, "populations.E.size": 1000}])
    assert specs[0]["inputs"]["ext"]["params"]["rate"] == 8000.0 and specs[0]["populations"]["E"]["size"] == 1000
    assert "dt" not in specs[0]  # canonical: defaults left out, as the registry hashes it
    with pytest.raises(SpecError) as err:
        point_specs(spec, [{"inputs.ext.params.rate": -1.0}])
    assert str(err.value).startswith("inputs.ext.params.rate: ") and "scan point" in str(err.value)


def test_an_index_list_sets_several_items_to_one_value(data):
    """Brunel's g: both inhibitory weights at once, one scan axis."""
    path = "projections[2,3].synapse.weight"
    assert parse_path(path) == ["projections", (2, 3), "synapse", "weight"]
    assert parse_path("projections[2, 3].synapse.weight")[1] == (2, 3)
    new = set_path(data, path, -2.5)
    assert get_path(new, path) == [-2.5, -2.5] and get_path(data, path) == [-1.2, -1.2]
    assert get_path(new, "projections[1].synapse.weight") == 0.2
    assert parse_param(f"{path}=-1,-2") == (path, [-1, -2])
    spec = point_specs(load(SPEC["brunel_small"]), [{path: -0.6}])[0]
    assert [p["synapse"]["weight"] for p in spec["projections"]] == [0.2, 0.2, -0.6, -0.6, 0.2, 0.2]
    for bad, words in (("projections[2,9].synapse.weight", "projections has 6 items"),
                       ("projections[2,2].synapse.weight", "names an item twice")):
        with pytest.raises(SpecError, match=words):
            set_path(data, bad, 1.0)
