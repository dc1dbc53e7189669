"""`spikescope export --format yaml|json|nest|sonata|svg`: formats by name and by suffix."""
import subprocess
import sys

import pytest

from conftest import SHARED_SPECS

SPEC = {p.stem: p for p in SHARED_SPECS}


def export(*args):
    return subprocess.run([sys.executable, "-m", "sim_core.cli", "export", *map(str, args)], capture_output=True,
                          text=True, timeout=120)


def test_svg_export(tmp_path):
    pytest.importorskip("widgets.notation")
    res = export(SPEC["brunel_small"], "-o", tmp_path / "net.svg")  # format from the suffix
    assert res.returncode == 0, res.stderr
    text = (tmp_path / "net.svg").read_text()
    assert text.lstrip().startswith("<svg") and "brunel-small" in text
    assert export(SPEC["brunel_small"], "--format", "svg", "-o", tmp_path / "x").returncode == 0


def test_sonata_export_writes_the_configs(tmp_path):
    res = export("brunel", "--scale", "0.1", "--format", "sonata", "-o", tmp_path / "net")
    assert res.returncode == 0, res.stderr
    assert "nest.SonataNetwork" in res.stderr
    for name in ("circuit_config.json", "simulation_config.json", "network/nodes.h5", "network/edges.h5",
                 "network/inputs.h5", "network/node_types.csv", "network/edge_types.csv"):
        assert (tmp_path / "net" / name).exists(), name


def test_unknown_format_is_one_line():
    res = export(SPEC["two_neurons"], "--format", "gif", "-o", "-")
    assert res.returncode == 2
    assert res.stderr.strip() == ("spikescope: error: --format: 'gif' is not valid; expected one of "
                                  "json, nest, sonata, svg, yaml")
