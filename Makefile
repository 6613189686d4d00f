# marketsim developer entry points. `make help` lists the targets.
#
# The virtual environment lives in $(VENV). Stamp files record what has been
# installed into it and depend on pyproject.toml, so re-runs are fast and an
# edited pyproject.toml triggers a reinstall. The package is installed in
# editable mode, so edits under sim/ never need one.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=
BENCH_ARGS ?=
FINDINGS_ARGS ?=
CALIBRATE_ARGS ?=
SBC_ARGS ?=
LINT_PATHS ?= $(wildcard sim tests)

# Base install (enough for demo and docs) and full install (tests, lint, dask).
STAMP_BASE := $(VENV)/.installed
STAMP_TEST := $(VENV)/.installed-test
STAMP_EXPLORE := $(VENV)/.installed-explore

.DEFAULT_GOAL := help
.PHONY: help venv venv-test demo explore calibrate sbc sampler-coverage findings plausibility contributors hindcast harm-priors engine-agreement scale-out test bench lint docs regression-update clean

help:
	@echo "make demo    compare baseline with eu_blocks_open; writes reports/demo/report.html"
	@echo "make calibrate  the Bayesian posterior and its hindcast -> scenarios/posterior/ (~15 min)"
	@echo "make sbc        the calibration's coverage check on 100 synthetic truths (~50 min)"
	@echo "make sampler-coverage  the sampler's coverage on a problem with an exact posterior"
	@echo "make findings   regenerate docs/findings.md and the README headline (FINDINGS_ARGS=...)"
	@echo "make plausibility   the baseline against the fit-window patterns (docs/validation.md)"
	@echo "make contributors   open shares against contributor productivity (docs/validation.md)"
	@echo "make hindcast       the openness and withdrawal rules at dated decisions (docs/validation.md)"
	@echo "make harm-priors    where the EU ban's net-welfare effect changes sign over the harm priors"
	@echo "make engine-agreement   expected vs exact engine on every shipped scenario (docs/performance.md)"
	@echo "make scale-out      20,000 worlds on a local Dask cluster equal the process pool's"
	@echo "make test    run the test suite (PYTEST_ARGS='-k foo' to pass options)"
	@echo "make bench   run benchmarks/run.py (BENCH_ARGS=... to pass options)"
	@echo "make lint    ruff check $(LINT_PATHS)"
	@echo "make docs    regenerate generated documentation (python -m sim.docgen)"
	@echo "make regression-update   deliberately regenerate tests/regression/ baselines"
	@echo "make clean   remove caches and build output (keeps $(VENV) and reports/)"
	@echo "make explore SCENARIO=eu_blocks_open   the browser explorer on 127.0.0.1:8765"
	@echo "make venv / venv-test   just create or update the virtual environment"
	@echo "variables: PYTHON=$(PYTHON) VENV=$(VENV)"

venv: $(STAMP_BASE)
venv-test: $(STAMP_TEST)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip

$(STAMP_BASE): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e .
	touch $@

# The full install includes the base and explore ones, so it refreshes all three stamps
# (the browser test drives the explorer).
$(STAMP_TEST): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e '.[test,dask,explore]'
	touch $(STAMP_BASE) $(STAMP_EXPLORE) $@

$(STAMP_EXPLORE): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e '.[explore]'
	touch $(STAMP_BASE) $@

# The browser explorer: sliders re-run a small ensemble of SCENARIO against the baseline.
# Serves on 127.0.0.1 (EXPLORE_ARGS, e.g. "--port 0"); Ctrl-C stops it.
SCENARIO ?= eu_blocks_open
explore: $(STAMP_EXPLORE)
	$(BIN)/marketsim explore $(SCENARIO) $(EXPLORE_ARGS)

demo: $(STAMP_BASE)
	VENV=$(VENV) bash scripts/demo.sh

# The baseline's posterior (scripts/calibrate.py --help): the committed
# scenarios/posterior/baseline.parquet is reproduced bit for bit from its seed.
calibrate: $(STAMP_BASE)
	$(BIN)/python scripts/calibrate.py $(CALIBRATE_ARGS)

# The coverage check on synthetic truths (scripts/sbc.py --help); results are committed.
sbc: $(STAMP_BASE)
	$(BIN)/python scripts/sbc.py $(SBC_ARGS)

# The SMC sampler's coverage on a linear-Gaussian problem (scripts/sampler_coverage.py).
sampler-coverage: $(STAMP_BASE)
	$(BIN)/python scripts/sampler_coverage.py

# Every shipped scenario vs the baseline, 20 paired replications (scripts/findings.py --help).
findings: $(STAMP_BASE)
	$(BIN)/python scripts/findings.py $(FINDINGS_ARGS)

# The fit-window pattern checks of the baseline, as a table (scripts/plausibility.py --help).
plausibility: $(STAMP_BASE)
	$(BIN)/python scripts/plausibility.py --markdown

# Open usage shares against contributor productivity (scripts/contributors.py --help).
contributors: $(STAMP_BASE)
	$(BIN)/python scripts/contributors.py --markdown

# The decision hindcasts of issue 15 (scripts/decision_hindcast.py --help).
hindcast: $(STAMP_BASE)
	$(BIN)/python scripts/decision_hindcast.py --markdown

# The EU ban's net-welfare effect over the harm priors (scripts/harm_priors.py --help).
harm-priors: $(STAMP_BASE)
	$(BIN)/python scripts/harm_priors.py

# The expected and exact engines on the headline metrics (scripts/engine_agreement.py --help).
engine-agreement: $(STAMP_BASE)
	$(BIN)/python scripts/engine_agreement.py --markdown

# 20,000 worlds on Dask (two local workers, loopback) against the pool (scripts/scale_out.py).
scale-out: $(STAMP_TEST)
	$(BIN)/python scripts/scale_out.py

# pytest's exit code passes through unchanged (5 = no tests collected is a failure).
test: $(STAMP_TEST)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP_TEST)
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

lint: $(STAMP_TEST)
	$(BIN)/ruff check $(LINT_PATHS)

docs: $(STAMP_BASE)
	$(BIN)/python -m sim.docgen

# Deliberately regenerate the regression baselines (tests/regression/README.md).
regression-update: $(STAMP_BASE)
	$(BIN)/python tests/regression/update.py

clean:
	find . -path ./$(VENV) -prune -o -type d \
		\( -name __pycache__ -o -name .ipynb_checkpoints \) -print -exec rm -rf {} +
	rm -rf .pytest_cache .hypothesis .ruff_cache build dist *.egg-info
