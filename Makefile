# Each target sets up its own virtual environment from nothing; nothing system-wide is touched.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: venv test docs demo demos bench bench-quick lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[render,test,demo,dev]'
	touch $(STAMP)

venv: $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -q -n 2 --doctest-modules autograd nn tests

# The documentation site, built strictly (a broken link or a missing API reference fails) into
# site/; its code blocks are run by `make test` (tests/test_readme.py).
DOCS_STAMP := $(VENV)/.docs-installed
$(DOCS_STAMP): $(STAMP) pyproject.toml
	$(PY) -m pip install --quiet -e '.[docs]'
	touch $(DOCS_STAMP)

docs: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --quiet
	@echo "built site/ (open site/index.html)"

demo: $(STAMP)
	mkdir -p out
	$(PY) demos/seed_classification.py --compare-torch-if-installed --graph out/seed-sample-graph.svg
	$(PY) -m autograd "tanh(x*w1 + y*w2 + b)" --at x=2 y=0 w1=-3 w2=1 b=6.8813735870195432 --params w1 w2 b -o out/neuron.svg

demos: $(STAMP)
	mkdir -p out
	$(PY) demos/moons.py --out out/moons.png
	$(PY) demos/digits.py --plot out/confusion.png
	$(PY) demos/recurrent.py --graph out/rnn.svg --hidden 2
	$(PY) demos/attractor.py --frames out/attractor/

# The step table compares against PyTorch: installed here as CI installs it. `make bench
# ARGS=--quick` (or `make bench-quick`) is the short run; `make bench --quick` cannot work, as
# make takes --quick as its own option.
bench: $(STAMP)
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install --quiet torch==2.13.0
	$(PY) benchmarks/run.py $(ARGS)

bench-quick: $(STAMP)
	$(MAKE) bench ARGS="--quick $(ARGS)"

# ruff over everything; mypy over the two packages (configured in pyproject.toml)
lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m mypy

clean:
	rm -rf $(VENV) build site .cache *.egg-info .pytest_cache .hypothesis .mypy_cache
