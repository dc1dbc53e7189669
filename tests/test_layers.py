"""The import direction that docs/architecture.md claims: each layer of sim_core imports
only layers below it (or itself), and only the named layers import Numba, numba-cuda or
CuPy. Read from the source (every import statement, function-level ones included)."""
import ast
import pathlib

import sim_core

ROOT = pathlib.Path(sim_core.__file__).parent
LAYERS = [  # bottom up; one line = one layer
    {"errors"}, {"spec"}, {"analysis"}, {"random"}, {"connectivity"}, {"network"}, {"lfp"}, {"backends"},
    {"engine"}, {"models"}, {"io"}, {"scan"}, {"benchmark"}, {"cli", "commands"},
]
NUMBA_USERS = {"random", "connectivity", "backends"}  # compiled kernels live only here
CUDA_USERS = {"backends"}  # numba.cuda / cupy: the GPU backend only (scan asks CuPy for the GPU count)


def _imports():
    for f in ROOT.rglob("*.py"):
        rel = f.relative_to(ROOT).parts
        pkg = rel[0].removesuffix(".py")
        here = ["sim_core", *[p.removesuffix(".py") for p in rel]]
        if here[-1] == "__init__":
            here = here[:-1] + ["__init__"]
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = here[: len(here) - node.level] if node.level else []
                yield f, pkg, base + (node.module.split(".") if node.module else [])
            elif isinstance(node, ast.Import):
                for a in node.names:
                    yield f, pkg, a.name.split(".")


def _layer(pkg):
    return next(i for i, names in enumerate(LAYERS) if pkg in names)


def test_imports_run_down_the_layers():
    wrong = []
    for f, pkg, target in _imports():
        if target[:1] == ["sim_core"] and len(target) > 1 and target[1] != "__init__":
            if _layer(target[1]) > _layer(pkg):
                wrong.append(f"{f.relative_to(ROOT)} imports sim_core.{target[1]}")
    assert not wrong, "imports running up the layers:\n" + "\n".join(wrong)


def test_only_kernel_layers_import_numba_and_only_the_gpu_backend_cuda():
    wrong = []
    for f, pkg, target in _imports():
        top = target[0] if target else ""
        if top == "numba" and pkg not in NUMBA_USERS:
            wrong.append(f"{f.relative_to(ROOT)} imports numba")
        if (top == "cupy" or target[:2] == ["numba", "cuda"]) and pkg not in CUDA_USERS | {"scan"}:
            wrong.append(f"{f.relative_to(ROOT)} imports {'.'.join(target[:2])}")
        if (top == "cupy" or target[:2] == ["numba", "cuda"]) and pkg == "backends":
            assert "gpu" in f.relative_to(ROOT).parts, f"{f}: CUDA outside backends/gpu"
    assert not wrong, "\n".join(wrong)
