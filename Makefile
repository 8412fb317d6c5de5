# CodeVoice developer commands. `make dev` runs the whole stack locally; `make test` runs every check.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: dev test lint typecheck pytest venv browser-deps migrate lock clean services bench livekit-server web

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

venv: $(STAMP)

BROWSER_STAMP := tests/browser/node_modules/.installed
$(BROWSER_STAMP): tests/browser/package.json tests/browser/package-lock.json
	npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error
	touch $(BROWSER_STAMP)

browser-deps: $(BROWSER_STAMP)

## The web app (web/), served by the control plane at /. Its API types are generated from the OpenAPI document
## (scripts/openapi.py, so the control plane's sources count), then `npm run build` writes web/dist.
WEB_DEPS := web/node_modules/.installed
WEB_SOURCES := $(shell find web/src web/public web/scripts -type f ! -name schema.d.ts 2>/dev/null) \
  web/index.html web/vite.config.ts web/tsconfig.json web/eslint.config.js
$(WEB_DEPS): web/package.json web/package-lock.json
	npm ci --prefix web --no-audit --no-fund --loglevel=error
	touch $(WEB_DEPS)

web/dist/index.html: $(STAMP) $(WEB_DEPS) $(WEB_SOURCES) scripts/openapi.py $(shell find control_plane -name '*.py')
	npm run --prefix web --silent build
	touch web/dist/index.html

web: web/dist/index.html

## The pinned livekit-server in .tools/bin (the version is pinned in scripts/livekit-server.sh). Built with
## `go install` (Go's module and build caches are reused), or linked from PATH when that one is the pinned
## version. Skipped by `make dev` when LIVEKIT_URL points at another machine (LiveKit Cloud, say).
LIVEKIT_SERVER := .tools/bin/livekit-server
$(LIVEKIT_SERVER): scripts/livekit-server.sh
	bash scripts/livekit-server.sh
	touch -h $(LIVEKIT_SERVER)

livekit-server: $(LIVEKIT_SERVER)

## Start Postgres and Redis when they are down (no-op when they run).
services:
	bash scripts/services.sh

## Run the control plane, the agent worker and the queue workers with development settings.
dev: $(STAMP) web/dist/index.html services
	@case "$${LIVEKIT_URL:-ws://127.0.0.1:7880}" in \
	  *://127.0.0.1[:/]*|*://127.0.0.1|*://localhost[:/]*|*://localhost|*://\[::1\]*) \
	    $(MAKE) --no-print-directory livekit-server \
	      || echo "make dev: no livekit-server installed; devstack uses one already listening at LIVEKIT_URL, or stops" ;; \
	esac
	CODEVOICE_ENV=dev $(BIN)/python -m control_plane.devstack

## Lint, type-check and run the whole test suite.
test: $(STAMP) $(BROWSER_STAMP) web/dist/index.html $(LIVEKIT_SERVER) services lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest

migrate: $(STAMP)
	CODEVOICE_ENV=dev $(BIN)/codevoice db upgrade

## Benchmarks print throughput, ratios and percentiles; they are not tests. The WebRTC one needs root.
bench: $(STAMP) $(LIVEKIT_SERVER) services
	$(BIN)/python bench/token_endpoint.py
	$(BIN)/python bench/summary_throughput.py
	$(BIN)/python bench/agent_latency.py
	$(BIN)/python bench/agent_webrtc.py

lock:
	$(PYTHON) -m venv /tmp/codevoice-lock && /tmp/codevoice-lock/bin/pip install --quiet -e ".[dev]" \
	  && /tmp/codevoice-lock/bin/pip freeze --exclude-editable | sort -f > constraints.txt.new \
	  && mv constraints.txt.new constraints.txt

clean:
	rm -rf $(VENV) .tools .mypy_cache .ruff_cache .pytest_cache tests/browser/node_modules web/node_modules web/dist
