# The two commands of a new user (see README.md):
#   make serve   set up, then start the gateway on embedded defaults
#   make test    set up, then run the whole test suite
# `make setup` alone installs into .venv; `make lint` runs ruff, mypy and lint-imports.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup serve test lint bench clean

setup: $(STAMP)

# torch is pinned and installed first: 2.13.0 is the CPU build on this machine's disk,
# while an unpinned torch (asked for by any later package) would pull a multi-GB CUDA build.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

serve: setup
	HF_HUB_OFFLINE=1 $(BIN)/guardrail serve $(ARGS)

test: setup
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: setup
	$(BIN)/python benchmarks/http_load.py $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info guardrail.db*
