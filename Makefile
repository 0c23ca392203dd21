# The README's two commands are `make demo` and `make test`; everything they need is installed here.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
UV_VERSION := 0.9.30
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)

.PHONY: install demo test lint typecheck pytest bench clean

# One venv for development and tests: uv (pinned) bootstraps it, then installs the workspace from uv.lock.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(UV): | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

# --compile-bytecode: plugins start about 2 s faster when nothing may write .pyc files
# (PYTHONDONTWRITEBYTECODE), and every meltano run starts several of them.
$(VENV)/.synced: uv.lock pyproject.toml */pyproject.toml | $(UV)
	$(UV) sync --frozen --all-packages --inexact --compile-bytecode
	touch $@

install: $(VENV)/.synced

demo: install
	$(BIN)/python scripts/demo.py

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy crmsync/crmsync sandbox/sandbox

pytest: install
	$(BIN)/pytest

test: lint typecheck pytest

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .meltano output var
