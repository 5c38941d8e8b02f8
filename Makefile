# The two commands a newcomer needs: `make run` and `make test`. Both install what
# they need themselves (a virtual environment from the pinned requirements files).
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
# Every agreement file at the top of fixtures/: the November 2020 statement first, then
# the agreements that followed it, named by date (YYYY-MM-DD-...) so that sorting them
# loads each after those it builds on. tests/loader/test_fixture_files.py checks it.
FIXTURES := fixtures/nov-2020-trilateral.yaml $(sort $(wildcard fixtures/[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]-*.yaml))
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/tracker
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0

.PHONY: help run test install lint typecheck check bench bench-sweep bench-api bench-dashboard bench-loader services browser gettext messages clean

help:
	@echo "make run    - set up and serve the app, worker and scheduler at http://127.0.0.1:8000/"
	@echo "make test   - set up and run the whole test suite on PostgreSQL and Redis"
	@echo "make lint   - ruff"
	@echo "make typecheck - mypy with the Django plugin (modules listed in pyproject.toml)"
	@echo "make bench  - benchmarks (see docs/performance.md)"
	@echo "make messages - update locale/*.po from the code, then compile them (docs/translations.md)"

# A Python of 3.12 or newer: the pyenv one selected by .python-version, or python3.13/3.12.
$(PY):
	@py=$$(scripts/find-python.sh) || exit 1; \
	echo "Creating $(VENV) with $$py"; \
	"$$py" -m venv $(VENV)

$(STAMP): $(PY) requirements.txt requirements-dev.txt
	$(PIP) install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $(STAMP)

install: $(STAMP)

run: install
	@mkdir -p var/broker var/broker-processed
	DEBUG=$${DEBUG:-true} $(PY) manage.py migrate --noinput
	DEBUG=$${DEBUG:-true} $(PY) manage.py load_agreement $(FIXTURES)
	DEBUG=$${DEBUG:-true} scripts/run-all.sh

services:
	@TEST_DATABASE_URL=$(TEST_DATABASE_URL) scripts/ensure-services.sh

browser:
	@scripts/ensure-chromium.sh

gettext:
	@scripts/ensure-gettext.sh

# New or changed interface strings: refresh the catalogues, translate the empty
# msgstr entries, then run this again to compile. The .mo files are committed.
messages: install gettext
	DEBUG=true $(PY) manage.py makemessages -l az -l hy -l ru --no-location --no-obsolete \
	  --ignore=.venv --ignore=var --ignore=tests --ignore=bench --ignore=test-artifacts
	DEBUG=true $(PY) manage.py compilemessages --ignore=.venv

check: install
	@mkdir -p var
	DEBUG=true DATABASE_URL=sqlite:///var/check.sqlite3 $(PY) manage.py makemigrations --check --dry-run
	DEBUG=true DATABASE_URL=sqlite:///var/check.sqlite3 $(PY) manage.py spectacular --validate --fail-on-warn --file var/openapi.yaml
	DEBUG=false SECRET_KEY=check-deploy-$$RANDOM-a-long-enough-random-looking-secret-value-0123456789 \
	  ALLOWED_HOSTS=tracker.example.org $(PY) manage.py check --deploy --fail-level WARNING

lint: install
	$(VENV)/bin/ruff check .

# The Django plugin imports config.settings: the same throwaway settings as `check`.
typecheck: install
	@mkdir -p var
	DEBUG=true DATABASE_URL=sqlite:///var/check.sqlite3 $(VENV)/bin/mypy

test: install services browser gettext lint typecheck check
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(VENV)/bin/pytest --create-db

# Benchmarks build their own databases (tracker_bench*, tracker_api_bench,
# tracker_web_bench, tracker_loader_bench) and print Markdown tables for docs/performance.md.
BENCH_PG := postgres://postgres@127.0.0.1:5432
bench: bench-sweep bench-api bench-dashboard bench-loader

bench-sweep: install services
	DATABASE_URL=$(BENCH_PG)/tracker_bench $(PY) bench/sweep.py

bench-api: install services
	@command -v wrk >/dev/null || { echo "bench-api needs wrk (apt-get install wrk)"; exit 1; }
	DATABASE_URL=$(BENCH_PG)/tracker_api_bench $(PY) bench/api.py --duration 15

bench-dashboard: install services
	DATABASE_URL=$(BENCH_PG)/tracker_web_bench $(PY) bench/dashboard.py

bench-loader: install services
	DATABASE_URL=$(BENCH_PG)/tracker_loader_bench $(PY) bench/loader.py

clean:
	rm -rf var test-artifacts .pytest_cache
