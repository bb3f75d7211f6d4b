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
# Parallel on every core (pytest-xdist), a database and a Redis database per worker.
TEST_WORKERS ?= auto

.PHONY: install run test lint check openapi bench clean distclean contract contract-diff \
	contract-baseline contract-lint fuzz ts-check ts-example py-client-check monitoring-check deploy-check \
	ha-drill

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q -c constraints.txt -e '.[dev]'
	@touch $@

# exec: make forwards SIGTERM to its child, so the supervisor must be that child.
run: install
	HOST='$(HOST)' PORT='$(PORT)' exec $(BIN)/python -m mediation_dev.run \
		$(if $(filter 1 true yes,$(DEMO)),--demo)

test: install
	$(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

check: install
	$(BIN)/mediation check-migrations
	$(BIN)/pytest -q tests/test_openapi.py

# The Helm chart (deploy/helm) rendered and validated against the Kubernetes schemas, offline.
deploy-check: install
	tools/deploy_check.sh

# The document is built by the API package (the shared package imports no service).
openapi: install
	$(BIN)/python -m mediation_api.openapi > openapi.json.tmp || { rm -f openapi.json.tmp; exit 1; }
	mv openapi.json.tmp openapi.json

# The contract (tests/contract): quality rules and the breaking-change check, fast.
contract: install
	$(BIN)/pytest -q tests/contract/test_quality.py tests/contract/test_breaking.py

# Breaking changes of the served contract against the last release and the previous commit.
contract-diff: install
	$(BIN)/python -m tests.contract.breaking

# At a release (see docs/contract-changelog.md): the committed contract becomes the baseline.
contract-baseline: openapi
	mkdir -p contract && cp openapi.json contract/baseline.json

# Quality defects of the contract, with the file that defines each route or schema; then
# Spectral (spectral:oas + OWASP) and Redocly (recommended) as integrators run them, with the
# rulesets of contract/lint (each rule switched off says why): zero errors. npm packages
# pinned in contract/lint/package-lock.json.
contract-lint: install
	$(BIN)/python -m tests.contract.quality
	cd contract/lint && npm ci --no-audit --no-fund --loglevel=error && npm run --silent spectral \
		&& npm run --silent redocly

# The long fuzz run (CI runs a short deterministic one inside `make test`).
FUZZ_EXAMPLES ?= 100
fuzz: install
	CONTRACT_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) CONTRACT_FUZZ_SEED=$${CONTRACT_FUZZ_SEED:-random} \
		CONTRACT_FUZZ_REPORT=1 $(BIN)/pytest -q -s tests/contract/test_fuzz.py $(PYTEST_ARGS)

# Alert rules: syntax and their unit tests (promtool: Debian's `prometheus` package). The
# dashboard and the rules' metric names are checked against /metrics by tests/test_monitoring.py.
monitoring-check:
	@command -v promtool >/dev/null || { echo "promtool not found: apt-get install prometheus"; exit 1; }
	promtool check rules deploy/monitoring/alerts.yml
	cd deploy/monitoring && promtool test rules alerts.test.yml

# The Python client generated from openapi.json (openapi-python-client) passes mypy --strict.
py-client-check:
	clients/python/check.sh

# TypeScript types generated from openapi.json, and the typed example, compile.
ts-check:
	cd clients/typescript && npm ci --no-audit --no-fund && npm run ts-check

# The typed example run for real against an API with the demo accounts (`make run DEMO=1`):
# signs in, registers a case idempotently, pages the list, accepts it, books a session,
# opens a case from a hotline call. BASE_URL defaults to make run's.
BASE_URL ?= http://$(HOST):$(PORT)
ts-example: ts-check
	cd clients/typescript && npx tsc -p tsconfig.json --noEmit false --outDir .run \
		&& node run-example.mjs '$(BASE_URL)'

bench: install
	@if [ -f bench/run.sh ]; then bash bench/run.sh; else echo "bench/run.sh not present: nothing to run"; fi

clean:
	rm -rf build dist .pytest_cache .ruff_cache openapi.json.tmp
	find . \( -path ./.venv -o -path ./.data -o -path ./.git \) -prune -o \
		-name __pycache__ -type d -prune -exec rm -rf {} +

# Also the virtualenv and the embedded databases (stopped first).
distclean: clean
	@if [ -x $(BIN)/python ] && [ -d .data ]; then $(BIN)/python -m mediation_dev.services stop || true; fi
	rm -rf $(VENV) .data

# The HA drill (issue 21, tools/ha_drill): etcd + Patroni, PgBouncer, Redis + Sentinels,
# HAProxy, two API processes and two workers on this machine, parts killed under load.
# HA_DRILL=short (a few minutes, CI) or HA_DRILL=long. Installs the Debian packages if missing.
HA_DRILL ?= short
ha-drill: install
	HA_DRILL='$(HA_DRILL)' PYTHONPATH=tools $(BIN)/python -m ha_drill
