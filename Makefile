# Two commands do all the set-up on a machine that has only Python 3.11:
#   make run    trains: python -m trainers.train --dataset=$(DATASET) $(ARGS)
#   make test   runs the linter (make lint), then the test suite
# (make example fits the 2-D two-moons example; make test-faults runs the
# slow fault-injection cases that make test leaves out.)
# Both create .venv from requirements-test.txt (requirements.txt plus
# pytest) when it is missing or older than either file.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

DATASET ?= mnist
ARGS ?=

.PHONY: test lint test-faults run example clean-venv

$(STAMP): requirements.txt requirements-test.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-test.txt
	touch $(STAMP)

test: lint
	$(PY) -m pytest

# ruff, with the rules pyproject.toml selects
lint: $(STAMP)
	$(VENV)/bin/ruff check --quiet .

# every fault-injection case, the slow ones too (about 4 minutes)
test-faults: $(STAMP)
	$(PY) -m pytest -m 'faults or not faults' tests/test_faults.py

run: $(STAMP)
	$(PY) -m trainers.train --dataset=$(DATASET) $(ARGS)

example: $(STAMP)
	$(PY) -m examples.two_moons

clean-venv:
	rm -rf $(VENV)
