# `make run` starts GenHub; `make test` installs what the tests need and runs them.
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python

.PHONY: run run-tiny test test-fast screenshots lint lint-deploy format bench clean

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
	$(MAKE) lint-deploy
	$(VENV)/bin/pytest --ignore=tests/test_deploy_files.py

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

# The deployment files: each Kustomize overlay rendered and validated, the KEDA
# objects checked against KEDA's documented fields, the Compose files parsed by
# docker-compose (tools installed by scripts/ensure-deploy-tools). Under a minute.
lint-deploy: $(VENV)/.dev
	bash scripts/ensure-deploy-tools
	$(VENV)/bin/pytest -q -p no:cacheprovider tests/test_deploy_files.py

format: $(VENV)/.dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Each bench script's output is kept in var/bench/<name>.log (a FAIL does not stop the
# others); bench/report.py then rewrites the result blocks of docs/benchmarks.md from
# them, with plots in docs/bench/.
bench: export PYTHONUNBUFFERED = 1
bench: $(VENV)/.dev
	bash scripts/ensure-bench-tools
	mkdir -p var/bench
	$(PY) bench/text.py | tee var/bench/text.log
	$(PY) bench/image.py | tee var/bench/image.log
	$(PY) bench/audio.py | tee var/bench/audio.log
	$(PY) bench/png.py | tee var/bench/png.log
	$(PY) bench/concurrency.py | tee var/bench/concurrency.log
	$(PY) bench/engine.py | tee var/bench/engine.log
	$(PY) bench/web.py | tee var/bench/web.log
	$(PY) bench/gpu_smoke.py | tee var/bench/gpu_smoke.log
	$(PY) bench/report.py

clean:
	rm -rf $(VENV) var
