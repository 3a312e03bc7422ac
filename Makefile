# mmkd_ext: set-up and test commands (see README "Installation").
#   make install   create .venv and install the pinned stack (idempotent)
#   make test      install if needed, then run the test suite
#   make demo      install if needed, then run the embedded demo
#   make lint      flake8 + isort + yapf checks (settings in setup.cfg)
#   make format    rewrite the tree with isort + yapf
# Variables: PYTHON, VENV, TORCH_PACKAGES, TORCH_INDEX_URL, MMKD_WHEELHOUSE, MAX_JOBS
# (documented in tools/install_stack.sh and README), PYTEST_ARGS for `make test`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=
export PYTHON VENV TORCH_PACKAGES TORCH_INDEX_URL MMKD_WHEELHOUSE MAX_JOBS

.PHONY: install test demo lint format clean-venv

LINT_PATHS := mmkd_ext tools tests configs setup.py

install:
	@bash tools/install_stack.sh

test: install
	@$(PY) -m pytest tests -q -p no:cacheprovider $(PYTEST_ARGS)

demo: install
	@$(PY) tools/demo.py

lint: install
	@$(PY) -m flake8 $(LINT_PATHS)
	@$(PY) -m isort --check-only --diff $(LINT_PATHS)
	@$(PY) -m yapf --diff --recursive --parallel $(LINT_PATHS)
	@echo "lint: clean"

format: install
	@$(PY) -m isort $(LINT_PATHS)
	@$(PY) -m yapf --in-place --recursive --parallel $(LINT_PATHS)

clean-venv:
	rm -rf $(VENV)
