# Developer entry points. Needs only Python 3.11: `make run` embeds PostgreSQL and Redis
# (data in ./.data) unless DATABASE_URL / REDIS_URL are set.
#
#   make run [DEMO=1] [HOST=0.0.0.0] [PORT=8000]
#   make test [PYTEST_ARGS='-k cases -x']

SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 2>/dev/null || echo python3)
VENV := .venv
BIN := $(VENV)/bin
# Re-installs only when the dependency declarations change.
STAMP := $(VENV)/.install-stamp

HOST ?= 127.0.0.1
PORT ?= 8000
DEMO ?=
PYTEST_ARGS ?=

.PHONY: install run test lint check openapi bench clean distclean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q -c constraints.txt -e '.[dev]'
	@touch $@

# exec: make forwards SIGTERM to its child, so the supervisor must be that child.
run: install
	HOST='$(HOST)' PORT='$(PORT)' exec $(BIN)/python -m mediation.devrun \
		$(if $(filter 1 true yes,$(DEMO)),--demo)

test: install
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

check: install
	$(BIN)/mediation check-migrations
	$(BIN)/pytest -q tests/test_openapi.py

# The document is built by the API package (the shared package imports no service).
openapi: install
	$(BIN)/python -m mediation_api.openapi > openapi.json.tmp || { rm -f openapi.json.tmp; exit 1; }
	mv openapi.json.tmp openapi.json

bench: install
	@if [ -f bench/run.sh ]; then bash bench/run.sh; else echo "bench/run.sh not present: nothing to run"; fi

clean:
	rm -rf build dist .pytest_cache .ruff_cache openapi.json.tmp
	find . \( -path ./.venv -o -path ./.data -o -path ./.git \) -prune -o \
		-name __pycache__ -type d -prune -exec rm -rf {} +

# Also the virtualenv and the embedded databases (stopped first).
distclean: clean
	@if [ -x $(BIN)/python ] && [ -d .data ]; then $(BIN)/python -m mediation.devservices stop || true; fi
	rm -rf $(VENV) .data
