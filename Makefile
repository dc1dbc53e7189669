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

.PHONY: install run test bench clean
install: $(VENV)/.core

run: $(VENV)/.core  ## the cortical microcircuit at 10 % scale, 0.5 s warm-up + 1 s
	$(BIN)/spikescope run microcircuit --scale 0.1 --t-presim 500 --t-sim 1000

test: $(VENV)/.test  ## the whole suite, NEST comparisons included
	$(BIN)/python -m pytest -q

bench: $(VENV)/.test  ## SpikeScope vs NEST side by side (writes benchmarks/results/)
	$(BIN)/python benchmarks/bench_vs_nest.py

clean:
	rm -rf $(VENV) build *.egg-info
