# Batch ELT DAG bundle: local default stack on loopback (no Docker, no cloud account).
#   make demo            install what is missing, start services, run the pipeline for DEMO_DATE
#   make test            install what is missing, start services, run every test
#   make run DATE=...    run every DAG for one logical date, in dependency order
#   make env             print the AIRFLOW_CONN_* exports and settings in force
#   make lint            ruff + sqlfluff (part of make test)
#   make up / make down  CeleryExecutor topology, UI on 127.0.0.1:8080 / stop every process
#   make status          one line per component: running <pid> or stopped

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON_BOOT ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO_DATE ?= 2024-01-15
DATE ?= $(DEMO_DATE)
PYTEST_ARGS ?=
# Every recipe sees the same connections and settings as `make env` prints.
WITH_ENV = eval "$$(PYTHONPATH=. $(PY) -m local.services env)" &&

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: emulators ui-down manifest compose-tool help deps sysdeps venv services env run demo test lint up down status bench lock clean

help:
	@sed -n '2,9p' Makefile | sed 's/^# \{0,1\}//'

## --- installation -----------------------------------------------------------------

# PostgreSQL, Redis (the Celery broker of `make up`) and Chromium (the browser test of the
# UI drives it with Playwright, which downloads no browser of its own) from Debian packages.
sysdeps:
	@missing=""; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v redis-server >/dev/null 2>&1 || missing="$$missing redis-server"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  echo "installing$$missing from Debian packages"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi

# The dev lock: requirements.txt (what the production image installs) plus the test, lint
# and local-stack tools. Both are compiled by `make lock`.
$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON_BOOT) -m venv $(VENV)
	@test -x $(VENV)/bin/uv || { $(PY) -m pip --version >/dev/null 2>&1 || $(PY) -m ensurepip >/dev/null; $(PY) -m pip install -q uv; }
	$(VENV)/bin/uv pip install -q --python $(PY) --compile-bytecode -r requirements-dev.txt
	@touch $(STAMP)

venv: $(STAMP)

deps: sysdeps venv manifest
	@$(WITH_ENV) $(VENV)/bin/airflow version >/dev/null

# The dbt manifest cosmos renders the warehouse DAG's dbt tasks from (LoadMode.DBT_MANIFEST):
# built at setup, rebuilt when the dbt project changes.
MANIFEST := dbt_project/target/manifest.json
DBT_SOURCES := $(shell find dbt_project/models dbt_project/snapshots dbt_project/macros -type f 2>/dev/null) dbt_project/dbt_project.yml
$(MANIFEST): $(STAMP) $(DBT_SOURCES)
	@PYTHONPATH=. $(PY) -m include.dbt.runner parse >/dev/null
	@echo "dbt manifest built: $(MANIFEST)"

manifest: $(MANIFEST)

lock:
	$(VENV)/bin/uv pip compile -q pyproject.toml -o requirements.txt --python-version 3.11
	$(VENV)/bin/uv pip compile -q pyproject.toml --extra dev -c requirements.txt -o requirements-dev.txt --python-version 3.11

# ruff (lint, import order, format check) and sqlfluff (jinja templater: offline, no database).
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/sqlfluff lint --disable-progress-bar dbt_project
	$(VENV)/bin/sqlfluff lint --disable-progress-bar --templater placeholder include

# BigQuery/GCS emulators in their own venv: their pins conflict with the Airflow venv's.
EMU_VENV := .local/emu-venv
EMU_STAMP := $(EMU_VENV)/.installed
$(EMU_STAMP): local/emulators-requirements.txt $(STAMP)
	@test -x $(EMU_VENV)/bin/python || $(PYTHON_BOOT) -m venv $(EMU_VENV)
	$(VENV)/bin/uv pip install -q --python $(EMU_VENV)/bin/python --compile-bytecode -r local/emulators-requirements.txt
	@touch $(EMU_STAMP)

## --- services and runs --------------------------------------------------------------

services: deps
	@PYTHONPATH=. $(PY) -m local.services up
	@$(WITH_ENV) PYTHONPATH=. $(PY) -m include.migrations
	@$(WITH_ENV) $(VENV)/bin/airflow db migrate >$${AIRFLOW_HOME}/db-migrate.log 2>&1 || { tail -20 $${AIRFLOW_HOME}/db-migrate.log; exit 1; }

# bqemulator + gcp-storage-emulator on loopback (WAREHOUSE=bigquery locally; make test).
emulators: $(EMU_STAMP) services
	@PYTHONPATH=. $(PY) -m local.services emulators

env: $(STAMP)
	@PYTHONPATH=. $(PY) -m local.services env

status: $(STAMP)
	@PYTHONPATH=. $(PY) -m local.services status

# WAREHOUSE=bigquery (from the environment) runs against the local emulators: start them too.
run: services $(if $(filter bigquery,$(WAREHOUSE)),emulators)
	@$(WITH_ENV) $(PY) -m local.run --date $(DATE) --log .local/logs/run-$(DATE).log

demo: services
	@$(WITH_ENV) $(PY) -m local.run --date $(DEMO_DATE) --summary --log .local/logs/demo-$(DEMO_DATE).log

# tests/deployment (its own stack) runs beside the rest: local/testrun.py.
test: lint services emulators compose-tool
	@$(WITH_ENV) $(PY) -m local.testrun $(PYTEST_ARGS)

# Debian's docker-compose v1 validates the compose file offline (no Docker engine here).
compose-tool:
	@command -v docker-compose >/dev/null 2>&1 || { echo "installing docker-compose (validation only)"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends docker-compose >/dev/null; }

bench: services emulators
	@$(WITH_ENV) $(PY) benchmarks/export_benchmark.py
	@$(WITH_ENV) $(PY) benchmarks/staging_load_benchmark.py
	@$(WITH_ENV) $(PY) benchmarks/yelp_load_benchmark.py --rows 10000
	@$(WITH_ENV) $(PY) benchmarks/amplitude_benchmark.py
	@export WAREHOUSE=bigquery && $(WITH_ENV) $(PY) benchmarks/bigquery_load_benchmark.py --rows 200000
	@$(WITH_ENV) $(PY) benchmarks/dag_parse_benchmark.py
	@$(WITH_ENV) $(PY) benchmarks/dbt_stage_benchmark.py

# The production topology as processes: api-server, scheduler, dag-processor, triggerer and
# two Celery workers on Redis (docker-compose.yaml's services and settings).
up: services
	@$(WITH_ENV) $(PY) -m local.services topology

# Stop only the Airflow components of `make up`; the other services keep running.
ui-down:
	@test -x $(PY) && $(WITH_ENV) $(PY) -m local.services topology-down || true

down:
	@test -x $(PY) && PYTHONPATH=. $(PY) -m local.services down || true

clean: down
	rm -rf .local
