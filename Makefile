# Cloud Chat — the commands a developer runs. `make help` lists them.
SHELL := /bin/bash
CARGO ?= cargo

.PHONY: help run test test-rust test-web lint asyncapi fmt web-build e2e-web e2e-deploy abuse deploy-check autobahn schemathesis bench bench-search clean-test-dbs

help: ## this list
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

run: ## start Cloud Chat on http://localhost:8080: one process, SQLite under ./data
	@if command -v npm >/dev/null; then $(MAKE) --no-print-directory web-build; \
	else echo "npm not found: serving the API without the web app (install Node.js 20 to get it)"; fi
	$(CARGO) run --release -p cloudchat

test: test-rust test-web ## every test: Rust on SQLite and PostgreSQL, then the SPA's unit tests

test-rust: ## Rust unit and integration tests (needs PostgreSQL on 127.0.0.1:5432 and Redis; installs the Python test peers)
	TEST_PEERS_PYTHON="$$(bash scripts/test-peers.sh)" $(CARGO) test --workspace

test-web: web/node_modules ## the SPA's unit tests (Vitest)
	cd web && npm test

web/node_modules: web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	@touch web/node_modules

web-build: web/node_modules ## build the SPA into web/dist
	cd web && npm run build

e2e-web: ## the SPA in Debian's Chromium against the real quick-start server (needs chromium)
	bash scripts/e2e-web.sh

lint: ## rustfmt check, clippy with warnings as errors, the SPA's type check
	$(CARGO) fmt --all --check
	$(CARGO) clippy --all-targets --workspace -- -D warnings

asyncapi: tools/asyncapi/node_modules ## check docs/asyncapi.yaml: AsyncAPI parser diagnostics, every example against its schema
	node tools/asyncapi/check.mjs

tools/asyncapi/node_modules: tools/asyncapi/package-lock.json
	cd tools/asyncapi && npm ci --no-audit --no-fund
	@touch tools/asyncapi/node_modules

fmt: ## format the Rust code
	$(CARGO) fmt --all

e2e-deploy: ## real nginx in front of real services (PostgreSQL, Redis, two relays), then the SPA through it
	bash scripts/e2e-deploy.sh

abuse: ## the abuse suite: attacks on the quick start and the PostgreSQL stack behind nginx (docs/abuse.md)
	bash scripts/abuse.sh

deploy-check: ## nginx -t and a live nginx routing test, compose and k8s schemas, Dockerfile lint
	bash scripts/deploy-check.sh

schemathesis: ## Schemathesis (every check, every phase) against auth-service and chat-service; fails on any failure (installs PyPI schemathesis)
	bash scripts/schemathesis.sh

autobahn: ## the Autobahn WebSocket cases (1-7, 10) against the relay's frame handling (installs PyPI kosoku)
	bash scripts/autobahn.sh

bench: ## benchmarks: starts the stacks, runs crates/loadgen, writes docs/benchmarks.{md,json} (BENCH_QUICK=1: ~3-5 min)
	bash scripts/bench.sh

bench-search: ## search benchmark only: 1,000,000 messages in 1,000 rooms on PostgreSQL and SQLite; writes docs/benchmarks-search.{md,json}
	BENCH_ONLY=search bash scripts/bench.sh

clean-test-dbs: ## drop the PostgreSQL databases tests left behind
	psql -h 127.0.0.1 -U postgres -Atc "SELECT 'DROP DATABASE ' || datname || ';' FROM pg_database WHERE datname LIKE 'cctest\_%'" | psql -h 127.0.0.1 -U postgres -q
