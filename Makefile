# Two commands on a fresh machine: `make run` (service with demo data) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: install run test test-unit test-cluster cluster-up cluster-down lint format migrate clean

$(BIN)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

install: $(BIN)/.installed

run: install
	DEBUG=1 $(BIN)/python manage.py migrate --noinput
	DEBUG=1 $(BIN)/python manage.py seed_demo
	@echo "Serving http://127.0.0.1:$(PORT)/  (API under /api/, docs at /api/docs/, admin at /admin/)"
	DEBUG=1 $(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

# Everything CI runs: lint, the unit suite, then the end-to-end suite on the local cluster.
test: test-unit test-cluster

test-unit: install lint
	$(BIN)/pytest

# Starts deploy/local-cluster (installing nginx and PgBouncer with apt-get when missing),
# runs the tests marked `cluster` through it, and stops it.
test-cluster: install
	$(BIN)/pytest -m cluster tests/cluster

cluster-up: install
	deploy/local-cluster up

cluster-down:
	deploy/local-cluster down

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrate: install
	$(BIN)/python manage.py migrate --noinput

clean:
	-deploy/local-cluster down
	rm -rf $(VENV) var staticfiles
