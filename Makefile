# kube — developer tasks. `make` alone lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: help install fmt lint type test test-unit check bench demo readme cluster-start cluster-stop clean

help: ## List the tasks
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(BIN)/kube: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

install: $(BIN)/kube ## Create .venv and install kube with its development tools

fmt: install ## Format the code
	$(BIN)/ruff format kube tests benchmarks
	$(BIN)/ruff check --fix kube tests benchmarks

lint: install ## Lint with ruff
	$(BIN)/ruff check kube tests benchmarks
	$(BIN)/ruff format --check kube tests benchmarks

type: install ## Type-check kube/ with strict mypy
	$(BIN)/mypy kube

test: install ## Run every test, the ones on the local control plane included (built and started on demand)
	$(BIN)/python -m pytest

test-unit: install ## Run the tests that need no cluster
	$(BIN)/python -m pytest -m 'not cluster'

check: lint type test ## Lint, types and tests: what CI runs

bench: install ## Run the benchmarks and print their figures
	$(BIN)/python benchmarks/bench_archive.py
	$(BIN)/python benchmarks/bench_install.py
	$(BIN)/python benchmarks/bench_render_scale.py
	$(BIN)/python benchmarks/bench_records.py
	$(BIN)/python benchmarks/bench_site.py

readme: install ## Regenerate the README's catalogue table from formulas/
	$(BIN)/python scripts/readme-catalogue

demo: install ## The main job: a real archive and control plane; update, search, info, install, list, uninstall
	scripts/demo

cluster-start: ## Build (once) and start the local control plane
	scripts/dev-cluster start

cluster-stop: ## Stop the local control plane
	scripts/dev-cluster stop

clean: ## Remove the virtualenv and caches (not the cluster build cache)
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
