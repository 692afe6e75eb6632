# The two commands of the README: `make run` and `make test`. Everything else is optional.
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
export RURALX_DATABASE_URL ?= sqlite+aiosqlite:///var/ruralx.db
export RURALX_DATA_DIR ?= var/data

.PHONY: run test test-fast lint lock bench soak install system-deps clean

# Makes .venv hold exactly what requirements/ pins (sync: what is not locked goes), each file
# checked against its hash; nothing is resolved here. uv (itself pinned and hash-checked in
# requirements/uv.txt) does the installing; the project goes in editable, built with the
# locked setuptools.
$(STAMP): requirements/dev.txt requirements/uv.txt pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	test -x $(BIN)/uv || $(BIN)/pip install --quiet --require-hashes --no-deps -r requirements/uv.txt
	$(BIN)/uv pip sync --quiet --compile-bytecode --python $(BIN)/python --require-hashes requirements/uv.txt requirements/dev.txt
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP)

# Debian packages the browser tests and PDF rendering need; installed only when root and missing.
system-deps:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  missing=""; \
	  command -v chromium >/dev/null || missing="$$missing chromium"; \
	  command -v nginx >/dev/null || missing="$$missing nginx-light"; \
	  command -v pdftoppm >/dev/null || missing="$$missing poppler-utils"; \
	  command -v wrk >/dev/null || missing="$$missing wrk"; \
	  fc-list 2>/dev/null | grep -qi "noto.*cjk\|wqy" || missing="$$missing fonts-noto-cjk"; \
	  if [ -n "$$missing" ]; then \
	    echo "installing:$$missing"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing) >/dev/null; \
	  fi; \
	fi

# Serves the demo on SQLite and prints how to see a live auction within five minutes
# (the address, the demo accounts, the steps); the commands themselves are not echoed.
run: $(STAMP)
	@mkdir -p var
	@$(BIN)/ruralx run --demo

# The lint (ruff, import layers, mypy) first; then, alone, the fault tests that restart the machine's Redis and PostgreSQL; then the rest
# on three workers: the tests wait on servers, databases and the browser more than they compute,
# so three keep two cores busier than two do (measured). Every test is isolated: own database,
# ports, Redis prefix, temporary directory.
test: $(STAMP) system-deps lint
	$(BIN)/pytest -m serial
	$(BIN)/pytest -n 3 --dist loadfile --no-loadscope-reorder -m "not serial"

# Unit tests and the in-process integration tests on SQLite: the quick loop while working.
# These compute rather than wait, so two workers (one a core) beat three here.
test-fast: $(STAMP)
	$(BIN)/pytest -n 2 --dist loadfile -q tests/unit tests/integration -m "not postgres and not redis and not serial"

# Re-resolves uv.lock after a change to pyproject.toml (UPGRADE=1: newest allowed versions too)
# and exports the hashed requirement files the installs use. Never run by `make run`/`make test`.
lock: $(STAMP)
	$(BIN)/uv lock $(if $(UPGRADE),--upgrade)
	$(BIN)/uv export --quiet --frozen --extra dev --group build --no-emit-project -o requirements/dev.txt
	$(BIN)/uv export --quiet --frozen --group build --no-emit-project -o requirements/prod.txt
	$(BIN)/uv export --quiet --frozen --only-group uv --no-emit-project -o requirements/uv.txt

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

bench: $(STAMP) system-deps
	$(BIN)/python -m bench

# The fault tests of tests/load with many more rounds than `make test` runs.
soak: $(STAMP)
	RURALX_SOAK_ROUNDS=200 REQUIRE_SERVICES=1 $(BIN)/pytest tests/load -q

clean:
	rm -rf var .pytest_cache
