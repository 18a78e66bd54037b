# Everything a fresh machine needs: Python 3.11, pip and make. The virtualenv lives in .venv/.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint install browser clean

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

## browser: Debian's Chromium for the browser tests (tests/e2e); they are reported as skipped without it
CHROMIUM := /usr/bin/chromium
browser:
	@if [ -x $(CHROMIUM) ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then apt-get install -y chromium || (apt-get update && apt-get install -y chromium) \
		|| echo "warning: could not install chromium; the browser tests will be skipped" >&2; \
	elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then \
		sudo apt-get install -y chromium || (sudo apt-get update && sudo apt-get install -y chromium) \
		|| echo "warning: could not install chromium; the browser tests will be skipped" >&2; \
	else echo "warning: $(CHROMIUM) is missing and cannot be installed here; the browser tests will be skipped" >&2; fi

## test: lint, then the whole test suite (PostgreSQL/Redis too when BOXOFFICE_TEST_*_URL are set)
# One test process per core; a test file stays on one process (its module fixtures are built once).
TEST_WORKERS ?= auto
test: lint browser
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile

clean:
	rm -rf $(VENV) build *.egg-info
