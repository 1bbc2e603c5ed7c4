# The two commands: `make dev` runs the product, `make test` runs the whole suite.
# Both set everything up first on a fresh machine (uv, the .venv, the database).
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
PYTEST_ARGS ?=

.PHONY: dev test setup lint typecheck bench clean

$(UV):
	python3 -m venv .tools
	.tools/bin/pip install --quiet uv

.venv/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen
	touch $@

setup: .venv/.synced

dev: setup
	.venv/bin/dealpilot dev $(DEV_ARGS)

test: setup
	.venv/bin/pytest $(PYTEST_ARGS)

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

typecheck: setup
	.venv/bin/mypy dealpilot models api activities workflows worker.py

bench: setup
	.venv/bin/python -m bench

clean:
	rm -rf .venv .tools .pytest_cache .mypy_cache .ruff_cache
