# The two commands of the README. Both create .venv on first use and install the package into it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: train test bench notebooks clean gpu

# MXNet computes on half the logical cores by default (it assumes hyper-threading): training and
# the benchmark use all of them, unless OMP_NUM_THREADS is set already.
train bench notebooks: export OMP_NUM_THREADS ?= $(shell nproc)

$(STAMP): setup.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

# LeNet at the book's settings on the bundled Fashion-MNIST; outputs go to runs/lenet.
train: $(STAMP)
	$(BIN)/gluon-notes train lenet --out runs/lenet --overwrite

test: $(STAMP)
	$(BIN)/python -m pytest -q tests

# Executes every notebook at full settings and writes it back with its outputs (about an hour here).
notebooks: $(STAMP)
	$(BIN)/python -m gluon_notes.notebook notebooks/*.ipynb

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_lenet_epoch.py

# The GPU environment, in its own virtualenv: a CUDA build of MXNet cannot even be imported
# without the NVIDIA driver, so .venv (make train, make test) stays CPU-only. mxnet-cu117 and the
# CUDA 11 / cuDNN 8 / NCCL wheels come from requirements-gpu.txt (the project with --no-deps,
# since setup.py asks for the CPU mxnet); the import hook of tools/gpu_libs.py loads the CUDA
# wheel libraries before mxnet, and the check proves that every library resolves but the driver's.
GPU_VENV := .venv-gpu
GPU_BIN := $(GPU_VENV)/bin
GPU_STAMP := $(GPU_VENV)/.installed

$(GPU_STAMP): setup.py requirements-gpu.txt tools/gpu_libs.py
	test -x $(GPU_BIN)/python || $(PYTHON) -m venv $(GPU_VENV)
	$(GPU_BIN)/pip install --quiet --upgrade pip
	$(GPU_BIN)/pip install --quiet -r requirements-gpu.txt
	$(GPU_BIN)/pip install --quiet --no-deps -e .
	$(GPU_BIN)/python tools/gpu_libs.py install-hook
	touch $(GPU_STAMP)

gpu: $(GPU_STAMP)
	$(GPU_BIN)/python tools/gpu_libs.py check

clean:
	rm -rf $(VENV) $(GPU_VENV) runs
