# Leaderboard — the two commands: `make run` and `make test`. Everything else is a helper of theirs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3.13 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat backend/pyproject.toml | md5sum | cut -c1-8)
FRONTEND := frontend
NODE_STAMP := $(FRONTEND)/node_modules/.installed
UI_SOURCES := $(shell find $(FRONTEND) -path $(FRONTEND)/node_modules -prune -o -path $(FRONTEND)/.next -prune \
	-o -path $(FRONTEND)/out -prune -o -type f \( -name '*.ts' -o -name '*.tsx' -o -name '*.css' -o -name '*.json' \
	-o -name '*.mjs' -o -name '*.svg' \) -print 2>/dev/null)
HAS_UI := $(wildcard $(FRONTEND)/package.json)
PYTEST_ARGS ?=

.PHONY: help run test test-backend test-frontend lint ui ui-dev install install-ui compose-check bench clean fuzz

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(STAMP): backend/pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e 'backend[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP) ## create the venv and install the backend (editable, with dev tools)

$(NODE_STAMP): $(FRONTEND)/package-lock.json
	cd $(FRONTEND) && npm ci --no-audit --no-fund
	touch $@

install-ui: $(if $(HAS_UI),$(NODE_STAMP)) ## install the dashboard's node modules (npm ci)

$(FRONTEND)/out/index.html: $(NODE_STAMP) $(UI_SOURCES)
	cd $(FRONTEND) && npm run build
	touch $@

ui: $(if $(HAS_UI),$(FRONTEND)/out/index.html) ## build the dashboard's static export when its sources changed

run: install ui ## start Redis (embedded unless REDIS_URL), the API, scheduler, producer and dashboard
	$(BIN)/leaderboard run

ui-dev: install-ui ## run `next dev` with the API proxied (start the API with `make run` first)
	cd $(FRONTEND) && API_URL=$${API_URL:-http://127.0.0.1:8000} npm run dev

test: test-backend test-frontend ## the whole suite: backend on a real Redis, dashboard units, browser e2e

test-backend: install ui
	cd backend && ../$(BIN)/pytest $(PYTEST_ARGS)

fuzz: install ## only the schemathesis run against a live server (part of make test too); prints its counts
	cd backend && ../$(BIN)/pytest -q -s tests/test_fuzz.py

test-frontend: install-ui
ifneq ($(HAS_UI),)
	cd $(FRONTEND) && npm test
endif

lint: install ## ruff + mypy + every test module imports (and the dashboard's type check)
	$(BIN)/ruff check backend
	$(BIN)/mypy --config-file backend/pyproject.toml backend/src
	@cd backend && out=$$(../$(BIN)/pytest --collect-only -q -p no:cacheprovider 2>&1) \
		|| { echo "$$out" | tail -25; exit 1; }
ifneq ($(HAS_UI),)
	$(MAKE) install-ui && cd $(FRONTEND) && npm run lint
endif

bench: install ## throughput/latency vs this machine's ceilings -> BENCHMARKS.md (BENCH_QUICK=1: 3 s runs)
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && (apt-get install -y wrk || (apt-get update && apt-get install -y wrk)); } \
		|| { echo "make bench needs wrk: apt-get install wrk" >&2; exit 1; }
	@command -v redis-benchmark >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y redis-tools; } \
		|| echo "no redis-benchmark (apt-get install redis-tools): the Redis ceiling will be skipped" >&2
	$(BIN)/pip install -q -e 'backend[bench]'
	$(BIN)/python -m bench

compose-check: ## validate docker-compose.yml (docker-compose v1 validates without an engine)
	@if command -v docker-compose >/dev/null; then docker-compose -f docker-compose.yml config -q && echo "compose: ok"; \
	elif docker compose version >/dev/null 2>&1; then docker compose -f docker-compose.yml config -q && echo "compose: ok"; \
	else echo "compose-check: neither docker-compose nor docker compose is installed" >&2; exit 1; fi

clean: ## remove build output (keeps data/)
	rm -rf $(FRONTEND)/out $(FRONTEND)/.next backend/.pytest_cache
