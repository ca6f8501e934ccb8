# Two entry points for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
export MPLBACKEND ?= Agg

.PHONY: demo test install dev bench docs notebooks clean

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
	$(BIN)/gluon-lr find

test: dev
	$(BIN)/python -m pytest -q

# Sphinx docs with the tutorials executed in full and rendered with their figures.
docs: dev
	rm -rf docs/_build docs/generated docs/auto_tutorials
	$(BIN)/python -m sphinx -W --keep-going -q -b html docs docs/_build/html
	@echo "docs: docs/_build/html/index.html"

# Jupyter notebooks generated from the tutorial scripts and executed in a Jupyter kernel, so
# they open with their outputs and figures (notebooks/, not kept in git; about 2 minutes).
notebooks: dev
	$(BIN)/python tools/notebooks.py tutorials/plot_*.py --out notebooks --execute

bench: install
	$(BIN)/python benchmarks/overhead.py
	$(BIN)/python benchmarks/suggestion_quality.py
	$(BIN)/python benchmarks/schedule_quality.py
	$(BIN)/python benchmarks/scale_cost.py

clean:
	rm -rf $(VENV) build dist *.egg-info lr_find docs/_build docs/generated docs/auto_tutorials \
		notebooks
