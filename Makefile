# gridbot: every entry point a user or CI needs. Only Python 3.11+ and make are assumed;
# uv is bootstrapped into the project's virtualenv when it is not on PATH.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(shell command -v uv 2>/dev/null || echo $(BIN)/uv)
STAMP := $(VENV)/.synced
export PYTHONHASHSEED := 0

.PHONY: help setup demo test bench lint lock clean dagster

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "gridbot needs Python 3.11+"'
	$(PYTHON) -m venv $(VENV)

$(BIN)/uv: | $(BIN)/python
	@command -v uv >/dev/null 2>&1 || $(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.8

$(STAMP): requirements.lock pyproject.toml | $(BIN)/python $(BIN)/uv
	$(UV) pip sync --python $(BIN)/python requirements.lock
	$(UV) pip install --python $(BIN)/python --no-deps -e .
	@touch $(STAMP)

setup: $(STAMP) ## create .venv and install the locked dependencies

demo: $(STAMP) ## run the demo on the embedded defaults
	$(BIN)/gridbot demo

test: $(STAMP) ## run the whole test suite (the solo tests alone, after the others)
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q -m "not solo"
	$(BIN)/python -m pytest -q -m solo

bench: $(STAMP) ## print one JSON line per benchmark
	$(BIN)/python -m benchmarks

lint: $(STAMP) ## ruff over the project
	$(BIN)/ruff check gridcore daemons gridbot_pipelines tests benchmarks

dagster: $(STAMP) ## the Dagster UI on this project (runs stored in PostgreSQL)
	$(BIN)/gridbot db migrate
	$(BIN)/gridbot dagster

lock: ## re-pin requirements.lock from pyproject.toml (no download addresses recorded)
	$(UV) pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes -o requirements.lock

clean: ## remove the virtualenv and caches
	rm -rf $(VENV) .pytest_cache .hypothesis
