# The two commands of the README. Both create .venv on first use and install the package into it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: train test bench notebooks clean

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

clean:
	rm -rf $(VENV) runs
