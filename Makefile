# Two set-up commands: `make demo` (the main job) and `make test` (the whole suite).
# Each creates a local virtual environment in .venv and installs what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test bench clean

$(BIN)/xlgpt: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.test-deps: $(BIN)/xlgpt
	$(BIN)/pip install -q -e '.[test]'
	touch $@

demo: $(BIN)/xlgpt
	$(BIN)/xlgpt predict --weights random:tiny --prompt "If today is Monday, tomorrow is"

test: $(VENV)/.test-deps
	$(BIN)/pytest -q

clean:
	rm -rf $(VENV) output/*.xlsx
