# One-command entry points. Everything installs what it needs into .venv on first use.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The test suite's Airflow home (tests/conftest.py uses the same); `make up` keeps .airflow/up and `make demo`
# recreates .airflow/demo (lemlist_dev sets their homes itself), so tests never write where `make up` reads.
export AIRFLOW_HOME := $(CURDIR)/.airflow/test
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER := $(CURDIR)/plugins
export AIRFLOW__CORE__UNIT_TEST_MODE := False

.PHONY: help install airflow-db browser test demo up bench lint format sandbox clean

help:
	@echo "make up      local Airflow (UI on http://127.0.0.1:8080) + lemlist sandbox, until Ctrl-C"
	@echo "make demo    start Airflow + sandbox, trigger every pipeline over REST, print a table of runs"
	@echo "make test    create .venv, install everything, run the whole test suite"
	@echo "make bench   run the benchmarks, write bench/results.json"
	@echo "make lint    ruff check + ruff format --check"
	@echo "make sandbox start the lemlist sandbox on 127.0.0.1:8089 (Ctrl-C to stop)"

$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip wheel
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

install: $(STAMP)

$(AIRFLOW_HOME)/.migrated: $(STAMP)
	@mkdir -p $(AIRFLOW_HOME)
	$(VENV)/bin/airflow db migrate > $(AIRFLOW_HOME)/migrate.log 2>&1 || (tail -30 $(AIRFLOW_HOME)/migrate.log; exit 1)
	@touch $@

airflow-db: $(AIRFLOW_HOME)/.migrated

# Debian's Chromium for the browser test (tests/e2e): installed once, a no-op when present.
browser:
	@command -v chromium >/dev/null 2>&1 || test -x /usr/bin/chromium || { \
		echo "installing Debian's chromium for the browser test ..."; \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
		|| echo "could not install chromium (not root? no Debian mirror?): the browser test will skip"; }

test: install airflow-db browser
	$(PY) -m pytest $(PYTEST_ARGS)

demo: install
	$(PY) -m lemlist_dev.demo

up: install
	$(PY) -m lemlist_dev.up $(UP_ARGS)

bench: install airflow-db
	$(PY) -m bench.run $(BENCH)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

sandbox: install
	$(PY) -m lemlist_sandbox --host 127.0.0.1 --port 8089 --seed demo

clean:
	rm -rf .airflow .pytest_cache .ruff_cache test-artifacts
