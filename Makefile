# The two commands: `make run` (the portal with the sandbox API, demo data and the jobs) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Every dependency is pinned in uv.lock and installed by uv, itself pinned and fetched from PyPI with pip on
# first use. It lives outside the checkout, keyed by its version, so every clone on a machine shares it.
UV_VERSION := 0.13.9
TOOLS_DIR ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/aigateway-billing-portal
UV_DIR := $(TOOLS_DIR)/uv-$(UV_VERSION)
UV := $(UV_DIR)/bin/uv
# uv uses this machine's Python (as the venv did), never one it would download; .venv stays the environment.
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)
UV_SYNC := $(UV) sync --frozen --python $(PYTHON) --extra test --extra bench

# The demo runs against the bundled Cloudflare sandbox on port 8787, with its four demo accounts; the portal
# answers on port 8000. The sandbox refuses auto top-up and spending-limit writes with 403 as Cloudflare does
# for API tokens; `make run DEMO_DASHBOARD_WRITES=1` lets them through to show those forms (see the README).
SANDBOX_PORT ?= 8787
DEMO_DASHBOARD_WRITES ?= 0
WEB_PORT ?= 8000
DEMO_ENV := CLOUDFLARE_API_BASE_URL=http://127.0.0.1:$(SANDBOX_PORT)/client/v4 \
	CLOUDFLARE_API_TOKEN=sandbox-token \
	CLOUDFLARE_ACCOUNT_IDS="1f0e3dad99908345f7439f8ffabdffc4=Acme Prod,2a7d1d8e5f3c4b6a9e0f1d2c3b4a5968=Acme Staging,3c59dc048e8850243be8079a5c74d079=Labs,4e732ced3463d06de0ca9a15b6153677=Research" \
	SANDBOX_PORT=$(SANDBOX_PORT) WEB_PORT=$(WEB_PORT) \
	CLOUDFLARE_SANDBOX_ACCEPT_DASHBOARD_WRITES=$(DEMO_DASHBOARD_WRITES)

.PHONY: run test install lint format bench clean lock lock-check

$(UV):
	rm -rf $(UV_DIR).tmp
	PIP_ROOT_USER_ACTION=ignore $(PYTHON) -m pip install --quiet --disable-pip-version-check \
		--target $(UV_DIR).tmp uv==$(UV_VERSION)
	mkdir -p $(TOOLS_DIR) && rm -rf $(UV_DIR) && mv $(UV_DIR).tmp $(UV_DIR)

# Installs again only when the lock changes (the stamp is older than uv.lock).
$(STAMP): uv.lock | $(UV)
	$(UV_SYNC)
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	mkdir -p var/mail
	$(DEMO_ENV) $(BIN)/python manage.py migrate --noinput
	PATH="$(abspath $(BIN)):$$PATH" $(DEMO_ENV) exec $(BIN)/honcho -f Procfile.dev start

test: $(STAMP) lock-check
	scripts/ensure-test-services
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/mypy
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Checks that uv.lock still matches pyproject.toml (a dependency added without `uv lock` fails here).
lock-check: | $(UV)
	$(UV) lock --check --python $(PYTHON)

# After a change to the dependencies in pyproject.toml: pin them again and install.
lock: | $(UV)
	$(UV) lock --python $(PYTHON)
	$(UV_SYNC)
	touch $(STAMP)

bench: $(STAMP)
	$(BIN)/python bench/run.py
	$(BIN)/python -m bench.overview_scale

clean:
	rm -rf var staticfiles

# The fast loop while working: the tests that run in this process alone (no worker, beat, browser or other
# process started), stopping at the first failure. `make test` runs them all, with the linters.
.PHONY: test-fast
test-fast: install
	$(BIN)/pytest -x -q -m "not browser and not worker and not process"
