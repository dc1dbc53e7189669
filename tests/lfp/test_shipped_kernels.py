"""The LFP kernels shipped in sim_core/lfp/data/pd_kernels.npz (scripts/lfp_kernels.py).

(a) always: the file's layout and metadata, that it was computed by the current script
(sha256), and physical sanity checks.  (b) only where LFPykernels is installed (the
``lfp-kernels`` extra): two pathways recomputed through the script's functions match.
"""
import hashlib
import importlib.util
import pathlib

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
KERNELS = ROOT / "sim_core" / "lfp" / "data" / "pd_kernels.npz"
SCRIPT = ROOT / "scripts" / "lfp_kernels.py"
TARGETS = ["L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I"]
SOURCES = TARGETS + ["TC"]


@pytest.fixture(scope="module")
def kern():
    with np.load(KERNELS, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def test_layout_and_metadata(kern):
    assert list(kern["targets"]) == TARGETS
    assert list(kern["sources"]) == SOURCES
    z, r, dt, h = kern["depths_mm"], kern["offsets_mm"], kern["dt_ms"], kern["h"]
    assert z.dtype == np.float64 and r.dtype == np.float64 and dt.dtype == np.float64
    for depth in (0.0, -0.4, -0.8, -1.2):
        assert np.isclose(z, depth).any(), depth
    assert r[0] == 0.0 and np.all(np.diff(r) > 0) and r[-1] >= 3.0
    assert dt.shape == () and 0 < float(dt) <= 0.25
    assert h.dtype == np.float32
    assert h.shape[:4] == (len(TARGETS), len(SOURCES), z.size, r.size)
    assert h.shape[4] * float(dt) >= 20.0
    assert np.isfinite(h).all()
    assert float(kern["sigma_S_per_m"]) == 0.3
    assert str(kern["units"]) == "mV per pA pulse of length dt_ms"
    assert str(kern["lfpykernels_version"]) == "0.2.0"
    assert str(kern["lfpy_version"]) == "2.3.7"
    assert str(kern["neuron_version"]).startswith("9.0.2")
    assert len(str(kern["description"])) > 200
    assert KERNELS.stat().st_size < 3.5e6


def test_computed_by_the_current_script(kern):
    """Editing scripts/lfp_kernels.py without recomputing the kernels fails here."""
    assert str(kern["script_sha256"]) == hashlib.sha256(SCRIPT.read_bytes()).hexdigest()


def test_pathways_without_synapses_are_zero(kern):
    h, has = kern["h"], kern["has_synapses"]
    assert has.shape == (len(TARGETS), len(SOURCES)) and has.dtype == bool
    assert np.all(h[~has] == 0)
    peak = np.abs(h).max(axis=(2, 3, 4))
    assert np.all(peak[has] > 0)
    assert has.sum() >= 60          # Binzegger's table leaves only a few pathways empty


def test_potential_falls_off_with_lateral_offset(kern):
    h, has, r = kern["h"], kern["has_synapses"], kern["offsets_mm"]
    near = np.abs(h[:, :, :, r <= 0.2]).max(axis=(2, 3, 4))
    far = np.abs(h[:, :, :, np.isclose(r, 3.0)]).max(axis=(2, 3, 4))
    mid = np.abs(h[:, :, :, np.isclose(r, 1.5)]).max(axis=(2, 3, 4))
    assert np.all(far[has] < 0.05 * near[has])
    # membrane currents sum to zero: no monopole, so far away the potential falls off
    # faster than 1/r (a net current would give far/mid ~ 0.5)
    assert np.all(far[has] < 0.35 * mid[has])


def test_response_decays_in_time(kern):
    h, has = kern["h"], kern["has_synapses"]
    a = np.abs(h).max(axis=(2, 3))                  # (Y, X, k)
    peak = a.max(axis=-1)
    n = a.shape[-1]
    tail = a[..., -max(1, n // 10):].max(axis=-1)
    assert np.all(tail[has] < 0.01 * peak[has])
    # the peak comes early (synaptic current of one bin, passive cell)
    assert np.all(a.argmax(axis=-1)[has] * float(kern["dt_ms"]) < 5.0)


def test_recomputed_pathways_match(kern):
    pytest.importorskip("lfpykernels")
    pytest.importorskip("LFPy")
    spec = importlib.util.spec_from_file_location("lfp_kernels_script", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    pathways = [("L23E", "L4E"), ("L4I", "TC")]     # (target, source)
    res = mod.compute_kernels(pathways, log=lambda *a: None)
    for Y, X in pathways:
        ref = kern["h"][TARGETS.index(Y), SOURCES.index(X)]
        new = res["h"][(Y, X)].astype(np.float32)
        np.testing.assert_allclose(new, ref, rtol=1e-5, atol=1e-5 * np.abs(ref).max())
