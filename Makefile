# The two entry points of the README:
#   make demo   installs everything into .venv and runs the cross-corpus demo
#   make test   installs everything into .venv and runs the test suite
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PLUGINS := $(wildcard plugins/sertl-*)
PYTEST_ARGS ?= -m "not gpu"
# Two pytest workers on two cores: one BLAS/OpenMP thread each, or the
# threads oversubscribe the cores and spin-wait (10-100x slower linear algebra).
export OMP_NUM_THREADS ?= 1
export OPENBLAS_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1

.PHONY: install demo test test-fast lint bench-install test-floors

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

install: $(PY)
	$(PY) -m pip install -q -c constraints.txt -e ".[test]" $(foreach p,$(PLUGINS),-e $(p))

demo: install
	$(VENV)/bin/sertl demo --output sertl-demo-output

test: install
	$(PY) -m pytest -n 2 $(PYTEST_ARGS)

test-fast: install
	$(PY) -m pytest -n 2 -m "not slow and not gpu"

lint: install
	$(PY) -m pip install -q -c constraints.txt ruff mypy
	$(VENV)/bin/ruff check sertl_core plugins tests benchmarks examples
	$(VENV)/bin/ruff format --check sertl_core plugins tests benchmarks examples
	$(VENV)/bin/mypy

# The benchmarks' environment: sertl plus the anchors they compare against
# (skada, adapt, openSMILE), kept out of .venv. Then, e.g.,
#   .venv-bench/bin/python benchmarks/cross_corpus.py --write
BENCH_VENV := .venv-bench
bench-install:
	test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install -q --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install -q -c constraints.txt -e ".[test]" $(foreach p,$(PLUGINS),-e $(p)) -r benchmarks/requirements.txt

# The declared floors (constraints-floors.txt) in their own venv: the core and
# the plugins whose floors are the core's. By hand, not in CI (it downloads
# old releases); after raising or relying on a newer API.
FLOORS_VENV := .venv-floors
FLOORS_PLUGINS := feature instance relational neural
test-floors:
	test -x $(FLOORS_VENV)/bin/python || $(PYTHON) -m venv $(FLOORS_VENV)
	$(FLOORS_VENV)/bin/python -m pip install -q --upgrade pip "setuptools>=77"
	$(FLOORS_VENV)/bin/python -m pip install -q -c constraints-floors.txt -e ".[test]" $(foreach p,$(FLOORS_PLUGINS),-e plugins/sertl-$(p))
	$(FLOORS_VENV)/bin/python -m pytest -n 2 -m "not slow and not gpu" tests $(foreach p,$(FLOORS_PLUGINS),plugins/sertl-$(p))
