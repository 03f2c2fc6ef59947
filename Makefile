# Entry points. `make deploy` is the main job, `make test` runs every test tier.
SHELL := /bin/bash
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: venv deploy test test-app test-lint test-manifests test-e2e cluster-up cluster-down bench clean

venv: $(VENV)/.installed

$(VENV)/.installed: requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	$(BIN)/ansible-galaxy collection install -r requirements.yml
	touch $@

test-app: venv
	$(BIN)/pytest tests/app

clean:
	rm -rf $(VENV) rendered .pytest_cache
