# Two entry points for a fresh machine with only Python: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DEMO   := $(VENV)/.installed-demo
DEV    := $(VENV)/.installed-dev

.PHONY: demo test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The demo needs the package and its core dependencies only; the tests need the dev extra (Dask,
# pytest, hypothesis, ruff, the page and the notebooks). Installing the dev extra covers the demo.
$(DEMO): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $(DEMO)

$(DEV): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(DEV) $(DEMO)

## Run the baseline scenario and write its report to reports/baseline/
demo: $(DEMO)
	$(BIN)/innosim run scenarios/baseline.yaml --out reports/baseline --force

## Run the default (fast) test suite: most of it on every core (pytest-xdist), then the tests that
## time signals, worker deaths or memory (marker `serial`) alone, so that load cannot skew them
test: $(DEV)
	$(BIN)/python -m pytest -q -n auto -m "not slow and not benchmark and not serial"
	$(BIN)/python -m pytest -q -m "serial and not slow and not benchmark"

lint: $(DEV)
	$(BIN)/ruff check sim tests benchmarks
	$(BIN)/ruff format --check sim tests benchmarks

## Benchmarks (docs/performance.md): full scale vs the bare Boltzmann model and a numpy floor, cost
## per agent by scale, sweep on 1 and 2 workers, a 64-run posterior ensemble; a table with the
## targets and the change against benchmarks/results/reference.json, then a profile of the step
bench: $(DEV)
	$(BIN)/python benchmarks/bench.py

clean:
	rm -rf $(VENV) reports .pytest_cache
