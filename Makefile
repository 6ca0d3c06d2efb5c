# Storyloom — `make run` serves the demo, `make test` runs the whole suite.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000
PG_URL ?= postgres://postgres@127.0.0.1:5432/test
DEBIAN_PACKAGES := espeak-ng sox chromium fonts-dejavu-core libpango-1.0-0 libpangoft2-1.0-0 poppler-utils
# Without its declared dependencies (they would pull in torch); its real needs are in pyproject.
BERTOPIC := bertopic==0.17.4

# A Python >= 3.12 (Django 6 needs it): PYTHON=..., then python3.13/3.12 on PATH, then pyenv's.
PYTHON ?= $(shell for p in python3.13 python3.12 $$HOME/.pyenv/versions/3.13*/bin/python3 $$HOME/.pyenv/versions/3.12*/bin/python3 /root/.pyenv/versions/3.13*/bin/python3 /root/.pyenv/versions/3.12*/bin/python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null && { command -v $$p; break; }; done)

.PHONY: run test test-quick lint format venv embedding-model node-tools debian-packages clean

$(VENV)/.installed: pyproject.toml
	@if [ -z "$(PYTHON)" ]; then \
		echo "Storyloom needs Python 3.12 or 3.13 (Django 6 needs >= 3.12), and none was found."; \
		echo "Install one (e.g. 'pyenv install 3.13' or 'apt-get install python3.13 python3.13-venv'),"; \
		echo "or point to it: make PYTHON=/path/to/python3.13 ..."; exit 1; fi
	@[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet '.[test,bench]'
	$(PIP) install --quiet --no-deps $(BERTOPIC)
	@touch $@

# The themes embedding model (potion-base-8M): downloaded once, every file checked by
# SHA-256; a quick check when it is already there.
embedding-model: $(VENV)/.installed
	@$(PY) scripts/install_embedding_model.py

venv: $(VENV)/.installed embedding-model

# axe-core for the accessibility tests, at the version pinned in package-lock.json (npm ci
# installs exactly that, checked against its integrity hash); a quick check when it is there.
node_modules/.package-lock.json: package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "The accessibility tests need Node.js and npm (e.g. sudo apt-get install nodejs npm)."; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

node-tools: node_modules/.package-lock.json

# Debian packages: espeak-ng voices the demo stories, chromium runs the browser tests.
debian-packages:
	@missing=""; for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "Installing Debian packages:$$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
		else echo "Please install these Debian packages first: sudo apt-get install$$missing"; exit 1; fi; \
	fi

run: venv debian-packages
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py seed_demo --if-empty
	@echo ""
	@echo "Storyloom is starting on http://$(HOST):$(PORT)/  (admin: http://$(HOST):$(PORT)/admin/)"
	@echo "Demo logins (password 'storyloom-demo'): steward (data steward, admin), reporter, reporter2, facilitator, manager"
	@echo "Ctrl-C stops the web server and the worker."
	@trap 'kill $$(jobs -p) 2>/dev/null; wait' EXIT; \
	if [ -n "$$REDIS_URL" ]; then $(PY) manage.py rqworker default transcription themes --job-class django_tasks_rq.Job & \
	else $(PY) manage.py db_worker --queue-name '*' & fi; \
	$(VENV)/bin/gunicorn cms.wsgi --bind $(HOST):$(PORT) --workers 2 --timeout 600 --access-logfile - & \
	while true; do $(PY) manage.py daily >/dev/null; sleep 3600; done & \
	wait -n

# The whole suite on SQLite, then again on PostgreSQL when it answers on 127.0.0.1:5432
# (leaving out the tests that never use the test database, and the browser checks that the
# database engine cannot change: see the no_database and one_database markers).
test: venv debian-packages node-tools
	$(VENV)/bin/ruff check .
	$(PY) -m pytest
	@if $(PY) -c "import socket; socket.create_connection(('127.0.0.1', 5432), 2)" 2>/dev/null; then \
		echo "== PostgreSQL run =="; DATABASE_URL=$(PG_URL) $(PY) -m pytest -m "not no_database and not one_database"; \
	else echo "PostgreSQL is not answering on 127.0.0.1:5432: the PostgreSQL run was left out."; fi

test-quick: venv
	$(PY) -m pytest -m "not slow" -x -q

lint: venv
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

format: venv
	$(VENV)/bin/ruff format . && $(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) var/static
