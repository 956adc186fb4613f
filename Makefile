# Two commands on a fresh machine: `make run` (service with demo data) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: install browser run test test-unit test-browser test-cluster cluster-up cluster-down lint format migrate clean bench bench-cost bench-books bench-cob bench-export bench-statements reliability

$(BIN)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

install: $(BIN)/.installed

# Debian's Chromium for the browser tests (tests/browser/); apt-get only when it is missing.
browser: install
	VENV=$(VENV) scripts/install-browser

run: install
	DEBUG=1 $(BIN)/python manage.py migrate --noinput
	DEBUG=1 $(BIN)/python manage.py seed_demo
	@echo "Serving http://127.0.0.1:$(PORT)/  (API under /api/, docs at /api/docs/, admin at /admin/)"
	DEBUG=1 $(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

# Everything CI runs: lint, the unit and browser suites, then the end-to-end suite on the
# local cluster.
test: test-unit test-cluster

test-unit: install browser lint
	$(BIN)/pytest

test-browser: install browser
	$(BIN)/pytest -m browser

# Starts deploy/local-cluster (installing nginx and PgBouncer with apt-get when missing),
# runs the tests marked `cluster` through it, and stops it. The cluster's ports are fixed,
# so runs from several checkouts on one machine wait for each other (flock).
test-cluster: install
	flock /tmp/lending-local-cluster.lock $(BIN)/pytest -m cluster tests/cluster

cluster-up: install
	deploy/local-cluster up

cluster-down:
	deploy/local-cluster down

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The hostile-world suite at full size (about 10 minutes); rewrites docs/RELIABILITY.md.
reliability: install
	$(BIN)/python -m reliability

# Load benchmark (not part of `make test`: it takes a few minutes and the whole machine).
# Knobs are environment variables, e.g. `make bench BENCH_DURATION=5`; see bench/run.py.
$(BIN)/.bench-installed: $(BIN)/.installed requirements-bench.txt
	$(BIN)/pip install -q -r requirements-bench.txt
	touch $@

bench: $(BIN)/.bench-installed
	$(BIN)/python -m bench
	$(BIN)/python -m bench.books

# CPU and queries per request, in process: compares code changes on a busy machine.
bench-cost: $(BIN)/.bench-installed
	$(BIN)/python -m bench.inprocess

migrate: install
	$(BIN)/python manage.py migrate --noinput

clean:
	-deploy/local-cluster down
	rm -rf $(VENV) var staticfiles

# A book of 1,000,000 postings and 100,000 loans: reconcile and the admin list, timed.
bench-books: $(BIN)/.bench-installed
	$(BIN)/python -m bench.books

# Closing a business day for 1,000,000 active loans: busy and quiet day, 1 and 2 workers,
# memory, a profile (about an hour on 2 cores; needs the machine to itself). Knobs are
# environment variables, e.g. `make bench-cob BENCH_COB_LOANS=20000`; see bench/cob.py.
bench-cob: install
	$(BIN)/python -m bench.cob

# A loan statement (JSON and PDF) for a five-year loan repaid every day, about 1,800
# lines; target under a second each. Writes its block of docs/BENCHMARKS.md (a few
# minutes, most of them building the loan through the services); see bench/statements.py.
bench-statements: install
	$(BIN)/python -m bench.statements

# The admin's CSV export of 10,000 and 100,000 loans: peak memory, streamed and not (a few
# minutes); rewrites the bench:export block of docs/BENCHMARKS.md.
bench-export: install
	$(BIN)/python -m bench.export
