import os
import pathlib
import shutil

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
SHARED_SPECS = sorted((ROOT.parent / "shared" / "specs").glob("*.yaml"))
if not SHARED_SPECS:  # CI clones the repo with shared/ beside it; keep a copy as fallback
    SHARED_SPECS = sorted((ROOT / "tests" / "data" / "specs").glob("*.yaml"))


@pytest.fixture(params=SHARED_SPECS, ids=lambda p: p.stem)
def shared_spec_path(request):
    return request.param


@pytest.fixture(autouse=True)
def _registry_home(tmp_path_factory, monkeypatch):
    """Runs are recorded in the run registry under $SPIKESCOPE_HOME: never the real home
    from the tests (subprocesses inherit the variable)."""
    home = tmp_path_factory.mktemp("spikescope-home")
    monkeypatch.setenv("SPIKESCOPE_HOME", str(home))
    return home


SIMULATOR = os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0")


def _backends():
    """cpu in the main test process (plus gpu where a real GPU is); gpu alone in the
    process that runs the GPU kernels in Numba's CUDA simulator (`make test` starts it)."""
    if SIMULATOR:
        return ["gpu"]
    from sim_core.backends import gpu_available
    return ["cpu", "gpu"] if gpu_available() else ["cpu"]


@pytest.fixture(params=_backends())
def backend(request):
    return request.param


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"  # Debian's, for the browser tests


def pytest_collection_modifyitems(config, items):
    """In the simulator process only the tests that take the `backend` fixture run (small
    networks; the simulator runs about 20 ms per step). Browser tests are skipped where
    Chromium is missing."""
    if not os.path.exists(CHROMIUM):
        no_browser = pytest.mark.skip(reason="Debian's chromium is not installed (make test installs it)")
        for item in items:
            if "browser" in getattr(item, "fixturenames", ()):
                item.add_marker(no_browser)
    if not SIMULATOR:
        return
    skip = pytest.mark.skip(reason="CPU-only test: runs in the main test process")
    for item in items:
        if "backend" not in getattr(item, "fixturenames", ()):
            item.add_marker(skip)


@pytest.fixture(scope="module")
def browser():
    """Chromium driven by Playwright, one per test module."""
    sync_api = pytest.importorskip("playwright.sync_api")
    from app.launch import CHROMIUM_ARGS
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


def billion_laughs(levels: int = 9, fanout: int = 9) -> str:
    """Nine levels of nine aliases in one parameter: 9**9 (387 million) leaves expanded."""
    anchors = [f"&a0 [{', '.join(['1.0'] * fanout)}]"]
    anchors += [f"&a{i} [{', '.join([f'*a{i - 1}'] * fanout)}]" for i in range(1, levels)]
    return ("format: spikescope/1\nname: laughs\npopulations:\n  E:\n    model: iaf_psc_exp\n"
            f"    size: 10\n    params:\n      I_e: [{', '.join(anchors)}]\n")


@pytest.fixture(scope="module")
def server():
    """The app served on a free port (CPU backend), one per test module: its URL. (Here,
    not in tests/ui/conftest.py: a second conftest module would shadow this one for
    ``from conftest import ...``.)"""
    from app.launch import running_app
    with running_app(backend="cpu") as url:
        yield url
