"""Every notebook in notebooks/ runs top to bottom (the teaching material stays true).

Notebooks are found by globbing, so new ones are picked up without editing this file. They
run with a ``python3`` kernel of *this* interpreter: a kernelspec is written into a
temporary directory that is put first on JUPYTER_PATH, so a kernel of another Python on the
machine is never used.
"""
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
TIMEOUT_S = 300  # per cell


@pytest.fixture(scope="module")
def kernel_env(tmp_path_factory):
    from ipykernel.kernelspec import install
    prefix = tmp_path_factory.mktemp("kernel")
    install(kernel_name="python3", prefix=str(prefix))  # argv[0] is sys.executable
    mp = pytest.MonkeyPatch()
    mp.setenv("JUPYTER_PATH", str(prefix / "share" / "jupyter"))
    mp.setenv("MPLBACKEND", "Agg")
    mp.setenv("SPIKESCOPE_REGISTRY", "off")  # notebooks' runs stay out of the user's run registry
    mp.setenv("SPIKESCOPE_NOTEBOOK_SHORT", "1")  # long studies (a map learning for 60 s) run a short version
    yield
    mp.undo()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path, kernel_env):
    import nbformat
    from jupyter_client.kernelspec import KernelSpecManager
    from nbclient import NotebookClient
    spec = KernelSpecManager().get_kernel_spec("python3")
    assert spec.argv[0] == sys.executable
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=TIMEOUT_S, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()  # raises CellExecutionError with the failing cell and its traceback
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors


def test_notebooks_are_found():
    assert any(p.stem == "weight-resolution" for p in NOTEBOOKS)
