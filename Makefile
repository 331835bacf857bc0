# Set-up and everyday commands. Needs only Python 3.11 on the machine; Debian packages that
# the test suite uses (PostgreSQL server, yaz, Chromium) are installed with apt-get when missing.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 5000
PYTEST_ARGS ?=
# -n auto: one worker per core; --durations: the slowest tests named in every run.
PYTEST_OPTS ?= -v -n auto --durations=25

# Debian packages the tests need: a PostgreSQL server to start throwaway clusters from,
# yaz-marcdump / yaz-client as independent MARC and SRU peers, Chromium for the browser test.
APT_PACKAGES := postgresql yaz chromium chromium-driver libicu-dev pkg-config

.PHONY: help run test bench lint format system-deps venv clean

help:
	@echo "make run    - set up, migrate, load the demo network, serve on http://$(HOST):$(PORT)"
	@echo "make test   - set up and run the whole test suite (SQLite and PostgreSQL)"
	@echo "make bench  - run the benchmarks in bench/"
	@echo "make lint   - ruff check and format check"

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

# Installs what is missing only, so a developer machine that has everything pays nothing.
system-deps:
	@missing=""; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v yaz-marcdump >/dev/null 2>&1 || missing="$$missing yaz"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium chromium-driver"; \
	command -v icu-config >/dev/null 2>&1 || pkg-config --exists icu-i18n 2>/dev/null || missing="$$missing libicu-dev pkg-config"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(APT_PACKAGES) >/dev/null; \
	  else \
	    echo "missing Debian packages:$$missing (tests that need them will skip)"; \
	  fi; \
	fi

run: venv
	$(BIN)/flask --app wsgi libext init-db
	$(BIN)/flask --app wsgi libext demo
	$(BIN)/flask --app wsgi run --host $(HOST) --port $(PORT)

test: system-deps venv
	$(BIN)/python -m pytest $(PYTEST_OPTS) $(PYTEST_ARGS)

bench: venv
	$(BIN)/python -m bench $(BENCH_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache
