# Every target creates .venv when missing and installs brainalign into it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SHARED_DATA := $(abspath ../shared/data)
export BRAINALIGN_MIRROR ?= $(if $(wildcard $(SHARED_DATA)),$(SHARED_DATA),)
export BRAINALIGN_CACHE ?= $(abspath .cache)

.PHONY: demo test test-fast lint bench install clean

$(STAMP): pyproject.toml constraints.txt
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -c constraints.txt torch==2.13.0
	$(BIN)/pip install -q -c constraints.txt -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/brainalign demo --output demo_output

# Model features and fetched data persist in .cache/test-features (or $$BRAINALIGN_TEST_CACHE), keyed by content
# and by the code that makes them (tests/conftest.py); pass PYTEST_ARGS=--private-cache for an empty one.
test: $(STAMP)
	$(BIN)/python -m pytest -q --durations=25 $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow" $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) .cache demo_output
