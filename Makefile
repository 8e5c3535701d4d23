# e-contacts: the one list of commands a newcomer needs. See README.md.
#   make run    set everything up and start the system with demo data on http://127.0.0.1:5000
#   make test   set everything up and run the whole test suite
#   make check  lint (ruff), type-check (mypy), check the architecture (import-linter)

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := app:create_app

.PHONY: setup run test check format translations bench bench-smoke clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is needed (python3.11 not found): install it, or run 'make PYTHON=/path/to/python3.11 ...'"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Python dependencies, reinstalled when a requirements file or pyproject.toml changes.
.stamp-python: $(BIN)/python requirements.txt requirements-dev.txt pyproject.toml
	$(BIN)/pip install --quiet -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps -e .
	$(BIN)/pip check
	@touch $@

# Front-end assets (DSFR, Chart.js) from npm: only the files the site serves.
.stamp-assets: package.json package-lock.json scripts/install_assets.sh
	scripts/install_assets.sh
	@touch $@

# Debian's Chromium for the browser tests, and libmagic for attachment types.
.stamp-system: scripts/install_chromium.sh
	scripts/install_chromium.sh
	@touch $@

# The French catalogue, compiled.
translations/fr/LC_MESSAGES/messages.mo: translations/fr/LC_MESSAGES/messages.po .stamp-python
	$(BIN)/pybabel compile --use-fuzzy -d translations -l fr >/dev/null

setup: .stamp-python .stamp-assets .stamp-system translations/fr/LC_MESSAGES/messages.mo

run: setup
	$(BIN)/python -m app.dev.runner

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

check: .stamp-python
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: .stamp-python
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Extract the strings to translate and merge them into the French catalogue.
translations: .stamp-python
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations -l fr --no-fuzzy-matching
	$(BIN)/python scripts/fill_catalogue.py translations/fr/LC_MESSAGES/messages.po

# The benchmark (issue 9; docs/benchmarks.md): seeds or reuses a dataset in PostgreSQL, serves the
# app with gunicorn + the RQ worker, drives every operation over HTTP, writes the report. Needs
# PostgreSQL and Redis (DATABASE_URL, REDIS_URL; defaults: the local servers). Not part of `test`.
#   make bench              the national scale (1 M requests; seeding once takes a few minutes)
#   make bench SCALE=smoke  about 10,000 requests, two minutes at most (what CI runs)
SCALE ?= national
bench: setup
	SCALE=$(SCALE) $(BIN)/python scripts/bench/run.py

bench-smoke:
	$(MAKE) bench SCALE=smoke

clean:
	rm -rf $(VENV) .stamp-* node_modules app/static/vendor

# Fault tests (tests/faults): SMTP, Redis, PostgreSQL, workers and app servers broken on purpose,
# several servers and workers at once, backup and restore. A few minutes. They need PostgreSQL
# and Redis on 127.0.0.1 (as CI has them) and use a throw-away database; what they stop (an SMTP
# server, a redis-server, a PostgreSQL cluster) they start themselves on free ports.
FAULTS_PG ?= postgresql://postgres@127.0.0.1:5432
FAULTS_REDIS_URL ?= redis://127.0.0.1:6379/8
.PHONY: faults ha
faults: setup
	@db=econtacts_faults_$$$$; \
	psql -q "$(FAULTS_PG)/postgres" -c "CREATE DATABASE $$db" || exit 1; \
	trap 'psql -q "$(FAULTS_PG)/postgres" -c "DROP DATABASE IF EXISTS $$db WITH (FORCE)"' EXIT; \
	ECONTACTS_FAULTS=1 DATABASE_URL="$(FAULTS_PG)/$$db" REDIS_URL="$(FAULTS_REDIS_URL)" \
		$(BIN)/python -m pytest tests/faults -p no:randomly -s -q $(PYTEST_ARGS)

# Automatic fail-over (issue 18; docs/operations.md): pg_auto_failover's monitor, primary and
# synchronous secondary on free ports, gunicorn and an RQ worker on the multi-host URL, the
# primary SIGKILLed under load; prints what was acknowledged, found, sent, and the times.
# Needs Debian's postgresql-15-auto-failover (make setup installs it) and redis-server. About two
# minutes; not part of `make test` nor of CI.
ha: setup
	ECONTACTS_FAULTS=1 ECONTACTS_HA=1 $(BIN)/python -m pytest tests/faults/test_ha_failover.py \
		-p no:randomly -s -q $(PYTEST_ARGS)
