# metakit: one command to set up and run the main job, one to set up and run the tests.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
JOBS   ?= 2

.PHONY: setup demo test test-slow ci release benchmarks clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# torch is installed first and pinned (a CPU build); an unpinned torch would pull CUDA wheels.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install torch==2.13.0
	$(BIN)/python -m pip install -e '.[lm,dev]'
	touch $@

setup: $(VENV)/.installed

## The main job: release every assignment and grade the reference solutions (score table).
demo: setup
	$(BIN)/python -m metakit demo --jobs $(JOBS)

## The test suite (the README's test command): everything but the slow grader-validity suite.
test: setup
	$(BIN)/python -m pytest -m "not slow" -n $(JOBS) --dist loadfile

## The grader validity suite: every known-wrong variant must lose points (run by CI after `test`).
test-slow: setup
	$(BIN)/python -m pytest -m slow -n $(JOBS) --dist load; status=$$?; [ $$status -eq 0 ] || [ $$status -eq 5 ]

ci: test test-slow

release: setup
	$(BIN)/python -m metakit release

benchmarks: setup
	for b in benchmarks/*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) out grades .pytest_cache
