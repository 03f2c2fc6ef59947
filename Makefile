# Entry points: `make deploy` is the main job, `make test` runs every test tier (see README.md).
SHELL := /bin/bash
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: venv deploy test test-fast test-app test-manifests test-e2e cluster-up cluster-down bench bench-deploy clean

venv: $(VENV)/.installed

$(VENV)/.installed: requirements-dev.txt pyproject.toml requirements.yml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	$(BIN)/ansible-galaxy collection install -r requirements.yml
	touch $@

## Deploy the stack: to the current kube context, or to the local Kubernetes (brought up first).
deploy: venv
	scripts/deploy

## Every tier: lint, app, manifests, end to end. Ends with each tier's time and one summary line.
test: venv
	scripts/test

## Everyday checks, no cluster needed: lint, app, manifests (under 5 minutes).
test-fast: venv
	scripts/test fast

test-app: venv
	$(BIN)/pytest tests/app

test-manifests: venv
	$(BIN)/pytest tests/manifests

## The end-to-end tier on a cluster that is already up (local-cluster/cluster up).
test-e2e: venv
	tests/e2e/run

cluster-up:
	local-cluster/cluster up

## Stop the local Kubernetes and everything it started.
cluster-down:
	local-cluster/cluster down

bench: venv
	$(BIN)/python bench/run_bench.py

## Playbook timings on the local cluster (one-task play, no-op re-run, deploy, teardown, purge): bench/README.md.
bench-deploy: venv
	$(BIN)/python bench/deploy

clean:
	rm -rf $(VENV) rendered .pytest_cache
