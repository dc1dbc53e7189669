import pathlib

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
