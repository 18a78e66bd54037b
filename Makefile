# Everything a fresh machine needs: Python 3.11, pip and make. The virtualenv lives in .venv/.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint install clean

$(BIN)/.installed: pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

install: $(BIN)/.installed

## run: the server with demo data, on the embedded default (SQLite under ./data/, jobs in-process)
run: install
	$(BIN)/boxoffice serve

## lint: ruff, as CI runs it
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## test: lint, then the whole test suite (PostgreSQL/Redis too when BOXOFFICE_TEST_*_URL are set)
test: lint
	$(BIN)/pytest

clean:
	rm -rf $(VENV) build *.egg-info
