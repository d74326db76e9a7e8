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
# /usr/share/datasets/fashion-mnist).  A no-op when already installed; otherwise installed with
# apt-get as root (or through sudo).  Both `make demo` and `make test` run it first, so a brand-new
# machine needs nothing but these two commands.
APT_GET := $(shell [ "$$(id -u)" = 0 ] && echo apt-get || { command -v sudo >/dev/null 2>&1 && echo "sudo apt-get"; })
system-deps:
	@dpkg -s dataset-fashion-mnist >/dev/null 2>&1 || { \
	  if [ -z "$(APT_GET)" ]; then \
	    echo "unicr: Fashion-MNIST is missing: install the Debian package dataset-fashion-mnist as root" \
	         "(apt-get install dataset-fashion-mnist), then run this command again" >&2; exit 2; fi; \
	  echo "installing the Debian package dataset-fashion-mnist (Fashion-MNIST for the tests)"; \
	  $(APT_GET) update -qq && DEBIAN_FRONTEND=noninteractive $(APT_GET) install -y -qq dataset-fashion-mnist; }

# the main job on bundled defaults: pA-R curves of catalogue noises at sigma = 1, d = 3072
# (l_inf x255 as in the UniCR paper); the figure and the CSV go to unicr-out/
demo: system-deps $(STAMP)
	$(BIN)/unicr curve --compare gaussian laplace hsecant gennorm laplace_gaussian_mix logistic \
	  pareto uniform --norm 1 2 inf --d 3072 --points 40 --linf-x255 \
	  -o unicr-out/catalogue.png --csv unicr-out/catalogue.csv

test: system-deps $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/python -m ruff check unicr tests benchmarks

bench: $(STAMP)
	for f in benchmarks/bench_*.py; do $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) build dist .pytest_cache .hypothesis
