# Two set-up commands: `make demo` (the main job) and `make test` (the whole suite).
# Each creates a local virtual environment in .venv and installs what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test test-heavy bench clean

# setup.py and the C source too: the compiled loops (xlgpt/xlsx/_speedups.c) are built by the install
$(BIN)/xlgpt: pyproject.toml setup.py xlgpt/xlsx/_speedups.c
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.test-deps: $(BIN)/xlgpt
	$(BIN)/pip install -q -e '.[test]'
	touch $@

WEIGHTS ?= random:tiny

demo: $(BIN)/xlgpt
	$(BIN)/xlgpt build --weights $(WEIGHTS) --out output/demo.xlsx --force

test: $(VENV)/.test-deps
	$(BIN)/pytest -q -n auto --dist worksteal

test-heavy: $(VENV)/.test-deps
	$(BIN)/pytest -q -n auto --dist worksteal -m heavy

bench: $(BIN)/xlgpt
	$(BIN)/python benchmarks/bench_build.py

clean:
	rm -rf $(VENV) output/*.xlsx
