# The two commands of the README. Both create .venv on first use and install the package into it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: train test bench clean

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

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_lenet_epoch.py

clean:
	rm -rf $(VENV) runs
