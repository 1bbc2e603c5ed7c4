# The two commands: `make dev` runs the product, `make test` runs the whole suite.
# Both set everything up first on a fresh machine (uv, the .venv, the database).
# `make lint` checks the code without running it: ruff (lint and format), mypy strict, the
# layer contracts (lint-imports, contracts in pyproject.toml) and the 400-line module limit
# (tests/test_layout.py, which `make test` runs too). CI (.ci/run) runs `make lint` first.
# `make typecheck` is mypy alone.
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
PYTEST_ARGS ?=
# The suite runs on two pytest-xdist workers: most of its time is spent waiting on servers
# (Temporal, SMTP, subprocesses), not on the CPU. `make test PYTEST_WORKERS=0` runs it in one.
PYTEST_WORKERS ?= 2
MYPY := .venv/bin/mypy dealpilot models api activities workflows worker.py

.PHONY: dev test setup system-deps lint typecheck bench bench-deps clean

$(UV):
	python3 -m venv .tools
	.tools/bin/pip install --quiet uv

.venv/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen
	touch $@

setup: .venv/.synced

dev: setup
	.venv/bin/dealpilot dev $(DEV_ARGS)

# The IMAP tests talk to a real dovecot, the console's browser tests drive Debian's Chromium
# through Playwright (browsers cannot be downloaded); install them where we may (root with
# apt), else those tests skip with a reason (CI fails on skips, so CI always has them).
system-deps:
	@command -v dovecot >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing dovecot-imapd for the IMAP tests"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd >/dev/null; \
	  else echo "note: dovecot is not installed; the IMAP tests will skip"; fi; }
	@command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium for the console's browser tests"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "note: chromium is not installed; the browser tests will skip"; fi; }

test: setup system-deps
	.venv/bin/pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	$(MYPY)
	.venv/bin/lint-imports
	.venv/bin/pytest -q -p no:cacheprovider tests/test_layout.py

typecheck: setup
	$(MYPY)

# bench.intake drives the API with wrk (a C load generator, so the client does not cost the
# server its CPU as a Python one would): installed from Debian where we may (root with apt).
bench-deps:
	@command -v wrk >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing wrk for bench.intake"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; \
	  else echo "note: wrk is not installed (apt-get install wrk); bench.intake will fail"; fi; }

bench: setup bench-deps
	.venv/bin/python -m bench

clean:
	rm -rf .venv .tools .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
