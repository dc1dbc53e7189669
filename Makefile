# One-command setup: `make run` starts SpikeScope, `make test` runs the test suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.core: $(BIN)/activate pyproject.toml
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.test: $(VENV)/.core
	$(BIN)/pip install -q -e '.[test]'
	touch $@

.PHONY: install run test bench clean chromium
install: $(VENV)/.core

run: $(VENV)/.core  ## the exploration app on http://127.0.0.1:5006/ (default model, best backend)
	$(BIN)/spikescope serve --port 5006

test: $(VENV)/.test chromium  ## the whole suite, NEST comparisons and browser tests included
	$(BIN)/python -m pytest -q
	@echo "GPU kernels in Numba's CUDA simulator (tests that take the backend fixture):"
	NUMBA_ENABLE_CUDASIM=1 $(BIN)/python -m pytest -q tests/engine

chromium:  ## Debian's Chromium for the browser tests, installed if missing
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) \
	  || echo "could not install chromium: the ui tests will be skipped"

bench: $(VENV)/.test  ## SpikeScope vs NEST side by side (writes benchmarks/results/)
	$(BIN)/python benchmarks/bench_vs_nest.py

clean:
	rm -rf $(VENV) build *.egg-info
