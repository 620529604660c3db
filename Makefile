# `make run` starts GenHub; `make test` installs what the tests need and runs them.
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python

.PHONY: run run-tiny test test-fast screenshots lint format bench clean

$(VENV)/.runtime: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

run: $(VENV)/.runtime
	$(PY) manage.py serve

run-tiny: $(VENV)/.runtime
	$(PY) manage.py serve --tiny

test: $(VENV)/.dev
	bash scripts/ensure-chromium
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest

# The unit tests alone (no server, worker, model or browser): under a minute.
test-fast: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest -m unit -q

# Refresh the README's screenshots (the tests write theirs under var/screenshots).
screenshots: $(VENV)/.dev
	bash scripts/ensure-chromium
	GENHUB_SCREENSHOTS_DIR=docs/screenshots $(VENV)/bin/pytest -q tests/test_browser.py -k screenshots

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .

format: $(VENV)/.dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: $(VENV)/.dev
	$(PY) bench/text.py
	$(PY) bench/image.py
	$(PY) bench/audio.py

clean:
	rm -rf $(VENV) var
