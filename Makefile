# mmkd_ext: set-up and test commands (see README "Installation").
#   make install   create .venv and install the pinned stack (idempotent)
#   make test      install if needed, then run the test suite
#   make demo      install if needed, then run the embedded demo
# Variables: PYTHON, VENV, TORCH_PACKAGES, TORCH_INDEX_URL, MMKD_WHEELHOUSE, MAX_JOBS
# (documented in tools/install_stack.sh and README), PYTEST_ARGS for `make test`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=
export PYTHON VENV TORCH_PACKAGES TORCH_INDEX_URL MMKD_WHEELHOUSE MAX_JOBS

.PHONY: install test demo clean-venv

install:
	@bash tools/install_stack.sh

test: install
	@$(PY) -m pytest tests -q -p no:cacheprovider $(PYTEST_ARGS)

demo: install
	@$(PY) tools/demo.py

clean-venv:
	rm -rf $(VENV)
