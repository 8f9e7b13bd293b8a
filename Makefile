# Two commands do all the set-up on a fresh machine with Python 3.11 and make:
#   make replay   creates .venv, installs armswatch and replays seeds/ on an embedded Redis
#   make test     the same install, then lint, type checks and the test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install replay test lint typecheck pytest bench bench-memory bench-ledger quality clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

replay: $(STAMP)
	$(BIN)/armswatch replay

test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest

quality: $(STAMP)
	$(BIN)/python -m tools.quality

bench: $(STAMP)
	$(BIN)/python -m bench.run

bench-memory: $(STAMP)
	$(BIN)/python -m bench.memory

bench-ledger: $(STAMP)
	$(BIN)/python -m bench.ledger

clean:
	rm -rf $(VENV) .armswatch .pytest_cache .mypy_cache .ruff_cache
