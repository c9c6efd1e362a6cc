# The verbs the README names. Everything runs from a virtualenv in .venv that `make` creates.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: dev test test-fast lint bench migrate revision schemas mosquitto chromium clean

$(STAMP): pyproject.toml constraints.txt hardware_clients/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]' -e hardware_clients
	touch $@

# The tests and `make dev` start their own mosquitto from the binary (never the system one on 1883).
mosquitto:
	@if ! command -v mosquitto >/dev/null 2>&1 && [ ! -x /usr/sbin/mosquitto ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "Installing Debian's mosquitto package"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mosquitto; \
		else \
			echo "The mosquitto broker is missing: install the Debian package 'mosquitto'" \
			     "(sudo apt-get install mosquitto) and run make again." >&2; \
			exit 1; \
		fi; \
	fi

# The page tests drive Debian's Chromium through Playwright (never `playwright install`).
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "Installing Debian's chromium package"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
		else \
			echo "The browser for the page tests is missing: install the Debian package" \
			     "'chromium' (sudo apt-get install chromium) and run make again." >&2; \
			exit 1; \
		fi; \
	fi

dev: $(STAMP) mosquitto
	MAKERBUS_ENV=dev $(BIN)/makerbus dev

test: $(STAMP) mosquitto chromium
	$(BIN)/python -m pytest

test-fast: $(STAMP) mosquitto chromium
	$(BIN)/python -m pytest -m "not mqtt and not slow and not postgres"

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

migrate: $(STAMP)
	$(BIN)/makerbus migrate

# make revision m="add products"
revision: $(STAMP)
	MAKERBUS_ENV=dev $(BIN)/alembic revision --autogenerate -m "$(m)"

schemas: $(STAMP)
	$(BIN)/python -m broker.schemas hardware_clients/schemas

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis

bench: $(STAMP) mosquitto
	$(BIN)/python -m bench.run
