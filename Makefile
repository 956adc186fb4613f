# Two commands on a fresh machine: `make run` (service with demo data) and `make test`.
# `make help` lists the targets.
#
# Python 3.11 to 3.13 (requires-python in pyproject.toml). PYTHON picks the interpreter and
# each interpreter gets its own virtualenv: `make test PYTHON=python3.13` uses .venv-python3.13.
PYTHON ?= python3
VENV ?= .venv$(if $(filter python3,$(PYTHON)),,-$(notdir $(PYTHON)))
BIN := $(VENV)/bin
PORT ?= 8000
# The second PostgreSQL the concurrency tests run on (`make test-concurrency`): Debian's,
# the deployed topology's major version.
CONCURRENCY_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/lending_concurrency
export PIP_DISABLE_PIP_VERSION_CHECK := 1
# Settings for commands that read the settings module but use no database (mypy's plugin).
NO_DATABASE := DATABASE_URL=postgres://unused@localhost/unused SECRET_KEY=no-database-0123456789abcdefghijklmnopqrstuvwxyz0123456789

.PHONY: help install browser run test test-unit test-suite test-browser test-cluster test-concurrency cluster-up cluster-down lint typecheck format migrate clean bench bench-cost bench-instructions bench-books bench-cob bench-export bench-statements reliability lock lock-upgrade lock-check audit

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## (.*)/\1\t\2/' | expand -t 20

# Everything from the hash-pinned lock (requirements-dev.lock): pip refuses a file whose
# hash differs. uv installs it (in parallel); uv itself comes first, from its own hashed
# lines of the lock, through pip.
$(BIN)/.installed: requirements-dev.lock
	$(PYTHON) -m venv $(VENV)
	scripts/lock-entry uv requirements-dev.lock >$(VENV)/uv.lock.txt
	$(BIN)/pip install -q --require-hashes --no-deps -r $(VENV)/uv.lock.txt
	$(BIN)/uv pip install -q --python $(BIN)/python --require-hashes -r requirements-dev.lock
	touch $@

install: $(BIN)/.installed ## Create the virtualenv from the lock (requirements-dev.lock)

# Debian's Chromium for the browser tests (tests/browser/); apt-get only when it is missing.
browser: install ## Install Debian's Chromium for the browser tests (apt-get)
	VENV=$(VENV) scripts/install-browser

run: install ## Serve the API and the admin with demo data (embedded PostgreSQL)
	DEBUG=1 $(BIN)/python manage.py migrate --noinput
	DEBUG=1 $(BIN)/python manage.py seed_demo
	@echo "Serving http://127.0.0.1:$(PORT)/  (API under /api/, docs at /api/docs/, admin at /admin/)"
	DEBUG=1 $(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

# Everything CI runs on one Python: lint, types, the unit and browser suites (with
# coverage), then the end-to-end suite on the local cluster.
test: test-unit test-cluster ## Lint, types, unit suite with coverage, then the cluster suite (root)

test-unit: install browser lint typecheck ## Lint, types, and the unit and browser suites with coverage
	$(BIN)/coverage erase
	$(BIN)/coverage run -m pytest
	$(BIN)/coverage report

test-suite: install browser ## The unit and browser suites alone (no lint, no coverage)
	$(BIN)/pytest

# The tests that race real connections (marker `concurrency`, set by tests/conftest.py)
# against Debian's PostgreSQL 15, the deployed topology's; the unit suite runs them on
# the embedded PostgreSQL 18.
test-concurrency: install ## The concurrency tests on PostgreSQL at CONCURRENCY_DATABASE_URL
	DATABASE_URL=$(CONCURRENCY_DATABASE_URL) $(BIN)/pytest -m concurrency -q

test-browser: install browser ## Only the browser tests
	$(BIN)/pytest -m browser

# Starts deploy/local-cluster (installing nginx and PgBouncer with apt-get when missing),
# runs the tests marked `cluster` through it, and stops it. The cluster's ports are fixed,
# so runs from several checkouts on one machine wait for each other (flock).
test-cluster: install ## The end-to-end suite through deploy/local-cluster (root, apt-get)
	flock /tmp/lending-local-cluster.lock $(BIN)/pytest -m cluster tests/cluster

cluster-up: install ## Start deploy/local-cluster
	deploy/local-cluster up

cluster-down: ## Stop deploy/local-cluster
	deploy/local-cluster down

lint: install ## ruff (lint, format check), django-upgrade, the import layering contracts
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	git ls-files -z '*.py' | xargs -0 $(BIN)/django-upgrade --target-version 5.2
	$(BIN)/lint-imports

typecheck: install ## mypy: strict on the core's services and selectors ([tool.mypy])
	$(NO_DATABASE) $(BIN)/mypy

format: install ## Fix what ruff can, and format
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The hostile-world suite at full size (about 10 minutes); rewrites docs/RELIABILITY.md.
reliability: install ## The hostile-world suite at full size (about 10 minutes)
	$(BIN)/python -m reliability

# Load benchmark (not part of `make test`: it takes a few minutes and the whole machine).
# Knobs are environment variables, e.g. `make bench BENCH_DURATION=5`; see bench/run.py.
$(BIN)/.bench-installed: $(BIN)/.installed requirements-bench.lock
	$(BIN)/uv pip install -q --python $(BIN)/python --require-hashes -r requirements-bench.lock
	touch $@

bench: $(BIN)/.bench-installed ## Load benchmark; needs BENCH_PG_URL and root (see README)
	$(BIN)/python -m bench
	$(BIN)/python -m bench.books

# CPU and queries per request, in process: compares code changes on a busy machine.
bench-cost: $(BIN)/.bench-installed ## Queries and CPU per request, in process
	$(BIN)/python -m bench.inprocess

# Instructions per request, counted by valgrind: steady on a busy machine (bench/instructions.py).
bench-instructions: $(BIN)/.bench-installed ## Instructions per request, counted by valgrind
	$(BIN)/python -m bench.instructions

migrate: install ## Apply migrations
	$(BIN)/python manage.py migrate --noinput

clean: ## Stop the cluster; remove the virtualenvs, var/ and staticfiles/
	-deploy/local-cluster down
	rm -rf .venv .venv-* var staticfiles .coverage

# The locks: after changing a requirements*.txt pin, or merging a branch that did, run
# `make lock` and commit requirements*.lock (README, "Dependencies").
lock: ## Rewrite the hash-pinned locks from the requirements*.txt pins
	test -x $(BIN)/uv || $(MAKE) install
	UV=$(BIN)/uv scripts/lock

lock-upgrade: ## Rewrite the locks with every transitive package at its newest allowed version
	test -x $(BIN)/uv || $(MAKE) install
	UV=$(BIN)/uv scripts/lock --upgrade

lock-check: install ## Fail when a lock is out of date with the requirements (CI)
	UV=$(BIN)/uv scripts/lock --check

# Needs a vulnerability database (PyPI's advisory API or OSV): run it where the network
# reaches one; CI's machines do not.
audit: install ## pip-audit of every locked package against a vulnerability database
	$(BIN)/pip-audit --require-hashes --disable-pip --progress-spinner off -r requirements-bench.lock

# A book of 1,000,000 postings and 100,000 loans: reconcile and the admin list, timed.
bench-books: $(BIN)/.bench-installed ## reconcile and the admin list on a large book
	$(BIN)/python -m bench.books

# Closing a business day for 1,000,000 active loans: busy and quiet day, 1 and 2 workers,
# memory, a profile (about an hour on 2 cores; needs the machine to itself). Knobs are
# environment variables, e.g. `make bench-cob BENCH_COB_LOANS=20000`; see bench/cob.py.
bench-cob: install ## Close of business for 1,000,000 loans (about an hour)
	$(BIN)/python -m bench.cob

# A loan statement (JSON and PDF) for a five-year loan repaid every day, about 1,800
# lines; target under a second each. Writes its block of docs/BENCHMARKS.md (a few
# minutes, most of them building the loan through the services); see bench/statements.py.
bench-statements: install ## A five-year loan's statement, JSON and PDF: the time each takes
	$(BIN)/python -m bench.statements

# The admin's CSV export of 10,000 and 100,000 loans: peak memory, streamed and not (a few
# minutes); rewrites the bench:export block of docs/BENCHMARKS.md.
bench-export: install ## The admin's CSV export at 10,000 and 100,000 loans: peak memory
	$(BIN)/python -m bench.export
