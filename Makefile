# b24app — the two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Test processes (pytest-xdist; a module stays in one process, so its fixtures are built once).
# Most tests wait on emulators, servers and Chromium, so 3 keep 2 cores busy; TEST_WORKERS=0 runs in one.
TEST_WORKERS ?= 3
PYTEST := $(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadscope

.PHONY: venv demo test test-postgres bench clean frontend chromium

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

# The cabinet's pages (cabinet/frontend, Vue + Bitrix24 UI) built into cabinet/static, which is
# committed: only a machine that changes the pages needs Node.
frontend:
	cd cabinet/frontend && npm ci --no-audit --no-fund && npm run build

# Page tests drive Debian's Chromium by its path (no browser download).
chromium:
	test -x /usr/bin/chromium || (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium)

demo: venv
	$(BIN)/b24app demo

test: venv chromium
	$(PYTEST)

test-postgres: venv chromium
	TEST_DATABASE_URL=$${TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test} $(PYTEST)

clean:
	rm -rf $(VENV) dist .pytest_cache
