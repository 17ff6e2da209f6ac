# Two entry points (see README): `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PG_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/postgres

.PHONY: setup setup-test run lint test test-sqlite test-postgres test-slow clean

$(BIN)/axis: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	@touch $@

# What running needs (no browser); what testing needs comes with setup-test.
setup: $(BIN)/axis
	@bash scripts/system-deps.sh run

setup-test: setup
	@bash scripts/system-deps.sh test

run: setup
	$(BIN)/axis keys init
	$(BIN)/axis serve

# Static checks first: a lint finding or a type error fails the build before the suite runs.
lint: setup-test
	$(BIN)/ruff check .
	$(BIN)/mypy

test: lint
	@bash scripts/ensure-postgres.sh
	$(BIN)/pytest -q
	AXIS_TEST_DATABASE_URL=$(PG_URL) AXIS_TEST_BLOB_BACKEND=database $(BIN)/pytest -q

# The long robustness runs (kill -9 under 1,000 documents, two nodes on PostgreSQL, cluster restart).
test-slow: setup-test
	@bash scripts/ensure-postgres.sh
	$(BIN)/pytest -q -s -m slow
	AXIS_TEST_DATABASE_URL=$(PG_URL) $(BIN)/pytest -q -s -m slow

clean:
	rm -rf $(VENV) var *.egg-info
