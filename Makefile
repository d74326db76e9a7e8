# unicr developer entry points.  `make demo` runs the main job on bundled defaults,
# `make test` runs the test suite; both create .venv and install what is needed.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.unicr-installed

.PHONY: install system-deps demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# the CPU build of torch (a local file on this kind of machine); an unpinned
	# torch would pull the CUDA build and several GB of packages
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# Debian packages the tests and the demo use (Fashion-MNIST IDX files under
# /usr/share/datasets/fashion-mnist).  Needs root; a no-op when already installed.
system-deps:
	@dpkg -s dataset-fashion-mnist >/dev/null 2>&1 || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist; }

demo: $(STAMP)
	$(BIN)/unicr pdfs list
	$(BIN)/unicr pdfs show gennorm --param beta=1.5
	$(BIN)/unicr pdfs show pareto --param a=3 --sigma 0.5

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/python -m ruff check unicr tests benchmarks

bench: $(STAMP)
	for f in benchmarks/bench_*.py; do $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) build dist .pytest_cache .hypothesis
