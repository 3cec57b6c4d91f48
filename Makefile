# Boxoffice — the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.DEFAULT_GOAL := help
.PHONY: help run test test-postgres lint fmt migrate seed bench bench-search bench-flash bench-fanout lock clean

help:
	@echo "make run      start Boxoffice on http://$${BOXOFFICE_HOST:-127.0.0.1}:$${BOXOFFICE_PORT:-8000} (SQLite under var/, demo data on first start)"
	@echo "make test     run the test suite (SQLite; PostgreSQL/Redis too when BOXOFFICE_TEST_*_URL are set)"
	@echo "make lint     ruff + mypy"
	@echo "make fmt      format the code"
	@echo "make migrate  bring the database schema up to date"
	@echo "make bench    load benchmarks (see docs/benchmarks.md)"
	@echo "make bench-search  search latency at 1,000,000 events (see docs/benchmarks.md)"
	@echo "make bench-flash   flash sale: 10,000 order attempts for 1,000 seats (see docs/benchmarks.md)"
	@echo "make bench-fanout  event-cancelled notice to 50,000 holders over SMTP (see docs/benchmarks.md)"
	@echo "make lock     re-resolve requirements/*.lock from pyproject.toml"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Boxoffice needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-base: requirements/base.lock pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements/base.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $@

$(VENV)/.installed-dev: requirements/dev.lock pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements/dev.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $@ $(VENV)/.installed-base

run: $(VENV)/.installed-base
	$(BIN)/boxoffice migrate
	$(BIN)/boxoffice seed --demo --if-empty
	$(BIN)/boxoffice serve

test: $(VENV)/.installed-dev
	$(BIN)/pytest -q $(PYTEST_ARGS)

test-postgres: $(VENV)/.installed-dev
	BOXOFFICE_TEST_DATABASE_URL=$${BOXOFFICE_TEST_DATABASE_URL:-postgresql+asyncpg://postgres@127.0.0.1:5432/postgres} \
	BOXOFFICE_TEST_REDIS_URL=$${BOXOFFICE_TEST_REDIS_URL:-redis://127.0.0.1:6379/15} \
	$(BIN)/pytest -q $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

fmt: $(VENV)/.installed-dev
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

migrate: $(VENV)/.installed-base
	$(BIN)/boxoffice migrate

seed: $(VENV)/.installed-base
	$(BIN)/boxoffice migrate
	$(BIN)/boxoffice seed --demo

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/run.py $(BENCH_ARGS)

bench-search: $(VENV)/.installed-dev
	$(BIN)/python bench/search.py --explain docs/search-plans.md $(BENCH_ARGS)

bench-flash: $(VENV)/.installed-dev
	$(BIN)/python bench/flash_sale.py $(BENCH_ARGS)

bench-fanout: $(VENV)/.installed-dev
	$(BIN)/python bench/fanout.py $(BENCH_ARGS)

lock: | $(BIN)/python
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile --quiet pyproject.toml --python-version 3.11 -o requirements/base.lock
	$(BIN)/uv pip compile --quiet pyproject.toml --extra dev --python-version 3.11 -o requirements/dev.lock

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
