# The verbs the README names. Everything runs from a virtualenv in .venv that `make` creates.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
VENDOR := api/web/static/vendor
ASSETS := $(VENDOR)/.installed

.PHONY: dev test test-fast lint bench bench-live migrate revision schemas mosquitto chromium assets clean

$(STAMP): pyproject.toml constraints.txt hardware_clients/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]' -e hardware_clients
	touch $@

# $(call debian_package,PACKAGE,CONDITION,WHAT): when the shell CONDITION says it is missing,
# install Debian's PACKAGE as root, or else name the package to install and stop.
define debian_package
	@if $(2); then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "Installing Debian's $(1) package"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(1); \
		else \
			echo "$(3) is missing: install the Debian package '$(1)'" \
			     "(sudo apt-get install $(1)) and run make again." >&2; \
			exit 1; \
		fi; \
	fi
endef

# The tests and `make dev` start their own mosquitto from the binary (never the system one on 1883).
mosquitto:
	$(call debian_package,mosquitto,! command -v mosquitto >/dev/null 2>&1 && [ ! -x /usr/sbin/mosquitto ],The mosquitto broker)

# The pages' front-end libraries, by the versions package-lock.json pins, served by the app.
assets: $(ASSETS)
$(ASSETS): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p $(VENDOR)
	cp node_modules/uplot/dist/uPlot.iife.min.js \
	   node_modules/uplot/dist/uPlot.min.css node_modules/@picocss/pico/css/pico.min.css $(VENDOR)/
	touch $@

# The page tests drive Debian's Chromium through Playwright (never `playwright install`).
chromium:
	$(call debian_package,chromium,[ ! -x /usr/bin/chromium ],The browser for the page tests)

dev: $(STAMP) $(ASSETS) mosquitto
	MAKERBUS_ENV=dev $(BIN)/makerbus dev

test: $(STAMP) $(ASSETS) mosquitto chromium
	$(BIN)/python -m pytest

test-fast: $(STAMP) $(ASSETS) mosquitto chromium
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
	rm -rf $(VENV) node_modules $(VENDOR) .mypy_cache .ruff_cache .pytest_cache .hypothesis

bench: $(STAMP) mosquitto
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.flood

# The live view under load for 10 minutes (issue 13): other pages' latency, the API's memory.
bench-live: $(STAMP) mosquitto
	$(BIN)/python -m bench.live
