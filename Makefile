# The two commands of a new user (see README.md):
#   make serve   set up the runtime, then start the gateway on embedded defaults
#   make test    set up the runtime and the dev extras, then run the whole test suite
# `make setup` installs the dev set into .venv (`make runtime`: the runtime set only);
# `make lint` runs ruff, mypy and lint-imports; `make reset` deletes what `make serve`
# kept in this folder (the state and the audit log), `make clean` that and the venv.
# `make serve ARGS="--config guardrail.yaml"` passes options to `guardrail serve`.
#
# One venv, two stamps. `make serve` installs the runtime dependencies only (`-e .`: no
# pytest, selenium, schemathesis, mypy or scikit-learn); `make test` (and lint, bench)
# add the `dev` extra, which includes `train`, to the same venv. A serve after a test
# reuses the bigger venv as it is; a test after a serve installs only what the extras
# add. Two venvs would be purer but would hold torch, spaCy and the models twice
# (about 1.5 GB) for anyone who runs both; an operator who only serves gets the small one.
# The container image (Dockerfile) installs the runtime set the same way.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.installed-runtime
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: runtime setup serve test lint bench reset clean

runtime: $(RUNTIME_STAMP)

setup: $(DEV_STAMP)

# torch is pinned and installed first: 2.13.0 is the CPU build on this machine's disk,
# while an unpinned torch (asked for by any later package) would pull a multi-GB CUDA build.
$(RUNTIME_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e .
	touch $(RUNTIME_STAMP)

# The dev extra on top of the runtime set (torch is already pinned by then).
$(DEV_STAMP): $(RUNTIME_STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(DEV_STAMP)

serve: runtime
	HF_HUB_OFFLINE=1 $(BIN)/guardrail serve $(ARGS)

test: setup
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# The benchmark starts its gateways with the tests' helpers (tests/gateways.py).
bench: setup
	$(BIN)/python benchmarks/http_load.py $(ARGS)

# The first-run files only: a configured db, audit_db or audit_url is left alone.
reset:
	rm -f guardrail.db guardrail.db-wal guardrail.db-shm
	rm -f guardrail-audit.db guardrail-audit.db-wal guardrail-audit.db-shm

clean: reset
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
