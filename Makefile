# Two commands do all the set-up on a fresh machine with Python 3.11 and make:
#   make replay   creates .venv, installs armswatch and replays seeds/ on an embedded Redis
#   make test     the same install, then lint, type checks and the test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install replay test lint typecheck pytest browser screenshots bench bench-memory bench-ledger quality train prune-patterns clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

replay: $(STAMP)
	$(BIN)/armswatch replay

test: lint typecheck browser pytest

# The browser tests drive Debian's chromium (never `playwright install`, which downloads one).
# As root with apt (as CI runs) it is installed when absent; otherwise those tests are
# skipped and this says why (pytest's summary repeats the reason).
browser:
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then \
	  true; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "browser tests: installing Debian's chromium with apt-get"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends chromium >/dev/null) \
	  || echo "browser tests will be SKIPPED: apt-get could not install chromium"; \
	else \
	  echo "browser tests will be SKIPPED: no chromium, and installing it needs root and apt-get" \
	       "(sudo apt-get install chromium)"; \
	fi

# Pictures of the page for the README (docs/screenshots/), from a replay of seeds/.
screenshots: $(STAMP) browser
	$(BIN)/python -m tools.screenshots

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest

quality: $(STAMP)
	$(BIN)/python -m tools.quality

# The transfer model from corpus/train (fixed seed), then its scores on corpus/dev.
train: $(STAMP)
	$(BIN)/python -m tools.train

# The registered patterns (pipelines/tag/lexicon/patterns.yaml) that, switched off, change no
# score on seeds/, tests/data/* or corpus/dev (rules alone): candidates for removal.
prune-patterns: $(STAMP)
	$(BIN)/python -m tools.prune_patterns

bench: $(STAMP)
	$(BIN)/python -m bench.run

bench-memory: $(STAMP)
	$(BIN)/python -m bench.memory

bench-ledger: $(STAMP)
	$(BIN)/python -m bench.ledger

clean:
	rm -rf $(VENV) .armswatch .pytest_cache .mypy_cache .ruff_cache
