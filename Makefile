# Two entry points for a fresh machine with only Python: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## Run the baseline scenario and write its report to reports/baseline/
demo: $(STAMP)
	$(BIN)/innosim run scenarios/baseline.yaml --out reports/baseline --force

## Run the default (fast) test suite
test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check sim tests benchmarks
	$(BIN)/ruff format --check sim tests benchmarks

## Benchmarks: full scale vs Mesa's Boltzmann model, cost per agent by scale, sweep on 1 and 2
## workers; a table with the targets and the change against benchmarks/results/reference.json
bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py

clean:
	rm -rf $(VENV) reports .pytest_cache
