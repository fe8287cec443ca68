# The verbs a newcomer needs. `make run` and `make test` bring back everything on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | sha1sum | cut -c1-12)
NODE_STAMP := node_modules/.installed-$(shell cat package.json package-lock.json 2>/dev/null | sha1sum | cut -c1-12)

.PHONY: install run test lint format pytest bench bench-quick bench-tools clean manifests screenshots

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	rm -f $(VENV)/.installed-*
	touch $@

$(NODE_STAMP): $(wildcard package.json package-lock.json)
	@if [ -f package.json ]; then npm ci --no-audit --no-fund --loglevel=error; mkdir -p node_modules; rm -f node_modules/.installed-*; touch $@; fi

install: $(STAMP) $(NODE_STAMP)

run: install
	SCREENPOP_DEV=1 DEBUG=$${DEBUG:-1} $(PY) manage.py rundemo

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

pytest: install
	$(VENV)/bin/pytest $(PYTEST_ARGS)

test: lint pytest

bench-tools:
	@command -v wrk >/dev/null || { echo "make bench needs wrk (the HTTP load generator): apt-get install wrk, or brew install wrk"; exit 1; }

bench: install bench-tools
	$(PY) -m bench.run_all

bench-quick: install bench-tools
	$(PY) -m bench.run_all --quick

# docs/screens/: each screen of the newcomer's path, photographed in chromium on a world of its own (fresh database,
# both simulators, free ports); it needs Debian's chromium.
screenshots: install
	@command -v chromium >/dev/null || { echo "make screenshots needs chromium: apt-get install chromium"; exit 1; }
	$(PY) manage.py screenshots

# The Kubernetes manifests as `kubectl apply -k` would apply them (kubectl comes from requirements-dev.txt).
OVERLAY ?= production
manifests: install
	@$(VENV)/bin/kubectl kustomize deploy/kubernetes/overlays/$(OVERLAY)

clean:
	rm -rf $(VENV) node_modules static_build test-output
