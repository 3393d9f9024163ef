# The README's commands. Each creates .venv from pyproject.toml when it is missing or stale.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck unit bench performance clean chromium

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,postgres]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/lawful-crm demo

lint: $(STAMP)
	$(BIN)/ruff check connector crm_sandbox tests benchmarks
	$(BIN)/ruff format --check connector crm_sandbox tests benchmarks
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy connector crm_sandbox

test: lint typecheck chromium
	$(BIN)/python -m pytest -q -p no:cacheprovider -n 4 --dist loadfile

# The browser test drives Debian's chromium (Playwright downloads no browser of its own): install it when missing.
CHROMIUM := /usr/bin/chromium
chromium:
	@if [ -x $(CHROMIUM) ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's chromium for the browser test"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; \
	else \
		echo "The browser test needs $(CHROMIUM): run 'sudo apt-get install --no-install-recommends chromium'"; \
		echo "(without it tests/browser is skipped)"; \
	fi

bench: $(STAMP)
	for f in benchmarks/bench_*.py; do $(BIN)/python $$f || exit 1; done

# lawful-crm against the naive script at 10k and 100k contacts, and alone up to 1M (about an hour)
performance: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache
