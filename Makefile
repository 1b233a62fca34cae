# b24app — the two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

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
	$(BIN)/pytest -q

test-postgres: venv chromium
	TEST_DATABASE_URL=$${TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test} $(BIN)/pytest -q

clean:
	rm -rf $(VENV) dist .pytest_cache
