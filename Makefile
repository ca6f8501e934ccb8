# Two entry points for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
export MPLBACKEND ?= Agg

.PHONY: demo test install dev bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: setup.py | $(BIN)/python
	$(BIN)/pip install -q -e ".[cpu,data]"
	touch $@

$(VENV)/.dev-installed: setup.py $(VENV)/.installed
	$(BIN)/pip install -q -e ".[cpu,data,dev]"
	touch $@

install: $(VENV)/.installed
dev: $(VENV)/.dev-installed

demo: install
	$(BIN)/python -m gluon_lr find

test: dev
	$(BIN)/python -m pytest -q tests

bench: install
	$(BIN)/python benchmarks/overhead.py

clean:
	rm -rf $(VENV) build dist *.egg-info lr_find
